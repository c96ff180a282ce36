"""Typed preferences with defaults, kept apart from the window's state (Picard's options).

Two INI files in the config folder (``$EXOREF_CONFIG_DIR`` or the platform's, so tests never
touch a user's settings): ``preferences.ini`` holds what the user chose in Preferences,
versioned and upgraded step by step like the database; ``window-state.ini`` holds geometry,
splitter sizes and table columns, which may be thrown away at any time.

Settings that travel with a library live in the library itself: the citation-key pattern
(:meth:`exoref.services.library.Library.setting`) and the tagging threshold
(:attr:`exoref.services.tagging.TaggingService.threshold`), so that every copy of the window,
and the command line, tag a library the same way.  :class:`TaggingPreferencesBox` is the
Preferences section for the threshold; the window adds it to the dialog and stores the value
with :meth:`~exoref.services.tagging.TaggingService.set_threshold`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

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


#: The threshold's slider works in hundredths.
_STEPS = 100


class TaggingPreferencesBox(QGroupBox):
    """The "Automatic tagging" section of Preferences: the threshold at which a suggestion is
    applied without asking, and whether to tag the papers already in the library again."""

    def __init__(self, threshold: float, default: float, parent: QWidget | None = None) -> None:
        super().__init__("Automatic tagging", parent)
        self.setObjectName("tagging-preferences")
        self.initial = threshold
        self.default = default
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(5, _STEPS)
        self.slider.setPageStep(5)
        self.spin = QDoubleSpinBox()
        self.spin.setObjectName("tagging-threshold")
        self.spin.setRange(0.05, 1.0)
        self.spin.setSingleStep(0.05)
        self.spin.setDecimals(2)
        self.reset = QPushButton("Default")
        self.reset.setToolTip(f"Back to {default:.2f}")
        self.reset.clicked.connect(lambda: self.set_threshold(self.default))
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(self.reset)
        form.addRow("Threshold", row)
        note = QLabel(
            "Suggestions scoring at least this are applied and marked “auto”; the others wait "
            "in the details pane for one click. Lower means more automatic tags, and more "
            "mistakes to remove."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #4b5563;")
        form.addRow("", note)
        self.apply_now = QCheckBox("Tag the papers already in the library again")
        self.apply_now.setToolTip("Otherwise the new threshold applies to papers imported or "
                                  "re-tagged from now on. Tags you added, confirmed or "
                                  "removed stay as they are.")
        form.addRow("", self.apply_now)
        self.slider.valueChanged.connect(lambda v: self.spin.setValue(v / _STEPS))
        self.spin.valueChanged.connect(self._spin_changed)
        self.set_threshold(threshold)

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * _STEPS))
        self.slider.blockSignals(False)
        self.reset.setEnabled(abs(value - self.default) > 1e-9)
        self.apply_now.setChecked(abs(value - self.initial) > 1e-9)

    def set_threshold(self, value: float) -> None:
        self.spin.setValue(value)
        self._spin_changed(self.spin.value())

    def threshold(self) -> float:
        return round(self.spin.value(), 2)

    def changed(self) -> bool:
        return abs(self.threshold() - round(self.initial, 2)) > 1e-9
