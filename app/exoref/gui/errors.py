"""The two kinds of failure, as the window shows them.

Known failures (:class:`~exoref.errors.ExorefError`: a broken PDF, a locked library, a full
disk) open a message that says what happened and how to fix it.  Anything else is a bug: the
excepthook opens a dialog with the traceback and the recent log, so nothing crashes in silence.
Every service call is its own transaction, so the library stays consistent either way.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QMessageLogContext, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from exoref.errors import ExorefError

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

log = logging.getLogger("exoref.gui")

LOG_LINES = 500


class LogBuffer(logging.Handler):
    """The last :data:`LOG_LINES` log lines, for a crash report."""

    def __init__(self, capacity: int = LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a logging handler must never raise
            self.handleError(record)

    def text(self) -> str:
        return "\n".join(self.lines)


_buffer: LogBuffer | None = None


def install_log_buffer(*, verbose: bool = False) -> LogBuffer:
    """Keep INFO and above in memory; print WARNING and above (INFO with ``verbose``)."""
    global _buffer
    root = logging.getLogger()
    if _buffer is None:
        for handler in root.handlers:
            if handler.level == logging.NOTSET:
                handler.setLevel(logging.INFO if verbose else logging.WARNING)
        _buffer = LogBuffer()
        root.addHandler(_buffer)
        root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    return _buffer


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
#: Qt messages that say nothing about ExoRef (the offscreen platform of --screenshot).
_QT_NOISE = ("does not support propagateSizeHints",)


def install_qt_message_handler() -> None:
    """Qt's own messages go to the log (and so into a crash report), not to bare stderr."""
    qt_log = logging.getLogger("exoref.qt")

    def handler(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        level = _QT_LEVELS.get(kind, logging.WARNING)
        if any(noise in message for noise in _QT_NOISE):
            level = logging.DEBUG
        qt_log.log(level, "%s", message)

    qInstallMessageHandler(handler)


def recent_log() -> str:
    return _buffer.text() if _buffer is not None else ""


def show_error(parent: QWidget | None, exc: ExorefError, *, title: str = "ExoRef") -> QMessageBox:
    """A message for a known failure: what happened, then how to fix it.  Not modal-blocking:
    it opens and returns (tests look for it instead of clicking through ``exec``)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(exc.user_message)
    if exc.hint:
        box.setInformativeText(f"How to fix it: {exc.hint[:1].upper()}{exc.hint[1:]}.")
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("error-message")
    box.open()
    log.info("shown to the user: %s", exc)
    return box


class BugDialog(QDialog):
    """An unexpected error: the traceback, the recent log, and a way to copy both."""

    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bug-dialog")
        self.setWindowTitle("ExoRef ran into a bug")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details = details
        layout = QVBoxLayout(self)
        intro = QLabel(
            "<b>Something went wrong inside ExoRef.</b><br>"
            "Your library is safe: every change is saved in its own transaction, so nothing "
            "was half-written. You can keep working, or quit and start ExoRef again.<br>"
            "Please send the details below with a short note of what you were doing."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        text = QPlainTextEdit(details)
        text.setReadOnly(True)
        text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        text.setMinimumSize(640, 280)
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_details)
        quit_button = buttons.addButton("Quit ExoRef", QDialogButtonBox.ButtonRole.DestructiveRole)
        quit_button.clicked.connect(QApplication.quit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)


def format_bug(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    log_text = recent_log()
    text = "".join(lines)
    if log_text:
        text += "\nRecent log:\n" + log_text
    return text


def show_bug(parent: QWidget | None, exc: BaseException) -> BugDialog:
    log.error("unexpected error", exc_info=exc)
    dialog = BugDialog(format_bug(exc), parent)
    dialog.open()
    return dialog


def report(parent: QWidget | None, exc: BaseException) -> QWidget:
    """Show ``exc`` the way its kind deserves."""
    if isinstance(exc, ExorefError):
        return show_error(parent, exc)
    return show_bug(parent, exc)


_showing = False


def install_excepthook(parent: Callable[[], QWidget | None]) -> None:
    """Route uncaught exceptions (in slots, timers, event handlers) to :func:`report`."""

    def hook(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        global _showing
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        if _showing or QApplication.instance() is None:
            sys.__excepthook__(kind, exc, tb)
            return
        _showing = True
        try:
            report(parent(), exc.with_traceback(tb))
        except Exception:  # the dialog itself failed: at least print both
            sys.__excepthook__(kind, exc, tb)
            traceback.print_exc()
        finally:
            _showing = False

    sys.excepthook = hook
