"""Text preparation for the tagger: folding, de-hyphenation, tokens, reference lists.

Everything here keeps a way back to the offsets of the text it was given, because a
suggestion's evidence must point at the words the user can see.

Speed matters more than elegance here (the tagger runs over the full text of 100,000 papers):
tokens come from one ``str.translate`` + ``str.split`` over the whole text, which runs in C,
instead of a regular expression tried at every position.  A token's offset is the sum of the
lengths before it, computed only for the few tokens that start a vocabulary phrase.
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "NormText",
    "OffsetMap",
    "collapse",
    "fold",
    "is_citation_line",
    "normalise",
    "phrase_tokens",
    "reference_cut",
    "sentence_starts",
    "tokens",
]

#: Every ASCII character that is not a letter or digit becomes a space, so ``split(" ")``
#: yields the words, with one empty string for each extra separator character.
_TOKEN_TABLE = str.maketrans({chr(i): " " for i in range(128) if not chr(i).isalnum()})

#: Letters that Unicode decomposition does not bring to ASCII, and the characters PDF text is
#: full of (ligatures, typographic quotes and dashes, soft hyphens, Greek letters in gene and
#: cytokine names: "TGF-β1" reads "TGF-beta1", as the vocabulary writes it).
_SPECIAL: dict[str, str] = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "‘": "'", "’": "'", "‚": "'", "′": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "″": '"',
    "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2002": " ", "\u2003": " ",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "u", "µ": "u",
    "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau",
    "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Α": "Alpha", "Β": "Beta", "Γ": "Gamma", "Δ": "Delta", "Κ": "Kappa", "Ω": "Omega",
    "±": " ", "×": "x", "·": ".", "•": " ", "…": "...",
}
_COMBINING = re.compile(r"[\u0300-\u036f]")


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on demand: each character's ASCII stand-in."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        special = _SPECIAL.get(char)
        if special is None:
            decomposed = unicodedata.normalize("NFKD", char)
            ascii_form = _COMBINING.sub("", decomposed).encode("ascii", "ignore").decode()
            special = ascii_form if ascii_form else " "
        self[code] = special
        return special


_FOLD = _FoldTable()


class OffsetMap:
    """Maps positions in a rewritten text back to the text it was made from.

    Holds breakpoints ``(new_position, old_position)`` at each edit; a position between
    breakpoints moves with the nearest breakpoint at or before it.  An empty map is the
    identity, which is what nearly every text gets.
    """

    __slots__ = ("_new", "_next", "_old")

    def __init__(self, points: list[tuple[int, int]] | None = None,
                 then: OffsetMap | None = None) -> None:
        points = points or []
        self._new = [p[0] for p in points]
        self._old = [p[1] for p in points]
        self._next = then

    def __call__(self, pos: int) -> int:
        if self._new:
            k = bisect_right(self._new, pos) - 1
            if k >= 0:
                pos = self._old[k] + (pos - self._new[k])
        return self._next(pos) if self._next is not None else pos

    def chain(self, inner: OffsetMap) -> OffsetMap:
        """A map that applies ``inner`` first (newest rewrite), then this one."""
        return OffsetMap(list(zip(inner._new, inner._old, strict=True)),
                         then=self if (self._new or self._next) else None)


_LOCAL = threading.local()


def _fold_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the ASCII stand-in of a run of non-ASCII characters."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    run = exc.object[exc.start:exc.end]
    replaced = run.translate(_FOLD)
    if len(replaced) != len(run):
        _LOCAL.changed.append((exc.start, run))
    return replaced, exc.end


codecs.register_error("exoref.tagging.fold", _fold_errors)


def fold(text: str) -> tuple[str, OffsetMap]:
    """ASCII text with the same words (diacritics off, ligatures opened) and its offset map.

    The ASCII codec does the work in C and calls :func:`_fold_errors` once per run of other
    characters; only runs whose stand-in has another length ("ﬁ", "β") need offsets kept.
    """
    if text.isascii():
        return text, OffsetMap()
    _LOCAL.changed = []
    folded = text.encode("ascii", "exoref.tagging.fold").decode("ascii")
    changed: list[tuple[int, str]] = _LOCAL.changed
    _LOCAL.changed = []
    if not changed:
        return folded, OffsetMap()
    points: list[tuple[int, int]] = []
    shift = 0
    for start, run in changed:
        new_pos = start + shift
        for offset, char in enumerate(run):
            rep = _FOLD[ord(char)]
            points.append((new_pos, start + offset))
            new_pos += len(rep)
        points.append((new_pos, start + len(run)))
        shift = new_pos - (start + len(run))
    return folded, OffsetMap(points)


_SOFT_BREAK = re.compile(r"-[ \t]*\r?\n[ \t]*")
_WORD_BEFORE = re.compile(r"[A-Za-z]{1,40}$")
_WORD_AFTER = re.compile(r"[a-z]{1,40}")


def dehyphenate(text: str, known: Callable[[str], bool]) -> tuple[str, OffsetMap]:
    """Join words broken across lines ("osteo-\\narthritis") when the joined word is known.

    A break inside a real compound ("MSC-\\nderived", "bone-\\nmarrow") is kept: its joined
    form is no vocabulary word.
    """
    if "-\n" not in text and "-\r\n" not in text and "- \n" not in text:
        return text, OffsetMap()
    pieces: list[str] = []
    points: list[tuple[int, int]] = []
    last = 0
    removed = 0
    for brk in _SOFT_BREAK.finditer(text):
        start, end = brk.span()
        before = _WORD_BEFORE.search(text, max(0, start - 40), start)
        after = _WORD_AFTER.match(text, end)
        if before is None or after is None:
            continue
        if not known((before.group() + after.group()).lower()):
            continue
        pieces.append(text[last:start])
        removed += end - start
        points.append((end - removed, end))
        last = end
    if not points:
        return text, OffsetMap()
    pieces.append(text[last:])
    return "".join(pieces), OffsetMap(points)


@dataclass(slots=True)
class NormText:
    """A piece of a paper's text, ready for phrase lookup.

    ``cased`` is folded to ASCII with its case kept (abbreviations are case-sensitive);
    ``lower`` is the same in lower case (same length); ``parts`` is ``lower`` split into words
    with an empty string for every extra separator character; ``to_source`` maps an offset in
    ``cased``/``lower`` to one in ``source``; ``base`` is where ``source`` starts in its field.
    """

    source: str
    cased: str
    lower: str
    parts: list[str]
    to_source: OffsetMap
    base: int = 0

    def field_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the whole field of the normalised span ``start:end``."""
        return self.base + self.to_source(start), self.base + self.to_source(end)


