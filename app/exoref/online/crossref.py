"""Crossref's REST API: a work by DOI (``/works/{doi}``) and the bibliographic search
(``/works?query.bibliographic=...``).

A Crossref work is close to CSL-JSON (Crossref's own content negotiation produces CSL from
it), so it is turned into a CSL item and read by :func:`exoref.formats.csljson.csl_to_reference`,
the same reader a CSL-JSON file goes through.  What differs: ``title`` and
``container-title`` are lists, the date may sit in ``published-print`` or
``published-online`` when ``issued`` is empty, and the abstract is JATS XML.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from exoref.domain.identifiers import normalize_doi
from exoref.formats.common import strip_markup
from exoref.formats.csljson import csl_to_reference
from exoref.online.errors import LookupMalformed, LookupNotFound
from exoref.online.record import LookupRecord, record_from_reference

if TYPE_CHECKING:
    from exoref.online.client import HttpClient

__all__ = ["CrossrefService", "crossref_work_to_record", "jats_to_text"]

SERVICE = "crossref"

#: Crossref work types as CSL types (what Crossref's own CSL output uses).
_CSL_TYPE = {
    "journal-article": "article-journal",
    "proceedings-article": "paper-conference",
    "book-chapter": "chapter",
    "book-part": "chapter",
    "book-section": "chapter",
    "reference-entry": "entry",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-set": "book",
    "book-series": "book",
    "dissertation": "thesis",
    "report": "report",
    "report-series": "report",
    "standard": "standard",
    "dataset": "dataset",
    "posted-content": "article",
    "peer-review": "review",
    "journal": "periodical",
    "component": "document",
    "other": "document",
}


class CrossrefService:
    """Works from Crossref, by DOI or by a bibliographic query."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def _params(self, **params: str) -> dict[str, str]:
        email = self.client.settings.contact_email
        if email:
            params["mailto"] = email
        return params

    def work(self, doi: str) -> LookupRecord:
        """The work registered for ``doi``; :class:`LookupNotFound` when Crossref has none."""
        base = self.client.settings.crossref_url.rstrip("/")
        answer = self.client.get(SERVICE, f"{base}/works/{quote(doi, safe='/:;()[]<>')}",
                                 params=self._params())
        if answer.status in (404, 410):
            raise LookupNotFound(f"Crossref has no record of DOI {doi}", service=SERVICE,
                                 identifier=doi)
        if answer.status != 200:
            raise answer.unexpected()
        message = _envelope(answer.json(), "work", answer.url)
        if not isinstance(message, dict):
            raise LookupMalformed(SERVICE, "the work is not a JSON object", url=answer.url)
        return crossref_work_to_record(message, url=answer.url)

    def search(self, query: str, *, rows: int = 5) -> list[LookupRecord]:
        """The best ``rows`` works for a bibliographic query (a title, with the first
        author's name and the year when known), in Crossref's order."""
        base = self.client.settings.crossref_url.rstrip("/")
        answer = self.client.get(SERVICE, f"{base}/works", params=self._params(**{
            "query.bibliographic": query, "rows": str(rows)}))
        if answer.status != 200:
            raise answer.unexpected()
        message = _envelope(answer.json(), "work-list", answer.url)
        items = message.get("items") if isinstance(message, dict) else None
        if not isinstance(items, list):
            raise LookupMalformed(SERVICE, "the search result has no list of items",
                                  url=answer.url)
        return [crossref_work_to_record(item, url=answer.url) for item in items
                if isinstance(item, dict)]


def _envelope(document: Any, message_type: str, url: str) -> Any:
    """The ``message`` of Crossref's ``{"status": "ok", "message-type": ..., "message": ...}``
    envelope, checked."""
    if not isinstance(document, dict):
        raise LookupMalformed(SERVICE, "the answer is not a JSON object", url=url)
    if document.get("status") != "ok":
        raise LookupMalformed(SERVICE, f"status is {document.get('status')!r}, not 'ok'",
                              url=url)
    if document.get("message-type") != message_type:
        raise LookupMalformed(
            SERVICE, f"message-type is {document.get('message-type')!r}, expected "
            f"{message_type!r}", url=url)
    if "message" not in document:
        raise LookupMalformed(SERVICE, "the answer has no 'message'", url=url)
    return document["message"]


def _first(value: Any) -> str:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    return value.strip() if isinstance(value, str) else ""


