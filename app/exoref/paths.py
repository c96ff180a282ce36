"""Where the library, configuration and caches live.

The library folder defaults to the platformdirs user data dir; ``--library DIR`` on the command
line or the ``EXOREF_LIBRARY`` environment variable override it (the command line wins).  Tests
always set one of them, so they never touch a user's real library.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from exoref import APP_NAME

log = logging.getLogger("exoref.paths")

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


def read_json_object(path: Path) -> dict[str, Any]:
    """A small settings or state file (a JSON object): ``{}`` when there is none yet, or when
    it cannot be read (logged: a damaged settings file must not stop ExoRef)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return raw if isinstance(raw, dict) else {}


def write_json_atomically(path: Path, data: dict[str, Any], *, indent: int | None = 2) -> None:
    """Write a settings or state file whole or not at all (a temporary file, then a rename),
    creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=indent), encoding="utf-8")
    tmp.replace(path)
