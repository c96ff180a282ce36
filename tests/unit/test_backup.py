"""Backups and restore: consistent copies while the library is written, rotation, restore that
can be undone, and refusals (damaged, newer schema, full disk) that leave the library as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_mock_engine

from exoref.errors import DiskFullError, LibraryError, SchemaTooNewError
from exoref.paths import LibraryPaths
from exoref.services.backup import BackupService, RetentionPolicy
from exoref.services.check import CheckService
from exoref.services.editing import EditService
from exoref.services.importer import ImportService
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.storage.database import SCHEMA_VERSION, now
from exoref.storage.files import sha256_of
from tests.conftest import make_ref
from tests.unit.test_import import article

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TITLES = (
    "Umbilical cord MSC exosomes attenuate cartilage loss in knee osteoarthritis",
    "Adipose stem cell vesicles promote wound healing in diabetic mice",
    "Bone marrow MSC extracellular vesicles reduce acute kidney injury",
)
AUTHORS = ([("Elaheh", "Mianehsaz")], [("Jun", "Zhang")], [("Maria", "Rossi")])
V1_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "schema_v1.sql"


def make_pdf(folder: Path, index: int, title: str, authors: list[tuple[str, str]]) -> Path:
    return article(folder, f"paper{index}.pdf", title=title, authors=authors,
                   doi=f"10.1000/exo.{index}", pmid=str(31000000 + index))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed library with three papers and their PDFs, built once and copied per test."""
    base = tmp_path_factory.mktemp("template")
    pdfs = [make_pdf(base, i, title, authors)
            for i, (title, authors) in enumerate(zip(TITLES, AUTHORS, strict=True))]
    with Library.open(base / "lib") as lib:
        results = ImportService(lib, processes=1).import_paths(pdfs)
    assert [r.status for r in results] == ["added"] * 3, [r.reason for r in results]
    return base / "lib"


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lib"
    shutil.copytree(template, target)
    return target


@pytest.fixture
def lib(root: Path) -> Iterator[Library]:
    with Library.open(root) as library:
        yield library


def titles(library: Library) -> set[str]:
    return {ref.title for ref in PaperService(library).list_papers(include_trashed=True)}


