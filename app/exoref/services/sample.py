"""The sample library: the five seed papers' metadata, for a first look at an empty library.

The metadata ships in ``resources/sample/``: ``seeds.json`` (titles, authors, ids: facts) and
``summaries.json`` (a few lines on each paper written for ExoRef, kept as a note; the papers'
own abstracts are not shipped).  No PDF is added.  Papers already in the library (found as
an import finds duplicates) are skipped, so adding the sample twice adds nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.errors import ExorefError
from exoref.services.papers import PaperService
from exoref.storage import repository

if TYPE_CHECKING:
    from exoref.services.library import Library

log = logging.getLogger("exoref.sample")

#: Overrides where the shipped resources are (a frozen app sets it, tests may too).
ENV_RESOURCES = "EXOREF_RESOURCES"

_OA = Tag("osteoarthritis", TagKind.INDICATION)
_RA = Tag("rheumatoid arthritis", TagKind.INDICATION)
_REVIEW = Tag("review", TagKind.STUDY_TYPE)

#: A first tagging of the sample, so the sidebar has something to show.  Tagging proper
#: (the vocabulary and the auto-tagger) replaces this when it lands.
SAMPLE_TAGS: dict[str, list[Tag]] = {
    "000_d236d764b4f169bc.txt": [_OA, _REVIEW],
    "001_bc40160e5adcde42.txt": [_RA, _REVIEW],
    "002_1498dab3321b66eb.txt": [_REVIEW],
    "003_d114b94f21106d5f.txt": [
        _OA,
        Tag("umbilical cord", TagKind.MSC_SOURCE),
        Tag("clinical trial", TagKind.STUDY_TYPE),
    ],
    "004_675359f88d3076a1.txt": [_REVIEW, Tag("clinical translation")],
}


def resources_dir() -> Path:
    """The folder of the shipped resources (vocabulary, icons, sample library).

    ``$EXOREF_RESOURCES`` first, then the folder a PyInstaller build unpacks next to the
    program, then ``resources/`` of a source checkout.
    """
    override = os.environ.get(ENV_RESOURCES)
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"


@dataclass(slots=True)
class SampleResult:
    added: list[int] = field(default_factory=list)
    skipped: int = 0


def sample_references() -> list[Reference]:
    """The sample papers as references (with a summary note and first tags)."""
    folder = resources_dir() / "sample"
    try:
        seeds: list[dict[str, Any]] = json.loads((folder / "seeds.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ExorefError(
            f"The sample library is missing from {folder}.",
            hint="reinstall ExoRef, or set EXOREF_RESOURCES to its resources folder",
        ) from exc
    try:
        summaries: dict[str, str] = json.loads((folder / "summaries.json").read_text("utf-8"))
    except (OSError, ValueError):
        summaries = {}
    refs = []
    for seed in seeds:
        name = str(seed.get("seed_file", ""))
        refs.append(
            Reference(
                title=str(seed.get("title") or ""),
                authors=[
                    Author(str(a.get("family", "")), str(a.get("given", "")))
                    for a in seed.get("authors") or []
                ],
                year=int(seed["year"]) if seed.get("year") else None,
                entry_type=str(seed.get("entry_type") or "article"),
                journal=str(seed.get("journal") or ""),
                volume=str(seed.get("volume") or ""),
                issue=str(seed.get("issue") or ""),
                pages=str(seed.get("pages") or ""),
                doi=str(seed.get("doi") or ""),
                pmid=str(seed.get("pmid") or ""),
                pmcid=str(seed.get("pmcid") or ""),
                notes=summaries.get(name, ""),
                tags=list(SAMPLE_TAGS.get(name, [])),
            )
        )
    return refs


class SampleService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def add_sample(self) -> SampleResult:
        """Add the sample papers that are not in the library yet."""
        result = SampleResult()
        fresh = []
        with self.library.db.read() as session:
            for ref in sample_references():
                if repository.find_duplicate_id(session, ref) is not None:
                    result.skipped += 1
                else:
                    fresh.append(ref)
        if fresh:
            result.added = PaperService(self.library).add([(ref, None) for ref in fresh])
        log.info("sample library: %d added, %d already there", len(result.added), result.skipped)
        return result
