"""Dialogs: the import summary, preferences, export.  Opened with ``open()``, never
``exec()``, so the window keeps running and tests can click them."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from exoref.domain.citekeys import make_citekey
from exoref.domain.models import Author, Reference
from exoref.gui.settings import EXPORT_FORMATS, EXPORT_SUFFIXES, Preferences

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.domain.models import Tag
    from exoref.services.importer import ImportResult

STATUS_LABELS = {"added": "Added", "duplicate": "Already in the library", "failed": "Failed"}
STATUS_COLOURS = {"added": "#15803d", "duplicate": "#6b7280", "failed": "#b91c1c"}
CITEKEY_TOKENS = ("auth", "Auth", "authors2", "year", "title", "shorttitle")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def summary_headline(results: Sequence[ImportResult], *, cancelled: bool = False) -> str:
    added = sum(r.status == "added" for r in results)
    dup = sum(r.status == "duplicate" for r in results)
    bad = sum(r.status == "failed" for r in results)
    parts = [f"{_plural(added, 'paper')} added"]
    if dup:
        parts.append(f"{_plural(dup, 'duplicate')}")
    if bad:
        parts.append(f"{bad} failed")
    text = ", ".join(parts)
    return f"Import cancelled: {text}" if cancelled else text


class ImportSummaryDialog(QDialog):
    """What an import did: each file, what became of it, and why a failure failed."""

    #: paths of the failed files to import again
    retry_requested = Signal(list)
    #: ids of the papers added, to select them
    show_added_requested = Signal(list)

    def __init__(
        self,
        results: Sequence[ImportResult],
        *,
        cancelled: bool = False,
        tag: Tag | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("import-summary")
        self.setWindowTitle("Import finished")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.results = list(results)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.headline = QLabel(summary_headline(self.results, cancelled=cancelled))
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.headline.setFont(font)
        layout.addWidget(self.headline)
        if tag is not None:
            layout.addWidget(QLabel(f"New and duplicate papers were tagged “{tag.name}”."))
        self.tree = QTreeWidget()
        self.tree.setObjectName("import-results")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["File", "Result"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 260)
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for status in ("failed", "added", "duplicate"):
            group = [r for r in self.results if r.status == status]
            if not group:
                continue
            top = QTreeWidgetItem([f"{STATUS_LABELS[status]} ({len(group)})", ""])
            top.setFont(0, bold)
            top.setForeground(0, QBrush(QColor(STATUS_COLOURS[status])))
            top.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(top)
            for result in group:
                detail = result.reason if status != "added" else (result.title or "(untitled)")
                item = QTreeWidgetItem([Path(result.path).name, detail])
                item.setToolTip(0, result.path)
                item.setToolTip(1, detail)
                item.setData(0, Qt.ItemDataRole.UserRole, result.path)
                top.addChild(item)
            top.setExpanded(status != "duplicate" or len(group) <= 10)
        self.tree.setMinimumSize(720, 300)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.retry_button = buttons.addButton("Retry failed",
                                              QDialogButtonBox.ButtonRole.ActionRole)
        self.retry_button.setEnabled(bool(self.retryable()))
        self.retry_button.clicked.connect(self._retry)
        self.show_button = buttons.addButton("Show added papers",
                                             QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.setEnabled(any(r.status == "added" for r in self.results))
        self.show_button.clicked.connect(self._show_added)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        close.setFocus()  # Enter closes it; the list does not start with a focus frame
        lines = len(self.results) + self.tree.topLevelItemCount()
        row = self.tree.fontMetrics().height() + 4
        self.resize(780, min(560, max(300, 170 + lines * row)))

    def retryable(self) -> list[Path]:
        """The failed files that still exist (bibliography entries are not files)."""
        return [Path(r.path) for r in self.results
                if r.status == "failed" and Path(r.path).is_file()]

    def _retry(self) -> None:
        self.retry_requested.emit(self.retryable())
        self.accept()

    def _show_added(self) -> None:
        self.show_added_requested.emit(
            [r.id for r in self.results if r.status == "added" and r.id is not None]
        )
        self.accept()


def pattern_problem(pattern: str) -> str | None:
    """Why a citation-key pattern is not usable, or ``None``."""
    if not pattern.strip():
        return "The pattern is empty."
    if pattern.count("[") != pattern.count("]"):
        return "A bracket is not closed."
    for token in re.findall(r"\[([^\]]*)\]", pattern):
        if token not in CITEKEY_TOKENS:
            return (f"[{token}] is not a token; use " +
                    ", ".join(f"[{t}]" for t in CITEKEY_TOKENS) + ".")
    return None


_EXAMPLE = Reference(
    title="Mesenchymal stem cell-derived exosomes: a new therapeutic approach to osteoarthritis?",
    authors=[Author("Mianehsaz", "Elaheh"), Author("Mirzaei", "Hamid Reza"),
             Author("Hamblin", "Michael R.")],
    year=2019,
)


class PreferencesDialog(QDialog):
    """Library location, citation-key pattern, export defaults."""

    def __init__(
        self,
        prefs: Preferences,
        *,
        citekey_pattern: str,
        library_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("preferences")
        self.setWindowTitle("Preferences")
        self.prefs = prefs
        layout = QVBoxLayout(self)

        library = QGroupBox("Library")
        form = QFormLayout(library)
        row = QHBoxLayout()
        self.library_edit = QLineEdit(prefs.library_dir or str(library_dir))
        self.library_edit.setObjectName("library-dir")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_library)
        row.addWidget(self.library_edit, 1)
        row.addWidget(browse)
        form.addRow("Location", row)
        note = QLabel("ExoRef opens this library at its next start (unless --library or "
                      "EXOREF_LIBRARY names another).")
        note.setWordWrap(True)
        note.setStyleSheet("color: #4b5563;")
        form.addRow("", note)
        layout.addWidget(library)

        keys = QGroupBox("Citation keys")
        form = QFormLayout(keys)
        self.pattern_edit = QLineEdit(citekey_pattern)
        self.pattern_edit.setObjectName("citekey-pattern")
        self.pattern_edit.textChanged.connect(self._pattern_changed)
        form.addRow("Pattern", self.pattern_edit)
        self.pattern_preview = QLabel()
        self.pattern_preview.setWordWrap(True)
        form.addRow("Example", self.pattern_preview)
        tokens = QLabel("Tokens: " + " ".join(f"[{t}]" for t in CITEKEY_TOKENS) +
                        ". New papers get keys from this pattern; existing keys never change "
                        "by themselves.")
        tokens.setWordWrap(True)
        tokens.setStyleSheet("color: #4b5563;")
        form.addRow("", tokens)
        layout.addWidget(keys)

        export = QGroupBox("Export defaults")
        form = QFormLayout(export)
        self.format_combo = QComboBox()
        for key, label in EXPORT_FORMATS.items():
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(list(EXPORT_FORMATS).index(prefs.export_format))
        form.addRow("Format", self.format_combo)
        self.unicode_box = QCheckBox("Write accented letters as Unicode, not LaTeX")
        self.unicode_box.setChecked(prefs.export_unicode)
        self.abstract_box = QCheckBox("Include abstracts")
        self.abstract_box.setChecked(prefs.export_include_abstract)
        self.file_box = QCheckBox("Include the paths of the PDFs")
        self.file_box.setChecked(prefs.export_include_file)
        for box in (self.unicode_box, self.abstract_box, self.file_box):
            form.addRow("", box)
        layout.addWidget(export)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._pattern_changed(citekey_pattern)
        self.resize(560, self.sizeHint().height())

    def _choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder",
                                                  self.library_edit.text())
        if folder:
            self.library_edit.setText(folder)

    def _pattern_changed(self, text: str) -> None:
        problem = pattern_problem(text)
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok_button.setEnabled(problem is None)
        if problem:
            self.pattern_preview.setText(f"<span style='color:#b91c1c'>{problem}</span>")
        else:
            self.pattern_preview.setText(f"<code>{make_citekey(_EXAMPLE, text)}</code>")

    def citekey_pattern(self) -> str:
        return self.pattern_edit.text().strip()

    def preferences(self) -> Preferences:
        return dataclasses.replace(
            self.prefs,
            library_dir=self.library_edit.text().strip(),
            export_format=str(self.format_combo.currentData()),
            export_unicode=self.unicode_box.isChecked(),
            export_include_abstract=self.abstract_box.isChecked(),
            export_include_file=self.file_box.isChecked(),
        )


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export, how, and where."""

    path: Path
    scope: str  # "selection" | "view" | "library"
    fmt: str = "bibtex"
    unicode: bool = False
    include_abstract: bool = True
    include_file: bool = False


