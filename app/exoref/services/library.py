"""The library: a folder with the database and the managed files, opened once per process."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from exoref.domain.citekeys import DEFAULT_PATTERN
from exoref.paths import LibraryPaths
from exoref.storage.database import DEFAULT_BUSY_TIMEOUT, Database
from exoref.storage.orm import LibraryInfo

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

log = logging.getLogger("exoref.library")

#: Library settings kept in the database (they travel with the library), with defaults.
SETTING_DEFAULTS = {
    "citekey_pattern": DEFAULT_PATTERN,
}


class Library:
    """An open library.  Services take one; the CLI and the GUI make one at start-up."""

    def __init__(self, paths: LibraryPaths, db: Database) -> None:
        self.paths = paths
        self.db = db

    @classmethod
    def open(
        cls, root: Path, *, create: bool = True, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> Library:
        paths = LibraryPaths(root)
        db = Database.open(
            paths.database, create=create, backup_dir=paths.backups, busy_timeout=busy_timeout
        )
        paths.files.mkdir(parents=True, exist_ok=True)
        return cls(paths, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def setting(self, key: str) -> str:
        with self.db.read() as session:
            value = session.scalar(select(LibraryInfo.value).where(LibraryInfo.key == key))
        return value if value is not None else SETTING_DEFAULTS[key]

    def set_setting(self, key: str, value: str) -> None:
        if key not in SETTING_DEFAULTS:
            raise KeyError(key)
        with self.db.write() as session:
            session.merge(LibraryInfo(key=key, value=value))
