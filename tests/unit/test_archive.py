"""The whole-library export: a .bib plus the PDFs that ExoRef (and JabRef, Zotero) read back,
written whole or not at all."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from exoref.errors import DiskFullError, UsageError
from exoref.formats.bibtex import read_bibtex
from exoref.services.archive import export_library
from exoref.services.bibliography import BibliographyService
from exoref.services.editing import EditService
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.storage.files import sha256_of
from tests.conftest import make_ref
from tests.unit.test_backup import TITLES, mount_tmpfs, root, template  # noqa: F401

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exoref.domain.models import Reference


@pytest.fixture
def lib(root: Path) -> Iterator[Library]:  # noqa: F811
    """The three papers with PDFs, one of them in the trash, plus one without a file."""
    with Library.open(root) as library:
        papers = {ref.title: ref for ref in PaperService(library).list_papers()}
        EditService(library).trash([papers[TITLES[2]].id or 0])
        PaperService(library).add([(make_ref("Exosome isolation by ultracentrifugation",
                                             "Ann Lee", year=2018, doi="10.1000/iso"), None)])
        yield library


def exported(library: Library) -> dict[str, Reference]:
    return {ref.citekey or "": ref for ref in BibliographyService(library).references()}


def test_a_folder_export_reimports_into_a_fresh_library_with_every_paper_and_pdf(
    lib: Library, tmp_path: Path
) -> None:
    originals = exported(lib)
    assert len(originals) == 3
    report = export_library(lib, tmp_path / "out", as_zip=False)
    out = tmp_path / "out"
    assert (report.papers, report.files, report.missing_files) == (3, 2, [])
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "files", "library.bib"]
    bib = (out / "library.bib").read_text(encoding="utf-8")
    for key, ref in originals.items():
        if ref.attachments:
            assert f"file = {{:files/{key}.pdf:PDF}}" in bib
            assert sha256_of(out / "files" / f"{key}.pdf")[0] == ref.attachments[0].sha256
    assert TITLES[2] not in bib  # the trash stays behind
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "3 references" in readme
    assert "2 files" in readme

    with Library.open(tmp_path / "fresh") as fresh:
        results = BibliographyService(fresh, processes=1).import_file(out / "library.bib")
        assert [r.status for r in results] == ["added"] * 3, [r.reason for r in results]
        again = exported(fresh)
    assert again.keys() == originals.keys()
    for key, ref in originals.items():
        copy = again[key]
        assert (copy.title, copy.doi, copy.year) == (ref.title, ref.doi, ref.year)
        assert [a.sha256 for a in copy.attachments] == [a.sha256 for a in ref.attachments]


def test_a_zip_export_holds_one_folder_whose_file_links_resolve(
    lib: Library, tmp_path: Path
) -> None:
    dest = tmp_path / "exoref-library.zip"
    report = export_library(lib, dest, as_zip=True)
    assert report.files == 2
    assert [p.name for p in tmp_path.iterdir()] == ["exoref-library.zip", "lib"]
    with zipfile.ZipFile(dest) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {n.split("/")[0] for n in names} == {"exoref-library"}
        archive.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped" / "exoref-library"
    parsed = read_bibtex(folder / "library.bib")
    assert not parsed.problems
    assert len(parsed.entries) == 3
    linked = [Path(f) for entry in parsed.entries for f in entry.files]
    assert len(linked) == 2
    assert all(path.is_file() and path.parent == folder / "files" for path in linked)


def test_several_files_of_a_paper_and_unusual_keys_get_unique_safe_names(
    tmp_path: Path, root: Path  # noqa: F811
) -> None:
    pdfs = sorted((root / "files").iterdir())
    source = tmp_path / "source.bib"
    source.write_text(
        "@article{müller2020exo,\n  title = {Two files of one paper},\n  year = {2020},\n"
        f"  file = {{:{pdfs[0]}:PDF;:{pdfs[1]}:PDF}}\n}}\n"
        "@article{Müller2020exo,\n  title = {Same key but for the case},\n  year = {2020},\n"
        f"  file = {{{pdfs[2]}}}\n}}\n", encoding="utf-8")
    with Library.open(tmp_path / "lib2") as library:
        results = BibliographyService(library, processes=1).import_file(source)
        assert [r.status for r in results] == ["added", "added"], [r.reason for r in results]
        export_library(library, tmp_path / "out", as_zip=False)
    names = sorted(p.name for p in (tmp_path / "out" / "files").iterdir())
    # exported in citation-key order; the names differ even where case is ignored
    assert names == ["Muller2020exo.pdf", "muller2020exo-2.pdf", "muller2020exo-3.pdf"]


def test_an_existing_destination_is_never_overwritten(lib: Library, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "thesis.tex").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not an empty folder"):
        export_library(lib, full, as_zip=False)
    assert [p.name for p in full.iterdir()] == ["thesis.tex"]
    archive = tmp_path / "old.zip"
    archive.write_bytes(b"an older export")
    with pytest.raises(UsageError, match="already exists"):
        export_library(lib, archive, as_zip=True)
    assert archive.read_bytes() == b"an older export"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export_library(lib, empty, as_zip=False).papers == 3
    assert (empty / "library.bib").is_file()


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_a_full_disk_removes_the_partial_export(
    lib: Library, tmp_path: Path, mount_tmpfs: Callable[..., Path], as_zip: bool  # noqa: F811
) -> None:
    small = mount_tmpfs(tmp_path / "usb", size="200k")  # one of the two PDFs fits
    dest = small / ("library.zip" if as_zip else "library")
    with pytest.raises(DiskFullError) as caught:
        export_library(lib, dest, as_zip=as_zip)
    assert str(small) in str(caught.value)
    assert list(small.iterdir()) == []
    assert len(exported(lib)) == 3


def test_the_library_keeps_its_files_when_exported(lib: Library, tmp_path: Path) -> None:
    before = {p.name: sha256_of(p)[0] for p in lib.paths.files.iterdir()}
    export_library(lib, tmp_path / "out", as_zip=False)
    shutil.rmtree(tmp_path / "out")
    assert {p.name: sha256_of(p)[0] for p in lib.paths.files.iterdir()} == before
