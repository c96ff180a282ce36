"""CSL-JSON: the citation data of citeproc, Zotero, Mendeley and pandoc.

A file is a JSON list of items: ``{"id", "type", "title", "author": [{"family", "given",
"non-dropping-particle", "dropping-particle", "suffix"} | {"literal"}], "issued":
{"date-parts": [[2019, 5, 2]]}, "container-title", "volume", "issue", "page", "DOI", "PMID",
"PMCID", "ISBN", "ISSN", "URL", "abstract", "keyword", "language", "publisher", ...}``.
ExoRef reads and writes what the format can carry; particles stay with the family name in
ExoRef and are split off again on export.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from exoref.domain.identifiers import (
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.domain.models import Author, Reference
from exoref.formats.bibtex import format_names, parse_names
from exoref.formats.common import (
    DateParts,
    JsonTooDeepError,
    ParsedBibliography,
    ParsedEntry,
    Problem,
    decode_text,
    language_code,
    load_json,
    merge_keywords,
    month_number,
    nfc,
    normalize_pages,
    parse_date,
    parse_extra_lines,
    split_keywords,
    strip_markup,
    tags_from_keywords,
)
from exoref.formats.latex import decode_latex

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ["parse_csljson", "read_csljson", "reference_to_csl", "write_csljson"]

_FROM_CSL = {
    "article-journal": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "article": "article",
    "review": "article",
    "review-book": "article",
    "book": "book",
    "classic": "book",
    "chapter": "incollection",
    "paper-conference": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
    "webpage": "online",
    "post": "online",
    "post-weblog": "online",
    "manuscript": "unpublished",
    "dataset": "dataset",
    "patent": "patent",
    "software": "software",
    "standard": "standard",
    "pamphlet": "booklet",
    "entry": "inreference",
    "entry-dictionary": "inreference",
    "entry-encyclopedia": "inreference",
    "legislation": "legislation",
    "legal_case": "jurisdiction",
    "motion_picture": "video",
    "broadcast": "video",
    "song": "audio",
    "graphic": "artwork",
    "personal_communication": "letter",
    "document": "misc",
}
_TO_CSL = {
    "article": "article-journal",
    "book": "book",
    "mvbook": "book",
    "collection": "book",
    "proceedings": "book",
    "incollection": "chapter",
    "inbook": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "techreport": "report",
    "report": "report",
    "manual": "report",
    "online": "webpage",
    "unpublished": "manuscript",
    "dataset": "dataset",
    "patent": "patent",
    "software": "software",
    "standard": "standard",
    "booklet": "pamphlet",
    "inreference": "entry-encyclopedia",
    "legislation": "legislation",
    "jurisdiction": "legal_case",
    "video": "motion_picture",
    "audio": "song",
    "artwork": "graphic",
    "letter": "personal_communication",
    "misc": "document",
}
_CONTAINER_IS_BOOK = frozenset({"chapter", "paper-conference", "entry", "entry-dictionary",
                                "entry-encyclopedia"})
#: CSL variables kept in ``Reference.extra`` under a BibTeX field name.
_CSL_EXTRA = {
    "title-short": "shorttitle",
    "collection-title": "series",
    "publisher-place": "address",
    "edition": "edition",
    "ISSN": "issn",
    "number-of-pages": "pagetotal",
    "number-of-volumes": "volumes",
    "genre": "type",
    "event-title": "eventtitle",
    "container-title-short": "shortjournal",
    "call-number": "lccn",
    "chapter-number": "chapter",
    "event-place": "venue",
    "note": "note",
}
_PARTICLE = re.compile(r"^((?:[a-z\u00e0-\u00ff][\w'’]*\s+)+)(.+)$")


def read_csljson(path: Path) -> ParsedBibliography:
    text, encoding = decode_text(path.read_bytes())
    result = parse_csljson(text)
    result.encoding = encoding
    return result


def parse_csljson(data: str | list[Any]) -> ParsedBibliography:
    """Items of a CSL-JSON list (an object with an ``items`` list is accepted too)."""
    if isinstance(data, str):
        try:
            document: Any = load_json(nfc(data))
        except json.JSONDecodeError as exc:
            return ParsedBibliography([], [Problem(exc.lineno, f"not valid JSON: {exc.msg}")],
                                      "csljson")
        except JsonTooDeepError as exc:
            return ParsedBibliography([], [Problem(exc.lineno, f"{exc}: not a bibliography")],
                                      "csljson")
    else:
        document = data
    if isinstance(document, dict):
        document = document.get("items", [document])
    if not isinstance(document, list):
        return ParsedBibliography([], [Problem(0, "not a CSL-JSON list of items")], "csljson")
    entries: list[ParsedEntry] = []
    problems: list[Problem] = []
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(index, f"item {index} is not an object"))
            continue
        ref = csl_to_reference(item)
        entries.append(ParsedEntry(ref, ref.citekey or "", index))
    return ParsedBibliography(entries, problems, "csljson")


_ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_str(v) for v in value)
    return _ASCII_SPACE.sub(" ", str(value)).strip(" ")


def _csl_name(name: dict[str, Any]) -> Author:
    if name.get("literal"):
        return Author(_str(name["literal"]), "")
    family = _str(name.get("family"))
    given = _str(name.get("given"))
    particles = " ".join(
        p for p in (_str(name.get("dropping-particle")),
                    _str(name.get("non-dropping-particle"))) if p
    )
    if particles:
        family = f"{particles} {family}".strip()
    suffix = _str(name.get("suffix"))
    if suffix:
        given = f"{given}, {suffix}" if given else suffix
    return Author(family, given)


def _date(value: Any) -> tuple[DateParts, str]:
    """The parts of a CSL date and, when they do not say everything, its text."""
    if not isinstance(value, dict):
        text = _str(value)
        parts = parse_date(text)
        return parts, "" if parts.exact else text
    date_parts = value.get("date-parts")
    if isinstance(date_parts, list) and date_parts and isinstance(date_parts[0], list):
        first = [int(p) for p in date_parts[0] if str(p).lstrip("-").isdigit()]
        if first:
            year = first[0]
            month = first[1] if len(first) > 1 and 1 <= first[1] <= 12 else None
            day = first[2] if len(first) > 2 and month is not None else None
            ranged = len(date_parts) > 1
            text = ""
            if ranged:
                text = "/".join(
                    "-".join(f"{int(p):02d}" if i else f"{int(p):04d}"
                             for i, p in enumerate(part)) for part in date_parts)
            return DateParts(year, month, day, not ranged), text
    for key in ("raw", "literal"):
        if value.get(key):
            text = _str(value[key])
            parts = parse_date(text)
            return parts, "" if parts.exact else text
    return DateParts(None, None, None, True), ""


def csl_to_reference(item: dict[str, Any]) -> Reference:
    csl_type = _str(item.get("type")) or "document"
    ref = Reference(entry_type=_FROM_CSL.get(csl_type, "misc"))
    ref.title = strip_markup(_str(item.get("title")))
    ref.authors = [_csl_name(n) for n in item.get("author") or [] if isinstance(n, dict)]
    editors = [_csl_name(n) for n in item.get("editor") or [] if isinstance(n, dict)]
    if editors:
        latex = format_names(editors)
        ref.extra["editor"] = decode_latex(latex)
        if latex != ref.extra["editor"]:
            ref.latex["editor"] = latex
    container = strip_markup(_str(item.get("container-title")))
    if csl_type in _CONTAINER_IS_BOOK:
        ref.booktitle = container
    else:
        ref.journal = container
    parts, date_text = _date(item.get("issued"))
    ref.year = parts.year
    if parts.month is not None:
        ref.extra["month"] = str(parts.month)
    if parts.day is not None:
        ref.extra["day"] = str(parts.day)
    if date_text:
        ref.extra["date"] = date_text
    if item.get("accessed"):
        accessed, _text = _date(item["accessed"])
        if accessed.year is not None:
            ref.extra["urldate"] = "-".join(
                f"{v:02d}" if i else f"{v:04d}" for i, v in
                enumerate(p for p in (accessed.year, accessed.month, accessed.day)
                          if p is not None))
    ref.volume = _str(item.get("volume"))
    ref.issue = _str(item.get("issue") or item.get("number"))
    ref.pages = normalize_pages(_str(item.get("page")))
    ref.publisher = _str(item.get("publisher"))
    ref.doi = normalize_doi(_str(item.get("DOI"))) or _str(item.get("DOI"))
    ref.pmid = normalize_pmid(_str(item.get("PMID"))) or _str(item.get("PMID"))
    ref.pmcid = normalize_pmcid(_str(item.get("PMCID"))) or _str(item.get("PMCID"))
    ref.isbn = _str(item.get("ISBN"))
    ref.url = _str(item.get("URL"))
    ref.abstract = str(item.get("abstract") or "").strip()
    ref.notes = str(item.get("annote") or "").strip()
    if item.get("language"):
        ref.language = language_code(_str(item.get("language")))
    for csl_name, bib_name in _CSL_EXTRA.items():
        value = _str(item.get(csl_name)) if csl_name != "note" else str(
            item.get(csl_name) or "").strip()
        if value:
            ref.extra[bib_name] = value
    if csl_type == "thesis" and re.search(r"(?i)master", ref.extra.get("type", "")):
        ref.entry_type = "mastersthesis"
        ref.extra.pop("type")
    elif csl_type == "thesis" and re.search(r"(?i)ph\.?\s?d|doctor", ref.extra.get("type", "")):
        ref.extra.pop("type")
    note = ref.extra.get("note", "")
    if note:
        known, tex, rest = parse_extra_lines(note)
        if known or tex:
            if known.get("arxiv"):
                ref.arxiv = normalize_arxiv_id(known["arxiv"]) or known["arxiv"]
            if known.get("pmid") and not ref.pmid and normalize_pmid(known["pmid"]):
                ref.pmid = normalize_pmid(known["pmid"]) or ""
            if known.get("pmcid") and not ref.pmcid:
                ref.pmcid = normalize_pmcid(known["pmcid"]) or known["pmcid"]
            if known.get("citation key"):
                ref.citekey = known["citation key"]
            for name, value in tex.items():
                ref.extra[name] = value
            if rest:
                ref.extra["note"] = "\n".join(rest)
            else:
                ref.extra.pop("note")
    key = item.get("citation-key") or item.get("id")
    if key is not None and _str(key):
        ref.citekey = _str(key)
    keywords = item.get("keyword")
    if keywords:
        words = split_keywords(_str(keywords)) if not isinstance(keywords, list) else [
            _str(k) for k in keywords]
        ref.keywords = merge_keywords(words)
        ref.tags = tags_from_keywords(ref.keywords)
    return ref


def _split_particle(family: str) -> tuple[str, str]:
    """``"van der Berg"`` -> ``("van der", "Berg")``; no particle -> ``("", family)``."""
    m = _PARTICLE.match(family)
    if m and not m.group(2)[:1].islower():
        return m.group(1).strip(), m.group(2)
    return "", family


def _name_to_csl(author: Author) -> dict[str, str]:
    if not author.given:
        return {"literal": author.family}
    out: dict[str, str] = {}
    particle, family = _split_particle(author.family)
    if particle:
        out["non-dropping-particle"] = particle
    out["family"] = family
    given, sep, suffix = author.given.partition(", ")
    out["given"] = given
    if sep and suffix:
        out["suffix"] = suffix
    return out


def reference_to_csl(ref: Reference, *, include_abstract: bool = True) -> dict[str, Any]:
    """One CSL-JSON item for ``ref`` (what the format can carry)."""
    csl_type = _TO_CSL.get(ref.entry_type, "document")
    item: dict[str, Any] = {"id": ref.citekey or "", "type": csl_type}
    if ref.citekey:
        item["citation-key"] = ref.citekey
    if ref.title:
        item["title"] = ref.title
    if ref.authors:
        item["author"] = [_name_to_csl(a) for a in ref.authors]
    editor = ref.extra.get("editor")
    if editor:
        latex = ref.latex.get("editor")
        names = parse_names(latex) if latex and decode_latex(latex) == editor else \
            parse_names(editor)
        item["editor"] = [_name_to_csl(a) for a in names]
    container = ref.booktitle if csl_type in _CONTAINER_IS_BOOK else ref.journal
    if container:
        item["container-title"] = container
    date = ref.extra.get("date")
    if date:
        item["issued"] = {"raw": date}
    elif ref.year is not None:
        parts: list[int] = [ref.year]
        month = month_number(ref.extra.get("month", ""))
        if month is not None:
            parts.append(month)
            day = ref.extra.get("day", "")
            if day.isdigit():
                parts.append(int(day))
        item["issued"] = {"date-parts": [parts]}
    for key, value in (("volume", ref.volume), ("issue", ref.issue), ("page", ref.pages),
                       ("publisher", ref.publisher), ("DOI", ref.doi), ("PMID", ref.pmid),
                       ("PMCID", ref.pmcid), ("ISBN", ref.isbn), ("URL", ref.url),
                       ("language", ref.language), ("annote", ref.notes)):
        if value:
            item[key] = value
    if include_abstract and ref.abstract:
        item["abstract"] = ref.abstract
    for csl_name, bib_name in _CSL_EXTRA.items():
        extra_value = ref.extra.get(bib_name)
        if extra_value and csl_name not in item and csl_name != "note":
            item[csl_name] = extra_value
    if ref.entry_type == "mastersthesis" and "genre" not in item:
        item["genre"] = "Master's thesis"
    notes = [ref.extra["note"]] if ref.extra.get("note") else []
    if ref.arxiv:
        notes.append(f"arXiv: {ref.arxiv}")
    if notes:
        item["note"] = "\n".join(notes)
    if ref.extra.get("urldate"):
        accessed = parse_date(ref.extra["urldate"])
        if accessed.year is not None:
            item["accessed"] = {"date-parts": [[p for p in (accessed.year, accessed.month,
                                                            accessed.day) if p is not None]]}
    keywords = merge_keywords(ref.keywords, (t.name for t in ref.tags))
    if keywords:
        item["keyword"] = ("; " if any("," in k for k in keywords) else ", ").join(keywords)
    return item


def write_csljson(refs: Iterable[Reference], *, include_abstract: bool = True) -> str:
    items = [reference_to_csl(ref, include_abstract=include_abstract) for ref in refs]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
