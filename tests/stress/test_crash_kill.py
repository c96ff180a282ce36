"""Crash safety: ``exoref import`` of 300 PDFs killed with SIGKILL 20 times, nothing lost.

The import runs as a real process (``python -m exoref import``) in its own process group; the
kill takes the whole group: the writer, its fork server and the extraction workers.  Kill
moments are seeded and spread over the import: a few during start-up (interpreter start,
schema creation, the orphan clean-up), the rest a random few milliseconds after the import has
reported a given number of files, those numbers spread over the 300.

After every kill the library is read directly (``sqlite3`` and the files folder, not ExoRef's
services): ``PRAGMA integrity_check`` is ok, FTS5's own check passes, every paper has its file
with the recorded size and SHA-256, every paper has its search-index row, no paper is there
twice, and an unreferenced file is either removed by ``exoref check --repair`` (every other
kill) or by the start-up recovery of the next import.  A final uninterrupted run completes the
set: exactly 300 papers, each with the right file, 300 index rows, ``exoref check`` clean.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.fixtures import pdfgen
from tests.stress import kill_group, read_library, run_exoref, sha256_file, start_exoref

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and killpg"),
]

PAPERS = 300
KILLS = 20
#: Kills made during start-up, before the import has reported any file.
STARTUP_KILLS = 4
SEED = 20_260_521
RESULT_LINE = re.compile(r"^(added|duplicate|failed)\s")


@dataclass(frozen=True)
class Corpus:
    folder: Path
    doi_of_sha: dict[str, str]  # sha256 of each source PDF -> its DOI


@pytest.fixture(scope="module")
def corpus300(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """300 one-page articles with distinct titles, DOIs and PMIDs, made once per module."""
    folder = tmp_path_factory.mktemp("crash300")
    rng = random.Random(SEED)
    seen: set[str] = set()
    by_sha: dict[str, str] = {}
    for index in range(PAPERS):
        while True:
            spec = pdfgen.synthetic_article(rng, pages=1)
            keys = {spec.title.lower(), f"doi:{spec.doi}", f"pmid:{spec.pmid}"}
            if not keys & seen:
                seen |= keys
                break
        path = pdfgen.render_article(spec, folder / f"paper_{index:03d}.pdf")
        by_sha[sha256_file(path)] = spec.doi or ""
    assert len(by_sha) == PAPERS
    assert len(set(by_sha.values())) == PAPERS
    return Corpus(folder, by_sha)


class _Lines:
    """Reads a process's stdout in a thread and counts the per-file result lines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.count = 0
        self.closed = False
        self._changed = threading.Condition()
        assert process.stdout is not None
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            if RESULT_LINE.match(line):
                with self._changed:
                    self.count += 1
                    self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(self, target: int, timeout: float) -> bool:
        """True once ``target`` results were reported; False if the stream closed first."""
        with self._changed:
            self._changed.wait_for(lambda: self.count >= target or self.closed, timeout=timeout)
            return self.count >= target

    def join(self) -> None:
        self._thread.join(timeout=10)


@dataclass
class KillRecord:
    moment: str
    reported: int
    papers: int
    files: int
    orphans: int
    repaired_by: str


def _check_after_kill(lib: Path, corpus: Corpus) -> tuple[int, int, set[str]]:
    """The invariants that must hold after any kill: (papers, files, orphan paths)."""
    state = read_library(lib)
    problems = state.problems(lib, allow_orphans=True)
    assert not problems, problems
    shas = [sha for _paper, sha, _size in state.attachments.values()]
    assert len(shas) == len(set(shas)), "a file is stored twice"
    assert set(shas) <= set(corpus.doi_of_sha), "a stored file matches no source PDF"
    dois = [doi.lower() for doi in state.papers.values()]
    assert len(dois) == len(set(dois)), "a paper is in the library twice"
    assert set(dois) <= {d.lower() for d in corpus.doi_of_sha.values()}
    return len(state.papers), len(state.attachments), state.orphans


