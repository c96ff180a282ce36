"""Acceptance of issue 2 through the command line: seeds, broken PDFs, JSON and exit codes."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest

from exoref.cli import main
from tests.fixtures import pdfgen


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def seed_metadata() -> list[dict[str, object]]:
    path = Path(__file__).resolve().parents[2] / "resources" / "sample" / "seeds.json"
    return list(json.loads(path.read_text(encoding="utf-8")))


def test_seed_papers_import_with_their_metadata_and_search_ranks_oa_first(
    seeds_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    specs = pdfgen.seed_articles(seeds_dir)
    for i, spec in enumerate(specs):
        pdfgen.render_article(spec, folder / f"seed{i}.pdf")
    lib = str(tmp_path / "lib")
    code, text = run("import", str(folder), "--json", "--library", lib)
    results = json.loads(text)
    assert code == 0, results
    assert [r["status"] for r in results] == ["added"] * 5
    by_file = {Path(r["path"]).name: r["id"] for r in results}
    for i, meta in enumerate(seed_metadata()):
        _, shown = run("show", str(by_file[f"seed{i}.pdf"]), "--json", "--library", lib)
        paper = json.loads(shown)
        assert paper["title"].casefold() == str(meta["title"]).casefold(), meta["seed_file"]
        want_authors = meta["authors"]
        assert isinstance(want_authors, list)
        assert [a["family"] for a in paper["authors"]] == [a["family"] for a in want_authors]
        if meta["year"]:
            assert paper["year"] == meta["year"]
        if meta["pmid"]:
            assert paper["pmid"] == meta["pmid"]
        if meta["doi"]:
            assert paper["doi"].lower() == str(meta["doi"]).lower()
    _, found = run("search", "cartilage", "--json", "--library", lib)
    ranked = [h["title"].lower() for h in json.loads(found)]
    osteo = [i for i, t in enumerate(ranked) if "osteoarthritis" in t]
    assert osteo, ranked
    assert osteo == list(range(len(osteo)))  # the osteoarthritis papers come first


@pytest.mark.corpus
def test_broken_corpus_pdfs_fail_cleanly(corpus: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(corpus / "pdf_broken", folder)
    lib = str(tmp_path / "lib")
    started = time.monotonic()
    code, text = run("import", str(folder), "--json", "--library", lib)
    elapsed = time.monotonic() - started
    results = json.loads(text)
    assert len(results) == len(list(folder.iterdir()))
    assert elapsed < 10 * len(results)
    for r in results:
        assert r["status"] in ("added", "failed", "duplicate")
        if r["status"] == "failed":
            assert r["reason"]
            assert "Traceback" not in r["reason"]
    assert code == (1 if any(r["status"] == "failed" for r in results) else 0)
    assert "Traceback" not in capsys.readouterr().err
    assert run("check", "--library", lib)[0] == 0


def test_import_exit_codes_and_human_output(tmp_path: Path) -> None:
    good = pdfgen.render_article(
        pdfgen.ArticleSpec(title="Adipose MSC exosomes heal diabetic wounds",
                           authors=[("Ana", "García")], year=2021, doi="10.1000/w.1"),
        tmp_path / "good.pdf")
    fake = pdfgen.write_fake_pdf(tmp_path / "fake.pdf")
    lib = str(tmp_path / "lib")
    code, text = run("import", str(good), "--library", lib)
    assert code == 0
    assert "1 added" in text
    code, text = run("import", str(good), str(fake), str(tmp_path / "missing.pdf"),
                     "--library", lib)
    assert code == 1
    assert "duplicate" in text
    assert "fake.pdf" in text
    assert "no such file" in text
    with pytest.raises(SystemExit) as exc:
        main(["import", "--library", lib])
    assert exc.value.code == 2
