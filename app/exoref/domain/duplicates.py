"""Duplicate detection: which records in a library are the same work.

Two records are the same work when they share a DOI, PMID, PMCID or arXiv id, or when their
normalised titles are close (rapidfuzz), the family names of their first authors agree and
their years are at most one apart (online-first and print years differ).  A preprint and its
journal version count as the same work although their DOIs differ.

The rules work on :class:`DuplicateKey`, a compact record the storage layer builds from its
rows, so the same code checks one new paper at import (:func:`find_matches` against the few
candidates the library's indexes give) and scans a whole library (:func:`find_duplicates`,
which blocks records itself and never compares all pairs): an import calls two papers one
only when a scan would.

Precision matters more than recall: a false "duplicate" invites the user to merge two papers.
So conflicting identifiers veto a title match (two DOIs, two papers), and titles that differ
in a number ("Part I" / "Part II", "IL-6" / "IL-10"), in a word that flips the meaning
("in rats" / "in mice", "in vitro" / "in vivo", "increases" / "decreases"), or in a wholly
different word ("liver fibrosis" / "lung fibrosis") are not duplicates however close their
spelling.  ``bench/duplicates.py`` measures precision and recall on real metadata with
planted duplicates and hard negatives.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from exoref.domain.identifiers import (
    doi_key,
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.domain.text import ascii_fold
from exoref.memory import paused_cyclic_gc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from exoref.domain.models import Reference

__all__ = [
    "DEFAULT_THRESHOLD",
    "DuplicateGroup",
    "DuplicateKey",
    "Match",
    "MatchKind",
    "Scorer",
    "blocking_keys",
    "find_duplicates",
    "find_matches",
    "is_preprint_doi",
    "normalize_title",
]

log = logging.getLogger("exoref.duplicates")

#: The lowest title similarity (rapidfuzz, 0-100) at which two records with the same first
#: author and years at most one apart are reported; chosen with ``bench/duplicates.py``.
DEFAULT_THRESHOLD = 90.0
#: The similarity needed when the first author or the year is missing on either side: the
#: title then carries the whole decision.
STRICT_THRESHOLD = 96.0
#: Titles shorter than this (letters, digits and spaces) match only when they are the same,
#: of two words or more, with the same first author and year: "Editorial", "Reply" or
#: "Preface" name many different items.
SHORT_TITLE = 20
#: A title this long (letters, digits and spaces), spelt the same, with first authors that
#: differ by a letter or two ("Lee" / "Lea") is a duplicate even when a year is missing.
SAME_TITLE_ALONE = 30
#: Titles shorter than this are never matched by title at all.
MIN_TITLE = 8
#: A subtitle is ignored only when the main titles are this long (letters, digits, spaces) and
#: have this many words; "Exosomes: a review" and "Exosomes: the basics" are not the same.
MIN_MAIN_CHARS = 25
MIN_MAIN_WORDS = 4
#: Blocks larger than this (a blocking key shared by this many records) are skipped in
#: :func:`find_duplicates`; identifier blocks never are.
MAX_BLOCK = 3000

MatchKind = Literal["doi", "pmid", "pmcid", "arxiv", "title", "preprint"]
#: How titles are compared: ``fuzz.ratio`` (edit distance, word order counts) or
#: ``fuzz.token_sort_ratio`` (the words sorted first).  ``bench/duplicates.py`` compares them.
Scorer = Literal["ratio", "token_sort_ratio"]

_SCORERS: dict[str, Callable[..., float]] = {
    "ratio": fuzz.ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
}
#: Identifier matches first, then title matches by score: the order groups are built in.
_KIND_RANK = {"doi": 0, "pmid": 1, "pmcid": 2, "arxiv": 3, "preprint": 4, "title": 4}


# ============================================================================================
# Records and results
# ============================================================================================


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """What duplicate detection needs of a paper; cheap to build for 100,000 rows.

    ``first_author`` is the family name of the first author ("" when unknown); identifiers
    may be given in any form :mod:`exoref.domain.identifiers` understands ("doi:10...",
    resolver URLs, "PMC123", "arXiv:2101.00001v2").
    """

    id: int
    title: str
    first_author: str = ""
    year: int | None = None
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    arxiv: str = ""
    entry_type: str = ""
    journal: str = ""

    @classmethod
    def from_reference(cls, ref: Reference, paper_id: int | None = None) -> DuplicateKey:
        """The key of ``ref``; ``paper_id`` defaults to ``ref.id`` (0 for an unsaved one)."""
        first = ref.first_author
        if paper_id is None:
            paper_id = ref.id if ref.id is not None else 0
        return cls(
            id=paper_id,
            title=ref.title,
            first_author=first.family if first else "",
            year=ref.year,
            doi=ref.doi,
            pmid=ref.pmid,
            pmcid=ref.pmcid,
            arxiv=ref.arxiv,
            entry_type=ref.entry_type,
            journal=ref.journal or ref.booktitle,
        )


@dataclass(frozen=True, slots=True)
class Match:
    """Records ``a`` and ``b`` are the same work: ``kind`` says by which rule, ``reason`` says
    it in words for the user, ``score`` is 100 for a shared identifier, else the title
    similarity (0-100).  From :func:`find_matches`, ``a`` is the record checked and ``b`` the
    candidate."""

    a: int
    b: int
    kind: MatchKind
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Records that are all the same work (ids ascending) and the matches that tie them."""

    ids: tuple[int, ...]
    matches: tuple[Match, ...]


