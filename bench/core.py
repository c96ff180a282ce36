"""Core benchmark: import throughput, search latency, import into a large library.

Prints, in one run:

1. import throughput of ``--pdfs`` generated ten-page article PDFs into an empty library, in
   papers/s and as a ratio to raw PyMuPDF text extraction of the same files on all cores
   (measured first, in the same run);
2. search latency (median, p95) over 100 varied queries with snippets on a library of
   ``--papers`` papers (built through the library's services, not from PDFs) of which
   ``--fulltext`` carry ten pages of text: as-you-type (metadata) and full-text;
3. import throughput of the same PDFs into that large library, as a ratio to the empty one.

Usage: .venv/bin/python bench/core.py [--pdfs 1000] [--papers 100000] [--fulltext 20000]
Generated files are cached under bench/out/ (delete it to start afresh).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pymupdf  # noqa: E402

from exoref.domain.models import Author, Reference, Tag, TagKind  # noqa: E402
from exoref.services.library import Library  # noqa: E402
from exoref.services.papers import PaperService  # noqa: E402
from exoref.services.search import SearchService  # noqa: E402
from exoref.services.views import ViewService  # noqa: E402
from tests.fixtures.pdfgen import (  # noqa: E402
    INDICATIONS,
    synthetic_article,
    write_synthetic_corpus,
)

if TYPE_CHECKING:
    from collections.abc import Callable

OUT = REPO / "bench" / "out"


def raw_extract(path: str) -> int:
    """The baseline: open the PDF and get the text of every page, nothing else."""
    with pymupdf.open(path) as doc:
        return sum(len(page.get_text()) for page in doc)


def measure_raw(files: list[Path], processes: int) -> float:
    ctx = mp.get_context("forkserver")
    with ctx.Pool(processes) as pool:
        pool.map(raw_extract, [str(files[0])] * processes)  # warm the workers up
        start = time.perf_counter()
        chars = sum(pool.imap_unordered(raw_extract, [str(f) for f in files], chunksize=4))
        elapsed = time.perf_counter() - start
    assert chars > 0
    return elapsed


def measure_import(library_dir: Path, pdf_dir: Path, processes: int) -> tuple[float, int]:
    """Seconds to import every PDF of ``pdf_dir``, and how many were processed (added, or
    found to be already in the library and attached to it: both are read, checked, copied
    and written)."""
    from exoref.services.importer import ImportService

    with Library.open(library_dir) as library:
        start = time.perf_counter()
        results = ImportService(library, processes=processes).import_paths([pdf_dir])
        elapsed = time.perf_counter() - start
    counts = {s: sum(r.status == s for r in results) for s in ("added", "duplicate", "failed")}
    print(f"  {counts['added']} added, {counts['duplicate']} already in the library "
          f"(file attached), {counts['failed']} failed")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"  warning: e.g. {failed[0].path}: {failed[0].reason}")
    return elapsed, counts["added"] + counts["duplicate"]


def to_reference(spec: object, tags: list[Tag]) -> Reference:
    s = spec  # an ArticleSpec
    return Reference(
        title=s.title,  # type: ignore[attr-defined]
        authors=[Author(family, given) for given, family in s.authors],  # type: ignore[attr-defined]
        year=s.year,  # type: ignore[attr-defined]
        journal=s.journal,  # type: ignore[attr-defined]
        volume=s.volume,  # type: ignore[attr-defined]
        pages=s.pages,  # type: ignore[attr-defined]
        doi=s.doi or "",  # type: ignore[attr-defined]
        pmid=s.pmid or "",  # type: ignore[attr-defined]
        abstract=s.abstract,  # type: ignore[attr-defined]
        keywords=list(s.keywords),  # type: ignore[attr-defined]
        tags=tags,
    )


def build_large_library(library_dir: Path, papers: int, fulltext: int) -> float:
    rng = random.Random(20261121)
    start = time.perf_counter()
    with Library.open(library_dir) as library:
        service = PaperService(library)
        batch: list[tuple[Reference, str | None]] = []
        every = max(1, papers // fulltext) if fulltext else 0
        with_text = 0
        for i in range(papers):
            has_text = bool(every) and i % every == 0 and with_text < fulltext
            spec = synthetic_article(rng, pages=10 if has_text else 1)
            topic = next((t for t in INDICATIONS if t.lower() in spec.title.lower()), None)
            tags = [Tag(topic, TagKind.INDICATION)] if topic else []
            body = "\n\n".join(spec.body) if has_text else None
            with_text += has_text
            batch.append((to_reference(spec, tags), body))
            if len(batch) == 500:
                service.add(batch)
                batch = []
                if (i + 1) % 10000 == 0:
                    print(f"  {i + 1} papers ({time.perf_counter() - start:.0f} s)", flush=True)
        if batch:
            service.add(batch)
    return time.perf_counter() - start


QUERY_WORDS = [
    "osteoarthritis", "cartilage", "chondrocyte", "kidney", "renal", "liver fibrosis",
    "hepatic", "myocardial", "stroke", "neuroinflammation", "wound", "GVHD", "macrophage",
    "umbilical", "adipose", "bone marrow", "Wharton", "placenta", "miR-21", "CD63", "TSG101",
    "apoptosis", "angiogenesis", "ultracentrifugation", "nanoparticle", "tendon", "sepsis",
    "lung", "ARDS", "spinal cord", "periodontitis", "retina", "diabetes", "colitis",
    "Müller", "Zhang", "Wang", "Li", "Chen", "Smith", "van der Berg", "García",
]


def make_queries(rng: random.Random) -> list[str]:
    queries: list[str] = []
    for i in range(100):
        kind = i % 5
        word = rng.choice(QUERY_WORDS)
        other = rng.choice(QUERY_WORDS)
        if kind == 0:
            queries.append(word)
        elif kind == 1:
            queries.append(f"{word} {other}")
        elif kind == 2:
            queries.append(f'"{word}" year:2015..2022')
        elif kind == 3:
            queries.append(f"{word[:4]}*")
        else:
            queries.append(f"author:{rng.choice(['Zhang', 'Müller', 'Wang', 'Li'])} {word}")
    return queries


def latency(run: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    for q in queries[:5]:
        run(q)  # warm the page cache
    times = []
    for q in queries:
        start = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=1000)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--fulltext", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    pdf_dir = OUT / f"pdfs-{args.pdfs}x10"
    if len(list(pdf_dir.glob("*.pdf"))) != args.pdfs:
        shutil.rmtree(pdf_dir, ignore_errors=True)
        print(f"generating {args.pdfs} ten-page PDFs in {pdf_dir} ...", flush=True)
        write_synthetic_corpus(pdf_dir, args.pdfs, pages=10, seed=1)
    files = sorted(pdf_dir.glob("*.pdf"))
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"corpus: {len(files)} PDFs, 10 pages each, {size:.0f} MB; {args.processes} processes")

    print("\n== 1. import throughput into an empty library")
    raw = measure_raw(files, args.processes)
    raw_rate = len(files) / raw
    print(f"raw PyMuPDF text extraction: {raw:.2f} s = {raw_rate:.1f} papers/s")
    empty_dir = OUT / "lib-empty"
    shutil.rmtree(empty_dir, ignore_errors=True)
    elapsed, added = measure_import(empty_dir, pdf_dir, args.processes)
    empty_rate = added / elapsed
    print(f"exoref import: {added} papers in {elapsed:.2f} s = {empty_rate:.1f} papers/s")
    print(f"ratio to raw extraction: {empty_rate / raw_rate:.2f}  (target >= 0.7)")

    print(f"\n== 2. search on {args.papers} papers, {args.fulltext} with ten pages of text")
    large_dir = OUT / f"lib-large-{args.papers}-{args.fulltext}"
    base_dir = OUT / f"lib-large-{args.papers}-{args.fulltext}.base"
    if not (base_dir / "exoref.sqlite").exists():
        shutil.rmtree(base_dir, ignore_errors=True)
        built = build_large_library(base_dir, args.papers, args.fulltext)
        print(f"built through PaperService.add in {built:.0f} s")
    shutil.rmtree(large_dir, ignore_errors=True)
    shutil.copytree(base_dir, large_dir)
    queries = make_queries(random.Random(7))
    with Library.open(large_dir) as library:
        service = SearchService(library)
        views = ViewService(library)

        def window_search(q: str) -> None:  # what the window runs as the user types
            ids = views.ids(query=q, sort="relevance")
            views.rows(ids[:50])

        med, p95 = latency(lambda q: service.search(q, fulltext=False, limit=50), queries)
        print(f"as-you-type (metadata) search, 50 best with snippets: median {med:.1f} ms, "
              f"p95 {p95:.1f} ms (target p95 <= 20 ms)")
        med, p95 = latency(lambda q: service.search(q, fulltext=True, limit=50), queries)
        print(f"full-text search, 50 best with snippets:              median {med:.1f} ms, "
              f"p95 {p95:.1f} ms (target p95 <= 100 ms)")
        med, p95 = latency(window_search, queries)
        print(f"the window's search box (every match, first screen):  median {med:.1f} ms, "
              f"p95 {p95:.1f} ms")

    print("\n== 3. import into the large library")
    elapsed, added = measure_import(large_dir, pdf_dir, args.processes)
    large_rate = added / elapsed
    print(f"exoref import: {added} papers in {elapsed:.2f} s = {large_rate:.1f} papers/s")
    print(f"large / empty: {large_rate / empty_rate:.2f}  (target >= 0.8)")
    shutil.rmtree(large_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
