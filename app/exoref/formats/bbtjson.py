"""Better BibTeX JSON: a Zotero library exported by Better BibTeX ("BetterBibTeX JSON").

The file is ``{"config": {...}, "items": [{itemType, title, creators, date, ...}, ...]}`` with
Zotero's field names.  This is how a Zotero user brings a whole library over, citation keys,
tags, notes and attachment paths included.  Only reading is offered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from exoref.domain.identifiers import (
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.domain.models import Author, Reference
from exoref.formats.bibtex import format_names
from exoref.formats.common import (
    JsonTooDeepError,
    ParsedBibliography,
    ParsedEntry,
    Problem,
    decode_text,
    format_date,
    html_to_text,
    language_code,
    load_json,
    merge_keywords,
    nfc,
    normalize_pages,
    parse_extra_lines,
    strip_markup,
    tags_from_keywords,
    zotero_date,
)
from exoref.formats.latex import decode_latex

__all__ = ["ZOTERO_TYPES", "parse_bbtjson", "read_bbtjson", "zotero_item_to_reference"]

#: Zotero item type -> the entry type ExoRef stores.
ZOTERO_TYPES: dict[str, str] = {
    "journalArticle": "article",
    "magazineArticle": "article",
    "newspaperArticle": "article",
    "book": "book",
    "bookSection": "incollection",
    "conferencePaper": "inproceedings",
    "thesis": "phdthesis",
    "report": "techreport",
    "webpage": "online",
    "blogPost": "online",
    "forumPost": "online",
    "preprint": "online",
    "manuscript": "unpublished",
    "letter": "letter",
    "email": "letter",
    "patent": "patent",
    "dataset": "dataset",
    "computerProgram": "software",
    "document": "misc",
    "presentation": "misc",
    "interview": "misc",
    "film": "video",
    "videoRecording": "video",
    "tvBroadcast": "video",
    "audioRecording": "audio",
    "podcast": "audio",
    "radioBroadcast": "audio",
    "artwork": "artwork",
    "map": "misc",
    "encyclopediaArticle": "inreference",
    "dictionaryEntry": "inreference",
    "case": "jurisdiction",
    "statute": "legislation",
    "bill": "legislation",
    "hearing": "misc",
    "standard": "standard",
    "instantMessage": "misc",
}
_SUBTYPES = {"magazineArticle": "magazine", "newspaperArticle": "newspaper"}
#: Zotero creator types that are the authors of the item.
_AUTHOR_ROLES = frozenset(
    "author inventor programmer artist director presenter interviewee podcaster cartographer "
    "performer composer sponsor".split()
)
#: Other creator roles and the BibLaTeX name field they go to.
_NAME_ROLES = {
    "editor": "editor",
    "seriesEditor": "editor",
    "bookAuthor": "bookauthor",
    "translator": "translator",
    "contributor": "namea",
    "reviewedAuthor": "namea",
    "commenter": "commentator",
}
#: Zotero field -> the BibTeX field kept in ``Reference.extra`` (plain text).
_EXTRA_FIELDS = {
    "shortTitle": "shorttitle",
    "series": "series",
    "seriesTitle": "series",
    "edition": "edition",
    "place": "address",
    "numPages": "pagetotal",
    "numberOfVolumes": "volumes",
    "ISSN": "issn",
    "journalAbbreviation": "shortjournal",
    "university": "school",
    "institution": "institution",
    "reportType": "type",
    "thesisType": "type",
    "manuscriptType": "type",
    "letterType": "type",
    "websiteType": "type",
    "presentationType": "type",
    "genre": "type",
    "callNumber": "lccn",
    "rights": "copyright",
    "section": "chapter",
    "archiveID": "eprint",
    "repository": "publisher",
    "versionNumber": "version",
    "meetingName": "eventtitle",
    "websiteTitle": "organization",
    "blogTitle": "organization",
    "forumTitle": "organization",
    "programTitle": "series",
    "network": "publisher",
    "studio": "publisher",
    "label": "publisher",
    "distributor": "publisher",
    "company": "publisher",
    "court": "institution",
    "assignee": "holder",
    "patentNumber": "number",
    "applicationNumber": "number",
    "system": "type",
}


#: CSL variables Zotero users put in "Extra" (``Publisher: ...``), as BibTeX fields.
_CSL_VARIABLES = {
    "publisher": "publisher",
    "publisher-place": "address",
    "event-place": "venue",
    "event-title": "eventtitle",
    "number-of-pages": "pagetotal",
    "container-title": "journal",
    "collection-title": "series",
    "title-short": "shorttitle",
}


def read_bbtjson(path: Path) -> ParsedBibliography:
    text, encoding = decode_text(path.read_bytes())
    result = parse_bbtjson(text, base_dir=path.parent)
    result.encoding = encoding
    return result


def parse_bbtjson(data: str | dict[str, Any], *, base_dir: Path | None = None
                  ) -> ParsedBibliography:
    """The items of a Better BibTeX JSON export (each item's line is its position, from 1)."""
    problems: list[Problem] = []
    if isinstance(data, str):
        try:
            document = load_json(nfc(data))
        except json.JSONDecodeError as exc:
            return ParsedBibliography([], [Problem(exc.lineno, f"not valid JSON: {exc.msg}")],
                                      "bbtjson")
        except JsonTooDeepError as exc:
            return ParsedBibliography([], [Problem(exc.lineno, f"{exc}: not a bibliography")],
                                      "bbtjson")
    else:
        document = data
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return ParsedBibliography([], [Problem(0, "no \"items\" list: not a Better BibTeX "
                                                  "JSON export")], "bbtjson")
    entries: list[ParsedEntry] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(index, f"item {index} is not an object"))
            continue
        if item.get("itemType") in ("note", "attachment", "annotation"):
            problems.append(Problem(index, f"item {index} is a standalone "
                                           f"{item.get('itemType')}, not a reference"))
            continue
        ref, files, warnings = zotero_item_to_reference(item, base_dir)
        entries.append(ParsedEntry(ref, ref.citekey or "", index, files, warnings))
    return ParsedBibliography(entries, problems, "bbtjson")


_ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return _ASCII_SPACE.sub(" ", str(value)).strip(" ")


_TRAILING_PARTICLES = re.compile(r"^(.*?\S)\s+((?:(?:[a-zà-ÿ]+|[a-z]')\s*)+)$")


def _creator(creator: dict[str, Any]) -> Author:
    """A Zotero creator as ExoRef keeps names: particles that Zotero users put after the
    first name ("Alexander von", "Jean de") go to the family name, the quotes Zotero uses to
    keep a last name together are dropped, and ``,!`` (a suffix without a comma) is read as
    ``,``."""
    if creator.get("name") is not None or creator.get("fieldMode") == 1:
        return Author(_text(creator.get("name") or creator.get("lastName")), "")
    family = _text(creator.get("lastName"))
    given = _text(creator.get("firstName")).replace(",!", ",")
    if len(family) > 2 and family[0] == family[-1] == '"':
        family = family[1:-1].strip()
    if "," not in given:
        m = _TRAILING_PARTICLES.match(given)
        if m and family:
            particle = m.group(2).strip()
            joiner = "" if particle.endswith("'") else " "
            family = f"{particle}{joiner}{family}"
            given = m.group(1)
    return Author(family, given)


def _names_value(authors: list[Author]) -> tuple[str, str]:
    """A name list for ``extra`` (plain) and the LaTeX that writes it (kept in ``latex``)."""
    latex = format_names(authors)
    return decode_latex(latex), latex


