"""Stress tests: crash kills, concurrent processes, hostile input, fuzzing, a full disk.

They prove that nothing is lost, so they look at a library with their own eyes: the helpers
here read the SQLite file with the standard ``sqlite3`` module and walk ``files/`` directly,
instead of asking ExoRef's own services whether ExoRef did its job.  They also watch the
process tree of an import through ``/proc`` (Linux), to kill it whole and to measure the
memory its extraction workers use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROC = Path("/proc")


# --------------------------------------------------------------------------------------------
# Running the real command
# --------------------------------------------------------------------------------------------


def exoref_command(*args: str) -> list[str]:
    """``python -m exoref ARGS``: the command a user runs, as a separate process."""
    return [sys.executable, "-m", "exoref", *args]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for an ``exoref`` subprocess: this one (tests/conftest.py already
    points the library and config folders at temporary ones), the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "app"), str(REPO), env.get("PYTHONPATH", "")) if p
    )
    env.pop("PYTHONWARNINGS", None)
    env.update(extra)
    return env


def start_exoref(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``exoref ARGS`` in its own session (process group), so that it can be killed with
    its fork server and extraction workers."""
    return subprocess.Popen(
        exoref_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or child_env(),
        start_new_session=True,
        cwd=REPO,
    )


def run_exoref(*args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(exoref_command(*args), capture_output=True, text=True,
                          env=env or child_env(), timeout=timeout, cwd=REPO, check=False)


# --------------------------------------------------------------------------------------------
# Processes through /proc
# --------------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces
    return [raw[: raw.index(" ")], "comm", *raw[raw.rindex(")") + 2:].split()]


def living_group_members(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` that are still running (zombies excluded)."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and int(fields[4]) == pgid and fields[2] != "Z":
            members.append(int(entry.name))
    return members


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (children, grandchildren, ...)."""
    parent_of: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[2] != "Z":
                parent_of[int(entry.name)] = int(fields[3])
    found: list[int] = []
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parent_of.items() if parent in frontier}
        found.extend(frontier)
    return found


def kill_group(process: subprocess.Popen[str], *, grace: float = 10.0) -> None:
    """SIGKILL the process group of ``process`` (the import, its fork server and workers) and
    wait until none of them runs any more."""
    pgid = process.pid  # start_new_session: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=grace)
    deadline = time.monotonic() + grace
    while living_group_members(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of group {pgid} survived SIGKILL: "
                                 f"{living_group_members(pgid)}")
        time.sleep(0.02)


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def address_space_limit(pid: int) -> int | None:
    """The soft RLIMIT_AS of ``pid`` in bytes (``None``: unlimited or gone)."""
    try:
        for line in (PROC / str(pid) / "limits").read_text().splitlines():
            if line.startswith("Max address space"):
                value = line.split()[3]
                return None if value == "unlimited" else int(value)
    except OSError:
        pass
    return None


@dataclass
class MemoryWatch:
    """Samples the processes below ``root`` every ``interval`` seconds: the largest peak RSS
    (``VmHWM``) seen, and the address-space limit of every process that had one.  The root
    itself is watched too (as ``root_peak_kib``) when ``include_root``."""

    root: int
    interval: float = 0.02
    include_root: bool = False
    root_peak_kib: int = 0
    peak_kib: int = 0
    peak_pid: int = 0
    limits: dict[int, int | None] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemoryWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.include_root:
                self.root_peak_kib = max(self.root_peak_kib, _status_kib(self.root, "VmHWM"))
            for pid in descendants(self.root):
                hwm = _status_kib(pid, "VmHWM")
                if hwm > self.peak_kib:
                    self.peak_kib, self.peak_pid = hwm, pid
                limit = address_space_limit(pid)  # read again: a worker sets it as it starts
                if limit is not None or pid not in self.limits:
                    self.limits[pid] = limit
            self.samples += 1
            self._stop.wait(self.interval)


# --------------------------------------------------------------------------------------------
# What a library holds, read directly
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LibraryState:
    """A library as found on disk: the database's own checks and the files folder."""

    integrity: list[str]
    foreign_key_problems: int
    fts_problems: list[str]
    papers: dict[int, str]  # id -> doi
    attachments: dict[str, tuple[int, str, int]]  # relative path -> (paper id, sha256, size)
    meta_index: set[int]
    body_index: set[int]
    on_disk: set[str]  # relative paths of every file under files/

    @property
    def orphans(self) -> set[str]:
        return self.on_disk - set(self.attachments)

    @property
    def missing(self) -> set[str]:
        return set(self.attachments) - self.on_disk

    def problems(self, root: Path, *, allow_orphans: bool = False, verify_hashes: bool = True,
                 papers_have_files: bool = True) -> list[str]:
        """Everything that breaks "every paper has its file and its index entry"
        (``papers_have_files=False`` when references came from a bibliography)."""
        found: list[str] = []
        if self.integrity != ["ok"]:
            found.append(f"integrity_check: {self.integrity[:5]}")
        if self.foreign_key_problems:
            found.append(f"{self.foreign_key_problems} foreign key problems")
        found.extend(self.fts_problems)
        with_file = {paper for paper, _sha, _size in self.attachments.values()}
        if papers_have_files:
            found.extend(f"paper {p} has no file" for p in sorted(set(self.papers) - with_file))
        found.extend(f"attachment {a} of no paper" for a, (p, _s, _z) in self.attachments.items()
                     if p not in self.papers)
        found.extend(f"file missing: {m}" for m in sorted(self.missing))
        if self.meta_index != set(self.papers):
            found.append(f"metadata index {len(self.meta_index)} rows for {len(self.papers)} "
                         f"papers (extra {sorted(self.meta_index - set(self.papers))[:5]}, "
                         f"missing {sorted(set(self.papers) - self.meta_index)[:5]})")
        stale = sorted(self.body_index - set(self.papers))
        if stale:
            found.append(f"body index holds deleted papers {stale[:5]}")
        if not allow_orphans:
            found.extend(f"orphan file: {o}" for o in sorted(self.orphans))
        if verify_hashes:
            for rel, (_paper, sha, size) in self.attachments.items():
                path = root / rel
                if rel in self.on_disk and (path.stat().st_size != size
                                            or sha256_file(path) != sha):
                    found.append(f"file changed or partial: {rel}")
        return found


def read_library(root: Path) -> LibraryState:
    """Open ``root``'s database with plain ``sqlite3`` (replaying the WAL as any reader
    would) and list its files folder."""
    files = root / "files"
    on_disk = {p.relative_to(root).as_posix() for p in files.rglob("*") if p.is_file()} \
        if files.is_dir() else set()
    db_path = root / "exoref.sqlite"
    if not db_path.exists():
        return LibraryState(["ok"], 0, [], {}, {}, set(), set(), on_disk)
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        fk = len(conn.execute("PRAGMA foreign_key_check").fetchall())
        if "papers" not in tables:  # killed before the schema was committed
            return LibraryState(integrity, fk, [], {}, {}, set(), set(), on_disk)
        fts: list[str] = []
        for table in ("search_meta", "search_body"):
            try:
                conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as exc:
                fts.append(f"{table}: {exc}")
        conn.rollback()
        papers = dict(conn.execute("SELECT id, doi FROM papers").fetchall())
        attachments = {
            path: (paper, sha, size)
            for path, paper, sha, size in conn.execute(
                "SELECT path, paper_id, sha256, size FROM attachments")
        }
        meta = {r[0] for r in conn.execute("SELECT rowid FROM search_meta")}
        body = {r[0] for r in conn.execute("SELECT rowid FROM search_body")}
    finally:
        conn.close()
    return LibraryState(integrity, fk, fts, papers, attachments, meta, body, on_disk)


def tree_snapshot(root: Path, *, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of everything under ``root`` except ``skip``."""
    snapshot: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None:
            dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in [*dirnames, *filenames]:
            path = here / name
            with contextlib.suppress(OSError):
                st = path.lstat()
                snapshot[path.relative_to(root).as_posix()] = (
                    st.st_size if not path.is_dir() else 0, st.st_mtime_ns
                    if not path.is_dir() else 0)
    return snapshot