# ============================================================================================
# Identifiers
# ============================================================================================

#: DOI prefixes of preprint servers.  bioRxiv and medRxiv share 10.1101 with the Cold Spring
#: Harbor journals (10.1101/gad..., 10.1101/gr...): only their numeric DOIs are preprints.
_PREPRINT_DOI_RE = re.compile(
    r"""^10\.(?:
        1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,}(?:v\d+)?$   # bioRxiv, medRxiv
      | 48550/arxiv\.                                   # arXiv
      | 21203/rs\.                                      # Research Square
      | 20944/preprints                                 # Preprints.org
      | 2139/ssrn\.                                     # SSRN
      | 31219/osf\.io/ | 31234/osf\.io/                 # OSF Preprints, PsyArXiv
      | 26434/chemrxiv                                  # ChemRxiv
      | 22541/au\.                                      # Authorea
      | 7287/peerj\.preprints                           # PeerJ Preprints
      | 1590/scielopreprints                            # SciELO Preprints
      | 36227/techrxiv                                  # TechRxiv
    )""",
    re.VERBOSE,
)
#: Journal names that are preprint servers (compared case-folded, as substrings).
_PREPRINT_VENUES = (
    "biorxiv", "medrxiv", "arxiv", "research square", "researchsquare", "ssrn",
    "preprints.org", "chemrxiv", "authorea", "peerj preprints", "osf preprints", "psyarxiv",
    "scielo preprints", "techrxiv", "preprint",
)


#: A DOI as the library stores it: nothing to strip (else :func:`normalize_doi` decides).
_BARE_DOI_RE = re.compile(r"10\.\d{4,9}/[-._;()/:A-Za-z0-9\[\]<>#+]*[A-Za-z0-9]")


def is_preprint_doi(doi: str) -> bool:
    """Whether ``doi`` (any form) was given by a preprint server (bioRxiv, medRxiv, arXiv,
    Research Square, Preprints.org, SSRN, OSF, ChemRxiv, Authorea, ...)."""
    return bool(doi) and _PREPRINT_DOI_RE.match(doi_key(doi)) is not None


def _arxiv_key(value: str) -> str:
    normal = normalize_arxiv_id(value) if value else None
    if not normal:
        return ""
    return re.sub(r"v\d+$", "", normal).lower()


# ============================================================================================
# Titles
# ============================================================================================


def _greek_names() -> dict[str, str]:
    names: dict[str, str] = {"µ": "mu"}
    for cp in range(0x0391, 0x03CA):
        name = unicodedata.name(chr(cp), "")
        if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
            word = name.rsplit(" ", 1)[-1].lower()
            names[chr(cp)] = "lambda" if word == "lamda" else word
    return names


_GREEK = _greek_names()
_GREEK_RE = re.compile("[" + re.escape("".join(_GREEK)) + "]")
#: The ASCII bytes that are not letters or digits (deleted to count those that are).
_ASCII_NOT_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())
_GREEK_WORDS = frozenset(_GREEK.values())
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]{0,80}>")
_LATEX_CMD_RE = re.compile(r"\\([A-Za-z]+)\*?|\\[^A-Za-z]")
#: Where a subtitle starts: a colon, a question or exclamation mark, a dash between spaces,
#: an em dash, a full stop followed by more text.
_SUBTITLE_RE = re.compile(r"[:;?!—]|\s[-–]{1,2}\s|\.\s")
_ALNUM_RUNS_RE = re.compile(r"[^\W_]+")
_DIGITS_RE = re.compile(r"\d+")
_ARTICLES = frozenset({"the", "a", "an"})


def _greek_name(match: re.Match[str]) -> str:
    return _GREEK[match.group()]


def _latex_command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name and name.lower() in _GREEK_WORDS:
        return name.lower()
    return " "


def _clean_markup(title: str) -> str:
    """``title`` without HTML tags and entities, LaTeX commands (Greek letters spelled out),
    braces and math dollars."""
    if "&" in title:
        title = html.unescape(title)
    if "<" in title:
        title = _HTML_TAG_RE.sub(" ", title)
    if "\\" in title:
        title = _LATEX_CMD_RE.sub(_latex_command, title)
    if "{" in title or "}" in title or "$" in title:
        title = title.replace("{", "").replace("}", "").replace("$", "")
    return title


def _fold(text: str) -> str:
    """Case-folded, Greek letters spelled out, diacritics dropped.

    :func:`ascii_fold` drops letters with no ASCII form; a title in another script keeps
    them (decomposed, without combining marks) rather than folding to nothing.
    """
    if text.isascii():
        return text.casefold()
    # str.translate with this table looks every character up: ten times slower than
    # replacing the few Greek letters a title holds.
    text = _GREEK_RE.sub(_greek_name, text)
    folded = ascii_fold(text)
    # Counting letters one by one is the slowest step here, so it is done only when it can
    # matter: ASCII letters and digits all survive ascii_fold, and while they are at least
    # as many as the other characters, folding cannot have lost half of the title.
    ascii_part = text.encode("ascii", "ignore")
    ascii_alnum = len(ascii_part.translate(None, _ASCII_NOT_ALNUM))
    if ascii_alnum < len(text) - len(ascii_part) and (
        sum(c.isalnum() for c in folded) * 2 < sum(c.isalnum() for c in text)
    ):
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.casefold()


