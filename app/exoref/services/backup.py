"""Backups of the library database: automatic ones (daily, before schema upgrades, before bulk
operations), ``exoref backup`` on request, and ``exoref restore``.

A backup is one SQLite file in the library's ``backups/`` folder, named so that the names sort
by time and say why they were made: ``exoref-2026-11-21T10-15-03-daily.sqlite`` (UTC).  Next to
it a small ``.json`` sidecar records the reason, the exact time, the schema version and the
number of papers; a backup without one (made by an older ExoRef, or the pre-upgrade copy that
``storage/database.py`` takes) is still listed, from its name and its header.

How a backup is made (SQLite's online backup API, as Zotero and ``sqlite3 .backup`` do): the
pages are copied from a read transaction, so the copy is the state of one commit even while
another window or ``exoref import`` writes (WAL: the writer is never blocked).  The copy goes
to a hidden temporary name, is switched out of WAL mode (one self-contained file), passes
``PRAGMA integrity_check``, is fsynced and only then renamed to its final name.  A full disk or
a read-only folder stops it with a message naming the folder; the temporary file is removed and
the library itself is never touched.

Which backups are kept (``rotate`` runs after every new backup; nothing else deletes one):

* the newest ``daily`` backups (7), the newest ``before-<operation>`` backups (10; restore's
  ``before-restore`` counts among them), and every pre-upgrade backup of the 3 newest schema
  versions that have one;
* always: the newest backup of all, every backup made after the database last changed (it
  holds the current state), and every other backup (``manual`` ones from ``exoref backup``,
  ``damaged`` copies, files ExoRef did not name): those are the user's to delete;
* ``automatic_daily`` makes no new daily backup while the database has not changed since the
  newest one, so a library left alone for weeks keeps its older daily backups.

Restore copies a backup *into* the live database with the same backup API, so the WAL and
the ``-shm`` index stay consistent and an open window sees the restored state.  It refuses a
damaged backup or one written by a newer ExoRef, backs the current database up first
(``before-restore``: a restore can be restored away), upgrades an older backup after copying
it, and never deletes a PDF.  Managed files that the restored database does not reference are
moved into ``backups/<before-restore backup>.files/``: left in ``files/`` they would be taken
for files of an interrupted import and deleted by the clean-up at the next import or window
start.  Files that the restored database references and that are missing from ``files/`` are
moved back from such folders when their SHA-256 matches; the rest are reported as missing.

PostgreSQL libraries are backed up with ``pg_dump``; the service says so instead of trying.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from exoref.errors import (
    DiskFullError,
    ExorefError,
    LibraryError,
    LibraryLockedError,
    NotFoundError,
    SchemaTooNewError,
    UsageError,
)
from exoref.paths import LibraryPaths
from exoref.services.check import CheckReport, CheckService
from exoref.storage import database
from exoref.storage.files import fsync_path, sha256_of
from exoref.storage.orm import AttachmentRow

if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable, Iterator

    from exoref.services.library import Library

log = logging.getLogger("exoref.backup")

BackupKind = Literal["daily", "upgrade", "operation", "manual"]

DAILY = "daily"
MANUAL = "manual"
BEFORE_RESTORE = "before-restore"
DAMAGED = "damaged"
#: Name of the reason of a pre-upgrade backup for schema ``n`` (as storage/database.py makes).
UPGRADE_PREFIX = "before-upgrade"
DAILY_INTERVAL = timedelta(hours=24)

_STAMP = "%Y-%m-%dT%H-%M-%S"
_PREFIX = "exoref-"
_SUFFIX = ".sqlite"
_SIDECAR = ".json"
_SET_ASIDE = ".files"
#: Hidden names of backups being written; left over only by a crash, swept after an hour.
_TMP_PREFIX = ".exoref-backup-"
_STALE_TMP = timedelta(hours=1)
#: ``exoref-2026-11-21T10-15-03-daily.sqlite``, ``...-before-merge_2.sqlite`` on a clash.
_NAME = re.compile(
    r"^exoref-(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)-(?P<reason>[a-z0-9][a-z0-9-]*?)"
    r"(?:_(?P<n>\d+))?\.sqlite$"
)
#: The older name storage/database.py writes: ``exoref-20261121-101503-before-upgrade-v1.sqlite``.
_LEGACY_NAME = re.compile(
    r"^exoref-(?P<stamp>\d{8}-\d{6})-(?P<reason>[a-z0-9][a-z0-9-]*?)(?:-(?P<n>\d+))?\.sqlite$"
)
_UPGRADE_VERSION = re.compile(r"^before-upgrade-v(\d+)")
_SLUG_DROP = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many automatic backups of each kind :meth:`BackupService.rotate` keeps."""

    daily: int = 7
    operations: int = 10
    #: pre-upgrade backups are kept for this many of the newest schema versions
    upgrade_versions: int = 3


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """One backup file.  ``created`` is naive UTC, as every time in the library."""

    path: Path
    created: datetime
    reason: str
    kind: BackupKind
    schema_version: int | None = None
    papers: int | None = None
    size: int = 0

    @property
    def name(self) -> str:
        return self.path.name

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "created": self.created.isoformat(),
            "reason": self.reason,
            "kind": self.kind,
            "schema_version": self.schema_version,
            "papers": self.papers,
            "size": self.size,
        }


