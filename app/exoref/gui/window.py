"""The main window: sidebar, paper table, details pane, search, drag-and-drop import.

It takes an explicit :class:`~exoref.gui.context.Services` object (no global), calls the
services, and runs slow work through one :class:`~exoref.gui.tasks.TaskRunner`.

Tagging lives here too: the sidebar's vocabulary tree with counts, the suggestions in the
details pane (✓ / ✗), "Suggest tags" for the selection, and the library overview
(:mod:`exoref.gui.overview`), whose clicks filter the table with a ``tag:`` search.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from exoref import APP_NAME, __version__
from exoref.domain.models import Tag, TagKind
from exoref.errors import ExorefError, NotFoundError, QuerySyntaxError
from exoref.gui import errors
from exoref.gui.commands import ChangeTagsCommand, EditFieldsCommand, TrashCommand
from exoref.gui.details import DetailsPane, PaperTagging
from exoref.gui.dialogs import (
    ExportDialog,
    ExportRequest,
    ImportSummaryDialog,
    PreferencesDialog,
    summary_headline,
)
from exoref.gui.icons import app_icon, icon
from exoref.gui.overview import OverviewDialog
from exoref.gui.settings import Settings, TaggingPreferencesBox
from exoref.gui.sidebar import Sidebar, local_paths, tag_of
from exoref.gui.table import RELEVANCE, PaperTable, PaperTableModel, ids_from_mime
from exoref.gui.tasks import Task, TaskRunner
from exoref.gui.welcome import WelcomeView
from exoref.services.tagging import OFF_TOPIC_FLAG, TaggingService
from exoref.services.views import FailedImport, View, ViewKind
from exoref.tagging.tagger import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtCore import QMimeData

    from exoref.domain.models import Reference
    from exoref.gui.context import Services
    from exoref.services.editing import TagChange
    from exoref.services.importer import ImportResult
    from exoref.services.tagging import ApplyReport, Overview, TreeNode

log = logging.getLogger("exoref.gui")

#: Milliseconds of quiet typing before the search runs.
SEARCH_DELAY_MS = 150
#: == EXTENSION HOOK ==  Modules of ``exoref.gui`` whose ``install(window)`` is called once the
#: window is built (menus, sidebar, table and details exist; nothing is loaded yet).  The
#: lead adds "online", "duplicates", "watch" here once those modules have landed; a name
#: whose module is not there is skipped.  See :meth:`MainWindow._install_extensions`.
EXTENSIONS: tuple[str, ...] = ("online", "duplicates", "watch")
#: Up to this many papers the sidebar's tag tree is counted on the spot (milliseconds);
#: above it, off the GUI thread, showing the last counts meanwhile.  Counting narrower tags
#: in takes about 1.7 s for 100,000 papers with 400,000 tags.
SYNC_TREE_LIMIT = 2000
VIEW_TITLES = {
    ViewKind.ALL: "My Library",
    ViewKind.RECENT: "Recently added",
    ViewKind.UNTAGGED: "Untagged",
    ViewKind.ATTENTION: "Needs attention",
    ViewKind.TRASH: "Trash",
}


@dataclass(slots=True)
class ImportProgress:
    result: ImportResult
    done: int
    total: int


@dataclass(slots=True)
class ImportOutcome:
    """What one import did (the summary dialog and tests read it)."""

    paths: list[Path]
    results: list[ImportResult] = field(default_factory=list)
    tag: Tag | None = None
    tag_change: TagChange | None = None
    cancelled: bool = False

    @property
    def added(self) -> list[int]:
        return [r.id for r in self.results if r.status == "added" and r.id is not None]

    @property
    def failed(self) -> list[ImportResult]:
        return [r for r in self.results if r.status == "failed"]


def view_title(view: View) -> str:
    if view.kind is ViewKind.TAG:
        return view.tag or "Tag"
    return VIEW_TITLES[view.kind]


class _FileDrops(QObject):
    """Lets files dropped on a text field import them, as anywhere else in the window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragMoveEvent
        ):
            if local_paths(event.mimeData()):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                return True
            if ids_from_mime(event.mimeData()):
                event.ignore()  # papers from the table are not text to paste into a field
                return True
        elif kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            if self.window.handle_drop(event.mimeData()):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                return True
            if ids_from_mime(event.mimeData()):
                event.ignore()
                return True
        return False