def _words(text: str, *, article: bool = True) -> list[str]:
    words: list[str] = _ALNUM_RUNS_RE.findall(_fold(text))
    if article and len(words) > 1 and words[0] in _ARTICLES:
        del words[0]
    return words


def normalize_title(title: str) -> str:
    """The form titles are compared in: markup removed, case and diacritics folded,
    punctuation turned into single spaces, a leading article ("The", "A", "An") dropped.

    >>> normalize_title("The {RNA} Cargo of <i>Exosomes</i>: a Review")
    'rna cargo of exosomes a review'
    """
    return " ".join(_words(_clean_markup(title)))


# Words that say nothing about which paper a title names: left out of blocking keys (they
# would make huge blocks in a library about MSC-derived vesicles) and never treated as the
# one word two different papers differ in.
_FUNCTION_WORDS = frozenset(
    """a an the and or nor of in on at to for from by with without into onto upon via as is
    are was were be been being its it their his her our this that these those than then not
    no but after before during between among under over through vs versus using use based
    toward towards within about can may does do how what why when which who whom new novel
    s de la le et der die das und von zur zum les des du en el los y per all any each both
    more most less least other""".split()
)
_COMMON_WORDS = _FUNCTION_WORDS | frozenset(
    """mesenchymal stem stromal cell cells derived exosome exosomes exosomal extracellular
    vesicle vesicles vesicular msc mscs ev evs sev sevs therapy therapies therapeutic
    treatment treatments effect effects role roles study studies analysis review systematic
    meta model models patients patient clinical trial trials randomized randomised potential
    improve improves improved promote promotes regulate regulates regulation mechanism
    mechanisms disease diseases injury injuries repair regeneration regenerative protein
    proteins expression activity function functions response responses factor factors
    signaling signalling pathway pathways application applications approach approaches
    method methods results case report research system systems mirna mirnas microrna
    micrornas delivery medicine progress advances current perspectives perspective
    challenges opportunities evidence impact update""".split()
)

#: Words whose swap makes a different paper even though they are spelled alike or are short:
#: by group, each word mapped to what it means.  Two titles that both use a group with
#: different meanings ("in rats" / "in mice") are different papers.
_CONTRAST: dict[str, tuple[str, str]] = {}


def _contrast(group: str, meaning: str, words: str) -> None:
    for word in words.split():
        _CONTRAST[word] = (group, meaning)


_contrast("species", "rat", "rat rats")
_contrast("species", "mouse", "mouse mice murine")
_contrast("species", "human", "human humans")
_contrast("species", "pig", "pig pigs porcine swine minipig minipigs")
_contrast("species", "dog", "dog dogs canine")
_contrast("species", "cat", "cat cats feline")
_contrast("species", "rabbit", "rabbit rabbits")
_contrast("species", "sheep", "sheep ovine")
_contrast("species", "cattle", "cow cows bovine cattle")
_contrast("species", "horse", "horse horses equine")
_contrast("species", "primate", "monkey monkeys macaque macaques primate primates")
_contrast("species", "zebrafish", "zebrafish")
_contrast("species", "goat", "goat goats caprine")
_contrast("sex", "male", "male males men man boys")
_contrast("sex", "female", "female females women woman girls")
_contrast("model", "vitro", "vitro")
_contrast("model", "vivo", "vivo")
_contrast("model", "silico", "silico")
_contrast(
    "direction", "up",
    "increase increases increased increasing upregulate upregulates upregulated "
    "upregulation enhance enhances enhanced enhancing promote promotes promoted promoting "
    "activate activates activated accelerate accelerates accelerated aggravate aggravates "
    "aggravated exacerbate exacerbates exacerbated stimulate stimulates stimulated",
)
_contrast(
    "direction", "down",
    "decrease decreases decreased decreasing downregulate downregulates downregulated "
    "downregulation reduce reduces reduced reducing inhibit inhibits inhibited inhibiting "
    "suppress suppresses suppressed suppressing attenuate attenuates attenuated alleviate "
    "alleviates alleviated ameliorate ameliorates ameliorated prevent prevents prevented "
    "impair impairs impaired delay delays delayed",
)
_contrast("age", "adult", "adult adults")
_contrast(
    "age", "young",
    "child children pediatric paediatric infant infants neonatal neonates newborn newborns "
    "preterm juvenile",
)
_contrast("age", "old", "elderly aged")
_contrast("course", "acute", "acute")
_contrast("course", "chronic", "chronic")
_contrast("sign", "positive", "positive")
_contrast("sign", "negative", "negative")
_contrast("side", "left", "left")
_contrast("side", "right", "right")
_contrast("level", "high", "high higher upper")
_contrast("level", "low", "low lower")
_contrast("time", "early", "early")
_contrast("time", "late", "late")
_contrast("term", "short", "short")
_contrast("term", "long", "long")
_contrast("donor", "autologous", "autologous")
_contrast("donor", "allogeneic", "allogeneic allogenic xenogeneic")
_contrast("source", "marrow", "marrow bmsc bmscs bmmsc bmmscs")
_contrast("source", "adipose", "adipose adsc adscs admsc admscs")
_contrast("source", "cord", "umbilical ucmsc ucmscs hucmsc hucmscs wharton whartons")
_contrast("source", "placenta", "placenta placental")
_contrast("source", "amnion", "amniotic amnion")
_contrast("source", "dental", "pulp dpsc dpscs")
_contrast("source", "menstrual", "menstrual endometrial")
_contrast("source", "synovial", "synovial synovium")
_contrast("source", "ipsc", "ipsc ipscs")

