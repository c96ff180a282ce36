"""Concurrent use: two ``exoref import`` processes and a reader on one library at once, and a
write lock held elsewhere for longer than the busy timeout.

Two imports run at the same time on a library that does not exist yet (both create it), with
overlapping and disjoint file sets; a third process reads in a loop as the window does (the
table's ids and rows, the sidebar counts, a search, a listing).  Every paper lands exactly once,
no "database is locked" reaches anyone (exit codes 0, stderr empty), and the reader never sees
the library shrink.

A raw ``sqlite3`` connection holding ``BEGIN IMMEDIATE`` longer than the busy timeout makes
``exoref import`` exit 1 with a message that says the library is busy, and nothing of the
import is written (no row, no copied file).  The same lock taken *during* an import makes the
import stop at once instead of waiting the whole timeout again for every remaining file.

Run as ``python -m tests.stress.test_concurrent reader LIBRARY STOPFILE``, this module is the
reader process.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures import pdfgen
from tests.stress import REPO, child_env, read_library, run_exoref, sha256_file, start_exoref

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and killpg"),
]

PAPERS = 120
#: The busy timeout in seconds for every command (storage/database.py); without it a command
#: waits 30 s for a lock.
ENV_BUSY_TIMEOUT = "EXOREF_BUSY_TIMEOUT"
#: The busy timeout the lock test gives the blocked import: long enough to prove it waits,
#: short enough to keep the test at a few seconds.
LOCK_WAIT = 1.5


def _articles(folder: Path, count: int, seed: int) -> list[Path]:
    return pdfgen.write_synthetic_corpus(folder, count, pages=1, seed=seed)


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _articles(tmp_path_factory.mktemp("concurrent"), PAPERS, seed=77)


def _link_set(folder: Path, files: list[Path]) -> Path:
    """A folder of hard links: the same files under a second import's own folder."""
    folder.mkdir()
    for path in files:
        os.link(path, folder / path.name)
    return folder


# -- the reader process ------------------------------------------------------------------------


def reader_main(root: Path, stop: Path) -> int:
    """Read the library in a loop as the window does until ``stop`` exists; print a JSON
    summary.  Any exception propagates (a traceback on stderr fails the test)."""
    from exoref.services.library import Library
    from exoref.services.papers import PaperService
    from exoref.services.search import SearchService
    from exoref.services.views import ViewService

    deadline = time.monotonic() + 300
    while not (root / "exoref.sqlite").exists() or (root / "exoref.sqlite").stat().st_size == 0:
        if stop.exists() or time.monotonic() > deadline:
            print(json.dumps({"loops": 0, "counts": [], "slowest": 0.0}))
            return 0
        time.sleep(0.01)
    loops, counts, slowest = 0, [], 0.0
    with Library.open(root, create=False) as library:
        views, search, papers = ViewService(library), SearchService(library), PaperService(library)
        while True:
            last = stop.exists()  # one more full loop after the imports ended
            started = time.monotonic()
            ids = views.ids()
            views.rows(ids[:200])
            views.ids(query="exosomes OR vesicles", sort="relevance")
            views.sidebar()
            search.search("mesenchymal", limit=20)
            papers.list_papers(limit=50, sort="title")
            counts.append(len(ids))
            slowest = max(slowest, time.monotonic() - started)
            loops += 1
            if last:
                break
    print(json.dumps({"loops": loops, "counts": counts, "slowest": slowest}))
    return 0


# -- two imports and a reader --------------------------------------------------------------------


def _results(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, object]], str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, json.loads(out) if out.strip() else [], err


def test_two_imports_and_a_reader_at_once(papers: list[Path], tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    # A: papers 0-79, B: papers 40-119 (40 in common, 40 only in each); B also gets two of
    # its files twice under other names (a duplicate within one import).
    set_a = _link_set(tmp_path / "a", papers[:80])
    set_b = _link_set(tmp_path / "b", papers[40:])
    for path in papers[100:102]:
        os.link(path, set_b / f"copy-of-{path.name}")
    stop = tmp_path / "stop"
    reader = start_exoref_reader(lib, stop)
    started = time.monotonic()
    first = start_exoref("import", str(set_a), "--library", str(lib), "--json", "--jobs", "1")
    second = start_exoref("import", str(set_b), "--library", str(lib), "--json", "--jobs", "1")
    code_a, results_a, err_a = _results(first)
    code_b, results_b, err_b = _results(second)
    elapsed = time.monotonic() - started
    stop.touch()
    reader_out, reader_err = reader.communicate(timeout=120)

    assert (code_a, err_a) == (0, ""), err_a
    assert (code_b, err_b) == (0, ""), err_b
    assert reader.returncode == 0, reader_err
    assert reader_err == ""
    for text in (err_a, err_b, reader_err, json.dumps(results_a), json.dumps(results_b)):
        assert "locked" not in text.lower()
    everything = results_a + results_b
    assert len(everything) == 80 + 82
    assert {r["status"] for r in everything} <= {"added", "duplicate"}
    added = [sha256_file(Path(str(r["path"]))) for r in everything if r["status"] == "added"]
    assert sorted(added) == sorted(sha256_file(p) for p in papers)  # each exactly once
    ids = [r["id"] for r in everything if r["status"] == "added"]
    assert len(set(ids)) == PAPERS

    state = read_library(lib)
    assert state.problems(lib) == []
    assert len(state.papers) == PAPERS
    assert {sha for _p, sha, _s in state.attachments.values()} == {sha256_file(p) for p in papers}
    assert len(state.meta_index) == PAPERS

    summary = json.loads(reader_out)
    counts = summary["counts"]
    assert summary["loops"] >= 3
    assert counts == sorted(counts), "the reader saw papers disappear"
    assert counts[-1] == PAPERS
    overlap_a = sum(r["status"] == "duplicate" for r in results_a)
    overlap_b = sum(r["status"] == "duplicate" for r in results_b)
    print(f"\n[concurrent] 2 imports ({len(results_a)} + {len(results_b)} files, 40 shared) "
          f"in {elapsed:.1f}s: {PAPERS} papers, duplicates reported {overlap_a} + {overlap_b}; "
          f"reader {summary['loops']} loops, slowest {summary['slowest'] * 1000:.0f} ms, "
          f"saw {counts[0]}..{counts[-1]} papers")


def start_exoref_reader(lib: Path, stop: Path) -> subprocess.Popen[str]:
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "tests.stress.test_concurrent", "reader", str(lib), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), cwd=REPO,
        start_new_session=True,
    )


