"""HTTP for the lookups: one keep-alive client, polite and bounded.

Every request made by :class:`HttpClient`

* carries a User-Agent naming ExoRef and the user's contact address (Crossref and NCBI ask
  for one and may block anonymous heavy users);
* waits for its service's rate limiter (one per service, shared by all threads);
* has connect and read timeouts, and is retried on 429, 500, 502, 503, 504, timeouts and
  connection failures with exponential backoff and jitter, honouring ``Retry-After``
  (seconds or an HTTP date);
* never takes longer than ``OnlineSettings.max_total_time`` with all its retries and waits:
  when the budget runs out it raises :class:`LookupUnavailable` ("try again later");
* is answered from the on-disk cache when a fresh answer is there.

It returns an :class:`Answer` for every other status; the service modules decide what a 404
or a 400 means for them.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from exoref import __version__
from exoref.formats.common import JsonTooDeepError, load_json
from exoref.online.cache import ResponseCache
from exoref.online.errors import (
    LookupMalformed,
    LookupNotFound,
    LookupUnavailable,
    OnlineLookupError,
    display_name,
)
from exoref.online.ratelimit import RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from exoref.online.settings import OnlineSettings

__all__ = ["RETRY_STATUSES", "Answer", "HttpClient", "parse_retry_after", "user_agent"]

log = logging.getLogger("exoref.online")

#: Statuses worth another try: rate limited, or a server-side fault that usually passes.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Query parameters that identify the user, not the request: left out of cache keys.
_PRIVATE_PARAMS = frozenset({"mailto", "email", "api_key", "tool"})
#: No service sends a record this large; a body growing past it is not a record.
MAX_BODY = 20 * 1024 * 1024
#: Which rate limiter each service uses: NCBI counts E-utilities and the id converter together.
_LIMITER_OF = {"crossref": "crossref", "doi.org": "doi.org", "pubmed": "ncbi", "pmc": "ncbi"}


def user_agent(contact_email: str) -> str:
    """``ExoRef/0.1.0 (mailto:someone@example.org)``, the form Crossref's etiquette asks for."""
    if contact_email:
        return f"ExoRef/{__version__} (reference manager; mailto:{contact_email})"
    return f"ExoRef/{__version__} (reference manager)"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date.

    ``None`` when the header is missing or unreadable; never negative.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC).timestamp()
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's answer: status, body and where it came from."""

    service: str
    url: str
    status: int
    content_type: str
    body: bytes
    from_cache: bool = False

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LookupMalformed(self.service, f"the body is not UTF-8 text ({exc.reason})",
                                  url=self.url) from exc

    def json(self) -> Any:
        """The body as JSON; :class:`LookupMalformed` when it is not, or when it is nested
        too deep to be a service's answer (a hostile body must not exhaust the stack)."""
        try:
            return load_json(self.text())
        except json.JSONDecodeError as exc:
            raise LookupMalformed(
                self.service, f"the body is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})", url=self.url) from exc
        except JsonTooDeepError as exc:
            raise LookupMalformed(self.service, f"the body is {exc} (line {exc.lineno})",
                                  url=self.url) from exc

    def unexpected(self) -> OnlineLookupError:
        """The error for a status the service module has no use for."""
        name = display_name(self.service)
        if self.status in (400, 422):
            return LookupNotFound(
                f"{name} rejected the request as invalid (HTTP {self.status})",
                service=self.service)
        if self.status in (401, 403):
            return LookupUnavailable(
                f"{name} refused access (HTTP {self.status}); check the contact address and "
                "API key in the online lookup settings", service=self.service)
        return LookupUnavailable(f"{name} answered HTTP {self.status}", service=self.service)


