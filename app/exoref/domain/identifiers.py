"""Identifiers found in the text of papers: DOI, PMID, PMCID, arXiv id, trial registry ids.

Pure functions over strings, no PDF library: :mod:`exoref.formats.pdf` feeds them page text and
decides which of the identifiers found belong to the paper itself.  ``normalize_title_key``
lives here too because duplicate detection compares titles the same way everywhere.

DOIs are case-insensitive (ISO 26324).  :func:`normalize_doi` keeps the case as printed, for
display; compare with :func:`doi_key`, which lower-cases.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "doi_key",
    "find_arxiv_ids",
    "find_dois",
    "find_pmcids",
    "find_pmids",
    "find_trial_ids",
    "normalize_arxiv_id",
    "normalize_doi",
    "normalize_pmcid",
    "normalize_pmid",
    "normalize_title_key",
    "parse_arxiv_stamp",
]

# --------------------------------------------------------------------------------------------
# DOI
# --------------------------------------------------------------------------------------------

#: Prefixes people and publishers put before a DOI, longest first.
_DOI_PREFIX_RE = re.compile(
    r"""^\s*(?:
        (?:https?\s*:\s*/\s*/\s*)?(?:dx\.)?doi\.org\s*/\s*
      | (?:https?\s*:\s*/\s*/\s*)?(?:www\.)?doi\.org\s*/\s*
      | doi\s*[:=]?\s*(?:org/)?
      | info\s*:\s*doi\s*/\s*
      | urn\s*:\s*doi\s*:\s*
    )""",
    re.IGNORECASE | re.VERBOSE,
)

#: The body of a DOI as found in running text.  Crossref's own pattern is
#: ``10.\d{4,9}/[-._;()/:A-Z0-9]+``, but old SICI DOIs also hold ``<>[]#+`` and text
#: extraction leaves ligatures ("ﬁ") in them, so anything up to white space or a quote is
#: taken and the tail trimmed afterwards.
_DOI_CHARS = r"[^\s\"“”‘’«»{}|\\^`]"
_DOI_RE = re.compile(r"(?<![\d.])10\.\d{4,9}/" + _DOI_CHARS + r"+")
_DOI_FULL_RE = re.compile(r"^10\.\d{4,9}/\S+$")

#: Characters a DOI never ends with in running text (sentence punctuation).
_DOI_TRAILING = ".,;:'!?*&=%$#@~"
#: Where a DOI printed in a list stops: "10.1/x,http://..." or "10.1/x;doi:10.2/y".
_DOI_GLUED_RE = re.compile(r"[,;](?=(?:https?:|doi|www\.|10\.\d{4,9}/))", re.IGNORECASE)
#: A line end inside a DOI: the DOI goes on when the line stops on one of these.
_DOI_BREAK_CHARS = "./-_:(;"
#: The start of a line that carries on a DOI broken at the end of the previous line.
_DOI_CONTINUATION_RE = re.compile(_DOI_CHARS + r"+")


def _balance_brackets(doi: str) -> str:
    """Drop closing brackets at the end that have no opening partner in the DOI."""
    pairs = {")": "(", "]": "[", ">": "<"}
    while doi and doi[-1] in pairs:
        closer = doi[-1]
        if doi.count(closer) > doi.count(pairs[closer]):
            doi = doi[:-1]
        else:
            break
    return doi


def _strip_doi_tail(doi: str) -> str:
    glued = _DOI_GLUED_RE.search(doi)
    if glued:
        doi = doi[: glued.start()]
    previous = None
    while previous != doi:
        previous = doi
        doi = doi.rstrip(_DOI_TRAILING)
        doi = _balance_brackets(doi)
    return doi


def normalize_doi(value: str) -> str | None:
    """The bare DOI in ``value`` ("doi:", resolver URLs and trailing punctuation stripped).

    Returns ``None`` when ``value`` holds no DOI.  The case is kept as printed; compare DOIs
    with :func:`doi_key`.

    >>> normalize_doi("https://doi.org/10.1016/J.Cell.2020.01.001.")
    '10.1016/J.Cell.2020.01.001'
    """
    text = unicodedata.normalize("NFKC", value).strip()
    text = _DOI_PREFIX_RE.sub("", text, count=1)
    # URL-escaped slashes, as in https://doi.org/10.1000%2Fabc
    text = re.sub(r"%2[Ff]", "/", text)
    match = _DOI_RE.search(text)
    if not match:
        return None
    doi = _strip_doi_tail(match.group(0))
    if not _DOI_FULL_RE.match(doi) or doi.endswith("/"):
        return None
    return doi


def doi_key(doi: str) -> str:
    """The form two DOIs are compared in (DOIs are case-insensitive)."""
    normal = normalize_doi(doi)
    return (normal if normal is not None else doi.strip()).lower()


def _join_broken_doi(text: str, start: int, end: int) -> tuple[str, int]:
    """The DOI starting at ``start``, carried on over line ends where it was broken.

    A DOI is taken to go on at the next line only when its line stops on a character a DOI
    is broken after (``.``, ``/``, ``-``, ``_``, ``:``, ``(``, ``;``) and the next line starts
    with characters a DOI may hold; so "doi:10.1016/j.\\ncell.2020.01.001" is joined, while
    "doi:10.1017/S1041610213001804\\nStressful life events" is not.
    """
    doi = text[start:end]
    pos = end
    for _ in range(3):  # a DOI spans at most a few lines
        if pos >= len(text) or text[pos] not in "\r\n":
            break
        if not doi or doi[-1] not in _DOI_BREAK_CHARS:
            break
        nxt = pos
        while nxt < len(text) and text[nxt] in "\r\n \t":
            nxt += 1
        cont = _DOI_CONTINUATION_RE.match(text, nxt)
        if not cont:
            break
        piece = cont.group(0)
        # A new identifier or a URL on the next line is not a continuation.
        if re.match(r"(?i)(?:10\.\d{4,9}/|https?:|doi|www\.|\[\d)", piece):
            break
        # After a full stop only a digit or a lower-case letter carries a DOI on; a capital
        # starts the next sentence.
        if doi[-1] == "." and not (piece[0].isdigit() or piece[0].islower()):
            break
        doi += piece
        pos = cont.end()
    return doi, pos


def find_dois(text: str) -> list[tuple[str, int]]:
    """Every DOI in ``text`` as ``(doi, offset)``, in order of appearance, repeats kept.

    The offset is where the DOI itself (``10.``) starts.  DOIs broken over a line end are
    joined (see :func:`_join_broken_doi`); a resolver URL broken after ``https://doi.org/``
    is found too because the search looks for the ``10.`` part.
    """
    found: list[tuple[str, int]] = []
    pos = 0
    while True:
        match = _DOI_RE.search(text, pos)
        if match is None:
            return found
        raw, end = _join_broken_doi(text, match.start(), match.end())
        doi = normalize_doi(raw)
        if doi:
            found.append((doi, match.start()))
            # Go on right after the DOI: what the greedy match swallowed behind it
            # ("10.1/a,http://doi.org/10.2/b") may hold the next one.
            if end == match.end():
                end = match.start() + len(doi)
        pos = max(end, match.start() + 1)


# --------------------------------------------------------------------------------------------
# PubMed, PubMed Central
# --------------------------------------------------------------------------------------------

_PMID_RE = re.compile(
    r"\b(?:PMID|PubMed\s*(?:ID|PMID)|PubMed\s+identifier)\s*(?:[:#=]|\bis\b)?\s*(\d{1,8})\b",
    re.IGNORECASE,
)
_PMCID_RE = re.compile(r"\bPMC\s?(\d{5,8})\b")


def normalize_pmid(value: str) -> str | None:
    """The PMID in ``value`` ("PMID: 123", "123"), without leading zeros, or ``None``."""
    text = value.strip()
    match = _PMID_RE.search(text)
    digits = match.group(1) if match else text
    if not digits.isdigit() or len(digits) > 8:
        return None
    digits = digits.lstrip("0")
    return digits or None


def find_pmids(text: str) -> list[tuple[str, int]]:
    """PMIDs in ``text`` as ``(pmid, offset)``; only labelled ones ("PMID: 123", "PubMed ID")
    count, because a bare number could be anything."""
    out: list[tuple[str, int]] = []
    for match in _PMID_RE.finditer(text):
        pmid = normalize_pmid(match.group(1))
        if pmid:
            out.append((pmid, match.start()))
    return out


def normalize_pmcid(value: str) -> str | None:
    """``"PMC1234567"`` from "PMCID: PMC1234567", "pmc1234567" or "1234567"."""
    text = value.strip()
    match = re.search(r"(?i)\bPMC\s?(\d{5,8})\b", text)
    if match:
        return f"PMC{match.group(1)}"
    if text.isdigit() and 5 <= len(text) <= 8:
        return f"PMC{text}"
    return None


def find_pmcids(text: str) -> list[tuple[str, int]]:
    """PubMed Central ids (``PMC`` and 5-8 digits) in ``text`` as ``(pmcid, offset)``."""
    return [(f"PMC{m.group(1)}", m.start()) for m in _PMCID_RE.finditer(text)]


# --------------------------------------------------------------------------------------------
# arXiv
# --------------------------------------------------------------------------------------------

#: New-style (2007 on) ids: YYMM.NNNN (to 2014) or YYMM.NNNNN, with an optional version.
_ARXIV_NEW = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d{1,3})?"
#: Old-style ids: archive(.SUBJECT-CLASS)/YYMMNNN, e.g. astro-ph/0601001, math.GT/0309136.
_ARXIV_OLD = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3}(?:v\d{1,3})?"
_ARXIV_ID_RE = re.compile(rf"^(?:{_ARXIV_NEW}|{_ARXIV_OLD})$")
_ARXIV_LABELLED_RE = re.compile(
    rf"(?:\barXiv\s*(?:[:.]|\s(?:preprint\s+)?)\s*(?:arXiv\s*:\s*)?|arxiv\.org/(?:abs|pdf)/)"
    rf"({_ARXIV_NEW}|{_ARXIV_OLD})(?![\d.])",
    re.IGNORECASE,
)
#: The stamp arXiv prints in the left margin of page 1, e.g.
#: "arXiv:0908.0054v1  [astro-ph.CO]  1 Aug 2009" or (before 2007) "hep-ph/9412269   09 Dec 94".
_ARXIV_STAMP_RE = re.compile(
    rf"^\s*(?:arXiv\s*:\s*)?({_ARXIV_NEW}|{_ARXIV_OLD})\s+"
    r"(?:\[[A-Za-z.\-]+\]\s+)?\d{1,2}\s+[A-Z][a-z]{2}\s+(?:\d{4}|\d{2})\s*$"
)


def normalize_arxiv_id(value: str) -> str | None:
    """The arXiv id in ``value`` ("arXiv:2101.00001v2", "https://arxiv.org/abs/..."), the
    version kept when printed; ``None`` when there is none."""
    text = value.strip()
    text = re.sub(r"(?i)^(?:https?://)?(?:www\.)?arxiv\.org/(?:abs|pdf)/", "", text)
    text = re.sub(r"(?i)^arxiv\s*:\s*", "", text)
    text = re.sub(r"(?i)\.pdf$", "", text)
    if _ARXIV_ID_RE.match(text):
        return text
    match = _ARXIV_LABELLED_RE.search(value)
    return match.group(1) if match else None


def find_arxiv_ids(text: str) -> list[tuple[str, int]]:
    """Labelled arXiv ids ("arXiv:2101.00001v2", "arXiv preprint astro-ph/0601001",
    arxiv.org URLs) in ``text`` as ``(id, offset)``."""
    return [(m.group(1), m.start()) for m in _ARXIV_LABELLED_RE.finditer(text)]


def parse_arxiv_stamp(line: str) -> str | None:
    """The id in an arXiv margin stamp line ("arXiv:1504.06236v2 [cs.SI] 24 Apr 2015"), or
    ``None`` when ``line`` is not such a stamp."""
    match = _ARXIV_STAMP_RE.match(line)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Clinical trial registries
# --------------------------------------------------------------------------------------------

#: One pattern per registry.  Only forms that cannot be mistaken for something else are taken;
#: a EudraCT number (yyyy-nnnnnn-cc) is taken only after the word "EudraCT".
_TRIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("NCT", re.compile(r"\bNCT\s?(\d{8})\b", re.IGNORECASE)),
    ("ChiCTR", re.compile(r"\b(ChiCTR(?:-[A-Z]{2,4}-)?-?\d{8,10})\b", re.IGNORECASE)),
    ("ISRCTN", re.compile(r"\bISRCTN\s?(\d{8})\b", re.IGNORECASE)),
    (
        "EudraCT",
        re.compile(
            r"\bEudra\s?CT(?:\s+(?:number|no\.?|n[°º]))?\s*[:#]?\s*((?:19|20)\d{2}-\d{6}-\d{2})\b",
            re.IGNORECASE,
        ),
    ),
    ("ACTRN", re.compile(r"\b(ACTRN\d{14})\b", re.IGNORECASE)),
    ("DRKS", re.compile(r"\b(DRKS\d{8})\b", re.IGNORECASE)),
    ("CTRI", re.compile(r"\b(CTRI/\d{4}/\d{2,3}/\d{6})\b", re.IGNORECASE)),
    ("jRCT", re.compile(r"\b(jRCT(?:[a-z]\d{9}|\d{10}))\b", re.IGNORECASE)),
    ("IRCT", re.compile(r"\b(IRCT\d{8,16}N\d{1,3})\b", re.IGNORECASE)),
    ("KCT", re.compile(r"\b(KCT\d{7})\b", re.IGNORECASE)),
    ("UMIN", re.compile(r"\b(UMIN\d{9})\b", re.IGNORECASE)),
    ("PACTR", re.compile(r"\b(PACTR\d{15,16})\b", re.IGNORECASE)),
    ("TCTR", re.compile(r"\b(TCTR\d{11})\b", re.IGNORECASE)),
)

#: A quick test whether any registry id can be in a text at all.
_TRIAL_HINT_RE = re.compile(
    r"NCT|ISRCTN|Eudra|ChiCTR|ACTRN|DRKS|CTRI|jRCT|IRCT|KCT|UMIN|PACTR|TCTR|nct\d|isrctn"
)

#: Canonical spelling of each registry prefix.
_TRIAL_PREFIX = {
    "chictr": "ChiCTR",
    "actrn": "ACTRN",
    "drks": "DRKS",
    "ctri": "CTRI",
    "jrct": "jRCT",
    "irct": "IRCT",
    "kct": "KCT",
    "umin": "UMIN",
    "pactr": "PACTR",
    "tctr": "TCTR",
}


def _canonical_trial_id(registry: str, raw: str) -> str:
    if registry == "NCT":
        return f"NCT{raw}"
    if registry == "ISRCTN":
        return f"ISRCTN{raw}"
    if registry == "EudraCT":
        return raw
    match = re.match(r"[A-Za-z]+", raw)
    prefix = match.group(0) if match else ""
    # jRCT ids carry a lower-case letter after the prefix (jRCTs031180003): keep the rest as is.
    for key, canonical in _TRIAL_PREFIX.items():
        if prefix.lower().startswith(key):
            rest = raw[len(key) :]
            return canonical + (rest.upper() if canonical != "jRCT" else rest)
    return raw


def find_trial_ids(text: str) -> list[str]:
    """Clinical-trial registry ids in ``text``, deduplicated, in order of appearance.

    NCT (ClinicalTrials.gov), ChiCTR, ISRCTN, EudraCT (bare ``yyyy-nnnnnn-cc`` after the word
    "EudraCT"), ACTRN (ANZCTR), DRKS, CTRI, jRCT, IRCT, KCT (CRIS), UMIN, PACTR and TCTR.
    """
    hits: list[tuple[int, str]] = []
    seen_at: set[int] = set()
    # The registry patterns run only on short windows around a cheap hint: most papers
    # mention no trial at all, and a dozen case-insensitive scans of a long text add up.
    for hint in _TRIAL_HINT_RE.finditer(text):
        offset = max(hint.start() - 2, 0)
        window = text[offset : hint.start() + 60]
        for registry, pattern in _TRIAL_PATTERNS:
            for match in pattern.finditer(window):
                where = offset + match.start()
                if where > hint.start():
                    break  # found from its own hint, with the whole id in the window
                if where not in seen_at:
                    seen_at.add(where)
                    hits.append((where, _canonical_trial_id(registry, match.group(1))))
    hits.sort()
    out: list[str] = []
    seen: set[str] = set()
    for _pos, trial_id in hits:
        key = trial_id.upper()
        if key not in seen:
            seen.add(key)
            out.append(trial_id)
    return out


# --------------------------------------------------------------------------------------------
# Titles
# --------------------------------------------------------------------------------------------


_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NOT_ALNUM_RE = re.compile(r"[\W_]+")


def normalize_title_key(title: str) -> str:
    """The form titles are compared in for duplicate detection.

    Compatibility-decomposed (ligatures split, "ﬁ" -> "fi"), diacritics dropped, case-folded,
    and everything but letters and digits removed, so "Did You Notice?  Neuronal ..." and
    "Did you notice?: neuronal ..." have the same key.
    """
    if not title.isascii():
        title = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", title))
    return _NOT_ALNUM_RE.sub("", title.casefold())
