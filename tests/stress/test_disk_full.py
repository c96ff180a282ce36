"""A full disk and a read-only library: a clear message, exit status 1, nothing half-written.

The library lives on a 2 MiB tmpfs mounted for the test (root on Linux; skipped otherwise),
filled with a big file until only a little space is left.  ``exoref import`` then runs out of
space while copying a PDF in or while SQLite grows its WAL: every file that did not fit is
reported by name as "No space left", the library passes ``PRAGMA integrity_check`` and
``exoref check``, ``files/`` holds no partial copy, and once space is freed the same import
completes the set.  Remounting the tmpfs read-only (as root, ``chmod`` would not stop writes)
gives the read-only case.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.fixtures import pdfgen
from tests.stress import read_library, run_exoref, sha256_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts a Linux tmpfs"),
]

SIZE = "2m"
KIB = 1024


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A fresh 2 MiB tmpfs at ``tmp_path/mnt``, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    point = tmp_path / "mnt"
    point.mkdir()
    done = _mount("-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(point))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield point
    finally:
        if subprocess.run(["umount", str(point)], capture_output=True,
                          check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five one-page articles (~150 kB each: two fonts embedded)."""
    return pdfgen.write_synthetic_corpus(tmp_path_factory.mktemp("diskfull"), 5, pages=1,
                                         seed=31)


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _fill(point: Path, leave: int) -> Path:
    """Write a file that leaves only ``leave`` bytes free on the file system."""
    filler = point / "filler.bin"
    with filler.open("wb") as out:
        remaining = _free_bytes(point) - leave
        block = bytes(64 * KIB)
        while remaining > 0:
            out.write(block[: min(len(block), remaining)])
            remaining -= len(block)
    return filler


@pytest.mark.parametrize("leave_kib", [120, 600, 800])
def test_disk_full_fails_each_file_by_name_and_leaves_nothing_half_written(
    tmpfs: Path, articles: list[Path], leave_kib: int
) -> None:
    lib = tmpfs / "lib"
    first = run_exoref("import", str(articles[0]), "--library", str(lib))
    assert first.returncode == 0, first.stderr
    filler = _fill(tmpfs, leave_kib * KIB)
    batch = articles[1:]

    full = run_exoref("import", *map(str, batch), "--library", str(lib))
    assert full.returncode == 1, full.stdout + full.stderr
    assert "Traceback" not in full.stderr
    lines = [line for line in full.stdout.splitlines() if line.startswith("failed")]
    assert lines, full.stdout
    for line in lines:
        assert any(f" {path} " in line for path in batch), line  # names the file
        assert "No space left on the disk" in line, line
    failed = len(lines)
    added = sum(line.startswith("added") for line in full.stdout.splitlines())
    assert added + failed == len(batch)

    state = read_library(lib)
    assert state.problems(lib) == []  # integrity, hashes, index; no partial or orphan copy
    assert len(state.papers) == 1 + added
    check = run_exoref("check", "--library", str(lib))
    assert check.returncode == 0, check.stdout + check.stderr

    filler.unlink()
    again = run_exoref("import", *map(str, batch), "--library", str(lib))
    assert again.returncode == 0, again.stdout + again.stderr
    state = read_library(lib)
    assert state.problems(lib) == []
    assert {sha for _p, sha, _s in state.attachments.values()} == {
        sha256_file(p) for p in articles}
    print(f"\n[disk full, {leave_kib} KiB left] {added} added, {failed} failed with "
          f"'No space left'; after freeing space all {len(articles)} present")