def tokens(lower: str) -> list[str]:
    """Words of a lower-cased ASCII text, with "" for each extra separator character."""
    return lower.translate(_TOKEN_TABLE).split(" ")


def normalise(source: str, known: Callable[[str], bool], base: int = 0) -> NormText:
    """Fold, de-hyphenate line breaks and split ``source`` (offsets kept)."""
    folded, fold_map = fold(source)
    joined, join_map = dehyphenate(folded, known)
    mapping = fold_map.chain(join_map) if join_map._new else fold_map
    lower = joined.lower()
    return NormText(source, joined, lower, tokens(lower), mapping, base)


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """The words of a vocabulary phrase, as the text's words are made."""
    folded, _ = fold(phrase)
    return tuple(t for t in tokens(folded.lower()) if t)


# --------------------------------------------------------------------------------------------
# Reference lists and citation lines
# --------------------------------------------------------------------------------------------

_REF_HEADING_LINE = re.compile(
    r"(?:(?:\d{1,2}|[ivx]{1,4})\.?\s+)?(?:references?(?:\s+and\s+notes)?|bibliography|"
    r"literature\s+cited|works\s+cited|cited\s+literature|reference\s+list)\s*:?"
)


def reference_cut(lower: str, *, min_fraction: float = 0.15) -> int:
    """Where the reference list starts (a heading line of its own), or ``len(lower)``.

    The first such heading in the last 85 % of the text counts, so a table of contents or
    an abstract that says "references" does not cut the paper short.
    """
    floor = int(len(lower) * min_fraction)
    best = len(lower)
    for name in ("references", "reference list", "bibliography", "literature cited",
                 "works cited", "cited literature"):
        pos = lower.find(name, floor)
        while 0 <= pos < best:
            line_start = lower.rfind("\n", 0, pos) + 1
            line_end = lower.find("\n", pos)
            if line_end < 0:
                line_end = len(lower)
            if _REF_HEADING_LINE.fullmatch(lower[line_start:line_end].strip()):
                best = min(best, line_start)
                break
            pos = lower.find(name, pos + len(name))
    return best


#: A reference entry starts with its first author: "Bruno S, ...", "Lai RC, ...",
#: "Smith, J. A., ..." (after an optional number "12." or "[12]").
_CITE_START = re.compile(
    r"\s*(?:\[\d{1,3}\]|\d{1,3}\.?)?\s*"
    r"(?:[A-Z][A-Za-z'\-]+(?:\s[A-Z][a-z][A-Za-z'\-]*)?\s(?:[A-Z]{1,3}|[A-Z]\.(?:\s?[A-Z]\.)*)"
    r"\s?[,.]|[A-Z][A-Za-z'\-]+,\s[A-Z]\.)"
)
_CITE_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[")
_CITE_NUMBERED = re.compile(r"\s*(?:\[\d{1,3}\]|\d{1,3}\.)\s+\S")
_CITE_MARKERS = re.compile(
    r"\bdoi\b|\bDOI\b|PMID|Google Scholar|CrossRef|PubMed|et al|"
    r"(?:19|20)\d\d\s*[;:]\s*\d|(?:19|20)\d\d\)\s*[.,;:]?\s*\d|\((?:19|20)\d\d\)"
)


def is_citation_line(line: str) -> bool:
    """Whether a line looks like an entry of a reference list.

    Catches reference lists without a heading (web pages, "Cited by" lists) and the citation
    lines that PDF extraction leaves in the body: a line that starts like a reference ("Bruno
    S, Grange C, ...", "12. Lai RC, ...") and carries a year, volume or DOI.  A sentence with
    an inline "(Smith et al., 2019)" is not one: it has no author list at its start, and
    neither is a paragraph (an abstract on one line): reference entries are short.
    """
    return 12 < len(line) <= 500 and line.lstrip()[:1] in _CITE_FIRST and bool(
        _CITE_START.match(line) or _CITE_NUMBERED.match(line)) and \
        _CITE_MARKERS.search(line) is not None


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------

#: A sentence ends at . ! or ? before a capital, a digit, or a word such as "hUC-MSCs" or
#: "miR-21" (biomedical sentences start with those), or at a blank line.
_SENTENCE_END = re.compile(
    r"[.!?](?=\s+(?:[\[(\"']?[A-Z0-9]|[a-z]{1,4}[A-Z]))|\n[ \t]*\n|[.!?]$")


def sentence_starts(cased: str) -> list[int]:
    """Start offsets of the sentences of a short text (title, abstract)."""
    starts = [0]
    starts.extend(m.end() for m in _SENTENCE_END.finditer(cased))
    return starts


def collapse(text: str) -> str:
    """White space runs (line breaks from PDFs) as single spaces."""
    return " ".join(text.split())
