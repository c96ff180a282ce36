"""Bibliographies in and out: import ``.bib``/RIS/CSL-JSON/Better BibTeX JSON files, export
BibTeX, BibLaTeX, RIS and CSL-JSON, and change citation keys on request.

Import reports each entry as added, duplicate or failed with the line it starts on, keeps the
citation key the file gives when the library does not use it yet, and copies in the PDFs that
``file`` fields point at.  Citation keys change only through :meth:`BibliographyService.rekey`.

How an import is stored (``exoref import refs.bib`` of 10,000 entries takes seconds):

* A file of :data:`READ_APART_BYTES` or more is read in a separate process (a fork of the
  fork server, as PDF workers are), which sends the entries in chunks while this process
  stores the previous ones: reading and storing overlap on two cores.  A smaller file, or one
  whose reading process cannot start, is read here, :data:`IMPORT_BATCH` entries at a time,
  never while a write transaction is open.
* Entries without files are stored by :class:`~exoref.storage.bulk.BulkWriter`: each entry
  in its own savepoint (all of it or nothing of it; a failing entry is reported and the
  others go on), many entries per transaction: a commit after :data:`COMMIT_ENTRIES` entries
  or :data:`COMMIT_SECONDS` seconds, whichever comes first, and at the end of each chunk
  read.  A crash loses at most the uncommitted entries, never part of one; rerunning the
  import stores them and reports the others as already in the library.  Results (and the
  progress callback) are given only once their transaction has committed, so "added" always
  means stored.  When a transaction is lost as a whole (a full disk, a library locked by
  another process for longer than the busy timeout), its entries are reported as failed and
  the rest of the file is not read: the file gets one more result that says so.
* An entry whose ``file`` field names PDFs is stored in a transaction of its own, with the
  managed copies made inside it and removed again if it does not commit (as a PDF import
  does): a copy is never referenced by an uncommitted row of another entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import logging
import multiprocessing as mp
import operator
import pickle
import queue
import re
import sqlite3
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from sqlalchemy import select

from exoref.domain.citekeys import make_citekey, unique_citekey
from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.errors import ExorefError, NotFoundError, UsageError
from exoref.formats.bibtex import iter_bibtex_text
from exoref.formats.common import ParsedEntry, Problem, clean_citekey
from exoref.formats.csljson import write_csljson
from exoref.formats.pdf import looks_like_pdf
from exoref.formats.registry import iter_bibliography
from exoref.formats.ris import write_ris
from exoref.memory import paused_cyclic_gc
from exoref.services.extraction import FileFacts, examine
from exoref.services.importer import DEFAULT_TIMEOUT, ImportResult, ProgressFn, reference_name
from exoref.services.search import SearchService
from exoref.services.tagging import TaggingService, TagPipeline
from exoref.services.workers import WorkerPool
from exoref.storage import files, repository
from exoref.storage.bulk import BulkTransaction, BulkWriter, TransactionLostError
from exoref.storage.database import now, translate_error
from exoref.storage.orm import AttachmentRow, Paper, PaperTag, TagRow
from exoref.tagging.spec import input_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from multiprocessing.connection import Connection
    from typing import TextIO

    from sqlalchemy.orm import Session

    from exoref.services.library import Library
    from exoref.tagging.tagger import TaggingInput

log = logging.getLogger("exoref.import")

ExportFormat = Literal["bibtex", "biblatex", "ris", "csljson"]
EXPORT_FORMATS: tuple[str, ...] = ("bibtex", "biblatex", "ris", "csljson")
#: Entries read at a time when the file is read in this process; their attachments are
#: examined together before they are stored.
IMPORT_BATCH = 500
#: Entries stored in one transaction at most, and seconds one stays open at most: what an
#: interrupted import can lose (a rerun stores it), and how long other writers may wait.
COMMIT_ENTRIES = 500
COMMIT_SECONDS = 0.5
#: Files this large or larger are read in a separate process while entries are stored.
#: Starting it costs about 0.5 s when the fork server is not running yet, which the overlap
#: of reading and storing pays back from about 4,000 entries (8 MB of typical BibTeX; a
#: 4 MB file imports in 1.2 s in this process, in 1.6 s with a cold start).
READ_APART_BYTES = 6_000_000
#: Entries the reading process sends at a time, and chunks it may read ahead of the writer.
APART_CHUNK = 500
APART_AHEAD = 8
#: Papers read from the database at a time when exporting.
EXPORT_BATCH = 1000

#: Characters a citation key cannot hold in BibTeX or biber.
_BAD_KEY_CHARS = re.compile(r"[\s{}(),\"#%'~\\=]")
_KEY_SUFFIX = re.compile(r"^(?:[a-z]{1,2}|-\d+)$")

Item = ParsedEntry | Problem


class _ReadError(Exception):
    """The file (or the rest of it) cannot be read; the message says why."""


class _ReaderDiedError(_ReadError):
    """The reading process ended without a word (killed, or it could not start)."""


class _StoppedError(Exception):
    """A transaction was lost as a whole: the rest of the file is not imported."""


@dataclasses.dataclass(slots=True)
class _Job:
    """One file being imported."""

    file_name: str
    where_word: str
    pattern: str
    writer: BulkWriter
    report: Callable[[int, ImportResult], None]
    cancelled: Callable[[], bool]
    #: tags the stored entries while the next ones are stored (None: not tagged)
    tagging: TagPipeline | None = None

    def tag(self, items: list[tuple[int, TaggingInput]]) -> None:
        """Hand committed new papers to the tagger; store the tags that came back."""
        if self.tagging is not None:
            self.tagging.submit(items)
            self.tagging.store_ready()


class BibliographyService:
    def __init__(
        self,
        library: Library,
        *,
        processes: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.library = library
        self.processes = processes
        self.timeout = timeout

    # == import ==================================================================================

    def import_file(
        self,
        path: Path | str,
        *,
        progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None,
        tag: bool = True,
    ) -> list[ImportResult]:
        """Import every entry of a bibliography file; one result per entry (and per entry
        that could not be read), in the order of the file.

        With ``tag``, the new papers get their tag suggestions (applied above the threshold)
        as in a PDF import, in worker processes while the next entries are stored.

        Memory stays bounded for a file of any size (see the module's docstring for how
        entries are read and committed).  ``progress`` gets each result once it is final (an
        entry's once its transaction has committed) with the count so far (the total is not
        known in advance: 0).  ``cancelled`` is asked
        after every transaction; when it says so, the import stops there: what was reported
        is stored, the rest of the file is not read.
        """
        source = Path(path)
        results: list[tuple[int, ImportResult]] = []

        def report(line: int, result: ImportResult) -> None:
            results.append((line, result))
            if progress is not None:
                progress(result, len(results), 0)

        tagging = self._tag_pipeline() if tag else None
        try:
            with _open_reader(source) as reader:
                job = _Job(
                    file_name=source.name,
                    where_word="item" if reader.format in ("csljson", "bbtjson") else "line",
                    pattern=self.library.setting("citekey_pattern"),
                    writer=BulkWriter(self.library.db),
                    report=report,
                    cancelled=cancelled or _never,
                    tagging=tagging,
                )
                for chunk in reader.chunks():
                    if not self._import_chunk(chunk, job):
                        break
        # The file's own result goes through report() too: a caller that counts and prints
        # results as they come (the command) must see "not a bibliography" as well.
        except _ReadError as exc:
            report(1 << 62, ImportResult(str(source), "failed", reason=str(exc)))
        except _StoppedError as exc:
            report(1 << 62, ImportResult(
                str(source), "failed", reason=f"the rest of the file was not imported: {exc}"))
        except BaseException:  # Ctrl+C or a bug: stop the tagging workers, do not wait
            if tagging is not None:
                tagging.close()
            raise
        if tagging is not None:
            tagging.finish()
        results.sort(key=lambda pair: pair[0])
        return [result for _line, result in results]

    def _tag_pipeline(self) -> TagPipeline | None:
        try:
            return TagPipeline(TaggingService(self.library), processes=self.processes)
        except ExorefError as exc:
            log.warning("the new papers are imported without tags: %s", exc)
            return None

    def _import_chunk(self, chunk: list[Item], job: _Job) -> bool:
        """Store the entries of one chunk read; whether to go on (not cancelled)."""
        with_files = [item for item in chunk if isinstance(item, ParsedEntry) and item.files]
        facts = self._examine_attachments(with_files) if with_files else {}
        index = 0
        while index < len(chunk):
            item = chunk[index]
            if isinstance(item, ParsedEntry) and item.files:
                job.report(item.line, self._store_with_files(item, job, facts))
                index += 1
            else:
                index = self._store_batch(chunk, index, job)
            if job.cancelled():
                return False
        return True

    def _store_batch(self, chunk: list[Item], start: int, job: _Job) -> int:
        """Store the entries of ``chunk`` from ``start`` in one transaction, up to the next
        entry with files or the commit limits; the index where it stopped."""
        pending: list[tuple[int, ImportResult]] = []
        new: list[tuple[int, TaggingInput]] = []
        index = start
        storing: ParsedEntry | None = None
        try:
            with job.writer.transaction() as tx:
                deadline = time.monotonic() + COMMIT_SECONDS
                stored = 0
                while index < len(chunk):
                    item = chunk[index]
                    if isinstance(item, Problem):
                        pending.append((item.line, _problem_result(item, job)))
                    elif item.files:
                        break
                    else:
                        storing = item
                        result = self._store_plain(tx, item, job)
                        pending.append((item.line, result))
                        if result.status == "added" and result.id is not None:
                            new.append((result.id, input_for(item.reference)))
                        storing = None
                        stored += 1
                    index += 1
                    if stored >= COMMIT_ENTRIES or time.monotonic() >= deadline:
                        break
        except (TransactionLostError, ExorefError) as exc:
            reason = self._lost_reason(exc)
            if storing is not None:  # the entry whose writes lost the transaction
                pending.append((storing.line, ImportResult(
                    f"{job.file_name}:{storing.line}", "failed", title=storing.reference.title,
                    reason=f"{job.where_word} {storing.line}: {reason}")))
            lost = {r.id for _line, r in pending if r.status == "added"}
            for line, result in pending:
                if result.status == "added" or (result.status == "duplicate"
                                                and result.id in lost):
                    prefix = f"{job.where_word} {line}"
                    result = ImportResult(result.path, "failed", title=result.title,
                                          reason=f"{prefix}: not stored: {reason}")
                job.report(line, result)
            raise _StoppedError(reason) from exc
        for line, result in pending:
            job.report(line, result)
        job.tag(new)
        return index

    def _lost_reason(self, exc: BaseException) -> str:
        cause = exc.__cause__ if isinstance(exc, TransactionLostError) else exc
        if isinstance(cause, ExorefError):
            return str(cause)
        translated = translate_error(cause, self.library.paths.root) if cause else None
        return str(translated or cause or exc)

    def _store_plain(self, tx: BulkTransaction, entry: ParsedEntry, job: _Job) -> ImportResult:
        """One entry without files, inside the batch's transaction."""
        ref = entry.reference
        where = f"{job.file_name}:{entry.line}"
        prefix = f"{job.where_word} {entry.line}"
        notes = list(entry.warnings)
        key = _entry_key(entry, notes)
        clean_key = _BAD_KEY_CHARS.sub("_", key)
        if clean_key != key:
            notes.append(f"citation key {key!r} holds characters BibTeX cannot use")
        try:
            with tx.entry():
                duplicate, owner = _find_duplicate(tx, ref, clean_key)
                if duplicate is not None:
                    paper_id, why = duplicate
                    title, citekey = tx.paper_label(paper_id)
                    reason = f"{prefix}: already in the library as paper {paper_id} ({why})"
                    return ImportResult(where, "duplicate", id=paper_id,
                                        reason="; ".join([reason, *notes]), title=title,
                                        citekey=citekey)
                ref.citekey = clean_key or None
                paper_id, citekey = tx.insert(ref, pattern=job.pattern)
        except (sqlite3.Error, ExorefError) as exc:
            translated = translate_error(exc, self.library.paths.root)
            return ImportResult(where, "failed", title=ref.title,
                                reason=f"{prefix}: not stored: {translated or exc}")
        self._key_notes(notes, key, clean_key, citekey, owner)
        return ImportResult(where, "added", id=paper_id, title=ref.title, citekey=citekey,
                            reason=_join(prefix, notes) if notes else "")

    def _store_with_files(
        self, entry: ParsedEntry, job: _Job, facts: dict[str, FileFacts | str]
    ) -> ImportResult:
        """One entry whose ``file`` field names PDFs: its own transaction, with its copies."""
        ref = entry.reference
        where = f"{job.file_name}:{entry.line}"
        prefix = f"{job.where_word} {entry.line}"
        notes = list(entry.warnings)
        key = _entry_key(entry, notes)
        clean_key = _BAD_KEY_CHARS.sub("_", key)
        if clean_key != key:
            notes.append(f"citation key {key!r} holds characters BibTeX cannot use")
        copied: list[Path] = []
        body: str | None = None
        try:
            with job.writer.transaction() as tx, tx.entry():
                session = tx.session
                duplicate, owner = _find_duplicate(tx, ref, clean_key)
                if duplicate is not None:
                    paper = session.get(Paper, duplicate[0])
                    assert paper is not None
                    attached = self._attach_all(session, paper, entry, facts, copied, notes)
                    reason = (f"{prefix}: already in the library as paper {paper.id} "
                              f"({duplicate[1]})")
                    if attached:
                        reason += f"; {attached} file(s) attached to it"
                    result = ImportResult(where, "duplicate", id=paper.id,
                                          reason="; ".join([reason, *notes]),
                                          title=paper.title, citekey=paper.citekey)
                else:
                    ref.citekey = clean_key or None
                    for name in entry.files:
                        fact = facts.get(name)
                        if isinstance(fact, FileFacts) and fact.extraction is not None \
                                and fact.extraction.text:
                            body = fact.extraction.text
                            break
                    paper_id, citekey = tx.insert(ref, pattern=job.pattern, body=body)
                    self._key_notes(notes, key, clean_key, citekey, owner)
                    paper = session.get(Paper, paper_id)
                    assert paper is not None
                    self._attach_all(session, paper, entry, facts, copied, notes)
                    result = ImportResult(where, "added", id=paper_id, title=ref.title,
                                          citekey=citekey,
                                          reason=_join(prefix, notes) if notes else "")
                session.flush()
            copied = []  # committed: the copies belong to the library now
            if result.status == "added" and result.id is not None:
                job.tag([(result.id, input_for(ref, body or ""))])
            return result
        except TransactionLostError as exc:
            return ImportResult(where, "failed", title=ref.title,
                                reason=f"{prefix}: {self._lost_reason(exc)}")
        except ExorefError as exc:
            return ImportResult(where, "failed", reason=f"{prefix}: {exc}", title=ref.title)
        except OSError as exc:
            translated = translate_error(exc, self.library.paths.root)
            reason = str(translated) if translated else f"cannot copy a file: {exc.strerror or exc}"
            return ImportResult(where, "failed", reason=f"{prefix}: {reason}", title=ref.title)
        except sqlite3.Error as exc:
            return ImportResult(where, "failed", title=ref.title,
                                reason=f"{prefix}: not stored: {exc}")
        finally:
            for path in copied:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _examine_attachments(self, entries: Sequence[ParsedEntry]) -> dict[str, FileFacts | str]:
        """Hash and read the PDFs the entries name, in worker processes (as PDF import does)."""
        wanted: dict[str, None] = {}  # in order, each once
        out: dict[str, FileFacts | str] = {}
        for entry in entries:
            for name in entry.files:
                if name in out or name in wanted:
                    continue
                candidate = Path(name)
                if not candidate.is_file():
                    out[name] = "no such file"
                elif not looks_like_pdf(candidate):
                    out[name] = "not a PDF"
                else:
                    wanted[name] = None
        if wanted:
            pool: WorkerPool[str, FileFacts] = WorkerPool(
                examine, processes=self.processes, timeout=self.timeout
            )
            for item, outcome in pool.run(list(wanted)):
                if outcome.value is not None:
                    out[item] = outcome.value
                else:
                    out[item] = outcome.error or "unreadable"
        return out

    @staticmethod
    def _key_notes(
        notes: list[str], key: str, clean_key: str, stored: str, owner: int | None
    ) -> None:
        if clean_key and stored != clean_key:
            by = f" by paper {owner}" if owner is not None else ""
            notes.append(f"citation key {clean_key!r} is already used{by}; "
                         f"stored as {stored!r}")
        elif key and clean_key != key:
            notes.append(f"stored as {stored!r}")

    def _attach_all(
        self,
        session: Session,
        paper: Paper,
        entry: ParsedEntry,
        facts: dict[str, FileFacts | str],
        copied: list[Path],
        notes: list[str],
    ) -> int:
        """Copy in the PDFs of ``entry`` and attach them to ``paper``; how many were."""
        attached = 0
        for name in entry.files:
            fact = facts.get(name, "no such file")
            shown = Path(name).name
            if isinstance(fact, str):
                notes.append(f"file {shown} not attached: {fact}")
                continue
            if fact.error is not None:
                notes.append(f"file {shown} not attached: {fact.error}")
                continue
            existing = repository.find_attachment_by_hash(session, fact.sha256)
            if existing is not None:
                if existing.paper_id != paper.id:
                    notes.append(f"file {shown} is already attached to paper {existing.paper_id}")
                continue
            target = files.copy_in(Path(name), self.library.paths.files,
                                   reference_name(repository.to_reference(paper)))
            copied.append(target)
            extraction = fact.extraction
            paper.attachments.append(
                AttachmentRow(
                    path=target.relative_to(self.library.paths.root).as_posix(),
                    original_name=shown,
                    sha256=fact.sha256,
                    size=fact.size,
                    page_count=extraction.page_count if extraction else None,
                    has_text=extraction.has_text_layer if extraction else False,
                    added=now(),
                )
            )
            session.flush()
            attached += 1
        return attached

    # == export ==================================================================================

    def references(
        self,
        ids: Sequence[int | str] | None = None,
        *,
        tag: str | None = None,
        query: str | None = None,
    ) -> list[Reference]:
        """The references an export covers, ordered by citation key.

        ``ids`` (ids or citation keys), ``tag`` and ``query`` (the search syntax) narrow the
        selection down together; with none of them, every paper not in the trash is taken.
        """
        return list(self.iter_references(ids, tag=tag, query=query))

    def iter_references(
        self,
        ids: Sequence[int | str] | None = None,
        *,
        tag: str | None = None,
        query: str | None = None,
    ) -> Iterator[Reference]:
        """:meth:`references`, read from the database a thousand at a time."""
        wanted: set[int] | None = None
        if query is not None and query.strip():
            hits = SearchService(self.library).search(query, limit=None)
            wanted = {hit.reference.id for hit in hits if hit.reference.id is not None}
        with self.library.db.read() as session:
            statement = select(Paper.id).order_by(Paper.citekey)
            if ids is not None:
                chosen: set[int] = set()
                for ident in ids:
                    row = repository.get_paper(session, ident)
                    if row is None:
                        raise NotFoundError(f"No paper with id or citation key {ident!r}.")
                    chosen.add(row.id)
                wanted = chosen if wanted is None else wanted & chosen
            else:
                statement = statement.where(Paper.trashed_at.is_(None))
            if tag is not None:
                statement = statement.where(
                    Paper.id.in_(
                        select(PaperTag.paper_id)
                        .join(TagRow, TagRow.id == PaperTag.tag_id)
                        .where(TagRow.name_key == tag.strip().casefold())
                    )
                )
            order = [i for i in session.scalars(statement) if wanted is None or i in wanted]
            for start in range(0, len(order), EXPORT_BATCH):
                # plain rows, no ORM objects: reading was half the time of an export
                yield from repository.load_references(
                    session, order[start : start + EXPORT_BATCH])

    def export(
        self,
        ids: Sequence[int | str] | None = None,
        *,
        fmt: str = "bibtex",
        unicode: bool = False,
        include_abstract: bool = True,
        include_file: bool = False,
        tag: str | None = None,
        query: str | None = None,
    ) -> str:
        """The selected papers as BibTeX (default), BibLaTeX, RIS or CSL-JSON text."""
        out = io.StringIO()
        self.export_to(out, ids, fmt=fmt, unicode=unicode, include_abstract=include_abstract,
                       include_file=include_file, tag=tag, query=query)
        return out.getvalue()

    def export_to(
        self,
        stream: TextIO,
        ids: Sequence[int | str] | None = None,
        *,
        fmt: str = "bibtex",
        unicode: bool = False,
        include_abstract: bool = True,
        include_file: bool = False,
        tag: str | None = None,
        query: str | None = None,
    ) -> int:
        """Write the export to ``stream`` (a file, stdout) piece by piece, so that a library of
        any size exports in bounded memory; the number of references written."""
        if fmt not in EXPORT_FORMATS:
            raise UsageError(f"Cannot export as {fmt!r}; choose one of "
                             f"{', '.join(EXPORT_FORMATS)}.")
        count = 0

        def counted() -> Iterator[Reference]:
            nonlocal count
            for ref in self.iter_references(ids, tag=tag, query=query):
                count += 1
                yield ref

        root = self.library.paths.root
        if fmt in ("bibtex", "biblatex"):
            pieces: Iterator[str] = iter_bibtex_text(
                counted(),
                biblatex=fmt == "biblatex",
                unicode=unicode,
                include_abstract=include_abstract,
                include_file=include_file,
                file_root=root,
                pattern=self.library.setting("citekey_pattern"),
            )
            for piece in pieces:
                stream.write(piece)
        elif fmt == "ris":
            stream.write(write_ris(counted(), include_abstract=include_abstract,
                                   include_file=include_file, file_root=root))
        else:
            stream.write(write_csljson(counted(), include_abstract=include_abstract))
        return count

    # == citation keys ===========================================================================

    def rekey(
        self, ids: Sequence[int | str] | None = None, pattern: str | None = None
    ) -> list[tuple[str, str]]:
        """Make the citation keys of the papers (all, or those given) from ``pattern`` (the
        library's pattern when ``None``); the ``(old, new)`` pairs of the keys that changed.

        A key that already is the pattern's key (or that key with its a/b/c suffix) is kept.
        This is the only way stored keys change.
        """
        pattern = pattern or self.library.setting("citekey_pattern")
        changed: list[tuple[str, str]] = []
        with self.library.db.write() as session:
            if ids is None:
                rows = list(session.scalars(select(Paper).order_by(Paper.id)))
            else:
                rows = []
                for ident in ids:
                    row = repository.get_paper(session, ident)
                    if row is None:
                        raise NotFoundError(f"No paper with id or citation key {ident!r}.")
                    rows.append(row)
            taken = set(session.scalars(select(Paper.citekey)))
            for row in rows:
                old = row.citekey
                base = make_citekey(repository.to_reference(row), pattern)
                if old == base or (old.startswith(base) and _KEY_SUFFIX.match(old[len(base):])):
                    continue
                new = unique_citekey(base, taken)
                taken.add(new)
                row.citekey = new
                row.modified = now()
                session.flush()
                taken.discard(old)
                changed.append((old, new))
        return changed


