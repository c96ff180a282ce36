"""The library as a picture: indication × MSC source (× study type), and papers per year.

Both charts are painted with ``QPainter``: PySide6-Essentials has no QtCharts, and two small
widgets that draw exactly what is needed are easier to make readable than a chart library's
defaults.  The numbers come from :meth:`exoref.services.tagging.TaggingService.overview`,
loaded off the GUI thread by the window.  A click on a cell (or a bar, or a legend entry)
asks the window to show those papers: the dialog emits a search query made of ``tag:`` terms
(narrower tags included), so the table shows exactly the papers that were counted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.services.tagging import Overview

log = logging.getLogger("exoref.gui.overview")

#: Sequential blues for the matrix, light to dark (0 papers is drawn apart, in grey).
HEAT_STOPS = ("#e0ecfb", "#b6d3f5", "#7fb0ea", "#3f83d6", "#1d5bb3", "#0f3a80")
EMPTY_CELL = "#f3f4f6"
#: Series colours of the year chart (Tableau 10: distinct, readable, colour-blind friendly
#: enough for eight series); "other indications" is grey.
SERIES_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                  "#b07aa1", "#ff9da7", "#9c755f")
OTHER_COLOUR = "#e2dfdb"
MULTIPLES_COLOUR = "#4e79a7"
#: Indications drawn as their own series in the stacked chart; the rest are "other".
STACKED_SERIES = 8
#: Indications drawn in the small-multiples chart.
MULTIPLES = 12
#: The year axis never spans more than this many years (the newest ones).
MAX_YEARS = 40
ANY = 0
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def heat_colour(fraction: float) -> QColor:
    """The matrix colour for ``fraction`` (0..1] of the column's largest count."""
    fraction = min(max(fraction, 0.0), 1.0)
    position = fraction * (len(HEAT_STOPS) - 1)
    low = math.floor(position)
    high = min(low + 1, len(HEAT_STOPS) - 1)
    mix = position - low
    a, b = QColor(HEAT_STOPS[low]), QColor(HEAT_STOPS[high])
    return QColor(
        round(a.red() + (b.red() - a.red()) * mix),
        round(a.green() + (b.green() - a.green()) * mix),
        round(a.blue() + (b.blue() - a.blue()) * mix),
    )


def shade(count: int, largest: int) -> float:
    """Where ``count`` sits on the colour scale: square root, so that the few papers of a
    rare combination still show against the hundreds of a common one."""
    if count <= 0 or largest <= 0:
        return 0.0
    return 0.12 + 0.88 * math.sqrt(count / largest)


def tag_query(*names: str) -> str:
    """A search query for the papers carrying every tag of ``names`` (narrower ones too)."""
    terms = []
    for name in names:
        clean = " ".join(name.replace('"', " ").split())
        if clean:
            terms.append(f'tag:"{clean}"')
    return " ".join(terms)


