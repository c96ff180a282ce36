"""Opening a library database: engine, pragmas, transactions, schema version and upgrades.

Durability choices (SQLite):

* ``journal_mode=WAL``: readers (the window, a second ``exoref`` process) never block the single
  writer and the writer never blocks them; a crash leaves the last committed transaction intact.
* ``synchronous=NORMAL``: in WAL mode a commit is durable against application crashes and
  consistent after power loss (the last few transactions may roll back, the file is never
  corrupted).  ``FULL`` would fsync on every commit: with one transaction per imported paper that
  costs more than the extraction itself, for protection against losing seconds of work that an
  import rerun restores anyway.
* ``foreign_keys=ON``: attachments and tags never outlive their paper.
* ``busy_timeout``: a second writer waits for the first instead of failing; write transactions
  start with ``BEGIN IMMEDIATE`` so that waiting happens at the start, where SQLite can honour
  the timeout, and not at the first write, where a WAL reader cannot be upgraded.  The wait is
  30 s unless the ``EXOREF_BUSY_TIMEOUT`` environment variable gives another number of seconds
  (see :func:`busy_timeout_from_environment`).

Errors caused by the world (a full disk, a read-only file system, a lock held too long, a
damaged file) become a :class:`~exoref.errors.LibraryError` naming the library and the reason
(:func:`translate_error`), whether they happen while the library is opened or later.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from exoref.errors import (
    DiskFullError,
    LibraryError,
    LibraryLockedError,
    SchemaTooNewError,
)
from exoref.storage import search_index
from exoref.storage.orm import (
    Base,
    ImportFailure,
    LibraryInfo,
    LookupTask,
    MergeRecord,
    TagRejection,
    TagSuggestion,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

log = logging.getLogger("exoref.db")

#: Version of the schema written by this release.  Every release opens every older library.
SCHEMA_VERSION = 3
#: The environment variable that sets :data:`DEFAULT_BUSY_TIMEOUT` (seconds, a number).
BUSY_TIMEOUT_ENV = "EXOREF_BUSY_TIMEOUT"
#: Seconds a writer waits for another one when the environment does not say otherwise.
BUILTIN_BUSY_TIMEOUT = 30.0
#: The longest wait :data:`BUSY_TIMEOUT_ENV` may ask for (SQLite counts milliseconds in an int).
MAX_BUSY_TIMEOUT = 24 * 3600.0


def busy_timeout_from_environment(environ: Mapping[str, str] = os.environ) -> float:
    """The busy timeout :data:`BUSY_TIMEOUT_ENV` asks for, else :data:`BUILTIN_BUSY_TIMEOUT`.

    The value is seconds, a decimal number from 0 (never wait: a second writer is told at once
    that the library is busy) to :data:`MAX_BUSY_TIMEOUT`.  Anything else (empty, not a number,
    negative, infinite) is ignored with a warning on the ``exoref.db`` logger: the variable
    tunes how long to wait, and a typo in it should not stop the window or every command from
    opening the library.
    """
    raw = environ.get(BUSY_TIMEOUT_ENV)
    if raw is None:
        return BUILTIN_BUSY_TIMEOUT
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_BUSY_TIMEOUT:  # NaN fails this too
        log.warning(
            "ignoring %s=%r: it must be a number of seconds from 0 to %g; waiting %g s",
            BUSY_TIMEOUT_ENV, raw, MAX_BUSY_TIMEOUT, BUILTIN_BUSY_TIMEOUT,
        )
        return BUILTIN_BUSY_TIMEOUT
    return value


#: Seconds a writer waits for another one before the user is told the library is busy: 30 s,
#: or what :data:`BUSY_TIMEOUT_ENV` says (read once, when this module is imported).
DEFAULT_BUSY_TIMEOUT = busy_timeout_from_environment()

_WRITE_OPTION = "exoref_write"
#: Pages read through the map count as the process's resident memory: 128 MiB holds the hot
#: part of the search index of a 100,000-paper library.
MMAP_SIZE = 128 * 1024**2

Migration = Callable[[Connection], None]

#: ``MIGRATIONS[n]`` upgrades a library from version ``n - 1`` to ``n``.  Steps are plain SQL
#: that keeps every existing column; they run in one transaction after a backup copy is taken.
def _v2_extra_fields(conn: Connection) -> None:
    """0.2: other BibTeX fields (``extra``), the original LaTeX of decoded fields, and a
    search index with year facets and a 4-letter prefix index for as-you-type search."""
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN extra JSON NOT NULL DEFAULT '{}'")
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN latex JSON NOT NULL DEFAULT '{}'")
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN first_author TEXT NOT NULL DEFAULT ''")
    conn.exec_driver_sql(
        "UPDATE papers SET first_author = coalesce((SELECT family FROM paper_authors a "
        "WHERE a.paper_id = papers.id AND a.position = 0), '')"
    )
    for name, expression in (
        ("ix_papers_title_sort", "title COLLATE NOCASE"),
        ("ix_papers_journal_sort", "journal COLLATE NOCASE"),
        ("ix_papers_first_author_sort", "first_author COLLATE NOCASE"),
        ("ix_papers_trashed_at", "trashed_at"),
    ):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON papers ({expression})")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_papers_flagged ON papers (id) WHERE flags <> '[]'"
    )
    Base.metadata.create_all(conn, tables=[Base.metadata.tables[ImportFailure.__tablename__]])
    search_index.upgrade_v2(conn)


def _v3_tagging_and_lookups(conn: Connection) -> None:
    """0.3: vocabulary tags with evidence, pending suggestions and rejections; field
    provenance, MeSH and publication types; the lookup queue; undoable merges."""
    for statement in (
        "ALTER TABLE papers ADD COLUMN field_sources JSON NOT NULL DEFAULT '{}'",
        "ALTER TABLE papers ADD COLUMN mesh JSON NOT NULL DEFAULT '[]'",
        "ALTER TABLE papers ADD COLUMN publication_types JSON NOT NULL DEFAULT '[]'",
        "ALTER TABLE tags ADD COLUMN concept VARCHAR(80)",
        "CREATE INDEX IF NOT EXISTS ix_tags_concept ON tags (concept)",
        "ALTER TABLE paper_tags ADD COLUMN evidence JSON",
    ):
        conn.exec_driver_sql(statement)
    # ImportFailure again (create_all skips tables that exist): development builds of 0.2
    # wrote version 2 before the table was part of it.
    new_tables = (TagSuggestion, TagRejection, LookupTask, MergeRecord, ImportFailure)
    Base.metadata.create_all(
        conn, tables=[Base.metadata.tables[t.__tablename__] for t in new_tables]
    )


MIGRATIONS: dict[int, Migration] = {2: _v2_extra_fields, 3: _v3_tagging_and_lookups}


def rows_changed(result: Any) -> int:
    """Rows an INSERT/UPDATE/DELETE changed (``CursorResult.rowcount``, which the plain
    ``Result`` type of ``Session.execute`` does not declare)."""
    return int(getattr(result, "rowcount", 0) or 0)


def now() -> datetime:
    """The library's clock: naive UTC, second precision is not assumed."""
    return datetime.now(UTC).replace(tzinfo=None)