def _never() -> bool:
    return False


def _problem_result(problem: Problem, job: _Job) -> ImportResult:
    return ImportResult(f"{job.file_name}:{problem.line}", "failed",
                        reason=f"{job.where_word} {problem.line}: {problem.reason}")


def _find_duplicate(
    tx: BulkTransaction, ref: Reference, clean_key: str
) -> tuple[tuple[int, str] | None, int | None]:
    """The paper ``ref`` duplicates (by the rules of ``exoref duplicates``: same identifier,
    or a close title with the same first author and year within one; or the same citation
    key and title), and the paper holding ``clean_key`` if any."""
    duplicate = tx.find_duplicate(ref)
    same_key = tx.paper_with_key(clean_key) if clean_key else None
    if same_key is None:
        return duplicate, None
    owner, title, year = same_key
    if duplicate is None and repository.title_key(title) == repository.title_key(ref.title) \
            and (year == ref.year or ref.year is None):
        duplicate = (owner, f"same citation key {clean_key!r} and title")
    return duplicate, owner


def _entry_key(entry: ParsedEntry, notes: list[str]) -> str:
    """The citation key an entry gives, without control characters (any format: the .bib
    reader drops them already, a RIS ``ID`` or a CSL ``id`` may still hold them); ``""``, so
    that the library makes a key as for an entry without one, when nothing else is left."""
    key = clean_citekey(entry.key)
    if key != entry.key.strip():
        notes.append(f"control characters dropped from the citation key {entry.key!r}" if key
                     else f"the citation key {entry.key!r} holds nothing but control characters;"
                          " one is made from the entry's fields")
    return key