def nice_step(largest: float, ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10^k) for about ``ticks`` gridlines up to ``largest``."""
    if largest <= ticks:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)


def _papers(count: int) -> str:
    return f"{count:,} paper{'s' if count != 1 else ''}".replace(",", "\u2009")


def _small_font(base: QFont, scale: float = 0.88) -> QFont:
    font = QFont(base)
    size = font.pointSizeF()
    if size > 0:
        font.setPointSizeF(size * scale)
    return font


# == the matrix ==================================================================================


class HeatMap(QWidget):
    """Rows of indications, columns of MSC sources ("any source" first), a count per cell
    shaded by value.  Each column is shaded against its own largest count, so that the
    "any source" totals do not wash out the sources."""

    #: (row id, column id; 0 is "any source") of a clicked cell with papers
    cell_clicked = Signal(int, int)

    CELL_W = 74
    CELL_H = 26
    GAP = 3
    SPLIT = 12  # between "any source" and the sources
    PAD = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heat-map")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.rows: list[tuple[int, str]] = []
        self.columns: list[tuple[int, str]] = []
        self.values: dict[tuple[int, int], int] = {}
        self.hover: tuple[int, int] | None = None
        self.chosen: tuple[int, int] | None = None
        self._pressed: tuple[int, int] | None = None
        self._label_w = 160
        self._header_h = 52

    def set_data(
        self,
        rows: Sequence[tuple[int, str]],
        columns: Sequence[tuple[int, str]],
        values: dict[tuple[int, int], int],
    ) -> None:
        self.rows = list(rows)
        self.columns = list(columns)
        self.values = dict(values)
        self.hover = None
        metrics = QFontMetrics(self.font())
        widest = max((metrics.horizontalAdvance(name) for _id, name in self.rows), default=80)
        self._label_w = min(max(widest + 2 * self.PAD, 120), 260)
        small = QFontMetrics(_small_font(self.font()))
        lines = 1
        for _id, name in self.columns:
            box = small.boundingRect(QRect(0, 0, self.CELL_W - 4, 200),
                                     int(Qt.TextFlag.TextWordWrap), name)
            lines = max(lines, math.ceil(box.height() / max(small.lineSpacing(), 1)))
        self._header_h = min(lines, 3) * small.lineSpacing() + 14
        self.updateGeometry()
        self.update()

    # -- geometry ------------------------------------------------------------------------

    def _column_x(self, index: int) -> int:
        x = self._label_w + index * (self.CELL_W + self.GAP)
        return x + (self.SPLIT if index > 0 else 0)

    def cell_rect(self, row_id: int, column_id: int) -> QRect:
        """Where the cell of (``row_id``, ``column_id``) is drawn (empty when absent)."""
        rows = [r for r, _ in self.rows]
        cols = [c for c, _ in self.columns]
        if row_id not in rows or column_id not in cols:
            return QRect()
        r, c = rows.index(row_id), cols.index(column_id)
        return QRect(self._column_x(c), self._header_h + r * (self.CELL_H + self.GAP),
                     self.CELL_W, self.CELL_H)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        y = pos.y() - self._header_h
        if y < 0 or pos.x() < self._label_w:
            return None
        r = y // (self.CELL_H + self.GAP)
        if r >= len(self.rows) or y % (self.CELL_H + self.GAP) >= self.CELL_H:
            return None
        for c in range(len(self.columns)):
            x = self._column_x(c)
            if x <= pos.x() < x + self.CELL_W:
                return self.rows[r][0], self.columns[c][0]
        return None

    def sizeHint(self) -> QSize:  # noqa: N802
        width = self._column_x(len(self.columns)) + self.PAD
        height = self._header_h + len(self.rows) * (self.CELL_H + self.GAP) + self.PAD
        return QSize(width, height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    # -- painting ------------------------------------------------------------------------

    def _largest(self) -> dict[int, int]:
        """The largest count of each column (the colour scale's top)."""
        top: dict[int, int] = {}
        for (_row, col), value in self.values.items():
            top[col] = max(top.get(col, 0), value)
        sources = max((v for c, v in top.items() if c != ANY), default=0)
        return {c: (v if c == ANY else sources) for c, v in top.items()}

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        small = _small_font(self.font())
        bold = QFont(self.font())
        bold.setBold(True)
        hover_row, hover_col = self.hover if self.hover is not None else (None, None)

        # column headings, bottom-aligned and wrapped
        painter.setFont(small)
        for c, (col_id, name) in enumerate(self.columns):
            rect = QRect(self._column_x(c) + 1, 2, self.CELL_W - 2, self._header_h - 8)
            painter.setPen(text if col_id in (hover_col, ANY) else muted)
            font = QFont(small)
            font.setBold(col_id == hover_col or col_id == ANY)
            painter.setFont(font)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
                                       | Qt.TextFlag.TextWordWrap), name)
        if len(self.columns) > 1:  # a hairline between the totals and the sources
            x = self._column_x(1) - self.SPLIT // 2 - 1
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
            painter.drawLine(x, self._header_h, x,
                             self._header_h + len(self.rows) * (self.CELL_H + self.GAP))

        largest = self._largest()
        metrics = QFontMetrics(self.font())
        for r, (row_id, name) in enumerate(self.rows):
            y = self._header_h + r * (self.CELL_H + self.GAP)
            label = QRect(self.PAD, y, self._label_w - 2 * self.PAD + 4, self.CELL_H)
            painter.setFont(bold if row_id == hover_row else self.font())
            painter.setPen(text)
            painter.drawText(label, _RIGHT,
                             metrics.elidedText(name, Qt.TextElideMode.ElideRight, label.width()))
            for c, (col_id, _col_name) in enumerate(self.columns):
                value = self.values.get((row_id, col_id), 0)
                cell = QRectF(self._column_x(c), y, self.CELL_W, self.CELL_H)
                fraction = shade(value, largest.get(col_id, 0))
                fill = heat_colour(fraction) if value else QColor(EMPTY_CELL)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(fill)
                painter.drawRoundedRect(cell.adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
                if (row_id, col_id) in (self.hover, self.chosen) and value:
                    outline = QColor("#111827") if (row_id, col_id) == self.hover else \
                        palette.color(QPalette.ColorRole.Highlight)
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.setPen(QPen(outline, 2))
                    painter.drawRoundedRect(cell.adjusted(1, 1, -1, -1), 4, 4)
                if value:
                    painter.setFont(bold if col_id == ANY else self.font())
                    painter.setPen(QColor("#ffffff") if fraction > 0.62 else QColor("#1f2937"))
                    painter.drawText(cell, int(Qt.AlignmentFlag.AlignCenter),
                                     f"{value:,}".replace(",", "\u2009"))
        painter.end()

    # -- the mouse -----------------------------------------------------------------------

    def _tooltip(self, cell: tuple[int, int]) -> str:
        row_id, col_id = cell
        row = dict(self.rows).get(row_id, "")
        col = dict(self.columns).get(col_id, "")
        value = self.values.get(cell, 0)
        where = row if col_id == ANY else f"{row} × {col}"
        hint = "\nClick to show them in the table." if value else ""
        return f"{where}: {_papers(value)}{hint}"

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            cell = self.cell_at(event.pos())
            if cell is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self._tooltip(cell), self)
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position().toPoint())
        if cell != self.hover:
            self.hover = cell
            clickable = cell is not None and self.values.get(cell, 0) > 0
            self.setCursor(Qt.CursorShape.PointingHandCursor if clickable
                           else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.hover = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = self.cell_at(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cell = self.cell_at(event.position().toPoint())
        if (event.button() == Qt.MouseButton.LeftButton and cell is not None
                and cell == self._pressed and self.values.get(cell, 0) > 0):
            self.chosen = cell
            self.update()
            self.cell_clicked.emit(*cell)
        self._pressed = None
        super().mouseReleaseEvent(event)


# == papers per year =============================================================================


@dataclass(slots=True)
class Series:
    """One indication's papers per year (``tag_id`` 0: the other indications together)."""

    tag_id: int
    name: str
    per_year: dict[int, int]
    colour: QColor
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(self.per_year.values())


@dataclass(slots=True)
class _Hit:
    rect: QRectF
    tag_id: int
    year: int  # 0: the series as a whole (a legend entry or a panel title)
    text: str


class YearChart(QWidget):
    """Papers per year per indication: stacked bars with a legend, or one small chart per
    indication on a shared scale ("small multiples")."""

    #: (indication tag id, year or 0 for every year): the user clicked a bar or a legend entry
    series_clicked = Signal(int, int)

    STACKED = "stacked"
    MULTIPLES = "multiples"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("year-chart")
        self.setMouseTracking(True)
        self.setMinimumHeight(240)
        self.all_series: list[Series] = []
        self.series: list[Series] = []
        self.mode = self.STACKED
        self.years: list[int] = []
        self.hits: list[_Hit] = []
        self.hover: _Hit | None = None

    def set_data(self, per_year: dict[int, dict[int, int]], names: dict[int, str]) -> None:
        """``per_year[indication id][year]``; the largest indications get their own colour."""
        ranked = sorted(per_year.items(), key=lambda kv: (-sum(kv[1].values()),
                                                         names.get(kv[0], "").casefold()))
        self.all_series = [
            Series(tag_id, names.get(tag_id, "?"), dict(years),
                   QColor(SERIES_COLOURS[i % len(SERIES_COLOURS)]))
            for i, (tag_id, years) in enumerate(ranked) if years
        ]
        years = sorted({y for _id, ys in per_year.items() for y in ys})
        if years:
            first = max(years[0], years[-1] - MAX_YEARS + 1)
            self.years = list(range(first, years[-1] + 1))
        else:
            self.years = []
        self._arrange()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self._arrange()

    def _arrange(self) -> None:
        series = self.all_series
        if self.mode == self.STACKED and len(series) > STACKED_SERIES + 1:
            head = series[:STACKED_SERIES]
            other: dict[int, int] = {}
            for s in series[STACKED_SERIES:]:
                for year, count in s.per_year.items():
                    other[year] = other.get(year, 0) + count
            self.series = [*head, Series(0, f"{len(series) - STACKED_SERIES} other indications",
                                         other, QColor(OTHER_COLOUR))]
        elif self.mode == self.MULTIPLES:
            self.series = series[:MULTIPLES]
        else:
            self.series = list(series)
        self.hover = None
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, 320)

    # -- painting ------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.hits = []
        if not self.series or not self.years:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter),
                             "No paper with an indication and a year yet.")
            painter.end()
            return
        if self.mode == self.MULTIPLES:
            self._paint_multiples(painter)
        else:
            self._paint_stacked(painter)
        painter.end()

    def _year_labels(self, painter: QPainter, plot: QRectF, slot: float, every: int) -> None:
        metrics = painter.fontMetrics()
        for i, year in enumerate(self.years):
            if i % every and i != len(self.years) - 1:
                continue
            if i != len(self.years) - 1 and len(self.years) - 1 - i < every:
                continue  # keep the last year's label clear of this one
            x = plot.left() + (i + 0.5) * slot
            text = str(year)
            width = metrics.horizontalAdvance(text)
            painter.drawText(QRectF(x - width, plot.bottom() + 4, 2 * width,
                                    metrics.height()),
                             int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), text)

    def _grid(self, painter: QPainter, plot: QRectF, top: int, *, labels: bool) -> None:
        step = nice_step(top)
        palette = self.palette()
        grid = QColor(palette.color(QPalette.ColorRole.Mid))
        grid.setAlpha(70)
        value = 0
        while value <= top:
            y = plot.bottom() - plot.height() * value / top
            painter.setPen(QPen(grid, 1))
            painter.drawLine(round(plot.left()), round(y), round(plot.right()), round(y))
            if labels:
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(QRectF(0, y - 9, plot.left() - 6, 18),
                                 _RIGHT,
                                 str(value))
            value += step

    def _paint_stacked(self, painter: QPainter) -> None:
        palette = self.palette()
        small = _small_font(self.font())
        painter.setFont(small)
        metrics = painter.fontMetrics()
        legend_w = min(max(metrics.horizontalAdvance(s.name) for s in self.series) + 70, 260)
        plot = QRectF(44, 12, max(self.width() - 44 - legend_w - 24, 120),
                      max(self.height() - 12 - metrics.height() - 12, 60))
        totals = [sum(s.per_year.get(y, 0) for s in self.series) for y in self.years]
        top = max(max(totals), 1)
        step = nice_step(top)
        top = math.ceil(top / step) * step
        self._grid(painter, plot, top, labels=True)
        slot = plot.width() / len(self.years)
        bar = max(min(slot * 0.72, 46), 2)
        for i, year in enumerate(self.years):
            x = plot.left() + i * slot + (slot - bar) / 2
            base = plot.bottom()
            for s in self.series:
                count = s.per_year.get(year, 0)
                if not count:
                    continue
                height = plot.height() * count / top
                rect = QRectF(x, base - height, bar, height)
                colour = QColor(s.colour)
                if self.hover is not None and self.hover.tag_id != s.tag_id:
                    colour.setAlpha(110)
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 0.8))
                painter.setBrush(colour)
                painter.drawRect(rect)
                self.hits.append(_Hit(rect, s.tag_id, year,
                                      f"{year} · {s.name}: {_papers(count)}"))
                base -= height
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        every = max(1, math.ceil((metrics.horizontalAdvance("2000") + 10) / slot))
        self._year_labels(painter, plot, slot, every)

        # the legend: largest first, as the stack is drawn from the bottom up
        x = plot.right() + 24
        y = plot.top()
        line = max(metrics.height() + 6, 20)
        for s in self.series:
            row = QRectF(x, y, legend_w, line)
            swatch = QRectF(x, y + (line - 12) / 2, 12, 12)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(s.colour)
            painter.drawRoundedRect(swatch, 3, 3)
            hovered = self.hover is not None and self.hover.tag_id == s.tag_id
            font = QFont(small)
            font.setBold(hovered)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            name_rect = QRectF(x + 18, y, legend_w - 18 - 44, line)
            painter.drawText(name_rect, _LEFT,
                             metrics.elidedText(s.name, Qt.TextElideMode.ElideRight,
                                                int(name_rect.width())))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(x + legend_w - 44, y, 40, line),
                             _RIGHT,
                             str(s.total))
            self.hits.append(_Hit(row, s.tag_id, 0, f"{s.name}: {_papers(s.total)} in the "
                                                    "years shown"))
            y += line
            if y > self.height() - line:
                break
        painter.setFont(self.font())

    def _paint_multiples(self, painter: QPainter) -> None:
        palette = self.palette()
        small = _small_font(self.font())
        painter.setFont(small)
        metrics = painter.fontMetrics()
        columns = max(1, min(4, self.width() // 230))
        rows = math.ceil(len(self.series) / columns)
        cell_w = self.width() / columns
        cell_h = self.height() / max(rows, 1)
        top = max(max(s.per_year.values(), default=0) for s in self.series)
        top = max(top, 1)
        grid = QColor(palette.color(QPalette.ColorRole.Mid))
        grid.setAlpha(90)
        for n, s in enumerate(self.series):
            cx = (n % columns) * cell_w
            cy = (n // columns) * cell_h
            title = QRectF(cx + 10, cy + 4, cell_w - 22 - metrics.horizontalAdvance(str(top)) - 8,
                           metrics.height() + 2)
            bold = QFont(small)
            bold.setBold(True)
            painter.setFont(bold)
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(title, _LEFT,
                             metrics.elidedText(f"{s.name}  ({s.total})",
                                                Qt.TextElideMode.ElideRight, int(title.width())))
            self.hits.append(_Hit(title, s.tag_id, 0, f"{s.name}: {_papers(s.total)}"))
            painter.setFont(small)
            plot = QRectF(cx + 10, title.bottom() + 4, cell_w - 22,
                          cell_h - title.height() - metrics.height() - 18)
            if plot.height() < 12:
                continue
            axis = QColor(palette.color(QPalette.ColorRole.Mid))
            painter.setPen(QPen(axis, 1))
            painter.drawLine(round(plot.left()), round(plot.bottom()), round(plot.right()),
                             round(plot.bottom()))
            # the shared scale: a faint line at the largest count, labelled
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DashLine))
            painter.drawLine(round(plot.left()), round(plot.top()), round(plot.right()),
                             round(plot.top()))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(plot.left(), plot.top() - metrics.height() - 4,
                                    plot.width(), metrics.height()), _RIGHT, str(top))
            slot = plot.width() / len(self.years)
            bar = max(slot * 0.8, 1.0)
            for i, year in enumerate(self.years):
                count = s.per_year.get(year, 0)
                if not count:
                    continue
                height = plot.height() * count / top
                rect = QRectF(plot.left() + i * slot + (slot - bar) / 2,
                              plot.bottom() - height, bar, height)
                # one colour for every panel: here a colour would name nothing
                colour = QColor(MULTIPLES_COLOUR)
                if self.hover is not None and (self.hover.tag_id, self.hover.year) != \
                        (s.tag_id, year) and self.hover.tag_id == s.tag_id:
                    colour.setAlpha(150)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawRect(rect)
                self.hits.append(_Hit(rect, s.tag_id, year,
                                      f"{year} · {s.name}: {_papers(count)}"))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            label_y = plot.bottom() + 2
            painter.drawText(QRectF(plot.left(), label_y, plot.width(), metrics.height()),
                             int(Qt.AlignmentFlag.AlignLeft), str(self.years[0]))
            painter.drawText(QRectF(plot.left(), label_y, plot.width(), metrics.height()),
                             int(Qt.AlignmentFlag.AlignRight), str(self.years[-1]))
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.setFont(self.font())

    # -- the mouse -----------------------------------------------------------------------

    def hit_at(self, pos: QPoint) -> _Hit | None:
        for hit in self.hits:
            if hit.rect.contains(pos.toPointF()):
                return hit
        return None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            hit = self.hit_at(event.pos())
            if hit is None:
                QToolTip.hideText()
            else:
                extra = "\nClick to show them in the table." if hit.tag_id else ""
                QToolTip.showText(event.globalPos(), hit.text + extra, self)
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        hit = self.hit_at(event.position().toPoint())
        key = (hit.tag_id, hit.year) if hit else None
        if key != ((self.hover.tag_id, self.hover.year) if self.hover else None):
            self.hover = hit
            self.setCursor(Qt.CursorShape.PointingHandCursor if hit and hit.tag_id
                           else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.hover = None
        self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        hit = self.hit_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and hit is not None and hit.tag_id:
            self.series_clicked.emit(hit.tag_id, hit.year)
        super().mouseReleaseEvent(event)


# == the dialog ==================================================================================


def _panel_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panel-title")
    label.setStyleSheet("QLabel#panel-title { font-size: 14px; font-weight: 600; }")
    return label


def _note(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #6b7280;")
    return label


class OverviewDialog(QDialog):
    """"Library overview": the matrix above, papers per year below.  Not modal: a click
    filters the main window's table while the overview stays open."""

    #: (search query, what it shows in words): show these papers in the table
    filter_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("overview")
        self.setWindowTitle("Library overview")
        self.setModal(False)
        self.overview: Overview | None = None
        self.names: dict[int, str] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.setSpacing(8)
        title = QLabel("Library overview")
        title.setObjectName("overview-title")
        title.setStyleSheet("QLabel#overview-title { font-size: 18px; font-weight: 600; }")
        layout.addWidget(title)
        self.summary = _note("Loading…")
        layout.addWidget(self.summary)

        # the matrix
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 6, 0, 0)
        column.setSpacing(6)
        head = QHBoxLayout()
        head.addWidget(_panel_title("Indication × MSC source"))
        head.addStretch(1)
        head.addWidget(QLabel("Study type"))
        self.study_combo = QComboBox()
        self.study_combo.setObjectName("study-type")
        self.study_combo.setMinimumWidth(170)
        self.study_combo.currentIndexChanged.connect(lambda _i: self._fill_matrix())
        head.addWidget(self.study_combo)
        head.addSpacing(12)
        head.addWidget(QLabel("Rows"))
        self.order_combo = QComboBox()
        self.order_combo.setObjectName("row-order")
        self.order_combo.addItem("Most papers first", "count")
        self.order_combo.addItem("A to Z", "name")
        self.order_combo.currentIndexChanged.connect(lambda _i: self._fill_matrix())
        head.addWidget(self.order_combo)
        column.addLayout(head)
        column.addWidget(_note("Papers per indication and source of the vesicles' MSCs; darker "
                               "is more (each column on its own scale). Click a cell to list "
                               "its papers."))
        self.heat_map = HeatMap()
        self.heat_map.cell_clicked.connect(self._cell_clicked)
        self.matrix_scroll = QScrollArea()
        self.matrix_scroll.setWidget(self.heat_map)
        self.matrix_scroll.setWidgetResizable(False)
        self.matrix_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.matrix_scroll.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.matrix_scroll.setBackgroundRole(QPalette.ColorRole.Base)
        self.matrix_scroll.viewport().setAutoFillBackground(True)
        self.heat_map.setAutoFillBackground(True)
        self.heat_map.setBackgroundRole(QPalette.ColorRole.Base)
        column.addWidget(self.matrix_scroll, 1)
        self.empty = _note()
        self.empty.hide()
        column.addWidget(self.empty)

        # papers per year
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 8, 0, 0)
        column.setSpacing(6)
        head = QHBoxLayout()
        head.addWidget(_panel_title("Papers per year"))
        head.addStretch(1)
        self.stacked_button = QRadioButton("Stacked")
        self.multiples_button = QRadioButton("One chart per indication")
        self.stacked_button.setChecked(True)
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.stacked_button)
        self.mode_group.addButton(self.multiples_button)
        self.stacked_button.toggled.connect(self._mode_changed)
        head.addWidget(self.stacked_button)
        head.addWidget(self.multiples_button)
        column.addLayout(head)
        self.year_note = _note()
        column.addWidget(self.year_note)
        self.year_chart = YearChart()
        self.year_chart.setAutoFillBackground(True)
        self.year_chart.setBackgroundRole(QPalette.ColorRole.Base)
        self.year_chart.series_clicked.connect(self._series_clicked)
        column.addWidget(self.year_chart, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("overview-splitter")
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([430, 330])
        layout.addWidget(splitter, 1)
        self.resize(1080, 860)

    # -- data ------------------------------------------------------------------------------

    def set_overview(self, overview: Overview) -> None:
        """Show ``overview`` (keeps the chosen study type when it is still there)."""
        self.overview = overview
        self.names = {i: n for i, n in (*overview.indications, *overview.sources,
                                        *overview.study_types)}
        chosen = self.study_combo.currentData()
        self.study_combo.blockSignals(True)
        self.study_combo.clear()
        self.study_combo.addItem("Any study type", ANY)
        for tag_id, name in overview.study_types:
            self.study_combo.addItem(name, tag_id)
        index = self.study_combo.findData(chosen) if chosen is not None else 0
        self.study_combo.setCurrentIndex(max(index, 0))
        self.study_combo.blockSignals(False)
        indications = len(overview.indications)
        sources = len(overview.sources)
        self.summary.setText(
            f"{indications} indication{'s' if indications != 1 else ''} · {sources} MSC "
            f"source{'s' if sources != 1 else ''} · {len(overview.study_types)} study types. "
            "Papers in the Trash are not counted; a paper about two indications counts in "
            "both rows."
        )
        self._fill_matrix()
        self.year_chart.set_data(overview.per_year, dict(overview.indications))
        self._mode_changed()

    def study_type(self) -> int:
        value = self.study_combo.currentData()
        return int(value) if value is not None else ANY

    def _fill_matrix(self) -> None:
        overview = self.overview
        if overview is None:
            return
        study = self.study_type()
        values = {(ind, src): count for (ind, src, st), count in overview.cells.items()
                  if st == study}
        rows = [r for r in overview.indications if values.get((r[0], ANY), 0) > 0]
        if self.order_combo.currentData() == "count":
            rows.sort(key=lambda r: (-values.get((r[0], ANY), 0), r[1].casefold()))
        else:
            rows.sort(key=lambda r: r[1].casefold())
        sources = sorted(overview.sources,
                         key=lambda s: (-sum(v for (_i, src), v in values.items()
                                             if src == s[0]), s[1].casefold()))
        columns = [(ANY, "Any source"), *sources]
        self.heat_map.set_data(rows, columns, values)
        self.heat_map.resize(self.heat_map.sizeHint())
        self.matrix_scroll.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        if not rows:
            what = "" if study == ANY else f" of the study type “{self.names.get(study, '')}”"
            self.empty.setText(f"No paper{what} has an indication tag yet. Select papers and "
                               "use Paper ▸ Suggest tags, or import some: new papers are "
                               "tagged as they come in.")

    def _mode_changed(self, *_args: object) -> None:
        stacked = self.stacked_button.isChecked()
        self.year_chart.set_mode(YearChart.STACKED if stacked else YearChart.MULTIPLES)
        if stacked:
            self.year_note.setText(
                f"The {STACKED_SERIES} indications with the most papers, the others together "
                "in grey. Click a bar or a name to list its papers.")
        else:
            self.year_note.setText(f"The {MULTIPLES} indications with the most papers, on one "
                                   "scale (the dashed line: the number at its right). Click a "
                                   "bar or a name to list its papers.")

    # -- clicks ----------------------------------------------------------------------------

    def _cell_clicked(self, indication: int, source: int) -> None:
        study = self.study_type()
        names = [self.names.get(indication, "")]
        if source != ANY:
            names.append(self.names.get(source, ""))
        if study != ANY:
            names.append(self.names.get(study, ""))
        self.filter_requested.emit(tag_query(*names), " × ".join(n for n in names if n))

    def _series_clicked(self, indication: int, year: int) -> None:
        name = self.names.get(indication, "")
        query = tag_query(name)
        if year:
            query += f" year:{year}"
        self.filter_requested.emit(query, f"{name}, {year}" if year else name)
