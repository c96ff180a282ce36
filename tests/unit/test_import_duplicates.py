"""Duplicates found at import (PDFs and .bib entries) by the rules of ``exoref duplicates``.

Each case imports a second version of a paper into a real library and checks what the user
sees (added, or duplicate with the file attached to the paper already there), then checks
that the on-demand finder (:class:`DuplicateService`) judges the same pair the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author, Reference
from exoref.services.bibliography import BibliographyService
from exoref.services.check import CheckService
from exoref.services.duplicates import DuplicateService
from exoref.services.importer import ImportService
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.storage import repository
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from exoref.services.importer import ImportResult

TITLE = ("Exosomes from umbilical cord mesenchymal stem cells attenuate cartilage degeneration "
         "in knee osteoarthritis")
#: TITLE misspelt twice well after its start ("cartilage", "osteoarthritis").
TYPO_TITLE = TITLE.replace("cartilage", "cartilge").replace("osteoarthritis", "osteoarthrits")


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "lib") as lib:
        yield lib


def _reference(title: str = TITLE, *, family: str = "Zhang", year: int | None = 2021,
               journal: str = "Stem Cell Research & Therapy", doi: str = "") -> Reference:
    return Reference(title=title, authors=[Author(family, "Wei"), Author("Chen", "Li")],
                     year=year, journal=journal, doi=doi)


def _stored(library: Library, title: str = TITLE, *, family: str = "Zhang",
            year: int | None = 2021, journal: str = "Stem Cell Research & Therapy",
            doi: str = "") -> int:
    """A paper already in the library, stored without any duplicate check."""
    ref = _reference(title, family=family, year=year, journal=journal, doi=doi)
    [paper_id] = PaperService(library).add([(ref, None)])
    return paper_id


def _pdf(tmp_path: Path, name: str, title: str = TITLE, *, family: str = "Zhang",
         year: int = 2021, doi: str | None = None,
         journal: str = "Stem Cell Research & Therapy") -> Path:
    spec = pdfgen.ArticleSpec(
        title=title, authors=[("Wei", family), ("Li", "Chen")], journal=journal, year=year,
        volume="12", pages="301", doi=doi,
        abstract="Exosomes injected into rat knees reduced cartilage loss.",
        body=["Chondrocytes treated with exosomes proliferated."],
    )
    return pdfgen.render_article(spec, tmp_path / name)


def _import_pdf(library: Library, path: Path) -> ImportResult:
    [result] = ImportService(library, processes=1).import_paths([path])
    return result


def _read_back(library: Library, paper_id: int) -> Reference:
    return PaperService(library).get(paper_id)


def _grouped(library: Library, a: int, b: int) -> bool:
    """Whether ``exoref duplicates`` puts papers ``a`` and ``b`` in one group."""
    return any({a, b} <= set(g.ids) for g in DuplicateService(library).find())


def _on_demand(tmp_path: Path, first: Reference, second: Reference) -> bool:
    """Whether ``exoref duplicates`` groups ``first`` and ``second`` when both are stored
    without any detection (in a library of their own)."""
    with Library.open(tmp_path / "on-demand") as other:
        a, b = PaperService(other).add([(first, None), (second, None)])
        return _grouped(other, a, b)


# -- PDFs ------------------------------------------------------------------------------------


def test_a_misspelt_title_with_the_same_author_and_year_is_a_duplicate_and_its_file_attached(
    library: Library, tmp_path: Path
) -> None:
    kept = _stored(library)
    result = _import_pdf(library, _pdf(tmp_path, "typo.pdf", TYPO_TITLE))
    assert result.status == "duplicate", result.reason
    assert result.id == kept
    assert "similar title" in result.reason
    assert "same first author" in result.reason
    assert "file attached" in result.reason
    ref = _read_back(library, kept)
    assert ref.title == TITLE  # the paper already there is kept as it was
    [attachment] = ref.attachments
    assert attachment.original_name == "typo.pdf"
    assert (library.paths.root / attachment.path).is_file()
    assert PaperService(library).stats().papers == 1
    assert CheckService(library).check().ok
    # the on-demand finder calls the same pair duplicates
    assert _on_demand(tmp_path, _reference(TITLE), _reference(TYPO_TITLE))


def test_two_different_journal_dois_are_two_papers_however_alike_the_rest(
    library: Library, tmp_path: Path
) -> None:
    kept = _stored(library, doi="10.1186/s13287-021-02001-1")
    result = _import_pdf(library, _pdf(tmp_path, "other.pdf", doi="10.1016/j.jot.2021.05.004"))
    assert result.status == "added", result.reason
    assert result.id != kept
    assert PaperService(library).stats().papers == 2
    assert _read_back(library, kept).attachments == []
    assert result.id is not None
    assert not _grouped(library, kept, result.id)  # nor does `exoref duplicates` pair them


def test_the_same_doi_is_still_a_duplicate(library: Library, tmp_path: Path) -> None:
    kept = _stored(library, "A title a .bib gave quite differently from the PDF's",
                   doi="10.1186/s13287-021-02001-1")
    result = _import_pdf(library, _pdf(tmp_path, "same.pdf", doi="10.1186/S13287-021-02001-1"))
    assert result.status == "duplicate", result.reason
    assert result.id == kept
    assert "same DOI 10.1186/s13287-021-02001-1" in result.reason


@pytest.mark.parametrize(("stored_year", "duplicate"), [(2020, True), (2022, True),
                                                        (2019, False), (2023, False)])
def test_years_may_differ_by_one(library: Library, tmp_path: Path, stored_year: int,
                                 duplicate: bool) -> None:
    """Online-first and print years differ by one; two years apart is another paper."""
    kept = _stored(library, year=stored_year)
    result = _import_pdf(library, _pdf(tmp_path, "paper.pdf", year=2021))
    assert result.status == ("duplicate" if duplicate else "added"), result.reason
    assert (result.id == kept) is duplicate
    if duplicate:
        assert f"year {min(stored_year, 2021)}/{max(stored_year, 2021)}" in result.reason
        assert len(_read_back(library, kept).attachments) == 1
    else:
        assert result.id is not None
        assert not _grouped(library, kept, result.id)


def test_a_journal_version_joins_its_preprint(library: Library, tmp_path: Path) -> None:
    preprint = _stored(library, year=2020, doi="10.1101/2020.06.01.127001", journal="bioRxiv")
    result = _import_pdf(library, _pdf(tmp_path, "published.pdf", TITLE + ": a preclinical study",
                                       doi="10.1186/s13287-021-02001-1"))
    assert result.status == "duplicate", result.reason
    assert result.id == preprint
    assert "preprint and journal version" in result.reason
    assert len(_read_back(library, preprint).attachments) == 1


def test_a_leading_article_and_case_do_not_hide_a_duplicate(
    library: Library, tmp_path: Path
) -> None:
    kept = _stored(library, "The " + TITLE.upper())
    result = _import_pdf(library, _pdf(tmp_path, "paper.pdf"))
    assert result.status == "duplicate", result.reason
    assert result.id == kept


def test_a_different_first_author_or_a_different_word_is_another_paper(
    library: Library, tmp_path: Path
) -> None:
    kept = _stored(library)
    other_author = _import_pdf(library, _pdf(tmp_path, "a.pdf", family="Okonkwo"))
    other_disease = _import_pdf(library, _pdf(
        tmp_path, "b.pdf", TITLE.replace("knee osteoarthritis", "rheumatoid arthritis")))
    assert other_author.status == "added", other_author.reason
    assert other_disease.status == "added", other_disease.reason
    assert PaperService(library).stats().papers == 3
    assert _read_back(library, kept).attachments == []


# -- .bib entries ----------------------------------------------------------------------------


def _bib(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "refs.bib"
    path.write_text("\n\n".join(entries), encoding="utf-8")
    return path


def _entry(key: str, title: str, *, year: int = 2021, doi: str = "",
           journal: str = "Stem Cell Research & Therapy") -> str:
    doi_field = f"  doi = {{{doi}}},\n" if doi else ""
    return (f"@article{{{key},\n  title = {{{title}}},\n  author = {{Zhang, Wei and Chen, Li}},\n"
            f"  journal = {{{journal}}},\n  year = {{{year}}},\n{doi_field}}}")


def test_bib_entries_are_judged_like_pdfs(library: Library, tmp_path: Path) -> None:
    kept = _stored(library, doi="10.1186/s13287-021-02001-1")
    results = BibliographyService(library).import_file(_bib(
        tmp_path,
        _entry("typo", TYPO_TITLE),
        _entry("nextyear", TITLE, year=2022),
        _entry("otherdoi", TITLE, doi="10.1016/j.jot.2021.05.004"),
        _entry("preprint", TITLE, year=2020, doi="10.1101/2020.06.01.127001", journal="bioRxiv"),
    ))
    by_key = dict(zip(["typo", "nextyear", "otherdoi", "preprint"], results, strict=True))
    assert by_key["typo"].status == "duplicate", by_key["typo"].reason
    assert by_key["typo"].id == kept
    assert "similar title" in by_key["typo"].reason
    assert by_key["nextyear"].status == "duplicate", by_key["nextyear"].reason
    assert by_key["nextyear"].id == kept
    assert by_key["otherdoi"].status == "added", by_key["otherdoi"].reason
    assert by_key["preprint"].status == "duplicate", by_key["preprint"].reason
    assert "preprint" in by_key["preprint"].reason
    assert PaperService(library).stats().papers == 2


def test_duplicates_within_one_bib_file_are_found(library: Library, tmp_path: Path) -> None:
    """Entries stored earlier in the same transaction are candidates too."""
    results = BibliographyService(library).import_file(_bib(
        tmp_path, _entry("first", TITLE, doi="10.1016/j.jot.2021.05.004"),
        _entry("again", TYPO_TITLE), _entry("another", TITLE, doi="10.1016/j.jot.2021.05.999")))
    assert [r.status for r in results] == ["added", "duplicate", "added"], results
    assert results[1].id == results[0].id
    assert results[0].id is not None
    assert results[2].id is not None
    assert not _grouped(library, results[0].id, results[2].id)


# -- the candidate query ---------------------------------------------------------------------


def test_the_candidates_are_few_and_indexed(library: Library) -> None:
    """The check reads a bounded number of papers whatever the library's size: many titles
    close by in the index are not all read, and every lookup goes through an index."""
    refs = [Reference(title=f"{TITLE} cohort {n:03d}", authors=[Author("Zhang", "Wei")],
                      year=2021) for n in range(300) if n != 150]
    PaperService(library).add([(ref, None) for ref in refs])
    probe = Reference(title=f"{TITLE} cohort 150", authors=[Author("Zhang", "Wei")], year=2021)
    params = repository.duplicate_parameters(probe)
    with library.db.read() as session:
        connection = session.connection()
        rows = connection.execute(repository.DUPLICATE_CANDIDATES, params).all()
        compiled = repository.DUPLICATE_CANDIDATES.compile(dialect=connection.dialect)
        plan = [str(r) for r in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + compiled.string,
            tuple(params[name] for name in compiled.positiontup or ()))]
        found = repository.find_duplicate_id(session, probe)
    assert len(rows) == 2 * repository.TITLE_NEIGHBOURS  # "cohort 145" to "cohort 155"
    assert not [line for line in plan if "SCAN papers" in line], plan
    assert found is None  # "cohort 150" and "cohort 151" differ in a number
