"""Does a search result describe the paper the user has?  Title similarity plus the first
author and the year.

Crossref's bibliographic search always returns something, ranked by its own score, which
cannot be compared across queries.  ExoRef accepts the best result only when

* its title is at least ``threshold`` similar to the title the user has (rapidfuzz's
  normalised Indel ratio, 0-100, over case-folded titles without accents or punctuation; a
  subtitle the user's title lacks is allowed for), and
* the first author's family name agrees, when the user's record has one, and
* the year is the same or one off (online-first and print years differ), when both have
  one.

Without author and year a title must be more similar (``threshold_alone``): near-identical
titles of different papers exist ("... a new therapeutic approach to osteoarthritis?" versus
"... as a treatment option for osteoarthritis").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.online.record import LookupRecord

__all__ = ["Match", "best_match", "family_key", "normalize_title", "title_similarity"]

_COMBINING = re.compile("[\u0300-\u036f]")
_NOT_WORD = re.compile(r"[\W_]+")
_TAGS = re.compile(r"<[^<>]+>")


def normalize_title(title: str) -> str:
    """Lower-case words without accents, markup or punctuation, single-spaced."""
    text = _TAGS.sub(" ", title)
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def title_similarity(wanted: str, candidate: str) -> float:
    """How alike two titles are, 0-100.  A candidate's subtitle ("Title: subtitle") that the
    wanted title lacks does not count against it."""
    a = normalize_title(wanted)
    if not a:
        return 0.0
    scores = [fuzz.ratio(a, normalize_title(candidate))]
    if ":" in candidate and ":" not in wanted:
        scores.append(fuzz.ratio(a, normalize_title(candidate.split(":", 1)[0])))
    return max(scores)


def family_key(name: str) -> str:
    """A family name as compared: no accents, no particles' case, letters only."""
    return _NOT_WORD.sub("", _COMBINING.sub("", unicodedata.normalize("NFKD", name)).casefold())


def _same_family(wanted: str, candidate: str) -> bool:
    a, b = family_key(wanted), family_key(candidate)
    if not a or not b:
        return False
    # "van der Berg" vs "Berg", "Garcia-Lopez" vs "Garcia": one contains the other.
    return a == b or (min(len(a), len(b)) >= 3 and (a.endswith(b) or b.endswith(a)
                                                      or a.startswith(b) or b.startswith(a)))


@dataclass(frozen=True, slots=True)
class Match:
    """A search result and why it was accepted or not."""

    record: LookupRecord
    similarity: float
    author_agrees: bool | None
    year_agrees: bool | None
    accepted: bool


def judge(record: LookupRecord, title: str, first_author: str | None, year: int | None, *,
          threshold: float, threshold_alone: float) -> Match:
    """How well ``record`` fits the wanted title, first author's family name and year."""
    similarity = title_similarity(title, record.title)
    author_agrees: bool | None = None
    if first_author and record.authors:
        author_agrees = _same_family(first_author, record.authors[0].family)
    year_agrees: bool | None = None
    if year is not None and record.year is not None:
        year_agrees = abs(year - record.year) <= 1
    needed = threshold if (author_agrees or year_agrees) else threshold_alone
    accepted = (similarity >= needed and author_agrees is not False
                and year_agrees is not False)
    return Match(record, similarity, author_agrees, year_agrees, accepted)


def best_match(candidates: Sequence[LookupRecord], title: str, *,
               first_author: str | None = None, year: int | None = None,
               threshold: float = 90.0, threshold_alone: float = 95.0)\
        -> tuple[Match | None, list[Match]]:
    """The accepted candidate with the most similar title (``None`` when none is accepted)
    and the judgement of every candidate, best first."""
    judged = sorted((judge(c, title, first_author, year, threshold=threshold,
                           threshold_alone=threshold_alone) for c in candidates),
                    key=lambda m: (m.accepted, m.similarity), reverse=True)
    best = judged[0] if judged and judged[0].accepted else None
    return best, judged