#: Words that make a title another kind of item than the paper it names: "Erratum: X",
#: "Reply to X", "X: study protocol".  Those anywhere in the title ...
_MARKERS_ANYWHERE = {
    "erratum": "erratum", "errata": "erratum", "corrigendum": "erratum",
    "retraction": "retraction", "retracted": "retraction", "withdrawn": "retraction",
    "protocol": "protocol",
}
#: ... and those among its first three words.
_MARKERS_LEADING = {
    "correction": "erratum", "corrections": "erratum", "addendum": "erratum",
    "reply": "reply", "response": "reply", "comment": "reply", "comments": "reply",
    "commentary": "reply", "note": "note", "concern": "retraction",
}

_ROMAN = {
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9,
    "x": 10, "xi": 11, "xii": 12, "xiii": 13, "xiv": 14, "xv": 15, "xvi": 16, "xvii": 17,
    "xviii": 18, "xix": 19, "xx": 20,
}
#: Roman numerals that are not also common letters or words count wherever they stand;
#: "I", "V" and "X" only after a word that introduces a number ("Part I", "type I").
_ROMAN_AMBIGUOUS = frozenset({"i", "v", "x"})
_NUMBER_CONTEXT = frozenset(
    """part parts phase type stage grade class paper chapter vol volume series section no
    number book study report trial level degree experiment""".split()
)


def _numbers(words: Iterable[str]) -> tuple[str, ...]:
    """The numbers a title names, as sorted digit strings: digit runs ("IL-10" -> 10,
    "COVID-19" -> 19) and Roman numerals ("Part II" -> 2, "type I" -> 1)."""
    found: list[str] = []
    previous = ""
    for word in words:
        if _DIGITS_RE.search(word):
            found.extend(str(int(run)) for run in _DIGITS_RE.findall(word))
        elif word in _ROMAN and (word not in _ROMAN_AMBIGUOUS or previous in _NUMBER_CONTEXT):
            found.append(str(_ROMAN[word]))
        previous = word
    found.sort()
    return tuple(found)


def _markers(words: list[str]) -> tuple[str, ...]:
    """The kinds of item the title's marker words name, repeats kept ("Corrigendum to
    Erratum: X" is not "Erratum: X")."""
    found = [_MARKERS_ANYWHERE[w] for w in words if w in _MARKERS_ANYWHERE]
    found.extend(_MARKERS_LEADING[w] for w in words[:3] if w in _MARKERS_LEADING)
    if words[:2] == ["publisher", "s"]:
        found.append("note")
    found.sort()
    return tuple(found)


def _contrasts(words: Iterable[str]) -> dict[str, frozenset[str]]:
    groups: defaultdict[str, set[str]] = defaultdict(set)
    for word in words:
        hit = _CONTRAST.get(word)
        if hit:
            groups[hit[0]].add(hit[1])
    return {group: frozenset(meanings) for group, meanings in groups.items()}


def _contrast_differs(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> bool:
    return any(group in b and meanings != b[group] for group, meanings in a.items())


#: Two words at least this alike (fuzz.ratio) are taken as one word misspelt.
_TYPO_SIMILARITY = 50.0


def _different_word(a: list[str], b: list[str]) -> bool:
    """Whether each title holds a content word that has no look-alike in the other: a word
    swapped for another ("liver fibrosis" / "lung fibrosis"), not misspelt or added."""
    only_a = Counter(a)
    only_a.subtract(b)
    only_b = Counter(b)
    only_b.subtract(a)
    left = [w for w, n in only_a.items() if n > 0]
    right = [w for w, n in only_b.items() if n > 0]
    if not left or not right:
        return False

    def lonely(words: list[str], others: list[str]) -> bool:
        return any(
            len(w) >= 3 and w not in _FUNCTION_WORDS and not w.isdigit()
            and all(fuzz.ratio(w, o) < _TYPO_SIMILARITY for o in others)
            for w in words
        )

    return lonely(left, right) and lonely(right, left)


# ============================================================================================
# Authors
# ============================================================================================

_PARTICLES = frozenset(
    "van von der den de del della di da du le la dos das ten ter bin ibn al el mac mc".split()
)


_LETTER_RUNS_RE = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=65536)
def _author_key(family: str) -> tuple[str, frozenset[str]]:
    """The family name as compared (letters only, folded) and its words without particles.
    Cached: a library holds the same family names again and again."""
    if not family:
        return "", frozenset()
    words = _LETTER_RUNS_RE.findall(_fold(_clean_markup(family)))
    return "".join(words), frozenset(w for w in words if len(w) >= 4 and w not in _PARTICLES)


# ============================================================================================
# Prepared records
# ============================================================================================


