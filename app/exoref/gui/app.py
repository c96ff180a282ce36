"""Starting the desktop app: ``exoref gui [--library DIR] [--screenshot FILE]``."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from exoref import APP_ID, APP_NAME, __version__
from exoref.errors import ExorefError
from exoref.gui import errors
from exoref.gui.context import Services
from exoref.gui.icons import app_icon
from exoref.gui.settings import Settings
from exoref.gui.window import MainWindow
from exoref.paths import ENV_LIBRARY, resolve_library_dir

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.gui.settings import Preferences

log = logging.getLogger("exoref.gui")

#: The window size of a --screenshot (the README's pictures).
SCREENSHOT_SIZE = (1360, 840)
#: How long --screenshot waits for the window to load before giving up.
SCREENSHOT_TIMEOUT_S = 60.0


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication, set up once (name, id, icon, style)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationDomain("exoref.org")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    return app


def library_dir(cli_value: str | None, prefs: Preferences) -> Path:
    """--library, then $EXOREF_LIBRARY, then the library chosen in Preferences, then the
    default."""
    if cli_value or os.environ.get(ENV_LIBRARY) or not prefs.library_dir:
        return resolve_library_dir(cli_value)
    return Path(prefs.library_dir).expanduser()


def run(
    library: str | None = None,
    *,
    screenshot: str | None = None,
    verbose: bool = False,
    argv: Sequence[str] | None = None,
) -> int:
    """Open the window and run until it closes; the exit status."""
    app = application(argv)
    errors.install_log_buffer(verbose=verbose)
    errors.install_qt_message_handler()
    settings = Settings()
    root = library_dir(library, settings.preferences)
    try:
        services = Services.open(root)
    except ExorefError as exc:
        sys.stderr.write(f"exoref: error: {exc}\n")
        if screenshot is None:
            box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, exc.user_message)
            if exc.hint:
                box.setInformativeText(f"How to fix it: {exc.hint[:1].upper()}{exc.hint[1:]}.")
            box.exec()
        return 1
    except Exception as exc:  # a bug while opening: say so, with the details
        log.exception("cannot open the library %s", root)
        if screenshot is None:
            errors.BugDialog(errors.format_bug(exc)).exec()
        return 1
    try:
        window = MainWindow(services, settings=settings)
        errors.install_excepthook(lambda: window)
        if screenshot is not None:
            window.resize(*SCREENSHOT_SIZE)
            window.show()
            return _screenshot(app, window, Path(screenshot))
        window.show()
        return int(app.exec())
    finally:
        services.close()


def _screenshot(app: QApplication, window: MainWindow, target: Path) -> int:
    """Wait until the window has loaded, save it as a PNG, exit."""
    deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
    status = {"code": 1}

    def poll() -> None:
        app.processEvents()
        if not window.is_loaded() and time.monotonic() < deadline:
            QTimer.singleShot(50, poll)
            return
        if not window.is_loaded():
            sys.stderr.write("exoref: error: the window did not finish loading in time\n")
        for _ in range(3):  # let layouts and late paints settle
            app.processEvents()
        target.parent.mkdir(parents=True, exist_ok=True)
        if window.grab().save(str(target), "PNG"):
            status["code"] = 0 if window.is_loaded() else 1
            log.info("saved a screenshot to %s", target)
        else:
            sys.stderr.write(f"exoref: error: cannot write the screenshot {target}\n")
        window.runner.cancel_all()
        window.runner.wait(5000)
        app.processEvents()
        window.close()
        app.quit()

    QTimer.singleShot(0, poll)
    app.exec()
    return status["code"]
