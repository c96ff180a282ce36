"""Where the library, configuration and caches live.

The library folder defaults to the platformdirs user data dir; ``--library DIR`` on the command
line or the ``EXOREF_LIBRARY`` environment variable override it (the command line wins).  Tests
always set one of them, so they never touch a user's real library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from exoref import APP_NAME

ENV_LIBRARY = "EXOREF_LIBRARY"
ENV_CONFIG = "EXOREF_CONFIG_DIR"
DATABASE_NAME = "exoref.sqlite"
FILES_DIR = "files"
BACKUPS_DIR = "backups"


def default_library_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def resolve_library_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The library folder chosen by the command line, the environment, or the default."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser().resolve()
    return default_library_dir()


@dataclass(frozen=True, slots=True)
class LibraryPaths:
    """The layout of one library folder."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DATABASE_NAME

    @property
    def files(self) -> Path:
        return self.root / FILES_DIR

    @property
    def backups(self) -> Path:
        return self.root / BACKUPS_DIR

    def attachment(self, relative: str) -> Path:
        """The absolute path of a managed file; refuses paths that leave the library."""
        candidate = (self.root / relative).resolve()
        files = self.files.resolve()
        if files not in candidate.parents:
            raise ValueError(f"attachment path escapes the library: {relative!r}")
        return candidate
