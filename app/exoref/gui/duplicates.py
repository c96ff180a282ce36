"""Reviewing and merging duplicate papers in the window, and undoing a merge.

The dialog lists the groups :class:`~exoref.services.duplicates.DuplicateService` finds (the
search runs off the GUI thread: a large library takes seconds), and for the selected group
shows the fields on which its papers differ, a radio button per paper for each, and which
paper is kept.  A field follows the kept paper unless the person picks another value (or the
kept paper has none, as the service does).  Merging keeps every file and tag; each merge is
undone by Edit ▸ Undo merge (the service keeps a snapshot of every paper it touched).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from exoref.errors import UsageError
from exoref.gui.online import find_menu, tools_menu
from exoref.services.duplicates import MERGE_FIELDS, DuplicateService, MergeEntry, MergeResult

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from exoref.domain.duplicates import DuplicateGroup
    from exoref.domain.models import Reference
    from exoref.gui.context import Services
    from exoref.gui.tasks import Task, TaskRunner
    from exoref.gui.window import MainWindow
    from exoref.services.library import Library

log = logging.getLogger("exoref.gui.duplicates")

FIELD_LABELS = {
    "title": "Title", "authors": "Authors", "year": "Year", "journal": "Journal",
    "volume": "Volume", "issue": "Issue", "pages": "Pages", "publisher": "Publisher",
    "doi": "DOI", "pmid": "PMID", "pmcid": "PMCID", "abstract": "Abstract", "url": "URL",
    "entry_type": "Type", "booktitle": "Book title", "keywords": "Keywords", "notes": "Notes",
}
#: Longer values are cut in the chooser (the whole value is in the tooltip).
SHOWN_CHARS = 320
MESSAGE_MS = 8_000
_MUTED = "#4b5563"


def value_text(ref: Reference, name: str) -> str:
    """A field of ``ref`` as the chooser shows and compares it."""
    if name == "authors":
        return "; ".join(a.display() for a in ref.authors)
    if name == "year":
        return str(ref.year) if ref.year else ""
    if name == "keywords":
        return "; ".join(ref.keywords)
    return str(getattr(ref, name, "") or "")


def default_keep(papers: Sequence[Reference]) -> int:
    """The paper a merge keeps unless the person says otherwise: the one with the most files,
    then the oldest (the rule of :meth:`DuplicateService.merge_groups`)."""
    best = min(papers, key=lambda r: (-len(r.attachments), r.id or 0))
    return int(best.id or 0)


@dataclass(slots=True)
class GroupChoice:
    """One group of duplicates and what the person chose for it."""

    group: DuplicateGroup
    papers: list[Reference]
    keep: int
    #: field -> paper whose value it takes, only where that is not the default
    choices: dict[str, int] = field(default_factory=dict)
    checked: bool = True

    @classmethod
    def of(cls, group: DuplicateGroup, papers: Sequence[Reference]) -> GroupChoice:
        by_id = {r.id: r for r in papers}
        ordered = [by_id[pid] for pid in group.ids if pid in by_id]
        return cls(group, ordered, default_keep(ordered))

    @property
    def reason(self) -> str:
        reasons = list(dict.fromkeys(m.reason for m in self.group.matches))
        return "; ".join(reasons)

    @property
    def ids(self) -> list[int]:
        return [int(r.id or 0) for r in self.papers]

    @property
    def others(self) -> list[int]:
        return [pid for pid in self.ids if pid != self.keep]

    def paper(self, paper_id: int) -> Reference:
        return next(r for r in self.papers if r.id == paper_id)

    def default_source(self, name: str) -> int:
        """Where ``name`` comes from when the person does not choose: the kept paper, or the
        first other paper with a value when the kept one has none."""
        if value_text(self.paper(self.keep), name):
            return self.keep
        return next((pid for pid in self.others if value_text(self.paper(pid), name)),
                    self.keep)

    def source(self, name: str) -> int:
        return self.choices.get(name, self.default_source(name))

    def choose(self, name: str, paper_id: int) -> None:
        if paper_id == self.default_source(name):
            self.choices.pop(name, None)
        else:
            self.choices[name] = paper_id

    def set_keep(self, paper_id: int) -> None:
        self.keep = paper_id
        self.choices.clear()

    def differing(self) -> list[str]:
        """The merge fields on which the papers do not all agree."""
        return [name for name in MERGE_FIELDS
                if len({value_text(r, name) for r in self.papers}) > 1]


def load_groups(library: Library, services: Services) -> list[GroupChoice]:
    """Every group of duplicates with its papers loaded (runs on a worker thread)."""
    groups = DuplicateService(library).find()
    ids = sorted({pid for g in groups for pid in g.ids})
    papers = {r.id: r for r in services.papers.get_many(ids)} if ids else {}
    return [GroupChoice.of(g, [papers[pid] for pid in g.ids if pid in papers])
            for g in groups if sum(pid in papers for pid in g.ids) > 1]


def merge_plans(
    library: Library, plans: Sequence[tuple[int, list[int], dict[str, int]]],
    is_cancelled: Callable[[], bool] = lambda: False,
) -> list[MergeResult]:
    """Merge each (keep, others, choices) with one backup before all of them."""
    service = DuplicateService(library)
    if len(plans) > 1:
        from exoref.services.backup import BackupService

        BackupService(library).before_bulk("merge")
    results = []
    for keep, others, choices in plans:
        if is_cancelled():
            break
        results.append(service.merge(keep, others, choices, backup=len(plans) == 1))
    return results


def _short(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class _ChoiceLabel(QLabel):
    """A wrapped value next to its radio button; clicking the text picks the value too."""

    def __init__(self, text: str, button: QRadioButton) -> None:
        super().__init__(text)
        self.button = button
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.button.isEnabled():
            self.button.click()
        super().mousePressEvent(event)


class DuplicatesDialog(QDialog):
    """Groups of duplicates; per-field choices for the selected one; Merge, Merge all,
    Undo last merge."""

    #: merges were made (list[MergeResult])
    merged = Signal(object)
    #: a merge was undone (MergeEntry)
    undone = Signal(object)
    #: the list of groups was (re)filled
    groups_listed = Signal()
    #: a paper's file to open (path relative to the library)
    open_requested = Signal(str)

    def __init__(
        self,
        services: Services,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("duplicates")
        #: shows a failure that is not the person's doing (the window's error dialog)
        self.on_error = on_error
        self.setWindowTitle("Duplicates")
        self.services = services
        self.runner = runner
        self.groups: list[GroupChoice] = []
        self._busy = False
        self._filling = False
        self.field_buttons: dict[str, QButtonGroup] = {}
        self.keep_buttons = QButtonGroup(self)
        self.keep_buttons.idClicked.connect(self._keep_chosen)
        self._shown: GroupChoice | None = None
        #: said again above the hint once the groups are listed (after an undo)
        self._note = ""

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.headline = QLabel()
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.headline.setFont(font)
        top.addWidget(self.headline, 1)
        self.find_button = QPushButton("Find again")
        self.find_button.clicked.connect(self.search)
        top.addWidget(self.find_button)
        layout.addLayout(top)
        self.message = QLabel()
        self.message.setObjectName("duplicates-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {_MUTED};")
        layout.addWidget(self.message)

        self.tree = QTreeWidget()
        self.tree.setObjectName("duplicate-groups")
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(["Title", "Authors", "Year", "DOI", "Files"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 160), (2, 48), (3, 230), (4, 44)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setStretchLastSection(False)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

        self.chooser = QWidget()
        self.chooser.setObjectName("merge-chooser")
        self.grid = QGridLayout(self.chooser)
        self.grid.setContentsMargins(10, 8, 10, 8)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.StyledPanel)
        scroll.setWidget(self.chooser)
        self.chooser_title = QLabel("Merge into one paper")
        self.chooser_title.setStyleSheet("font-weight: 600; padding-top: 4px;")
        lower = QWidget()
        stack = QVBoxLayout(lower)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.addWidget(self.chooser_title)
        stack.addWidget(scroll, 1)
        note = QLabel("Every file and tag of the merged papers goes to the kept paper; its "
                      "citation key stays. Undo last merge (also Edit ▸ Undo merge) puts the "
                      "papers back as they were.")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {_MUTED};")
        stack.addWidget(note)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([230, 390])
        layout.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.undo_button = QPushButton("Undo last merge")
        self.undo_button.setObjectName("undo-merge")
        self.undo_button.clicked.connect(self.undo_last)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        self.merge_button = QPushButton("Merge")
        self.merge_button.setObjectName("merge")
        self.merge_button.setToolTip("Merge the selected group as chosen below")
        self.merge_button.clicked.connect(self.merge_selected)
        self.merge_all_button = QPushButton("Merge all checked")
        self.merge_all_button.setObjectName("merge-all")
        self.merge_all_button.setToolTip("Merge every checked group, each as chosen "
                                         "(unvisited groups keep the paper with most files)")
        self.merge_all_button.clicked.connect(self.merge_checked)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        for button in (self.merge_button, self.merge_all_button, close):
            buttons.addWidget(button)
        self.merge_button.setDefault(True)
        layout.addLayout(buttons)
        self.resize(1040, 720)
        self._show_chooser(None)
        self._update_buttons()

    # -- finding -------------------------------------------------------------------------------

    def search(self) -> None:
        """Look for duplicates again (off the GUI thread)."""
        if self._busy:
            return
        self._set_busy(True, "Looking for duplicates…")
        library, services = self.services.library, self.services
        self.runner.run(lambda _task: load_groups(library, services),
                        on_result=self._found, on_error=self._failed, name="find duplicates")

    def _found(self, groups: list[GroupChoice]) -> None:
        self._set_busy(False)
        hint = ("Uncheck a group that is not a duplicate. For the selected group, choose "
                "below which paper is kept and where each differing field comes from."
                if groups else "No two papers in the library look like the same work.")
        self.message.setText(f"{self._note} {hint}".strip())
        self._note = ""
        self.set_groups(groups)
        self.groups_listed.emit()

    def set_groups(self, groups: list[GroupChoice]) -> None:
        self.groups = list(groups)
        self._filling = True
        try:
            self.tree.clear()
            bold = QFont(self.tree.font())
            bold.setBold(True)
            for index, choice in enumerate(self.groups):
                top = QTreeWidgetItem([f"{_plural(len(choice.papers), 'paper')} — "
                                       f"{choice.reason or 'the same work'}"])
                top.setData(0, Qt.ItemDataRole.UserRole, index)
                top.setFlags(top.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                top.setCheckState(0, Qt.CheckState.Checked if choice.checked
                                  else Qt.CheckState.Unchecked)
                top.setFont(0, bold)
                top.setToolTip(0, "Checked groups are merged by “Merge all checked”")
                self.tree.addTopLevelItem(top)
                top.setFirstColumnSpanned(True)
                for ref in choice.papers:
                    child = QTreeWidgetItem([
                        ref.title or "(untitled)",
                        "; ".join(a.family for a in ref.authors[:3])
                        + (" et al." if len(ref.authors) > 3 else ""),
                        str(ref.year or ""),
                        ref.doi or (f"PMID {ref.pmid}" if ref.pmid else ""),
                        str(len(ref.attachments)),
                    ])
                    child.setData(0, Qt.ItemDataRole.UserRole, index)
                    child.setData(1, Qt.ItemDataRole.UserRole, ref.id)
                    child.setToolTip(0, ref.title)
                    child.setTextAlignment(4, Qt.AlignmentFlag.AlignRight
                                           | Qt.AlignmentFlag.AlignVCenter)
                    top.addChild(child)
                top.setExpanded(True)
                self._mark_kept(top)
        finally:
            self._filling = False
        count = len(self.groups)
        self.headline.setText("No duplicates found" if not count
                              else f"{_plural(count, 'group')} of duplicates")
        if self.groups:
            first = self.tree.topLevelItem(0)
            if first is not None:
                self.tree.setCurrentItem(first)
        else:
            self._show_chooser(None)
        self._update_buttons()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, UsageError):
            self.message.setText(exc.user_message)
            return
        if self.on_error is not None:
            self.on_error(exc)
        else:
            self.message.setText(str(exc))
            log.error("duplicates dialog", exc_info=exc)

    # -- the selected group --------------------------------------------------------------------

    def current(self) -> GroupChoice | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        index = item.data(0, Qt.ItemDataRole.UserRole)
        return self.groups[index] if isinstance(index, int) and index < len(self.groups) else None

    def _current_changed(self, current: QTreeWidgetItem | None, previous: object) -> None:
        index = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        choice = self.groups[index] if isinstance(index, int) and index < len(self.groups) \
            else None
        if choice is not self._shown:
            self._show_chooser(choice)
        self._update_buttons()

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or item.parent() is not None or column != 0:
            return
        index = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(index, int) and index < len(self.groups):
            self.groups[index].checked = item.checkState(0) == Qt.CheckState.Checked
        self._update_buttons()

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        paper_id = item.data(1, Qt.ItemDataRole.UserRole)
        choice = self.current()
        if choice is None or not isinstance(paper_id, int):
            return
        ref = choice.paper(paper_id)
        if ref.attachments:
            self.open_requested.emit(ref.attachments[0].path)

    def _show_chooser(self, choice: GroupChoice | None) -> None:
        """Build the grid: a column per paper, a row for "keep" and one per differing field."""
        self._shown = choice
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        for button in self.keep_buttons.buttons():
            self.keep_buttons.removeButton(button)
        for group in self.field_buttons.values():
            group.deleteLater()
        self.field_buttons = {}
        if choice is None:
            empty = QLabel("Select a group to choose what the merged paper keeps.")
            empty.setStyleSheet(f"color: {_MUTED};")
            self.grid.addWidget(empty, 0, 0)
            self.chooser_title.setText("Merge into one paper")
            return
        self.chooser_title.setText(f"Merge into one paper — {choice.reason}")
        for col, ref in enumerate(choice.papers, 1):
            files = _plural(len(ref.attachments), "file")
            head = QLabel(f"<b>Paper {ref.id}</b> · {ref.citekey or ''}<br>"
                          f"<span style='color:{_MUTED}'>{files}, {_plural(len(ref.tags), 'tag')}"
                          "</span>")
            self.grid.addWidget(head, 0, col)
            self.grid.setColumnStretch(col, 1)
            keep = QRadioButton("Keep this paper")
            keep.setObjectName(f"keep-{ref.id}")
            self.keep_buttons.addButton(keep, int(ref.id or 0))
            self.grid.addWidget(keep, 1, col)
        keep_label = QLabel("Kept")
        keep_label.setStyleSheet("font-weight: 600;")
        self.grid.addWidget(keep_label, 1, 0, Qt.AlignmentFlag.AlignTop)
        self.grid.setColumnStretch(0, 0)
        differing = choice.differing()
        row = 2
        for name in differing:
            label = QLabel(FIELD_LABELS.get(name, name))
            label.setStyleSheet("font-weight: 600;")
            self.grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            group = QButtonGroup(self)
            for col, ref in enumerate(choice.papers, 1):
                text = value_text(ref, name)
                button = QRadioButton()
                button.setObjectName(f"choice-{name}-{ref.id}")
                shown = _ChoiceLabel(_short(text) if text else "(empty)", button)
                if not text:
                    shown.setStyleSheet(f"color: {_MUTED}; font-style: italic;")
                if len(text) > SHOWN_CHARS:
                    shown.setToolTip(text[:4000])
                cell = QWidget()
                line = QHBoxLayout(cell)
                line.setContentsMargins(0, 0, 0, 0)
                line.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
                line.addWidget(shown, 1)
                group.addButton(button, int(ref.id or 0))
                self.grid.addWidget(cell, row, col)
            group.idClicked.connect(lambda pid, name=name: self._field_chosen(name, pid))
            self.field_buttons[name] = group
            row += 1
        if not differing:
            same = QLabel("The papers agree on every field: merging keeps one paper with the "
                          "files and tags of all.")
            same.setWordWrap(True)
            same.setStyleSheet(f"color: {_MUTED};")
            self.grid.addWidget(same, row, 0, 1, len(choice.papers) + 1)
            row += 1
        self.grid.setRowStretch(row, 1)
        self._sync_checks()

    def _sync_checks(self) -> None:
        choice = self._shown
        if choice is None:
            return
        button = self.keep_buttons.button(choice.keep)
        if button is not None:
            button.setChecked(True)
        for name, group in self.field_buttons.items():
            chosen = group.button(choice.source(name))
            if chosen is not None:
                chosen.setChecked(True)

    def _keep_chosen(self, paper_id: int) -> None:
        choice = self._shown
        if choice is None or paper_id == choice.keep:
            return
        choice.set_keep(paper_id)
        self._sync_checks()
        item = self._group_item(choice)
        if item is not None:
            self._mark_kept(item)

    def _field_chosen(self, name: str, paper_id: int) -> None:
        if self._shown is not None:
            self._shown.choose(name, paper_id)

    def keep(self, paper_id: int) -> None:
        """Keep ``paper_id`` in the selected group (what its radio button does)."""
        button = self.keep_buttons.button(paper_id)
        if button is not None:
            button.click()

    def choose(self, name: str, paper_id: int) -> None:
        """Take field ``name`` from ``paper_id`` (what its radio button does)."""
        group = self.field_buttons.get(name)
        button = group.button(paper_id) if group is not None else None
        if button is None:
            raise ValueError(f"{name} of paper {paper_id} is not a choice here")
        button.click()

    def _group_item(self, choice: GroupChoice) -> QTreeWidgetItem | None:
        index = self.groups.index(choice)
        return self.tree.topLevelItem(index)

    def _mark_kept(self, top: QTreeWidgetItem) -> None:
        """The kept paper's row in bold, the others plain."""
        index = top.data(0, Qt.ItemDataRole.UserRole)
        choice = self.groups[index]
        for i in range(top.childCount()):
            child = top.child(i)
            if child is None:
                continue
            kept = child.data(1, Qt.ItemDataRole.UserRole) == choice.keep
            font = QFont(self.tree.font())
            font.setBold(kept)
            for column in range(self.tree.columnCount()):
                child.setFont(column, font)
            child.setForeground(0, QBrush(QColor("#111827" if kept else _MUTED)))
            child.setToolTip(1, "kept" if kept else "merged into the kept paper")

    # -- merging -------------------------------------------------------------------------------

    def merge_selected(self) -> None:
        choice = self.current()
        if choice is not None:
            self._merge([choice])

    def merge_checked(self) -> None:
        self._merge([g for g in self.groups if g.checked])

    def _merge(self, choices: Sequence[GroupChoice]) -> None:
        if self._busy or not choices:
            return
        plans = [(c.keep, c.others, dict(c.choices)) for c in choices]
        library = self.services.library
        self._set_busy(True, f"Merging {_plural(len(plans), 'group')}…")

        def work(task: Task) -> list[MergeResult]:
            return merge_plans(library, plans, task.is_cancelled)

        self.runner.run(work, on_result=self._merged, on_error=self._merge_failed,
                        name="merge duplicates")

    def _merged(self, results: list[MergeResult]) -> None:
        self._set_busy(False)
        gone = {r.kept for r in results}
        self.set_groups([g for g in self.groups if g.keep not in gone])
        papers = sum(len(r.merged) + 1 for r in results)
        files = sum(r.files_moved for r in results)
        self.message.setText(
            f"Merged {_plural(len(results), 'group')} ({papers} papers into {len(results)}; "
            f"{_plural(files, 'file')} moved). Undo last merge puts the last one back.")
        self.merged.emit(results)

    def _merge_failed(self, exc: BaseException) -> None:
        self._failed(exc)
        self.search()  # some merges of a batch may have gone through

    def undo_last(self) -> None:
        """Undo the latest merge not undone yet (off the GUI thread), then list again."""
        if self._busy:
            return
        self._set_busy(True, "Undoing the last merge…")
        library = self.services.library
        self.runner.run(lambda _task: DuplicateService(library).undo(),
                        on_result=self._undone, on_error=self._failed, name="undo merge")

    def _undone(self, entry: MergeEntry) -> None:
        self._set_busy(False)
        self._note = undo_message(entry)
        self.message.setText(self._note)
        self.undone.emit(entry)
        self.search()

    # -- state ---------------------------------------------------------------------------------

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        if busy:
            self.message.setText(text)
        self._update_buttons()

    def _update_buttons(self) -> None:
        checked = sum(g.checked for g in self.groups)
        self.merge_button.setEnabled(not self._busy and self.current() is not None)
        self.merge_all_button.setEnabled(not self._busy and checked > 0)
        self.merge_all_button.setText(f"Merge all checked ({checked})" if checked
                                      else "Merge all checked")
        self.undo_button.setEnabled(not self._busy)
        self.find_button.setEnabled(not self._busy)


