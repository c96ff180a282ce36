"""The work done on one file inside a worker process: hash it, sniff it, extract it, and
suggest its tags from the extracted text.

Kept lean on purpose: the worker processes import this module, PyMuPDF and the tagging
engine (pure Python), nothing else.  Tagging here, on both cores beside the extraction,
means an imported paper is stored with its tags in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exoref.errors import UnreadableFileError
from exoref.formats.pdf import PdfExtraction, extract_pdf, looks_like_pdf
from exoref.storage.files import sha256_of

if TYPE_CHECKING:
    from exoref.tagging.spec import TaggerSpec
    from exoref.tagging.tagger import TaggingResult

log = logging.getLogger("exoref.import")


@dataclass(slots=True)
class FileFacts:
    """What a worker learnt about one file; ``error`` set when it cannot be imported."""

    path: str
    sha256: str
    size: int
    is_pdf: bool
    extraction: PdfExtraction | None = None
    error: str | None = None
    #: tag suggestions from the extracted text, when the import asked for them
    tagging: TaggingResult | None = None


def examine(path_str: str) -> FileFacts:
    path = Path(path_str)
    try:
        sha, size = sha256_of(path)
    except OSError as exc:
        return FileFacts(path_str, "", 0, False, error=f"cannot read it: {exc.strerror or exc}")
    if size == 0:
        return FileFacts(path_str, sha, 0, False, error="empty file")
    if not looks_like_pdf(path):
        return FileFacts(path_str, sha, size, False, error="not a PDF (no %PDF header)")
    try:
        extraction = extract_pdf(path)
    except UnreadableFileError as exc:
        return FileFacts(path_str, sha, size, True, error=exc.user_message)
    return FileFacts(path_str, sha, size, True, extraction=extraction)


@dataclass(frozen=True, slots=True)
class Examiner:
    """:func:`examine`, then tag suggestions from the extracted text with the tagger that
    ``tagging`` names (none when it is None)."""

    tagging: TaggerSpec | None = None

    def __call__(self, path_str: str) -> FileFacts:
        facts = examine(path_str)
        if self.tagging is not None and facts.extraction is not None:
            from exoref.tagging.spec import suggest_for

            extraction = facts.extraction
            try:
                facts.tagging = suggest_for(self.tagging, extraction.reference, extraction.text)
            except Exception:  # a tagging bug must not cost the import: tags can be redone
                log.exception("tagging %s failed; it is imported without tags", path_str)
        return facts
