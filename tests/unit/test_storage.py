"""The library database: creation, pragmas, schema version, every field stored."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.errors import DiskFullError, LibraryError, LibraryLockedError, SchemaTooNewError
from exoref.services.library import Library
from exoref.storage import database, repository
from exoref.storage.database import SCHEMA_VERSION


def _full_reference() -> Reference:
    return Reference(
        entry_type="article",
        title="Exosomes from umbilical-cord MSCs in knee osteoarthritis: a β-test",
        authors=[Author("van der Berg", "Jan"), Author("Müller", "Jürgen"), Author("Ó Briain", "")],
        year=2023,
        journal="Stem Cell Research & Therapy",
        booktitle="",
        volume="14",
        issue="2",
        pages="101–110",
        publisher="BioMed Central",
        doi="10.1186/S13287-023-0001-X",
        pmid="31753036",
        pmcid="PMC6873475",
        arxiv="2101.00001",
        isbn="978-3-16-148410-0",
        url="https://example.org/paper?id=1&x=2",
        abstract="Background: … IL-1β and TNF-α fell.",
        keywords=["exosome", "osteoarthritis"],
        language="en",
        notes="read twice",
        trial_ids=["NCT04223622", "ChiCTR2000031494"],
        extra={"month": "mar", "editor": "Smith, John and Doe, Jane"},
        latex={"title": r"Exosomes from umbilical-cord {MSCs} in knee OA: a $\beta$-test"},
    )


def test_new_library_has_pragmas_and_version(library: Library) -> None:
    with library.db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert session.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION
    assert library.paths.database.is_file()
    assert library.paths.files.is_dir()


def test_every_field_survives_a_store_and_reopen(library_dir: Path) -> None:
    with Library.open(library_dir) as lib, lib.db.write() as session:
        row = repository.create_paper(session, _full_reference(), pattern="[auth][year][title]")
        repository.set_tags(session, row, [Tag("osteoarthritis", TagKind.INDICATION)])
        pid = row.id
    with Library.open(library_dir) as lib, lib.db.read() as session:
        row = repository.get_paper(session, pid)
        assert row is not None
        got = repository.to_reference(row)
    want = _full_reference()
    for name in ("entry_type", "title", "authors", "year", "journal", "volume", "issue", "pages",
                 "publisher", "pmid", "pmcid", "arxiv", "isbn", "url", "abstract", "keywords",
                 "language", "notes", "trial_ids", "extra", "latex"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.doi == "10.1186/S13287-023-0001-X"  # DOIs keep their case; compared folded
    assert got.citekey == "berg2023exosomes"
    assert got.tags == [Tag("osteoarthritis", TagKind.INDICATION)]
    assert got.added is not None
    assert got.modified is not None


def test_citekey_is_unique_and_stable(library: Library) -> None:
    ref = _full_reference()
    with library.db.write() as session:
        first = repository.create_paper(session, ref, pattern="[auth][year]")
        second = repository.create_paper(session, ref, pattern="[auth][year]")
        assert (first.citekey, second.citekey) == ("berg2023", "berg2023a")
        first.title = "A completely different title"
        first_key = first.citekey
    with library.db.read() as session:
        row = repository.get_paper(session, first_key)
        assert row is not None
        assert row.title == "A completely different title"


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "exoref.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(LibraryError, match="did not create"):
        Library.open(tmp_path)


def test_newer_schema_is_refused_without_change(library_dir: Path) -> None:
    Library.open(library_dir).close()
    conn = sqlite3.connect(library_dir / "exoref.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer ExoRef"):
        Library.open(library_dir)


def test_upgrade_takes_a_backup_and_keeps_every_field(
    library_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library written at the previous version opens after an upgrade step, with a backup."""
    with Library.open(library_dir) as lib, lib.db.write() as session:
        pid = repository.create_paper(session, _full_reference(), pattern="[auth][year]").id
    steps: list[int] = []
    # Pretend this release is one schema version ahead, with a step that adds a column.
    monkeypatch.setattr(database, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(
        database.MIGRATIONS,
        SCHEMA_VERSION + 1,
        lambda c: steps.append(1) or c.exec_driver_sql("ALTER TABLE papers ADD COLUMN future TEXT"),
    )
    with Library.open(library_dir) as lib:
        with lib.db.read() as session:
            row = repository.get_paper(session, pid)
            assert row is not None
            assert repository.to_reference(row).pmcid == "PMC6873475"
            assert session.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION + 1
        backups = list(lib.paths.backups.glob("*.sqlite"))
    assert steps == [1]
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert old.execute("SELECT count(*) FROM papers").fetchone()[0] == 1
    old.close()


def test_a_writer_waits_then_reports_a_long_lock(library_dir: Path) -> None:
    Library.open(library_dir).close()
    blocker = sqlite3.connect(library_dir / "exoref.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Library.open(library_dir, busy_timeout=0.3) as lib, pytest.raises(
            LibraryLockedError, match="busy"
        ), lib.db.write() as session:
            session.execute(text("SELECT 1"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


V1_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "schema_v1.sql"


def test_a_genuine_version_1_library_opens_with_every_field(library_dir: Path) -> None:
    """Every later release opens a library written by the first one, losing nothing."""
    library_dir.mkdir(parents=True)
    conn = sqlite3.connect(library_dir / "exoref.sqlite")
    conn.executescript(V1_SCHEMA.read_text(encoding="utf-8"))
    conn.execute(
        "INSERT INTO papers (id, citekey, entry_type, title, year, journal, booktitle, volume, "
        "issue, pages, publisher, doi, pmid, pmcid, arxiv, isbn, url, abstract, language, notes, "
        "keywords, trial_ids, flags, title_key, added, modified) VALUES (7, 'berg2023exo', "
        "'article', 'Exosomes β', 2023, 'J', 'B', '14', '2', '1–9', 'BMC', '10.1/x', '123', "
        "'PMC9', '2101.00001', '978', 'http://u', 'Abs', 'en', 'note', '[\"exosome\"]', "
        "'[\"NCT04223622\"]', '[\"no text layer\"]', 'exosomesb', '2026-01-02 03:04:05', "
        "'2026-01-02 03:04:05')"
    )
    conn.execute("INSERT INTO paper_authors VALUES (7, 0, 'van der Berg', 'Jan')")
    conn.execute("INSERT INTO tags VALUES (1, 'osteoarthritis', 'osteoarthritis', 'indication', "
                 "NULL)")
    conn.execute("INSERT INTO paper_tags VALUES (7, 1, 'user', NULL)")
    conn.execute("INSERT INTO attachments VALUES (1, 7, 'files/a.pdf', 'a.pdf', 'ab', 3, 1, 1, "
                 "'2026-01-02 03:04:05')")
    conn.commit()
    conn.close()
    with Library.open(library_dir) as lib, lib.db.read() as session:
        row = repository.get_paper(session, 7)
        assert row is not None
        ref = repository.to_reference(row)
        assert session.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION
    assert (ref.citekey, ref.title, ref.year, ref.journal, ref.booktitle) == (
        "berg2023exo", "Exosomes β", 2023, "J", "B")
    assert (ref.volume, ref.issue, ref.pages, ref.publisher, ref.doi, ref.pmid, ref.pmcid) == (
        "14", "2", "1–9", "BMC", "10.1/x", "123", "PMC9")
    assert (ref.arxiv, ref.isbn, ref.url, ref.abstract, ref.language, ref.notes) == (
        "2101.00001", "978", "http://u", "Abs", "en", "note")
    assert ref.keywords == ["exosome"]
    assert ref.trial_ids == ["NCT04223622"]
    assert ref.flags == ["no text layer"]
    assert ref.authors == [Author("van der Berg", "Jan")]
    assert ref.tags == [Tag("osteoarthritis", TagKind.INDICATION)]
    assert [a.path for a in ref.attachments] == ["files/a.pdf"]
    if SCHEMA_VERSION > 1:
        assert list((library_dir / "backups").glob("*.sqlite"))


def test_a_file_that_is_not_a_database_is_explained(tmp_path: Path) -> None:
    (tmp_path / "exoref.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LibraryError, match="damaged or is not an ExoRef library"):
        Library.open(tmp_path)


V2_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "schema_v2.sql"


def test_a_genuine_version_2_library_opens_with_every_field(library_dir: Path) -> None:
    """Schema 3 (tagging, provenance, lookups, merges) keeps everything schema 2 held."""
    library_dir.mkdir(parents=True)
    conn = sqlite3.connect(library_dir / "exoref.sqlite")
    conn.executescript(V2_SCHEMA.read_text(encoding="utf-8"))
    conn.execute(
        "INSERT INTO papers (id, citekey, entry_type, title, year, journal, booktitle, volume, "
        "issue, pages, publisher, doi, pmid, pmcid, arxiv, isbn, url, abstract, language, notes, "
        "keywords, trial_ids, flags, extra, latex, first_author, title_key, added, modified) "
        "VALUES (7, 'berg2023exo', 'article', 'Exosomes β', 2023, 'J', 'B', '14', '2', '1–9', "
        "'BMC', '10.1/x', '123', 'PMC9', '2101.00001', '978', 'http://u', 'Abs', 'en', 'note', "
        "'[\"exosome\"]', '[\"NCT04223622\"]', '[\"no text layer\"]', '{\"eprint\": \"e1\"}', "
        "'{\"title\": \"Exosomes $\\\\beta$\"}', 'van der Berg', 'exosomesb', "
        "'2026-01-02 03:04:05', '2026-01-02 03:04:05')"
    )
    conn.execute("INSERT INTO paper_authors VALUES (7, 0, 'van der Berg', 'Jan')")
    conn.execute("INSERT INTO tags VALUES (1, 'osteoarthritis', 'osteoarthritis', 'indication', "
                 "NULL)")
    conn.execute("INSERT INTO paper_tags VALUES (7, 1, 'auto', 0.9)")
    conn.execute("INSERT INTO attachments VALUES (1, 7, 'files/a.pdf', 'a.pdf', 'ab', 3, 1, 1, "
                 "'2026-01-02 03:04:05')")
    conn.execute("INSERT INTO import_failures VALUES ('/x/b.pdf', 'encrypted', "
                 "'2026-01-02 03:04:05')")
    conn.commit()
    conn.close()
    with Library.open(library_dir) as lib, lib.db.read() as session:
        row = repository.get_paper(session, 7)
        assert row is not None
        ref = repository.to_reference(row)
        assert session.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION
        assert row.field_sources == {}
        assert (row.mesh, row.publication_types) == ([], [])
        assert [(link.source, link.score, link.tag.concept) for link in row.tag_links] == [
            ("auto", 0.9, None)]
        failures = session.execute(text("SELECT path, reason FROM import_failures")).all()
    assert failures == [("/x/b.pdf", "encrypted")]
    assert (ref.citekey, ref.title, ref.year, ref.extra, ref.latex) == (
        "berg2023exo", "Exosomes β", 2023, {"eprint": "e1"}, {"title": "Exosomes $\\beta$"})
    assert (ref.doi, ref.pmid, ref.pmcid, ref.arxiv, ref.trial_ids, ref.flags) == (
        "10.1/x", "123", "PMC9", "2101.00001", ["NCT04223622"], ["no text layer"])
    assert ref.authors == [Author("van der Berg", "Jan")]
    assert ref.tags == [Tag("osteoarthritis", TagKind.INDICATION)]
    assert [a.path for a in ref.attachments] == ["files/a.pdf"]
    assert any("before-upgrade-v2" in p.name for p in (library_dir / "backups").glob("*"))


# -- the busy timeout from the environment ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1.0), (" 2.5 ", 2.5), ("0", 0.0), ("86400", 86400.0), ("1e1", 10.0)],
)
def test_busy_timeout_from_the_environment(value: str, expected: float) -> None:
    env = {database.BUSY_TIMEOUT_ENV: value}
    assert database.busy_timeout_from_environment(env) == expected


@pytest.mark.parametrize("value", ["", "abc", "-1", "nan", "inf", "86401", "30s", "1,5"])
def test_a_bad_busy_timeout_is_ignored_with_a_warning(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {database.BUSY_TIMEOUT_ENV: value}
    with caplog.at_level("WARNING", logger="exoref.db"):
        assert database.busy_timeout_from_environment(env) == database.BUILTIN_BUSY_TIMEOUT
    [record] = caplog.records
    assert database.BUSY_TIMEOUT_ENV in record.getMessage()
    assert repr(value) in record.getMessage()


def test_no_busy_timeout_in_the_environment_is_the_builtin_one() -> None:
    assert database.busy_timeout_from_environment({}) == database.BUILTIN_BUSY_TIMEOUT == 30.0


_PROBE = (
    "import sys, pathlib\n"
    "from exoref.services.library import Library\n"
    "with Library.open(pathlib.Path(sys.argv[1])) as lib, lib.db.read() as s:\n"
    "    from sqlalchemy import text\n"
    "    print(lib.db.busy_timeout, s.execute(text('PRAGMA busy_timeout')).scalar())\n"
)


@pytest.mark.parametrize(("value", "seconds", "millis"),
                         [("0.25", "0.25", "250"), ("bogus", "30.0", "30000")])
def test_a_process_takes_its_busy_timeout_from_the_environment(
    tmp_path: Path, value: str, seconds: str, millis: str
) -> None:
    env = {**os.environ, database.BUSY_TIMEOUT_ENV: value}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "lib")],
                          capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split() == [seconds, millis]
    assert ("ignoring EXOREF_BUSY_TIMEOUT='bogus'" in done.stderr) == (value == "bogus")


# -- errors caused by the world -----------------------------------------------------------------


def test_a_database_that_cannot_be_opened_is_explained(tmp_path: Path) -> None:
    (tmp_path / "exoref.sqlite").mkdir()  # SQLite: "unable to open database file"
    (tmp_path / "exoref.sqlite" / "x").write_bytes(b"x")
    with pytest.raises(LibraryError) as info:
        Library.open(tmp_path)
    assert info.value.user_message == (
        f"The library {tmp_path} cannot be opened or written: unable to open database file.")
    assert "nothing was half-written" in str(info.value)


def test_a_library_folder_that_cannot_be_created_is_explained(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the library folder should be")
    with pytest.raises(LibraryError, match="Cannot create the library folder"):
        Library.open(tmp_path / "taken" / "lib")


def test_vague_sqlite_errors_are_explained_by_the_file_system(tmp_path: Path) -> None:
    cannot_open = sqlite3.connect(":memory:")
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            cannot_open.execute("ATTACH ? AS other", (str(tmp_path / "no" / "such.db"),))
    finally:
        cannot_open.close()
    assert info.value.sqlite_errorname == "SQLITE_CANTOPEN"
    translated = database.translate_error(info.value, tmp_path)
    assert translated is not None
    assert type(translated) is LibraryError  # plenty of space, writable: neither of those
    assert str(tmp_path) in translated.user_message
    assert database.translate_error(ValueError("a bug"), tmp_path) is None
    assert isinstance(database.translate_error(OSError(errno.ENOSPC, "No space"), tmp_path),
                      DiskFullError)
    assert "read-only" in str(database.translate_error(OSError(errno.EROFS, "RO"), tmp_path))


def test_a_backup_is_renamed_into_place_only_when_complete(library: Library) -> None:
    target = library.db.backup(library.paths.backups, reason="test")
    assert [p.name for p in library.paths.backups.iterdir()] == [target.name]
    check = sqlite3.connect(target)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()