#: Below this much free space, SQLite's "disk I/O error" or "unable to open database file"
#: means a full disk: a write-ahead log index alone takes 32 KiB, a transaction a few pages.
LOW_SPACE = 1024 * 1024
_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


@dataclass(frozen=True, slots=True)
class _Disk:
    """What the file system holding a folder says about itself (``None``: it did not say)."""

    read_only: bool | None
    free: int | None

    @classmethod
    def of(cls, folder: Path) -> _Disk:
        """The file system of ``folder``, or of its nearest existing parent."""
        try:
            probe = folder
            while not probe.exists() and probe.parent != probe:
                probe = probe.parent
            st = os.statvfs(probe)
            read_only = bool(st.f_flag & os.ST_RDONLY) or not os.access(probe, os.W_OK)
        except (OSError, AttributeError):  # no statvfs on Windows
            return cls(None, None)
        return cls(read_only, st.f_bavail * st.f_frsize)


def translate_error(exc: BaseException, where: Path) -> LibraryError | None:
    """Turn a database or OS error caused by the world into a message a person can act on.

    ``where`` is the library's folder.  SQLite names some failures only vaguely: "disk I/O
    error" and "unable to open database file" are what it says when it cannot create the
    write-ahead log or its index (``-wal``, ``-shm``) on a full disk or a read-only file
    system, so for those the file system is asked which it is.  ``None`` means the error is
    not one of these and should surface as the bug it is.
    """
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    message = str(orig).lower()
    code = str(getattr(orig, "sqlite_errorname", "") or "")
    os_errno = orig.errno if isinstance(orig, OSError) else None
    vague = (
        code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN"))
        or "disk i/o error" in message
        or "unable to open database file" in message
    )
    disk = _Disk.of(where) if vague else _Disk(None, None)
    if (
        os_errno in _SPACE_ERRNOS
        or code == "SQLITE_FULL"
        or "disk is full" in message
        or (disk.free is not None and disk.free < LOW_SPACE and not disk.read_only)
    ):
        return DiskFullError(
            f"No space left on the disk holding {where}.",
            hint="free some space and run the command again; nothing was half-written",
        )
    if "database is locked" in message or "database is busy" in message:
        return LibraryLockedError(
            f"The library {where} is busy: another ExoRef process kept it locked too long.",
            hint="wait for the other import to finish, or close the other window, then retry",
        )
    if "readonly" in message or "read-only" in message or os_errno in _READ_ONLY_ERRNOS \
            or disk.read_only:
        detail = " (not even the lock files SQLite keeps beside it to read it)" if vague else ""
        return LibraryError(
            f"The library {where} is read-only: ExoRef cannot write there{detail}.",
            hint="check the folder's permissions and that its disk is not mounted read-only, "
                 "or choose another library with --library",
        )
    if "not a database" in message or "malformed" in message:
        return LibraryError(
            f"{where} is damaged or is not an ExoRef library.",
            hint="restore a backup from its backups/ folder (exoref restore)",
        )
    if vague:
        return LibraryError(
            f"The library {where} cannot be opened or written: {orig}.",
            hint="check that its disk is connected and healthy and that the folder can be "
                 "read and written, then run the command again; nothing was half-written",
        )
    return None