@dataclass(slots=True)
class _Prepared:
    """A record with everything the rules compare worked out once."""

    id: int
    norm: str  # the normalised title
    words: list[str]
    main: str  # the normalised title before its subtitle; "" when it has none
    main_words: list[str]
    author: str
    author_words: frozenset[str]
    year: int | None
    doi: str
    pmid: str
    pmcid: str
    arxiv: str
    preprint: bool
    _numbers: tuple[str, ...] | None = field(default=None)
    _main_numbers: tuple[str, ...] | None = field(default=None)
    _contrasts: dict[str, frozenset[str]] | None = field(default=None)
    _markers: tuple[str, ...] | None = field(default=None)

    def numbers(self, main: bool = False) -> tuple[str, ...]:
        if main and self.main:
            if self._main_numbers is None:
                self._main_numbers = _numbers(self.main_words)
            return self._main_numbers
        if self._numbers is None:
            self._numbers = _numbers(self.words)
        return self._numbers

    def contrasts(self) -> dict[str, frozenset[str]]:
        if self._contrasts is None:
            self._contrasts = _contrasts(self.words)
        return self._contrasts

    def markers(self) -> tuple[str, ...]:
        if self._markers is None:
            self._markers = _markers(self.words)
        return self._markers

    def compared(self, main: bool) -> tuple[str, list[str]]:
        if main and self.main:
            return self.main, self.main_words
        return self.norm, self.words

    def top_words(self, count: int = 4) -> list[str]:
        """The longest distinctive words of the title: the blocking keys' anchors."""
        distinct = [w for w in set(self.words).difference(_COMMON_WORDS)
                    if len(w) >= 3 and not w.isdigit()]
        distinct.sort()
        distinct.sort(key=len, reverse=True)
        return distinct[:count]


def _prepare(record: DuplicateKey) -> _Prepared:
    clean = _clean_markup(record.title)
    split = _SUBTITLE_RE.search(clean)
    if split is None:
        words = _words(clean)
        main_words: list[str] = []
    else:
        main_words = _words(clean[: split.start()])
        rest = _words(clean[split.start():], article=False)
        if main_words and rest:
            words = main_words + rest
        else:
            words = main_words or _words(clean)
            main_words = []
    author, author_words = _author_key(record.first_author)
    doi, pmid, pmcid, arxiv = _identifiers(record)
    if doi:
        preprint = _PREPRINT_DOI_RE.match(doi) is not None
    else:
        venue = record.journal.casefold()
        preprint = (
            any(name in venue for name in _PREPRINT_VENUES)
            or record.entry_type.casefold() in ("unpublished", "preprint")
            or (bool(arxiv) and not venue)
        )
    return _Prepared(
        id=record.id,
        norm=" ".join(words),
        words=words,
        main=" ".join(main_words),
        main_words=main_words,
        author=author,
        author_words=author_words,
        year=record.year,
        doi=doi,
        pmid=pmid,
        pmcid=pmcid,
        arxiv=arxiv,
        preprint=preprint,
    )


def _identifiers(record: DuplicateKey) -> tuple[str, str, str, str]:
    """The DOI, PMID, PMCID and arXiv id of ``record`` in the form they are compared in
    ("" for each one it lacks)."""
    if not record.doi:
        doi = ""
    elif _BARE_DOI_RE.fullmatch(record.doi):
        doi = record.doi.lower()
    else:
        doi = (normalize_doi(record.doi) or "").lower()
    arxiv = _arxiv_key(record.arxiv)
    if not arxiv and doi.startswith("10.48550/arxiv."):
        arxiv = _arxiv_key(doi[len("10.48550/arxiv."):])
    pmid = (normalize_pmid(record.pmid) or "") if record.pmid else ""
    pmcid = (normalize_pmcid(record.pmcid) or "").upper() if record.pmcid else ""
    return doi, pmid, pmcid, arxiv


def _keys(p: _Prepared) -> list[str]:
    keys: list[str] = []
    if p.doi:
        keys.append("doi:" + p.doi)
    if p.pmid:
        keys.append("pmid:" + p.pmid)
    if p.pmcid:
        keys.append("pmcid:" + p.pmcid)
    if p.arxiv:
        keys.append("arxiv:" + p.arxiv)
    compact = p.norm.replace(" ", "")
    if len(compact) < MIN_TITLE:
        return keys
    # Title keys (their prefixes are listed in _TITLE_KEYS).  The start and the end of the
    # title: any change that spares one of them.
    keys.append("t:" + compact[:48])
    keys.append("e:" + compact[-32:])
    if p.main:
        main = p.main.replace(" ", "")
        if len(main) >= MIN_TITLE:
            keys.append("t:" + main[:48])
    # Distinctive words with the first author: misspellings anywhere in the title.
    top = [w[:20] for w in p.top_words()]
    if p.author:
        keys.extend(f"a:{p.author[:4]}:{w}" for w in top)
    # Pairs of them with the year: misspellings in the title and a missing or misspelt
    # author (a missing author needs the same year anyway).
    if p.year is not None and len(top) >= 2:
        keys.extend(f"y:{p.year}:{w1}:{w2}" for w1, w2 in combinations(sorted(top[:3]), 2))
    return keys


#: The prefixes of blocking keys made from titles (the others are identifiers).
_TITLE_KEYS = ("t:", "e:", "a:", "y:")


def blocking_keys(record: DuplicateKey) -> set[str]:
    """The keys under which a library stores ``record`` for finding its duplicates.

    A record :func:`find_matches` would report as a duplicate of ``record`` by title shares
    a key with it unless several changes come together (misspellings at both ends of the
    title and in its distinctive words, or in the first letters of the author's name and a
    year apart); records sharing a DOI, PMID, PMCID or arXiv id share the key of that
    identifier.  About ten keys, those of titles at most 50 characters ("doi:10.1000/x",
    "t:<title start>", "e:<title end>", "a:<author>:<word>", "y:<year>:<word>:<word>") for
    an indexed table ``(key, paper_id)``; :func:`find_duplicates` skips keys held by more
    than :data:`MAX_BLOCK` records, and a caller may do the same.
    """
    return set(_keys(_prepare(record)))


