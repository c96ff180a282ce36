"""PubMed through NCBI's E-utilities: ``efetch`` (the full record as XML), ``esummary``
(the basic fields as JSON) and ``esearch`` (a DOI's PMID).

efetch is what ExoRef uses for a PMID: only its XML carries the abstract, the MeSH headings
(with their major-topic marks) and the publication types ("Review", "Clinical Trial",
"Randomized Controlled Trial", ...) that the tagger uses to tell reviews from trials.

Every request names the tool and the contact address (``tool=``, ``email=``), as NCBI asks,
and the API key when there is one.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from exoref.domain.identifiers import normalize_doi, normalize_pmcid, normalize_pmid
from exoref.domain.models import Author
from exoref.formats.common import strip_markup
from exoref.online.errors import LookupMalformed, LookupNotFound
from exoref.online.record import LookupRecord

if TYPE_CHECKING:
    from exoref.online.client import HttpClient

__all__ = ["PubMedService", "expand_pages", "parse_efetch", "parse_esummary"]

SERVICE = "pubmed"

#: MEDLINE's three-letter language codes as the two-letter codes ExoRef stores.
_LANGUAGES = {
    "eng": "en", "fre": "fr", "ger": "de", "spa": "es", "ita": "it", "por": "pt",
    "rus": "ru", "chi": "zh", "jpn": "ja", "kor": "ko", "dut": "nl", "pol": "pl",
    "tur": "tr", "swe": "sv", "dan": "da", "nor": "no", "fin": "fi", "cze": "cs",
    "hun": "hu", "gre": "el", "heb": "he", "ara": "ar", "per": "fa",
}


class PubMedService:
    """Records from PubMed by PMID, and PMIDs by DOI."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def _params(self, **params: str) -> dict[str, str]:
        settings = self.client.settings
        params["tool"] = settings.tool_name
        if settings.contact_email:
            params["email"] = settings.contact_email
        if settings.ncbi_api_key:
            params["api_key"] = settings.ncbi_api_key
        return params

    def _url(self, utility: str) -> str:
        return f"{self.client.settings.eutils_url.rstrip('/')}/{utility}"

    def fetch(self, pmid: str) -> LookupRecord:
        """The full record of ``pmid`` (efetch XML): authors, journal, abstract, MeSH
        headings, publication types, the DOI and the PMCID."""
        answer = self.client.get(
            SERVICE, self._url("efetch.fcgi"),
            params=self._params(db="pubmed", id=pmid, retmode="xml"), accept="text/xml")
        if answer.status in (400, 404):
            raise LookupNotFound(f"PubMed has no record with PMID {pmid}", service=SERVICE,
                                 identifier=pmid)
        if answer.status != 200:
            raise answer.unexpected()
        return parse_efetch(answer.body, pmid, url=answer.url)

    def summary(self, pmid: str) -> LookupRecord:
        """The basic fields of ``pmid`` from esummary (JSON): no abstract and no MeSH."""
        answer = self.client.get(
            SERVICE, self._url("esummary.fcgi"),
            params=self._params(db="pubmed", id=pmid, retmode="json"))
        if answer.status in (400, 404):
            raise LookupNotFound(f"PubMed has no record with PMID {pmid}", service=SERVICE,
                                 identifier=pmid)
        if answer.status != 200:
            raise answer.unexpected()
        return parse_esummary(answer.json(), pmid, url=answer.url)

    def pmid_for_doi(self, doi: str) -> str | None:
        """The PMID of the paper with ``doi`` (esearch ``<doi>[doi]``), ``None`` if PubMed
        has none or more than one."""
        answer = self.client.get(
            SERVICE, self._url("esearch.fcgi"),
            params=self._params(db="pubmed", term=f"{doi}[doi]", retmode="json"))
        if answer.status != 200:
            raise answer.unexpected()
        document = answer.json()
        result = document.get("esearchresult") if isinstance(document, dict) else None
        if not isinstance(result, dict):
            raise LookupMalformed(SERVICE, "the esearch answer has no 'esearchresult'",
                                  url=answer.url)
        ids = result.get("idlist")
        if not isinstance(ids, list):
            if "ERROR" in result:
                return None
            raise LookupMalformed(SERVICE, "the esearch answer has no 'idlist'",
                                  url=answer.url)
        pmids = [p for p in (normalize_pmid(str(i)) for i in ids) if p]
        return pmids[0] if len(pmids) == 1 else None


# --------------------------------------------------------------------------------------------
# efetch XML
# --------------------------------------------------------------------------------------------


