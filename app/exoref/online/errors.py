"""What can go wrong when ExoRef asks Crossref, doi.org or NCBI about a paper.

Three kinds, because the lookup queue treats them differently:

* :class:`LookupUnavailable`: the service could not be reached or kept failing (offline,
  timeouts, 5xx, rate limited for longer than ExoRef waits).  Nothing is known about the
  paper; the queue keeps the lookup and tries again later.
* :class:`LookupNotFound`: the service answered and has no record for the identifier (404,
  an empty result, an id converter error record) or the identifier is not valid.  Trying
  again will not help.
* :class:`LookupMalformed`: the service answered with something ExoRef cannot read (broken
  JSON or XML, an unexpected envelope).  The message names the service and what was wrong,
  so that a bug report can say which side changed.
"""

from __future__ import annotations

from exoref.errors import ExorefError

__all__ = [
    "LookupMalformed",
    "LookupNotFound",
    "LookupUnavailable",
    "OnlineLookupError",
]


class OnlineLookupError(ExorefError):
    """A lookup failed; ``service`` names the service ("crossref", "doi.org", "pubmed", "pmc")."""

    def __init__(self, user_message: str, *, service: str, hint: str | None = None) -> None:
        super().__init__(user_message, hint=hint)
        self.service = service


class LookupUnavailable(OnlineLookupError):  # noqa: N818 - the names the queue uses
    """The service cannot be reached now: try again later.

    ``retry_after`` is the number of seconds the service asked ExoRef to wait (from a
    ``Retry-After`` header), when it said so.
    """

    def __init__(self, user_message: str, *, service: str, retry_after: float | None = None)\
            -> None:
        super().__init__(
            user_message, service=service,
            hint="check the internet connection; ExoRef tries again later")
        self.retry_after = retry_after


class LookupNotFound(OnlineLookupError):  # noqa: N818
    """The service has no record for the identifier (or the identifier is not valid)."""

    def __init__(self, user_message: str, *, service: str, identifier: str = "",
                 hint: str = "check the identifier for typing errors") -> None:
        super().__init__(user_message, service=service, hint=hint)
        self.identifier = identifier


class LookupMalformed(OnlineLookupError):  # noqa: N818
    """The service answered with a body ExoRef cannot read; ``detail`` says what was wrong."""

    def __init__(self, service: str, detail: str, *, url: str = "") -> None:
        where = f" for {url}" if url else ""
        super().__init__(
            f"{_DISPLAY.get(service, service)} sent an answer ExoRef cannot read{where}: "
            f"{detail}",
            service=service,
            hint="this is usually a passing fault of the service; if it persists, report it")
        self.detail = detail
        self.url = url


#: How the services are named in messages.
_DISPLAY = {
    "crossref": "Crossref",
    "doi.org": "doi.org",
    "pubmed": "PubMed (NCBI E-utilities)",
    "pmc": "the PMC id converter (NCBI)",
}


def display_name(service: str) -> str:
    """The name of ``service`` as a person reads it in a message."""
    return _DISPLAY.get(service, service)
