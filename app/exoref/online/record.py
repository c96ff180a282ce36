"""What a lookup returns: the fields found and which service gave each.

A :class:`LookupRecord` is a plain, immutable value (safe to hand from a worker thread to
the GUI thread).  It says nothing about the library: the lookup queue decides which fields
to store and how to merge them with what the user already has.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exoref.domain.models import Author, Reference

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["RECORD_FIELDS", "LookupRecord", "merge_records"]

#: The fields a service can fill, in display order (``sources`` is keyed by these names).
RECORD_FIELDS: tuple[str, ...] = (
    "entry_type",
    "title",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "publisher",
    "issn",
    "doi",
    "pmid",
    "pmcid",
    "arxiv",
    "url",
    "language",
    "abstract",
    "keywords",
    "mesh",
    "mesh_major",
    "publication_types",
)


@dataclass(frozen=True, slots=True)
class LookupRecord:
    """A paper as the online services describe it.

    ``mesh`` holds the MeSH descriptor names PubMed assigned (e.g. "Exosomes",
    "Mesenchymal Stem Cells"); ``mesh_major`` the subset that are major topics (the
    descriptor or one of its qualifiers is marked ``MajorTopicYN="Y"``).
    ``publication_types`` are PubMed's ("Journal Article", "Review", "Clinical Trial", ...).
    ``sources`` maps each filled field to the service it came from ("crossref", "doi.org",
    "pubmed", "pmc").  ``unavailable`` names services that could not be reached during the
    lookup, so the caller can try again later for the fields they would have given.
    """

    title: str = ""
    authors: tuple[Author, ...] = ()
    year: int | None = None
    entry_type: str = ""
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    publisher: str = ""
    issn: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    arxiv: str = ""
    url: str = ""
    language: str = ""
    abstract: str = ""
    keywords: tuple[str, ...] = ()
    mesh: tuple[str, ...] = ()
    mesh_major: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()

    def filled(self) -> tuple[str, ...]:
        """The names of the fields that hold a value."""
        return tuple(name for name in RECORD_FIELDS if _has_value(getattr(self, name)))

    def with_source(self, service: str) -> LookupRecord:
        """This record with every filled field attributed to ``service``."""
        return dataclasses.replace(self, sources=dict.fromkeys(self.filled(), service))

    def to_reference(self) -> Reference:
        """The bibliographic fields as a domain :class:`Reference` (MeSH headings and
        publication types have no place there; the caller keeps them from the record)."""
        ref = Reference(
            title=self.title,
            authors=list(self.authors),
            year=self.year,
            entry_type=self.entry_type or "article",
            journal=self.journal,
            volume=self.volume,
            issue=self.issue,
            pages=self.pages,
            publisher=self.publisher,
            doi=self.doi,
            pmid=self.pmid,
            pmcid=self.pmcid,
            arxiv=self.arxiv,
            url=self.url,
            abstract=self.abstract,
            keywords=list(self.keywords),
            language=self.language,
        )
        if self.issn:
            ref.extra["issn"] = self.issn
        return ref


def _has_value(value: object) -> bool:
    return value is not None and value != "" and value != ()


#: Fields for which PubMed's value wins over Crossref's when both have one: NLM indexes
#: them (MeSH, publication types) or keeps the abstract as plain text with its sections.
_PUBMED_FIRST = frozenset({"mesh", "mesh_major", "publication_types", "abstract", "language"})


def merge_records(records: Iterable[LookupRecord]) -> LookupRecord:
    """One record from several services' records of the same paper.

    The records are given in order of preference (Crossref or doi.org before PubMed before
    the id converter): for each field the first record that has a value gives it, except for
    the fields NLM curates (:data:`_PUBMED_FIRST`), where PubMed's value comes first.
    Keywords are united.  ``sources`` says where each field came from; ``unavailable`` is the
    union of all records' unavailable services.
    """
    items = list(records)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    unavailable: list[str] = []
    for record in items:
        for service in record.unavailable:
            if service not in unavailable:
                unavailable.append(service)
    for name in RECORD_FIELDS:
        if name == "keywords":
            continue
        ordered = items
        if name in _PUBMED_FIRST:
            ordered = sorted(items, key=lambda r: r.sources.get(name) != "pubmed")
        for record in ordered:
            value = getattr(record, name)
            if _has_value(value):
                values[name] = value
                sources[name] = record.sources.get(name, "")
                break
    keywords: list[str] = []
    seen: set[str] = set()
    keyword_source = ""
    for record in items:
        for word in record.keywords:
            if word.casefold() not in seen:
                seen.add(word.casefold())
                keywords.append(word)
                keyword_source = keyword_source or record.sources.get("keywords", "")
    if keywords:
        values["keywords"] = tuple(keywords)
        sources["keywords"] = keyword_source
    return LookupRecord(**values, sources=sources,  # type: ignore[arg-type]
                        unavailable=tuple(unavailable))


def record_from_reference(ref: Reference, service: str, *, mesh: tuple[str, ...] = (),
                          mesh_major: tuple[str, ...] = (),
                          publication_types: tuple[str, ...] = ()) -> LookupRecord:
    """A record of the fields in ``ref`` (as a format reader filled it), all from
    ``service``."""
    pages = ref.pages
    start, dash, end = pages.partition("-")
    if dash and start == end:  # "84-84": a one-page article or an article number
        pages = start
    record = LookupRecord(
        title=ref.title,
        authors=tuple(ref.authors),
        year=ref.year,
        entry_type=ref.entry_type,
        journal=ref.journal or ref.booktitle,
        volume=ref.volume,
        issue=ref.issue,
        pages=pages,
        publisher=ref.publisher,
        issn=ref.extra.get("issn", ""),
        doi=ref.doi,
        pmid=ref.pmid,
        pmcid=ref.pmcid,
        arxiv=ref.arxiv,
        url=ref.url,
        language=ref.language,
        abstract=ref.abstract,
        keywords=tuple(ref.keywords),
        mesh=mesh,
        mesh_major=mesh_major,
        publication_types=publication_types,
    )
    return record.with_source(service)
