"""Fixtures for the window tests: the real MainWindow, offscreen, on a real temporary library."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QMimeData, QUrl

from exoref.gui.context import Services
from exoref.gui.settings import Settings
from exoref.gui.window import MainWindow
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from exoref.services.library import Library

#: Import, search and thumbnails run on worker threads and processes: allow them time.
BACKGROUND_MS = 60_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform plugin warns about a window-manager feature it lacks.
    for item in items:
        if "tests/gui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))


@pytest.fixture
def services(library: Library) -> Services:
    return Services.for_library(library, processes=1)


@pytest.fixture
def window(qtbot: QtBot, services: Services, tmp_path: Path) -> Iterator[MainWindow]:
    from exoref.services.lookup import OnlineConfig

    # Tests never go online: lookups are off unless a test points them at the local server.
    OnlineConfig(enabled=False).save(tmp_path / "config")
    win = MainWindow(services, settings=Settings(tmp_path / "config"))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel_all()
    win.runner.wait(BACKGROUND_MS)
    qtbot.waitUntil(lambda: not win.runner.busy, timeout=BACKGROUND_MS)


def file_mime(*paths: Path) -> QMimeData:
    """What a file manager puts on a drag of these files (text/uri-list)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def make_pdf(path: Path, seed: int, *, topic: str | None = None) -> pdfgen.ArticleSpec:
    """A one-page article PDF with random but plausible metadata; its spec."""
    spec = pdfgen.synthetic_article(random.Random(seed), pages=1, topic=topic)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdfgen.render_article(spec, path)
    return spec
