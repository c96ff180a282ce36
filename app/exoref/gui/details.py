"""The details pane: the selected paper's metadata (editable), tags, abstract, thumbnail,
attachments, and where a search matched it.

Tags that ExoRef applied by itself carry an "auto" badge with their score; suggestions below
the threshold wait under the tags, each with the words that triggered it, for one click:
✓ makes the tag the user's, ✗ removes it for good.  A paper the tagger thinks is off-topic
gets a banner with "Keep in library".

The pane does not save anything itself: it emits what the user changed and the window turns
that into an undoable command (or a tagging service call).
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
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
from exoref.services.tagging import OFF_TOPIC_FLAG, ON_TOPIC_FLAG

if TYPE_CHECKING:
    from exoref.domain.models import Attachment, Reference
    from exoref.services.tagging import EvidenceView, SuggestionView

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
#: Where a tagging evidence was found, as the user reads it.
EVIDENCE_FIELDS = {
    "title": "Title",
    "abstract": "Abstract",
    "keywords": "Keywords",
    "keyword": "Keywords",
    "mesh": "MeSH",
    "body": "Full text",
    "fulltext": "Full text",
    "publication_types": "Publication type",
    "publication_type": "Publication type",
    "trial_id": "Trial registry",
    "trial_ids": "Trial registry",
}

#: Flags the off-topic banner stands for (not listed with the other flags).
FOCUS_FLAGS = frozenset({OFF_TOPIC_FLAG, ON_TOPIC_FLAG})
#: Evidence lines shown under a suggestion (all of them are in its tooltip).
EVIDENCE_SHOWN = 2


@dataclass(frozen=True, slots=True)
class PaperTagging:
    """What the tagger knows about the paper shown: its automatic tags (score, evidence),
    the suggestions waiting for the user, and why it looks off-topic (if it does)."""

    paper_id: int
    automatic: tuple[SuggestionView, ...] = ()
    pending: tuple[SuggestionView, ...] = ()
    focus_reason: str = ""
    threshold: float = 0.0


def tag_kind(group: str) -> TagKind:
    try:
        return TagKind(group)
    except ValueError:
        return TagKind.FREE


def evidence_html(evidence: EvidenceView, full: str | None = None) -> str:
    """One evidence line: the field, then the phrase in bold inside its context.

    The context is a window of characters around the phrase, so it may start or end inside
    a word; such a broken word is dropped for "…".  ``full`` is the field's whole text when
    known (title, abstract): a context that starts or ends with it is not cut there.
    """
    where = EVIDENCE_FIELDS.get(evidence.field, evidence.field.replace("_", " ").capitalize())
    context = " ".join((evidence.context or evidence.phrase).split())
    phrase = " ".join(evidence.phrase.split())
    whole = " ".join(full.split()) if full else None
    found = re.search(re.escape(phrase), context, re.IGNORECASE) if phrase else None
    if found is None:
        text = html.escape(context)
        if phrase and context != phrase:
            text = f"<b>{html.escape(phrase)}</b> · {text}"
        return f"<span style='color:#6b7280'>{html.escape(where)}:</span> {text}"
    before, match, after = context[:found.start()], found.group(0), context[found.end():]
    cut_start = whole is None or not whole.startswith(context)
    cut_end = whole is None or not whole.endswith(context)
    lead = tail = ""
    if cut_start and before:
        space = before.find(" ")
        before = before[space + 1:] if space >= 0 else ""
        lead = "…"
    if cut_end and after:
        space = after.rfind(" ")
        after = after[:space] if space >= 0 else ""
        tail = "…"
    text = (lead + html.escape(before) + "<b>" + html.escape(match) + "</b>"
            + html.escape(after) + tail)
    return f"<span style='color:#6b7280'>{html.escape(where)}:</span> {text}"


def evidence_tooltip(suggestion: SuggestionView, sources: dict[str, str] | None = None) -> str:
    lines = [f"<b>{html.escape(suggestion.label)}</b> "
             f"({KIND_LABELS.get(tag_kind(suggestion.group), 'tag')}), "
             f"score {suggestion.score:.2f}"]
    lines += [evidence_html(e, (sources or {}).get(e.field)) for e in suggestion.evidence]
    return "<br>".join(lines)


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
    """One tag, coloured by kind, with a button that removes it.  A tag ExoRef applied by
    itself has a dashed outline, an "auto" badge with its score, and a ✓ that confirms it."""

    remove_clicked = Signal(object)
    #: the user confirmed an automatic tag (its SuggestionView)
    confirm_clicked = Signal(object)

    def __init__(
        self,
        tag: Tag,
        parent: QWidget | None = None,
        *,
        automatic: SuggestionView | None = None,
        sources: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.tag = tag
        self.automatic = automatic
        self.setObjectName("tag-chip")
        background, foreground = KIND_COLOURS.get(tag.kind, KIND_COLOURS[TagKind.FREE])
        border = f"1px dashed {foreground}" if automatic is not None else "none"
        self.setStyleSheet(
            f"QFrame#tag-chip {{ background: {background}; border-radius: 10px;"
            f" border: {border}; }}"
            f"QLabel {{ color: {foreground}; }}"
            f"QLabel#auto-badge {{ background: rgba(255, 255, 255, 0.75); border-radius: 6px;"
            f" padding: 0 4px; font-size: 10px; }}"
            f"QToolButton {{ color: {foreground}; border: none; padding: 0 2px; }}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(9, 2, 3, 2)
        layout.setSpacing(3)
        label = QLabel(tag.name)
        label.setToolTip(f"{tag.name} ({KIND_LABELS.get(tag.kind, 'tag')})")
        layout.addWidget(label)
        if automatic is not None:
            badge = QLabel(f"auto {automatic.score:.2f}")
            badge.setObjectName("auto-badge")
            tip = ("Added by ExoRef from the paper's own words.<br>"
                   + evidence_tooltip(automatic, sources))
            badge.setToolTip(tip)
            label.setToolTip(tip)
            layout.addWidget(badge)
            confirm = QToolButton()
            confirm.setObjectName("confirm-tag")
            confirm.setText("✓")
            confirm.setToolTip(f"Confirm {tag.name}: later tagging runs keep it")
            confirm.setCursor(Qt.CursorShape.PointingHandCursor)
            confirm.clicked.connect(lambda: self.confirm_clicked.emit(self.automatic))
            layout.addWidget(confirm)
        remove = QToolButton()
        remove.setObjectName("remove-tag")
        remove.setText("×")
        remove.setToolTip(f"Remove the tag {tag.name}"
                          + (" (ExoRef will not add it again)" if automatic else ""))
        remove.setCursor(Qt.CursorShape.PointingHandCursor)
        remove.clicked.connect(lambda: self.remove_clicked.emit(self.tag))
        layout.addWidget(remove)


class SuggestionRow(QFrame):
    """A suggested tag below the threshold: its name, kind and score, the words that
    triggered it, and ✓ / ✗."""

    accepted = Signal(object)
    rejected = Signal(object)

    def __init__(
        self,
        suggestion: SuggestionView,
        parent: QWidget | None = None,
        *,
        sources: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.suggestion = suggestion
        sources = sources or {}
        self.setObjectName("suggestion")
        kind = tag_kind(suggestion.group)
        background, foreground = KIND_COLOURS.get(kind, KIND_COLOURS[TagKind.FREE])
        self.setStyleSheet(
            "QFrame#suggestion { background: palette(base); border: 1px solid #e5e7eb;"
            " border-radius: 6px; }"
            f"QLabel#suggestion-name {{ background: {background}; color: {foreground};"
            " border-radius: 7px; padding: 2px 8px; }"
            "QLabel#suggestion-meta { color: #6b7280; }"
            "QLabel#evidence { color: #374151; }"
            "QToolButton { border: 1px solid #d1d5db; border-radius: 4px; padding: 1px 7px;"
            " font-weight: 600; background: palette(button); }"
            "QToolButton#accept { color: #15803d; }"
            "QToolButton#accept:hover { background: #dcfce7; border-color: #86efac; }"
            "QToolButton#reject { color: #b91c1c; }"
            "QToolButton#reject:hover { background: #fee2e2; border-color: #fca5a5; }"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 6, 6, 6)
        column.setSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(6)
        # Name and kind may be long ("systematic review / meta-analysis"): they wrap, so the
        # row never makes the pane wider than the window gives it.
        names = QVBoxLayout()
        names.setSpacing(2)
        name = QLabel(suggestion.label)
        name.setObjectName("suggestion-name")
        name.setWordWrap(True)
        name.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        names.addWidget(name, 0, Qt.AlignmentFlag.AlignLeft)
        meta = QLabel(f"{KIND_LABELS.get(kind, 'tag')} · score {suggestion.score:.2f}")
        meta.setObjectName("suggestion-meta")
        meta.setWordWrap(True)
        meta.setToolTip("How sure the tagger is (0 to 1); tags at or above the threshold "
                        "in Preferences are applied without asking")
        names.addWidget(meta)
        top.addLayout(names, 1)
        self.accept_button = QToolButton()
        self.accept_button.setObjectName("accept")
        self.accept_button.setText("✓")
        self.accept_button.setToolTip(f"Add {suggestion.label}")
        self.accept_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.accept_button.clicked.connect(lambda: self.accepted.emit(self.suggestion))
        self.reject_button = QToolButton()
        self.reject_button.setObjectName("reject")
        self.reject_button.setText("✗")
        self.reject_button.setToolTip(f"Not {suggestion.label}: ExoRef will not suggest it "
                                      "for this paper again")
        self.reject_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.reject_button.clicked.connect(lambda: self.rejected.emit(self.suggestion))
        top.addWidget(self.accept_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.reject_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(top)
        for evidence in suggestion.evidence[:EVIDENCE_SHOWN]:
            line = QLabel(evidence_html(evidence, sources.get(evidence.field)))
            line.setObjectName("evidence")
            line.setTextFormat(Qt.TextFormat.RichText)
            line.setWordWrap(True)
            column.addWidget(line)
        more = len(suggestion.evidence) - EVIDENCE_SHOWN
        if more > 0:
            extra = QLabel(f"and {more} more place{'s' if more != 1 else ''}")
            extra.setObjectName("suggestion-meta")
            column.addWidget(extra)
        self.setToolTip(evidence_tooltip(suggestion, sources))


class FocusBanner(QFrame):
    """Says the paper looks off-topic, why, and offers to keep it or trash it."""

    keep_clicked = Signal()
    trash_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("off-topic-banner")
        self.setStyleSheet(
            "QFrame#off-topic-banner { background: #fffbeb; border: 1px solid #fcd34d;"
            " border-radius: 6px; }"
            "QLabel { color: #78350f; }"
        )
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.text)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.keep_button = QPushButton("Keep in library")
        self.keep_button.setObjectName("keep-in-library")
        self.keep_button.setToolTip("This paper belongs here: ExoRef will not flag it again")
        self.keep_button.clicked.connect(self.keep_clicked)
        self.trash_button = QPushButton(icon("trash"), "Move to Trash")
        self.trash_button.clicked.connect(self.trash_clicked)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.trash_button)
        buttons.addStretch(1)
        column.addLayout(buttons)

    def set_reason(self, reason: str) -> None:
        why = reason.strip() or ("ExoRef found no sign that it is about therapy with "
                                 "MSC-derived vesicles.")
        if why and why[-1] not in ".!?":
            why += "."
        self.text.setText(f"<b>Possibly off-topic.</b> {html.escape(why[:1].upper() + why[1:])}")


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
    #: (paper id, tag id): the user accepted a suggestion or confirmed an automatic tag
    suggestion_accepted = Signal(int, int)
    #: (paper id, tag id): the user rejected a suggestion
    suggestion_rejected = Signal(int, int)
    #: (paper ids): run the tagger again on these papers
    suggest_requested = Signal(list)
    #: (paper id): the paper flagged off-topic belongs in the library
    keep_requested = Signal(int)
    #: (paper ids): move these papers to the Trash
    trash_requested = Signal(list)

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
        self.tagging: PaperTagging | None = None

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

        self.banner = FocusBanner()
        self.banner.keep_clicked.connect(self._keep)
        self.banner.trash_clicked.connect(lambda: self.trash_requested.emit(list(self.ids)))
        self.banner.hide()
        content.addWidget(self.banner)

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
        tag_header = QHBoxLayout()
        tag_header.setContentsMargins(0, 0, 0, 0)
        tag_header.addWidget(_section("Tags"))
        tag_header.addStretch(1)
        self.suggest_button = QToolButton()
        self.suggest_button.setObjectName("suggest-tags")
        self.suggest_button.setIcon(icon("tag"))
        self.suggest_button.setText("Suggest tags")
        self.suggest_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.suggest_button.setAutoRaise(True)
        self.suggest_button.setToolTip("Read the paper again and suggest indications, MSC "
                                       "sources and study types (Ctrl+Shift+T)")
        self.suggest_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.suggest_button.clicked.connect(
            lambda: self.suggest_requested.emit(list(self.ids)) if self.ids else None)
        tag_header.addWidget(self.suggest_button, 0, Qt.AlignmentFlag.AlignBottom)
        content.addLayout(tag_header)
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

        # suggestions waiting for one click
        self.suggestions_box = QWidget()
        self.suggestions_box.setObjectName("suggestions")
        box = QVBoxLayout(self.suggestions_box)
        box.setContentsMargins(0, 2, 0, 0)
        box.setSpacing(5)
        self.suggestions_title = _section("Suggested")
        box.addWidget(self.suggestions_title)
        self.suggestions_note = QLabel()
        self.suggestions_note.setWordWrap(True)
        self.suggestions_note.setStyleSheet("color: #6b7280;")
        box.addWidget(self.suggestions_note)
        self.suggestion_list = QVBoxLayout()
        self.suggestion_list.setContentsMargins(0, 0, 0, 0)
        self.suggestion_list.setSpacing(5)
        box.addLayout(self.suggestion_list)
        self.suggestion_rows: list[SuggestionRow] = []
        self.suggestions_box.hide()
        content.addWidget(self.suggestions_box)

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
            self.tagging = None
            self._show_suggestions(())
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
        if self.tagging is not None and self.tagging.paper_id != ref.id:
            self.tagging = None  # another paper: its tagging comes with set_tagging
            self._show_suggestions(())
        self._show_flags(ref)
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
        self._show_flags(ref)
        self._show_tags(ref.tags)

    def _show_flags(self, ref: Reference) -> None:
        flags = [f for f in ref.flags if f not in FOCUS_FLAGS]
        self.flags.setText("⚠ " + ", ".join(flags) if flags else "")
        self.flags.setVisible(bool(flags))
        off_topic = OFF_TOPIC_FLAG in ref.flags and len(self.ids) <= 1
        if off_topic:
            reason = self.tagging.focus_reason if self.tagging is not None else ""
            self.banner.set_reason(reason)
        self.banner.setVisible(off_topic)

    def _show_tags(self, tags: list[Tag]) -> None:
        self.chips.clear()
        automatic = {}
        if self.tagging is not None and len(self.ids) <= 1:
            automatic = {(s.label.casefold(), tag_kind(s.group)): s
                         for s in self.tagging.automatic}
        for tag in tags:
            chip = TagChip(tag, automatic=automatic.get((tag.name.casefold(), tag.kind)),
                           sources=self._sources())
            chip.remove_clicked.connect(self._remove_tag)
            chip.confirm_clicked.connect(self._accept)
            self.chips.addWidget(chip)
        self.chips_holder.setVisible(bool(tags))
        self.chips_holder.updateGeometry()

    def set_tagging(self, tagging: PaperTagging | None) -> None:
        """Show what the tagger knows about the paper on display (ignored for another)."""
        ref = self.reference
        if ref is None or (tagging is not None and tagging.paper_id != ref.id):
            return
        self.tagging = tagging
        self._show_tags(ref.tags)
        self._show_flags(ref)
        pending = tagging.pending if tagging is not None and len(self.ids) <= 1 else ()
        self._show_suggestions(pending, tagging.threshold if tagging is not None else 0.0)

    def _show_suggestions(self, pending: tuple[SuggestionView, ...],
                          threshold: float = 0.0) -> None:
        for row in self.suggestion_rows:
            self.suggestion_list.removeWidget(row)
            row.hide()
            row.deleteLater()  # it may be the sender of the click being handled
        self.suggestion_rows = []
        for suggestion in pending:
            if suggestion.tag_id is None:
                continue
            row = SuggestionRow(suggestion, sources=self._sources())
            row.accepted.connect(self._accept)
            row.rejected.connect(self._reject)
            self.suggestion_list.addWidget(row)
            self.suggestion_rows.append(row)
        count = len(self.suggestion_rows)
        self.suggestions_title.setText(f"Suggested ({count})")
        below = f"below the threshold ({threshold:.2f})" if threshold else "below the threshold"
        self.suggestions_note.setText(f"Found in the paper, {below}: ✓ adds the tag, "
                                      "✗ never suggests it again.")
        self.suggestions_box.setVisible(bool(count))

    def _sources(self) -> dict[str, str]:
        """The shown paper's texts that evidence may quote in full."""
        ref = self.reference
        return {"title": ref.title, "abstract": ref.abstract} if ref is not None else {}

    def suggestion_row(self, label: str) -> SuggestionRow | None:
        """The waiting suggestion called ``label`` (for tests and keyboard users)."""
        for row in self.suggestion_rows:
            if row.suggestion.label.casefold() == label.casefold():
                return row
        return None

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

    def _accept(self, suggestion: SuggestionView) -> None:
        ref = self.reference
        if ref is not None and ref.id is not None and suggestion.tag_id is not None:
            self._settled(suggestion.tag_id)
            self.suggestion_accepted.emit(ref.id, suggestion.tag_id)

    def _reject(self, suggestion: SuggestionView) -> None:
        ref = self.reference
        if ref is not None and ref.id is not None and suggestion.tag_id is not None:
            self._settled(suggestion.tag_id)
            self.suggestion_rejected.emit(ref.id, suggestion.tag_id)

    def _settled(self, tag_id: int) -> None:
        """The user decided about ``tag_id``: it waits no more, and is no longer ExoRef's
        (shown at once; the window reloads the stored state after the change)."""
        tagging = self.tagging
        if tagging is None:
            return
        self.tagging = PaperTagging(
            tagging.paper_id,
            tuple(s for s in tagging.automatic if s.tag_id != tag_id),
            tuple(s for s in tagging.pending if s.tag_id != tag_id),
            tagging.focus_reason,
            tagging.threshold,
        )
        self._show_suggestions(self.tagging.pending, self.tagging.threshold)

    def _keep(self) -> None:
        ref = self.reference
        if ref is not None and ref.id is not None:
            self.keep_requested.emit(ref.id)

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