def _join(prefix: str, notes: Sequence[str]) -> str:
    return prefix + (": " + "; ".join(notes) if notes else "")


# == reading =====================================================================================


class _Reader:
    """The items of a bibliography file, in chunks; ``format`` is known from the start."""

    format: str

    def chunks(self) -> Iterator[list[Item]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _open_reader(source: Path) -> Iterator[_Reader]:
    """A reader of ``source``: in a separate process for a large file, else here.  Raises
    :class:`_ReadError` when the file cannot be read."""
    reader: _Reader | None = None
    try:
        big = source.stat().st_size >= READ_APART_BYTES
    except OSError:
        big = False  # the local reader says what is wrong with it
    if big:
        try:
            reader = _ApartReader(source)
        except (OSError, ValueError, _ReaderDiedError) as exc:
            # e.g. a frozen build without a fork server: slower here, but the same result
            log.warning("cannot read %s in a separate process (%s); reading it here",
                        source, exc)
    if reader is None:
        reader = _LocalReader(source)
    try:
        yield reader
    finally:
        reader.close()


class _LocalReader(_Reader):
    """Reads the file in this process, :data:`IMPORT_BATCH` entries at a time."""

    def __init__(self, source: Path) -> None:
        try:
            stream = iter_bibliography(source)
        except ExorefError as exc:
            raise _ReadError(str(exc)) from exc
        except (OSError, UnicodeError) as exc:
            raise _ReadError(f"cannot read it: {exc}") from exc
        self.format = stream.format
        self._items = stream.items

    def chunks(self) -> Iterator[list[Item]]:
        while True:
            try:
                chunk = list(itertools.islice(self._items, IMPORT_BATCH))
            except ExorefError as exc:
                raise _ReadError(str(exc)) from exc
            except (OSError, UnicodeError) as exc:
                # the file went away or changed while it was read: what was stored stays
                raise _ReadError(f"cannot read the rest of it: {exc}") from exc
            if not chunk:
                return
            yield chunk


class _ApartReader(_Reader):
    """Reads the file in a child process (:func:`_read_apart`) that sends encoded chunks."""

    def __init__(self, source: Path) -> None:
        methods = mp.get_all_start_methods()
        # the fork server, as for PDF workers: the child does not inherit this process's
        # threads or database connections, and a fork of a warm server starts at once
        ctx: Any = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            ctx.set_forkserver_preload([__name__])
        receive, send = ctx.Pipe(duplex=False)
        self._conn: Connection = receive
        self._process: Any = ctx.Process(target=_read_apart, args=(str(source), send),
                                         daemon=True, name="exoref-read-bibliography")
        try:
            self._process.start()
        except BaseException:
            receive.close()
            raise
        finally:
            send.close()  # the child's end: only the child holds it now
        self._done = False
        try:
            kind, payload = self._receive()
        except _ReadError:
            self.close()
            raise
        if kind != "format":
            self.close()
            self._raise(kind, payload)
        self.format = str(payload)

    def chunks(self) -> Iterator[list[Item]]:
        while True:
            with paused_cyclic_gc():
                kind, payload = self._receive()
                if kind == "items":
                    # authors and tags repeat: equal (frozen) objects are made once a chunk
                    people: dict[tuple[str, str], Author] = {}
                    labels: dict[tuple[str, str], Tag] = {}
                    chunk = [_decode(raw, people, labels) for raw in payload]
            if kind == "items":
                yield chunk
            elif kind == "end":
                self._done = True
                return
            else:
                self._raise(kind, payload)

    def _receive(self) -> tuple[str, Any]:
        try:
            data = self._conn.recv_bytes()
        except (EOFError, OSError) as exc:
            self._process.join(timeout=1)
            raise _ReaderDiedError(
                "the process reading it stopped unexpectedly (exit code "
                f"{self._process.exitcode}); the entries reported so far are stored"
            ) from exc
        message: tuple[str, Any] = pickle.loads(data)
        return message

    @staticmethod
    def _raise(kind: str, payload: Any) -> NoReturn:
        if kind == "failed":
            raise _ReadError(str(payload))
        raise RuntimeError(f"reading the bibliography failed in the reading process:\n{payload}")

    def close(self) -> None:
        """Let the process end (at once, when the import stops before the end of the file)."""
        self._conn.close()
        self._process.join(timeout=1 if self._done else 0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process.close()


def _read_apart(path: str, conn: Connection) -> None:
    """The reading process: read the file, send its items encoded, a chunk at a time.

    A thread sends while the main thread reads on, at most :data:`APART_AHEAD` chunks ahead
    of the writer (memory stays bounded).  Messages: ``("format", name)`` first, then
    ``("items", [...])`` and ``("end", None)``; or ``("failed", reason)`` when the file (or
    the rest of it) cannot be read, or ``("crashed", traceback)`` for a bug.
    """
    ahead: queue.Queue[bytes | None] = queue.Queue(APART_AHEAD)
    gone = threading.Event()

    def send_all() -> None:
        while (data := ahead.get()) is not None:
            if gone.is_set():
                continue  # the writer went away: drain, so that the reader never blocks
            try:
                conn.send_bytes(data)
            except OSError:
                gone.set()

    sender = threading.Thread(target=send_all, name="send", daemon=True)
    sender.start()

    def send(kind: str, payload: object) -> None:
        ahead.put(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))

    try:
        stream = iter_bibliography(Path(path))
        send("format", stream.format)
        chunk: list[object] = []
        for item in stream.items:
            chunk.append(_encode(item))
            if len(chunk) >= APART_CHUNK:
                send("items", chunk)
                chunk = []
                if gone.is_set():
                    return
        if chunk:
            send("items", chunk)
        send("end", None)
    except ExorefError as exc:
        send("failed", str(exc))
    except (OSError, UnicodeError) as exc:
        send("failed", f"cannot read the rest of it: {exc}")
    except Exception:
        send("crashed", traceback.format_exc())
    finally:
        ahead.put(None)
        sender.join()
        conn.close()


# Entries cross the process boundary as plain tuples: pickling the dataclasses themselves
# costs the reading process (the slower side) twice as much.
_REF_FIELDS = tuple(f.name for f in dataclasses.fields(Reference))
_REF_VALUES = operator.attrgetter(*_REF_FIELDS)
_AUTHORS_AT = _REF_FIELDS.index("authors")
_TAGS_AT = _REF_FIELDS.index("tags")
_TAG_KINDS = {kind.value: kind for kind in TagKind}


def _encode(item: Item) -> tuple[Any, ...]:
    if isinstance(item, Problem):
        return (item.line, item.reason)
    ref = item.reference
    values = list(_REF_VALUES(ref))
    values[_AUTHORS_AT] = [(a.family, a.given) for a in ref.authors]
    values[_TAGS_AT] = [(t.name, t.kind.value) for t in ref.tags]
    return (values, item.key, item.line, item.files, item.warnings)


def _decode(
    raw: tuple[Any, ...],
    people: dict[tuple[str, str], Author],
    labels: dict[tuple[str, str], Tag],
) -> Item:
    if len(raw) == 2:
        return Problem(raw[0], raw[1])
    values, key, line, names, warnings = raw
    authors = []
    for pair in values[_AUTHORS_AT]:
        person = people.get(pair)
        if person is None:
            person = people[pair] = Author(*pair)
        authors.append(person)
    tags = []
    for pair in values[_TAGS_AT]:
        label = labels.get(pair)
        if label is None:
            label = labels[pair] = Tag(pair[0], _TAG_KINDS[pair[1]])
        tags.append(label)
    values[_AUTHORS_AT] = authors
    values[_TAGS_AT] = tags
    return ParsedEntry(Reference(*values), key, line, names, warnings)