def zotero_item_to_reference(
    item: dict[str, Any], base_dir: Path | None = None
) -> tuple[Reference, list[str], list[str]]:
    """A reference from one Zotero item (as Better BibTeX JSON and Zotero's API give it)."""
    warnings: list[str] = []
    item_type = str(item.get("itemType", "document"))
    ref = Reference(entry_type=ZOTERO_TYPES.get(item_type, "misc"))
    if item_type in _SUBTYPES:
        ref.extra["entrysubtype"] = _SUBTYPES[item_type]
    ref.title = strip_markup(_text(item.get("title")))
    roles: dict[str, list[Author]] = {}
    for creator in item.get("creators") or []:
        if not isinstance(creator, dict):
            continue
        role = str(creator.get("creatorType", "author"))
        author = _creator(creator)
        if role in _AUTHOR_ROLES:
            ref.authors.append(author)
        else:
            roles.setdefault(_NAME_ROLES.get(role, "namea"), []).append(author)
    if not ref.authors and item_type in ("book",) and "editor" in roles:
        pass  # an edited book: the editors stay editors
    for field_name, people in roles.items():
        plain, latex = _names_value(people)
        ref.extra[field_name] = plain
        if latex != plain:
            ref.latex[field_name] = latex
    if "namea" in roles:
        ref.extra["nameatype"] = "collaborator"

    container = strip_markup(_text(item.get("publicationTitle")))
    if item_type in ("bookSection", "encyclopediaArticle", "dictionaryEntry"):
        ref.booktitle = strip_markup(_text(item.get("bookTitle"))) or container or \
            strip_markup(_text(item.get("encyclopediaTitle") or item.get("dictionaryTitle")))
    elif item_type == "conferencePaper":
        proceedings = strip_markup(_text(item.get("proceedingsTitle")))
        conference = _text(item.get("conferenceName"))
        ref.booktitle = proceedings or container or conference
        if conference:
            ref.extra["eventtitle"] = conference
    else:
        ref.journal = container
    date = _text(item.get("date"))
    if date:
        parts, kept = zotero_date(date)
        ref.year = parts.year
        if parts.month is not None:
            ref.extra["month"] = str(parts.month)
        if parts.day is not None and not kept:
            ref.extra["day"] = str(parts.day)
        if kept:
            ref.extra["date"] = kept
    ref.volume = _text(item.get("volume"))
    ref.issue = _text(item.get("issue") or item.get("reportNumber") or item.get("number")
                      or item.get("seriesNumber") or item.get("billNumber"))
    ref.pages = normalize_pages(_text(item.get("pages")))
    ref.publisher = _text(item.get("publisher"))
    ref.doi = normalize_doi(_text(item.get("DOI"))) or _text(item.get("DOI"))
    ref.isbn = _text(item.get("ISBN"))
    ref.url = _text(item.get("url"))
    ref.abstract = _text(item.get("abstractNote")) if "\n" not in str(
        item.get("abstractNote", "")) else html_to_text(str(item.get("abstractNote")))
    ref.language = language_code(_text(item.get("language"))) if item.get("language") else ""
    access = _text(item.get("accessDate"))
    if access:
        ref.extra["urldate"] = access[:10]
    for zotero_name, bib_name in _EXTRA_FIELDS.items():
        value = _text(item.get(zotero_name))
        if value and bib_name not in ref.extra and not (bib_name == "publisher" and ref.publisher):
            if bib_name == "publisher":
                ref.publisher = value
            elif bib_name == "number":
                ref.issue = ref.issue or value
            else:
                ref.extra[bib_name] = strip_markup(value)
    if item_type == "thesis" and re.search(r"(?i)master|m\.?\s?sc|m\.?a\.", ref.extra.get(
            "type", "")):
        ref.entry_type = "mastersthesis"
        ref.extra.pop("type", None)
    elif item_type == "thesis" and re.search(r"(?i)ph\.?\s?d|doctor", ref.extra.get("type", "")):
        ref.extra.pop("type", None)

    notes: list[str] = []
    extra = item.get("extra")
    if extra:
        known, tex, rest = parse_extra_lines(extra)
        if known.get("pmid"):
            ref.pmid = normalize_pmid(known["pmid"]) or known["pmid"]
        if known.get("pmcid"):
            ref.pmcid = normalize_pmcid(known["pmcid"]) or known["pmcid"]
        if known.get("arxiv"):
            ref.arxiv = normalize_arxiv_id(known["arxiv"]) or known["arxiv"]
        if known.get("doi") and not ref.doi:
            ref.doi = normalize_doi(known["doi"]) or known["doi"]
        if known.get("isbn") and not ref.isbn:
            ref.isbn = known["isbn"]
        if known.get("issn") and "issn" not in ref.extra:
            ref.extra["issn"] = known["issn"]
        if known.get("citation key"):
            ref.citekey = known["citation key"]
        original = known.get("original-date") or known.get("original date")
        if original:
            parts, kept = zotero_date(original)
            ref.extra["origdate"] = kept or format_date(parts)
        for csl_name, bib_name in _CSL_VARIABLES.items():
            csl_value = known.get(csl_name, "")
            if csl_value and not ref.extra.get(bib_name):
                if bib_name == "publisher":
                    ref.publisher = ref.publisher or csl_value
                else:
                    ref.extra[bib_name] = csl_value
        for name, value in tex.items():
            if re.fullmatch(r"[a-z][a-z0-9_\-]*", name):
                ref.extra[name] = value.strip()
        notes.extend(rest)
    for note in item.get("notes") or []:
        text = html_to_text(note if isinstance(note, str) else str(note.get("note", "")))
        if text:
            notes.append(text)
    if notes:
        ref.notes = "\n\n".join(notes)
    key = item.get("citationKey") or item.get("citekey")
    if key:
        ref.citekey = str(key).strip()
    tags = [
        _text(t.get("tag") if isinstance(t, dict) else t) for t in item.get("tags") or []
    ]
    tags = [t for t in tags if t]
    if tags:
        ref.keywords = merge_keywords(tags)
        ref.tags = tags_from_keywords(ref.keywords)
    files: list[str] = []
    for attachment in item.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        path = attachment.get("localPath") or attachment.get("path")
        if not path or re.match(r"^[a-z]+://", str(path)):
            continue
        candidate = Path(str(path)).expanduser()
        if not candidate.is_absolute() and base_dir is not None:
            candidate = base_dir / candidate
        files.append(str(candidate))
    return ref, files, warnings
