"""Importing PDFs: what users see for good, duplicate and bad files, and nothing half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from exoref.errors import DiskFullError
from exoref.services.check import CheckService
from exoref.services.importer import ImportService
from exoref.services.papers import PaperService
from exoref.storage import search_index
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from exoref.services.library import Library


def article(tmp: Path, name: str, **overrides: object) -> Path:
    spec = pdfgen.ArticleSpec(
        title="Umbilical cord MSC exosomes attenuate cartilage loss in knee osteoarthritis",
        authors=[("Elaheh", "Mianehsaz"), ("Michael R.", "Hamblin")],
        journal="Stem Cell Research & Therapy",
        year=2019,
        volume="10",
        pages="340",
        doi="10.1186/s13287-019-1445-0",
        pmid="31753036",
        abstract="Exosomes from umbilical cord MSCs reduced cartilage degradation in mice.",
        body=["Chondrocytes treated with exosomes proliferated."],
        references=["Other A. A cited work. J Cited. 2010;1:1. doi:10.1000/cited.1"],
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return pdfgen.render_article(spec, tmp / name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_good_pdf_is_added_with_its_metadata_and_user_file_untouched(
    library: Library, tmp_path: Path
) -> None:
    src = article(tmp_path, "paper.pdf")
    before = (digest(src), src.stat().st_mtime_ns)
    [result] = ImportService(library, processes=1).import_paths([src])
    assert result.status == "added", result.reason
    ref = PaperService(library).get(result.id or 0)
    assert ref.title.lower().startswith("umbilical cord msc exosomes")
    assert ref.doi.lower() == "10.1186/s13287-019-1445-0"
    assert ref.pmid == "31753036"
    assert ref.year == 2019
    assert [a.family for a in ref.authors] == ["Mianehsaz", "Hamblin"]
    assert ref.citekey == "mianehsaz2019umbilical"
    [att] = ref.attachments
    managed = library.paths.root / att.path
    assert managed.parent == library.paths.files
    assert managed.name.startswith("Mianehsaz_2019_")
    assert digest(managed) == before[0] == att.sha256
    assert att.original_name == "paper.pdf"
    assert att.page_count == 1
    assert (digest(src), src.stat().st_mtime_ns) == before  # never moved or changed
    assert src.exists()


def test_duplicates_are_reported_not_doubled(library: Library, tmp_path: Path) -> None:
    first = article(tmp_path, "a.pdf")
    copy = tmp_path / "copy-of-a.pdf"
    copy.write_bytes(first.read_bytes())
    other_version = article(tmp_path, "b.pdf", body=["A different accepted manuscript."])
    service = ImportService(library, processes=1)
    results = {Path(r.path).name: r for r in service.import_paths([first])}
    results |= {Path(r.path).name: r for r in service.import_paths([copy, other_version])}
    assert results["a.pdf"].status == "added"
    assert results["copy-of-a.pdf"].status == "duplicate"
    assert "identical file" in results["copy-of-a.pdf"].reason
    assert results["b.pdf"].status == "duplicate"
    assert "same DOI" in results["b.pdf"].reason
    assert results["b.pdf"].id == results["a.pdf"].id
    assert PaperService(library).stats().papers == 1
    ref = PaperService(library).get(results["a.pdf"].id or 0)
    assert len(ref.attachments) == 2  # the other version is attached, not lost
    for att in ref.attachments:
        assert (library.paths.root / att.path).is_file()
    assert CheckService(library).check().ok


def test_bad_files_get_a_reason_and_the_batch_goes_on(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    pdfgen.write_bad_files(folder)
    article(folder, "zz-good.pdf", doi="10.1000/good.1", pmid="12345678",
            title="Placenta MSC vesicles in liver fibrosis")
    (folder / "notes.txt").write_text("not a paper")  # skipped: not a PDF by name or content
    results = ImportService(library, timeout=10).import_paths([folder])
    by_name = {Path(r.path).name: r for r in results}
    assert "notes.txt" not in by_name
    for name, result in by_name.items():
        assert result.status in ("added", "failed", "duplicate"), name
        if result.status == "failed":
            assert result.reason, name
            assert "\n" not in result.reason
    assert by_name["zz-good.pdf"].status == "added"
    failed = {n for n, r in by_name.items() if r.status == "failed"}
    assert {"fake.pdf", "empty.pdf", "encrypted.pdf", "huge_page_count.pdf"} <= failed
    assert "password" in by_name["encrypted.pdf"].reason
    image_only = by_name["image_only.pdf"]
    assert image_only.status == "added"
    assert "no text layer" in PaperService(library).get(image_only.id or 0).flags
    report = CheckService(library).check()
    assert report.ok, report.problems
    stored = {p.name for p in library.paths.files.iterdir()}
    assert len(stored) == sum(r.status == "added" for r in results)


def test_a_failed_commit_leaves_no_file(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = article(tmp_path, "paper.pdf")

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise DiskFullError("No space left on the disk holding the library.")

    monkeypatch.setattr(search_index, "index_paper", full_disk)
    [result] = ImportService(library, processes=1).import_paths([src])
    assert result.status == "failed"
    assert "No space left" in result.reason
    assert list(library.paths.files.iterdir()) == []
    assert PaperService(library).stats().papers == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_library_folder_is_a_clear_failure(library: Library, tmp_path: Path) -> None:
    src = article(tmp_path, "paper.pdf")
    library.paths.files.chmod(0o500)
    try:
        [result] = ImportService(library, processes=1).import_paths([src])
    finally:
        library.paths.files.chmod(0o700)
    assert result.status == "failed"
    assert PaperService(library).stats().papers == 0


def test_orphan_files_are_found_and_repaired(library: Library, tmp_path: Path) -> None:
    ImportService(library, processes=1).import_paths([article(tmp_path, "paper.pdf")])
    orphan = library.paths.files / "left-behind.pdf"
    orphan.write_bytes(b"%PDF-1.4 partial")
    report = CheckService(library).check()
    assert not report.ok
    assert any("unreferenced" in p for p in report.problems)
    repaired = CheckService(library).check(repair=True)
    assert repaired.ok
    assert not orphan.exists()
    assert len(list(library.paths.files.iterdir())) == 1


def test_bibliographies_import_through_the_same_path(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    article(folder, "paper.pdf")
    (folder / "sub" / "refs.bib").write_text(
        "@article{wang2021,\n  title = {Exosomes from {MSCs} in acute kidney injury},\n"
        "  author = {Wang, Wei and M{\\\"u}ller, J{\\\"u}rgen},\n  journal = {Kidney Int},\n"
        "  year = {2021},\n  doi = {10.1000/aki.1}\n}\n"
        "@article{broken,\n  title = {No closing brace\n\n"
        "@article{lee2020, title={Placental vesicles}, author={Lee, Ann}, year={2020}}\n",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("just notes")
    seen: list[str] = []
    results = ImportService(library, processes=1).import_paths(
        [folder], progress=lambda r, done, total: seen.append(f"{done}/{total}"))
    statuses = sorted((Path(r.path).name.split(":")[0], r.status) for r in results)
    assert ("paper.pdf", "added") in statuses
    assert statuses.count(("refs.bib", "added")) == 2
    assert any(name == "refs.bib" and status == "failed" for name, status in statuses)
    assert len(seen) == len(results)
    assert seen[-1] == f"{len(results)}/{len(results)}"
    muller = [r for r in PaperService(library).list_papers() if r.doi == "10.1000/aki.1"]
    assert [a.family for a in muller[0].authors] == ["Wang", "Müller"]


def test_failed_files_wait_in_needs_attention_until_imported(
    library: Library, tmp_path: Path
) -> None:
    from exoref.services.views import ViewService

    fake = pdfgen.write_fake_pdf(tmp_path / "draft.pdf")
    ImportService(library, processes=1).import_paths([fake])
    views = ViewService(library)
    [failed] = views.failed_imports()
    assert failed.path == str(fake.resolve())
    assert "not a PDF" in failed.reason
    assert views.sidebar().attention == 1
    article(tmp_path, "draft.pdf")  # the user fixes the file and imports it again
    [result] = ImportService(library, processes=1).import_paths([fake])
    assert result.status == "added"
    assert views.failed_imports() == []
    pdfgen.write_empty(tmp_path / "empty.pdf")
    ImportService(library, processes=1).import_paths([tmp_path / "empty.pdf"])
    views.dismiss_failed_imports([f.path for f in views.failed_imports()])
    assert views.failed_imports() == []