@dataclass(slots=True)
class RestoreReport:
    """What a restore did, and what the restored library lacks."""

    restored: BackupInfo
    #: the backup of the database as it was just before; restore it to undo this restore
    undo: BackupInfo | None
    papers: int
    #: schema version of the backup when it had to be upgraded after copying, else None
    upgraded_from: int | None = None
    #: files (relative to the library) the restored database references that are not there
    missing_files: list[str] = field(default_factory=list)
    #: files it no longer references, moved (not deleted) into ``set_aside_dir``
    set_aside: list[str] = field(default_factory=list)
    set_aside_dir: Path | None = None
    #: referenced files moved back into files/ from an earlier restore's set-aside folder
    brought_back: list[str] = field(default_factory=list)
    #: ``exoref check`` on the restored library (integrity, index, files)
    check: CheckReport = field(default_factory=CheckReport)

    def to_json(self) -> dict[str, object]:
        return {
            "restored": self.restored.to_json(),
            "undo": self.undo.to_json() if self.undo else None,
            "papers": self.papers,
            "upgraded_from": self.upgraded_from,
            "missing_files": self.missing_files,
            "set_aside": self.set_aside,
            "set_aside_dir": str(self.set_aside_dir) if self.set_aside_dir else None,
            "brought_back": self.brought_back,
            "check": self.check.to_json(),
        }


class _DamagedDatabaseError(LibraryError):
    """The live database cannot be copied as a sound backup."""


