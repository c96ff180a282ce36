"""Completing records online: the lookup queue and the merge of fetched fields.

Imports never wait for the network: a new paper is put in ``lookup_queue`` and a lookup runs
later (the window's background worker, ``exoref lookup --queue``).  A lookup that cannot
reach a service waits with a growing delay; an unknown identifier is marked ``not_found``.

Fetched fields fill gaps and correct what was extracted from a PDF; a value a person typed
(``field_sources[field] == 'user'``) is never touched, and a field that came from the user's
own BibTeX is only filled when empty.  Every field written records its service in
``papers.field_sources`` (``lookup:crossref``, ``lookup:pubmed``...).  MeSH headings and
publication types are kept and the paper is tagged again: they feed the suggestions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from exoref.errors import ExorefError
from exoref.online.errors import LookupNotFound, LookupUnavailable, OnlineLookupError
from exoref.online.settings import OnlineSettings
from exoref.paths import config_dir, read_json_object, write_json_atomically
from exoref.storage import repository
from exoref.storage.database import now
from exoref.storage.orm import Paper, PaperAuthor

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sqlalchemy.orm import Session

    from exoref.online.record import LookupRecord
    from exoref.online.resolver import Resolver
    from exoref.services.library import Library

log = logging.getLogger("exoref.lookup")

#: The online settings file in the configuration folder (JSON; every key optional).
SETTINGS_FILE = "online.json"
#: Waits after the n-th failed attempt to reach a service (then the last one, repeated).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1),
                timedelta(hours=6))
#: Attempts after which a paper whose services keep failing is marked ``failed``.
MAX_ATTEMPTS = 8

#: Record fields copied onto a paper, by the paper's column name.
_TEXT_FIELDS = ("title", "journal", "volume", "issue", "pages", "publisher", "doi", "pmid",
                "pmcid", "arxiv", "url", "abstract", "language")
#: Where a field's value came from when ``field_sources`` does not say: the import path.
ORIGIN_PDF, ORIGIN_BIBTEX, ORIGIN_USER = "pdf", "bibtex", "user"


@dataclass(frozen=True, slots=True)
class OnlineConfig:
    """Whether ExoRef may go online, and how (stored in the configuration folder)."""

    enabled: bool = True
    settings: OnlineSettings = field(default_factory=OnlineSettings)

    @classmethod
    def load(cls, folder: Path | None = None) -> OnlineConfig:
        path = (folder or config_dir()) / SETTINGS_FILE
        raw = read_json_object(path)
        known = set(OnlineSettings.__dataclass_fields__)
        values = {k: v for k, v in raw.items() if k in known}
        try:
            settings = OnlineSettings(**values)
        except TypeError as exc:
            log.warning("ignoring %s: %s", path, exc)
            settings = OnlineSettings()
        return cls(enabled=bool(raw.get("enabled", True)), settings=settings)

    def save(self, folder: Path | None = None) -> None:
        data: dict[str, Any] = {"enabled": self.enabled}
        for name in OnlineSettings.__dataclass_fields__:
            data[name] = getattr(self.settings, name)
        write_json_atomically((folder or config_dir()) / SETTINGS_FILE, data)


@dataclass(slots=True)
class LookupOutcome:
    paper_id: int
    #: completed | not_found | waiting | failed | skipped
    status: str
    changed: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, object]:
        return {"paper": self.paper_id, "status": self.status, "changed": self.changed,
                "message": self.message}


@dataclass(frozen=True, slots=True)
class QueueEntry:
    paper_id: int
    state: str
    attempts: int
    next_attempt: str
    last_error: str


def merge_into(session: Session, paper_id: int, record: LookupRecord) -> list[str]:
    """Write a fetched record onto a paper by the rules of this module; the fields changed."""
    row = session.get(Paper, paper_id)
    if row is None:
        raise ExorefError(f"There is no paper {paper_id}.")
    sources = dict(row.field_sources or {})
    origin = ORIGIN_PDF if row.attachments else ORIGIN_BIBTEX
    changed: list[str] = []

    def may_write(name: str, current: object) -> bool:
        source = sources.get(name, origin)
        if source == ORIGIN_USER:
            return False
        if source == ORIGIN_BIBTEX:
            return current in ("", None, [], ())
        return True

    def service(name: str) -> str:
        return "lookup:" + record.sources.get(name, "online")

    for name in _TEXT_FIELDS:
        value = getattr(record, name, "")
        if not value:
            continue
        current = getattr(row, name)
        if value != current and may_write(name, current):
            setattr(row, name, value)
            sources[name] = service(name)
            changed.append(name)
    if record.year and record.year != row.year and may_write("year", row.year):
        row.year = record.year
        sources["year"] = service("year")
        changed.append("year")
    if record.authors and may_write("authors", row.authors):
        new = [(a.family, a.given) for a in record.authors]
        if new != [(a.family, a.given) for a in row.authors]:
            row.authors = [PaperAuthor(position=i, family=a.family, given=a.given)
                           for i, a in enumerate(record.authors)]
            row.first_author = record.authors[0].family
            sources["authors"] = service("authors")
            changed.append("authors")
    if record.entry_type and not row.entry_type:
        row.entry_type = record.entry_type
    if record.keywords and may_write("keywords", row.keywords):
        merged = list(dict.fromkeys([*row.keywords, *record.keywords]))
        if merged != row.keywords:
            row.keywords = merged
            sources["keywords"] = service("keywords")
            changed.append("keywords")
    if record.issn and "issn" not in row.extra:
        row.extra = {**row.extra, "issn": record.issn}
    if record.mesh and list(record.mesh) != row.mesh:
        row.mesh = list(record.mesh)
        changed.append("mesh")
    if record.publication_types and list(record.publication_types) != row.publication_types:
        row.publication_types = list(record.publication_types)
        changed.append("publication_types")
    if "title" in changed:
        row.title_key = repository.title_key(row.title)
    if changed:
        row.field_sources = sources
        row.modified = now()
        session.flush()
        repository.reindex(session, row)
    return changed


class LookupService:
    def __init__(self, library: Library, config: OnlineConfig | None = None,
                 *, resolver: Resolver | None = None) -> None:
        self.library = library
        self.config = config or OnlineConfig.load()
        self._resolver = resolver

    def resolver(self) -> Resolver:
        if self._resolver is None:
            from exoref.online.resolver import Resolver

            cache = self.library.paths.root / "cache"
            self._resolver = Resolver(self.config.settings, cache)
        return self._resolver

    def close(self) -> None:
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None

    # -- the queue ---------------------------------------------------------------------------

    def enqueue(self, paper_ids: Sequence[int], *, again: bool = False) -> int:
        """Put papers in the queue (``again``: also those already looked up); how many."""
        stamp = now()
        count = 0
        with self.library.db.write() as session:
            for pid in paper_ids:
                state = session.execute(
                    text("SELECT state FROM lookup_queue WHERE paper_id = :p"), {"p": pid}
                ).scalar()
                if state == "waiting" or (state is not None and not again):
                    continue
                session.execute(
                    text("INSERT OR REPLACE INTO lookup_queue (paper_id, state, attempts, "
                         "next_attempt, last_error, requested) "
                         "VALUES (:p, 'waiting', 0, :t, '', :t)"),
                    {"p": pid, "t": stamp},
                )
                count += 1
        return count

    def enqueue_missing(self) -> int:
        """Queue every paper that lacks a journal, authors, year or abstract, or has an
        identifier and was never looked up."""
        with self.library.db.read() as session:
            ids = [int(r[0]) for r in session.execute(text(
                "SELECT p.id FROM papers p LEFT JOIN lookup_queue q ON q.paper_id = p.id "
                "WHERE p.trashed_at IS NULL AND q.paper_id IS NULL AND ("
                " p.journal = '' OR p.year IS NULL OR p.abstract = '' OR p.first_author = ''"
                " OR p.doi <> '' OR p.pmid <> '' OR p.pmcid <> '')"))]
        return self.enqueue(ids)

    def queue(self) -> list[QueueEntry]:
        with self.library.db.read() as session:
            rows = session.execute(text(
                "SELECT paper_id, state, attempts, next_attempt, last_error FROM lookup_queue "
                "ORDER BY state, next_attempt")).all()
        return [QueueEntry(int(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]))
                for r in rows]

    def waiting(self) -> int:
        with self.library.db.read() as session:
            return int(session.execute(text(
                "SELECT count(*) FROM lookup_queue WHERE state = 'waiting'")).scalar_one())

    def run_queue(
        self,
        *,
        limit: int | None = None,
        progress: Callable[[LookupOutcome, int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[LookupOutcome]:
        """Look up the papers whose turn has come; stops early when every service is
        unreachable (the rest keep waiting)."""
        with self.library.db.read() as session:
            due = [int(r[0]) for r in session.execute(
                text("SELECT paper_id FROM lookup_queue WHERE state = 'waiting' "
                     "AND next_attempt <= :t ORDER BY next_attempt LIMIT :n"),
                {"t": now(), "n": limit if limit is not None else -1})]
        outcomes: list[LookupOutcome] = []
        unreachable = 0
        for pid in due:
            if cancelled is not None and cancelled():
                break
            outcome = self.lookup(pid)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome, len(outcomes), len(due))
            unreachable = unreachable + 1 if outcome.status == "waiting" else 0
            if unreachable >= 3:
                log.info("services unreachable: %d lookups keep waiting",
                         len(due) - len(outcomes))
                break
        return outcomes

    # -- one paper ---------------------------------------------------------------------------

    def lookup(self, paper_id: int) -> LookupOutcome:
        """Look one paper up now and merge what comes back (also when not queued)."""
        with self.library.db.read() as session:
            row = session.get(Paper, paper_id)
            if row is None:
                raise ExorefError(f"There is no paper {paper_id}.")
            ids = {
                "doi": row.doi or None, "pmid": row.pmid or None, "pmcid": row.pmcid or None,
                "arxiv": row.arxiv or None, "title": row.title or None,
                "first_author": row.first_author or None,
            }
            year = row.year
        if not any(ids[k] for k in ("doi", "pmid", "pmcid", "arxiv", "title")):
            self._mark(paper_id, "not_found", "no identifier and no title to look up")
            return LookupOutcome(paper_id, "skipped", message="no identifier or title")
        if not self.config.enabled:
            self._mark_waiting(paper_id, "online lookups are switched off", None)
            return LookupOutcome(paper_id, "waiting", message="online lookups are off")
        try:
            record = self.resolver().lookup(**ids, year=year)
        except LookupUnavailable as exc:
            state = self._mark_waiting(paper_id, str(exc), exc.retry_after)
            return LookupOutcome(paper_id, state, message=str(exc))
        except LookupNotFound as exc:
            self._mark(paper_id, "not_found", str(exc))
            return LookupOutcome(paper_id, "not_found", message=str(exc))
        except OnlineLookupError as exc:  # malformed answers: try again later
            state = self._mark_waiting(paper_id, str(exc), None)
            return LookupOutcome(paper_id, state, message=str(exc))
        with self.library.db.write() as session:
            changed = merge_into(session, paper_id, record)
            _set_state(session, paper_id, "done")
        if record.unavailable:  # part of the record is still out there: ask again later
            self._mark_waiting(
                paper_id, f"{', '.join(record.unavailable)} could not be reached", None)
        if {"mesh", "publication_types", "title", "abstract", "keywords"} & set(changed):
            from exoref.services.tagging import TaggingService

            try:
                TaggingService(self.library).apply([paper_id], processes=1)
            except ExorefError as exc:  # tags can be redone; the record is saved
                log.warning("tagging paper %d after its lookup failed: %s", paper_id, exc)
        return LookupOutcome(paper_id, "completed", changed)

    def _mark(self, paper_id: int, state: str, error: str) -> None:
        with self.library.db.write() as session:
            _set_state(session, paper_id, state, error=error)

    def _mark_waiting(self, paper_id: int, error: str, retry_after: float | None) -> str:
        with self.library.db.write() as session:
            attempts = int(session.execute(
                text("SELECT attempts FROM lookup_queue WHERE paper_id = :p"), {"p": paper_id}
            ).scalar() or 0) + 1
            delay = RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]
            if retry_after:
                delay = max(delay, timedelta(seconds=retry_after))
            state = "failed" if attempts >= MAX_ATTEMPTS else "waiting"
            _set_state(session, paper_id, state, error=error, delay=delay)
        return state


def _set_state(
    session: Session, paper_id: int, state: str, *, error: str = "",
    delay: timedelta = timedelta(0),
) -> None:
    """Record a lookup attempt: one more attempt, the new state, the next try after
    ``delay``; when the paper was first asked for is kept."""
    stamp = now()
    session.execute(
        text("INSERT OR REPLACE INTO lookup_queue (paper_id, state, attempts, next_attempt, "
             "last_error, requested) VALUES (:p, :s, "
             "coalesce((SELECT attempts FROM lookup_queue WHERE paper_id = :p), 0) + 1, :n, :e, "
             "coalesce((SELECT requested FROM lookup_queue WHERE paper_id = :p), :t))"),
        {"p": paper_id, "s": state, "n": stamp + delay, "e": error, "t": stamp},
    )