def undo_message(entry: MergeEntry) -> str:
    titles = [t for t in dict.fromkeys(entry.titles) if t]
    count = len(entry.merged) + 1
    if titles:
        return f"Merge undone: {count} papers are back (“{_short(titles[0], 70)}”)."
    return f"Merge undone: {count} papers are back."


# == wiring ==================================================================================


def open_dialog(window: MainWindow) -> DuplicatesDialog:
    """The duplicates dialog (one per window), searching as it opens."""
    dialog = window.findChild(DuplicatesDialog, "duplicates")
    if dialog is not None:
        dialog.raise_()
        dialog.activateWindow()
        dialog.search()
        return dialog
    dialog = DuplicatesDialog(window.services, window.runner, parent=window,
                              on_error=window.report_error)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.merged.connect(lambda results: _after_merge(window, results))
    dialog.undone.connect(lambda entry: _after_undo(window, entry))
    dialog.open_requested.connect(window.open_attachment)
    dialog.open()
    dialog.search()
    return dialog


def _after_merge(window: MainWindow, results: list[MergeResult]) -> None:
    # The undo stack may name papers that were merged away: their commands would fail.
    window.undo_stack.clear()
    window.refresh()
    window.statusBar().showMessage(
        f"Merged {_plural(len(results), 'group')} of duplicates "
        "(Edit ▸ Undo merge puts the last one back).", MESSAGE_MS)
    window.library_changed.emit()