class Database:
    """One library database: an engine plus read and write transactions."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.engine = _make_engine(path, busy_timeout)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer(), expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot (WAL readers see the last commit and never wait)."""
        with self._guard(), self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._guard(), self._write_sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (DBAPIError, sqlite3.DatabaseError, OSError) as exc:
            translated = translate_error(exc, self.path.parent)
            if translated is None:
                raise
            raise translated from exc

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        backup_dir: Path | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> Database:
        """Open (creating or upgrading as needed) the database at ``path``.

        Raises :class:`~exoref.errors.LibraryError` (or a subclass) naming the library folder
        when the library cannot be opened, created or upgraded: no library there, a full or
        read-only disk, a lock held too long, a damaged file, a newer schema.
        """
        try:
            exists = path.exists() and path.stat().st_size > 0
        except OSError as exc:
            raise translate_error(exc, path.parent) or LibraryError(
                f"Cannot read the library {path.parent}: {exc.strerror or exc}."
            ) from exc
        if not exists and not create:
            raise LibraryError(
                f"There is no ExoRef library at {path.parent}.",
                hint="run `exoref import` to create one, or point --library at an existing one",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise translate_error(exc, path.parent) or LibraryError(
                f"Cannot create the library folder {path.parent}: {exc.strerror or exc}."
            ) from exc
        db = cls(path, busy_timeout=busy_timeout)
        try:
            with db._guard():
                version = db.schema_version()
                if version == 0:
                    db._create_schema()
                elif version < SCHEMA_VERSION:
                    db._upgrade(version, backup_dir or path.parent / "backups")
                elif version > SCHEMA_VERSION:
                    raise SchemaTooNewError(
                        f"The library {path.parent} was written by a newer ExoRef "
                        f"(schema {version}, this one reads up to {SCHEMA_VERSION}).",
                        hint="update ExoRef; the library was not changed",
                    )
        except BaseException:
            db.close()
            raise
        return db

    def _writer(self) -> Engine:
        return self.engine.execution_options(**{_WRITE_OPTION: True})

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.exec_driver_sql("PRAGMA user_version").scalar()
            if value == 0:
                tables = conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE type='table'"
                ).scalar()
                if tables:
                    raise LibraryError(
                        f"{self.path} is a database that ExoRef did not create.",
                        hint="choose an empty folder or an ExoRef library with --library",
                    )
            return int(value or 0)

    def _create_schema(self) -> None:
        with self._writer().begin() as conn:
            # Two processes may create the same new library at once: the second one waits
            # for the first one's IMMEDIATE transaction and then finds the schema in place.
            if conn.exec_driver_sql("PRAGMA user_version").scalar():
                return
            Base.metadata.create_all(conn)
            search_index.create(conn)
            conn.execute(
                insert(LibraryInfo),
                [
                    {"key": "created", "value": now().isoformat()},
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                ],
            )
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
        log.info("created library database %s (schema %d)", self.path, SCHEMA_VERSION)

    def _upgrade(self, version: int, backup_dir: Path) -> None:
        backup = self.backup(backup_dir, reason=f"before-upgrade-v{version}")
        log.info("upgrading %s from schema %d to %d (backup %s)", self.path, version,
                 SCHEMA_VERSION, backup)
        with self._writer().begin() as conn:
            if conn.exec_driver_sql("PRAGMA user_version").scalar() != version:
                return  # another process upgraded it while we waited
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](conn)
            conn.execute(
                text("UPDATE library_info SET value = :v WHERE key = 'schema_version'"),
                {"v": str(SCHEMA_VERSION)},
            )
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def backup(self, backup_dir: Path, *, reason: str) -> Path:
        """A consistent copy of the database (SQLite's online backup), safe while in use.

        The copy is written under a ``.partial`` name and renamed when complete, so that a
        full disk never leaves a truncated file that looks like a backup.
        """
        backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = now().strftime("%Y%m%d-%H%M%S")
        target = backup_dir / f"exoref-{stamp}-{reason}.sqlite"
        counter = 1
        while target.exists():
            counter += 1
            target = backup_dir / f"exoref-{stamp}-{reason}-{counter}.sqlite"
        partial = target.with_name(target.name + ".partial")
        try:
            source = sqlite3.connect(self.path)
            try:
                dest = sqlite3.connect(partial)
                try:
                    source.backup(dest)
                finally:
                    dest.close()
            finally:
                source.close()
            partial.replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        return target


def _make_engine(path: Path, busy_timeout: float) -> Engine:
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA cache_size=-32000")
            # Read through a memory map: search touches megabytes of index per query, and a
            # mapped page costs no read() call and no copy into SQLite's own cache.
            cursor.execute(f"PRAGMA mmap_size={MMAP_SIZE}")
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # Persistent once set; a read-only library keeps the mode it has.
                with contextlib.suppress(sqlite3.OperationalError):
                    cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