def _text(element: ET.Element | None) -> str:
    """All text inside ``element`` (inline markup such as <i> and <sup> flattened)."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _rich_text(element: ET.Element | None) -> str:
    """The text of a title or abstract section, whose inline markup (``<i>``, ``<b>``,
    ``<sup>``, ``<sub>``, ``<u>``) is kept as Unicode where it has a form (CD3⁺, H₂O)."""
    if element is None:
        return ""
    inner = (element.text or "") + "".join(
        ET.tostring(child, encoding="unicode") for child in element)
    return " ".join(html.unescape(re.sub(r"<[^<>]+>", "", strip_markup(inner))).split())


def expand_pages(pages: str) -> str:
    """MEDLINE's abbreviated page ranges written out: ``"747-54"`` -> ``"747-754"``."""
    match = re.fullmatch(r"\s*([A-Za-z]*)(\d+)\s*-\s*([A-Za-z]*)(\d+)\s*", pages)
    if not match:
        return pages.strip()
    prefix, start, end_prefix, end = match.groups()
    if len(end) < len(start) and not end_prefix:
        end = start[: len(start) - len(end)] + end
    return f"{prefix}{start}-{end_prefix or prefix}{end}"


def _title(text: str) -> str:
    """ArticleTitle without the full stop MEDLINE ends every title with."""
    text = text.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    return text


def _year(pub_date: ET.Element | None) -> int | None:
    if pub_date is None:
        return None
    for tag in ("Year", "MedlineDate"):
        match = re.search(r"\b(1[5-9]\d\d|2\d\d\d)\b", _text(pub_date.find(tag)))
        if match:
            return int(match.group(1))
    return None


def _authors(article: ET.Element) -> tuple[Author, ...]:
    authors: list[Author] = []
    for node in article.findall("AuthorList/Author"):
        if node.get("ValidYN", "Y") != "Y":
            continue
        collective = _text(node.find("CollectiveName"))
        family = _text(node.find("LastName"))
        if not family:
            if collective:
                authors.append(Author(collective, ""))
            continue
        given = _text(node.find("ForeName")) or _text(node.find("Initials"))
        suffix = _text(node.find("Suffix"))
        if suffix:
            given = f"{given}, {suffix}" if given else suffix
        authors.append(Author(family, given))
    return tuple(authors)


def _abstract(article: ET.Element) -> str:
    parts: list[str] = []
    for node in article.findall("Abstract/AbstractText"):
        text = _rich_text(node)
        if not text:
            continue
        label = (node.get("Label") or "").strip()
        parts.append(f"{label}: {text}" if label else text)
    return "\n\n".join(parts)


