"""Small text helpers shared by citation keys, file names and duplicate detection."""

from __future__ import annotations

import re
import unicodedata

#: Letters that Unicode decomposition does not reduce to ASCII.
_SPECIAL = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ı": "i", "ŋ": "ng", "‐": "-", "‑": "-", "–": "-", "—": "-",
    }
)
_COMBINING = re.compile(r"[\u0300-\u036f]")


def ascii_fold(value: str) -> str:
    """``Müller`` → ``Muller``; characters with no ASCII form are dropped."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_SPECIAL))
    return _COMBINING.sub("", decomposed).encode("ascii", "ignore").decode("ascii")


def safe_filename(stem: str, *, suffix: str = ".pdf", max_bytes: int = 120) -> str:
    """A readable file name that is safe on every file system: ASCII, no separators."""
    folded = ascii_fold(stem)
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", " ", folded)
    cleaned = re.sub(r"[\s_]+", "_", cleaned.strip()).strip("._-")
    cleaned = cleaned[: max_bytes - len(suffix)].rstrip("._-")
    return (cleaned or "paper") + suffix