def _identity(path: Path) -> tuple[int, int] | None:
    """Inode and modification time: tells a file from a new one under the same name."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _kill_plan(rng: random.Random) -> list[tuple[str, float, int]]:
    """``(kind, delay, target)``: kill ``delay`` s after start (``startup``) or ``delay`` s
    after the ``target``-th result line (``import``)."""
    targets = sorted(rng.sample(range(3, PAPERS - 5), KILLS - STARTUP_KILLS))
    plan = [("import", rng.uniform(0.0, 0.04), t) for t in targets]
    for position in sorted(rng.sample(range(KILLS), STARTUP_KILLS)):
        plan.insert(position, ("startup", rng.uniform(0.05, 0.8), 0))
    return plan


def test_import_survives_20_kills_and_the_rerun_completes_the_set(
    corpus300: Corpus, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    rng = random.Random(SEED)
    records: list[KillRecord] = []
    left_for_recovery: dict[str, tuple[int, int] | None] = {}
    started = time.monotonic()
    for number, (kind, delay, target) in enumerate(_kill_plan(rng)):
        process = start_exoref("import", str(corpus300.folder), "--library", str(lib),
                               "--timeout", "60")
        lines = _Lines(process)
        t0 = time.monotonic()
        if kind == "startup":
            time.sleep(delay)
            moment = f"start-up +{delay:.2f}s"
        else:
            assert lines.wait_for(target, timeout=120), (
                f"kill {number}: the import ended after {lines.count} results, before "
                f"result {target}; stderr: {process.stderr.read() if process.stderr else ''}")
            time.sleep(delay)
            moment = f"after result {target} +{delay * 1000:.0f}ms"
        assert process.poll() is None, f"kill {number}: the import finished before the kill"
        kill_group(process)
        lines.join()
        reported = lines.count
        elapsed = time.monotonic() - t0

        if left_for_recovery and reported > 0:
            # This run got past its start-up recovery: the orphans left by the previous kill
            # are gone.  (The same name may hold a new copy: the paper was imported again.)
            stale = {o for o, identity in left_for_recovery.items()
                     if identity is not None and _identity(lib / o) == identity}
            assert not stale, f"start-up recovery left {stale}"
            left_for_recovery = {}

        papers, files, orphans = _check_after_kill(lib, corpus300)
        repaired_by = ""
        if orphans and number % 2 == 0:
            repair = run_exoref("check", "--repair", "--library", str(lib))
            assert repair.returncode == 0, repair.stdout + repair.stderr
            assert "removed unreferenced file" in repair.stdout
            after = read_library(lib)
            assert not after.orphans
            assert not after.problems(lib, verify_hashes=False)
            repaired_by = "check --repair"
        elif orphans:
            left_for_recovery |= {o: _identity(lib / o) for o in orphans}
            repaired_by = "next import"
        records.append(KillRecord(f"{moment} ({elapsed:.1f}s)", reported, papers, files,
                                  len(orphans), repaired_by))

    final = run_exoref("import", str(corpus300.folder), "--library", str(lib),
                       "--timeout", "60")
    total = time.monotonic() - started
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr
    assert final.stderr == ""
    summary = final.stdout.strip().splitlines()[-1]
    assert summary.endswith(", 0 failed"), summary

    state = read_library(lib)
    assert state.problems(lib) == []  # hashes verified, no orphan left
    assert len(state.papers) == PAPERS
    assert len(state.attachments) == PAPERS
    assert {sha for _p, sha, _s in state.attachments.values()} == set(corpus300.doi_of_sha)
    assert {d.lower() for d in state.papers.values()} == {
        d.lower() for d in corpus300.doi_of_sha.values()}
    assert len(state.meta_index) == PAPERS
    assert len(state.body_index) == PAPERS
    check = run_exoref("check", "--library", str(lib))
    assert check.returncode == 0, check.stdout + check.stderr

    killed_mid_import = sum(r.reported > 0 for r in records)
    growth = [r.papers for r in records]
    print(f"\n[crash-kill] {len(records)}/{KILLS} kills survived in {total:.1f}s; "
          f"{killed_mid_import} mid-import, {KILLS - killed_mid_import} in start-up; "
          f"orphans seen after {sum(r.orphans > 0 for r in records)} kills "
          f"({sum(r.orphans for r in records)} files); final: {summary}")
    for i, r in enumerate(records):
        print(f"  kill {i:2d}: {r.moment:<34} results {r.reported:3d}  papers {r.papers:3d}  "
              f"files {r.files:3d}  orphans {r.orphans} {r.repaired_by}")
    assert len(records) == KILLS
    assert killed_mid_import >= KILLS - STARTUP_KILLS
    assert growth == sorted(growth), "a kill lost papers that were committed before it"
