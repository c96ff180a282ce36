"""The sidebar: the library's views and its tags, grouped by kind, each with its count.

Indications, MSC sources and study types come from the vocabulary's tree
(:meth:`exoref.services.tagging.TaggingService.tree`): each node counts the papers under it,
narrower tags included, and nodes without papers are left out so a library of knee
osteoarthritis papers does not scroll past sixty empty indications.  Free tags follow as
before.

A small model (a few dozen items), so a ``QStandardItemModel`` is the right tool.  Files and
papers dropped onto a tag are imported and tagged, or tagged; papers dropped onto the Trash are
moved there.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QPainter,
    QPalette,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from exoref.domain.models import Tag, TagKind
from exoref.gui.icons import icon
from exoref.gui.table import ids_from_mime
from exoref.services.views import View, ViewKind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtCore import QMimeData

    from exoref.services.tagging import TreeNode
    from exoref.services.views import SidebarCounts

log = logging.getLogger("exoref.gui.sidebar")

VIEW_ROLE = Qt.ItemDataRole.UserRole + 1
COUNT_ROLE = Qt.ItemDataRole.UserRole + 2
HEADER_ROLE = Qt.ItemDataRole.UserRole + 3

FIXED_VIEWS: tuple[tuple[ViewKind, str, str], ...] = (
    (ViewKind.ALL, "My Library", "library"),
    (ViewKind.RECENT, "Recently added", "recent"),
    (ViewKind.UNTAGGED, "Untagged", "untagged"),
    (ViewKind.ATTENTION, "Needs attention", "attention"),
    (ViewKind.TRASH, "Trash", "trash"),
)
#: Tag kinds the vocabulary tree provides (with counts that include narrower tags).
TREE_KINDS = frozenset({TagKind.INDICATION, TagKind.MSC_SOURCE, TagKind.STUDY_TYPE})
TAG_GROUPS: tuple[tuple[TagKind, str, str], ...] = (
    (TagKind.INDICATION, "Indications", "indication"),
    (TagKind.MSC_SOURCE, "MSC source", "source"),
    (TagKind.STUDY_TYPE, "Study type", "study"),
    (TagKind.FREE, "Tags", "tag"),
)


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders in a ``text/uri-list`` drop (other URLs are ignored)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def tag_of(view: View | None) -> Tag | None:
    if view is None or view.kind is not ViewKind.TAG or not view.tag:
        return None
    return Tag(view.tag, view.tag_kind or TagKind.FREE)


class _CountDelegate(QStyledItemDelegate):
    """Draws the item with its count right-aligned and muted; group headers in small caps."""

    def __init__(self, sidebar: Sidebar) -> None:
        super().__init__(sidebar)
        self.sidebar = sidebar

    def sizeHint(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        extra = 14 if index.data(HEADER_ROLE) else 8
        return QSize(size.width(), size.height() + extra)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        if index.data(HEADER_ROLE):
            painter.save()
            font = QFont(opt.font)
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 0.85)
            font.setCapitalization(QFont.Capitalization.AllUppercase)
            font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
            painter.setFont(font)
            painter.setPen(opt.palette.color(QPalette.ColorRole.PlaceholderText))
            rect: QRect = opt.rect.adjusted(4, 8, -4, 0)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             str(index.data()))
            painter.restore()
            return
        count = index.data(COUNT_ROLE)
        text = f"{int(count):,}".replace(",", "\u2009") if count is not None else ""
        metrics = opt.fontMetrics
        reserve = metrics.horizontalAdvance(text) + 16 if text else 0
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        opt.text = metrics.elidedText(
            opt.text, Qt.TextElideMode.ElideRight, max(10, text_rect.width() - reserve)
        )
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        if text:
            painter.save()
            role = (QPalette.ColorRole.HighlightedText if selected
                    else QPalette.ColorRole.PlaceholderText)
            painter.setPen(opt.palette.color(role))
            area = opt.rect.adjusted(0, 0, -10, 0)
            painter.drawText(area, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             text)
            painter.restore()
        if self.sidebar.drop_target is not None and self.sidebar.drop_target == index:
            painter.save()
            pen_color = QColor(opt.palette.color(QPalette.ColorRole.Highlight))
            painter.setPen(pen_color)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.drawRoundedRect(opt.rect.adjusted(1, 1, -2, -2), 4, 4)
            painter.restore()


class Sidebar(QTreeView):
    """The views of the library; emits what the user chose or dropped."""

    #: the user selected a view
    view_selected = Signal(object)
    #: files or folders were dropped: (paths, Tag or None)
    files_dropped = Signal(list, object)
    #: papers from the table were dropped on a tag: (ids, Tag)
    papers_dropped = Signal(list, object)
    #: papers from the table were dropped on the Trash
    papers_trashed = Signal(list)
    #: a context menu at a global position, for a view (or None)
    context_menu_requested = Signal(object, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.items = QStandardItemModel(self)
        self.setModel(self.items)
        self.setHeaderHidden(True)
        # Top-level indications (musculoskeletal, liver disease, ...) fold away.
        self.setRootIsDecorated(True)
        self.setIndentation(14)
        self.setUniformRowHeights(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFrameShape(QTreeView.Shape.NoFrame)
        self.setIconSize(QSize(18, 18))
        self.setItemDelegate(_CountDelegate(self))
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, palette.color(QPalette.ColorRole.Window))
        self.setPalette(palette)
        self.drop_target: QPersistentModelIndex | None = None
        self._restoring = False
        self._counts: SidebarCounts | None = None
        self._tree: list[TreeNode] | None = None
        #: tags the user folded away (kind, name key): they stay folded across refreshes
        self._collapsed: set[tuple[str, str]] = set()
        self.selectionModel().currentChanged.connect(self._current_changed)
        self.collapsed.connect(lambda index: self._remember_fold(index, folded=True))
        self.expanded.connect(lambda index: self._remember_fold(index, folded=False))

    # -- content -----------------------------------------------------------------------------

    def set_counts(
        self, counts: SidebarCounts, tree: Sequence[TreeNode] | None = None
    ) -> None:
        """Show ``counts`` and, when given, the vocabulary ``tree`` for indications, sources and
        study types; keeps the selected view (or My Library if it went away)."""
        current = self.current_view()
        self._counts = counts
        self._tree = list(tree) if tree is not None else None
        scrolled = self.verticalScrollBar().value()
        self._restoring = True
        try:
            self.items.clear()
            root = self.items.invisibleRootItem()
            for view_kind, label, icon_name in FIXED_VIEWS:
                root.appendRow(self._item(label, View(view_kind),
                                          getattr(counts, view_kind.value), icon_name))
            by_kind: dict[TagKind, list[tuple[str, str | None, int]]] = {}
            for name, kind, parent, count in counts.tags:
                by_kind.setdefault(kind, []).append((name, parent, count))
            nodes_by_kind: dict[TagKind, list[TreeNode]] = {}
            for node in self._tree or ():
                nodes_by_kind.setdefault(node.kind, []).append(node)
            for kind, label, icon_name in TAG_GROUPS:
                if self._tree is not None and kind in TREE_KINDS:
                    nodes = [n for n in nodes_by_kind.get(kind, [])
                             if _shown(n, current)]
                    if not nodes:
                        continue
                    root.appendRow(self._header(label))
                    self._add_nodes(root, nodes, icon_name, current)
                    continue
                tags = by_kind.get(kind)
                if not tags:
                    continue
                root.appendRow(self._header(label))
                self._add_tags(root, kind, tags, icon_name)
            self._apply_folds()
            self.select_view(current if current is not None else View())
            self.verticalScrollBar().setValue(scrolled)  # new counts, same place
        finally:
            self._restoring = False

    @staticmethod
    def _header(label: str) -> QStandardItem:
        header = QStandardItem(label)
        header.setData(True, HEADER_ROLE)
        header.setFlags(Qt.ItemFlag.ItemIsEnabled)
        return header

    def _add_nodes(
        self,
        parent: QStandardItem,
        nodes: Sequence[TreeNode],
        icon_name: str,
        current: View | None,
    ) -> None:
        """Vocabulary nodes with papers under them (and the selected one), narrower ones
        nested."""
        for node in nodes:
            if not _shown(node, current):
                continue
            item = self._item(node.label, View(ViewKind.TAG, node.label, node.kind), node.count,
                              icon_name)
            if node.children and node.count:
                item.setToolTip(f"{node.label}: {_papers(node.count)}, narrower "
                                f"{KIND_WORDS.get(node.kind, 'tags')} included")
            parent.appendRow(item)
            self._add_nodes(item, node.children, icon_name, current)

    def _remember_fold(self, index: QModelIndex, *, folded: bool) -> None:
        if self._restoring:
            return
        key = _fold_key(index.data(VIEW_ROLE))
        if key is None:
            return
        if folded:
            self._collapsed.add(key)
        else:
            self._collapsed.discard(key)

    def _apply_folds(self) -> None:
        """Everything unfolded, except what the user folded (and never the selected tag's
        parents)."""
        self.expandAll()

        def walk(parent: QModelIndex) -> None:
            for row in range(self.items.rowCount(parent)):
                index = self.items.index(row, 0, parent)
                if _fold_key(index.data(VIEW_ROLE)) in self._collapsed:
                    self.collapse(index)
                walk(index)

        if self._collapsed:
            walk(QModelIndex())

    def _add_tags(
        self,
        root: QStandardItem,
        kind: TagKind,
        tags: list[tuple[str, str | None, int]],
        icon_name: str,
    ) -> None:
        """Tags of one kind; a tag whose parent is a tag of the same kind goes under it."""
        names = {name.casefold() for name, _parent, _count in tags}
        made: dict[str, QStandardItem] = {}
        pending = list(tags)
        while pending:
            progress = False
            for entry in list(pending):
                name, parent, count = entry
                under = parent.casefold() if parent and parent.casefold() in names else None
                if under is not None and under not in made:
                    continue  # its parent is not placed yet
                item = self._item(name, View(ViewKind.TAG, name, kind), count, icon_name)
                (made[under] if under is not None else root).appendRow(item)
                made[name.casefold()] = item
                pending.remove(entry)
                progress = True
            if not progress:  # a cycle of parents: show the rest flat
                for name, _parent, count in pending:
                    root.appendRow(self._item(name, View(ViewKind.TAG, name, kind), count,
                                              icon_name))
                break

    @staticmethod
    def _item(label: str, view: View, count: int, icon_name: str) -> QStandardItem:
        item = QStandardItem(icon(icon_name), label)
        item.setData(view, VIEW_ROLE)
        item.setData(count, COUNT_ROLE)
        item.setToolTip(f"{label}: {_papers(count)}")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                      | Qt.ItemFlag.ItemIsDropEnabled)
        return item

    def tags(self) -> list[Tag]:
        """Every tag the library has (for completion)."""
        if self._counts is None:
            return []
        return [Tag(name, kind) for name, kind, _parent, _count in self._counts.tags]

    def set_tree(self, tree: Sequence[TreeNode]) -> None:
        """New counts for the vocabulary tree (the other counts stay)."""
        if self._counts is not None:
            self.set_counts(self._counts, tree)
        else:
            self._tree = list(tree)

    def tree(self) -> list[TreeNode] | None:
        """The vocabulary tree last shown (every node, with or without papers)."""
        return self._tree

    def count_of(self, view: View) -> int | None:
        index = self.index_of(view)
        return None if index is None else int(index.data(COUNT_ROLE))

    # -- selection ---------------------------------------------------------------------------

    def index_of(self, view: View) -> QModelIndex | None:
        def walk(parent: QModelIndex) -> QModelIndex | None:
            for row in range(self.items.rowCount(parent)):
                index = self.items.index(row, 0, parent)
                found = index.data(VIEW_ROLE)
                if isinstance(found, View) and _same_view(found, view):
                    return index
                deeper = walk(index)
                if deeper is not None:
                    return deeper
            return None

        return walk(QModelIndex())

    def current_view(self) -> View | None:
        index = self.currentIndex()
        view = index.data(VIEW_ROLE) if index.isValid() else None
        return view if isinstance(view, View) else None

    def select_view(self, view: View) -> bool:
        """Select ``view`` (My Library when it is not there); True when it was found."""
        index = self.index_of(view)
        found = index is not None
        if index is None:
            index = self.index_of(View())
        if index is not None:
            parent = index.parent()
            while parent.isValid():  # a folded parent opens to show what is selected
                self.expand(parent)
                parent = parent.parent()
            self.setCurrentIndex(index)
        return found

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._restoring:
            return
        view = current.data(VIEW_ROLE)
        if isinstance(view, View):
            self.view_selected.emit(view)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        view = index.data(VIEW_ROLE) if index.isValid() else None
        self.context_menu_requested.emit(
            view if isinstance(view, View) else None, self.viewport().mapToGlobal(pos)
        )

    # -- drops -------------------------------------------------------------------------------

    def view_at(self, pos: QPoint) -> View | None:
        index = self.indexAt(pos)
        view = index.data(VIEW_ROLE) if index.isValid() else None
        return view if isinstance(view, View) else None

    def accepts(self, mime: QMimeData, view: View | None) -> bool:
        if local_paths(mime):
            return True
        if ids_from_mime(mime):
            return tag_of(view) is not None or (
                view is not None and view.kind is ViewKind.TRASH
            )
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if local_paths(event.mimeData()) or ids_from_mime(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        view = self.view_at(pos)
        if self.accepts(event.mimeData(), view):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            index = self.indexAt(pos)
            self._set_drop_target(index if view is not None else None)
        else:
            event.ignore()
            self._set_drop_target(None)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._set_drop_target(None)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_drop_target(None)
        view = self.view_at(event.position().toPoint())
        if self.handle_drop(event.mimeData(), view):
            event.setDropAction(Qt.DropAction.CopyAction)  # external files are copied in
            event.accept()
        else:
            event.ignore()

    def handle_drop(self, mime: QMimeData, view: View | None) -> bool:
        """What a drop onto ``view`` does; the work starts after the drop has returned."""
        if not self.accepts(mime, view):
            return False
        paths = local_paths(mime)
        tag = tag_of(view)
        if paths:
            QTimer.singleShot(0, lambda: self.files_dropped.emit(paths, tag))
            return True
        ids = ids_from_mime(mime)
        if tag is not None:
            QTimer.singleShot(0, lambda: self.papers_dropped.emit(ids, tag))
        else:
            QTimer.singleShot(0, lambda: self.papers_trashed.emit(ids))
        return True

    def _set_drop_target(self, index: QModelIndex | None) -> None:
        target = QPersistentModelIndex(index) if index is not None and index.isValid() else None
        if target != self.drop_target:
            self.drop_target = target
            self.viewport().update()


KIND_WORDS = {
    TagKind.INDICATION: "indications",
    TagKind.MSC_SOURCE: "sources",
    TagKind.STUDY_TYPE: "study types",
}


def _papers(count: int) -> str:
    return f"{count} paper{'s' if count != 1 else ''}"


def _shown(node: TreeNode, current: View | None) -> bool:
    """A node is listed when papers are under it, or when it is (or holds) the selected
    view."""
    if node.count:
        return True
    if current is None or current.kind is not ViewKind.TAG:
        return False
    if _same_view(current, View(ViewKind.TAG, node.label, node.kind)):
        return True
    return any(_shown(child, current) for child in node.children)


def _fold_key(view: object) -> tuple[str, str] | None:
    if not isinstance(view, View) or view.kind is not ViewKind.TAG or not view.tag:
        return None
    return (view.tag_kind.value if view.tag_kind else "", view.tag.casefold())


def _same_view(a: View, b: View) -> bool:
    if a.kind is not b.kind:
        return False
    if a.kind is not ViewKind.TAG:
        return True
    return (a.tag or "").casefold() == (b.tag or "").casefold() and (
        a.tag_kind is None or b.tag_kind is None or a.tag_kind is b.tag_kind
    )
