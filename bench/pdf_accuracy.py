"""Accuracy and speed of PDF metadata extraction on the real-world corpus.

Reads ``MANIFEST.tsv`` of the shared corpus (``../shared/corpus`` next to the repository, or
``--corpus DIR``).  For every ``pdf-article`` row the ground truth comes from the notes column
(``GT(...) title="..."; ... doi=...``) and, where present, from the ``.gt.json`` / ``.gt.txt`` /
``.gt.xml`` companion; :func:`exoref.formats.pdf.extract_pdf` runs on the file and a table
shows, per file, whether the title and the DOI are right.  The summary gives

* title accuracy over all articles (case-insensitive, whitespace/punctuation-normalised match,
  or a difflib similarity >= 0.9),
* DOI accuracy over the articles whose ground truth has a DOI,
* the number of files where a DOI was extracted that is NOT the paper's (a DOI different from
  the ground truth, or any DOI for a paper whose ground truth has none) -- this must be 0,
* time per file, against a plain ``page.get_text()`` over all pages.

Then every file of ``pdf_broken/`` is read: each must give a one-line reason (or import with
warnings) and no traceback, in well under 10 s.

A benchmark, not a test: it prints figures and exits 0 unless the corpus is missing.

    python bench/pdf_accuracy.py [--corpus DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import re
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

import pymupdf  # noqa: E402

from exoref.domain.identifiers import doi_key, normalize_title_key  # noqa: E402
from exoref.errors import ExorefError  # noqa: E402
from exoref.formats.pdf import extract_pdf  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
SLOW_SECONDS = 10.0


@dataclass
class Truth:
    title: str
    doi: str


def _notes_title(notes: str) -> str:
    real = re.search(r'real title(?:\([^)]*\))?="([^"]+)"', notes)
    if real:
        return real.group(1)
    # Lower-case "title=" only: 'Info/XMP Title="..."' names a wrong embedded title.
    m = re.search(r'(?<![A-Za-z])title="([^"]+)"', notes)
    return m.group(1) if m else ""


def _companion_title(pdf: Path) -> str:
    stem = pdf.name[: -len(".pdf")]
    folder = pdf.parent
    js = folder / f"{stem}.gt.json"
    if js.exists():
        try:
            for item in json.loads(js.read_text(encoding="utf-8")):
                if isinstance(item, list) and len(item) == 2 and item[0] == "title":
                    return str(item[1])
        except (ValueError, OSError):
            pass
    txt = folder / f"{stem}.gt.txt"
    if txt.exists():
        for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"\s*TITLE\s*=\s*(.+)$", line)
            if m:
                return m.group(1).strip()
    xml = folder / f"{stem}.gt.xml"
    if xml.exists():
        try:
            node = ET.parse(xml).find(".//article-title")
            if node is not None and node.text:
                return " ".join(node.text.split())
        except (ET.ParseError, OSError):
            pass
    return ""


def read_manifest(corpus: Path) -> tuple[list[tuple[Path, Truth]], list[Path]]:
    articles: list[tuple[Path, Truth]] = []
    broken: list[Path] = []
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = corpus / row["local_file"]
            kind = row.get("kind", "")
            notes = row.get("notes", "") or ""
            if kind == "pdf-article":
                title = _companion_title(path) or _notes_title(notes)
                m = re.search(r"\bdoi=(10\.\d{4,9}/[^\s;]+)", notes)
                articles.append((path, Truth(title, m.group(1).rstrip(".,") if m else "")))
            elif kind == "pdf-broken":
                broken.append(path)
    return articles, broken


def title_ok(got: str, want: str) -> bool:
    a, b = normalize_title_key(got), normalize_title_key(want)
    if not a or not b:
        return False
    if a == b:
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


def raw_text_seconds(path: Path) -> float:
    start = time.perf_counter()
    with pymupdf.open(path) as doc:
        for page in doc:
            page.get_text()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--verbose", "-v", action="store_true", help="print authors, year, ...")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus
    if not (corpus / "MANIFEST.tsv").exists():
        print(f"corpus not found: {corpus} (pass --corpus DIR)", file=sys.stderr)
        return 2
    pymupdf.TOOLS.mupdf_display_errors(False)
    articles, broken = read_manifest(corpus)

    print(f"{'file':44} {'title':5} {'doi':5} {'ms':>6}  extracted title / doi")
    n_title = n_doi_gt = n_doi = wrong_doi = 0
    total_t = total_raw = 0.0
    failures: list[str] = []
    for path, truth in articles:
        start = time.perf_counter()
        try:
            result = extract_pdf(path)
        except ExorefError as exc:
            elapsed = time.perf_counter() - start
            print(f"{path.name:44} {'ERR':5} {'':5} {elapsed * 1000:6.0f}  {exc}")
            failures.append(f"{path.name}: raised {exc}")
            continue
        elapsed = time.perf_counter() - start
        total_t += elapsed
        total_raw += raw_text_seconds(path)
        ref = result.reference
        t_ok = title_ok(ref.title, truth.title)
        n_title += t_ok
        if truth.doi:
            n_doi_gt += 1
            d_ok = bool(ref.doi) and doi_key(ref.doi) == doi_key(truth.doi)
            n_doi += d_ok
            doi_col = "yes" if d_ok else "NO"
            if ref.doi and not d_ok:
                wrong_doi += 1
        else:
            doi_col = "-" if not ref.doi else "WRONG"
            if ref.doi:
                wrong_doi += 1
        print(
            f"{path.name[:44]:44} {'yes' if t_ok else 'NO':5} {doi_col:5} {elapsed * 1000:6.0f}"
            f"  {ref.title[:90]!r}" + (f" doi={ref.doi}" if ref.doi else "")
        )
        if args.verbose:
            authors = "; ".join(a.display() for a in ref.authors)
            print(f"{'':62}authors: {authors[:150]}")
            print(
                f"{'':62}year={ref.year} journal={ref.journal!r} arxiv={ref.arxiv!r} "
                f"pmid={ref.pmid!r} kw={ref.keywords[:4]}"
            )
            print(f"{'':62}abstract: {ref.abstract[:120]!r}")
            if result.warnings:
                print(f"{'':62}warnings: {result.warnings}")
        if not t_ok:
            failures.append(f"{path.name}: title {ref.title!r} != {truth.title!r}")
        if truth.doi and doi_col != "yes":
            failures.append(f"{path.name}: doi {ref.doi!r} != {truth.doi!r}")
        if not truth.doi and ref.doi:
            failures.append(f"{path.name}: doi {ref.doi!r} extracted, ground truth has none")

    print()
    print("broken files:")
    slow = 0
    for path in broken:
        start = time.perf_counter()
        try:
            result = extract_pdf(path)
            outcome = f"imported: {result.page_count} page(s), text={result.has_text_layer}"
            if result.warnings:
                outcome += f"; warnings: {'; '.join(result.warnings)}"
        except ExorefError as exc:
            outcome = f"refused: {exc.user_message}"
        except Exception:
            outcome = "TRACEBACK:\n" + traceback.format_exc()
        elapsed = time.perf_counter() - start
        slow += elapsed >= SLOW_SECONDS
        print(f"  {path.name:44} {elapsed * 1000:7.1f} ms  {outcome}")

    count = len(articles)
    print()
    print("summary")
    print(f"  title accuracy : {n_title}/{count} = {100 * n_title / max(count, 1):.1f} %")
    print(
        f"  DOI accuracy   : {n_doi}/{n_doi_gt} = {100 * n_doi / max(n_doi_gt, 1):.1f} % "
        "(articles with a ground-truth DOI)"
    )
    print(f"  wrong DOIs     : {wrong_doi} (a DOI that is not the paper's; must be 0)")
    print(
        f"  time per file  : {1000 * total_t / max(count, 1):.1f} ms mean extraction, "
        f"{1000 * total_raw / max(count, 1):.1f} ms plain get_text() of all pages "
        f"(x{total_t / max(total_raw, 1e-9):.2f})"
    )
    print(f"  broken files   : {len(broken)} read, {slow} took >= {SLOW_SECONDS:.0f} s")
    if failures:
        print("remaining failures:")
        for line in failures:
            print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
