"""Storing many new papers in few transactions: the writer behind a bibliography import.

A ``.bib`` of 10,000 entries spent its time in per-statement overhead, not in SQLite: ORM
selects per tag and per citation key, SQLAlchemy's statement handling, a commit per entry.
:class:`BulkWriter` stores the same rows as
:func:`exoref.storage.repository.insert_reference` with prepared SQL on the session's own
SQLite connection (``executemany`` for authors, tags and index rows), tag ids kept for the
transaction, and many entries per transaction.
SQLite-specific, like :mod:`exoref.storage.search_index`.

Transactions and what a crash can lose
--------------------------------------

* Every entry runs inside a ``SAVEPOINT`` in the current write transaction.  An entry that
  fails (a constraint, a trigger, an error in our code's SQL) is rolled back to its savepoint
  and nothing of it stays; the other entries of the transaction go on.
* The caller commits after a bounded number of entries or seconds (the bibliography service:
  500 entries or 0.5 s).  A commit holds only whole entries: a crash or power loss loses at
  most the entries of the uncommitted transaction, never part of one, and an import rerun
  stores them (what is already there is found as a duplicate).
* The search index rows of the transaction's entries are written together just before the
  commit (:meth:`BulkTransaction.finish`), in the same transaction: a committed paper is
  always searchable.  They are not written inside the per-entry savepoints because FTS5 writes
  its pending index data to disk at every savepoint, which would double the import time.
* An error that ends the whole transaction (SQLite rolls back on a full disk or an I/O
  error), or one while the index rows are written, surfaces as
  :class:`TransactionLostError`: none of the transaction's entries is stored.

Nothing is cached across transactions: every transaction holds the write lock from its first
statement (``BEGIN IMMEDIATE``), so what it reads is the truth until it commits, whatever other
processes did before.  Citation keys are checked with one range scan of the unique index per
entry; tag ids are read once per transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import TYPE_CHECKING, Any, cast

from exoref.domain.citekeys import make_citekey, unique_citekey
from exoref.storage import repository, search_index
from exoref.storage.database import now
from exoref.storage.orm import Paper

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Dialect, Table
    from sqlalchemy.orm import Session

    from exoref.domain.models import Reference, TagKind
    from exoref.storage.database import Database


class TransactionLostError(Exception):
    """SQLite rolled the whole transaction back (a full disk, an I/O error): none of its
    entries is stored.  ``__cause__`` is the error that did it."""


class BulkWriter:
    """Opens the transactions of one import and keeps what does not change between them (the
    prepared SQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._statements: _Statements | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[BulkTransaction]:
        """One write transaction (``BEGIN IMMEDIATE``), committed when the block ends without
        an exception, after the index rows of its entries are written."""
        with self.db.write() as session:
            connection = session.connection()
            if self._statements is None:
                self._statements = _Statements(connection.dialect)
            tx = BulkTransaction(session, self._statements)
            yield tx
            try:
                tx.finish()
            except sqlite3.Error as exc:
                raise TransactionLostError(str(exc)) from exc


class BulkTransaction:
    """The entries stored in one transaction of a :class:`BulkWriter`."""

    def __init__(self, session: Session, statements: _Statements) -> None:
        #: for work the writer does not cover (attachments), in the same transaction
        self.session = session
        raw = session.connection().connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection), "bulk writes need a SQLite library"
        self.raw: sqlite3.Connection = raw
        self._sql: _Statements = statements
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._meta_rows: list[tuple[object, ...]] = []
        self._body_rows: list[tuple[object, ...]] = []
        # what the open entry did, forgotten if it rolls back
        self._in_entry: bool = False
        self._entry_meta: list[tuple[object, ...]] = []
        self._entry_body: list[tuple[object, ...]] = []
        self._entry_tags: list[tuple[str, str]] = []

    # -- entries -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def entry(self) -> Iterator[None]:
        """One entry, all or nothing: a savepoint released when the block ends, rolled back
        (with the tag ids it added) when it raises.  Raises :class:`TransactionLostError`
        instead when SQLite ended the whole transaction."""
        assert not self._in_entry, "entries do not nest"
        self.raw.execute("SAVEPOINT bulk_entry")
        self._in_entry = True
        try:
            yield
        except BaseException as exc:
            for key in self._entry_tags:  # rolled back with the entry
                self._tag_ids.pop(key, None)
            if not self.raw.in_transaction:
                raise TransactionLostError(str(exc)) from exc
            try:
                self.raw.execute("ROLLBACK TO bulk_entry")
                self.raw.execute("RELEASE bulk_entry")
            except sqlite3.Error as again:
                raise TransactionLostError(str(again)) from exc
            raise
        else:
            self.raw.execute("RELEASE bulk_entry")
            self._meta_rows.extend(self._entry_meta)
            self._body_rows.extend(self._entry_body)
        finally:
            self._in_entry = False
            self._entry_meta.clear()
            self._entry_body.clear()
            self._entry_tags.clear()

    def finish(self) -> None:
        """Write the index rows of the entries stored so far (the commit follows)."""
        if self._meta_rows:
            self.raw.executemany(self._sql.insert_meta, self._meta_rows)
        if self._body_rows:
            self.raw.executemany(self._sql.insert_body, self._body_rows)
        self._meta_rows = []
        self._body_rows = []

    # -- reading -----------------------------------------------------------------------------

    def find_duplicate(self, ref: Reference) -> tuple[int, str] | None:
        """:func:`exoref.storage.repository.find_duplicate_id`, with the prepared query."""
        params = repository.duplicate_parameters(ref)
        rows = self.raw.execute(self._sql.duplicates, [params[n] for n in self._sql.dup_names])
        return repository.pick_duplicate(ref, rows)

    def taken_citekeys(self, base: str) -> set[str]:
        """:func:`exoref.storage.repository.taken_citekeys`: keys that start with ``base``."""
        rows = self.raw.execute(self._sql.taken_keys, (base, base + "\U0010ffff"))
        return {row[0] for row in rows}

    def paper_with_key(self, key: str) -> tuple[int, str, int | None] | None:
        """``(id, title, year)`` of the paper holding citation key ``key``."""
        row = self.raw.execute(
            "SELECT id, title, year FROM papers WHERE citekey = ?", (key,)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), row[2])

    def paper_label(self, paper_id: int) -> tuple[str, str]:
        """``(title, citekey)`` of a paper."""
        row = self.raw.execute(
            "SELECT title, citekey FROM papers WHERE id = ?", (paper_id,)
        ).fetchone()
        return (str(row[0]), str(row[1])) if row is not None else ("", "")

    # -- writing -----------------------------------------------------------------------------

    def insert(
        self,
        ref: Reference,
        *,
        pattern: str,
        body: str | None = None,
        tag_source: str = "import",
    ) -> tuple[int, str]:
        """Store a new paper with its authors and tags, and queue its index rows; its id and
        citation key.  The same rows as :func:`~exoref.storage.repository.insert_reference`.
        Only inside :meth:`entry`."""
        assert self._in_entry, "insert() belongs inside entry()"
        raw = self.raw
        sql = self._sql
        base = ref.citekey or make_citekey(ref, pattern)
        citekey = unique_citekey(base, self.taken_citekeys(base))
        stamp = now()
        values = repository.paper_values(ref) | {
            "citekey": citekey, "added": stamp, "modified": stamp
        }
        paper_id = raw.execute(sql.insert_paper, sql.paper_row(values)).lastrowid
        assert paper_id is not None
        if ref.authors:
            raw.executemany(
                sql.insert_author,
                [(paper_id, i, a.family, a.given) for i, a in enumerate(ref.authors)],
            )
        if ref.tags:
            tag_ids = dict.fromkeys(self._tag_id(t.name, t.kind) for t in ref.tags)
            raw.executemany(sql.insert_paper_tag,
                            [(paper_id, tag, tag_source) for tag in tag_ids])
        doc = search_index.IndexedDoc(
            title=ref.title,
            authors=repository.authors_text(ref.authors),
            abstract=ref.abstract,
            keywords="; ".join(ref.keywords),
            tags="; ".join(dict.fromkeys(t.name for t in ref.tags)),
            journal=ref.journal or ref.booktitle,
            year=ref.year,
        )
        meta = (paper_id, *(getattr(doc, c) for c in search_index.META_COLUMNS))
        self._entry_meta.append(meta)
        if body:
            self._entry_body.append((*meta, body))
        return paper_id, citekey

    def _tag_id(self, name: str, kind: TagKind) -> int:
        key = (name.strip().casefold(), kind.value)
        cache = self._tag_ids
        found = cache.get(key)
        if found is not None:
            return found
        row = self.raw.execute(self._sql.find_tag, key).fetchone()
        if row is not None:
            found = int(row[0])
        else:
            new_id = self.raw.execute(self._sql.insert_tag, (name.strip(), *key)).lastrowid
            assert new_id is not None
            found = new_id
            self._entry_tags.append(key)
        cache[key] = found
        return found


