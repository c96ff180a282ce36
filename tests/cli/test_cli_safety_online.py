"""`exoref backup`, `restore`, `export-library`, `duplicates` and `watch` on real libraries."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest

from exoref.cli import main
from exoref.domain.models import Author, Reference
from exoref.services.library import Library
from exoref.services.papers import PaperService
from tests.conftest import make_ref
from tests.fixtures.pdfgen import ArticleSpec, render_article

if TYPE_CHECKING:
    from pathlib import Path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def lib(library_dir: Path) -> Path:
    with Library.open(library_dir) as library:
        PaperService(library).add([
            (make_ref("Exosomes in knee osteoarthritis", "Elaheh Mianehsaz", year=2019,
                      doi="10.1186/s13287-019-1445-0"), None),
            (make_ref("Exosomes in rheumatoid arthritis", "S Aghajani", year=2025), None),
        ])
    return library_dir


def test_backup_list_and_restore_undo_a_deletion(lib: Path) -> None:
    code, text = run("--library", str(lib), "backup")
    assert code == 0
    assert "backed up 2 papers" in text
    with Library.open(lib) as library:
        papers = PaperService(library)
        first = papers.list_papers()[0].id
        assert first is not None
        from exoref.services.editing import EditService

        EditService(library).trash([first])
        EditService(library).empty_trash()
        assert papers.stats().papers == 1
    code, text = run("--library", str(lib), "backup", "--list", "--json")
    kinds = [b["kind"] for b in json.loads(text)]
    assert "manual" in kinds
    assert "operation" in kinds
    code, text = run("--library", str(lib), "restore", "latest")
    assert code == 0, text
    assert "to undo: exoref restore" in text
    with Library.open(lib) as library:  # back, in the trash where it was before emptying
        assert PaperService(library).get(first).id == first


def test_export_library_writes_bibtex_and_pdfs(library_dir: Path, tmp_path: Path) -> None:
    pdf = render_article(ArticleSpec(title="Exosomes for cartilage repair",
                                     authors=[("Ana", "Silva")], year=2022, min_pages=1),
                         tmp_path / "in.pdf")
    assert run("--library", str(library_dir), "import", str(pdf))[0] == 0
    code, text = run("--library", str(library_dir), "export-library", str(tmp_path / "out"))
    assert code == 0, text
    bib = (tmp_path / "out" / "library.bib").read_text(encoding="utf-8")
    assert "file = {:files/" in bib
    assert len(list((tmp_path / "out" / "files").glob("*.pdf"))) == 1


def test_duplicates_are_listed_merged_and_unmerged(library_dir: Path) -> None:
    with Library.open(library_dir) as library:
        PaperService(library).add([
            (Reference(title="Mesenchymal stem cell exosomes in osteoarthritis",
                       authors=[Author("Mianehsaz", "E")], year=2019), None),
            (Reference(title="MESENCHYMAL STEM CELL EXOSOMES IN OSTEOARTHRITIS.",
                       authors=[Author("Mianehsaz", "Elaheh")], year=2019,
                       doi="10.1186/s13287-019-1445-0"), None),
        ])
    code, text = run("--library", str(library_dir), "duplicates")
    assert code == 0
    assert "1 groups of duplicates" in text
    code, text = run("--library", str(library_dir), "duplicates", "--merge")
    assert "1 groups merged" in text
    assert "0 groups" in run("--library", str(library_dir), "duplicates")[1]
    code, text = run("--library", str(library_dir), "duplicates", "--undo")
    assert code == 0
    assert "are back" in text
    assert "1 groups of duplicates" in run("--library", str(library_dir), "duplicates")[1]


def test_watch_imports_new_pdfs_with_subfolder_tags(library_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "knee osteoarthritis").mkdir(parents=True)
    render_article(ArticleSpec(title="Exosomes for the knee", authors=[("Ana", "Silva")],
                               year=2022, min_pages=1), inbox / "knee osteoarthritis" / "a.pdf")
    code, text = run("--library", str(library_dir), "watch", str(inbox), "--once")
    assert code == 0
    assert "added" in text
    assert "[knee osteoarthritis]" in text
    assert run("--library", str(library_dir), "watch", str(inbox), "--once")[1] == ""
    render_article(ArticleSpec(title="Exosomes for the hip", authors=[("Rui", "Costa")],
                               year=2023, min_pages=1), inbox / "b.pdf")
    code, text = run("--library", str(library_dir), "watch", str(inbox), "--once")
    assert text.count("added") == 1
    assert "b.pdf" in text
    code, text = run("--library", str(library_dir), "list", "--tag", "knee osteoarthritis")
    assert "Exosomes for the knee" in text
