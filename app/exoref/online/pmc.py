"""NCBI's PMC id converter: a PMCID's PMID and DOI (and the other way round).

``GET {idconv_url}/?ids=PMC6409698&format=json`` answers ``{"status": "ok", "records":
[{"pmcid": ..., "pmid": ..., "doi": ...}]}``; an id it does not know comes back as a record
with ``"status": "error"`` and an ``errmsg``.  The converter only knows papers in PubMed
Central, so it is asked about PMCIDs; DOIs go to PubMed's esearch instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exoref.domain.identifiers import normalize_doi, normalize_pmcid, normalize_pmid
from exoref.online.errors import LookupMalformed, LookupNotFound
from exoref.online.record import LookupRecord

if TYPE_CHECKING:
    from exoref.online.client import HttpClient

__all__ = ["PmcIdService"]

SERVICE = "pmc"


class PmcIdService:
    """Identifier conversion with NCBI's PMC id converter."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def convert(self, identifier: str) -> LookupRecord:
        """The PMCID, PMID and DOI the converter has for ``identifier`` (a PMCID, a PMID
        or a DOI) as a record attributed to "pmc"."""
        settings = self.client.settings
        params = {"ids": identifier, "format": "json", "tool": settings.tool_name}
        if settings.contact_email:
            params["email"] = settings.contact_email
        if settings.ncbi_api_key:
            params["api_key"] = settings.ncbi_api_key
        answer = self.client.get(SERVICE, settings.idconv_url.rstrip("/") + "/", params=params)
        if answer.status in (400, 404):
            raise LookupNotFound(f"PubMed Central does not know {identifier}", service=SERVICE,
                                 identifier=identifier)
        if answer.status != 200:
            raise answer.unexpected()
        document = answer.json()
        if not isinstance(document, dict):
            raise LookupMalformed(SERVICE, "the answer is not a JSON object", url=answer.url)
        if document.get("status") == "error":
            reason = document.get("message") or document.get("errmsg") or "error"
            raise LookupNotFound(f"PubMed Central does not know {identifier} ({reason})",
                                 service=SERVICE, identifier=identifier)
        records = document.get("records")
        if document.get("status") != "ok" or not isinstance(records, list):
            raise LookupMalformed(SERVICE, "expected status 'ok' and a list of records",
                                  url=answer.url)
        if not records or not isinstance(records[0], dict):
            raise LookupNotFound(f"PubMed Central does not know {identifier}",
                                 service=SERVICE, identifier=identifier)
        found = records[0]
        if found.get("status") == "error" or found.get("live") == "false":
            reason = found.get("errmsg") or "unknown id"
            raise LookupNotFound(f"PubMed Central does not know {identifier} ({reason})",
                                 service=SERVICE, identifier=identifier)
        record = LookupRecord(
            pmcid=normalize_pmcid(str(found.get("pmcid") or "")) or "",
            pmid=normalize_pmid(str(found.get("pmid") or "")) or "",
            doi=normalize_doi(str(found.get("doi") or "")) or "",
        )
        if not (record.pmcid or record.pmid or record.doi):
            raise LookupNotFound(f"PubMed Central does not know {identifier}",
                                 service=SERVICE, identifier=identifier)
        return record.with_source(SERVICE)