# ============================================================================================
# The rules
# ============================================================================================


def _same_author(a: _Prepared, b: _Prepared) -> bool | None:
    """Whether the first authors are the same person as far as their family names tell:
    ``None`` when either is unknown or when the names are a letter apart but too short to
    call it a misspelling ("Li" / "Lu", "Wang" / "Wong"); "Li" / "Wu" are different."""
    return _same_family(a.author, a.author_words, b.author, b.author_words)


def _same_family(a: str, a_words: frozenset[str], b: str,
                 b_words: frozenset[str]) -> bool | None:
    """:func:`_same_author` on two :func:`_author_key` results."""
    if not a or not b:
        return None
    if a == b:
        return True
    if fuzz.ratio(a, b) >= 85:
        return True
    distance = OSA.distance(a, b, score_cutoff=3)
    if distance <= 1 and min(len(a), len(b)) >= 5:
        return True
    # "van der Berg" / "Berg", "García Márquez" / "García"
    if a_words & b_words:
        return True
    shortest = min(len(a), len(b))
    return None if distance == 1 or (distance == 2 and shortest >= 6) else False


@dataclass(frozen=True, slots=True)
class _Head:
    """What :func:`_ruled_out` needs of the record checked (no title: cheap to make)."""

    year: int | None
    author: str
    author_words: frozenset[str]
    ids: tuple[str, str, str, str]


def _head(record: DuplicateKey) -> _Head:
    author, words = _author_key(record.first_author)
    return _Head(record.year, author, words, _identifiers(record))


def _ruled_out(a: _Head, b: DuplicateKey) -> bool:
    """Whether :func:`_compare` would reject ``b`` whatever its title: no identifier in
    common with ``a``, and years more than one apart or first authors that differ.  Checked
    before titles are prepared: working out a title costs more than everything else, and
    most candidates of an import check fail here (another author, another year)."""
    if a.year is None or b.year is None or abs(a.year - b.year) <= 1:
        author, words = _author_key(b.first_author)
        if _same_family(a.author, a.author_words, author, words) is not False:
            return False
    return not any(x and x == y for x, y in zip(_identifiers(b), a.ids, strict=True))


def _identifier_contradicted(a: _Prepared, b: _Prepared) -> bool:
    """Whether two records that share an identifier disagree on everything else: years more
    than two apart and titles with little in common.  Real .bib files hold such pairs (a
    PMID pasted into the wrong entry); calling them one work would invite merging two
    papers.  Either alone is not enough: a title read from a PDF may be wrong, and so may
    a year."""
    if a.year is None or b.year is None or abs(a.year - b.year) <= 2:
        return False
    if len(a.norm) < MIN_TITLE or len(b.norm) < MIN_TITLE:
        return False
    # token_set_ratio: a title cut short or given a subtitle still counts as the same
    return fuzz.token_set_ratio(a.norm, b.norm) < 50


def _conflicting_ids(a: _Prepared, b: _Prepared) -> bool:
    return bool(
        (a.doi and b.doi and a.doi != b.doi)
        or (a.pmid and b.pmid and a.pmid != b.pmid)
        or (a.pmcid and b.pmcid and a.pmcid != b.pmcid)
        or (a.arxiv and b.arxiv and a.arxiv != b.arxiv)
    )


def _title_score(a: _Prepared, b: _Prepared, required: float,
                 scorer: Callable[..., float], preprint_pair: bool) -> tuple[float, bool] | None:
    """The best similarity of the titles at or above ``required`` that no veto rules out,
    and whether it was reached by ignoring a subtitle; ``None`` if there is none.

    A subtitle is ignored when only one of the titles has one ("X" / "X: a pilot study"),
    and between a preprint and a journal version, whose subtitles are often reworded in
    review.  Two other records with different subtitles are two papers ("X: status and
    perspectives" / "X: status and challenges") unless the whole titles are close.  Without
    both years a subtitle is never ignored: "X" (a conference paper, no year) and "X: from
    theory to practice" (the journal paper years later) are two works.
    """
    best: tuple[float, bool] | None = None
    score = scorer(a.norm, b.norm, score_cutoff=required)
    if score and not _vetoed(a, b, main=False):
        best = (score, False)
        if score >= 100:
            return best
    years_known = a.year is not None and b.year is not None
    if years_known and (bool(a.main) != bool(b.main) or (preprint_pair and (a.main or b.main))):
        ma, wa = a.compared(main=True)
        mb, wb = b.compared(main=True)
        long_enough = (
            min(len(ma), len(mb)) >= MIN_MAIN_CHARS
            and min(len(wa), len(wb)) >= MIN_MAIN_WORDS
        )
        if long_enough:
            floor = max(required, best[0] + 0.001 if best else 0.0)
            score = scorer(ma, mb, score_cutoff=floor)
            if score and not _vetoed(a, b, main=True):
                best = (score, True)
    return best


def _vetoed(a: _Prepared, b: _Prepared, *, main: bool) -> bool:
    """Whether the (main) titles name different papers although they are spelt alike."""
    if a.markers() != b.markers():
        return True
    if a.numbers() != b.numbers():
        # A subtitle only one of them has may carry numbers ("X: a 2-year follow-up" / "X");
        # two different subtitles with different numbers ("X: Part I" / "X: Part II") do not.
        if not main or (a.main and b.main) or a.numbers(main=True) != b.numbers(main=True):
            return True
    # On the whole titles: a subtitle only one of them has cannot clash, two can ("X: an in
    # vitro study" / "X: an in vivo study").
    if _contrast_differs(a.contrasts(), b.contrasts()):
        return True
    return _different_word(a.compared(main)[1], b.compared(main)[1])


