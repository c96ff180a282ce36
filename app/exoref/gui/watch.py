"""Watch folders in the window: the folders dialog, the scan timer and the "Arrived" list.

The user names folders; every few seconds :class:`~exoref.services.watch.WatchService` scans
them (subfolders too) off the GUI thread and imports the PDFs that have appeared and stopped
growing.  A tick is skipped while the previous scan still runs.  What arrived shows in the
status bar and in a small dock listing the latest arrivals (file, what became of it, tags).

The folders are a preference of the user, not of a library: they live in
``watch-folders.json`` in the configuration folder, beside ``online.json``.  (What a scan has
seen is the library's business: the service keeps that in ``watch.json`` in the library.)
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from exoref.errors import ExorefError
from exoref.gui.dialogs import STATUS_COLOURS, summary_headline
from exoref.gui.online import lookups_of, tools_menu
from exoref.paths import read_json_object, write_json_atomically
from exoref.services.views import View
from exoref.services.watch import SETTLE_SECONDS, Arrival, WatchService

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.gui.tasks import Task
    from exoref.gui.window import MainWindow

log = logging.getLogger("exoref.gui.watch")

CONFIG_FILE = "watch-folders.json"
SCAN_INTERVAL_MS = 5_000
#: Arrivals the dock lists (the newest first).
ARRIVALS_SHOWN = 200
MESSAGE_MS = 8_000
#: Pixels the "Arrived" dock takes when it opens by itself (the table keeps the rest).
DOCK_HEIGHT = 160
ARRIVAL_LABELS = {"added": "Added", "duplicate": "Already in the library", "failed": "Failed"}
_MUTED = "#4b5563"


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """The folders to watch and whether their subfolder names become tags."""

    folders: tuple[str, ...] = ()
    tag_subfolders: bool = True

    @classmethod
    def load(cls, folder: Path) -> WatchConfig:
        raw = read_json_object(folder / CONFIG_FILE)
        folders = raw.get("folders", [])
        if not isinstance(folders, list):
            folders = []
        return cls(tuple(str(f) for f in folders if isinstance(f, str) and f.strip()),
                   bool(raw.get("tag_subfolders", True)))

    def save(self, folder: Path) -> None:
        write_json_atomically(folder / CONFIG_FILE, {"folders": list(self.folders),
                                                    "tag_subfolders": self.tag_subfolders})


def arrival_message(arrivals: Sequence[Arrival]) -> str:
    """The status-bar line: "From watch folders: 2 papers added, 1 duplicate"."""
    return "From watch folders: " + summary_headline([a.result for a in arrivals])


class WatchFolders(QObject):
    """Scans the watch folders of one window on a timer, never on the GUI thread."""

    #: a scan imported something (list[Arrival]); the window has been refreshed
    arrived = Signal(object)
    #: a scan ended, with or without arrivals
    scanned = Signal()
    #: the folders changed (WatchConfig)
    config_changed = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        *,
        interval_ms: int = SCAN_INTERVAL_MS,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        super().__init__(window)
        self.setObjectName("watch-folders")
        self.window = window
        self.folder: Path = window.settings.folder
        self.config = WatchConfig.load(self.folder)
        #: seconds a file must stay the same size before it is imported
        self.settle = settle
        self.arrivals: deque[Arrival] = deque(maxlen=ARRIVALS_SHOWN)
        self.arrival_times: deque[datetime] = deque(maxlen=ARRIVALS_SHOWN)
        self._service: WatchService | None = None
        self._service_key: tuple[tuple[str, ...], bool, float] | None = None
        self._task: Task | None = None
        self._stopped = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        if self.config.folders:
            self.timer.start()
        window.installEventFilter(self)

    @property
    def scanning(self) -> bool:
        return self._task is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.timer.stop()
        return False

    def set_config(self, config: WatchConfig) -> None:
        """Save the folders; the next tick scans them."""
        config.save(self.folder)
        self.config = config
        self._stopped = False
        self.config_changed.emit(config)
        if config.folders:
            self.timer.start()
            QTimer.singleShot(0, self, self.tick)
        else:
            self.timer.stop()

    def _scanner(self, config: WatchConfig, settle: float) -> WatchService | None:
        """The service for the folders there now (kept between ticks: it remembers which
        files are still growing).  Runs on the worker thread: checking a folder on a network
        share can take a while; ticks never overlap, so nothing else touches the service."""
        folders = [Path(f).expanduser() for f in config.folders]
        folders = [f for f in folders if f.is_dir()]
        if not folders:
            return None
        key = (tuple(str(f) for f in folders), config.tag_subfolders, settle)
        if self._service is None or key != self._service_key:
            self._service = WatchService(
                self.window.services.library, folders, tag_subfolders=config.tag_subfolders,
                settle=settle, processes=self.window.services.importer.processes)
            self._service_key = key
        return self._service

    def tick(self) -> None:
        """One scan, unless one still runs."""
        if self._task is not None or self._stopped or not self.config.folders:
            return
        config, settle = self.config, self.settle

        def work(_task: Task) -> list[Arrival]:
            service = self._scanner(config, settle)
            return service.scan() if service is not None else []

        task = self.window.runner.run(work, on_result=self._done, on_error=self._failed,
                                      name="watch folders")
        if not task.done:
            self._task = task

    def _done(self, arrivals: list[Arrival]) -> None:
        self._task = None
        if arrivals:
            stamp = datetime.now()
            for arrival in reversed(arrivals):
                self.arrivals.appendleft(arrival)
                self.arrival_times.appendleft(stamp)
            window = self.window
            window.refresh_counts()
            window.reload()
            window.statusBar().showMessage(arrival_message(arrivals), MESSAGE_MS)
            window.library_changed.emit()
            lookups = lookups_of(window)
            if lookups is not None and any(a.result.status == "added" for a in arrivals):
                lookups.run_queue()  # the new papers wait in the lookup queue
            self.arrived.emit(arrivals)
        self.scanned.emit()

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        if isinstance(exc, ExorefError):
            log.warning("watch scan failed: %s", exc)
            self.window.statusBar().showMessage(f"Watch folders: {exc}", MESSAGE_MS)
        else:
            # A bug: show it once, not every few seconds; saving the folders again restarts.
            self._stopped = True
            self.window.report_error(exc)
        self.scanned.emit()


# == the dialog ==============================================================================


class WatchFoldersDialog(QDialog):
    """Add and remove watch folders; subfolder names as tags.  The window saves
    :meth:`config` when the dialog is accepted."""

    def __init__(self, config: WatchConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("watch-folders-dialog")
        self.setWindowTitle("Watch folders")
        layout = QVBoxLayout(self)
        intro = QLabel("PDFs that appear in these folders, or in folders inside them, are "
                       "imported on their own within a few seconds. The library keeps a copy; "
                       "your files stay where they are. PDFs already in a folder are imported "
                       "on the first scan.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.folder_list = QListWidget()
        self.folder_list.setObjectName("watch-folder-list")
        self.folder_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.folder_list.itemSelectionChanged.connect(self._update_buttons)
        row.addWidget(self.folder_list, 1)
        column = QVBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        column.addWidget(self.add_button)
        column.addWidget(self.remove_button)
        column.addStretch(1)
        row.addLayout(column)
        layout.addLayout(row, 1)
        self.tags_box = QCheckBox("Subfolder names become tags")
        self.tags_box.setObjectName("tag-subfolders")
        self.tags_box.setChecked(config.tag_subfolders)
        layout.addWidget(self.tags_box)
        example = QLabel("A PDF in Inbox/osteoarthritis/ is tagged “osteoarthritis” (the "
                         "indication, when the name is one; otherwise a tag of that name).")
        example.setWordWrap(True)
        example.setStyleSheet(f"color: {_MUTED};")
        layout.addWidget(example)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for folder in config.folders:
            self.add_folder(folder)
        self._update_buttons()
        self.resize(560, 380)

    def add_folder(self, folder: str | Path) -> bool:
        """Add ``folder`` unless it is listed already (or lies inside a listed one); listed
        folders inside it go, as it covers them (a file is never seen twice)."""
        path = Path(folder).expanduser()
        text = str(path)
        for existing in self.folders():
            there = Path(existing)
            if path == there or there in path.parents:
                return False
        for row in reversed(range(self.folder_list.count())):
            item = self.folder_list.item(row)
            if item is not None and path in Path(str(item.data(Qt.ItemDataRole.UserRole))).parents:
                self.folder_list.takeItem(row)
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, text)
        if not path.is_dir():
            item.setText(f"{text}   (not there now)")
            item.setForeground(QBrush(QColor(STATUS_COLOURS["failed"])))
            item.setToolTip("This folder is not there now (an unplugged drive?); it is "
                            "watched again once it is back.")
        self.folder_list.addItem(item)
        self._update_buttons()
        return True

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def remove_selected(self) -> None:
        for item in self.folder_list.selectedItems():
            self.folder_list.takeItem(self.folder_list.row(item))
        self._update_buttons()

    def folders(self) -> list[str]:
        return [str(item.data(Qt.ItemDataRole.UserRole)) for i in range(self.folder_list.count())
                if (item := self.folder_list.item(i)) is not None]

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.folder_list.selectedItems()))

    def config(self) -> WatchConfig:
        return WatchConfig(tuple(self.folders()), self.tags_box.isChecked())


# == the "Arrived" list ======================================================================


class ArrivedPanel(QWidget):
    """The latest arrivals from the watch folders, newest first."""

    #: a paper to show in the table (its id)
    show_requested = Signal(int)
    #: the Watch folders… button
    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("arrived")
        self.roots: list[Path] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("arrived-summary")
        self.summary.setStyleSheet(f"color: {_MUTED};")
        top.addWidget(self.summary, 1)
        settings = QPushButton("Watch folders…")
        settings.clicked.connect(self.settings_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        top.addWidget(settings)
        top.addWidget(self.clear_button)
        layout.addLayout(top)
        self.tree = QTreeWidget()
        self.tree.setObjectName("arrived-list")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Time", "File", "Result", "Tags"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column, width in ((0, 56), (1, 220), (2, 420)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        self.tree.itemActivated.connect(self._activated)
        self.tree.setMinimumHeight(60)
        layout.addWidget(self.tree, 1)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(720, DOCK_HEIGHT)  # a strip under the table, not half the window

    def set_folders(self, config: WatchConfig) -> None:
        self.roots = [Path(f).expanduser() for f in config.folders]
        if not config.folders:
            self.summary.setText("No folder is watched.")
            return
        names = ", ".join(Path(f).name or f for f in config.folders[:3])
        more = f" and {len(config.folders) - 3} more" if len(config.folders) > 3 else ""
        self.summary.setText(f"Watching {names}{more}")
        self.summary.setToolTip("\n".join(config.folders))

    def add(self, arrivals: Sequence[Arrival], when: datetime | None = None) -> None:
        stamp = (when or datetime.now()).strftime("%H:%M")
        # The newest scan on top, its files in the order the scan took them.
        for arrival in reversed(arrivals):
            result = arrival.result
            label = ARRIVAL_LABELS.get(result.status, result.status)
            if result.status == "failed" and result.reason:
                label = f"Failed: {result.reason}"
            elif result.status == "added" and result.title:
                label = f"Added: {result.title}"
            item = QTreeWidgetItem([stamp, self.shown_path(arrival.path), label,
                                    ", ".join(arrival.tags)])
            item.setToolTip(1, arrival.path)
            item.setToolTip(2, label)
            item.setForeground(2, QBrush(QColor(STATUS_COLOURS.get(result.status, _MUTED))))
            if result.id is not None:
                item.setData(0, Qt.ItemDataRole.UserRole, result.id)
            self.tree.insertTopLevelItem(0, item)
        while self.tree.topLevelItemCount() > ARRIVALS_SHOWN:
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)

    def shown_path(self, path: str) -> str:
        """The file as seen from its watch folder (``osteoarthritis/paper.pdf``)."""
        file = Path(path)
        for root in self.roots:
            if root in file.parents:
                return file.relative_to(root).as_posix()
        return file.name

    def clear(self) -> None:
        self.tree.clear()

    def rows(self) -> list[tuple[str, str, str]]:
        """(file, result, tags) of each row, newest first (tests and screenshots read it)."""
        return [(item.text(1), item.text(2), item.text(3))
                for i in range(self.tree.topLevelItemCount())
                if (item := self.tree.topLevelItem(i)) is not None]

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        paper_id = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(paper_id, int):
            self.show_requested.emit(paper_id)


# == wiring ==================================================================================


def watcher_of(window: MainWindow) -> WatchFolders | None:
    return window.findChild(WatchFolders, "watch-folders")


def open_dialog(window: MainWindow, watcher: WatchFolders) -> WatchFoldersDialog:
    dialog = WatchFoldersDialog(watcher.config, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(lambda: apply_config(window, watcher, dialog.config()))
    dialog.open()
    return dialog


def apply_config(window: MainWindow, watcher: WatchFolders, config: WatchConfig) -> None:
    try:
        watcher.set_config(config)
    except OSError as exc:
        window.report_error(ExorefError(
            f"Cannot save the watch folders in {watcher.folder}: {exc.strerror or exc}.",
            hint="check that the configuration folder can be written"))
        return
    count = len(config.folders)
    window.statusBar().showMessage(
        f"Watching {count} folder{'s' if count != 1 else ''}." if count
        else "No folder is watched.", 4000)


def _show_paper(window: MainWindow, paper_id: int) -> None:
    window.search_box.clear()
    window.select_view(View())
    window.run_search()
    window.table.select_ids([paper_id])


def install(window: MainWindow) -> WatchFolders:
    """Tools ▸ Watch folders…, the "Arrived" dock and the scan timer (once: a second call
    returns the watcher already there)."""
    existing = watcher_of(window)
    if existing is not None:
        return existing
    watcher = WatchFolders(window)
    panel = ArrivedPanel()
    panel.set_folders(watcher.config)
    dock = QDockWidget("Arrived from watch folders", window)
    dock.setObjectName("arrived-dock")
    dock.setWidget(panel)
    dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea
                         | Qt.DockWidgetArea.RightDockWidgetArea)
    # Placed where the saved window state had it; added (hidden) only when it had none:
    # restoreDockWidget() of a dock already added always "succeeds" and shows it.
    if not window.restoreDockWidget(dock):
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()  # shown when something arrives, or from the Tools menu
    panel.show_requested.connect(lambda pid: _show_paper(window, pid))
    panel.settings_requested.connect(lambda: open_dialog(window, watcher))

    def arrived(arrivals: list[Arrival]) -> None:
        panel.add(arrivals)
        if dock.isHidden():
            dock.show()
            window.resizeDocks([dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)

    watcher.arrived.connect(arrived)
    watcher.config_changed.connect(panel.set_folders)

    settings = QAction("&Watch folders…", window)
    settings.setObjectName("act-watch-folders")
    settings.setStatusTip("Folders whose new PDFs are imported on their own")
    settings.triggered.connect(lambda _checked=False: open_dialog(window, watcher))
    window.addAction(settings)
    toggle = dock.toggleViewAction()
    toggle.setText("&Arrived from watch folders")
    tools = tools_menu(window)
    tools.addSeparator()
    tools.addAction(settings)
    tools.addAction(toggle)
    return watcher