def _after_undo(window: MainWindow, entry: MergeEntry) -> None:
    window.undo_stack.clear()
    window.refresh()
    window.statusBar().showMessage(undo_message(entry), MESSAGE_MS)
    window.library_changed.emit()


def undo_last_merge(window: MainWindow) -> None:
    """Edit ▸ Undo merge: put back the papers of the latest merge."""
    dialog = window.findChild(DuplicatesDialog, "duplicates")
    if dialog is not None:
        dialog.undo_last()  # the dialog lists again and tells the window
        return
    library = window.services.library

    def failed(exc: BaseException) -> None:
        if isinstance(exc, UsageError):
            window.statusBar().showMessage(exc.user_message, MESSAGE_MS)
        else:
            window.report_error(exc)

    window.runner.run(lambda _task: DuplicateService(library).undo(),
                      on_result=lambda entry: _after_undo(window, entry), on_error=failed,
                      name="undo merge")


def install(window: MainWindow) -> None:
    """Tools ▸ Find duplicates… and Edit ▸ Undo merge (once per window)."""
    if any(a.objectName() == "act-find-duplicates" for a in window.actions()):
        return
    find = QAction("Find &duplicates…", window)
    find.setObjectName("act-find-duplicates")
    find.setShortcut(QKeySequence("Ctrl+Shift+D"))
    find.setStatusTip("Find papers that are the same work; review and merge them")
    find.triggered.connect(lambda _checked=False: open_dialog(window))
    window.addAction(find)
    undo = QAction("Undo &merge", window)
    undo.setObjectName("act-undo-merge")
    undo.setStatusTip("Put back the papers of the last merge of duplicates")
    undo.triggered.connect(lambda _checked=False: undo_last_merge(window))
    window.addAction(undo)

    tools = tools_menu(window)
    tools.addSeparator()
    tools.addAction(find)
    edit = find_menu(window, "Edit")
    if edit is not None:
        actions = edit.actions()
        after = actions.index(window.act_redo) + 1 if window.act_redo in actions else 0
        if after < len(actions):
            edit.insertAction(actions[after], undo)
        else:
            edit.addAction(undo)

