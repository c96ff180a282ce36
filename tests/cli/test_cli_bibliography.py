"""`exoref export`, `exoref rekey` and .bib import from the command line."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import bibtexparser

from exoref.cli import main

if TYPE_CHECKING:
    from pathlib import Path

BIB = r"""
@string{sctr = {Stem Cell Research \& Therapy}}
@article{mianehsaz2019,
  title = {Mesenchymal stem cell-derived exosomes: a new therapeutic approach to osteoarthritis?},
  author = {Mianehsaz, Elaheh and Mirzaei, Hamid Reza and Hamblin, Michael R.},
  journal = sctr,
  year = {2019},
  volume = {10},
  pages = {340},
  doi = {10.1186/s13287-019-1445-0},
  keywords = {osteoarthritis, exosomes}
}
@article{muller2020,
  title = {{IL-1$\beta$} and {CD63} in {M{\"u}ller} cells \& vesicles},
  author = {M{\"u}ller, J{\"u}rgen and van der Berg, Jan},
  journal = {Exp Eye Res},
  year = {2020},
  pages = {1--9}
}
"""


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_bib_import_export_round_trip(tmp_path: Path) -> None:
    lib = str(tmp_path / "lib")
    source = tmp_path / "refs.bib"
    source.write_text(BIB, encoding="utf-8")
    code, text = run("import", str(source), "--json", "--library", lib)
    results = json.loads(text)
    assert code == 0, results
    assert [r["status"] for r in results] == ["added", "added"]
    _, shown = run("search", "müller", "--json", "--library", lib)
    assert [p["journal"] for p in json.loads(shown)] == ["Exp Eye Res"]

    target = tmp_path / "out.bib"
    assert run("export", "-o", str(target), "--library", lib)[0] == 0
    parsed = bibtexparser.parse_string(target.read_text(encoding="utf-8"))
    keys = sorted(e.key for e in parsed.entries)
    assert keys == sorted(p["citekey"] for p in json.loads(run("list", "--json",
                                                                 "--library", lib)[1]))
    text = target.read_text(encoding="utf-8")
    assert "10.1186/s13287-019-1445-0" in text
    assert "1--9" in text
    assert "\\&" in text  # the journal's ampersand stays escaped

    code, only_oa = run("export", "--tag", "osteoarthritis", "--biblatex", "--library", lib)
    assert code == 0
    assert "journaltitle" in only_oa
    assert "Exp Eye Res" not in only_oa
    code, ris = run("export", "--format", "ris", "--query", "vesicles", "--library", lib)
    assert ris.startswith("TY  - JOUR")
    assert "Exp Eye Res" in ris


def test_rekey_is_the_only_way_keys_change(tmp_path: Path) -> None:
    lib = str(tmp_path / "lib")
    source = tmp_path / "refs.bib"
    source.write_text(BIB, encoding="utf-8")
    run("import", str(source), "--library", lib)
    before = {p["id"]: p["citekey"] for p in json.loads(run("list", "--json", "--library",
                                                            lib)[1])}
    assert "mianehsaz2019" in before.values()  # the .bib's own key is kept
    code, text = run("rekey", "--all", "--json", "--library", lib)
    assert code == 0
    changes = json.loads(text)
    assert {"old": "mianehsaz2019", "new": "mianehsaz2019mesenchymal"} in changes
    assert run("rekey", "--library", lib)[0] == 2  # nothing named: a usage error
