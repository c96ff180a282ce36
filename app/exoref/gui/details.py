"""The details pane: the selected paper's metadata (editable), tags, abstract, thumbnail,
attachments, and where a search matched it.

The pane does not save anything itself: it emits what the user changed and the window turns
that into an undoable command that calls the services.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import QFocusEvent, QFontDatabase, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCompleter,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from exoref.domain.models import Author, Tag, TagKind
from exoref.gui.flow import FlowLayout
from exoref.gui.icons import icon

if TYPE_CHECKING:
    from exoref.domain.models import Attachment, Reference

log = logging.getLogger("exoref.gui.details")

THUMBNAIL_WIDTH = 112
#: The one-line fields of the form, in order: (field, label).
LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("journal", "Journal"),
    ("year", "Year"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("pages", "Pages"),
    ("doi", "DOI"),
    ("pmid", "PMID"),
    ("pmcid", "PMCID"),
    ("url", "URL"),
)
TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("title", "Title", 2),
    ("authors", "Authors", 2),
)
KIND_COLOURS = {
    TagKind.INDICATION: ("#dbeafe", "#1e3a8a"),
    TagKind.MSC_SOURCE: ("#dcfce7", "#14532d"),
    TagKind.STUDY_TYPE: ("#f3e8ff", "#581c87"),
    TagKind.FREE: ("#e5e7eb", "#1f2937"),
}
KIND_LABELS = {
    TagKind.INDICATION: "indication",
    TagKind.MSC_SOURCE: "MSC source",
    TagKind.STUDY_TYPE: "study type",
    TagKind.FREE: "tag",
}


def format_authors(authors: list[Author]) -> str:
    return "; ".join(f"{a.family}, {a.given}" if a.given else a.family for a in authors)


def parse_authors(text: str) -> list[Author]:
    """``Family, Given; Family, Given`` (or ``Given Family``) back into authors."""
    people = []
    for part in text.replace("\n", ";").split(";"):
        part = " ".join(part.split())
        if not part:
            continue
        if "," in part:
            family, _, given = part.partition(",")
            people.append(Author(family.strip(), given.strip()))
        else:
            given, _, family = part.rpartition(" ")
            people.append(Author(family, given))
    return people


def field_text(ref: Reference, name: str) -> str:
    if name == "authors":
        return format_authors(ref.authors)
    if name == "year":
        return str(ref.year) if ref.year else ""
    return str(getattr(ref, name) or "")


def snippet_html(snippet: str) -> str:
    """The index marks matches with [ ]; show them bold and highlighted."""
    text = html.escape(snippet)
    return (text.replace("[", '<b style="background-color:#fde68a;">')
            .replace("]", "</b>"))


class TextField(QTextEdit):
    """A plain-text field that grows with its text (``lines`` to ``max_lines`` lines) and
    reports the end of an edit when it loses focus."""

    editing_finished = Signal()

    def __init__(
        self,
        lines: int,
        parent: QWidget | None = None,
        *,
        max_lines: int = 0,
        single_paragraph: bool = False,
    ) -> None:
        super().__init__(parent)
        self.single_paragraph = single_paragraph
        self.min_lines = lines
        self.max_lines = max(max_lines, lines)
        self.setAcceptRichText(False)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.textChanged.connect(self._fit)
        self._fit()

    def _fit(self) -> None:
        doc = self.document()
        doc.setTextWidth(max(self.viewport().width(), 50))
        line = self.fontMetrics().lineSpacing()
        frame = 2 * self.frameWidth()
        low = line * self.min_lines + 2 * doc.documentMargin()
        high = line * self.max_lines + 2 * doc.documentMargin()
        height = int(min(max(doc.size().height(), low), high)) + frame
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.editing_finished.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self.single_paragraph and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.editing_finished.emit()  # Enter saves a title, as in a line edit
            return
        super().keyPressEvent(event)

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # noqa: N802  (the QLineEdit name, on purpose)
        self.setPlainText(text)


class TagChip(QFrame):
    """One tag, coloured by kind, with a button that removes it."""

    remove_clicked = Signal(object)

    def __init__(self, tag: Tag, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tag = tag
        self.setObjectName("tag-chip")
        background, foreground = KIND_COLOURS.get(tag.kind, KIND_COLOURS[TagKind.FREE])
        self.setStyleSheet(
            f"QFrame#tag-chip {{ background: {background}; border-radius: 10px; }}"
            f"QLabel {{ color: {foreground}; }}"
            f"QToolButton {{ color: {foreground}; border: none; padding: 0 2px; }}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(9, 2, 3, 2)
        layout.setSpacing(2)
        label = QLabel(tag.name)
        label.setToolTip(f"{tag.name} ({KIND_LABELS.get(tag.kind, 'tag')})")
        layout.addWidget(label)
        remove = QToolButton()
        remove.setText("×")
        remove.setToolTip(f"Remove the tag {tag.name}")
        remove.setCursor(Qt.CursorShape.PointingHandCursor)
        remove.clicked.connect(lambda: self.remove_clicked.emit(self.tag))
        layout.addWidget(remove)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("section-title")
    label.setStyleSheet("QLabel#section-title { font-weight: 600; color: #4b5563;"
                        " margin-top: 6px; }")
    return label


class DetailsPane(QScrollArea):
    """Shows one paper (or how many are selected) and emits the user's edits."""

    #: (paper id, {field: new value}): the user changed fields of one paper
    fields_edited = Signal(int, dict)
    #: (paper ids, Tag): add this tag to these papers
    tag_added = Signal(list, object)
    #: (paper ids, Tag): remove this tag from these papers
    tag_removed = Signal(list, object)
    #: (paper id, attachment path relative to the library)
    open_requested = Signal(int, str)
    show_in_folder_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("details")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.reference: Reference | None = None
        self.ids: list[int] = []
        self._shown: dict[str, str] = {}
        self._known_tags: dict[str, Tag] = {}

        body = QWidget()
        body.setObjectName("details-body")
        self.setWidget(body)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(14, 12, 14, 12)
        outer.setSpacing(8)

        self.placeholder = QLabel("Select a paper to see its details.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #6b7280; padding: 40px 10px;")
        self.placeholder.setWordWrap(True)
        outer.addWidget(self.placeholder)

        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(8)
        outer.addWidget(self.content)
        outer.addStretch(1)

        # header: thumbnail, key, buttons
        header = QHBoxLayout()
        header.setSpacing(12)
        self.thumbnail = QLabel()
        self.thumbnail.setObjectName("thumbnail")
        self.thumbnail.setFixedWidth(THUMBNAIL_WIDTH)
        self.thumbnail.setMinimumHeight(int(THUMBNAIL_WIDTH * 1.3))
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet(
            "QLabel#thumbnail { background: palette(base); border: 1px solid palette(mid);"
            " color: palette(mid); }"
        )
        header.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        side = QVBoxLayout()
        side.setSpacing(4)
        self.citekey = QLabel()
        self.citekey.setObjectName("citekey")
        self.citekey.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.citekey.setFont(mono)
        self.citekey.setWordWrap(True)
        side.addWidget(self.citekey)
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setStyleSheet("color: #4b5563;")
        side.addWidget(self.meta)
        self.flags = QLabel()
        self.flags.setWordWrap(True)
        self.flags.setStyleSheet("color: #b45309;")
        side.addWidget(self.flags)
        side.addStretch(1)
        self.open_button = QPushButton(icon("pdf"), "Open PDF")
        self.open_button.clicked.connect(self._open_first)
        self.folder_button = QPushButton(icon("folder"), "Show in folder")
        self.folder_button.clicked.connect(self._folder_first)
        for button in (self.open_button, self.folder_button):
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            side.addWidget(button)
        header.addLayout(side, 1)
        content.addLayout(header)

        # where the search matched
        self.snippet = QLabel()
        self.snippet.setObjectName("snippet")
        self.snippet.setWordWrap(True)
        self.snippet.setTextFormat(Qt.TextFormat.RichText)
        self.snippet.setStyleSheet(
            "QLabel#snippet { background: #fffbea; border: 1px solid #f3e3a1;"
            " border-radius: 4px; padding: 6px; }"
        )
        self.snippet.hide()
        content.addWidget(self.snippet)

        # the form
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(5)
        self.editors: dict[str, QLineEdit | TextField] = {}
        for name, label, lines in TEXT_FIELDS:
            field = TextField(lines, max_lines=6, single_paragraph=True)
            field.setObjectName(f"field-{name}")
            field.editing_finished.connect(lambda name=name: self._commit(name))
            self.editors[name] = field
            form.addRow(label, field)
        if "authors" in self.editors:
            self.editors["authors"].setToolTip("Family, Given; Family, Given; ...")
        row: QHBoxLayout | None = None
        for name, label in LINE_FIELDS:
            line = QLineEdit()
            line.setObjectName(f"field-{name}")
            line.editingFinished.connect(lambda name=name: self._commit(name))
            self.editors[name] = line
            if name == "year":
                line.setMaximumWidth(64)
            if name in ("volume", "issue"):  # side by side: both are short
                line.setPlaceholderText(label.lower())
                if row is None:
                    row = QHBoxLayout()
                    row.setContentsMargins(0, 0, 0, 0)
                    row.setSpacing(6)
                    holder = QWidget()
                    holder.setLayout(row)
                    form.addRow("Vol. / issue", holder)
                row.addWidget(line, 1)
                continue
            form.addRow(label, line)
        self.editors["doi"].setPlaceholderText("10.xxxx/...")
        content.addLayout(form)

        # tags
        content.addWidget(_section("Tags"))
        self.chips_holder = QWidget()
        self.chips = FlowLayout(self.chips_holder)
        content.addWidget(self.chips_holder)
        self.tag_input = QLineEdit()
        self.tag_input.setObjectName("tag-input")
        self.tag_input.setPlaceholderText("Add a tag…")
        self.tag_input.setClearButtonEnabled(True)
        self.tag_names = QStringListModel(self)
        self.completer = QCompleter(self.tag_names, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.tag_input.setCompleter(self.completer)
        self.tag_input.returnPressed.connect(self.add_typed_tag)
        content.addWidget(self.tag_input)

        # abstract and notes
        content.addWidget(_section("Abstract"))
        self.abstract = TextField(4, max_lines=40)
        self.abstract.setObjectName("field-abstract")
        self.abstract.editing_finished.connect(lambda: self._commit("abstract"))
        self.editors["abstract"] = self.abstract
        content.addWidget(self.abstract)
        content.addWidget(_section("Notes"))
        notes = TextField(2, max_lines=20)
        notes.setObjectName("field-notes")
        notes.editing_finished.connect(lambda: self._commit("notes"))
        self.editors["notes"] = notes
        content.addWidget(notes)

        # files
        content.addWidget(_section("Attachments"))
        self.attachments = QListWidget()
        self.attachments.setObjectName("attachments")
        self.attachments.setIconSize(QSize(16, 16))
        self.attachments.setMaximumHeight(72)
        self.attachments.itemActivated.connect(self._open_item)
        content.addWidget(self.attachments)
        self.no_files = QLabel("No file: drop a PDF on the window to add one.")
        self.no_files.setStyleSheet("color: #6b7280;")
        content.addWidget(self.no_files)

        self.show_paper(None)

    # -- what is shown -------------------------------------------------------------------

    def show_paper(self, ref: Reference | None, *, ids: list[int] | None = None) -> None:
        """Show ``ref`` (``None``: nothing selected); ``ids`` are all the selected papers."""
        self.commit()
        self.reference = ref
        self.ids = ids if ids is not None else ([ref.id] if ref and ref.id is not None else [])
        self.placeholder.setVisible(ref is None)
        self.content.setVisible(ref is not None)
        if ref is None:
            if len(self.ids) > 1:
                self.placeholder.setText(f"{len(self.ids)} papers selected.")
            else:
                self.placeholder.setText("Select a paper to see its details.")
            self._shown = {}
            return
        self._shown = {}
        for name, editor in self.editors.items():
            text = field_text(ref, name)
            editor.blockSignals(True)
            editor.setText(text)
            if isinstance(editor, QLineEdit):
                editor.setCursorPosition(0)
            editor.blockSignals(False)
            self._shown[name] = text
        self.citekey.setText(ref.citekey or "")
        added = ref.added.strftime("%Y-%m-%d") if ref.added else ""
        self.meta.setText(f"{ref.entry_type.capitalize()} · added {added}" if added else "")
        self.flags.setText("⚠ " + ", ".join(ref.flags) if ref.flags else "")
        self.flags.setVisible(bool(ref.flags))
        self._show_tags(ref.tags)
        self._show_files(ref.attachments)
        self.thumbnail.setVisible(bool(ref.attachments))
        self.set_thumbnail(None, loading=bool(ref.attachments))
        if len(self.ids) > 1:
            self.meta.setText(f"{len(self.ids)} papers selected: tags apply to all of them")

    def refresh(self, ref: Reference) -> None:
        """Show the stored values after an edit (or its undo), leaving alone the field the
        user is typing in."""
        if self.reference is None or ref.id != self.reference.id:
            return
        self.reference = ref
        for name, editor in self.editors.items():
            text = field_text(ref, name)
            typing = editor.hasFocus() and editor.text() != self._shown.get(name)
            if text == self._shown.get(name) or typing:
                continue
            editor.blockSignals(True)
            editor.setText(text)
            editor.blockSignals(False)
            self._shown[name] = text
        self.citekey.setText(ref.citekey or "")
        self.flags.setText("⚠ " + ", ".join(ref.flags) if ref.flags else "")
        self.flags.setVisible(bool(ref.flags))
        self._show_tags(ref.tags)

    def _show_tags(self, tags: list[Tag]) -> None:
        self.chips.clear()
        for tag in tags:
            chip = TagChip(tag)
            chip.remove_clicked.connect(self._remove_tag)
            self.chips.addWidget(chip)
        self.chips_holder.setVisible(bool(tags))
        self.chips_holder.updateGeometry()

    def _show_files(self, attachments: list[Attachment]) -> None:
        self.attachments.clear()
        for att in attachments:
            pages = f" · {att.page_count} pages" if att.page_count else ""
            size = f" · {att.size / 1e6:.1f} MB" if att.size >= 1e5 else ""
            item = QListWidgetItem(icon("pdf"), f"{att.original_name}{pages}{size}")
            item.setData(Qt.ItemDataRole.UserRole, att.path)
            item.setToolTip(att.path)
            self.attachments.addItem(item)
        has = bool(attachments)
        self.attachments.setVisible(has)
        self.no_files.setVisible(not has)
        self.open_button.setVisible(has)
        self.folder_button.setVisible(has)

    def set_thumbnail(self, png: bytes | None, *, loading: bool = False) -> None:
        if png:
            pixmap = QPixmap()
            if pixmap.loadFromData(png, "PNG"):
                ratio = self.devicePixelRatioF()
                scaled = pixmap.scaledToWidth(int(THUMBNAIL_WIDTH * ratio),
                                              Qt.TransformationMode.SmoothTransformation)
                scaled.setDevicePixelRatio(ratio)
                self.thumbnail.setPixmap(scaled)
                self.thumbnail.setFixedHeight(int(scaled.height() / ratio))
                return
        self.thumbnail.setPixmap(QPixmap())
        self.thumbnail.setFixedHeight(int(THUMBNAIL_WIDTH * 1.3))
        self.thumbnail.setText("…" if loading else "No PDF")

    def set_snippet(self, snippet: str | None) -> None:
        if snippet:
            self.snippet.setText(f"<span style='color:#6b7280'>Matched:</span> "
                                 f"{snippet_html(snippet)}")
        self.snippet.setVisible(bool(snippet))

    def set_known_tags(self, tags: list[Tag]) -> None:
        self._known_tags = {t.name.casefold(): t for t in tags}
        self.tag_names.setStringList(sorted({t.name for t in tags}, key=str.casefold))

    # -- edits -----------------------------------------------------------------------------

    def commit(self) -> None:
        """Emit the edits not yet reported (an editor that still has the focus)."""
        for name in list(self._shown):
            self._commit(name)

    def _commit(self, name: str) -> None:
        ref = self.reference
        if ref is None or ref.id is None or name not in self._shown:
            return
        text = self.editors[name].text()
        if name != "notes":
            text = text.strip()
        if name in ("title", "authors"):
            text = " ".join(text.split())  # one line, whatever was pasted
        if text == self._shown[name]:
            return
        self._shown[name] = text
        value: Any = parse_authors(text) if name == "authors" else text
        self.fields_edited.emit(ref.id, {name: value})

    def add_typed_tag(self) -> None:
        name = " ".join(self.tag_input.text().split())
        if not name or not self.ids:
            return
        tag = self._known_tags.get(name.casefold(), Tag(name, TagKind.FREE))
        self.tag_input.clear()
        self.tag_added.emit(list(self.ids), tag)

    def _remove_tag(self, tag: Tag) -> None:
        if self.ids:
            self.tag_removed.emit(list(self.ids), tag)

    def _open_first(self) -> None:
        if self.reference and self.reference.id is not None and self.reference.attachments:
            self.open_requested.emit(self.reference.id, self.reference.attachments[0].path)

    def _folder_first(self) -> None:
        if self.reference and self.reference.id is not None and self.reference.attachments:
            self.show_in_folder_requested.emit(self.reference.id,
                                               self.reference.attachments[0].path)

    def _open_item(self, item: QListWidgetItem) -> None:
        if self.reference and self.reference.id is not None:
            self.open_requested.emit(self.reference.id, str(item.data(Qt.ItemDataRole.UserRole)))
