"""A tagger named by value, built once per process: what worker processes tag with.

Worker processes (PDF extraction, bulk tagging) cannot be handed a :class:`Tagger` cheaply:
it holds a compiled vocabulary of tens of thousands of phrases.  They are handed a
:class:`TaggerSpec` instead (the vocabulary file and the user's additions, a few bytes) and
build the tagger the first time they need it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exoref.errors import ExorefError
from exoref.tagging.tagger import Tagger, TaggingInput, TaggingResult
from exoref.tagging.vocabulary import UserAdditions, load_vocabulary

if TYPE_CHECKING:
    from exoref.domain.models import Reference

log = logging.getLogger("exoref.tagging")


@dataclass(frozen=True, slots=True)
class TaggerSpec:
    """Which tagger: the vocabulary file and the user's additions as the library stores them
    (JSON, "" for none)."""

    vocabulary: str
    user_json: str = ""


_TAGGERS: dict[TaggerSpec, Tagger] = {}


def tagger_for(spec: TaggerSpec) -> Tagger:
    """The tagger ``spec`` names, built on first use in this process (one kept at a time)."""
    tagger = _TAGGERS.get(spec)
    if tagger is None:
        tagger = Tagger(load_vocabulary(Path(spec.vocabulary), user_additions(spec.user_json)))
        _TAGGERS.clear()
        _TAGGERS[spec] = tagger
    return tagger


def user_additions(value: str) -> UserAdditions | None:
    """The user's additions from their stored JSON; unreadable ones are logged and ignored
    (tagging goes on with the shipped vocabulary)."""
    if not value:
        return None
    try:
        return UserAdditions.from_dict(json.loads(value))
    except (ValueError, ExorefError) as exc:
        log.warning("ignoring unreadable vocabulary additions: %s", exc)
        return None


def input_for(ref: Reference, body: str = "") -> TaggingInput:
    """What the tagger reads of a reference that is not stored yet (an import)."""
    return TaggingInput(
        title=ref.title,
        abstract=ref.abstract,
        keywords=tuple(ref.keywords),
        body=body,
        trial_ids=tuple(ref.trial_ids),
    )


def suggest_for(spec: TaggerSpec, ref: Reference, body: str = "") -> TaggingResult:
    return tagger_for(spec).suggest(input_for(ref, body))
