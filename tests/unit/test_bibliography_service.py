"""Importing and exporting bibliographies through the library: what users see."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from exoref.domain.models import Tag, TagKind
from exoref.errors import NotFoundError, UsageError
from exoref.formats.bibtex import parse_bibtex
from exoref.services import bibliography
from exoref.services.bibliography import BibliographyService
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from exoref.storage import repository, search_index
from exoref.storage.bulk import BulkWriter
from tests.conftest import make_ref
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from pathlib import Path

    from exoref.services.importer import ImportResult
    from exoref.services.library import Library

BIB = r"""@string{sctr = {Stem Cell Research \& Therapy}}

@article{mianehsaz2019mesenchymal,
  title = {Mesenchymal stem cell-derived exosomes: a new therapeutic approach to osteoarthritis?},
  author = {Mianehsaz, Elaheh and Mirzaei, Hamid Reza},
  journal = sctr,
  year = 2019,
  month = nov,
  volume = {10},
  pages = {340--351},
  doi = {10.1186/s13287-019-1445-0},
  keywords = {exosomes, osteoarthritis},
}

@article{broken title = {x}}

@article{Müller2020,
  title = {{MSC} exosomes in {GvHD}},
  author = {M{\"u}ller, J{\"u}rgen and van der Berg, Jan},
  journal = {Blood},
  year = {2020},
}
"""


def write(tmp_path: Path, text: str, name: str = "refs.bib") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=["apart", "here"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read the file in a separate process (as a large file is) or in this one."""
    threshold = 0 if request.param == "apart" else 1 << 40
    monkeypatch.setattr(bibliography, "READ_APART_BYTES", threshold)
    return str(request.param)


def test_import_reports_every_entry_with_its_line(
    library: Library, tmp_path: Path, reading: str
) -> None:
    results = BibliographyService(library).import_file(write(tmp_path, BIB))
    assert [(r.path, r.status) for r in results] == [
        ("refs.bib:3", "added"), ("refs.bib:15", "failed"), ("refs.bib:17", "added")]
    assert results[1].reason.startswith("line 15: cannot read this @article entry")
    first = PaperService(library).get(results[0].citekey or "")
    assert first.journal == "Stem Cell Research & Therapy"
    assert first.extra["month"] == "11"
    assert {t.name for t in first.tags} == {"exosomes", "osteoarthritis"}
    assert results[2].citekey == "Müller2020"


def test_keys_are_kept_and_duplicates_not_doubled(library: Library, tmp_path: Path) -> None:
    service = BibliographyService(library)
    path = write(tmp_path, BIB)
    first = service.import_file(path)
    assert first[0].citekey == "mianehsaz2019mesenchymal"
    again = service.import_file(path)
    assert [r.status for r in again] == ["duplicate", "failed", "duplicate"]
    assert "already in the library as paper" in again[0].reason
    assert "same DOI" in again[0].reason
    assert "same title, first author and year" in again[2].reason


def test_key_with_characters_bibtex_cannot_use(library: Library, tmp_path: Path) -> None:
    results = BibliographyService(library).import_file(
        write(tmp_path, "@article{a#b%c, title={Key trouble}, author={Lee, K.}}"))
    assert results[0].citekey == "a_b_c"
    assert "characters BibTeX cannot use" in results[0].reason


def test_control_characters_in_keys_never_reach_the_library(
    library: Library, tmp_path: Path
) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_bytes(b"@article{nul\x002020, title={NUL in the key}, author={Zero, B.}}\n"
                    b"@article{\x00\x1b, title={Nothing but control}, author={Ctl, A.},"
                    b" year={2021}}\n"
                    b"@article{, title={Nothing but control}, author={Ctl, A.}, year={2021}}\n")
    ris = write(tmp_path, "TY  - JOUR\nID  - ris\x01key\nTI  - From RIS\nAU  - Lee, K.\n"
                          "PY  - 2020\nER  - \n", "a.ris")
    csl = write(tmp_path, json.dumps([{"id": "csl\u0007\u202ekey", "type": "book",
                                       "title": "From CSL"}]), "b.json")
    service = BibliographyService(library)
    nul, only_control, keyless = service.import_file(bib)
    assert (nul.status, nul.citekey) == ("added", "nul2020")
    assert "control characters dropped from the citation key 'nul\\x002020'" in nul.reason
    # as for an entry without a key: a key made from its fields (the same one, but taken)
    assert only_control.status == "added"
    assert "holds nothing but control characters" in only_control.reason
    assert keyless.status == "duplicate"  # same title, first author and year
    fresh = service.import_file(write(tmp_path, "@article{, title={Fresh}, author={Ctl, A.},"
                                                " year={2021}}\n", "keyless.bib"))[0]
    assert only_control.citekey is not None
    assert fresh.citekey is not None
    assert only_control.citekey[:7] == fresh.citekey[:7] == "ctl2021"
    [from_ris] = service.import_file(ris)
    [from_csl] = service.import_file(csl)
    assert (from_ris.citekey, from_csl.citekey) == ("riskey", "cslkey")
    assert "control characters dropped" in from_ris.reason
    with library.db.read() as session:
        keys = list(session.scalars(text("SELECT citekey FROM papers")))
    assert all(key.isprintable() and key.isascii() for key in keys), keys


def test_taken_key_gets_a_suffix_and_says_so(library: Library, tmp_path: Path) -> None:
    PaperService(library).add([(make_ref("Another paper entirely", "A Smith", year=2001,
                                         citekey="smith2001"), None)])
    results = BibliographyService(library).import_file(
        write(tmp_path, "@article{smith2001, title={A different work}, author={Smith, B.}}"))
    assert results[0].status == "added"
    assert results[0].citekey == "smith2001a"
    assert "citation key 'smith2001' is already used" in results[0].reason


def test_file_fields_attach_pdfs(library: Library, tmp_path: Path) -> None:
    spec = pdfgen.ArticleSpec(
        title="Umbilical cord MSC exosomes attenuate cartilage loss",
        authors=[("Elaheh", "Mianehsaz")], journal="Stem Cells", year=2019,
        abstract="Exosomes reduced cartilage degradation.", body=["Chondrocytes proliferated."],
    )
    (tmp_path / "papers").mkdir()
    pdfgen.render_article(spec, tmp_path / "papers" / "paper one.pdf")
    text = ("@article{a, title={Umbilical cord MSC exosomes}, author={Mianehsaz, E.},"
            " file={:papers/paper one.pdf:PDF;:missing.pdf:PDF}}")
    results = BibliographyService(library, processes=1).import_file(write(tmp_path, text))
    assert results[0].status == "added", results[0].reason
    assert "missing.pdf not attached: no such file" in results[0].reason
    paper = PaperService(library).get(results[0].id or 0)
    assert len(paper.attachments) == 1
    assert paper.attachments[0].original_name == "paper one.pdf"
    assert (library.paths.root / paper.attachments[0].path).is_file()
    assert (tmp_path / "papers" / "paper one.pdf").is_file()  # the user's file stays


def test_other_formats_import_through_the_same_path(
    library: Library, tmp_path: Path, reading: str
) -> None:
    ris = write(tmp_path, "TY  - JOUR\nTI  - From RIS\nAU  - Lee, K.\nPY  - 2020\nER  - \n",
                "a.ris")
    csl = write(tmp_path, json.dumps([{"id": "x", "type": "book", "title": "From CSL"}]),
                "b.json")
    service = BibliographyService(library)
    assert service.import_file(ris)[0].status == "added"
    result = service.import_file(csl)[0]
    assert (result.status, result.path, result.citekey) == ("added", "b.json:1", "x")
    missing = service.import_file(tmp_path / "nope.bib")[0]
    assert missing.status == "failed"
    notes = write(tmp_path, "just some notes, not references", "notes.txt")
    unreadable = service.import_file(notes)
    assert [(r.path, r.status) for r in unreadable] == [(str(notes), "failed")]
    assert "is not a bibliography ExoRef can read" in unreadable[0].reason


def test_a_file_that_cannot_be_read_is_reported_through_progress_too(
    library: Library, tmp_path: Path
) -> None:
    deep = write(tmp_path, "[" * 1000 + "]" * 1000, "deep.json")
    seen: list[ImportResult] = []
    results = BibliographyService(library).import_file(
        deep, progress=lambda result, _done, _total: seen.append(result))
    assert seen == results  # the command prints and counts what progress gets
    [result] = results
    assert (result.path, result.status) == (str(deep), "failed")
    assert result.reason.startswith("deep.json is not a bibliography ExoRef can read: JSON "
                                    "nested more than 64 levels deep (line 1)")


@pytest.fixture
def filled(library: Library) -> Library:
    papers = PaperService(library)
    refs = [
        make_ref("Exosomes in GvHD", "Jan van der Berg", year=2020, citekey="zeta2020",
                 tags=[Tag("GvHD", TagKind.INDICATION)], doi="10.1/a"),
        make_ref("Exosomes for knee osteoarthritis", "A Smith", year=2019, citekey="alpha2019"),
        make_ref("Cardiac repair with MSC", "B Jones", year=2018, citekey="mid2018",
                 tags=[Tag("GvHD", TagKind.INDICATION)]),
    ]
    papers.add([(r, None) for r in refs])
    return library


def test_export_everything_sorted_by_key(filled: Library) -> None:
    out = BibliographyService(filled).export()
    keys = [e.key for e in parse_bibtex(out).entries]
    assert keys == ["alpha2019", "mid2018", "zeta2020"]


def test_export_selection_by_tag_query_and_ids(filled: Library) -> None:
    service = BibliographyService(filled)
    by_tag = parse_bibtex(service.export(tag="gvhd")).entries
    assert [e.key for e in by_tag] == ["mid2018", "zeta2020"]
    by_query = parse_bibtex(service.export(query="osteoarthritis")).entries
    assert [e.key for e in by_query] == ["alpha2019"]
    both = parse_bibtex(service.export(tag="GvHD", query="exosomes")).entries
    assert [e.key for e in both] == ["zeta2020"]
    by_ids = parse_bibtex(service.export(["zeta2020", "alpha2019"])).entries
    assert [e.key for e in by_ids] == ["alpha2019", "zeta2020"]
    with pytest.raises(NotFoundError):
        service.export(["nope"])


def test_export_formats(filled: Library) -> None:
    service = BibliographyService(filled)
    assert "journaltitle" in service.export(fmt="biblatex") or "date = " in \
        service.export(fmt="biblatex")
    assert service.export(fmt="ris").startswith("TY  - JOUR")
    assert len(json.loads(service.export(fmt="csljson"))) == 3
    with pytest.raises(UsageError):
        service.export(fmt="endnote-xml")


def test_rekey_is_the_only_way_keys_change(filled: Library) -> None:
    service = BibliographyService(filled)
    before = service.export()
    PaperService(filled).update_tags("alpha2019", add=[Tag("knee")])
    assert "@article{alpha2019," in service.export()
    changes = service.rekey(["alpha2019"])
    assert changes == [("alpha2019", "smith2019exosomes")]
    assert service.rekey(["smith2019exosomes"]) == []
    everything = dict(service.rekey(pattern="[auth][year]"))
    assert everything["zeta2020"] == "berg2020"
    assert "@article{zeta2020," in before


def test_export_streams_to_a_file(filled: Library, tmp_path: Path) -> None:
    target = tmp_path / "out.bib"
    with target.open("w", encoding="utf-8") as out:
        count = BibliographyService(filled).export_to(out, fmt="biblatex")
    assert count == 3
    assert [e.key for e in parse_bibtex(target.read_text(encoding="utf-8")).entries] == [
        "alpha2019", "mid2018", "zeta2020"]


# == large imports: batched transactions, a separate reading process ==========================

#: Lines per generated entry (see :func:`_entry`).
_ENTRY_LINES = 10


def _entry(key: str, tag: str, i: int, *, family: str = "", keyword: str = "") -> str:
    family = family or f"Family{i % 37}"
    keyword = keyword or f"topic{i % 7}"
    return (
        f"@article{{{key},\n"
        f"  title = {{Exosomes from {{MSC}} in knee repair, series zq{tag}{i:04d}}},\n"
        f"  author = {{{family}, Given and Second, Author}},\n"
        f"  journal = {{Stem Cell Research \\& Therapy}},\n"
        f"  year = {{{2000 + i % 25}}},\n"
        f"  doi = {{10.5555/{tag}.{i}}},\n"
        f"  keywords = {{exosomes, {keyword}}},\n"
        f"  abstract = {{Vesicles from mesenchymal stem cells reduced cartilage loss.}},\n"
        "}\n"
        "\n"
    )


def _bib(count: int, tag: str, *, broken_at: int | None = None,
         special: dict[int, dict[str, str]] | None = None) -> tuple[str, int | None]:
    """``count`` entries (keys ``{tag}key{i}``), with a malformed entry before entry
    ``broken_at``; the text and the line the malformed entry starts on."""
    parts: list[str] = []
    line = 1
    broken_line = None
    for i in range(count):
        if i == broken_at:
            broken_line = line
            parts.append("@article{broken title = {no key, no comma}}\n\n")
            line += 2
        parts.append(_entry(f"{tag}key{i}", tag, i, **(special or {}).get(i, {})))
        line += _ENTRY_LINES
    return "".join(parts), broken_line


def _count(library: Library, sql: str) -> int:
    with library.db.read() as session:
        return int(session.execute(text(sql)).scalar() or 0)


def _execute(library: Library, sql: str) -> None:
    """Change the library's database behind ExoRef's back (here: triggers that fail)."""
    with contextlib.closing(sqlite3.connect(library.paths.database)) as conn, conn:
        conn.execute(sql)


def test_large_bib_imports_every_entry_once(
    library: Library, tmp_path: Path, reading: str
) -> None:
    content, broken_line = _bib(1000, "a", broken_at=500)
    path = write(tmp_path, content)
    seen: list[int] = []
    results = BibliographyService(library).import_file(
        path, progress=lambda result, done, _total: seen.append(done))
    assert seen == list(range(1, 1002))  # every result reported, once stored

    failed = [r for r in results if r.status == "failed"]
    assert [(r.path, r.reason.split(":")[0]) for r in failed] == [
        (f"refs.bib:{broken_line}", f"line {broken_line}")]
    added = [r for r in results if r.status == "added"]
    assert len(added) == 1000
    assert [r.citekey for r in added] == [f"akey{i}" for i in range(1000)]
    assert _count(library, "SELECT count(*) FROM papers") == 1000
    assert _count(library, "SELECT count(DISTINCT doi) FROM papers") == 1000
    assert _count(library, "SELECT count(*) FROM paper_authors") == 2000
    assert _count(library, "SELECT count(*) FROM paper_tags") == 2000
    # exosomes, topic0..6 (the vocabulary's own tags have a concept)
    assert _count(library, "SELECT count(*) FROM tags WHERE concept IS NULL") == 8

    paper = PaperService(library).get("akey123")
    assert paper.doi == "10.5555/a.123"
    assert [a.family for a in paper.authors] == ["Family12", "Second"]
    assert {t.name for t in paper.tags} == {"exosomes", "topic4"}
    with library.db.read() as session:
        meta, _body = search_index.indexed_ids(session)
    assert meta == {r.id for r in added}
    search = SearchService(library)
    for i in (0, 499, 500, 999):
        hits = search.search(f"zqa{i:04d}")
        assert [h.reference.citekey for h in hits] == [f"akey{i}"]


def test_rerun_adds_nothing(library: Library, tmp_path: Path, reading: str) -> None:
    content, _ = _bib(600, "b", broken_at=300)
    path = write(tmp_path, content)
    service = BibliographyService(library)
    first = service.import_file(path)
    assert sum(r.status == "added" for r in first) == 600
    again = service.import_file(path)
    assert [r.status for r in again].count("duplicate") == 600
    assert [r.status for r in again].count("failed") == 1  # the malformed entry, again
    assert all("already in the library as paper" in r.reason and "same DOI" in r.reason
               for r in again if r.status == "duplicate")
    by_path = {r.path: r.id for r in first}
    assert all(by_path[r.path] == r.id for r in again if r.status == "duplicate")
    assert _count(library, "SELECT count(*) FROM papers") == 600
    assert _count(library, "SELECT count(*) FROM search_meta") == 600


def test_a_failing_entry_leaves_nothing_and_the_others_go_on(
    library: Library, tmp_path: Path
) -> None:
    # A trigger stands for any failure inside one entry's writes: it fires on the entry's
    # tag link, after its paper, authors and a new tag were written.
    _execute(library, "CREATE TRIGGER poison BEFORE INSERT ON paper_tags "
                      "WHEN (SELECT name FROM tags WHERE id = NEW.tag_id) = 'poison-only' "
                      "BEGIN SELECT RAISE(ABORT, 'poisoned entry'); END")
    special = {
        100: {"keyword": "poison-only", "family": "Poisoned"},
        101: {"keyword": "after-poison"},
        # the rolled-back tag's id is free again: a stale cache would give this entry the
        # id of 'after-poison' and let it through under the wrong tag
        102: {"keyword": "poison-only"},
    }
    content, _ = _bib(300, "c", special=special)
    results = BibliographyService(library).import_file(write(tmp_path, content))
    statuses = [r.status for r in results]
    assert statuses.count("added") == 298
    assert [i for i, s in enumerate(statuses) if s == "failed"] == [100, 102]
    assert "poisoned entry" in results[100].reason
    assert results[100].reason.startswith(f"line {100 * _ENTRY_LINES + 1}: ")
    assert _count(library, "SELECT count(*) FROM papers") == 298
    assert _count(library, "SELECT count(*) FROM papers WHERE doi = '10.5555/c.100'") == 0
    assert _count(library, "SELECT count(*) FROM paper_authors WHERE family = 'Poisoned'") == 0
    assert _count(library, "SELECT count(*) FROM tags WHERE name = 'poison-only'") == 0
    assert _count(library, "SELECT count(*) FROM search_meta") == 298
    after = PaperService(library).get("ckey101")
    assert {t.name for t in after.tags} == {"exosomes", "after-poison"}


def test_bulk_rows_equal_the_single_paper_path(library: Library) -> None:
    """The batched writer stores exactly what ``repository.insert_reference`` stores."""
    ref = make_ref("Exosomes in knee osteoarthritis: a β-test", "Jan van der Berg",
                   "Jürgen Müller", year=2023, doi="10.1186/S13287-023-0001-X",
                   keywords=["exosome", "knee"], extra={"month": "3"},
                   latex={"title": "{MSC}"}, tags=[Tag("knee", TagKind.INDICATION)])
    with library.db.write() as session:
        single, _ = repository.insert_reference(session, ref, pattern="[auth][year]")
    with BulkWriter(library.db).transaction() as tx, tx.entry():
        batched, key = tx.insert(ref, pattern="[auth][year]")
    assert key == "berg2023a"  # the key the single path took is seen

    def rows(paper_id: int) -> list[tuple[object, ...]]:
        with contextlib.closing(sqlite3.connect(library.paths.database)) as conn:
            papers = conn.execute(
                "SELECT * FROM papers WHERE id = ?", (paper_id,)).fetchall()
            cols = [d[0] for d in conn.execute("SELECT * FROM papers LIMIT 0").description]
            paper = {c: (v, type(v)) for c, v in zip(cols, papers[0], strict=True)
                     if c not in ("id", "citekey", "added", "modified")}
            return [
                tuple(sorted(paper.items())),
                *conn.execute("SELECT position, family, given FROM paper_authors "
                              "WHERE paper_id = ? ORDER BY position", (paper_id,)),
                *conn.execute("SELECT tag_id, source, score, evidence FROM paper_tags "
                              "WHERE paper_id = ? ORDER BY tag_id", (paper_id,)),
                *conn.execute("SELECT title, authors, abstract, keywords, tags, journal, "
                              "facets FROM search_meta WHERE rowid = ?", (paper_id,)),
            ]

    assert rows(batched) == rows(single)
    stamps = _count(library, "SELECT count(*) FROM papers WHERE typeof(added) = 'text' "
                             "AND added LIKE '____-__-__ __:__:__.______'")
    assert stamps == 2


def test_cancelling_stops_after_a_commit(library: Library, tmp_path: Path, reading: str) -> None:
    content, _ = _bib(1200, "d")
    path = write(tmp_path, content)
    results = BibliographyService(library).import_file(path, cancelled=lambda: True)
    assert 0 < len(results) < 1200
    assert all(r.status == "added" for r in results)
    assert _count(library, "SELECT count(*) FROM papers") == len(results)
    rest = BibliographyService(library).import_file(path)
    assert [r.status for r in rest].count("duplicate") == len(results)
    assert _count(library, "SELECT count(*) FROM papers") == 1200


#: The other process of the test below: the import `exoref import` runs for a .bib file,
#: without the command's other steps (automatic tagging of the new papers takes longer than
#: the import and is not what the test is about).
_OTHER_IMPORT = """
import sys
from collections import Counter
from pathlib import Path
from exoref.services.bibliography import BibliographyService
from exoref.services.library import Library
with Library.open(Path(sys.argv[1])) as library:
    results = BibliographyService(library).import_file(sys.argv[2])
print(dict(Counter(r.status for r in results)))
"""


def test_two_processes_import_into_one_library(library: Library, tmp_path: Path) -> None:
    """Another process imports into the same library meanwhile; both finish, every entry is
    stored once, and keys both files use get suffixes instead of clashing."""
    theirs, _ = _bib(1500, "t")
    ours, _ = _bib(1500, "o")
    # the same keys in both files: whoever stores second gets a suffix
    theirs = theirs.replace("tkey", "samekey")
    ours = ours.replace("okey", "samekey")
    their_path = write(tmp_path, theirs, "theirs.bib")
    our_path = write(tmp_path, ours, "ours.bib")
    started: list[subprocess.Popen[str]] = []

    def start_theirs(_result: ImportResult, done: int, _total: int) -> None:
        # after our first commit, start the other import and let it commit once before we
        # go on: from then on both write, each waiting for the other's transactions
        if done != 1:
            return
        started.append(subprocess.Popen(
            [sys.executable, "-c", _OTHER_IMPORT, str(library.paths.root), str(their_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
        deadline = time.monotonic() + 60
        while _count(library, "SELECT count(*) FROM papers WHERE doi LIKE '10.5555/t.%'") == 0:
            assert started[0].poll() is None, started[0].communicate()
            assert time.monotonic() < deadline, "the other import did not start"
            time.sleep(0.01)

    try:
        results = BibliographyService(library).import_file(our_path, progress=start_theirs)
        out, err = started[0].communicate(timeout=120)
    finally:
        for other in started:
            if other.poll() is None:
                other.kill()
    assert started[0].returncode == 0, err
    assert out.strip() == "{'added': 1500}"
    assert [r.status for r in results].count("added") == 1500
    assert _count(library, "SELECT count(*) FROM papers") == 3000
    assert _count(library, "SELECT count(DISTINCT citekey) FROM papers") == 3000
    assert _count(library, "SELECT count(DISTINCT doi) FROM papers") == 3000
    assert _count(library, "SELECT count(*) FROM search_meta") == 3000
    suffixed = _count(library, "SELECT count(*) FROM papers WHERE citekey GLOB 'samekey*[a-z]'")
    assert suffixed == 1500  # each shared key is stored once plain, once with a suffix
    # the two imports' commits interleave
    ours_ids = [r.id or 0 for r in results]
    with library.db.read() as session:
        their_ids = [int(i) for i in session.execute(
            text("SELECT id FROM papers WHERE doi LIKE '10.5555/t.%'")).scalars()]
    assert min(ours_ids) < min(their_ids) < max(ours_ids)


def test_a_file_entry_that_fails_leaves_no_copy(library: Library, tmp_path: Path) -> None:
    """Entries with files are stored in their own transaction between the batches of the
    others; when that transaction fails, the copy it made is removed again."""
    spec = pdfgen.ArticleSpec(
        title="Umbilical cord MSC exosomes attenuate cartilage loss",
        authors=[("Elaheh", "Mianehsaz")], journal="Stem Cells", year=2019,
        abstract="Exosomes reduced cartilage degradation.", body=["Chondrocytes proliferated."],
    )
    pdfgen.render_article(spec, tmp_path / "paper.pdf")
    _execute(library, "CREATE TRIGGER no_files BEFORE INSERT ON attachments "
                      "BEGIN SELECT RAISE(ABORT, 'attachments refused'); END")
    before, _ = _bib(3, "e")
    after, _ = _bib(3, "f")
    middle = ("@article{withfile, title={Umbilical cord MSC exosomes}, author={Mianehsaz, E.},"
              " file={:paper.pdf:PDF}}\n\n")
    path = write(tmp_path, before + middle + after)
    results = BibliographyService(library, processes=1).import_file(path)
    assert [r.status for r in results] == ["added"] * 3 + ["failed"] + ["added"] * 3
    assert "attachments refused" in results[3].reason, results[3].reason
    assert _count(library, "SELECT count(*) FROM papers") == 6
    assert list(library.paths.files.rglob("*.pdf")) == []
    assert (tmp_path / "paper.pdf").is_file()


def test_a_lost_transaction_stops_the_import_and_a_rerun_completes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RAISE(ROLLBACK) ends the whole transaction, as a full disk or an I/O error can
    monkeypatch.setattr(bibliography, "COMMIT_ENTRIES", 50)
    _execute(library, "CREATE TRIGGER doom BEFORE INSERT ON paper_authors "
                      "WHEN NEW.family = 'Doom' "
                      "BEGIN SELECT RAISE(ROLLBACK, 'transaction lost'); END")
    content, _ = _bib(300, "g", special={120: {"family": "Doom"}})
    path = write(tmp_path, content)
    seen: list[str] = []
    results = BibliographyService(library).import_file(
        path, progress=lambda result, _done, _total: seen.append(result.status))
    statuses = [r.status for r in results]
    assert statuses == ["added"] * 100 + ["failed"] * 21 + ["failed"]
    assert seen == statuses  # the file's own result too: the command prints what it gets
    assert results[110].reason == "line 1101: not stored: transaction lost"
    assert results[120].reason == "line 1201: transaction lost"
    assert results[-1].path == str(path)
    assert results[-1].reason == "the rest of the file was not imported: transaction lost"
    assert _count(library, "SELECT count(*) FROM papers") == 100
    assert _count(library, "SELECT count(*) FROM search_meta") == 100
    _execute(library, "DROP TRIGGER doom")
    again = BibliographyService(library).import_file(path)
    assert [r.status for r in again] == ["duplicate"] * 100 + ["added"] * 200
    assert _count(library, "SELECT count(*) FROM papers") == 300