class _Statements:
    """The SQL of the writer, prepared once per dialect from the ORM tables."""

    def __init__(self, dialect: Dialect) -> None:
        papers = cast("Table", Paper.__table__)
        columns = [c for c in papers.columns if c.name != "id"]
        self.paper_names = [c.name for c in columns]
        self.insert_paper = (f"INSERT INTO papers ({', '.join(self.paper_names)}) "
                             f"VALUES ({', '.join('?' for _ in columns)})")
        # the values SQLAlchemy would send: JSON serialised, datetimes as SQLite text
        self.processors: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        # a column absent from the values takes its default, converted once; most JSON
        # values are empty, like their defaults: [] and {} are converted once per column too
        self.defaults: dict[str, Any] = {}
        self.empty: dict[tuple[str, type], Any] = {}
        for column, process in zip(columns, self.processors, strict=True):
            default: Any = column.default
            if default is None:
                continue
            value = default.arg(None) if default.is_callable else default.arg
            converted = process(value) if process is not None and value is not None else value
            self.defaults[column.name] = converted
            if isinstance(value, list | dict) and not value:
                self.empty[column.name, type(value)] = converted
        self.insert_author = (
            "INSERT INTO paper_authors (paper_id, position, family, given) VALUES (?, ?, ?, ?)"
        )
        self.insert_paper_tag = (
            "INSERT INTO paper_tags (paper_id, tag_id, source) VALUES (?, ?, ?)"
        )
        self.taken_keys = "SELECT citekey FROM papers WHERE citekey >= ? AND citekey < ?"
        self.find_tag = "SELECT id FROM tags WHERE name_key = ? AND kind = ?"
        self.insert_tag = "INSERT INTO tags (name, name_key, kind) VALUES (?, ?, ?)"
        names = ", ".join(search_index.META_COLUMNS)
        marks = ", ".join("?" for _ in search_index.META_COLUMNS)
        self.insert_meta = f"INSERT INTO search_meta (rowid, {names}) VALUES (?, {marks})"
        self.insert_body = (
            f"INSERT INTO search_body (rowid, {names}, body) VALUES (?, {marks}, ?)"
        )
        compiled = repository.DUPLICATE_CANDIDATES.compile(dialect=dialect)
        self.duplicates = compiled.string
        self.dup_names = list(compiled.positiontup or ())

    def paper_row(self, values: dict[str, object]) -> list[Any]:
        """The parameters of :attr:`insert_paper`, converted as SQLAlchemy converts them."""
        row: list[Any] = []
        defaults = self.defaults
        empty = self.empty
        for name, process in zip(self.paper_names, self.processors, strict=True):
            if name not in values:
                row.append(defaults.get(name))
                continue
            value = values[name]
            if process is None or value is None:
                row.append(value)
            elif not value and (name, type(value)) in empty:
                row.append(empty[name, type(value)])
            else:
                row.append(process(value))
        return row
