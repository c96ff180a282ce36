"""Every .bib in ../shared/corpus/bib: what ExoRef reads, imports and reports, and how fast.

For each file, into a fresh library: the entry blocks in the file (counted by their ``@type{``
lines), the entries read, the problems reported (with line numbers), then the import results
(added / duplicate within the file / failed), the time to read (parse + decode) and the time
to import (read + store, one transaction per entry).  Nothing is checked; figures only.

Usage: .venv/bin/python bench/bib_corpus.py [--corpus ../shared/corpus] [--no-import]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exoref.formats.common import decode_text  # noqa: E402
from exoref.formats.registry import read_bibliography  # noqa: E402
from exoref.services.bibliography import BibliographyService  # noqa: E402
from exoref.services.library import Library  # noqa: E402

_ENTRY_START = re.compile(
    r"^[ \t]*@[ \t]*(?!string\b|comment\b|preamble\b)[A-Za-z_]+[ \t]*[{(]", re.MULTILINE | re.I
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--no-import", action="store_true", help="only read, do not import")
    args = parser.parse_args()
    files = sorted((args.corpus / "bib").glob("*.bib"))
    if not files:
        print(f"no .bib files under {args.corpus / 'bib'}")
        return
    header = (f"{'file':58} {'enc':10} {'blocks':>6} {'read':>6} {'probl':>5} {'added':>6} "
              f"{'dupl':>5} {'failed':>6} {'read s':>7} {'import s':>8}")
    print(header)
    totals: Counter[str] = Counter()
    read_time = import_time = 0.0
    unaccounted = 0
    for path in files:
        text, _encoding = decode_text(path.read_bytes())
        blocks = len(_ENTRY_START.findall(text.replace("\r\n", "\n").replace("\r", "\n")))
        start = time.perf_counter()
        parsed = read_bibliography(path)
        read_s = time.perf_counter() - start
        statuses: Counter[str] = Counter()
        import_s = 0.0
        if not args.no_import:
            with tempfile.TemporaryDirectory() as tmp:
                library = Library.open(Path(tmp) / "lib")
                try:
                    start = time.perf_counter()
                    results = BibliographyService(library, processes=1).import_file(path)
                    import_s = time.perf_counter() - start
                finally:
                    library.close()
            statuses.update(r.status for r in results)
        read_entries, problems = len(parsed.entries), len(parsed.problems)
        unaccounted += blocks - read_entries - problems
        totals.update(blocks=blocks, read=read_entries, problems=problems, **statuses)
        read_time += read_s
        import_time += import_s
        print(f"{path.name[:58]:58} {parsed.encoding[:10]:10} {blocks:6} {read_entries:6} "
              f"{problems:5} {statuses['added']:6} {statuses['duplicate']:5} "
              f"{statuses['failed']:6} {read_s:7.2f} {import_s:8.2f}")
    print(f"{'TOTAL (' + str(len(files)) + ' files)':58} {'':10} {totals['blocks']:6} "
          f"{totals['read']:6} {totals['problems']:5} {totals['added']:6} "
          f"{totals['duplicate']:5} {totals['failed']:6} {read_time:7.2f} {import_time:8.2f}")
    print(f"entry blocks neither read nor reported: {unaccounted}")
    if totals["read"]:
        print(f"read: {1000 * read_time / totals['read']:.3f} ms per entry; "
              f"import: {1000 * import_time / max(totals['read'], 1):.2f} ms per entry")


if __name__ == "__main__":
    main()
