"""The `exoref` command on a library built through the services (no PDFs involved)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from exoref.cli import main
from exoref.domain.models import Tag, TagKind
from exoref.services.library import Library
from exoref.services.papers import PaperService
from tests.conftest import make_ref

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
                      doi="10.1186/s13287-019-1445-0", pmid="31753036",
                      tags=[Tag("osteoarthritis", TagKind.INDICATION)]), None),
            (make_ref("Exosomes in rheumatoid arthritis", "S Aghajani", year=2025), None),
        ])
    return library_dir


def test_list_show_and_json_shape(lib: Path) -> None:
    code, text = run("list", "--library", str(lib), "--json", "--sort", "year")
    assert code == 0
    papers = json.loads(text)
    assert [p["year"] for p in papers] == [2025, 2019]
    oa = papers[1]
    assert oa["citekey"] == "mianehsaz2019exosomes"
    assert oa["authors"] == [{"family": "Mianehsaz", "given": "Elaheh"}]
    assert oa["tags"] == [{"name": "osteoarthritis", "kind": "indication"}]
    for key in ("id", "title", "journal", "doi", "pmid", "pmcid", "abstract", "files"):
        assert key in oa
    code, text = run("show", "mianehsaz2019exosomes", "--library", str(lib))
    assert code == 0
    assert "Exosomes in knee osteoarthritis" in text
    assert "31753036" in text


def test_search_json_has_score_and_snippet(lib: Path) -> None:
    code, text = run("--library", str(lib), "search", "osteoarthritis", "--json")
    assert code == 0
    [hit] = json.loads(text)
    assert hit["title"] == "Exosomes in knee osteoarthritis"
    assert hit["score"] >= 0  # bm25 is ~0 when half of a tiny library matches
    assert "[osteoarthritis]" in hit["snippet"]


def test_tag_add_remove_and_stats(lib: Path) -> None:
    assert run("tag", "add", "2", "rheumatoid arthritis", "--kind", "indication",
               "--library", str(lib))[0] == 0
    _, text = run("stats", "--json", "--library", str(lib))
    stats = json.loads(text)
    assert stats["papers"] == 2
    assert {t["name"] for t in stats["tags"]} == {"osteoarthritis", "rheumatoid arthritis"}
    assert run("tag", "remove", "2", "Rheumatoid Arthritis", "--library", str(lib))[0] == 0
    _, text = run("show", "2", "--json", "--library", str(lib))
    assert json.loads(text)["tags"] == []


def test_errors_have_exit_codes(lib: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("show", "nosuchkey", "--library", str(lib))[0] == 1
    assert "No paper" in capsys.readouterr().err
    assert run("search", '"unclosed', "--library", str(lib))[0] == 1
    assert "quote" in capsys.readouterr().err.lower()
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert run("list", "--library", str(lib / "missing"))[0] == 1


def test_check_clean_library(lib: Path) -> None:
    code, text = run("check", "--json", "--library", str(lib))
    assert code == 0
    assert json.loads(text)["ok"] is True


def test_overview_and_module_entry_point(lib: Path) -> None:
    code, text = run("--library", str(lib))
    assert code == 0
    assert "2 papers" in text
    proc = subprocess.run([sys.executable, "-m", "exoref", "--version"], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.startswith("exoref ")