class MainWindow(QMainWindow):
    """The library window."""

    #: an import ended (ImportOutcome)
    import_finished = Signal(object)
    #: the table shows the result of the current search text
    search_finished = Signal()
    #: papers changed (fields, tags, trash) and the window has refreshed
    library_changed = Signal()

    def __init__(
        self,
        services: Services,
        *,
        settings: Settings | None = None,
        runner: TaskRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.settings = settings if settings is not None else Settings()
        self.runner = runner if runner is not None else TaskRunner()
        if self.runner.error_handler is None:
            self.runner.error_handler = self.report_error
        self.undo_stack = QUndoStack(self)
        self.view = View()
        self.sort_key = "added"
        self.descending = True
        self._relevance = False
        self._search_generation = 0
        self._detail_generation = 0
        self._quiet_selection = False
        self._import: Task | None = None
        self._import_queue: list[tuple[list[Path], Tag | None]] = []
        self.last_import: ImportOutcome | None = None
        self.summary: ImportSummaryDialog | None = None
        # The lead may add ``tagging`` to Services; until then the window makes its own.
        tagging = getattr(services, "tagging", None)
        self.tagging: TaggingService = (tagging if isinstance(tagging, TaggingService)
                                        else TaggingService(services.library))
        self._tagging_task: Task | None = None
        self.last_tagging: ApplyReport | None = None
        self.overview_dialog: OverviewDialog | None = None
        self._overview_generation = 0
        self._tree_generation = 0
        #: what each extension's install() returned, by name (see EXTENSIONS)
        self.extensions: dict[str, object] = {}

        self.setObjectName("main-window")
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_ui()
        self._build_actions()
        self._build_menus()
        self._restore_state()
        self._install_extensions()
        self._drop_filter = _FileDrops(self)
        for widget in self.findChildren(QWidget):
            if widget.acceptDrops() and widget not in (self.sidebar, self.sidebar.viewport()):
                widget.installEventFilter(self._drop_filter)
        self.refresh()
        QTimer.singleShot(0, self._startup_recovery)

    # == building ================================================================================

    def _build_ui(self) -> None:
        self.sidebar = Sidebar()
        self.sidebar.setMinimumWidth(170)
        self.sidebar.view_selected.connect(self._view_selected)
        self.sidebar.files_dropped.connect(self.import_paths)
        self.sidebar.papers_dropped.connect(lambda ids, tag: self.tag_papers(ids, add=[tag]))
        self.sidebar.papers_trashed.connect(self.trash_papers)
        self.sidebar.context_menu_requested.connect(self._sidebar_menu)

        self.model = PaperTableModel(self.services.views, self)
        self.table = PaperTable(self.model)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.sort_requested.connect(self._sort_requested)
        self.table.context_menu_requested.connect(self._table_menu)
        self.table.activated.connect(lambda _index: self.open_pdf())  # Enter, double-click

        self.search_error = QLabel()
        self.search_error.setObjectName("search-error")
        self.search_error.setWordWrap(True)
        self.search_error.setStyleSheet(
            "QLabel#search-error { background: #fef2f2; color: #991b1b;"
            " border-bottom: 1px solid #fecaca; padding: 6px 10px; }"
        )
        self.search_error.hide()
        self.view_label = QLabel()
        self.view_label.setObjectName("view-title")
        self.view_label.setStyleSheet(
            "QLabel#view-title { font-size: 15px; font-weight: 600; padding: 8px 10px 6px; }"
        )
        self.failed_imports: list[FailedImport] = []
        self.failures_box = self._build_failures_box()
        table_page = QWidget()
        column = QVBoxLayout(table_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.view_label)
        column.addWidget(self.search_error)
        column.addWidget(self.failures_box)
        column.addWidget(self.table, 1)

        self.welcome = WelcomeView()
        self.welcome.add_files_clicked.connect(self.choose_files)
        self.welcome.add_folder_clicked.connect(self.choose_folder)
        self.welcome.sample_clicked.connect(self.add_sample_library)

        self.table_page = table_page
        self.centre = QStackedWidget()
        self.centre.addWidget(table_page)
        self.centre.addWidget(self.welcome)

        self.details = DetailsPane()
        self.details.setMinimumWidth(280)
        self.details.fields_edited.connect(self.edit_fields)
        self.details.tag_added.connect(lambda ids, tag: self.tag_papers(ids, add=[tag]))
        self.details.tag_removed.connect(lambda ids, tag: self.tag_papers(ids, remove=[tag]))
        self.details.open_requested.connect(lambda _pid, rel: self.open_attachment(rel))
        self.details.show_in_folder_requested.connect(lambda _pid, rel: self.show_in_folder(rel))
        self.details.suggestion_accepted.connect(self.accept_suggestion)
        self.details.suggestion_rejected.connect(self.reject_suggestion)
        self.details.suggest_requested.connect(self.suggest_tags)
        self.details.keep_requested.connect(self.keep_in_library)
        self.details.trash_requested.connect(self.trash_papers)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.centre)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([240, 780, 340])  # room for two levels of indications
        self.setCentralWidget(self.splitter)

        self.search_box = QLineEdit()
        self.search_box.setObjectName("search")
        self.search_box.setPlaceholderText("Search  (Ctrl+F)   e.g. cartilage year:2018..2021")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_box.setMinimumWidth(360)
        self.search_box.setToolTip(
            'Words, "exact phrase", AND / OR / NOT, -word, (groups), prefix*\n'
            "Fields: title: author: journal: abstract: keyword: fulltext: doi: pmid: "
            "citekey: tag:\nYears: year:2019  year:2018..2021  year:>=2020"
        )
        self.search_box.textChanged.connect(self._search_edited)
        clear = QAction(self.search_box)
        clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear.triggered.connect(self.search_box.clear)
        self.search_box.addAction(clear)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.run_search)

        status = self.statusBar()
        self.count_label = QLabel()
        status.addPermanentWidget(self.count_label)
        self.progress_box = QWidget()
        row = QHBoxLayout(self.progress_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress_label = QLabel()
        self.progress_label.setMaximumWidth(380)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setObjectName("cancel-import")
        self.cancel_button.clicked.connect(self.cancel_import)
        row.addWidget(self.progress_label)
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        status.addWidget(self.progress_box)
        self.progress_box.hide()

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        icon_name: str | None = None,
        table_only: bool = False,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        if table_only:
            # Ctrl+C and Delete belong to the text fields while one of them has the focus.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.table.addAction(action)
        else:
            self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_import = self._action("&Import files…", self.choose_files,
                                       QKeySequence.StandardKey.Open, icon_name="import",
                                       tip="Import PDFs and bibliography files")
        self.act_import_folder = self._action("Import &folder…", self.choose_folder,
                                              "Ctrl+Shift+O", icon_name="folder")
        self.act_export = self._action("&Export…", self.choose_export, "Ctrl+E",
                                       icon_name="export", tip="Export to BibTeX, RIS, CSL-JSON")
        self.act_sample = self._action("Add &sample library", self.add_sample_library)
        self.act_prefs = self._action("&Preferences…", self.open_preferences,
                                      QKeySequence.StandardKey.Preferences, icon_name="settings")
        if self.act_prefs.shortcut().isEmpty():
            self.act_prefs.setShortcut(QKeySequence("Ctrl+,"))
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_find = self._action("&Find", self.focus_search, QKeySequence.StandardKey.Find,
                                     icon_name="search")
        self.act_copy_key = self._action("&Copy citation key", self.copy_citekeys,
                                         QKeySequence.StandardKey.Copy, table_only=True)
        self.act_copy_bibtex = self._action("Copy &BibTeX", self.copy_bibtex, "Ctrl+Shift+C",
                                            table_only=True)
        self.act_open = self._action("&Open PDF", self.open_pdf, "Ctrl+Return",
                                     icon_name="pdf", table_only=True)
        self.act_folder = self._action("Show in &folder", self.show_selected_in_folder,
                                       icon_name="folder")
        self.act_trash = self._action("Move to &Trash", self.trash_selected,
                                      QKeySequence.StandardKey.Delete, icon_name="trash",
                                      table_only=True)
        self.act_restore = self._action("&Restore from Trash", self.restore_selected)
        self.act_empty = self._action("&Empty Trash…", self.empty_trash)
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence.StandardKey.Redo)
        self.act_about = self._action(f"&About {APP_NAME}", self.show_about)
        self.act_suggest = self._action("Suggest &tags", self.suggest_tags, "Ctrl+Shift+T",
                                        icon_name="tag",
                                        tip="Read the selected papers again and suggest tags")
        self.act_retag = self._action("Tag the whole library again", self.retag_library,
                                      tip="Run the tagger over every paper (your own tag "
                                      "decisions stay)")
        # (Ctrl+Shift+O already imports a folder.)
        self.act_overview = self._action("Library &overview…", self.show_overview,
                                         "Ctrl+Shift+L", icon_name="indication",
                                         tip="Indications by MSC source and study type, and "
                                         "papers per year")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.act_import, self.act_import_folder, self.act_export):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.act_sample)
        file_menu.addAction(self.act_prefs)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo):
            edit.addAction(action)
        edit.addSeparator()
        for action in (self.act_copy_key, self.act_copy_bibtex, self.act_find):
            edit.addAction(action)
        edit.addSeparator()
        for action in (self.act_trash, self.act_restore, self.act_empty):
            edit.addAction(action)
        paper = bar.addMenu("&Paper")
        paper.addAction(self.act_open)
        paper.addAction(self.act_folder)
        paper.addSeparator()
        paper.addAction(self.act_suggest)
        paper.addAction(self.act_retag)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.act_import)
        toolbar.addAction(self.act_export)
        toolbar.addAction(self.act_overview)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addWidget(self.search_box)
        self.addToolBar(toolbar)

    def _fill_view_menu(self) -> None:
        self.view_menu.clear()
        self.view_menu.addAction(self.act_overview)
        self.view_menu.addSeparator()
        columns = self.view_menu.addMenu("Columns")
        from exoref.gui.table import COLUMNS

        header = self.table.horizontalHeader()
        for i, column in enumerate(COLUMNS):
            action = columns.addAction(column.title)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(i))
            action.setEnabled(column.key != "title")
            action.toggled.connect(lambda on, i=i: self.table.set_column_visible(i, on))

    # == state ===================================================================================

    def _restore_state(self) -> None:
        state = self.settings.state
        geometry = state.blob("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1360, 840)
        window_state = state.blob("window_state")
        if window_state is not None:
            self.restoreState(window_state)
        splitter = state.blob("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        header = state.blob("table_header")
        if header is not None and self.table.horizontalHeader().restoreState(header):
            head = self.table.horizontalHeader()
            from exoref.gui.table import COLUMNS

            section = head.sortIndicatorSection()
            if 0 <= section < len(COLUMNS) and COLUMNS[section].sort:
                self.sort_key = str(COLUMNS[section].sort)
                self.descending = head.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
            head.setSectionResizeMode(0, head.sectionResizeMode(0))
        self.table.show_sort(self.sort_key, self.descending)

    def save_state(self) -> None:
        state = self.settings.state
        state.set_blob("geometry", self.saveGeometry())
        state.set_blob("window_state", self.saveState())
        state.set_blob("splitter", self.splitter.saveState())
        state.set_blob("table_header", self.table.horizontalHeader().saveState())
        state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.details.commit()
        self.save_state()
        self.runner.cancel_all()
        self.runner.wait(10_000)
        super().closeEvent(event)

    # == loading and refreshing ==================================================================

    def refresh(self) -> None:
        """Counts, then the current view's ids; keeps the selection."""
        self.refresh_counts()
        self.reload()

    def refresh_counts(self) -> None:
        counts = self.services.views.sidebar()
        self._tree_generation += 1
        if counts.all + counts.trash <= SYNC_TREE_LIMIT:
            tree = self._tag_tree()
        else:  # the last tree (or none yet) until the new counts arrive
            tree = self.sidebar.tree() or []
            self._load_tree()
        self.sidebar.set_counts(counts, tree)
        self.details.set_known_tags(self.sidebar.tags())
        empty = counts.all == 0 and counts.trash == 0
        self.centre.setCurrentWidget(self.welcome if empty else self.table_page)
        self.details.setVisible(not empty)
        if self.sidebar.index_of(self.view) is None:
            self.view = View()  # the tag went away: the sidebar shows My Library

    def _tag_tree(self) -> list[TreeNode] | None:
        """The vocabulary tree with counts (None, and the flat tags, if it cannot be read)."""
        try:
            return self.tagging.tree()
        except ExorefError as exc:
            log.warning("no tag tree for the sidebar: %s", exc)
            return None

    def _load_tree(self) -> None:
        generation = self._tree_generation
        tagging = self.tagging

        def done(tree: list[TreeNode]) -> None:
            if generation != self._tree_generation:
                return  # counts changed again meanwhile: a newer tree is on its way
            self.sidebar.set_tree(tree)
            if self.sidebar.index_of(self.view) is None:
                self.select_view(View())

        def failed(exc: BaseException) -> None:
            log.warning("no tag tree for the sidebar: %s", exc)

        self.runner.run(lambda _task: tagging.tree(), on_result=done, on_error=failed,
                        name="tag tree")

    @property
    def effective_sort(self) -> tuple[str, bool]:
        if self.model.query.strip() and self._relevance:
            return RELEVANCE, True
        return self.sort_key, self.descending

    def reload(self, *, select: Sequence[int] | None = None) -> None:
        """Query the ids of the current view again; keep (or set) the selection."""
        keep = list(select) if select is not None else self.table.selected_ids()
        current = None if select is not None else self.table.current_id()
        sort, descending = self.effective_sort
        try:
            self.model.load(self.view, sort=sort, descending=descending)
        except QuerySyntaxError as exc:  # the query in the box is bad: show all instead
            self.show_search_error(exc)
            self.model.load(self.view, query="", sort=self.sort_key, descending=self.descending)
        self._after_load(keep, current)

    def _build_failures_box(self) -> QWidget:
        """Under "Needs attention": the files that could not be imported, with Retry."""
        box = QWidget()
        box.setObjectName("failures")
        box.setStyleSheet("QWidget#failures { background: #fffbeb; }")
        row = QHBoxLayout(box)
        row.setContentsMargins(10, 6, 10, 6)
        self.failures_label = QLabel()
        self.failures_label.setWordWrap(True)
        row.addWidget(self.failures_label, 1)
        retry = QToolButton()
        retry.setText("Retry")
        retry.clicked.connect(self.retry_failed_imports)
        dismiss = QToolButton()
        dismiss.setText("Dismiss")
        dismiss.clicked.connect(self.dismiss_failed_imports)
        self.failures_buttons = (retry, dismiss)
        row.addWidget(retry)
        row.addWidget(dismiss)
        box.hide()
        return box

    def _show_failures(self) -> None:
        self.failed_imports = (
            self.services.views.failed_imports() if self.view.kind is ViewKind.ATTENTION else []
        )
        if not self.failed_imports:
            self.failures_box.hide()
            return
        count = len(self.failed_imports)
        lines = [f"{count} file{'s' if count != 1 else ''} could not be imported:"]
        lines += [f"• {Path(f.path).name}: {f.reason}" for f in self.failed_imports[:5]]
        if count > 5:
            lines.append(f"… and {count - 5} more")
        self.failures_label.setText("\n".join(lines))
        self.failures_box.show()

    def retry_failed_imports(self) -> None:
        paths = [Path(f.path) for f in self.failed_imports if Path(f.path).exists()]
        if paths:
            self.import_paths(paths)

    def dismiss_failed_imports(self) -> None:
        self.services.views.dismiss_failed_imports([f.path for f in self.failed_imports])
        self._show_failures()
        self.refresh_counts()

    def _after_load(self, keep: Sequence[int], current: int | None) -> None:
        self.view_label.setText(view_title(self.view))
        self._show_failures()
        if self.model.sort_key == RELEVANCE:
            self.table.show_relevance()
        else:
            self.table.show_sort(self.model.sort_key, self.model.descending)
        self._quiet_selection = True
        try:
            if keep:
                self.table.select_ids(keep, current=current)
            if not self.table.selected_ids() and self.model.rowCount() > 0:
                self.table.select_ids([self.model.paper_id(0)])
        finally:
            self._quiet_selection = False
        self._update_count()
        self._selection_changed()

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        text = f"{shown:,} paper{'s' if shown != 1 else ''}".replace(",", "\u2009")
        if self.model.query.strip():
            text += " found"
        self.count_label.setText(text)

    def _view_selected(self, view: View) -> None:
        if view == self.view:
            return
        self.view = view
        self.reload(select=[])

    def select_view(self, view: View) -> None:
        """Show ``view`` in the table and select it in the sidebar."""
        self.sidebar.select_view(view)
        if view != self.view:
            self._view_selected(view)

    def _sort_requested(self, key: str, descending: bool) -> None:
        self.sort_key, self.descending = key, descending
        self._relevance = False
        self.reload()

    def is_loaded(self) -> bool:
        """Whether the window has nothing left to load (for --screenshot and tests)."""
        return not self.runner.busy and not self.search_timer.isActive()

    def _startup_recovery(self) -> None:
        from exoref.services.check import CheckService

        library = self.services.library
        self.runner.run(lambda _task: CheckService(library).remove_orphan_files(),
                        on_result=self._recovered, name="startup recovery")

    def _recovered(self, removed: list[str]) -> None:
        if removed:
            log.info("removed %d files left behind by an interrupted import", len(removed))

    # == selection and details ===================================================================

    def _selection_changed(self, *_args: object) -> None:
        if self._quiet_selection:
            return
        ids = self.table.selected_ids()
        current = self.table.current_id()
        self._detail_generation += 1
        if current is None:
            self.details.show_paper(None, ids=ids)
            return
        try:
            ref = self.services.edit.reference(current)
        except NotFoundError:  # it went away meanwhile
            self.details.show_paper(None, ids=[])
            return
        self.details.show_paper(ref, ids=ids)
        self._load_thumbnail(ref)
        self._load_snippet(ref)
        self._load_tagging(ref)

    def _load_thumbnail(self, ref: Reference) -> None:
        if not ref.attachments:
            return
        generation = self._detail_generation
        attachment = ref.attachments[0]
        thumbnails = self.services.thumbnails

        def done(png: bytes | None) -> None:
            if generation == self._detail_generation:
                self.details.set_thumbnail(png)

        self.runner.run(lambda _task: thumbnails.first_page(attachment), on_result=done,
                        name="thumbnail")

    def _load_snippet(self, ref: Reference) -> None:
        query = self.model.query.strip()
        if not query or not ref.citekey:
            self.details.set_snippet(None)
            return
        generation = self._detail_generation
        search = self.services.search
        key = ref.citekey.replace('"', "")
        combined = f'citekey:"{key}" ({query})'

        def find(_task: Task) -> str:
            hits = search.search(combined, limit=1)
            return hits[0].snippet if hits else ""

        def done(snippet: str) -> None:
            if generation == self._detail_generation:
                self.details.set_snippet(snippet)

        self.runner.run(find, on_result=done, on_error=lambda _exc: done(""), name="snippet")

    def _load_tagging(self, ref: Reference) -> None:
        """The paper's automatic tags, waiting suggestions and, for a paper flagged off-topic,
        the tagger's reason, read off the GUI thread."""
        if ref.id is None:
            return
        generation = self._detail_generation
        tagging = self.tagging
        paper_id = ref.id
        off_topic = OFF_TOPIC_FLAG in ref.flags

        def work(_task: Task) -> PaperTagging:
            reason = tagging.suggest(paper_id).focus_reason if off_topic else ""
            return PaperTagging(paper_id, tuple(tagging.applied(paper_id)),
                                tuple(tagging.pending(paper_id)), reason, tagging.threshold)

        def done(info: PaperTagging) -> None:
            if generation == self._detail_generation:
                self.details.set_tagging(info)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ExorefError) and \
                    generation != self._detail_generation:
                return  # the paper went away meanwhile
            self.report_error(exc)

        self.runner.run(work, on_result=done, on_error=failed, name="tagging")

    def current_reference(self) -> Reference | None:
        return self.details.reference

    # == search ==================================================================================

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _search_edited(self, _text: str) -> None:
        self.search_timer.start()

    def run_search(self) -> None:
        """Run the query in the search box off the GUI thread; the newest one wins."""
        self.search_timer.stop()
        query = self.search_box.text()
        self._search_generation += 1
        generation = self._search_generation
        if not query.strip():
            self._relevance = False
            self.show_search_error(None)
            if self.model.query:
                self.model.load(self.view, query="", sort=self.sort_key,
                                descending=self.descending)
                self._after_load(self.table.selected_ids(), self.table.current_id())
            self.search_finished.emit()
            return
        if not self.model.query.strip():
            self._relevance = True  # a new search ranks best first
        view = self.view
        sort, descending = (RELEVANCE, True) if self._relevance else (self.sort_key,
                                                                      self.descending)
        views = self.services.views

        def find(_task: Task) -> list[int]:
            return views.ids(view, query=query, sort=sort, descending=descending)

        def done(ids: list[int]) -> None:
            if generation != self._search_generation:
                return  # a newer query is on its way
            self.show_search_error(None)
            keep = self.table.selected_ids()
            self.model.set_ids(ids, view=view, query=query, sort=sort, descending=descending)
            self._after_load(keep, None)
            self.search_finished.emit()

        def failed(exc: BaseException) -> None:
            if generation != self._search_generation:
                return
            if isinstance(exc, QuerySyntaxError):
                self.show_search_error(exc)
                self.search_finished.emit()
            else:
                self.report_error(exc)

        self.runner.run(find, on_result=done, on_error=failed, name="search")

    def show_search_error(self, exc: QuerySyntaxError | None) -> None:
        if exc is None:
            self.search_error.hide()
            self.search_box.setStyleSheet("")
            return
        text = exc.user_message
        if exc.position is not None:
            text += f" (at character {exc.position + 1})"
        self.search_error.setText(f"Search: {text}  The table still shows the last results.")
        self.search_error.show()
        self.search_box.setStyleSheet("QLineEdit#search { border: 1px solid #dc2626; }")

    # == editing =================================================================================

    def _changed(self, kind: str, ids: Sequence[int]) -> None:
        """Refresh after a change (also called by undo and redo)."""
        if kind == "fields":
            self.model.refresh(ids)
            self._refresh_details(ids)
        else:
            self.refresh_counts()
            self.reload()
        self.library_changed.emit()

    def _refresh_details(self, ids: Sequence[int]) -> None:
        ref = self.details.reference
        if ref is None or ref.id is None or ref.id not in ids:
            return
        try:
            fresh = self.services.edit.reference(ref.id)
        except NotFoundError:
            return
        self.details.refresh(fresh)

    def edit_fields(self, paper_id: int, changes: dict[str, Any]) -> None:
        try:
            old = self.services.edit.update_fields(paper_id, changes)
        except ExorefError as exc:
            self.report_error(exc)
            self._selection_changed()  # show the stored values again
            return
        self.undo_stack.push(EditFieldsCommand(self.services, paper_id, changes, old,
                                               self._changed, self.report_error))
        self._changed("fields", [paper_id])

    def tag_papers(
        self, ids: Sequence[int], *, add: Sequence[Tag] = (), remove: Sequence[Tag] = ()
    ) -> TagChange | None:
        if not ids:
            return None
        try:
            change = self.services.edit.change_tags(ids, add=add, remove=remove)
        except ExorefError as exc:
            self.report_error(exc)
            return None
        if not change.added and not change.removed:
            self.statusBar().showMessage("Nothing to change: the papers already had that.", 4000)
            return change
        self._push_tags(change, add, remove)
        self._changed("tags", ids)
        return change

    def _push_tags(self, change: TagChange, add: Sequence[Tag], remove: Sequence[Tag]) -> None:
        names = ", ".join(t.name for t in (*add, *remove))
        count = len(set(change.added) | set(change.removed))
        verb = "Tag" if add else "Untag"
        text = f"{verb} {count} paper{'s' if count != 1 else ''} “{names}”"
        self.undo_stack.push(ChangeTagsCommand(self.services, change, text, self._changed,
                                               self.report_error))
        self.statusBar().showMessage(text, 4000)

    def trash_selected(self) -> None:
        if self.view.kind is ViewKind.TRASH:
            self.statusBar().showMessage("Already in the Trash: use Empty Trash to delete "
                                         "them for good.", 5000)
            return
        self.trash_papers(self.table.selected_ids())

    def trash_papers(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        following = self._row_after(ids)
        try:
            moved = self.services.edit.trash(ids)
        except ExorefError as exc:
            self.report_error(exc)
            return
        if not moved:
            return
        self.undo_stack.push(TrashCommand(self.services, moved, self._changed, self.report_error))
        self.refresh_counts()
        self.reload(select=[following] if following is not None else [])
        self.statusBar().showMessage(
            f"Moved {len(moved)} paper{'s' if len(moved) != 1 else ''} to the Trash "
            "(Ctrl+Z undoes it)", 5000)
        self.library_changed.emit()

    def _row_after(self, ids: Sequence[int]) -> int | None:
        """The paper to select once ``ids`` leave the table: the next one below them."""
        rows = [r for pid in ids if (r := self.model.row_of(pid)) is not None]
        if not rows:
            return None
        gone = set(ids)
        for row in range(max(rows) + 1, self.model.rowCount()):
            if self.model.paper_id(row) not in gone:
                return self.model.paper_id(row)
        for row in range(min(rows) - 1, -1, -1):
            if self.model.paper_id(row) not in gone:
                return self.model.paper_id(row)
        return None

    def restore_selected(self) -> None:
        ids = self.table.selected_ids()
        if not ids:
            return
        try:
            restored = self.services.edit.restore(ids)
        except ExorefError as exc:
            self.report_error(exc)
            return
        if restored:
            self.undo_stack.push(TrashCommand(self.services, restored, self._changed,
                                              self.report_error, restore=True))
            self._changed("trash", restored)

    def empty_trash(self, *, confirm: bool = True) -> None:
        count = self.sidebar.count_of(View(ViewKind.TRASH)) or 0
        if not count:
            self.statusBar().showMessage("The Trash is empty.", 3000)
            return
        if not confirm:
            self._empty_trash_now()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Empty Trash",
                          f"Delete the {count} paper{'s' if count != 1 else ''} in the Trash "
                          "and their files for good?",
                          QMessageBox.StandardButton.Cancel, self)
        delete = box.addButton("Delete for good", QMessageBox.ButtonRole.DestructiveRole)
        box.setInformativeText("This cannot be undone.")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda button: self._empty_trash_now() if button is delete else None
        )
        box.open()

    def _empty_trash_now(self) -> None:
        try:
            deleted = self.services.edit.empty_trash()
        except ExorefError as exc:
            self.report_error(exc)
            return
        # The commands on the stack may name papers that no longer exist.
        self.undo_stack.clear()
        self.refresh()
        self.statusBar().showMessage(f"Deleted {deleted} papers for good.", 5000)
        self.library_changed.emit()

    # == tagging =================================================================================

    def accept_suggestion(self, paper_id: int, tag_id: int) -> None:
        """✓ on a suggestion (or on an automatic tag): the tag becomes the user's."""
        try:
            self.tagging.confirm(paper_id, tag_id)
        except ExorefError as exc:
            self.report_error(exc)
            self._selection_changed()
            return
        self.statusBar().showMessage("Tag added: later tagging runs keep it.", 4000)
        self._changed("tags", [paper_id])

    def reject_suggestion(self, paper_id: int, tag_id: int) -> None:
        """✗ on a suggestion: gone, and never suggested for this paper again."""
        try:
            self.tagging.reject(paper_id, tag_id)
        except ExorefError as exc:
            self.report_error(exc)
            self._selection_changed()
            return
        self.statusBar().showMessage(
            "Suggestion rejected: ExoRef will not suggest it for this paper again "
            "(adding the tag by hand still works).", 5000)
        self._changed("tags", [paper_id])

    def keep_in_library(self, paper_id: int) -> None:
        """The paper flagged off-topic belongs here: the flag goes, for good."""
        try:
            self.tagging.keep_in_focus(paper_id)
        except ExorefError as exc:
            self.report_error(exc)
            return
        self.statusBar().showMessage("Kept: ExoRef will not flag this paper as off-topic "
                                     "again.", 4000)
        self._changed("fields", [paper_id])

    def suggest_tags(self, ids: Sequence[int] | None = None) -> Task | None:
        """Run the tagger again on ``ids`` (the selection): automatic tags above the
        threshold, suggestions below it; the user's own decisions stay."""
        wanted = list(ids) if ids is not None else self.table.selected_ids()
        if not wanted:
            self.statusBar().showMessage("Select the papers to tag first.", 4000)
            return None
        return self._run_tagging(wanted)

    def retag_library(self) -> Task | None:
        """Run the tagger over every paper not in the Trash."""
        return self._run_tagging(None)

    def _run_tagging(self, ids: list[int] | None) -> Task | None:
        if self._tagging_task is not None:
            self.statusBar().showMessage("Tagging is already running.", 4000)
            return None
        tagging = self.tagging
        what = (f"{len(ids)} paper{'s' if len(ids) != 1 else ''}" if ids is not None
                else "the library")

        def work(task: Task) -> ApplyReport:
            return tagging.apply(ids, progress=lambda done, total: task.report((done, total)))

        def progressed(value: tuple[int, int]) -> None:
            done, total = value
            self.statusBar().showMessage(f"Tagging: {done:,} of {total:,} papers read…"
                                         .replace(",", "\u2009"))

        def finished(report: ApplyReport) -> None:
            self._tagging_task = None
            self.last_tagging = report
            self.refresh_counts()
            self.reload()
            self.statusBar().showMessage(_tagging_summary(report), 8000)
            self.library_changed.emit()

        def failed(exc: BaseException) -> None:
            self._tagging_task = None
            self.refresh()
            self.report_error(exc)

        self.statusBar().showMessage(f"Tagging {what}…")
        self._tagging_task = self.runner.run(work, on_result=finished, on_error=failed,
                                             on_progress=progressed, name="tagging")
        return self._tagging_task

    def show_overview(self) -> OverviewDialog:
        """The "Library overview" window (one; raised when already open)."""
        dialog = self.overview_dialog
        if dialog is None:
            dialog = OverviewDialog(self)
            dialog.filter_requested.connect(self.show_query)
            self.library_changed.connect(self._load_overview)
            self.overview_dialog = dialog
        if dialog.isVisible():  # somewhere behind the window: bring it forward
            dialog.raise_()
            dialog.activateWindow()
        else:
            dialog.show()
        self._load_overview()
        return dialog

    def _load_overview(self) -> None:
        dialog = self.overview_dialog
        if dialog is None or not dialog.isVisible():
            return
        self._overview_generation += 1
        generation = self._overview_generation
        tagging = self.tagging

        def done(overview: Overview) -> None:
            if generation == self._overview_generation:
                dialog.set_overview(overview)

        self.runner.run(lambda _task: tagging.overview(), on_result=done, name="overview")

    def show_query(self, query: str, description: str = "") -> None:
        """Show the papers matching ``query`` in My Library (the search box says which)."""
        self.select_view(View())
        self.search_box.setText(query)
        self.run_search()
        if description:
            self.statusBar().showMessage(f"Showing the papers of {description}", 6000)

    def _add_tag_menu(self, menu: QMenu) -> None:
        """"Add tag": the vocabulary as nested menus (a broader tag above its narrower ones),
        then the user's own tags."""
        tree = self.sidebar.tree()
        tags = self.sidebar.tags()
        if not tags and not tree:
            return
        tag_menu = menu.addMenu(icon("tag"), "Add tag")

        def add(target: QMenu, tag: Tag) -> None:
            action = target.addAction(tag.name)
            action.triggered.connect(
                lambda _c=False, tag=tag: self.tag_papers(self.table.selected_ids(), add=[tag]))

        def nodes(target: QMenu, items: Sequence[TreeNode]) -> None:
            for node in items:
                tag = Tag(node.label, node.kind)
                if node.children:
                    sub = target.addMenu(node.label)
                    add(sub, tag)
                    sub.addSeparator()
                    nodes(sub, node.children)
                else:
                    add(target, tag)

        groups = ((TagKind.INDICATION, "Indications"), (TagKind.MSC_SOURCE, "MSC source"),
                  (TagKind.STUDY_TYPE, "Study type"), (TagKind.FREE, "Tags"))
        for kind, label in groups:
            if tree is not None and kind is not TagKind.FREE:
                roots = [n for n in tree if n.kind is kind]
                if roots:
                    tag_menu.addSection(label)
                    nodes(tag_menu, roots)
                continue
            group = [t for t in tags if t.kind is kind]
            if group:
                tag_menu.addSection(label)
                for tag in group:
                    add(tag_menu, tag)

    # == extensions ===============================================================================

    def _install_extensions(self) -> None:
        """== EXTENSION HOOK ==  Let the modules named in :data:`EXTENSIONS` add their menus,
        actions and panes: each has ``install(window: MainWindow) -> None``.  A missing module
        is skipped; one that fails to install is reported (the window still opens)."""
        for name in EXTENSIONS:
            module_name = f"exoref.gui.{name}"
            if name in self.extensions:
                continue
            if importlib.util.find_spec(module_name) is None:
                log.info("extension %s is not installed", module_name)
                continue
            try:
                module = importlib.import_module(module_name)
                install = getattr(module, "install", None)
                if callable(install):
                    self.extensions[name] = install(self)
            except Exception as exc:  # a bug in an extension: shown, the window lives on
                log.exception("cannot install %s", module_name)
                QTimer.singleShot(0, lambda exc=exc: self.report_error(exc))

    # == clipboard, files ========================================================================

    def copy_citekeys(self) -> str:
        keys = [row.citekey for r in self._selected_rows()
                if (row := self.model.paper_row(r)) is not None]
        text = ",".join(keys)
        if text:
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(f"Copied {text}", 3000)
        return text

    def copy_bibtex(self) -> str:
        ids = self.table.selected_ids()
        if not ids:
            return ""
        prefs = self.settings.preferences
        try:
            text = self.services.bibliography.export(
                ids, fmt="bibtex", unicode=prefs.export_unicode,
                include_abstract=prefs.export_include_abstract,
            )
        except ExorefError as exc:
            self.report_error(exc)
            return ""
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Copied the BibTeX of {len(ids)} paper(s)", 3000)
        return text

    def _selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.table.selectionModel().selectedRows())

    def _first_file(self) -> str | None:
        ref = self.details.reference
        if ref is None or not ref.attachments:
            self.statusBar().showMessage("This paper has no file.", 3000)
            return None
        return ref.attachments[0].path

    def open_pdf(self) -> None:
        rel = self._first_file()
        if rel is not None:
            self.open_attachment(rel)

    def show_selected_in_folder(self) -> None:
        rel = self._first_file()
        if rel is not None:
            self.show_in_folder(rel)

    def _existing(self, rel: str) -> Path | None:
        path = self.services.library.paths.attachment(rel)
        if not path.is_file():
            self.report_error(ExorefError(
                f"The file {path.name} is missing from the library folder.",
                hint="run `exoref check` to see what else is missing, then import the PDF "
                "again",
            ))
            return None
        return path

    def open_attachment(self, rel: str) -> None:
        path = self._existing(rel)
        if path is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.report_error(ExorefError(
                f"No program is set up to open {path.name}.",
                hint="install a PDF viewer, or open the file from its folder",
            ))

    def show_in_folder(self, rel: str) -> None:
        path = self._existing(rel)
        if path is None:
            return
        if sys.platform.startswith("linux") and _show_item_over_dbus(path):
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    # == import ==================================================================================

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self._accept_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        self._accept_files(event)

    @staticmethod
    def _accept_files(event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)  # never a move
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if self.handle_drop(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)  # external files are copied in
            event.accept()
        else:
            event.ignore()

    def handle_drop(self, mime: QMimeData, tag: Tag | None = None) -> bool:
        """Import the files of a drop; the import starts once the drop has returned."""
        paths = local_paths(mime)
        if not paths:
            return False
        QTimer.singleShot(0, lambda: self.import_paths(paths, tag))
        return True

    def choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Import files", str(Path.home()),
            "PDFs and bibliographies (*.pdf *.bib *.ris *.json *.nbib *.enw);;All files (*)",
        )
        if names:
            self.import_paths([Path(n) for n in names], tag_of(self.view))

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of PDFs",
                                                  str(Path.home()))
        if folder:
            self.import_paths([Path(folder)], tag_of(self.view))

    def import_paths(self, paths: Sequence[Path | str], tag: Tag | None = None) -> None:
        """Import files and folders in the background (one import at a time; others wait)."""
        wanted = [Path(p) for p in paths]
        if not wanted:
            return
        if self._import is not None:
            self._import_queue.append((wanted, tag))
            return
        services = self.services
        outcome = ImportOutcome(paths=wanted, tag=tag)

        def work(task: Task) -> ImportOutcome:
            def progress(result: ImportResult, done: int, total: int) -> None:
                task.report(ImportProgress(result, done, total))

            # PDFs, folders and bibliographies all go through the one import path.
            outcome.results.extend(services.importer.import_paths(
                wanted, progress=progress, cancelled=task.is_cancelled))
            outcome.cancelled = task.is_cancelled()
            if tag is not None:
                ids = [r.id for r in outcome.results
                       if r.status in ("added", "duplicate") and r.id is not None]
                if ids:
                    outcome.tag_change = services.edit.change_tags(ids, add=[tag])
            return outcome

        self._import = self.runner.run(work, on_result=self._import_done,
                                       on_error=self._import_failed,
                                       on_progress=self._import_progressed, name="import")
        self.progress_label.setText(f"Importing {_describe(wanted)}…")
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.progress_box.show()

    def _import_progressed(self, progress: ImportProgress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        name = Path(progress.result.path).name
        self.progress_label.setText(f"Importing {progress.done} of {progress.total}: {name}")

    def cancel_import(self) -> None:
        if self._import is not None:
            self._import.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Cancelling: finishing the file being read…")

    def _import_done(self, outcome: ImportOutcome) -> None:
        self._import = None
        self.progress_box.hide()
        self.last_import = outcome
        if outcome.tag_change is not None and outcome.tag is not None and (
            outcome.tag_change.added or outcome.tag_change.removed
        ):
            self._push_tags(outcome.tag_change, [outcome.tag], [])
        self.refresh_counts()
        self.reload(select=outcome.added or None)
        headline = summary_headline(outcome.results, cancelled=outcome.cancelled)
        self.statusBar().showMessage(headline, 8000)
        self.show_summary(outcome)
        self.import_finished.emit(outcome)
        self.library_changed.emit()
        self._next_import()

    def _import_failed(self, exc: BaseException) -> None:
        self._import = None
        self.progress_box.hide()
        self.refresh()  # whatever was stored before the failure is in the library
        self.report_error(exc)
        self._next_import()

    def _next_import(self) -> None:
        if self._import_queue:
            paths, tag = self._import_queue.pop(0)
            self.import_paths(paths, tag)

    def show_summary(self, outcome: ImportOutcome) -> ImportSummaryDialog:
        if self.summary is not None:
            self.summary.close()
        dialog = ImportSummaryDialog(outcome.results, cancelled=outcome.cancelled,
                                     tag=outcome.tag, parent=self)
        dialog.retry_requested.connect(lambda paths: self.import_paths(paths, outcome.tag))
        dialog.show_added_requested.connect(self._show_added)
        dialog.destroyed.connect(lambda *_: setattr(self, "summary", None))
        self.summary = dialog
        dialog.open()
        return dialog

    def _show_added(self, ids: list[int]) -> None:
        self.search_box.clear()
        self.select_view(View())
        self.run_search()
        self.table.select_ids(ids)

    def add_sample_library(self) -> None:
        from exoref.services.sample import SampleService

        library = self.services.library
        self.runner.run(lambda _task: SampleService(library).add_sample(),
                        on_result=self._sample_added, name="sample library")

    def _sample_added(self, result: Any) -> None:
        self.refresh_counts()
        self.reload(select=result.added or None)
        if result.added:
            self.statusBar().showMessage(f"Added {len(result.added)} sample papers.", 5000)
        else:
            self.statusBar().showMessage("The sample papers are already in the library.", 5000)
        self.library_changed.emit()

    # == export ==================================================================================

    def choose_export(self, scope: str | None = None) -> ExportDialog:
        library_count = self.sidebar.count_of(View()) or 0
        dialog = ExportDialog(
            self.settings.preferences,
            selected=len(self.table.selected_ids()),
            view_label=f"Everything shown in “{view_title(self.view)}”",
            view_count=self.model.rowCount(),
            library_count=library_count,
            folder=Path(self.settings.state.text("export_folder") or Path.home()),
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if scope is not None and dialog.scope_buttons[scope].isEnabled():
            dialog.scope_buttons[scope].setChecked(True)
        dialog.accepted.connect(lambda: self.export(dialog.request()))
        dialog.open()
        return dialog

    def export(self, request: ExportRequest) -> None:
        """Write the export in the background; report where it went."""
        if request.scope == "selection":
            ids: list[int] | None = self.table.selected_ids()
        elif request.scope == "view" and (self.view.kind is not ViewKind.ALL
                                          or self.model.query.strip()):
            ids = list(self.model.ids)
        else:
            ids = None
        bibliography = self.services.bibliography

        def work(_task: Task) -> int:
            text = bibliography.export(
                ids, fmt=request.fmt, unicode=request.unicode,
                include_abstract=request.include_abstract, include_file=request.include_file,
            )
            try:
                request.path.parent.mkdir(parents=True, exist_ok=True)
                request.path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ExorefError(
                    f"Cannot write {request.path}: {exc.strerror or exc}.",
                    hint="choose a folder you can write to",
                ) from exc
            return len(ids) if ids is not None else -1

        def done(count: int) -> None:
            self.settings.state.set_text("export_folder", str(request.path.parent))
            what = "the library" if count < 0 else f"{count} paper{'s' if count != 1 else ''}"
            self.statusBar().showMessage(f"Exported {what} to {request.path}", 8000)

        self.runner.run(work, on_result=done, name="export")

    # == preferences, about ======================================================================

    def open_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(
            self.settings.preferences,
            citekey_pattern=self.services.library.setting("citekey_pattern"),
            library_dir=self.services.library.paths.root,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The threshold travels with the library: its section is added here, not stored in
        # preferences.ini.
        tagging = TaggingPreferencesBox(self.tagging.threshold, DEFAULT_THRESHOLD)
        layout = dialog.layout()
        if isinstance(layout, QVBoxLayout):
            layout.insertWidget(max(layout.count() - 1, 0), tagging)
            dialog.resize(dialog.width(), dialog.sizeHint().height())
        dialog.accepted.connect(lambda: self.apply_preferences(dialog, tagging))
        dialog.open()
        return dialog

    def apply_preferences(
        self, dialog: PreferencesDialog, tagging: TaggingPreferencesBox | None = None
    ) -> None:
        prefs = dialog.preferences()
        if Path(prefs.library_dir) == self.services.library.paths.root:
            prefs.library_dir = ""  # the default is fine: do not pin it
        self.settings.save_preferences(prefs)
        pattern = dialog.citekey_pattern()
        if pattern != self.services.library.setting("citekey_pattern"):
            try:
                self.services.library.set_setting("citekey_pattern", pattern)
            except ExorefError as exc:
                self.report_error(exc)
        if prefs.library_dir:
            self.statusBar().showMessage(
                f"ExoRef opens {prefs.library_dir} at its next start.", 8000)
        if tagging is not None:
            if tagging.changed():
                try:
                    self.tagging.set_threshold(tagging.threshold())
                except ExorefError as exc:
                    self.report_error(exc)
                    return
            if tagging.apply_now.isChecked():
                self.retag_library()

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_NAME}")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText(f"<b>{APP_NAME} {__version__}</b>")
        box.setInformativeText(
            "A reference manager for research on MSC-derived exosome therapy.<br>"
            f"Library: {self.services.library.paths.root}"
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # == context menus ===========================================================================

    def _table_menu(self, pos: QPoint) -> None:
        ids = self.table.selected_ids()
        if not ids:
            return
        menu = QMenu(self)
        menu.setObjectName("table-menu")
        menu.addAction(self.act_open)
        menu.addAction(self.act_folder)
        menu.addSeparator()
        menu.addAction(self.act_copy_key)
        menu.addAction(self.act_copy_bibtex)
        menu.addSeparator()
        self._add_tag_menu(menu)
        menu.addAction(self.act_suggest)
        export = menu.addAction(icon("export"), "Export selected…")
        export.triggered.connect(lambda: self.choose_export("selection"))
        menu.addSeparator()
        if self.view.kind is ViewKind.TRASH:
            menu.addAction(self.act_restore)
            menu.addAction(self.act_empty)
        else:
            menu.addAction(self.act_trash)
        menu.popup(pos)

    def _sidebar_menu(self, view: View | None, pos: QPoint) -> None:
        if view is None:
            return
        menu = QMenu(self)
        menu.setObjectName("sidebar-menu")
        tag = tag_of(view)
        if view.kind is ViewKind.TRASH:
            menu.addAction(self.act_empty)
        elif tag is not None:
            add = menu.addAction(icon("import"), f"Import files into “{tag.name}”…")
            add.triggered.connect(lambda: self._import_into(tag))
            export = menu.addAction(icon("export"), f"Export “{tag.name}”…")
            export.triggered.connect(lambda: self._export_view(view))
        else:
            menu.addAction(self.act_import)
            export = menu.addAction(icon("export"), "Export the library…")
            export.triggered.connect(lambda: self.choose_export("library"))
        menu.popup(pos)

    def _export_view(self, view: View) -> None:
        self.select_view(view)
        self.choose_export("view")

    def _import_into(self, tag: Tag) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, f"Import into {tag.name}", str(Path.home()),
                                                "PDFs and bibliographies (*.pdf *.bib *.ris "
                                                "*.json);;All files (*)")
        if names:
            self.import_paths([Path(n) for n in names], tag)

    # == errors ==================================================================================

    def report_error(self, exc: BaseException) -> None:
        errors.report(self, exc)


def _tagging_summary(report: ApplyReport) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    parts = [f"{count(report.applied, 'tag')} applied"]
    if report.pending:
        waiting = "waits" if report.pending == 1 else "wait"
        parts.append(f"{count(report.pending, 'suggestion')} {waiting} for you")
    if report.removed:
        parts.append(f"{report.removed} automatic tag{'s' if report.removed != 1 else ''} "
                     "no longer apply")
    if report.off_topic:
        verb = "looks" if report.off_topic == 1 else "look"
        parts.append(f"{count(report.off_topic, 'paper')} {verb} off-topic")
    return f"Tagged {count(report.papers, 'paper')}: " + ", ".join(parts) + "."


def _describe(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return paths[0].name or str(paths[0])
    return f"{len(paths)} items"


def _show_item_over_dbus(path: Path) -> bool:
    """Ask the file manager to show ``path`` selected (freedesktop FileManager1)."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    manager = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                             "org.freedesktop.FileManager1", bus)
    if not manager.isValid():
        return False
    reply = manager.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
    return not reply.errorName()
