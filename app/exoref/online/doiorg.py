"""doi.org content negotiation: any registered DOI as CSL-JSON.

``GET https://doi.org/{doi}`` with ``Accept: application/vnd.citationstyles.csl+json``
redirects to the registration agency (Crossref, DataCite, mEDRA, ...), which answers with
one CSL-JSON item.  It is the fallback for DOIs Crossref does not hold (DataCite DOIs of
datasets and of arXiv preprints, ``10.48550/arXiv.<id>``) and when Crossref's REST API fails.
The item is read by the project's CSL-JSON reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from exoref.domain.identifiers import normalize_doi
from exoref.formats.csljson import csl_to_reference
from exoref.online.crossref import jats_to_text
from exoref.online.errors import LookupMalformed, LookupNotFound
from exoref.online.record import LookupRecord, record_from_reference

if TYPE_CHECKING:
    from exoref.online.client import HttpClient

__all__ = ["CSL_JSON", "DoiOrgService"]

SERVICE = "doi.org"
CSL_JSON = "application/vnd.citationstyles.csl+json"


class DoiOrgService:
    """CSL-JSON for a DOI from doi.org's content negotiation."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def csl(self, doi: str) -> LookupRecord:
        """The CSL-JSON record of ``doi``; :class:`LookupNotFound` when the DOI is not
        registered."""
        base = self.client.settings.doi_url.rstrip("/")
        answer = self.client.get(SERVICE, f"{base}/{quote(doi, safe='/:;()[]<>')}",
                                 accept=CSL_JSON)
        if answer.status in (404, 410):
            raise LookupNotFound(f"doi.org does not know DOI {doi}", service=SERVICE,
                                 identifier=doi)
        if answer.status == 406:
            raise LookupNotFound(
                f"the registration agency of DOI {doi} offers no citation data",
                service=SERVICE, identifier=doi)
        if answer.status != 200:
            raise answer.unexpected()
        item = answer.json()
        if isinstance(item, list) and len(item) == 1:
            item = item[0]
        if not isinstance(item, dict):
            raise LookupMalformed(SERVICE, "the answer is not one CSL-JSON item",
                                  url=answer.url)
        if not (item.get("title") or item.get("DOI")):
            raise LookupMalformed(SERVICE, "the CSL-JSON item has neither a title nor a DOI",
                                  url=answer.url)
        # The CSL reader takes "id" for a citation key; a CN answer's id is the DOI URL.
        item = {k: v for k, v in item.items() if k not in ("id", "citation-key")}
        ref = csl_to_reference(item)
        ref.citekey = None
        if not ref.doi:
            ref.doi = normalize_doi(doi) or doi
        if ref.abstract and "<" in ref.abstract:
            ref.abstract = jats_to_text(ref.abstract)
        return record_from_reference(ref, SERVICE)
