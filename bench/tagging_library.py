"""Tagging the stored text of a large library: papers per second of `exoref tag auto --all`.

Issue 5 asks that tagging the stored text of 100,000 papers runs at >= 500 papers/s.  This
runs the real service (read title, abstract, keywords and full text from the library, tag in
worker processes on every core, write automatic tags, suggestions and flags back) on a copy of
the 100,000-paper library that bench/core.py builds (20,000 papers with ten pages of full
text), and prints papers/s.  The baseline measured in the same run is reading the same stored
text without tagging it, so the ratio shows what the tagging itself costs.

Usage: .venv/bin/python bench/tagging_library.py [--library DIR]   (default: a copy of
bench/out/lib-large-100000-20000.base; run bench/core.py first to build it)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402

from exoref.services.library import Library  # noqa: E402
from exoref.services.tagging import TaggingService  # noqa: E402

BASE = REPO / "bench" / "out" / "lib-large-100000-20000.base"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.library
        if root is None:
            if not (BASE / "exoref.sqlite").exists():
                sys.exit(f"{BASE} is missing: run bench/core.py first")
            root = Path(tmp) / "lib"
            root.mkdir()
            shutil.copy2(BASE / "exoref.sqlite", root / "exoref.sqlite")
        with Library.open(root) as library:
            with library.db.read() as session:
                papers, bodies, chars = session.execute(text(
                    "SELECT count(*), (SELECT count(*) FROM search_body), "
                    "(SELECT sum(length(body)) FROM search_body) FROM papers")).one()
            print(f"library: {papers} papers, {bodies} with full text "
                  f"({(chars or 0) / max(bodies, 1) / 1000:.0f} k characters on average)")
            service = TaggingService(library)
            service.sync_vocabulary()
            start = time.perf_counter()
            ids = [int(r[0]) for r in library.db.engine.connect().execute(
                text("SELECT id FROM papers ORDER BY id"))]
            read = 0
            for chunk in service._read_chunks(ids):  # the baseline: read, do not tag
                read += len(chunk)
            baseline = time.perf_counter() - start
            report = service.apply(None)
        rate = report.papers / report.seconds
        print(f"reading the stored text only: {read / baseline:8.0f} papers/s ({baseline:.1f} s)")
        print(f"tag auto --all:               {rate:8.0f} papers/s ({report.seconds:.1f} s; "
              f"target >= 500)  ratio to reading {rate / (read / baseline):.2f}")
        print(f"  {report.applied} tags applied, {report.pending} suggestions waiting, "
              f"{report.off_topic} papers off topic")


if __name__ == "__main__":
    main()
