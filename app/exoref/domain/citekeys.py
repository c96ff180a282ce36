"""Citation keys: made once from a pattern, then stored and never silently changed.

Pattern tokens (the default is ``[auth][year][title]``, e.g. ``mianehsaz2019mesenchymal``):

``[auth]``        first author's family name, lower case ASCII, particles and spaces removed
``[Auth]``        the same, capitalised
``[authors2]``    the first two family names (``smithjones``), ``etal`` appended for more
``[year]``        four-digit year, empty if unknown
``[title]``       first significant word of the title
``[shorttitle]``  first three significant words
Anything outside brackets is copied literally.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from exoref.domain.text import ascii_fold

if TYPE_CHECKING:
    from exoref.domain.models import Reference

DEFAULT_PATTERN = "[auth][year][title]"

#: Words that do not make a title's key word.
STOP_WORDS = frozenset(
    """a an the and or but of on in into at to for from by with without within as is are was
    were be been being do does did how what when where which who whom why whether this that
    these those its it their our your new novel via using use towards toward about over under
    between among versus vs than then there here not no can may might should would could""".split()
)

_TOKEN = re.compile(r"\[(\w+)\]")
_PARTICLES = re.compile(r"^(?:van|von|der|den|de|del|della|di|da|du|la|le|dos|das|ter|ten)\s+",
                        re.IGNORECASE)


def _key_word(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(value).lower())


def family_key(family: str) -> str:
    """``van der Berg`` → ``berg``; ``Mahjoubin-Tehran`` → ``mahjoubintehran``."""
    name = family.strip()
    while True:
        stripped = _PARTICLES.sub("", name)
        if stripped == name or not stripped:
            break
        name = stripped
    return _key_word(name)


def title_words(title: str) -> list[str]:
    words = [_key_word(w) for w in re.split(r"[\s\-–—/:;,.!?()\[\]{}\"']+", title)]
    return [w for w in words if w and w not in STOP_WORDS and not w.isdigit()]


def make_citekey(ref: Reference, pattern: str = DEFAULT_PATTERN) -> str:
    """The base key for ``ref`` (without the a/b/c suffix that makes it unique)."""
    families = [family_key(a.family) for a in ref.authors if a.family.strip()]
    words = title_words(ref.title)

    def expand(match: re.Match[str]) -> str:
        token = match.group(1)
        if token == "auth":
            return families[0] if families else ""
        if token == "Auth":
            return families[0].capitalize() if families else ""
        if token == "authors2":
            key = "".join(families[:2])
            return key + ("etal" if len(families) > 2 else "")
        if token == "year":
            return str(ref.year) if ref.year else ""
        if token == "title":
            return words[0] if words else ""
        if token == "shorttitle":
            return "".join(words[:3])
        return match.group(0)

    key = _TOKEN.sub(expand, pattern)
    key = re.sub(r"[^A-Za-z0-9_:.\-]", "", key)
    return key or "ref"


def suffixes() -> list[str]:
    """a, b, ..., z, aa, ab, ...: appended to a taken key, in order."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [*letters, *(a + b for a in letters for b in letters)]


def unique_citekey(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    for suffix in suffixes():
        candidate = base + suffix
        if candidate not in taken:
            return candidate
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
