"""The desktop window on a 100,000-paper library: start-up, scrolling, sorting, memory.

Prints, for each of ``--runs`` fresh processes (and the median):

* process start to painted window: from just before the child process is started until the
  table has painted its first rows (target <= 2 s);
* scroll to the end: ``scrollToBottom`` and a synchronous repaint of the rows now visible
  (target <= 200 ms);
* sort by year: a click on the Year header (the ids are queried again) and the repaint
  (target <= 200 ms); sort by title for comparison;
* as-you-type search: a word typed in the search box until the table shows the hits;
* resident memory after all of that (target <= 400 MB), and its peak.

The library is built once through ``PaperService.add`` with generated references (the same
generator as bench/core.py, without full text) and cached in bench/out/; every run works on a
copy, so the cached one is never opened.  (bench/out/lib-large-*.base is not reused: its
schema predates ``papers.first_author``.)

Usage: .venv/bin/python bench/gui_startup.py [--papers 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
TARGETS = {"startup_s": 2.0, "scroll_end_ms": 200.0, "sort_year_ms": 200.0, "rss_mb": 400.0}


def build_library(target: Path, papers: int) -> None:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    import core  # bench/core.py: the same generated references

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"building a {papers}-paper library in {target} (once) ...", flush=True)
    elapsed = core.build_large_library(partial, papers, 0)
    partial.rename(target)
    print(f"  built in {elapsed:.0f} s", flush=True)


# -- the measured process ----------------------------------------------------------------------


def memory() -> dict[str, float]:
    """Resident memory in MB: all of it, its peak, and the part that is mapped files (the
    database read through SQLite's memory map, shared libraries)."""
    wanted = {"VmRSS": "rss_mb", "VmHWM": "peak_rss_mb", "RssAnon": "rss_anon_mb",
              "RssFile": "rss_file_mb"}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in wanted:
            out[wanted[name]] = int(rest.split()[0]) / 1024
    return out


def child(library: Path, started: float, config: Path) -> None:
    """Runs in a fresh process; prints one JSON line of figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["EXOREF_CONFIG_DIR"] = str(config)
    t_imports = time.time()
    from PySide6.QtCore import QEvent, QObject, Qt

    from exoref.gui.app import SCREENSHOT_SIZE, application
    from exoref.gui.context import Services
    from exoref.gui.table import COLUMN_KEYS
    from exoref.gui.window import MainWindow

    figures: dict[str, float] = {"python_start_s": t_imports - started}
    figures["imports_s"] = time.time() - t_imports
    app = application()
    t_open = time.time()
    services = Services.open(library)
    figures["open_s"] = time.time() - t_open
    t_window = time.time()
    window = MainWindow(services)
    figures["window_s"] = time.time() - t_window
    painted: list[float] = []

    class PaintSpy(QObject):
        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.time())
            return False

    spy = PaintSpy()
    table = window.table
    table.viewport().installEventFilter(spy)
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    deadline = time.time() + 60
    while not painted and time.time() < deadline:
        app.processEvents()
    figures["startup_s"] = time.time() - started  # the first paint has been processed
    figures["rows"] = window.model.rowCount()
    figures["rss_after_start_mb"] = memory()["rss_mb"]

    model = window.model
    pages = model.pages_loaded
    t = time.perf_counter()
    table.scrollToBottom()
    table.viewport().repaint()
    figures["scroll_end_ms"] = (time.perf_counter() - t) * 1000
    figures["pages_loaded_for_scroll"] = model.pages_loaded - pages
    last = model.index(model.rowCount() - 1, 0)
    assert table.viewport().rect().intersects(table.visualRect(last)), "not at the end"

    header = table.horizontalHeader()
    for key, name in (("year", "sort_year_ms"), ("title", "sort_title_ms")):
        section = COLUMN_KEYS.index(key)
        t = time.perf_counter()
        header.setSortIndicator(section, Qt.SortOrder.DescendingOrder)  # as a click does
        table.viewport().repaint()
        figures[name] = (time.perf_counter() - t) * 1000
        assert model.sort_key == key

    done: list[bool] = []
    window.search_finished.connect(lambda: done.append(True))
    t = time.perf_counter()
    window.search_box.setText("osteoarthritis")
    window.run_search()  # as the 150 ms typing pause would
    while not done and time.time() < deadline:
        app.processEvents()
        time.sleep(0.001)
    table.viewport().repaint()
    figures["search_ms"] = (time.perf_counter() - t) * 1000
    figures["search_hits"] = model.rowCount()

    while window.runner.busy and time.time() < deadline:
        app.processEvents()
        time.sleep(0.005)
    figures.update(memory())
    print(json.dumps(figures), flush=True)
    window.close()
    services.close()


# -- the driver ------------------------------------------------------------------------------


def run_once(library: Path, config: Path) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.time()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(library),
         "--started", repr(started), "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the measured process failed (exit {done.returncode})")
    figures: dict[str, float] = json.loads(lines[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.started, args.config)
        return 0

    base = OUT / f"gui-lib-{args.papers}"
    if not base.is_dir():
        OUT.mkdir(parents=True, exist_ok=True)
        build_library(base, args.papers)
    with tempfile.TemporaryDirectory(prefix="exoref-gui-bench-") as tmp:
        work = Path(tmp) / "library"
        t = time.perf_counter()
        shutil.copytree(base, work)
        print(f"library: {args.papers} papers, copied from {base} in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        runs = []
        for i in range(args.runs):
            figures = run_once(work, Path(tmp) / f"config{i}")
            runs.append(figures)
            print(f"run {i + 1}: " + ", ".join(
                f"{k} {v:.3g}" for k, v in figures.items()), flush=True)
        report(runs, "figures")
    return 0


def report(runs: list[dict[str, float]], label: str) -> None:
    print(f"\n{label}: median of {len(runs)} runs")
    for key in runs[0]:
        value = statistics.median(r[key] for r in runs)
        target = TARGETS.get(key)
        verdict = ""
        if target is not None:
            verdict = f"  (target <= {target:g}: {'ok' if value <= target else 'MISSED'})"
        print(f"  {key:<24} {value:10.3f}{verdict}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