class BackupService:
    """Backups of one library.

    Takes an open :class:`Library`, or only its :class:`LibraryPaths` when the database cannot
    be opened (a damaged library is exactly when ``exoref restore`` is needed).
    """

    def __init__(
        self,
        library: Library | LibraryPaths,
        *,
        policy: RetentionPolicy | None = None,
        busy_timeout: float = database.DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if isinstance(library, LibraryPaths):
            self.library: Library | None = None
            self.paths = library
        else:
            self.library = library
            self.paths = library.paths
            busy_timeout = library.db.busy_timeout
        self.policy = policy or RetentionPolicy()
        self.busy_timeout = busy_timeout

    @property
    def folder(self) -> Path:
        return self.paths.backups

    # == making backups ==========================================================================

    def create(self, reason: str = MANUAL) -> BackupInfo:
        """A new backup of the live database, then :meth:`rotate`."""
        return self._create(_slug(reason))

    def before_bulk(self, operation: str) -> BackupInfo | None:
        """Always a new backup, ``before-<operation>``: call it before an operation that
        deletes or rewrites many papers; if it raises, do not run the operation.

        ``None`` only for a library this service cannot copy (PostgreSQL: ``pg_dump``'s job).
        """
        if not self._is_sqlite():
            log.warning("no backup before %s: PostgreSQL libraries are backed up with pg_dump",
                        operation)
            return None
        return self._create("before-" + _slug(operation))

    def set_aside(self, backup: BackupInfo, relative: str) -> Path:
        """Move a managed file (``files/...``) beside ``backup`` instead of deleting it, so that
        restoring that backup brings it back; the file's new place."""
        source = self.paths.root / relative
        target = self.folder / f"{backup.path.name[: -len(_SUFFIX)]}{_SET_ASIDE}" / relative
        _move(source, target)
        return target

    def automatic_daily(self) -> BackupInfo | None:
        """A ``daily`` backup when the newest one is more than 24 hours old and the database
        changed since; otherwise nothing (a directory listing and two ``stat`` calls)."""
        if not self._is_sqlite() or not self._live_exists():
            return None
        current = database.now()
        # a backup stamped in the future (the clock was wrong) must not stop daily backups
        dailies = [b for b in self._scan(read_sidecars=False)
                   if b.kind == "daily" and b.created <= current + timedelta(hours=1)]
        if dailies:
            newest = dailies[0]
            if current - newest.created < DAILY_INTERVAL:
                return None
            changed = self._live_changed()
            if changed is not None and changed <= newest.created:
                return None
        return self._create(DAILY)

    def _create(self, reason: str, *, protect: Iterable[Path] = ()) -> BackupInfo:
        self._require_sqlite()
        if not self._live_exists():
            raise NotFoundError(
                f"There is no library database at {self.paths.database} to back up.",
                hint="check --library",
            )
        folder = self.folder
        created = database.now()
        tmp: Path | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._sweep_temporaries()
            fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_SUFFIX, dir=folder)
            os.close(fd)
            tmp = Path(tmp_name)
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(self.paths.database.stat().st_mode))
            schema, papers = _copy_database(self.paths.database, tmp, self.busy_timeout)
            fsync_path(tmp)
            target = self._free_name(created, reason)
            os.replace(tmp, target)
            tmp = None
            info = BackupInfo(target, created, reason, _kind(reason), schema, papers,
                              target.stat().st_size)
            _write_sidecar(info)
            fsync_path(folder)
        except (OSError, sqlite3.Error) as exc:
            translated = self._error(exc, reason)
            if translated is None:
                raise
            raise translated from exc
        finally:
            if tmp is not None:
                _remove(tmp, Path(f"{tmp}-journal"))
        log.info("backup %s (%s papers, %d bytes)", info.path.name, papers, info.size)
        self.rotate(protect=[info.path, *protect])
        return info

    def _free_name(self, created: datetime, reason: str) -> Path:
        base = f"{_PREFIX}{created.strftime(_STAMP)}-{reason}"
        target = self.folder / f"{base}{_SUFFIX}"
        counter = 1
        while target.exists():
            counter += 1
            target = self.folder / f"{base}_{counter}{_SUFFIX}"
        return target

    def _sweep_temporaries(self) -> None:
        limit = datetime.now(UTC).timestamp() - _STALE_TMP.total_seconds()
        for path in self.folder.glob(_TMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < limit:
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()

    # == listing and rotation ====================================================================

    def list(self) -> builtins.list[BackupInfo]:
        """Every backup in ``backups/``, newest first."""
        return self._scan(read_sidecars=True)

    def _scan(self, *, read_sidecars: bool) -> builtins.list[BackupInfo]:
        if not self.folder.is_dir():
            return []
        found: builtins.list[tuple[BackupInfo, int]] = []
        for path in self.folder.iterdir():
            info = _parse_name(path)
            if info is None:
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if read_sidecars:
                info = _with_details(info, st.st_size)
            found.append((info, st.st_mtime_ns))
        found.sort(key=lambda pair: (pair[0].created, pair[1], pair[0].path.name), reverse=True)
        return [info for info, _mtime in found]

    def rotate(self, *, protect: Iterable[Path] = ()) -> builtins.list[Path]:
        """Delete the automatic backups the policy no longer keeps (see the module's doc);
        the paths deleted."""
        backups = self.list()
        if len(backups) <= 1:
            return []
        keep = {Path(p) for p in protect}
        keep.add(backups[0].path)
        changed = self._live_changed()
        if changed is not None:
            keep.update(b.path for b in backups if b.created >= changed)
        policy = self.policy
        keep.update(b.path for b in backups if b.kind == "manual")
        keep.update(b.path for b in [b for b in backups if b.kind == "daily"][: policy.daily])
        keep.update(b.path for b in
                    [b for b in backups if b.kind == "operation"][: policy.operations])
        upgrades = [b for b in backups if b.kind == "upgrade"]
        versions = sorted({b.schema_version for b in upgrades if b.schema_version is not None},
                          reverse=True)[: policy.upgrade_versions]
        keep.update(b.path for b in upgrades
                    if b.schema_version is None or b.schema_version in versions)
        deleted: builtins.list[Path] = []
        for backup in backups:
            if backup.path in keep:
                continue
            try:
                backup.path.unlink()
            except OSError as exc:
                log.warning("cannot delete old backup %s: %s", backup.path, exc)
                continue
            _remove(_sidecar(backup.path))
            deleted.append(backup.path)
            log.info("deleted old backup %s", backup.path.name)
        return deleted

    def find(self, which: str) -> BackupInfo:
        """The backup a person names: ``latest``, a file name in ``backups/``, or a path."""
        if which == "latest":
            backups = self.list()
            if not backups:
                raise NotFoundError(f"There are no backups in {self.folder}.",
                                    hint="`exoref backup` makes one")
            return backups[0]
        candidate = Path(which).expanduser()
        if not candidate.is_file() and (self.folder / which).is_file():
            candidate = self.folder / which
        for backup in self.list():
            if candidate.is_file() and backup.path.resolve() == candidate.resolve():
                return backup
        return self.inspect(candidate)

    # == restore =================================================================================

    def inspect(self, path: Path) -> BackupInfo:
        """Check that ``path`` can be restored: a sound ExoRef database this release reads.

        Raises :class:`LibraryError` for a damaged file or one that is not an ExoRef library,
        :class:`SchemaTooNewError` for one written by a newer ExoRef.
        """
        if not path.is_file():
            raise NotFoundError(f"There is no backup {path}.",
                                hint="`exoref backup --list` shows the backups")
        try:
            conn = _open_read_only(path)
            try:
                problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                has_papers = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='papers'"
                ).fetchone()[0]
                papers = int(conn.execute("SELECT count(*) FROM papers").fetchone()[0]) \
                    if has_papers else None
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(
                f"The backup {path} is damaged or is not an ExoRef database ({exc}).",
                hint="choose another backup; the library was not changed",
            ) from exc
        if problems != ["ok"]:
            raise LibraryError(
                f"The backup {path} is damaged: SQLite's integrity check found "
                f"{len(problems)} problem(s), the first: {problems[0]}.",
                hint="choose another backup; the library was not changed",
            )
        if version == 0 or papers is None:
            raise LibraryError(f"{path} is not an ExoRef library database.",
                               hint="choose a backup from the library's backups/ folder")
        if version > database.SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"The backup {path.name} was written by a newer ExoRef (schema {version}, "
                f"this one reads up to {database.SCHEMA_VERSION}).",
                hint="update ExoRef to restore it; the library was not changed",
            )
        named = _parse_name(path)
        created = named.created if named else _mtime(path)
        reason = named.reason if named else "external"
        kind: BackupKind = named.kind if named else "manual"
        return BackupInfo(path, created, reason, kind, version, papers, path.stat().st_size)

    def restore(self, backup: BackupInfo | Path) -> RestoreReport:
        """Make the library's database the one in ``backup`` (see the module's doc)."""
        self._require_sqlite()
        source = backup.path if isinstance(backup, BackupInfo) else Path(backup)
        live = self.paths.database
        if live.exists() and source.resolve() == live.resolve():
            raise UsageError("That is the library's own database, not a backup.")
        info = self.inspect(source)
        undo = self._save_live(protect=source)
        upgraded_from: int | None = None
        with self._staging() as staging:
            copy_from = source
            if info.schema_version is not None and info.schema_version < database.SCHEMA_VERSION:
                copy_from = self._upgraded_copy(source, staging)
                upgraded_from = info.schema_version
            try:
                self._write_into_live(copy_from)
            except (OSError, sqlite3.Error) as exc:
                translated = _translate_live(exc, live, undo)
                if translated is None:
                    raise
                raise translated from exc
        log.info("restored %s into %s (undo: %s)", source, live, undo.path.name if undo else "-")
        report = RestoreReport(restored=info, undo=undo, papers=0, upgraded_from=upgraded_from)
        with self._open_library() as library:
            self._reconcile_files(library, report)
            report.check = CheckService(library).check(verify_hashes=False)
        report.papers = report.check.papers
        return report

    def _save_live(self, *, protect: Path) -> BackupInfo | None:
        """The ``before-restore`` backup; a damaged database is copied byte for byte."""
        if not self._live_exists():
            return None
        try:
            return self._create(BEFORE_RESTORE, protect=[protect])
        except _DamagedDatabaseError:
            return self._copy_damaged()

    def _copy_damaged(self) -> BackupInfo:
        created = database.now()
        target = self._free_name(created, DAMAGED)
        copied: builtins.list[Path] = []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal"):
                source = Path(f"{self.paths.database}{suffix}")
                if source.exists():
                    dest = Path(f"{target}{suffix}")
                    copied.append(dest)
                    shutil.copyfile(source, dest)
                    fsync_path(dest)
            fsync_path(self.folder)
        except OSError as exc:
            _remove(*copied)
            raise self._error(exc, DAMAGED) or exc from exc
        log.warning("the library database is damaged; kept a raw copy as %s", target.name)
        return BackupInfo(target, created, DAMAGED, "manual", None, None, target.stat().st_size)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        """A temporary folder's path inside backups/ (made by whoever needs it), removed
        afterwards; a crash leaves it to the hourly sweep of :meth:`_sweep_temporaries`."""
        path = self.folder / f"{_TMP_PREFIX}{os.getpid()}-restore"
        try:
            yield path
        finally:
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)

    def _upgraded_copy(self, source: Path, staging: Path) -> Path:
        """``source`` copied into ``staging`` and upgraded to this release's schema."""
        staging.mkdir(parents=True, exist_ok=True)
        staged = staging / "restore.sqlite"
        try:
            src = _open_read_only(source)
            try:
                dst = sqlite3.connect(staged)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc, BEFORE_RESTORE) or exc from exc
        # The upgrade takes its own pre-upgrade copy: let it land in the staging folder.
        database.Database.open(staged, create=False, backup_dir=staging / "backups",
                               busy_timeout=self.busy_timeout).close()
        return staged

    def _write_into_live(self, source: Path) -> None:
        live = self.paths.database
        src = _open_read_only(source)
        try:
            try:
                dst = sqlite3.connect(live, timeout=self.busy_timeout)
                try:
                    src.backup(dst)
                    if str(dst.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                        dst.execute("PRAGMA journal_mode=WAL")
                finally:
                    dst.close()
            except sqlite3.DatabaseError as exc:
                if not _is_damage(exc):
                    raise
                # The live file is too damaged to be written page by page; its bytes are
                # already kept in backups/ (see _copy_damaged).
                self._replace_live(src)
        finally:
            src.close()

    def _replace_live(self, src: sqlite3.Connection) -> None:
        if self.library is not None:
            raise LibraryError(
                "The library database is too damaged to be restored while it is open.",
                hint="close ExoRef and run `exoref restore` from the command line",
            )
        live = self.paths.database
        fd, tmp_name = tempfile.mkstemp(prefix=".exoref-restore-", suffix=_SUFFIX,
                                        dir=live.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
            finally:
                dst.close()
            fsync_path(tmp)
            for suffix in ("-wal", "-shm"):
                _remove(Path(f"{live}{suffix}"))
            os.replace(tmp, live)
            fsync_path(live.parent)
        finally:
            _remove(tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal"))

    @contextlib.contextmanager
    def _open_library(self) -> Iterator[Library]:
        if self.library is not None:
            yield self.library
            return
        from exoref.services.library import Library

        library = Library.open(self.paths.root, create=False, busy_timeout=self.busy_timeout)
        try:
            yield library
        finally:
            library.close()

    def _reconcile_files(self, library: Library, report: RestoreReport) -> None:
        """Move unreferenced managed files aside, bring referenced ones back (module doc)."""
        paths = self.paths
        with library.db.read() as session:
            wanted = {row.path: (row.sha256, row.size) for row in session.scalars(
                select(AttachmentRow))}
        stem = (report.undo.path.name[: -len(_SUFFIX)] if report.undo is not None
                else f"{_PREFIX}{database.now().strftime(_STAMP)}-set-aside")
        aside = self.folder / f"{stem}{_SET_ASIDE}"
        if paths.files.is_dir():
            for dirpath, _dirs, names in os.walk(paths.files):
                for name in sorted(names):
                    path = Path(dirpath) / name
                    relative = path.relative_to(paths.root).as_posix()
                    if relative in wanted:
                        continue
                    try:
                        _move(path, aside / relative)
                    except OSError as exc:
                        log.warning("cannot move unreferenced file %s aside: %s", relative, exc)
                        continue
                    report.set_aside.append(relative)
        if report.set_aside:
            report.set_aside_dir = aside
            log.info("moved %d unreferenced files to %s", len(report.set_aside), aside)
        earlier = sorted((p for p in self.folder.glob(f"*{_SET_ASIDE}") if p != aside),
                         reverse=True) if self.folder.is_dir() else []
        for relative, (digest, size) in sorted(wanted.items()):
            try:
                target = paths.attachment(relative)
            except ValueError:
                report.missing_files.append(relative)
                continue
            if target.is_file():
                continue
            if self._bring_back(relative, target, digest, size, earlier):
                report.brought_back.append(relative)
            else:
                report.missing_files.append(relative)
        for folder in earlier:
            _remove_empty_dirs(folder)

    @staticmethod
    def _bring_back(
        relative: str, target: Path, digest: str, size: int, folders: Iterable[Path]
    ) -> bool:
        for folder in folders:
            candidate = folder / relative
            try:
                if not candidate.is_file() or candidate.stat().st_size != size:
                    continue
                if sha256_of(candidate)[0] != digest:
                    continue
                _move(candidate, target)
            except OSError as exc:
                log.warning("cannot bring back %s from %s: %s", relative, folder, exc)
                continue
            return True
        return False

    # == helpers =================================================================================

    def _dialect(self) -> str:
        return self.library.db.engine.dialect.name if self.library is not None else "sqlite"

    def _is_sqlite(self) -> bool:
        return self._dialect() == "sqlite"

    def _require_sqlite(self) -> None:
        dialect = self._dialect()
        if dialect != "sqlite":
            raise LibraryError(
                f"This library is kept in a {dialect} database; ExoRef's backups copy SQLite "
                "libraries only.",
                hint="back it up with pg_dump (e.g. `pg_dump -Fc -f exoref.dump DBNAME`) and "
                "restore it with pg_restore",
            )

    def _live_exists(self) -> bool:
        try:
            return self.paths.database.stat().st_size > 0
        except OSError:
            return False

    def _live_changed(self) -> datetime | None:
        """When the database last changed: its file, or its WAL once it holds a commit (a
        reader creates an empty WAL, which is no change)."""
        stamps: builtins.list[float] = []
        for suffix in ("", "-wal"):
            try:
                st = Path(f"{self.paths.database}{suffix}").stat()
            except OSError:
                continue
            if suffix == "" or st.st_size > 0:
                stamps.append(st.st_mtime)
        if not stamps:
            return None
        return datetime.fromtimestamp(max(stamps), UTC).replace(tzinfo=None)

    def _error(self, exc: BaseException, reason: str) -> ExorefError | None:
        """A message naming the backup folder for a full disk, a read-only folder, a busy
        or damaged database; ``None`` for anything else (a bug)."""
        folder = self.folder
        # SQLite says what happened in words; an OSError's text holds a path, so only its
        # number counts
        message = str(exc).lower() if isinstance(exc, sqlite3.Error) else ""
        number = exc.errno if isinstance(exc, OSError) else None
        if number in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in message:
            return DiskFullError(
                f"No space left for the {reason} backup in {folder}.",
                hint="free some space on that disk and try again; the library was not changed "
                "and no partial backup was left",
            )
        if number in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in message \
                or "read-only" in message or "unable to open database file" in message:
            return LibraryError(
                f"Cannot write the {reason} backup into {folder}: the folder is read-only.",
                hint="check the folder's permissions and free space; the library was not "
                "changed",
            )
        if "locked" in message or "busy" in message:
            return LibraryLockedError(
                f"The library {self.paths.root} stayed busy; the {reason} backup was not made.",
                hint="wait for the other ExoRef process to finish, then try again",
            )
        if isinstance(exc, sqlite3.DatabaseError) and _is_damage(exc):
            return _DamagedDatabaseError(
                f"The library database {self.paths.database} is damaged ({exc}); the {reason} "
                "backup was not made.",
                hint="restore a sound backup with `exoref restore`",
            )
        return None


# -- module helpers ----------------------------------------------------------------------------


def _slug(reason: str) -> str:
    slug = _SLUG_DROP.sub("-", reason.strip().lower()).strip("-")[:60].strip("-")
    if not slug:
        raise UsageError(f"A backup needs a reason made of letters or digits, not {reason!r}.")
    return slug


def _kind(reason: str) -> BackupKind:
    if reason == DAILY:
        return "daily"
    if reason.startswith(UPGRADE_PREFIX):
        return "upgrade"
    if reason.startswith("before-"):
        return "operation"
    return "manual"


def _parse_name(path: Path) -> BackupInfo | None:
    match = _NAME.match(path.name)
    fmt = _STAMP
    if match is None:
        match = _LEGACY_NAME.match(path.name)
        fmt = "%Y%m%d-%H%M%S"
    if match is None:
        return None
    try:
        created = datetime.strptime(match["stamp"], fmt)
    except ValueError:
        return None
    reason = match["reason"]
    kind = _kind(reason)
    version: int | None = None
    upgrade = _UPGRADE_VERSION.match(reason)
    if kind == "upgrade" and upgrade:
        version = int(upgrade.group(1))
    return BackupInfo(path, created, reason, kind, version)


def _sidecar(path: Path) -> Path:
    return path.with_suffix(_SIDECAR)


def _write_sidecar(info: BackupInfo) -> None:
    """The sidecar is a convenience: a backup without one is still listed and restorable."""
    data = info.to_json()
    del data["path"]
    target = _sidecar(info.path)
    tmp = target.with_name(_TMP_PREFIX + target.name)
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        log.warning("backup %s has no sidecar: %s", info.path.name, exc)


def _with_details(info: BackupInfo, size: int) -> BackupInfo:
    """``info`` with the sidecar's exact time, schema and paper count, or the header's."""
    created, version, papers = info.created, info.schema_version, None
    try:
        data = json.loads(_sidecar(info.path).read_text(encoding="utf-8"))
        created = datetime.fromisoformat(data["created"])
        version = data.get("schema_version", version)
        papers = data.get("papers")
    except (OSError, ValueError, KeyError, TypeError):
        version = version if version is not None else _header_version(info.path)
    return BackupInfo(info.path, created, info.reason, info.kind, version, papers, size)


def _header_version(path: Path) -> int | None:
    """``PRAGMA user_version`` read from the file header (bytes 60-63), without SQLite."""
    try:
        with path.open("rb") as handle:
            header = handle.read(64)
    except OSError:
        return None
    if len(header) < 64 or not header.startswith(b"SQLite format 3\x00"):
        return None
    return int.from_bytes(header[60:64], "big")


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def _copy_database(source: Path, target: Path, busy_timeout: float) -> tuple[int, int | None]:
    """Copy ``source`` into the new file ``target`` with the online backup API, as one
    self-contained file that passed ``integrity_check``; its schema version and paper count."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True,
                          timeout=busy_timeout)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one commit's state
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [str(r[0]) for r in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(
                    f"database disk image is malformed: {problems[0]}")
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
            try:
                papers: int | None = int(dst.execute("SELECT count(*) FROM papers").fetchone()[0])
            except sqlite3.OperationalError:
                papers = None
        finally:
            dst.close()
    finally:
        src.close()
    return version, papers


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that leaves no ``-wal``/``-shm`` beside a backup file; a file
    with a non-empty WAL beside it (a live library) is read with that WAL."""
    wal = Path(f"{path}-wal")
    live = wal.exists() and wal.stat().st_size > 0
    options = "mode=ro" if live else "mode=ro&immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True)


def _is_damage(exc: BaseException) -> bool:
    message = str(exc).lower()
    return "malformed" in message or "not a database" in message or "corrupt" in message


def _translate_live(exc: BaseException, live: Path, undo: BackupInfo | None) -> ExorefError | None:
    message = str(exc).lower() if isinstance(exc, sqlite3.Error) else ""
    number = exc.errno if isinstance(exc, OSError) else None
    if number in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in message:
        return DiskFullError(
            f"No space left on the disk holding {live.parent}; the restore did not finish.",
            hint="free some space and run it again; the database as it was is kept in "
            f"{undo.path}" if undo else "free some space and run it again",
        )
    if "locked" in message or "busy" in message:
        return LibraryLockedError(
            f"The library {live.parent} stayed busy; the restore was not made.",
            hint="close other ExoRef windows and imports, then try again",
        )
    return None


def _move(source: Path, target: Path) -> None:
    """Move a file without ever replacing one (the caller checked ``target`` is free)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(errno.EEXIST, "already there", str(target))
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        try:
            shutil.copy2(source, target)
        except BaseException:
            _remove(target)
            raise
        source.unlink()


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError, OSError):
            path.unlink()


def _remove_empty_dirs(folder: Path) -> None:
    for dirpath, _dirs, _names in sorted(os.walk(folder), key=lambda t: len(t[0]), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)