class HttpClient:
    """The one HTTP client of a resolver: keep-alive connections, rate limits, retries, cache.

    Thread-safe: a background worker may run several lookups at once.  ``cache_dir`` is
    where the answers cache lives (``None``: no cache).  ``transport`` and ``sleep`` exist
    for tests and benchmarks.
    """

    def __init__(self, settings: OnlineSettings, cache_dir: Path | None = None, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._http = httpx.Client(
            headers={"User-Agent": user_agent(settings.contact_email)},
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=True,
            transport=transport,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        )
        self.limiters: dict[str, RateLimiter] = {
            "crossref": RateLimiter(settings.crossref_rate, sleep=sleep),
            "doi.org": RateLimiter(settings.doi_rate, sleep=sleep),
            "ncbi": RateLimiter(settings.effective_ncbi_rate(), sleep=sleep),
        }
        self.cache = (ResponseCache(cache_dir, ttl=settings.cache_ttl,
                                    ttl_not_found=settings.cache_ttl_not_found)
                      if cache_dir is not None else None)
        #: Requests sent over the network (not answered from the cache), for figures.
        self.sent = 0
        self._local = threading.local()

    @contextlib.contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Within the block, requests made by this thread end (with
        :class:`LookupUnavailable`) at most ``seconds`` from now, whatever their own budget:
        one lookup makes several requests and must not take their sum."""
        outer: float | None = getattr(self._local, "deadline", None)
        mine = time.monotonic() + seconds
        self._local.deadline = mine if outer is None else min(outer, mine)
        try:
            yield
        finally:
            self._local.deadline = outer

    def close(self) -> None:
        self._http.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------

    def get(self, service: str, url: str, *, params: Mapping[str, str] | None = None,
            accept: str = "application/json") -> Answer:
        """GET ``url`` from ``service`` ("crossref", "doi.org", "pubmed", "pmc").

        Returns the answer for any status but those retried; raises
        :class:`LookupUnavailable` when the service cannot be reached within the budget.
        """
        request_url = httpx.URL(url, params=dict(params or {}))
        key = _cache_key(request_url, accept)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                log.debug("cache hit %s", key)
                return Answer(service, str(request_url), hit.status, hit.content_type, hit.body,
                              from_cache=True)
        limiter = self.limiters[_LIMITER_OF.get(service, service)]
        name = display_name(service)
        settings = self.settings
        started = time.monotonic()
        deadline = started + settings.max_total_time
        outer: float | None = getattr(self._local, "deadline", None)
        if outer is not None:
            deadline = min(deadline, outer)
        if deadline <= started:
            raise LookupUnavailable(f"{name} was not asked: the lookup ran out of time",
                                    service=service)
        attempt = 0
        while True:
            if not limiter.acquire(deadline):
                raise LookupUnavailable(
                    f"{name} could not be asked in time (rate limit)", service=service)
            retry_after: float | None = None
            try:
                status, content_type, body, wait_header = self._fetch(
                    request_url, accept, deadline)
            except httpx.TimeoutException:
                problem = "no answer in time"
            except httpx.TransportError as exc:
                problem = f"cannot connect: {exc}" if str(exc) else \
                    f"cannot connect: {type(exc).__name__}"
            else:
                if status not in RETRY_STATUSES:
                    if self.cache is not None:
                        self.cache.put(key, status, content_type, body)
                    return Answer(service, str(request_url), status, content_type, body)
                problem = f"HTTP {status}"
                if status in (429, 503):
                    retry_after = parse_retry_after(wait_header)
            attempt += 1
            log.info("%s: %s (attempt %d) for %s", service, problem, attempt, request_url)
            if attempt > settings.max_retries:
                raise LookupUnavailable(
                    f"{name} is not answering ({problem}) after {attempt} attempts; "
                    "try again later", service=service, retry_after=retry_after)
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            if retry_after is not None:
                limiter.pause_until(time.monotonic() + retry_after)
            if time.monotonic() + delay > deadline:
                raise LookupUnavailable(
                    f"{name} is not answering ({problem}); gave up after "
                    f"{time.monotonic() - started:.1f} s, try again later",
                    service=service, retry_after=retry_after)
            self._sleep(delay)

    def _fetch(self, url: httpx.URL, accept: str, deadline: float)\
            -> tuple[int, str, bytes, str | None]:
        """One request: status, content type, body (read within ``deadline``) and the
        ``Retry-After`` header."""
        settings = self.settings
        remaining = max(0.001, deadline - time.monotonic())
        timeout = httpx.Timeout(
            min(settings.read_timeout, remaining),
            connect=min(settings.connect_timeout, remaining),
        )
        self.sent += 1
        with self._http.stream("GET", url, headers={"Accept": accept}, timeout=timeout) as resp:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise httpx.ReadError("the answer is larger than any record")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took longer than the time budget")
            return (resp.status_code, resp.headers.get("Content-Type", ""), b"".join(chunks),
                    resp.headers.get("Retry-After"))

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of the step."""
        step = min(self.settings.backoff_max, self.settings.backoff_base * 2.0 ** (attempt - 1))
        with self._rng_lock:
            return step / 2 + self._rng.uniform(0, step / 2)


def _cache_key(url: httpx.URL, accept: str) -> str:
    params = [(k, v) for k, v in url.params.multi_items() if k not in _PRIVATE_PARAMS]
    bare = str(url.copy_with(query=None))
    key = f"{bare}?{urlencode(params)}" if params else bare
    return f"{key} accept={accept}"
