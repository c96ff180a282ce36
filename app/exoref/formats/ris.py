"""RIS: the tagged format Zotero, Mendeley, EndNote, PubMed and publishers exchange.

A record is a run of ``XX  - value`` lines from ``TY`` to ``ER``.  The tags read and written
are the ones Zotero and EndNote use: TY, AU/A1 (authors), A2/ED (editors), TI/T1, T2/JO/JF/JA
(journal or book title), BT, T3 (series), PY/Y1/DA (dates), VL, IS, SP, EP, DO, AB/N2, KW,
SN (ISSN/ISBN), UR, L1 (file), PB, CY, ET, LA, N1, AN (PubMed id), C2 (PMCID), ST, J2, Y2, ID.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from exoref.domain.identifiers import (
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.domain.models import Author, Reference
from exoref.formats.bibtex import format_names, parse_names
from exoref.formats.common import (
    ParsedBibliography,
    ParsedEntry,
    Problem,
    decode_text,
    language_code,
    merge_keywords,
    month_number,
    nfc,
    normalize_pages,
    parse_date,
    parse_extra_lines,
    tags_from_keywords,
)
from exoref.formats.latex import decode_latex

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["parse_ris", "read_ris", "write_ris"]

_FROM_RIS = {
    "JOUR": "article", "JFULL": "article", "MGZN": "article", "NEWS": "article",
    "EJOUR": "article", "ABST": "article", "INPR": "article",
    "BOOK": "book", "EBOOK": "book", "EDBOOK": "book", "CHAP": "incollection",
    "ECHAP": "incollection", "CONF": "inproceedings", "CPAPER": "inproceedings",
    "THES": "phdthesis", "RPRT": "techreport", "ELEC": "online", "WEB": "online",
    "BLOG": "online", "UNPB": "unpublished", "MANSCPT": "unpublished", "GEN": "misc",
    "PAT": "patent", "DATA": "dataset", "COMP": "software", "STAND": "standard",
    "PAMP": "booklet", "ENCYC": "inreference", "DICT": "inreference", "CASE": "jurisdiction",
    "STAT": "legislation", "BILL": "legislation", "VIDEO": "video", "MPCT": "video",
    "SOUND": "audio", "ART": "artwork", "PCOMM": "letter", "SER": "book",
}
_TO_RIS = {
    "article": "JOUR", "book": "BOOK", "mvbook": "BOOK", "collection": "EDBOOK",
    "proceedings": "CONF", "incollection": "CHAP", "inbook": "CHAP",
    "inproceedings": "CPAPER", "conference": "CPAPER", "phdthesis": "THES",
    "mastersthesis": "THES", "thesis": "THES", "techreport": "RPRT", "report": "RPRT",
    "manual": "RPRT", "online": "ELEC", "unpublished": "UNPB", "misc": "GEN", "patent": "PAT",
    "dataset": "DATA", "software": "COMP", "standard": "STAND", "booklet": "PAMP",
    "inreference": "ENCYC", "jurisdiction": "CASE", "legislation": "STAT", "video": "VIDEO",
    "audio": "SOUND", "artwork": "ART", "letter": "PCOMM",
}
_BOOK_CONTAINER = frozenset({"incollection", "inproceedings", "inreference"})
_LINE = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*))?$")
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")
_ISBN = re.compile(r"^(?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx]$")


def read_ris(path: Path) -> ParsedBibliography:
    text, encoding = decode_text(path.read_bytes())
    result = parse_ris(text, base_dir=path.parent)
    result.encoding = encoding
    return result


def parse_ris(text: str, *, base_dir: Path | None = None) -> ParsedBibliography:
    """Records of an RIS text; a record missing ``TY`` or ``ER`` is reported by line."""
    text = nfc(text.lstrip("\ufeff"))
    entries: list[ParsedEntry] = []
    problems: list[Problem] = []
    record: list[tuple[str, str]] = []
    start = 0
    last_tag = ""
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        m = _LINE.match(line)
        if m is None:
            if record and line.strip() and last_tag:
                tag, value = record[-1]
                joiner = "\n\n" if tag in ("AB", "N2", "N1") else " "
                record[-1] = (tag, f"{value}{joiner}{line.strip()}")
            elif line.strip() and not record:
                problems.append(Problem(number, "text outside a record (no 'TY  - ' before it)"))
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        last_tag = tag
        if tag == "TY":
            if record:
                problems.append(Problem(start, "record without 'ER  -' at its end; read "
                                               "up to the next 'TY  -'"))
                entries.append(_entry(record, start, base_dir))
            record = [(tag, value)]
            start = number
        elif tag == "ER":
            if record:
                entries.append(_entry(record, start, base_dir))
            record = []
            last_tag = ""
        elif record:
            record.append((tag, value))
        else:
            problems.append(Problem(number, f"'{tag}' line outside a record (no 'TY  - ' "
                                            "before it)"))
    if record:
        entries.append(_entry(record, start, base_dir))
        entries[-1].warnings.append("the last record has no 'ER  -' line")
    # a record reported above as unterminated was still read: drop the double report
    return ParsedBibliography(entries, [p for p in problems if "'ER  -'" not in p.reason],
                              "ris")


def _ris_name(value: str) -> Author:
    """``Last, First`` (``Last, First, Suffix`` in RIS) or a single (corporate) name."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        return Author(parts[0], "")
    given = parts[1]
    if len(parts) > 2 and parts[2]:
        given = f"{given}, {', '.join(parts[2:])}"
    return Author(parts[0], given)


