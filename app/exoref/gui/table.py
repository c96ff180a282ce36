"""The paper table: a model that holds every id of the view and loads rows a page at a time.

``ViewService.ids`` gives the ordered ids of a view (100,000 ints are cheap); ``data()`` asks
``ViewService.rows`` for the page of ~200 rows it needs, and keeps a bounded number of pages.
Scrolling to the end of 100,000 papers therefore loads only the last page, and sorting is one
SQL query for the ids.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from exoref.services.views import View

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from exoref.services.views import PaperRow, ViewService

log = logging.getLogger("exoref.gui.table")

PAGE_SIZE = 200
#: Pages kept in memory (LRU); 64 × 200 rows is far more than any screen shows.
MAX_PAGES = 64
#: The drag-and-drop type for papers dragged out of the table (a JSON list of ids).
PAPERS_MIME = "application/x-exoref-papers"
RELEVANCE = "relevance"
PAPER_ID_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    #: the ViewService sort key, or None when the column cannot be sorted
    sort: str | None
    width: int
    visible: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("title", "Title", "title", 400),
    Column("first_author", "First author", "first_author", 124),
    Column("year", "Year", "year", 50),
    Column("journal", "Journal", "journal", 150),
    Column("indications", "Indications", None, 124),
    Column("added", "Added", "added", 86),
    Column("citekey", "Citation key", "citekey", 190, visible=False),
    Column("files", "Files", None, 48, visible=False),
)
COLUMN_KEYS = [c.key for c in COLUMNS]


def _display(row: PaperRow, key: str) -> str:
    if key == "title":
        return row.title or "(untitled)"
    if key == "first_author":
        return row.author_label
    if key == "year":
        return str(row.year) if row.year else ""
    if key == "added":
        return row.added.strftime("%Y-%m-%d") if row.added else ""
    if key == "files":
        return str(row.files) if row.files else ""
    return str(getattr(row, key))


class PaperTableModel(QAbstractTableModel):
    """Every paper of one view, in order; rows are fetched in pages when first shown."""

    #: the ids were replaced (a new view, query or sort)
    reloaded = Signal()

    def __init__(self, views: ViewService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views = views
        self.view = View()
        self.query = ""
        self.sort_key = "added"
        self.descending = True
        self._ids: list[int] = []
        self._positions: dict[int, int] | None = None
        self._pages: OrderedDict[int, list[PaperRow | None]] = OrderedDict()
        self.pages_loaded = 0  # a counter for tests and the benchmark
        self._muted = QPalette().color(QPalette.ColorRole.PlaceholderText)

    # -- what the table shows --------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        return self._ids

    def set_ids(
        self,
        ids: list[int],
        *,
        view: View | None = None,
        query: str | None = None,
        sort: str | None = None,
        descending: bool | None = None,
    ) -> None:
        """Show ``ids`` (already ordered, e.g. computed off the GUI thread)."""
        self.beginResetModel()
        if view is not None:
            self.view = view
        if query is not None:
            self.query = query
        if sort is not None:
            self.sort_key = sort
        if descending is not None:
            self.descending = descending
        self._ids = ids
        self._positions = None
        self._pages.clear()
        self.endResetModel()
        self.reloaded.emit()

    def load(
        self,
        view: View | None = None,
        *,
        query: str | None = None,
        sort: str | None = None,
        descending: bool | None = None,
    ) -> None:
        """Query the ids of the view (synchronously: one SQL query) and show them.

        Raises :class:`~exoref.errors.QuerySyntaxError` for a bad query, leaving the table
        as it was.
        """
        view = self.view if view is None else view
        query = self.query if query is None else query
        sort = self.sort_key if sort is None else sort
        descending = self.descending if descending is None else descending
        if sort == RELEVANCE and not query.strip():
            sort, descending = "added", True
        ids = self.views.ids(view, query=query, sort=sort, descending=descending)
        self.set_ids(ids, view=view, query=query, sort=sort, descending=descending)

    def reload(self) -> None:
        """Query again with the same view, query and sort (after an import, a trash, ...)."""
        self.load()

    def refresh(self, ids: Iterable[int]) -> None:
        """Forget the cached rows of ``ids`` so they are read again (after an edit)."""
        for pid in ids:
            row = self.row_of(pid)
            if row is None:
                continue
            page = row // PAGE_SIZE
            if self._pages.pop(page, None) is not None:
                first = self.index(page * PAGE_SIZE, 0)
                last = self.index(min(len(self._ids), (page + 1) * PAGE_SIZE) - 1,
                                  len(COLUMNS) - 1)
                self.dataChanged.emit(first, last)

    def paper_id(self, row: int) -> int:
        return self._ids[row]

    def row_of(self, paper_id: int) -> int | None:
        if self._positions is None:
            self._positions = {pid: i for i, pid in enumerate(self._ids)}
        return self._positions.get(paper_id)

    def paper_row(self, row: int) -> PaperRow | None:
        """The row's data, loading its page if needed."""
        if not 0 <= row < len(self._ids):
            return None
        page_no = row // PAGE_SIZE
        page = self._pages.get(page_no)
        if page is None:
            page = self._load_page(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[row - page_no * PAGE_SIZE]

    def _load_page(self, page_no: int) -> list[PaperRow | None]:
        chunk = self._ids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE]
        by_id = {r.id: r for r in self.views.rows(chunk)}
        page: list[PaperRow | None] = [by_id.get(pid) for pid in chunk]
        self._pages[page_no] = page
        self.pages_loaded += 1
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    # -- QAbstractTableModel ---------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        if role == PAPER_ID_ROLE:
            return self._ids[index.row()]
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column.key in ("year", "files"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        row = self.paper_row(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column.key in ("added", "indications") or (column.key == "title"
                                                           and not row.title):
                return self._muted
            return None
        text = _display(row, column.key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key == "title" and row.flags:
                return f"{text}\n⚠ {', '.join(row.flags)}"
            return text if len(text) > 30 else None
        return text

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].title
            if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[section].sort is None:
                return f"{COLUMNS[section].title} (cannot be sorted)"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column].sort if 0 <= column < len(COLUMNS) else None
        if key is None:
            return
        self.load(sort=key, descending=order == Qt.SortOrder.DescendingOrder)

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction | Qt.DropAction.LinkAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PAPERS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        rows = sorted({i.row() for i in indexes if i.isValid()})
        ids = [self._ids[r] for r in rows]
        mime = QMimeData()
        mime.setData(PAPERS_MIME, QByteArray(json.dumps(ids).encode()))
        keys = [row.citekey for r in rows if (row := self.paper_row(r)) is not None]
        mime.setText(", ".join(keys))
        return mime


def ids_from_mime(mime: QMimeData) -> list[int]:
    if not mime.hasFormat(PAPERS_MIME):
        return []
    try:
        data = json.loads(bytes(mime.data(PAPERS_MIME).data()).decode())
    except ValueError:
        return []
    return [int(x) for x in data if isinstance(x, int)]


class PaperTable(QTableView):
    """The table view: sortable headers, user-chosen columns, drag out."""

    #: the user asked for a context menu at this global position
    context_menu_requested = Signal(QPoint)
    #: the user clicked a sortable column header: (ViewService sort key, descending)
    sort_requested = Signal(str, bool)

    def __init__(self, model: PaperTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paper-table")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(
            lambda pos: self.context_menu_requested.emit(self.viewport().mapToGlobal(pos))
        )
        self.setCornerButtonEnabled(False)
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        # Fixed row heights: the view never asks 100,000 rows for their size.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        for i, column in enumerate(COLUMNS):
            header.resizeSection(i, column.width)
            header.setSectionHidden(i, not column.visible)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        # The header flips its indicator on a click; the window re-queries the ids.  (Not
        # setSortingEnabled: that would sort in the constructor and twice on sortByColumn.)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        self._sort_column = COLUMN_KEYS.index("added")
        self._sort_order = Qt.SortOrder.DescendingOrder
        header.setSortIndicator(self._sort_column, self._sort_order)
        header.sortIndicatorChanged.connect(self._sort_changed)
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        # Keep the selection readable when the table loses focus to the details pane.
        palette.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight,
                         QColor(highlight).lighter(135))
        palette.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.HighlightedText,
                         palette.color(QPalette.ColorRole.HighlightedText))
        self.setPalette(palette)

    def paper_model(self) -> PaperTableModel:
        model = self.model()
        assert isinstance(model, PaperTableModel)
        return model

    def selected_ids(self) -> list[int]:
        model = self.paper_model()
        rows = sorted(i.row() for i in self.selectionModel().selectedRows())
        return [model.paper_id(r) for r in rows]

    def current_id(self) -> int | None:
        index = self.currentIndex()
        if not index.isValid() or not self.selectionModel().isRowSelected(index.row()):
            rows = self.selectionModel().selectedRows()
            if not rows:
                return None
            index = rows[0]
        return self.paper_model().paper_id(index.row())

    def select_ids(self, ids: Sequence[int], *, current: int | None = None) -> None:
        """Select the rows of ``ids`` that the view shows (one selection change); scroll to
        the current one."""
        model = self.paper_model()
        selection_model = self.selectionModel()
        rows = sorted(r for pid in ids if (r := model.row_of(pid)) is not None)
        selection = QItemSelection()
        last_col = model.columnCount() - 1
        start = prev = None
        for row in [*rows, None]:  # contiguous runs become one range each
            if row is not None and prev is not None and row == prev + 1:
                prev = row
                continue
            if start is not None and prev is not None:
                selection.select(model.index(start, 0), model.index(prev, last_col))
            start = prev = row
        selection_model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
                               | QItemSelectionModel.SelectionFlag.Rows)
        focus = model.row_of(current) if current is not None else (rows[0] if rows else None)
        if focus is not None:
            selection_model.setCurrentIndex(model.index(focus, 0),
                                            QItemSelectionModel.SelectionFlag.NoUpdate)
            self.scrollTo(model.index(focus, 0), QAbstractItemView.ScrollHint.EnsureVisible)

    def show_relevance(self) -> None:
        """A search ranks best first: no column is the sort."""
        header = self.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        header.blockSignals(False)
        self._sort_column = -1

    def show_sort(self, key: str, descending: bool) -> None:
        section = next((i for i, c in enumerate(COLUMNS) if c.sort == key), None)
        if section is None:
            return
        header = self.horizontalHeader()
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        header.blockSignals(True)
        header.setSortIndicator(section, order)
        header.blockSignals(False)
        self._sort_column, self._sort_order = section, order

    def _sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        if not 0 <= column < len(COLUMNS) or COLUMNS[column].sort is None:
            # Not sortable: put the indicator back where it was.
            header = self.horizontalHeader()
            header.blockSignals(True)
            header.setSortIndicator(self._sort_column, self._sort_order)
            header.blockSignals(False)
            return
        self._sort_column, self._sort_order = column, order
        key = COLUMNS[column].sort
        assert key is not None
        self.sort_requested.emit(key, order == Qt.SortOrder.DescendingOrder)

    def _header_menu(self, pos: QPoint) -> None:
        header = self.horizontalHeader()
        menu = QMenu(self)
        menu.setObjectName("columns-menu")
        for i, column in enumerate(COLUMNS):
            action = QAction(column.title, menu)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(i))
            action.setEnabled(column.key != "title")  # the title always shows
            action.toggled.connect(lambda on, i=i: self.set_column_visible(i, on))
            menu.addAction(action)
        menu.popup(header.mapToGlobal(pos))

    def set_column_visible(self, section: int, visible: bool) -> None:
        self.horizontalHeader().setSectionHidden(section, not visible)

    def visible_columns(self) -> list[str]:
        header = self.horizontalHeader()
        return [c.key for i, c in enumerate(COLUMNS) if not header.isSectionHidden(i)]
