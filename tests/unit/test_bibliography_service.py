"""Importing and exporting bibliographies through the library: what users see."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Tag, TagKind
from exoref.errors import NotFoundError, UsageError
from exoref.formats.bibtex import parse_bibtex
from exoref.services.bibliography import BibliographyService
from exoref.services.papers import PaperService
from tests.conftest import make_ref
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from pathlib import Path

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


def test_import_reports_every_entry_with_its_line(library: Library, tmp_path: Path) -> None:
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


def test_other_formats_import_through_the_same_path(library: Library, tmp_path: Path) -> None:
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