def test_a_disk_too_full_to_open_the_library_is_a_clear_error(
    tmpfs: Path, articles: list[Path]
) -> None:
    """SQLite cannot create the write-ahead log index (-shm) and says only "disk I/O error";
    every command, and the service the window uses, must say the disk is full."""
    from exoref.errors import DiskFullError
    from exoref.services.library import Library

    lib = tmpfs / "lib"
    assert run_exoref("import", str(articles[0]), "--library", str(lib)).returncode == 0
    before = _fingerprint(lib)
    filler = _fill(tmpfs, 8 * KIB)
    for command in (["import", str(articles[1])], ["list"], ["check", "--repair"]):
        full = run_exoref(*command, "--library", str(lib))
        assert full.returncode == 1, command
        assert "Traceback" not in full.stderr, full.stderr[-600:]
        assert full.stderr.startswith(f"exoref: error: No space left on the disk holding {lib}"), \
            full.stderr
    with pytest.raises(DiskFullError, match="No space left"):
        Library.open(lib)
    # nothing written: the database, files/ and backups/ as they were; SQLite may have left
    # its (empty) write-ahead log and index behind, which it reuses on the next open
    after = _fingerprint(lib)
    wal = lib / "exoref.sqlite-wal"
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == before
    assert not wal.exists() or wal.stat().st_size == 0
    filler.unlink()
    again = run_exoref("import", str(articles[1]), "--library", str(lib))
    assert again.returncode == 0, again.stderr
    assert read_library(lib).problems(lib) == []


def test_a_new_library_on_a_full_disk_is_a_clear_error(tmpfs: Path) -> None:
    _fill(tmpfs, 8 * KIB)
    full = run_exoref("list", "--library", str(tmpfs / "new"))
    assert full.returncode == 1
    assert "There is no ExoRef library" in full.stderr  # list never creates one
    made = run_exoref("import", str(tmpfs / "missing.pdf"), "--library", str(tmpfs / "new"))
    assert made.returncode == 1
    assert "Traceback" not in made.stderr, made.stderr[-600:]
    assert "No space left on the disk" in made.stderr, made.stderr


def _read_only(point: Path) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def remounted() -> Iterator[None]:
        done = _mount("-o", "remount,ro", str(point))
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")
        try:
            yield
        finally:
            _mount("-o", "remount,rw", str(point))

    return remounted()


def _fingerprint(lib: Path) -> dict[str, str]:
    return {p.relative_to(lib).as_posix(): sha256_file(p) for p in lib.rglob("*") if p.is_file()}


def test_a_read_only_library_is_left_unchanged(tmpfs: Path, articles: list[Path]) -> None:
    lib = tmpfs / "lib"
    assert run_exoref("import", *map(str, articles[:2]), "--library", str(lib)).returncode == 0
    before = _fingerprint(lib)
    with _read_only(tmpfs):
        blocked = run_exoref("import", str(articles[2]), "--library", str(lib))
        repair = run_exoref("check", "--repair", "--library", str(lib))
        after = _fingerprint(lib)
    assert blocked.returncode == 1
    assert repair.returncode == 1
    assert after == before
    assert read_library(lib).problems(lib) == []


def test_a_read_only_library_gives_a_clear_message(tmpfs: Path, articles: list[Path]) -> None:
    """SQLite says "unable to open database file" (it cannot create the -shm file)."""
    from exoref.errors import LibraryError
    from exoref.services.library import Library

    lib = tmpfs / "lib"
    assert run_exoref("import", str(articles[0]), "--library", str(lib)).returncode == 0
    with _read_only(tmpfs):
        runs = [run_exoref(*command, "--library", str(lib))
                for command in (["import", str(articles[2])], ["list"], ["check", "--repair"],
                                ["search", "exosome"])]
        with pytest.raises(LibraryError, match="is read-only") as info:
            Library.open(lib)
        new = run_exoref("import", str(articles[2]), "--library", str(tmpfs / "new"))
    for blocked in [*runs, new]:
        assert blocked.returncode == 1
        assert "Traceback" not in blocked.stderr, blocked.stderr[-600:]
        assert "read-only" in blocked.stderr, blocked.stderr
    assert runs[0].stderr.startswith(f"exoref: error: The library {lib} is read-only")
    assert str(lib) in info.value.user_message
