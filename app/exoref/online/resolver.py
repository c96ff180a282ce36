"""From identifiers (or a title) to one complete record, the way Zotero's "Add item by
identifier" does it, plus what PubMed knows.

:meth:`Resolver.lookup` asks the services in this order and merges what they say:

1. a PMCID goes to the PMC id converter for its PMID and DOI;
2. a DOI goes to Crossref (``/works/{doi}``), falling back to doi.org content negotiation
   (CSL-JSON) for DOIs Crossref does not hold or when Crossref fails; an arXiv id becomes
   its DataCite DOI ``10.48550/arXiv.<id>`` and goes to doi.org directly;
3. a title alone goes to Crossref's bibliographic search, and the best result is taken only
   when it passes :mod:`exoref.online.matching`;
4. a DOI without a PMID is looked up in PubMed (esearch), so papers found by DOI or title get
   MeSH headings and publication types too (``OnlineSettings.find_pmid_for_doi``);
5. a PMID goes to PubMed efetch; when it brings a DOI the caller did not have, Crossref is
   asked as in 2.

Crossref's (or doi.org's) record comes first in the merge (journal, volume, pages, the
authors' full names); PubMed's wins for MeSH headings, publication types and the abstract.

Errors: when nothing at all could be learned, the lookup raises :class:`LookupUnavailable`
if a service that might have known was unreachable (the queue tries again later), else
:class:`LookupMalformed` or :class:`LookupNotFound`.  When something was learned but a
service was unreachable, the record lists that service in ``unavailable``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, NoReturn, TypeVar

from exoref.domain.identifiers import (
    doi_key,
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.online.client import HttpClient
from exoref.online.crossref import CrossrefService
from exoref.online.doiorg import DoiOrgService
from exoref.online.errors import (
    LookupMalformed,
    LookupNotFound,
    LookupUnavailable,
    OnlineLookupError,
)
from exoref.online.matching import best_match
from exoref.online.pmc import PmcIdService
from exoref.online.pubmed import PubMedService
from exoref.online.record import LookupRecord, merge_records

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx

    from exoref.online.settings import OnlineSettings

__all__ = ["Resolver", "arxiv_doi"]

log = logging.getLogger("exoref.online")

T = TypeVar("T")


def arxiv_doi(arxiv_id: str) -> str:
    """The DataCite DOI arXiv registers for a preprint (without its version):
    ``"2101.00001v2"`` -> ``"10.48550/arXiv.2101.00001"``."""
    return "10.48550/arXiv." + re.sub(r"v\d+$", "", arxiv_id)


class Resolver:
    """Looks papers up online.  One per application (or per worker): it holds one HTTP
    client with keep-alive connections, the rate limiters and the answers cache, all safe
    to use from several threads.  ``cache_dir``: where the cache file lives (``None``: no
    cache)."""

    def __init__(self, settings: OnlineSettings, cache_dir: Path | None = None, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.client = HttpClient(settings, cache_dir, transport=transport)
        self.crossref = CrossrefService(self.client)
        self.doi_org = DoiOrgService(self.client)
        self.pubmed = PubMedService(self.client)
        self.pmc = PmcIdService(self.client)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------

    def lookup(self, *, doi: str | None = None, pmid: str | None = None,
               pmcid: str | None = None, arxiv: str | None = None, title: str | None = None,
               first_author: str | None = None, year: int | None = None) -> LookupRecord:
        """The complete record of a paper given any of its identifiers, or its title
        (with the first author's family name and the year when known)."""
        if not any((doi, pmid, pmcid, arxiv, title)):
            raise ValueError("lookup needs an identifier or a title")
        doi = _valid(doi, normalize_doi, "DOI", "crossref")
        pmid = _valid(pmid, normalize_pmid, "PMID", "pubmed")
        pmcid = _valid(pmcid, normalize_pmcid, "PMCID", "pmc")
        arxiv = _valid(arxiv, normalize_arxiv_id, "arXiv id", "doi.org")
        with self.client.budget(self.settings.max_lookup_time):
            return self._lookup(doi, pmid, pmcid, arxiv, title, first_author, year)

    def _lookup(self, doi: str | None, pmid: str | None, pmcid: str | None,
                arxiv: str | None, title: str | None, first_author: str | None,
                year: int | None) -> LookupRecord:
        run = _Run()
        if pmcid and not (pmid and doi):
            converted = run.attempt("pmc", lambda: self.pmc.convert(pmcid))
            if converted is not None:
                pmid = pmid or converted.pmid or None
                doi = doi or converted.doi or None
                run.ids.append(converted)

        main: LookupRecord | None = None
        if doi:
            known_doi = doi
            main = run.attempt("crossref", lambda: self._by_doi(known_doi))
        elif arxiv:
            main = run.attempt("doi.org", lambda: self.doi_org.csl(arxiv_doi(arxiv)))
        elif title and not pmid:
            main = run.attempt("crossref", lambda: self._by_title(title, first_author, year))
            if main is not None:
                doi = main.doi or None

        if not pmid and doi and self.settings.find_pmid_for_doi:
            found = run.attempt("pubmed", lambda: self.pubmed.pmid_for_doi(doi))
            pmid = found or None

        pubmed: LookupRecord | None = None
        if pmid:
            pubmed = run.attempt("pubmed", lambda: self.pubmed.fetch(pmid))
            if pubmed is not None and main is None and pubmed.doi and not doi:
                found_doi = pubmed.doi
                main = run.attempt("crossref", lambda: self._by_doi(found_doi))

        if (main is not None and pubmed is not None and main.doi and pubmed.doi
                and doi_key(main.doi) != doi_key(pubmed.doi)):
            # The DOI and the PMID given belong to different papers: keep the DOI's.
            log.warning("PMID %s is %s in PubMed, not %s; its record is left out",
                        pubmed.pmid, pubmed.doi, main.doi)
            pubmed = None
        parts = [r for r in (main, pubmed) if r is not None] + run.ids
        if not any(r.title for r in parts):
            run.raise_failure()
        record = merge_records(parts)
        record = dataclasses.replace(record, unavailable=tuple(run.unavailable))
        if arxiv and not record.arxiv:
            record = dataclasses.replace(record, arxiv=arxiv,
                                         sources={**record.sources, "arxiv": "doi.org"})
        return record

    def _by_doi(self, doi: str) -> LookupRecord:
        """Crossref's record of ``doi``; doi.org's CSL-JSON when Crossref has none or
        fails."""
        if doi.lower().startswith("10.48550/"):  # arXiv's DataCite DOIs: not in Crossref
            return self.doi_org.csl(doi)
        try:
            return self.crossref.work(doi)
        except OnlineLookupError as crossref_error:
            log.info("Crossref failed for %s (%s); asking doi.org", doi, crossref_error)
            try:
                return self.doi_org.csl(doi)
            except LookupNotFound:
                # Registered nowhere, unless Crossref could not be asked.
                if isinstance(crossref_error, LookupUnavailable):
                    raise crossref_error from None
                raise
            except LookupMalformed:
                if isinstance(crossref_error, LookupNotFound):
                    raise
                raise crossref_error from None

    def _by_title(self, title: str, first_author: str | None, year: int | None)\
            -> LookupRecord:
        """The Crossref work matching ``title`` (and author and year), or
        :class:`LookupNotFound`."""
        query = " ".join(str(p) for p in (title, first_author, year) if p)
        candidates = self.crossref.search(query, rows=self.settings.search_rows)
        best, judged = best_match(
            candidates, title, first_author=first_author, year=year,
            threshold=self.settings.title_threshold,
            threshold_alone=self.settings.title_threshold_alone)
        if best is None:
            closest = (f"; the closest, {judged[0].record.title!r}, is "
                       f"{judged[0].similarity:.0f}% similar" if judged else "")
            raise LookupNotFound(f"Crossref has no work matching the title {title!r}{closest}",
                                 service="crossref", identifier=title,
                                 hint="add the DOI or PMID by hand, or correct the title")
        return best.record


def _valid(value: str | None, normalize: Callable[[str], str | None], label: str,
           service: str) -> str | None:
    """``value`` normalised; ``None`` when not given; :class:`LookupNotFound` when it is
    not a valid identifier (no service could find it)."""
    if value is None or not value.strip():
        return None
    normal = normalize(value)
    if normal is None:
        raise LookupNotFound(f"{value!r} is not a valid {label}", service=service,
                             identifier=value)
    return normal


class _Run:
    """What one lookup learned and what went wrong on the way."""

    def __init__(self) -> None:
        self.ids: list[LookupRecord] = []
        self.unavailable: list[str] = []
        self.failures: list[OnlineLookupError] = []

    def attempt(self, service: str, call: Callable[[], T]) -> T | None:
        """``call()``, or ``None`` when it fails (the failure is kept) or when ``service``
        was already found unreachable in this lookup (asking again would only wait)."""
        if service in self.unavailable:
            return None
        try:
            return call()
        except LookupUnavailable as exc:
            if exc.service not in self.unavailable:
                self.unavailable.append(exc.service)
            self.failures.append(exc)
        except OnlineLookupError as exc:
            self.failures.append(exc)
        return None

    def raise_failure(self) -> NoReturn:
        """Raise the error that explains why nothing was found: unreachable services first
        (the lookup may succeed later), then unreadable answers, then "not found"."""
        for kind in (LookupUnavailable, LookupMalformed, LookupNotFound):
            for failure in self.failures:
                if isinstance(failure, kind):
                    raise failure
        raise LookupNotFound("no service knows this paper", service="crossref")