# -- a lock held elsewhere -------------------------------------------------------------------------


def _busy_timeout_in_effect(value: str) -> float:
    """The busy timeout a CLI process uses when ``EXOREF_BUSY_TIMEOUT=value`` is set."""
    import subprocess

    probe = (
        "import tempfile, pathlib\n"
        "from exoref.services.library import Library\n"
        "with tempfile.TemporaryDirectory() as d, Library.open(pathlib.Path(d) / 'l') as lib:\n"
        "    print(lib.db.busy_timeout)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=child_env(**{ENV_BUSY_TIMEOUT: value}), cwd=REPO, check=True)
    return float(done.stdout.strip())


@contextlib.contextmanager
def _held_write_lock(database: Path) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` on a plain sqlite3 connection, with an uncommitted write in it."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=5)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE library_info SET value = value WHERE key = 'created'")
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _content(lib: Path) -> tuple[list[tuple[object, ...]], list[str]]:
    conn = sqlite3.connect(lib / "exoref.sqlite")
    try:
        rows = conn.execute("SELECT id, citekey, title, doi FROM papers ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM attachments ORDER BY id").fetchall()
        rows += conn.execute("SELECT path FROM import_failures ORDER BY path").fetchall()
    finally:
        conn.close()
    return rows, sorted(p.name for p in (lib / "files").iterdir())


def test_a_lock_held_too_long_is_a_clear_error_and_nothing_is_half_written(
    papers: list[Path], tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    first = run_exoref("import", *map(str, papers[:3]), "--library", str(lib))
    assert first.returncode == 0, first.stderr
    before = _content(lib)
    timeout = _busy_timeout_in_effect(str(LOCK_WAIT))
    assert timeout == LOCK_WAIT  # the variable is honoured: no 30 s wait
    env = child_env(**{ENV_BUSY_TIMEOUT: str(LOCK_WAIT)})
    with _held_write_lock(lib / "exoref.sqlite"):
        started = time.monotonic()
        blocked = run_exoref("import", *map(str, papers[3:6]), "--library", str(lib), env=env,
                             timeout=timeout + 60)
        waited = time.monotonic() - started
    assert blocked.returncode == 1
    assert "busy" in blocked.stderr
    assert "another ExoRef process" in blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert "database is locked" not in blocked.stderr + blocked.stdout
    assert timeout <= waited < timeout + 20  # it waited for the lock, once
    assert _content(lib) == before  # no row, no failure record, no copied file
    assert read_library(lib).problems(lib) == []
    again = run_exoref("import", *map(str, papers[3:6]), "--library", str(lib))
    assert again.returncode == 0, again.stderr
    assert "3 added" in again.stdout
    print(f"\n[lock] busy timeout {timeout:g}s (EXOREF_BUSY_TIMEOUT); "
          f"exit {blocked.returncode} after {waited:.1f}s: {blocked.stderr.strip()}")


def test_a_lock_taken_during_an_import_stops_it_quickly(
    papers: list[Path], tmp_path: Path
) -> None:
    from exoref.services.importer import ImportService
    from exoref.services.library import Library

    lib = tmp_path / "lib"
    busy_timeout = 0.5
    with Library.open(lib, busy_timeout=busy_timeout) as library:
        ImportService(library, processes=1).import_paths(papers[:2])
        before = _content(lib)
        holder_ready = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with _held_write_lock(lib / "exoref.sqlite"):
                holder_ready.set()
                release.wait(60)

        holder = threading.Thread(target=hold)
        holder.start()
        holder_ready.wait(10)
        try:
            started = time.monotonic()
            results = ImportService(library, processes=2).import_paths(papers[2:22])
            elapsed = time.monotonic() - started
        finally:
            release.set()
            holder.join()
        assert len(results) == 20
        assert all(r.status == "failed" for r in results)
        assert all("busy" in r.reason for r in results), results[0].reason
        # one wait for the busy timeout, not one per file (20 x 0.5 s)
        assert elapsed < 20 * busy_timeout / 2, elapsed
        assert _content(lib) == before
        assert read_library(lib).problems(lib) == []
        print(f"\n[lock mid-import] 20 files reported busy after {elapsed:.1f}s "
              f"(busy timeout {busy_timeout}s)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reader":
        raise SystemExit(reader_main(Path(sys.argv[2]), Path(sys.argv[3])))
    raise SystemExit("usage: python -m tests.stress.test_concurrent reader LIBRARY STOPFILE")