class ExportDialog(QDialog):
    """Choose what to export (selection, the current view, the library), the format and the
    file.  The window does the export when the dialog is accepted."""

    def __init__(
        self,
        prefs: Preferences,
        *,
        selected: int,
        view_label: str,
        view_count: int,
        library_count: int,
        folder: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("export")
        self.setWindowTitle("Export")
        layout = QVBoxLayout(self)
        scope = QGroupBox("Export")
        scope_layout = QVBoxLayout(scope)
        self.scopes = QButtonGroup(self)
        self.scope_buttons: dict[str, QRadioButton] = {}
        for key, label, count in (
            ("selection", "The selected papers", selected),
            ("view", view_label, view_count),
            ("library", "The whole library", library_count),
        ):
            button = QRadioButton(f"{label} ({_plural(count, 'paper')})")
            button.setEnabled(count > 0)
            self.scopes.addButton(button)
            self.scope_buttons[key] = button
            scope_layout.addWidget(button)
        first = "selection" if selected > 1 else "view" if view_count else "library"
        self.scope_buttons[first].setChecked(True)
        layout.addWidget(scope)

        options = QGroupBox("Format")
        form = QFormLayout(options)
        self.format_combo = QComboBox()
        for key, label in EXPORT_FORMATS.items():
            self.format_combo.addItem(label, key)
        self.format_combo.setCurrentIndex(list(EXPORT_FORMATS).index(prefs.export_format))
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Format", self.format_combo)
        self.unicode_box = QCheckBox("Unicode instead of LaTeX accents")
        self.unicode_box.setChecked(prefs.export_unicode)
        self.abstract_box = QCheckBox("Include abstracts")
        self.abstract_box.setChecked(prefs.export_include_abstract)
        self.file_box = QCheckBox("Include the paths of the PDFs")
        self.file_box.setChecked(prefs.export_include_file)
        for box in (self.unicode_box, self.abstract_box, self.file_box):
            form.addRow("", box)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(str(folder / f"exoref{EXPORT_SUFFIXES[prefs.export_format]}"))
        self.path_edit.setObjectName("export-path")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_file)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        layout.addWidget(options)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        export = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        export.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def _format_changed(self) -> None:
        fmt = str(self.format_combo.currentData())
        path = Path(self.path_edit.text())
        self.path_edit.setText(str(path.with_suffix(EXPORT_SUFFIXES[fmt])))
        self.unicode_box.setEnabled(fmt in ("bibtex", "biblatex"))

    def _choose_file(self) -> None:
        fmt = str(self.format_combo.currentData())
        name, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.path_edit.text(),
            f"{EXPORT_FORMATS[fmt]} (*{EXPORT_SUFFIXES[fmt]});;All files (*)",
        )
        if name:
            self.path_edit.setText(name)

    def request(self) -> ExportRequest:
        scope = next(k for k, b in self.scope_buttons.items() if b.isChecked())
        return ExportRequest(
            path=Path(self.path_edit.text()).expanduser(),
            scope=scope,
            fmt=str(self.format_combo.currentData()),
            unicode=self.unicode_box.isChecked(),
            include_abstract=self.abstract_box.isChecked(),
            include_file=self.file_box.isChecked(),
        )
