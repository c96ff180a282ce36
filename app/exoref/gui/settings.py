"""Typed preferences with defaults, kept apart from the window's state (Picard's options).

Two INI files in the config folder (``$EXOREF_CONFIG_DIR`` or the platform's, so tests never
touch a user's settings): ``preferences.ini`` holds what the user chose in Preferences,
versioned and upgraded step by step like the database; ``window-state.ini`` holds geometry,
splitter sizes and table columns, which may be thrown away at any time.

Settings that travel with a library (the citation-key pattern) live in the library itself
(:meth:`exoref.services.library.Library.setting`).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings

from exoref.paths import config_dir

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = logging.getLogger("exoref.gui.settings")

PREFERENCES_FILE = "preferences.ini"
WINDOW_STATE_FILE = "window-state.ini"

#: Version of the preferences written by this release; ``UPGRADES[n]`` upgrades n-1 to n.
PREFERENCES_VERSION = 1
UPGRADES: dict[int, Callable[[QSettings], None]] = {}

EXPORT_FORMATS = {
    "bibtex": "BibTeX (.bib)",
    "biblatex": "BibLaTeX (.bib)",
    "ris": "RIS (.ris)",
    "csljson": "CSL-JSON (.json)",
}
EXPORT_SUFFIXES = {"bibtex": ".bib", "biblatex": ".bib", "ris": ".ris", "csljson": ".json"}


@dataclass(slots=True)
class Preferences:
    """What the user chose in the Preferences dialog.  Every field has a default."""

    #: the library opened when neither --library nor $EXOREF_LIBRARY says otherwise
    library_dir: str = ""
    export_format: str = "bibtex"
    export_unicode: bool = False
    export_include_abstract: bool = True
    export_include_file: bool = False

    @classmethod
    def load(cls, store: QSettings) -> Preferences:
        upgrade(store)
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            default = item.default
            values[item.name] = _typed(store.value(item.name, default), default)
        prefs = cls(**values)
        if prefs.export_format not in EXPORT_FORMATS:
            prefs.export_format = "bibtex"
        return prefs

    def save(self, store: QSettings) -> None:
        for item in dataclasses.fields(self):
            store.setValue(item.name, getattr(self, item.name))
        store.setValue("version", PREFERENCES_VERSION)
        store.sync()


def _typed(raw: object, default: object) -> object:
    """INI files give strings back: turn ``raw`` into the type of ``default``."""
    if raw is None:
        return default
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(str(raw))
        except ValueError:
            return default
    return str(raw)


def upgrade(store: QSettings) -> None:
    """Bring preferences written by an older release up to :data:`PREFERENCES_VERSION`."""
    raw = store.value("version", 0)
    version = int(str(raw)) if str(raw).isdigit() else 0
    if not store.allKeys():
        return  # a first start: nothing to upgrade
    for target in range(version + 1, PREFERENCES_VERSION + 1):
        step = UPGRADES.get(target)
        if step is not None:
            log.info("upgrading preferences to version %d", target)
            step(store)
    if version < PREFERENCES_VERSION:
        store.setValue("version", PREFERENCES_VERSION)


class WindowState:
    """Geometry, splitter and column layout: plain blobs, safe to lose."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def blob(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_blob(self, key: str, value: QByteArray) -> None:
        self.store.setValue(key, value)

    def text(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return str(value) if value is not None else default

    def set_text(self, key: str, value: str) -> None:
        self.store.setValue(key, value)

    def sync(self) -> None:
        self.store.sync()


class Settings:
    """The preferences and the window state of one user."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder if folder is not None else config_dir()
        self.folder = folder
        self.preferences_store = QSettings(
            str(folder / PREFERENCES_FILE), QSettings.Format.IniFormat
        )
        self.state = WindowState(QSettings(str(folder / WINDOW_STATE_FILE),
                                           QSettings.Format.IniFormat))
        self.preferences = Preferences.load(self.preferences_store)

    def save_preferences(self, prefs: Preferences) -> None:
        self.preferences = prefs
        prefs.save(self.preferences_store)