def _entry(record: list[tuple[str, str]], line: int, base_dir: Path | None) -> ParsedEntry:
    fields: dict[str, list[str]] = {}
    for tag, value in record:
        if value:
            fields.setdefault(tag, []).append(value)

    def first(*tags: str) -> str:
        for tag in tags:
            if fields.get(tag):
                return fields[tag][0]
        return ""

    ris_type = first("TY").upper()
    ref = Reference(entry_type=_FROM_RIS.get(ris_type, "misc"))
    warnings: list[str] = []
    ref.title = first("TI", "T1", "CT")
    ref.authors = [_ris_name(v) for tag in ("AU", "A1") for v in fields.get(tag, [])]
    editors = [_ris_name(v) for tag in ("ED", "A2") for v in fields.get(tag, [])]
    container = first("T2", "JO", "JF", "JA", "BT") if ris_type not in ("BOOK", "EBOOK") else ""
    if ref.entry_type in _BOOK_CONTAINER:
        ref.booktitle = first("BT", "T2") or container
        editors = [_ris_name(v) for v in fields.get("ED", [])] + (
            [_ris_name(v) for v in fields.get("A2", [])])
    else:
        ref.journal = first("JO", "JF", "T2", "JA") if ris_type != "BOOK" else ""
        if ris_type in ("BOOK", "EBOOK", "EDBOOK") and first("T2"):
            ref.extra["series"] = first("T2")
    if editors:
        latex = format_names(editors)
        ref.extra["editor"] = decode_latex(latex)
        if latex != ref.extra["editor"]:
            ref.latex["editor"] = latex
    if first("T3"):
        ref.extra["series"] = first("T3")
    date = first("DA", "PY", "Y1")
    year_text = first("PY", "Y1")
    parts = parse_date(date)
    if parts.year is None and year_text:
        parts = parse_date(year_text)
    ref.year = parts.year
    if parts.month is not None:
        ref.extra["month"] = str(parts.month)
    if parts.day is not None:
        ref.extra["day"] = str(parts.day)
    if not parts.exact and date and not re.fullmatch(r"\d{4}(/[^/]*){0,3}", date):
        ref.extra["date"] = date
    ref.volume = first("VL")
    ref.issue = first("IS", "M1")
    start_page, end_page = first("SP"), first("EP")
    if start_page and end_page:
        ref.pages = normalize_pages(f"{start_page}-{end_page}")
    else:
        ref.pages = normalize_pages(start_page)
    ref.publisher = first("PB")
    if first("CY"):
        ref.extra["address"] = first("CY")
    if first("ET"):
        ref.extra["edition"] = first("ET")
    doi = first("DO")
    ref.doi = normalize_doi(doi) or doi
    for value in fields.get("SN", []):
        for part in re.split(r"[;\s]\s*(?=\d)", value):
            part = part.strip()
            if not part:
                continue
            if _ISSN.match(part):
                ref.extra["issn"] = ref.extra.get("issn") or part
            elif _ISBN.match(part.replace(" ", "")) or ris_type not in ("JOUR", "MGZN", "NEWS"):
                ref.isbn = ref.isbn or part
            else:
                ref.extra["issn"] = ref.extra.get("issn") or part
    urls = fields.get("UR", [])
    for url in urls:
        if not ref.url:
            ref.url = url
        arxiv = normalize_arxiv_id(url) if "arxiv.org" in url else None
        if arxiv:
            ref.arxiv = arxiv
    ref.abstract = first("AB", "N2")
    keywords = [k.strip() for tag in ("KW",) for v in fields.get(tag, []) for k in
                (v.split(";") if ";" in v else [v]) if k.strip()]
    if keywords:
        ref.keywords = merge_keywords(keywords)
        ref.tags = tags_from_keywords(ref.keywords)
    if first("LA"):
        ref.language = language_code(first("LA"))
    an = first("AN")
    if an:
        pmid = normalize_pmid(an)
        if pmid and (an.strip().isdigit() or "pmid" in an.lower()):
            ref.pmid = pmid
        elif an.strip().isdigit():
            ref.pmid = an.strip()
        else:
            ref.extra["accession"] = an
    c2 = first("C2")
    if c2:
        ref.pmcid = normalize_pmcid(c2) or ""
        if not ref.pmcid:
            ref.extra["c2"] = c2
    notes: list[str] = []
    for note in fields.get("N1", []):
        known, _tex, rest = parse_extra_lines(note)
        if known.get("pmid") and not ref.pmid:
            ref.pmid = normalize_pmid(known["pmid"]) or known["pmid"]
        if known.get("pmcid") and not ref.pmcid:
            ref.pmcid = normalize_pmcid(known["pmcid"]) or known["pmcid"]
        if known.get("arxiv"):
            ref.arxiv = normalize_arxiv_id(known["arxiv"]) or known["arxiv"]
        if rest or not known:
            notes.append("\n\n".join(rest) if known else note)
    if notes:
        ref.notes = "\n\n".join(notes)
    if first("ST"):
        ref.extra["shorttitle"] = first("ST")
    if first("J2"):
        ref.extra["shortjournal"] = first("J2")
    if first("Y2"):
        accessed = parse_date(first("Y2"))
        if accessed.year is not None:
            ref.extra["urldate"] = "-".join(
                f"{v:02d}" if i else f"{v:04d}" for i, v in
                enumerate(p for p in (accessed.year, accessed.month, accessed.day)
                          if p is not None))
    if ris_type == "THES" and re.search(r"(?i)master", first("M3")):
        ref.entry_type = "mastersthesis"
    elif first("M3") and ris_type != "THES":
        ref.extra["type"] = first("M3")
    key = first("ID")
    ref.citekey = key or None
    files: list[str] = []
    for value in fields.get("L1", []) + fields.get("L4", []):
        for path in value.split(";"):
            path = path.strip()
            if path.lower().startswith("file://"):
                path = path[7:]
            elif re.match(r"^[a-z]+://", path):
                continue
            if not path:
                continue
            candidate = Path(path).expanduser()
            if not candidate.is_absolute() and base_dir is not None:
                candidate = base_dir / candidate
            files.append(str(candidate))
    return ParsedEntry(ref, key, line, files, warnings)


