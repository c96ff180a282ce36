"""An exported library compiles in a real LaTeX document, with BibTeX and with biber.

Skipped unless pdflatex, bibtex and biber are installed (Debian: texlive-latex-base,
texlive-latex-recommended, texlive-bibtex-extra, biber).  The library holds the awkward cases:
accents, Greek, math symbols, the characters BibTeX treats specially, a title with
``\\input{...}``, names with particles, suffixes and organisations, every common entry type,
DOIs and URLs with ``_``, ``%``, ``#`` and ``&``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.formats.bibtex import write_bibtex

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("pdflatex") and shutil.which("bibtex") and shutil.which("biber")),
        reason="pdflatex, bibtex and biber are needed",
    ),
]


def library() -> list[Reference]:
    return [
        Reference(
            title="Mesenchymal stem cell-derived exosomes attenuate GvHD: IL-1β, TNF-α and "
                  "CD63+ in T cells — a 50% & $5 study #1 of A_B ~ x^2 {braces} "
                  "\\input{/etc/passwd} and \\write18{ls}",
            authors=[Author("van der Berg", "Jan"), Author("de la Fontaine", "Jean"),
                     Author("Müller", "Jürgen, Jr."), Author("World Health Organization", "")],
            year=2020, journal="Stem Cell Res & Ther", volume="11", issue="2", pages="100-110",
            doi="10.1186/s13287-020-01_5%x#y", url="https://example.org/a_b?x=1&y=%20#frag",
            pmid="12345678", pmcid="PMC1234567",
            abstract="First paragraph with 10% of ß.\n\nSecond paragraph — with “quotes”.",
            notes="A personal note & more.", language="en",
            extra={"month": "9", "note": "A note with ~ and ^", "issn": "1757-6512"},
            tags=[Tag("exosomes"), Tag("GvHD", TagKind.INDICATION)],
            citekey="berg2020mesenchymal",
        ),
        Reference(title="Øresund ligatures -- `` '' and Łódź in µ ’s ½ ° ©",
                  authors=[Author("Søgaard", "Øystein"), Author("others", "")], year=2019,
                  entry_type="book", publisher="Springer", isbn="978-3-16-148410-0",
                  extra={"address": "Berlin", "edition": "2"}, citekey="sogaard2019oresund"),
        Reference(title="A chapter", authors=[Author("Smith", "J.")], year=2018,
                  entry_type="incollection", booktitle="The Big Book of {Things}",
                  publisher="Wiley", pages="5-9", extra={"editor": "Jones, K. and Brown, L."},
                  citekey="smith2018chapter"),
        Reference(title="Proceedings paper with arXiv", authors=[Author("Lee", "K.")], year=2021,
                  entry_type="inproceedings", booktitle="Proc. of MSC 2021", arxiv="2101.00001",
                  extra={"eprintclass": "q-bio.CB"}, citekey="lee2021proceedings"),
        Reference(title="A thesis", authors=[Author("Ng", "A.")], year=2017,
                  entry_type="phdthesis", extra={"school": "MIT"}, citekey="ng2017thesis"),
        Reference(title="A master's thesis", authors=[Author("Ng", "C.")], year=2017,
                  entry_type="mastersthesis", extra={"school": "ETH"}, citekey="ng2017master"),
        Reference(title="A report", authors=[Author("Ng", "B.")], year=2016,
                  entry_type="techreport", extra={"institution": "NIH"}, issue="42",
                  citekey="ng2016report"),
        Reference(title="Web page", authors=[Author("Kim", "C.")], year=2022,
                  entry_type="online", url="https://exoref.example/page",
                  extra={"urldate": "2023-01-05"}, citekey="kim2022web"),
        Reference(title="Misc thing", authors=[Author("Ahmed", "D.")], year=2015,
                  entry_type="misc", citekey="ahmed2015misc"),
        Reference(title="Unpublished thing", authors=[Author("Ahmed", "E.")], year=2014,
                  entry_type="unpublished", extra={"note": "Manuscript in preparation"},
                  citekey="ahmed2014unpublished"),
        Reference(title="Greek αβγ ΔΣΩ μ and math ≤ ≥ ± × → 1̅ ǖ in a title",
                  authors=[Author("Papadopoulos", "Georgios")], year=2013, journal="J. Greek",
                  volume="1", pages="e1", citekey="papadopoulos2013greek"),
        Reference(title="Edited volume", year=2012, entry_type="book", publisher="Elsevier",
                  extra={"editor": "Berg, Ann and Ross, Bo"}, citekey="berg2012edited"),
    ]


def _beyond_latin(text: str) -> bool:
    return any(0x300 <= ord(ch) < 0x2000 or 0x2030 < ord(ch) for ch in text)


def run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace",
                          timeout=300, check=False)
    return done.stdout + done.stderr


def log_problems(log: str) -> list[str]:
    lines = log.splitlines()
    return [line for line in lines if line.startswith("!")
            or re.search(r"(Citation|Reference) .* undefined|Warning.*(entr|bib|citation)",
                         line, re.IGNORECASE)]


BIBTEX_DOC = r"""\documentclass{article}
\usepackage[numbers]{natbib}
\usepackage{url}
\usepackage{hyperref}
\begin{document}
Citing \cite{%s}.
\bibliographystyle{%s}
\bibliography{refs}
\end{document}
"""

BIBLATEX_DOC = r"""\documentclass{article}
\usepackage[backend=biber]{biblatex}
\addbibresource{refs.bib}
\begin{document}
Citing \cite{%s}.
\printbibliography
\end{document}
"""


@pytest.mark.parametrize("style", ["plainnat", "plain", "unsrt"])
def test_bibtex_compiles_without_errors_or_warnings(tmp_path: Path, style: str) -> None:
    refs = library()
    (tmp_path / "refs.bib").write_text(write_bibtex(refs), encoding="utf-8")
    keys = ",".join(r.citekey or "" for r in refs)
    (tmp_path / "doc.tex").write_text(BIBTEX_DOC % (keys, style), encoding="utf-8")
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    bibtex_out = run(["bibtex", "doc"], tmp_path)
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    blg = (tmp_path / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert "Warning--" not in blg, blg
    assert "error message" not in blg, bibtex_out
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert log_problems(log) == []
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8", errors="replace")
    assert "\\input{" not in bbl
    assert "\\write18" not in bbl
    assert (tmp_path / "doc.pdf").is_file()


@pytest.mark.parametrize("unicode", [False, True])
def test_biblatex_with_biber_compiles_without_errors_or_warnings(tmp_path: Path,
                                                                 unicode: bool) -> None:
    refs = library()
    if unicode:
        # raw UTF-8 needs fonts for every script: pdfLaTeX has Latin ones only
        refs = [r for r in refs if not any(_beyond_latin(v) for v in (
            r.title, r.abstract, *(a.family + a.given for a in r.authors)))]
    (tmp_path / "refs.bib").write_text(write_bibtex(refs, biblatex=True, unicode=unicode),
                                       encoding="utf-8")
    keys = ",".join(r.citekey or "" for r in refs)
    (tmp_path / "doc.tex").write_text(BIBLATEX_DOC % keys, encoding="utf-8")
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    biber_out = run(["biber", "doc"], tmp_path)
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], tmp_path)
    blg = (tmp_path / "doc.blg").read_text(encoding="utf-8", errors="replace")
    assert "WARN" not in blg, blg
    assert "ERROR" not in blg, biber_out
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert log_problems(log) == []
    assert (tmp_path / "doc.pdf").is_file()
