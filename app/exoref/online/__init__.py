"""Online lookups: complete records for DOIs, PMIDs, PMCIDs, arXiv ids and titles from
Crossref, doi.org, PubMed (NCBI E-utilities) and the PMC id converter.

This package only talks to the services and returns :class:`LookupRecord` values; it never
touches the library.  Start with :class:`Resolver`::

    with Resolver(OnlineSettings(contact_email="me@example.org"), cache_dir) as resolver:
        record = resolver.lookup(doi="10.3390/nano9020261")
"""

from __future__ import annotations

from exoref.online.errors import (
    LookupMalformed,
    LookupNotFound,
    LookupUnavailable,
    OnlineLookupError,
)
from exoref.online.record import LookupRecord, merge_records
from exoref.online.resolver import Resolver, arxiv_doi
from exoref.online.settings import OnlineSettings

__all__ = [
    "LookupMalformed",
    "LookupNotFound",
    "LookupRecord",
    "LookupUnavailable",
    "OnlineLookupError",
    "OnlineSettings",
    "Resolver",
    "arxiv_doi",
    "merge_records",
]