def stamp(days: float = 0, hours: float = 0) -> str:
    return (now() - timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H-%M-%S")


# -- making backups ------------------------------------------------------------------------------


def test_backup_is_one_commit_while_another_connection_writes(lib: Library) -> None:
    writer = sqlite3.connect(lib.paths.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE papers SET title = 'not committed yet' WHERE id = 1")
    try:
        started = time.monotonic()
        info = BackupService(lib).create("manual")
        elapsed = time.monotonic() - started
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert elapsed < 5  # not waiting for the writer (the busy timeout is 30 s)
    copy = sqlite3.connect(info.path)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT title FROM papers WHERE id = 1").fetchone()[0] == TITLES[0]
    assert copy.execute("SELECT count(*) FROM papers").fetchone()[0] == 3
    copy.close()
    assert info.papers == 3
    assert info.schema_version == SCHEMA_VERSION


def test_backups_taken_during_a_stream_of_writes_are_each_consistent(
    lib: Library, tmp_path: Path
) -> None:
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        # its own Library: another connection pool, as a second ExoRef process would have
        with Library.open(lib.paths.root) as other:
            papers = PaperService(other)
            n = 0
            while not stop.is_set():
                n += 1
                papers.add([(make_ref(f"Exosome dose study {n}", "Ann Lee", year=2021), None)])
                written.append(n)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(written) < 3:
            time.sleep(0.01)
        service = BackupService(lib)
        backups = []
        for _ in range(3):
            backups.append(service.create("manual"))
            before = len(written)
            while len(written) < before + 2:  # the writer keeps going between backups
                time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    counts = []
    for n, info in enumerate(backups):
        # a library made of the backup and the PDFs passes `exoref check`
        copy = tmp_path / f"copy{n}"
        shutil.copytree(lib.paths.files, copy / "files")
        shutil.copyfile(info.path, copy / "exoref.sqlite")
        with Library.open(copy) as restored:
            report = CheckService(restored).check()
        assert report.ok, report.problems
        assert report.papers == info.papers
        counts.append(report.papers)
    assert 3 < counts[0] < counts[1] < counts[2] <= 3 + len(written)


def test_a_backup_is_named_by_time_and_reason_and_is_one_self_contained_file(
    lib: Library,
) -> None:
    service = BackupService(lib)
    info = service.before_bulk("Empty trash")
    assert info.reason == "before-empty-trash"
    assert info.kind == "operation"
    name = info.path.name
    assert name.startswith("exoref-")
    assert name.endswith("-before-empty-trash.sqlite")
    assert datetime.strptime(name[7:26], "%Y-%m-%dT%H-%M-%S") <= now()
    assert info.path.parent == lib.paths.backups
    header = info.path.read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # rollback journal, not WAL: nothing beside it needed
    sidecar = json.loads(info.path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["reason"] == "before-empty-trash"
    assert (sidecar["schema_version"], sidecar["papers"]) == (SCHEMA_VERSION, 3)
    second = service.create("manual")
    assert [b.path for b in service.list()] == [second.path, info.path]  # newest first
    assert service.find("latest").path == second.path
    assert service.find(info.path.name).path == info.path
    assert service.find(str(info.path)).papers == 3
    assert sorted(p.name for p in lib.paths.backups.iterdir()) == sorted(
        [info.path.name, info.path.with_suffix(".json").name,
         second.path.name, second.path.with_suffix(".json").name])


def test_daily_backup_is_made_once_a_day_and_only_after_a_change(root: Path) -> None:
    service = BackupService(LibraryPaths(root))
    first = service.automatic_daily()
    assert first is not None
    assert first.kind == "daily"
    assert service.automatic_daily() is None  # the newest is less than a day old
    # make it two days old, and the database unchanged for three days
    old = first.path.with_name(f"exoref-{stamp(days=2)}-daily.sqlite")
    first.path.rename(old)
    first.path.with_suffix(".json").unlink()
    three_days = time.time() - 3 * 86400
    os.utime(root / "exoref.sqlite", (three_days, three_days))
    assert service.automatic_daily() is None  # nothing changed since that backup
    with Library.open(root) as library:
        PaperService(library).add([(make_ref("A new paper on exosomes", "Li Wu"), None)])
    made = service.automatic_daily()
    assert made is not None
    assert made.papers == 4
    assert {b.path for b in service.list()} == {old, made.path}


# -- rotation ------------------------------------------------------------------------------------


def test_rotation_keeps_recent_daily_and_operation_backups_and_recent_upgrades(
    lib: Library,
) -> None:
    real = BackupService(lib).create("manual")
    folder = lib.paths.backups

    def fake(name: str) -> Path:
        shutil.copyfile(real.path, folder / name)
        return folder / name

    daily = [fake(f"exoref-{stamp(days=d)}-daily.sqlite") for d in range(1, 11)]
    ops = [fake(f"exoref-{stamp(days=20, hours=h)}-before-merge.sqlite") for h in range(1, 13)]
    legacy_v1 = [fake(f"exoref-{(now() - timedelta(days=300 + d)):%Y%m%d-%H%M%S}"
                      "-before-upgrade-v1.sqlite") for d in range(2)]
    upgrades = [fake(f"exoref-{stamp(days=200 - v)}-before-upgrade-v{v}.sqlite")
                for v in (2, 3, 4)]
    manual_old = fake(f"exoref-{stamp(days=400)}-manual.sqlite")
    other = folder / "notes.txt"
    other.write_text("mine", encoding="utf-8")

    listed = {b.path: b for b in BackupService(lib).list()}
    assert listed[legacy_v1[0]].kind == "upgrade"
    assert listed[legacy_v1[0]].schema_version == 1
    assert listed[daily[0]].schema_version == SCHEMA_VERSION  # read from the file's header

    deleted = BackupService(lib).rotate()
    assert set(deleted) == {*daily[7:], *ops[10:], *legacy_v1}
    left = set(folder.iterdir())
    assert {*daily[:7], *ops[:10], *upgrades, manual_old, real.path, other} <= left
    assert not set(deleted) & left


def test_rotation_never_deletes_the_only_backup_or_one_newer_than_the_last_change(
    root: Path,
) -> None:
    service = BackupService(LibraryPaths(root), policy=RetentionPolicy(daily=0, operations=0))
    only = service.create("daily")
    assert service.rotate() == []
    assert only.path.exists()
    # the database last changed three days ago: backups made since then are its current state
    three_days = time.time() - 3 * 86400
    os.utime(root / "exoref.sqlite", (three_days, three_days))
    older = only.path.with_name(f"exoref-{stamp(days=4)}-daily.sqlite")
    newer = only.path.with_name(f"exoref-{stamp(days=2)}-daily.sqlite")
    shutil.copyfile(only.path, older)
    shutil.copyfile(only.path, newer)
    only.path.with_suffix(".json").unlink()
    only.path.unlink()
    assert service.rotate() == [older]
    assert newer.exists()


# -- restore -------------------------------------------------------------------------------------


def test_restore_brings_back_deleted_papers_and_can_itself_be_undone(
    lib: Library, tmp_path: Path
) -> None:
    service = BackupService(lib)
    backup = service.create("manual")
    papers = {ref.title: ref for ref in PaperService(lib).list_papers()}
    gone = papers[TITLES[0]]
    gone_file = gone.attachments[0].path
    EditService(lib).trash([gone.id or 0])
    EditService(lib).empty_trash()  # deletes the paper and its PDF
    later_pdf = make_pdf(tmp_path, 9, "Dental pulp MSC exosomes in periodontitis",
                         [("Kenji", "Sato")])
    [added] = ImportService(lib, processes=1).import_paths([later_pdf])
    later = PaperService(lib).get(added.id or 0)
    later_file = later.attachments[0].path
    assert titles(lib) == {TITLES[1], TITLES[2], later.title}

    report = service.restore(backup)
    assert titles(lib) == set(TITLES)
    assert report.papers == 3
    assert report.undo is not None
    assert report.undo.reason == "before-restore"
    # emptied from the trash before the restore: set aside beside that backup, so it is back
    assert report.missing_files == []
    assert report.brought_back == [gone_file]
    assert report.set_aside == [later_file]  # not deleted: moved out of files/
    assert report.set_aside_dir is not None
    assert (report.set_aside_dir / later_file).is_file()
    assert not (lib.paths.root / later_file).exists()
    assert report.check.problems == []
    # the start-up clean-up of interrupted imports finds nothing to delete
    assert CheckService(lib).remove_orphan_files() == []

    undo = service.restore(report.undo)
    assert titles(lib) == {TITLES[1], TITLES[2], later.title}
    assert undo.brought_back == [later_file]
    assert sha256_of(lib.paths.root / later_file)[0] == later.attachments[0].sha256
    assert undo.missing_files == []
    assert undo.check.ok, undo.check.problems
    assert {b.reason for b in service.list()} == {"manual", "before-empty-trash", "before-restore"}


def test_a_damaged_backup_is_refused_and_nothing_changes(lib: Library, tmp_path: Path) -> None:
    service = BackupService(lib)
    good = service.create("manual")
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(good.path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 7):  # keep the header page, spoil the rest
        data[offset] ^= 0x5A
    damaged.write_bytes(bytes(data))
    not_a_db = tmp_path / "notes.sqlite"
    not_a_db.write_text("these are my notes, not a database\n" * 200, encoding="utf-8")
    for bad in (damaged, not_a_db):
        with pytest.raises(LibraryError, match="damaged") as caught:
            service.restore(bad)
        assert "library was not changed" in str(caught.value)
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE other (x)")
    conn.close()
    with pytest.raises(LibraryError, match="not an ExoRef library"):
        service.restore(foreign)
    assert titles(lib) == set(TITLES)
    assert [b.path for b in service.list()] == [good.path]  # no before-restore backup made


def test_the_pre_upgrade_copies_of_older_releases_are_listed_and_restorable(
    lib: Library,
) -> None:
    """storage/database.py names its copies exoref-YYYYmmdd-HHMMSS-before-upgrade-vN.sqlite
    and leaves them in WAL mode."""
    lib.paths.backups.mkdir()
    legacy = lib.paths.backups / f"exoref-{now():%Y%m%d-%H%M%S}-before-upgrade-v2.sqlite"
    source = sqlite3.connect(lib.paths.database)
    dest = sqlite3.connect(legacy)
    source.backup(dest)
    dest.close()
    source.close()
    assert legacy.read_bytes()[18:20] == b"\x02\x02"
    PaperService(lib).add([(make_ref("Written after the upgrade", "Ann Lee"), None)])
    service = BackupService(lib)
    [listed] = service.list()
    assert (listed.path, listed.kind, listed.schema_version) == (legacy, "upgrade", 2)
    report = service.restore(listed)
    assert titles(lib) == set(TITLES)
    assert report.check.ok, report.check.problems
    assert {p.suffix for p in lib.paths.backups.iterdir()} == {".sqlite", ".json"}


def test_a_backup_from_a_newer_exoref_is_refused(lib: Library, tmp_path: Path) -> None:
    service = BackupService(lib)
    newer = tmp_path / "newer.sqlite"
    shutil.copyfile(service.create("manual").path, newer)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("DELETE FROM papers")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer ExoRef"):
        service.restore(newer)
    assert titles(lib) == set(TITLES)
    assert len(service.list()) == 1


def test_a_backup_of_an_older_schema_is_upgraded_after_restoring(
    lib: Library, tmp_path: Path
) -> None:
    old = tmp_path / "exoref-v1.sqlite"
    conn = sqlite3.connect(old)
    conn.executescript(V1_SCHEMA.read_text(encoding="utf-8"))
    conn.execute(
        "INSERT INTO papers (id, citekey, entry_type, title, year, journal, booktitle, volume, "
        "issue, pages, publisher, doi, pmid, pmcid, arxiv, isbn, url, abstract, language, notes, "
        "keywords, trial_ids, flags, title_key, added, modified) VALUES (7, 'berg2023exo', "
        "'article', 'Exosomes in tendon repair', 2023, 'J', '', '14', '2', '1-9', '', "
        "'10.1/x', '', '', '', '', '', '', 'en', '', '[]', '[]', '[]', 'exosomesintendonrepair', "
        "'2026-01-02 03:04:05', '2026-01-02 03:04:05')"
    )
    conn.execute("INSERT INTO paper_authors VALUES (7, 0, 'van der Berg', 'Jan')")
    conn.commit()
    conn.close()
    report = BackupService(lib).restore(old)
    assert report.upgraded_from == 1
    assert titles(lib) == {"Exosomes in tendon repair"}
    assert PaperService(lib).get("berg2023exo").authors[0].family == "van der Berg"
    with lib.db.read() as session:
        assert session.connection().exec_driver_sql("PRAGMA user_version").scalar() == \
            SCHEMA_VERSION
    assert len(report.set_aside) == 3  # the three PDFs the old database does not know
    assert not [p for p in lib.paths.backups.iterdir() if p.name.startswith(".")]


def test_restore_replaces_a_database_too_damaged_to_open(root: Path, tmp_path: Path) -> None:
    with Library.open(root) as library:
        backup = BackupService(library).create("manual")
    live = root / "exoref.sqlite"
    spoiled = b"\x00garbage" * 4096
    live.write_bytes(spoiled)
    with pytest.raises(LibraryError):
        Library.open(root)
    report = BackupService(LibraryPaths(root)).restore(backup)
    assert report.undo is not None
    assert report.undo.reason == "damaged"
    assert report.undo.path.read_bytes() == spoiled  # the damaged file is kept as it was
    assert report.check.ok, report.check.problems
    with Library.open(root) as library:
        assert titles(library) == set(TITLES)


# -- errors --------------------------------------------------------------------------------------


@pytest.fixture
def mount_tmpfs() -> Iterator[Callable[..., Path]]:
    """Mount a small tmpfs (root only; skipped elsewhere) to fill a disk for real."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted: list[Path] = []

    def mount(where: Path, *, size: str = "64k", read_only: bool = False) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", str(where)], check=False)


def test_a_full_disk_stops_a_backup_leaving_nothing_and_the_library_intact(
    lib: Library, mount_tmpfs: Callable[..., Path], tmp_path: Path
) -> None:
    backups = mount_tmpfs(lib.paths.backups, size="64k")
    service = BackupService(lib)
    with pytest.raises(DiskFullError) as caught:
        service.before_bulk("empty trash")
    message = str(caught.value)
    assert str(backups) in message
    assert "before-empty-trash" in message
    assert list(backups.iterdir()) == []
    # a restore whose undo backup cannot be written is refused before anything changes
    elsewhere = tmp_path / "backup.sqlite"
    shutil.copyfile(lib.paths.database, elsewhere)
    PaperService(lib).add([(make_ref("Written after the copy", "Ann Lee"), None)])
    with pytest.raises(DiskFullError):
        service.restore(elsewhere)
    assert list(backups.iterdir()) == []
    assert titles(lib) == {*TITLES, "Written after the copy"}
    assert CheckService(lib).check().ok


def test_a_read_only_backup_folder_is_explained(
    lib: Library, mount_tmpfs: Callable[..., Path]
) -> None:
    backups = mount_tmpfs(lib.paths.backups, read_only=True)
    with pytest.raises(LibraryError, match="read-only") as caught:
        BackupService(lib).create("manual")
    assert str(backups) in str(caught.value)
    assert titles(lib) == set(TITLES)


def test_a_postgresql_library_is_pointed_at_pg_dump(lib: Library) -> None:
    engine = lib.db.engine
    lib.db.engine = create_mock_engine(  # type: ignore[assignment]
        "postgresql://exoref@localhost/exoref", lambda *_a, **_k: None)
    try:
        service = BackupService(lib)
        with pytest.raises(LibraryError, match="pg_dump"):
            service.create("manual")
        with pytest.raises(LibraryError, match="pg_dump"):
            service.restore(lib.paths.database)
        # the automatic ones step aside instead of stopping the window or the operation
        assert service.automatic_daily() is None
        assert service.before_bulk("empty trash") is None
    finally:
        lib.db.engine = engine
    assert not lib.paths.backups.exists()