def _mesh(citation: ET.Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names: list[str] = []
    major: list[str] = []
    for heading in citation.findall("MeshHeadingList/MeshHeading"):
        descriptor = heading.find("DescriptorName")
        name = _text(descriptor)
        if descriptor is None or not name:
            continue
        names.append(name)
        marks = [descriptor.get("MajorTopicYN")] + [
            q.get("MajorTopicYN") for q in heading.findall("QualifierName")]
        if "Y" in marks:
            major.append(name)
    return tuple(names), tuple(major)


def parse_efetch(body: bytes, pmid: str, *, url: str = "") -> LookupRecord:
    """The record of ``pmid`` in an efetch ``PubmedArticleSet`` document."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise LookupMalformed(SERVICE, f"the efetch answer is not well-formed XML ({exc})",
                              url=url) from exc
    if root.tag == "eFetchResult":
        error = _text(root.find("ERROR")) or "no record"
        raise LookupNotFound(f"PubMed has no record with PMID {pmid} ({error})",
                             service=SERVICE, identifier=pmid)
    if root.tag != "PubmedArticleSet":
        raise LookupMalformed(SERVICE, f"expected a PubmedArticleSet, got <{root.tag}>",
                              url=url)
    for entry in root.findall("PubmedArticle"):
        citation = entry.find("MedlineCitation")
        if citation is not None and _text(citation.find("PMID")) == pmid:
            return _article_record(entry, citation, pmid, url)
    if root.find("PubmedBookArticle") is not None:
        raise LookupNotFound(f"PMID {pmid} is a book in PubMed, which ExoRef does not read",
                             service=SERVICE, identifier=pmid)
    raise LookupNotFound(f"PubMed has no record with PMID {pmid}", service=SERVICE,
                         identifier=pmid)


def _article_record(entry: ET.Element, citation: ET.Element, pmid: str, url: str)\
        -> LookupRecord:
    article = citation.find("Article")
    if article is None:
        raise LookupMalformed(SERVICE, f"PMID {pmid} has no <Article>", url=url)
    journal = article.find("Journal")
    issue = journal.find("JournalIssue") if journal is not None else None
    ids = {node.get("IdType", ""): _text(node)
           for node in entry.findall("PubmedData/ArticleIdList/ArticleId")}
    doi = normalize_doi(ids.get("doi", "")) or ""
    if not doi:
        for node in article.findall("ELocationID"):
            if node.get("EIdType") == "doi":
                doi = normalize_doi(_text(node)) or ""
    pages = expand_pages(_text(article.find("Pagination/MedlinePgn")))
    if not pages:
        pages = _text(article.find("Pagination/StartPage"))
    mesh, mesh_major = _mesh(citation)
    language = _text(article.find("Language"))
    record = LookupRecord(
        title=_title(_rich_text(article.find("ArticleTitle"))),
        authors=_authors(article),
        year=_year(issue.find("PubDate") if issue is not None else None),
        entry_type="article",
        journal=_text(journal.find("Title")) if journal is not None else "",
        volume=_text(issue.find("Volume")) if issue is not None else "",
        issue=_text(issue.find("Issue")) if issue is not None else "",
        pages=pages,
        issn=_text(journal.find("ISSN")) if journal is not None else "",
        doi=doi,
        pmid=pmid,
        pmcid=normalize_pmcid(ids.get("pmc", "")) or "",
        language=_LANGUAGES.get(language, language),
        abstract=_abstract(article),
        keywords=tuple(k for k in (_text(n) for n in citation.findall("KeywordList/Keyword"))
                       if k),
        mesh=mesh,
        mesh_major=mesh_major,
        publication_types=tuple(
            t for t in (_text(n) for n in article.findall("PublicationTypeList/PublicationType"))
            if t),
    )
    return record.with_source(SERVICE)


# --------------------------------------------------------------------------------------------
# esummary JSON
# --------------------------------------------------------------------------------------------


def _summary_author(name: str) -> Author:
    """``"Li JJ"`` -> Author("Li", "JJ"): esummary gives family names and initials."""
    family, _, initials = name.strip().rpartition(" ")
    if not family:
        return Author(initials, "")
    return Author(family, initials)


def parse_esummary(document: Any, pmid: str, *, url: str = "") -> LookupRecord:
    """The record of ``pmid`` in an esummary JSON answer (``{"header", "result": {"uids",
    "<pmid>": {...}}}``)."""
    result = document.get("result") if isinstance(document, dict) else None
    if not isinstance(result, dict):
        raise LookupMalformed(SERVICE, "the esummary answer has no 'result'", url=url)
    summary = result.get(pmid)
    uids = result.get("uids")
    if summary is None and isinstance(uids, list) and pmid not in uids:
        raise LookupNotFound(f"PubMed has no record with PMID {pmid}", service=SERVICE,
                             identifier=pmid)
    if not isinstance(summary, dict):
        raise LookupMalformed(SERVICE, f"the esummary answer has no summary of {pmid}",
                              url=url)
    if summary.get("error"):
        raise LookupNotFound(f"PubMed has no record with PMID {pmid} ({summary['error']})",
                             service=SERVICE, identifier=pmid)
    ids = {str(i.get("idtype")): str(i.get("value", ""))
           for i in summary.get("articleids") or [] if isinstance(i, dict)}
    year_match = re.match(r"\s*(\d{4})", str(summary.get("pubdate") or ""))
    languages = summary.get("lang") or []
    language = str(languages[0]) if isinstance(languages, list) and languages else ""
    record = LookupRecord(
        title=_title(str(summary.get("title") or "")),
        authors=tuple(_summary_author(str(a.get("name", "")))
                      for a in summary.get("authors") or []
                      if isinstance(a, dict) and a.get("authtype", "Author") == "Author"
                      and a.get("name")),
        year=int(year_match.group(1)) if year_match else None,
        entry_type="article",
        journal=str(summary.get("fulljournalname") or summary.get("source") or ""),
        volume=str(summary.get("volume") or ""),
        issue=str(summary.get("issue") or ""),
        pages=expand_pages(str(summary.get("pages") or "")),
        issn=str(summary.get("issn") or summary.get("essn") or ""),
        doi=normalize_doi(ids.get("doi", "")) or "",
        pmid=pmid,
        pmcid=normalize_pmcid(ids.get("pmc", "")) or "",
        language=_LANGUAGES.get(language, language),
        publication_types=tuple(str(t) for t in summary.get("pubtype") or []),
    )
    return record.with_source(SERVICE)
