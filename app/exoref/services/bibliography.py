"""Bibliographies in and out: import ``.bib``/RIS/CSL-JSON/Better BibTeX JSON files, export
BibTeX, BibLaTeX, RIS and CSL-JSON, and change citation keys on request.

Import stores every entry in its own transaction (a broken entry never takes the others down),
reports each entry as added, duplicate or failed with the line it starts on, keeps the citation
key the file gives when the library does not use it yet, and copies in the PDFs that ``file``
fields point at.  Citation keys change only through :meth:`BibliographyService.rekey`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from exoref.domain.citekeys import make_citekey, unique_citekey
from exoref.errors import ExorefError, NotFoundError, UsageError
from exoref.formats.bibtex import iter_bibtex_text
from exoref.formats.common import ParsedEntry, Problem
from exoref.formats.csljson import write_csljson
from exoref.formats.pdf import looks_like_pdf
from exoref.formats.registry import iter_bibliography
from exoref.formats.ris import write_ris
from exoref.services.extraction import FileFacts, examine
from exoref.services.importer import DEFAULT_TIMEOUT, ImportResult, ProgressFn, reference_name
from exoref.services.search import SearchService
from exoref.services.workers import WorkerPool
from exoref.storage import files, repository
from exoref.storage.database import now, translate_error
from exoref.storage.orm import AttachmentRow, Paper, PaperTag, TagRow

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import TextIO

    from sqlalchemy.orm import Session

    from exoref.domain.models import Reference
    from exoref.services.library import Library

log = logging.getLogger("exoref.import")

ExportFormat = Literal["bibtex", "biblatex", "ris", "csljson"]
EXPORT_FORMATS: tuple[str, ...] = ("bibtex", "biblatex", "ris", "csljson")
#: Entries read before their attachments are examined and they are stored.
IMPORT_BATCH = 500
#: Papers read from the database at a time when exporting.
EXPORT_BATCH = 1000

#: Characters a citation key cannot hold in BibTeX or biber.
_BAD_KEY_CHARS = re.compile(r"[\s{}(),\"#%'~\\=]")
_KEY_SUFFIX = re.compile(r"^(?:[a-z]{1,2}|-\d+)$")

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
        self, path: Path | str, *, progress: ProgressFn | None = None
    ) -> list[ImportResult]:
        """Import every entry of a bibliography file; one result per entry (and per entry
        that could not be read), in the order of the file.

        The file is read a few thousand entries at a time and each entry stored in its own
        transaction, so a library of any size imports in bounded memory.  ``progress`` gets
        each result with the count so far (the total is not known in advance: 0).
        """
        source = Path(path)
        results: list[tuple[int, ImportResult]] = []
        try:
            stream = iter_bibliography(source)
            where_word = "item" if stream.format in ("csljson", "bbtjson") else "line"
            pattern = self.library.setting("citekey_pattern")
            batch: list[ParsedEntry] = []

            def report(line: int, result: ImportResult) -> None:
                results.append((line, result))
                if progress is not None:
                    progress(result, len(results), 0)

            def flush() -> None:
                facts = self._examine_attachments(batch)
                for entry in batch:
                    report(entry.line, self._store(entry, source.name, where_word, pattern,
                                                   facts))
                batch.clear()

            for item in stream.items:
                if isinstance(item, Problem):
                    report(item.line, ImportResult(
                        f"{source.name}:{item.line}", "failed",
                        reason=f"{where_word} {item.line}: {item.reason}",
                    ))
                    continue
                batch.append(item)
                if len(batch) >= IMPORT_BATCH:
                    flush()
            flush()
        except ExorefError as exc:
            results.append((1 << 62, ImportResult(str(source), "failed", reason=str(exc))))
        except (OSError, UnicodeError) as exc:
            # the file went away or changed while it was read: what was stored stays
            results.append((1 << 62, ImportResult(str(source), "failed",
                                                  reason=f"cannot read the rest of it: {exc}")))
        results.sort(key=lambda pair: pair[0])
        return [result for _line, result in results]

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

    def _store(
        self,
        entry: ParsedEntry,
        file_name: str,
        where_word: str,
        pattern: str,
        facts: dict[str, FileFacts | str],
    ) -> ImportResult:
        ref = entry.reference
        where = f"{file_name}:{entry.line}"
        prefix = f"{where_word} {entry.line}"
        notes = list(entry.warnings)
        copied: list[Path] = []
        try:
            with self.library.db.write() as session:
                duplicate = repository.find_duplicate(session, ref)
                key = entry.key.strip()
                clean_key = _BAD_KEY_CHARS.sub("_", key)
                if clean_key != key:
                    notes.append(f"citation key {key!r} holds characters BibTeX cannot use")
                same_key = _paper_with_key(session, clean_key) if clean_key else None
                if duplicate is None and same_key is not None and \
                        repository.title_key(same_key.title) == repository.title_key(ref.title) \
                        and (same_key.year == ref.year or ref.year is None):
                    duplicate = (same_key, f"same citation key {clean_key!r} and title")
                if duplicate is not None:
                    paper, why = duplicate
                    attached = self._attach_all(session, paper, entry, facts, copied, notes)
                    reason = f"{prefix}: already in the library as paper {paper.id} ({why})"
                    if attached:
                        reason += f"; {attached} file(s) attached to it"
                    return ImportResult(where, "duplicate", id=paper.id,
                                        reason="; ".join([reason, *notes]), title=paper.title,
                                        citekey=paper.citekey)
                ref.citekey = clean_key or None
                if not entry.files:
                    # The common case, and the one a 10,000-entry .bib is made of: plain
                    # inserts, no ORM objects.
                    paper_id, citekey = repository.insert_reference(session, ref,
                                                                    pattern=pattern)
                    self._key_notes(notes, key, clean_key, citekey, same_key)
                    result = ImportResult(where, "added", id=paper_id, title=ref.title,
                                          citekey=citekey, reason=_join(prefix, notes)
                                          if notes else "")
                    return result
                paper = repository.create_paper(session, ref, pattern=pattern)
                self._key_notes(notes, key, clean_key, paper.citekey, same_key)
                if ref.tags:
                    repository.set_tags(session, paper, ref.tags, source="import")
                    session.flush()
                body: str | None = None
                self._attach_all(session, paper, entry, facts, copied, notes)
                for name in entry.files:
                    fact = facts.get(name)
                    if isinstance(fact, FileFacts) and fact.extraction is not None \
                            and fact.extraction.text:
                        body = fact.extraction.text
                        break
                repository.reindex(session, paper, body)
                result = ImportResult(where, "added", id=paper.id, title=paper.title,
                                      citekey=paper.citekey, reason=_join(prefix, notes)
                                      if notes else "")
            copied = []  # committed: the copies belong to the library now
            return result
        except ExorefError as exc:
            return ImportResult(where, "failed", reason=f"{prefix}: {exc}", title=ref.title)
        except OSError as exc:
            translated = translate_error(exc, self.library.paths.root)
            reason = str(translated) if translated else f"cannot copy a file: {exc.strerror or exc}"
            return ImportResult(where, "failed", reason=f"{prefix}: {reason}", title=ref.title)
        finally:
            for path in copied:
                with contextlib.suppress(OSError):
                    path.unlink()

    @staticmethod
    def _key_notes(
        notes: list[str], key: str, clean_key: str, stored: str, same_key: Paper | None
    ) -> None:
        if clean_key and stored != clean_key:
            owner = f" by paper {same_key.id}" if same_key is not None else ""
            notes.append(f"citation key {clean_key!r} is already used{owner}; "
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
                rows = repository.get_papers(session, order[start : start + EXPORT_BATCH])
                refs = [repository.to_reference(row) for row in rows]
                session.expunge_all()  # done with these rows: let them go
                yield from refs

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


def _paper_with_key(session: Session, key: str) -> Paper | None:
    return session.scalars(select(Paper).where(Paper.citekey == key)).first()


def _join(prefix: str, notes: Sequence[str]) -> str:
    return prefix + (": " + "; ".join(notes) if notes else "")
