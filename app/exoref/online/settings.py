"""The settings of the online lookups: where the services are and how politely to use them.

The addresses are settings (not constants) so that tests point them at a local server and a
site with a mirror or a proxy can change them.  The rates are the services' published limits:
Crossref's "polite pool" (requests with a ``mailto``) allows about 10 requests a second;
NCBI allows 3 a second without an API key and 10 with one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OnlineSettings"]

DAY = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class OnlineSettings:
    """Where the lookup services are and how ExoRef talks to them.

    ``contact_email`` goes into the User-Agent, Crossref's ``mailto=`` and E-utilities'
    ``email=``; both services ask for it and treat anonymous clients less well.
    ``ncbi_api_key`` raises NCBI's limit from 3 to 10 requests a second.

    Timeouts are in seconds.  ``max_total_time`` bounds one request with all its retries and
    waits: a lookup never hangs longer than that per request it makes.
    """

    crossref_url: str = "https://api.crossref.org"
    doi_url: str = "https://doi.org"
    eutils_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    #: NCBI moved the id converter here in 2024; the old
    #: https://www.ncbi.nlm.nih.gov/pmc/utils/idconv/v1.0 takes the same query.
    idconv_url: str = "https://pmc.ncbi.nlm.nih.gov/tools/idconv/api/v1/articles"
    contact_email: str = ""
    ncbi_api_key: str = ""
    #: The ``tool=`` name NCBI asks for.
    tool_name: str = "exoref"

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    #: Attempts after the first one, for 429/5xx answers and connection failures.
    max_retries: int = 4
    #: The first backoff wait; it doubles with every retry (with random jitter).
    backoff_base: float = 0.5
    #: No single backoff wait is longer than this (a Retry-After may be, up to the budget).
    backoff_max: float = 10.0
    #: One request, its retries and all waits together never take longer than this.
    max_total_time: float = 60.0
    #: One lookup (all the requests it makes) never takes longer than this.
    max_lookup_time: float = 120.0

    #: Requests per second to each service (a sliding one-second window).
    crossref_rate: float = 10.0
    doi_rate: float = 10.0
    ncbi_rate: float = 3.0
    ncbi_rate_with_key: float = 10.0

    #: How long answers are kept in the on-disk cache.  Unknown ids (404s, empty results)
    #: are kept shorter: a DOI registered yesterday may resolve today.
    cache_ttl: float = 30 * DAY
    cache_ttl_not_found: float = 1 * DAY

    #: A title-only search result is accepted when its title is at least this similar
    #: (rapidfuzz ratio of normalised titles, 0-100) and the first author's family name
    #: and the year agree where they are known...
    title_threshold: float = 90.0
    #: ...or at least this similar when neither the first author nor the year is known.
    title_threshold_alone: float = 95.0
    #: Crossref search results to compare.
    search_rows: int = 5
    #: Look the PMID of a DOI up in PubMed (one more NCBI request) to get MeSH headings and
    #: publication types for papers found by DOI or title.
    find_pmid_for_doi: bool = True

    def effective_ncbi_rate(self) -> float:
        """NCBI's limit for this configuration: higher with an API key."""
        return self.ncbi_rate_with_key if self.ncbi_api_key else self.ncbi_rate
