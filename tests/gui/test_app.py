"""``exoref gui --screenshot``, the table model's paging, the background-task helper."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

from exoref.gui.table import PAGE_SIZE, PaperTableModel
from exoref.gui.tasks import TaskRunner
from exoref.services.library import Library
from exoref.services.sample import SampleService
from tests.conftest import make_ref

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from exoref.gui.context import Services


def run_gui(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EXOREF_CONFIG_DIR=str(config))
    return subprocess.run([sys.executable, "-m", "exoref", "gui", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_screenshot_of_the_sample_library(library: Library, library_dir: Path,
                                          tmp_path: Path) -> None:
    SampleService(library).add_sample()
    target = tmp_path / "shots" / "main.png"
    done = run_gui("--library", str(library_dir), "--screenshot", str(target),
                   config=tmp_path / "config")
    assert done.returncode == 0, done.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1360, 840)


def test_a_library_from_a_newer_exoref_is_explained(library_dir: Path, tmp_path: Path) -> None:
    Library.open(library_dir).close()
    with sqlite3.connect(library_dir / "exoref.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    done = run_gui("--library", str(library_dir), "--screenshot", str(tmp_path / "x.png"),
                   config=tmp_path / "config")
    assert done.returncode == 1
    assert "written by a newer ExoRef" in done.stderr
    assert "update ExoRef" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_a_library_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-library"
    folder.mkdir()
    (folder / "exoref.sqlite").write_bytes(b"this is not a database" * 100)
    done = run_gui("--library", str(folder), "--screenshot", str(tmp_path / "x.png"),
                   config=tmp_path / "config")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "damaged or is not an ExoRef library" in done.stderr


def test_the_model_loads_only_the_pages_it_shows(qtbot: QtBot, services: Services) -> None:
    count = 5 * PAGE_SIZE + 17
    services.papers.add([(make_ref(f"Paper number {i:05d}", "Ann Author", year=2000 + i % 25),
                          None) for i in range(count)])
    model = PaperTableModel(services.views)
    model.load(sort="title", descending=False)
    assert model.rowCount() == count
    assert model.pages_loaded == 0
    assert model.index(count - 1, 0).data() == f"Paper number {count - 1:05d}"
    assert model.pages_loaded == 1  # only the last page
    assert model.index(count - 2, 0).data() == f"Paper number {count - 2:05d}"
    assert model.pages_loaded == 1
    model.load(sort="year", descending=True)
    assert model.pages_loaded == 1  # a new order loads nothing until shown
    assert model.paper_row(0).year == 2024  # type: ignore[union-attr]


def test_task_runner_delivers_results_errors_and_progress(qtbot: QtBot) -> None:
    seen: list[object] = []
    runner = TaskRunner()

    def work(task: object) -> int:
        task.report("half way")  # type: ignore[attr-defined]
        return 42

    with qtbot.waitSignal(runner.run(work, on_result=seen.append,
                                     on_progress=seen.append).ended, timeout=10_000):
        pass
    assert seen == ["half way", 42]

    failures: list[BaseException] = []
    runner.error_handler = failures.append

    def boom(_task: object) -> None:
        raise ValueError("broken")

    with qtbot.waitSignal(runner.run(boom).ended, timeout=10_000):
        pass
    assert isinstance(failures[0], ValueError)

    sync = TaskRunner(synchronous=True)
    out: list[int] = []
    sync.run(lambda _task: 7, on_result=out.append)
    assert out == [7]  # delivered before run() returned


def test_void_calls_do_not_eat_none(qtbot: QtBot) -> None:
    """PySide6 6.12.0 on Python 3.11 steals a reference to None per void call, and the
    interpreter aborts after a few thousand; pyproject.toml keeps that release out."""
    from PySide6.QtWidgets import QWidget

    widget = QWidget()
    qtbot.addWidget(widget)
    for _ in range(200_000):
        widget.update()
    assert sys.getrefcount(None) > 0