def _compare(a: _Prepared, b: _Prepared, threshold: float,
             scorer: Callable[..., float]) -> Match | None:
    shared: tuple[tuple[MatchKind, str, str, str], ...] = (
        ("doi", "DOI", a.doi, b.doi),
        ("pmid", "PMID", a.pmid, b.pmid),
        ("pmcid", "PMCID", a.pmcid, b.pmcid),
        ("arxiv", "arXiv id", a.arxiv, b.arxiv),
    )
    preprint_pair = a.preprint != b.preprint
    for kind, label, x, y in shared:
        if x and x == y:
            if _identifier_contradicted(a, b):
                return None
            if kind != "doi" and a.doi and b.doi and not preprint_pair:
                return None  # a PMID shared by two DOIs: one of them is pasted wrongly
            return Match(a.id, b.id, kind, 100.0, f"same {label} {x}")
    conflict = _conflicting_ids(a, b)
    if conflict and not preprint_pair:
        return None
    if len(a.norm) < MIN_TITLE or len(b.norm) < MIN_TITLE:
        return None
    author = _same_author(a, b)
    if author is False:
        return None
    years_known = a.year is not None and b.year is not None
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
        return None
    required = threshold
    if author is None or not years_known:
        if conflict:
            return None  # a preprint's DOI against a journal's: only with full evidence
        required = max(threshold, STRICT_THRESHOLD)
        if author is None and (not years_known or a.year != b.year):
            # No first author to go by and no year to agree on: only a long title spelt
            # the same, with family names that differ by a letter or two.
            if not (a.author and b.author and not years_known and a.norm == b.norm
                    and len(a.norm) >= SAME_TITLE_ALONE):
                return None
    if min(len(a.norm), len(b.norm)) < SHORT_TITLE:
        if (a.norm != b.norm or len(a.words) < 2 or author is not True
                or not years_known or a.year != b.year):
            return None
    found = _title_score(a, b, required, scorer, preprint_pair)
    if found is None:
        return None
    score, subtitle_ignored = found
    return Match(a.id, b.id, "preprint" if preprint_pair else "title", round(score, 1),
                 _reason(a, b, score, subtitle_ignored, author, preprint_pair))


def _reason(a: _Prepared, b: _Prepared, score: float, subtitle_ignored: bool,
            author: bool | None, preprint_pair: bool) -> str:
    if score >= 100 and not subtitle_ignored and author and a.year is not None \
            and a.year == b.year:
        # the wording imports have always used for this case
        text = f"same title, first author and year {a.year}"
        return f"preprint and journal version: {text}" if preprint_pair else text
    what = "same title" if score >= 100 else "similar title"
    detail = f"{score:.0f}, subtitle ignored" if subtitle_ignored else f"{score:.0f}"
    if author:
        who = "same first author"
    elif a.author and b.author:
        who = "first authors spelt alike"
    else:
        who = "first author unknown"
    if a.year is None or b.year is None:
        when = "year unknown"
    elif a.year == b.year:
        when = f"year {a.year}"
    else:
        when = f"year {min(a.year, b.year)}/{max(a.year, b.year)}"
    text = f"{what} ({detail}), {who}, {when}"
    return f"preprint and journal version: {text}" if preprint_pair else text


# ============================================================================================
# Entry points
# ============================================================================================


def find_matches(record: DuplicateKey, candidates: Iterable[DuplicateKey], *,
                 threshold: float = DEFAULT_THRESHOLD,
                 scorer: Scorer = "ratio") -> list[Match]:
    """The candidates that are the same work as ``record``, best first.

    For checking one new paper at import: ``candidates`` are papers of the library that
    may be the same work (sharing an identifier, or any of the record's
    :func:`blocking_keys`, or close to its title in an index); one with ``record``'s own id
    is skipped.  ``a`` of each match is ``record.id``, ``b`` the candidate's.  Candidates
    that no title could make a match (another first author or year, no identifier in
    common) are set aside before their titles are worked out.
    """
    compare = _SCORERS[scorer]
    head = _head(record)
    mine: _Prepared | None = None  # prepared once a candidate needs it
    found = []
    for candidate in candidates:
        if candidate.id == record.id or _ruled_out(head, candidate):
            continue
        if mine is None:
            mine = _prepare(record)
        match = _compare(mine, _prepare(candidate), threshold, compare)
        if match is not None:
            found.append(match)
    found.sort(key=lambda m: (_KIND_RANK[m.kind], -m.score, m.b))
    return found


def _candidate_pairs(members: list[int], prepared: list[_Prepared], cutoff: float,
                     scorer: Callable[..., float]) -> Iterator[tuple[int, int]]:
    """Pairs of one block whose titles (or main titles) are at least ``cutoff`` alike."""
    if len(members) <= 48:
        for x, i in enumerate(members):
            a = prepared[i]
            a_main = a.main or a.norm
            for j in members[x + 1:]:
                b = prepared[j]
                if scorer(a.norm, b.norm, score_cutoff=cutoff) or (
                    (a.main or b.main)
                    and scorer(a_main, b.main or b.norm, score_cutoff=cutoff)
                ):
                    yield i, j
        return
    # Large blocks: let rapidfuzz loop over each row in C.
    norms = [prepared[i].norm for i in members]
    mains = [prepared[i].main or prepared[i].norm for i in members]
    for x, i in enumerate(members):
        hits = {x + 1 + k for _c, _s, k in process.extract_iter(
            norms[x], norms[x + 1:], scorer=scorer, score_cutoff=cutoff)}
        hits.update(x + 1 + k for _c, _s, k in process.extract_iter(
            mains[x], mains[x + 1:], scorer=scorer, score_cutoff=cutoff))
        for y in sorted(hits):
            yield i, members[y]