def _date(work: dict[str, Any]) -> dict[str, Any] | None:
    """The publication date: ``issued``, else print, else online publication."""
    for key in ("issued", "published", "published-print", "published-online", "created"):
        value = work.get(key)
        if isinstance(value, dict):
            parts = value.get("date-parts")
            if (isinstance(parts, list) and parts and isinstance(parts[0], list)
                    and parts[0] and isinstance(parts[0][0], int)):
                return {"date-parts": [[p for p in parts[0] if isinstance(p, int)]]}
    return None


def _name(author: dict[str, Any]) -> dict[str, str]:
    if author.get("family"):
        name = {"family": str(author["family"])}
        if author.get("given"):
            name["given"] = str(author["given"])
        if author.get("suffix"):
            name["suffix"] = str(author["suffix"])
        return name
    return {"literal": str(author.get("name") or author.get("given") or "")}


def crossref_work_to_record(work: dict[str, Any], *, url: str = "") -> LookupRecord:
    """A Crossref work (the ``message`` of ``/works/{doi}``, or a search item) as a record."""
    doi = normalize_doi(str(work.get("DOI") or ""))
    if not doi:
        raise LookupMalformed(SERVICE, "the work has no DOI", url=url)
    title = _first(work.get("title"))
    subtitle = _first(work.get("subtitle"))
    if subtitle and subtitle.casefold() not in title.casefold():
        title = f"{title}: {subtitle}" if title else subtitle
    authors = work.get("author") or []
    if not isinstance(authors, list):
        raise LookupMalformed(SERVICE, "'author' is not a list", url=url)
    item: dict[str, Any] = {
        "type": _CSL_TYPE.get(str(work.get("type") or ""), "document"),
        "title": title,
        "author": [_name(a) for a in authors if isinstance(a, dict)],
        "container-title": _first(work.get("container-title")),
        "volume": work.get("volume") or "",
        "issue": work.get("issue") or "",
        "page": work.get("page") or work.get("article-number") or "",
        "publisher": work.get("publisher") or "",
        "DOI": doi,
        "URL": work.get("URL") or "",
        "ISSN": _first(work.get("ISSN")),
        "language": work.get("language") or "",
    }
    issued = _date(work)
    if issued is not None:
        item["issued"] = issued
    ref = csl_to_reference({k: v for k, v in item.items() if v})
    ref.title = html.unescape(ref.title)
    ref.journal = html.unescape(ref.journal)
    abstract = work.get("abstract")
    if isinstance(abstract, str):
        ref.abstract = jats_to_text(abstract)
    return record_from_reference(ref, SERVICE)


_JATS_NS = re.compile(r"<(/?)jats:")
_SECTION_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>\s*", re.S)
_PARAGRAPH_END = re.compile(r"</p>|</sec>|<break\s*/>", re.I)
_ITALIC_BOLD = {"italic": "i", "bold": "b", "sc": "sc", "underline": "u"}
_ANY_TAG = re.compile(r"<[^<>]+>")


def jats_to_text(jats: str) -> str:
    """A JATS abstract (as Crossref delivers it: ``<jats:p>``, ``<jats:sec>`` with
    ``<jats:title>``, ``<jats:italic>``, ``<jats:sup>``) as plain text.

    Paragraphs are separated by blank lines; a section title becomes a "Title: " prefix of
    its first paragraph (as PubMed shows labelled abstracts); a leading "Abstract" heading
    is dropped; super- and subscripts become Unicode where they have a form.
    """
    text = _JATS_NS.sub(r"<\1", jats)
    for jats_tag, html_tag in _ITALIC_BOLD.items():
        text = re.sub(rf"<(/?){jats_tag}(\s[^<>]*)?>", rf"<\1{html_tag}>", text)

    def heading(match: re.Match[str]) -> str:
        title = match.group(1)
        if re.fullmatch(r"(?i)abstract|summary", _ANY_TAG.sub("", title).strip()):
            return ""
        return f"\n\n{title}: "

    text = _SECTION_TITLE.sub(heading, text)
    text = _PARAGRAPH_END.sub("\n\n", text)
    text = re.sub(r"<(?!/?(?:i|b|sc|u|sup|sub)\b)[^<>]+>", " ", text)
    text = html.unescape(strip_markup(text))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p.replace(" :", ":") if p.endswith(":") else p for p in paragraphs if p]
    # A section title left alone on its paragraph belongs to the next one.
    merged: list[str] = []
    for paragraph in paragraphs:
        if merged and merged[-1].endswith(":") and len(merged[-1]) < 80:
            merged[-1] = f"{merged[-1]} {paragraph}"
        else:
            merged.append(paragraph)
    return "\n\n".join(merged)