def _ris_author(author: Author) -> str:
    if not author.given:
        return author.family
    given, sep, suffix = author.given.partition(", ")
    return f"{author.family}, {given}, {suffix}" if sep and suffix else \
        f"{author.family}, {author.given}"


def _single_line(value: str) -> str:
    return " ".join(value.split())


def write_ris(refs: Iterable[Reference], *, include_abstract: bool = True,
              file_root: Path | None = None, include_file: bool = False) -> str:
    """The references as RIS records (CRLF line ends, as the format asks)."""
    lines: list[str] = []

    def add(tag: str, value: str) -> None:
        if value:
            lines.append(f"{tag}  - {value}")

    for ref in refs:
        ris_type = _TO_RIS.get(ref.entry_type, "GEN")
        add("TY", ris_type)
        if ref.citekey:
            add("ID", ref.citekey)
        add("TI", _single_line(ref.title))
        for author in ref.authors:
            add("AU", _single_line(_ris_author(author)))
        if ref.extra.get("editor"):
            latex = ref.latex.get("editor")
            editors = parse_names(latex) if latex and decode_latex(latex) == ref.extra[
                "editor"] else parse_names(ref.extra["editor"])
            for editor in editors:
                add("ED", _single_line(_ris_author(editor)))
        series = _single_line(ref.extra.get("series", ""))
        if ris_type in ("CHAP", "CPAPER", "ENCYC"):
            add("T2", _single_line(ref.booktitle))
            add("T3", series)
        elif ris_type in ("BOOK", "EBOOK", "EDBOOK"):
            add("T2", series)  # a book's secondary title is its series
        else:
            add("T2", _single_line(ref.journal))
            add("T3", series)
        if ref.year is not None:
            add("PY", str(ref.year))
            month = month_number(ref.extra.get("month", ""))
            day = ref.extra.get("day", "")
            if month is not None:
                add("DA", f"{ref.year:04d}/{month:02d}/" + (f"{int(day):02d}/" if day.isdigit()
                                                            else "/"))
        if ref.extra.get("date"):
            add("DA", ref.extra["date"])
        add("VL", ref.volume)
        add("IS", ref.issue)
        if ref.pages:
            start, sep, end = ref.pages.partition("-")
            add("SP", start)
            if sep:
                add("EP", end)
        add("PB", _single_line(ref.publisher))
        add("CY", _single_line(ref.extra.get("address", "")))
        add("ET", ref.extra.get("edition", ""))
        add("SN", ref.isbn)
        add("SN", ref.extra.get("issn", ""))
        add("DO", ref.doi)
        add("AN", ref.pmid)
        if ref.pmcid:
            add("C2", ref.pmcid)
        add("UR", ref.url)
        if ref.arxiv:
            add("N1", f"arXiv: {ref.arxiv}")
        if include_abstract:
            add("AB", ref.abstract.replace("\n\n", "\n"))
        for keyword in merge_keywords(ref.keywords, (t.name for t in ref.tags)):
            add("KW", _single_line(keyword))
        add("LA", ref.language)
        if ref.notes:
            add("N1", ref.notes.replace("\n\n", "\n"))
        add("ST", _single_line(ref.extra.get("shorttitle", "")))
        add("J2", _single_line(ref.extra.get("shortjournal", "")))
        add("Y2", ref.extra.get("urldate", ""))
        if ref.entry_type == "mastersthesis":
            add("M3", "Master's thesis")
        elif ref.extra.get("type"):
            add("M3", ref.extra["type"])
        if include_file:
            for attachment in ref.attachments:
                path = file_root / attachment.path if file_root else Path(attachment.path)
                add("L1", str(path))
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)