def _incompatible(a: _Prepared, b: _Prepared, threshold: float,
                  scorer: Callable[..., float]) -> bool:
    """Whether two records say they are different works, however they came into reach of
    each other: their own journal DOIs (or PMIDs, ...), or companion titles, the same main
    title with subtitles a veto tells apart ("X: Part I" / "X: Part II", "X: methods" /
    "X: results").  Other dissimilar titles are no objection: a record joined by its DOI
    may carry a title cut short or read wrongly from a PDF."""
    preprint_pair = a.preprint != b.preprint
    if _conflicting_ids(a, b) and not preprint_pair:
        return True
    return bool(
        a.main and b.main and not preprint_pair
        and scorer(a.main, b.main, score_cutoff=threshold)
        and _vetoed(a, b, main=False)
    )


class _Groups:
    """Union-find over record positions.  A title match joins two groups only when no
    member of one says it is another work than a member of the other (:func:`_incompatible`):
    "X" matches both "X: methods" and "X: results", but those two are companion papers and
    must not end up in one group, nor must two records with their own journal DOIs."""

    def __init__(self, prepared: list[_Prepared], threshold: float,
                 scorer: Callable[..., float]) -> None:
        self.prepared = prepared
        self.threshold = threshold
        self.scorer = scorer
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while (up := parent.get(root, root)) != root:
            root = up
        while (up := parent.get(i, i)) != root:
            parent[i], i = root, up
        return root

    def join(self, i: int, j: int, *, force: bool) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return True
        mi = self.members.get(ri, [ri])
        mj = self.members.get(rj, [rj])
        p = self.prepared
        if not force and any(_incompatible(p[x], p[y], self.threshold, self.scorer)
                             for x in mi for y in mj):
            return False
        if ri > rj:
            ri, rj = rj, ri
        self.parent[rj] = ri
        self.members[ri] = mi + mj
        self.members.pop(rj, None)
        return True


def _blocks(prepared: list[_Prepared]) -> dict[str, int | list[int]]:
    """Record positions by blocking key; a key held by one record maps to its position
    (most keys are: no list is made for them)."""
    blocks: dict[str, int | list[int]] = {}
    get = blocks.get
    for i, p in enumerate(prepared):
        for key in _keys(p):
            held = get(key)
            if held is None:
                blocks[key] = i
            elif isinstance(held, int):
                if held != i:  # a title may yield one key twice
                    blocks[key] = [held, i]
            elif held[-1] != i:
                held.append(i)
    return blocks


def find_duplicates(records: Iterable[DuplicateKey], *,
                    threshold: float = DEFAULT_THRESHOLD,
                    scorer: Scorer = "ratio") -> list[DuplicateGroup]:
    """Groups of records that are the same work, ordered by their smallest id.

    Records are compared only within blocks (shared identifier, title start or end,
    distinctive title words with the first author or the year), so 100,000 records take
    seconds, not hours.  Matches join groups strongest first (shared identifiers, then by
    title score); a title match that would put into one group two records that say they
    are different works (their own journal DOIs, companion titles) is dropped.
    """
    compare = _SCORERS[scorer]
    with paused_cyclic_gc():
        prepared = [_prepare(r) for r in records]
        blocks = _blocks(prepared)
        seen: set[tuple[int, int]] = set()
        matches: list[tuple[int, int, Match]] = []
        for key, members in blocks.items():
            if isinstance(members, int):
                continue
            if not key.startswith(_TITLE_KEYS):
                pairs: Iterable[tuple[int, int]] = combinations(members, 2)
            elif len(members) > MAX_BLOCK:
                log.info("duplicates: skipped a block of %d records (%s)", len(members), key)
                continue
            else:
                pairs = _candidate_pairs(members, prepared, threshold, compare)
            for pair in pairs:
                if pair in seen:
                    continue
                seen.add(pair)
                match = _compare(prepared[pair[0]], prepared[pair[1]], threshold, compare)
                if match is not None:
                    matches.append((pair[0], pair[1], match))
        del blocks, seen
    matches.sort(key=lambda t: (_KIND_RANK[t[2].kind], -t[2].score, t[0], t[1]))
    groups = _Groups(prepared, threshold, compare)
    kept = [(i, j, m) for i, j, m in matches
            if groups.join(i, j, force=m.kind not in ("title", "preprint"))]
    matches_of: defaultdict[int, list[Match]] = defaultdict(list)
    members_of: defaultdict[int, set[int]] = defaultdict(set)
    for i, j, m in kept:
        root = groups.find(i)
        matches_of[root].append(m)
        members_of[root].update((prepared[i].id, prepared[j].id))
    result = [DuplicateGroup(tuple(sorted(members_of[root])), tuple(matches_of[root]))
              for root in matches_of]
    result.sort(key=lambda g: g.ids)
    return result
