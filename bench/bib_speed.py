"""BibTeX export and import speed and memory at 10,000 and 100,000 entries.

Generates realistic references (MSC-exosome titles with acronyms, Greek letters and accents,
6 authors on average with particles and non-ASCII names, a 150-word abstract, DOI, PMID,
journal, pages, keywords) and measures, each in a fresh subprocess so that peak memory is the
operation's own:

* export: ``write_bibtex`` over the references (BibTeX, LaTeX-encoded);
* import: read the .bib file and ``parse_bibtex`` it (split, macros, decode, names);
* peak memory: the subprocess's maximum resident set size (``resource.getrusage``), and the
  baseline of an interpreter that has imported ExoRef;
* at the ``--library-sizes`` (10,000 by default): importing the .bib into a new library,
  twice: ``BibliographyService.import_file`` alone (read, store, index, commit) and
  ``ImportService.import_paths`` (what ``exoref import refs.bib`` runs once the library is
  open: the same plus the import service's later steps); and ``BibliographyService.export``
  from a library holding the references (database read + export).

Targets (issue 3): export 10,000 <= 1 s, import 10,000 <= 5 s, peak <= 500 MB at 100,000.
Figures only, no pass/fail.

Usage: .venv/bin/python bench/bib_speed.py [--sizes 10000 100000] [--library-sizes 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from exoref.domain.models import Reference

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FAMILIES = ("Mianehsaz Mirzaei Hamblin Müller Søgaard Łukasik Zhang Wang Li Chen Kim Park "
            "Nguyen García Rodríguez Martín Rossi Bianchi Dubois Lefèvre Schäfer Öztürk "
            "Johansson Nielsen Kowalski Novák Dvořák Horváth Papadopoulos O'Brien").split()
PARTICLES = ("van der", "de la", "von", "van", "de", "di")
GIVEN = ("Elaheh Hamid Michael Jürgen Øystein Łucja Wei Min-Jun José María Giulia Chloé "
         "Søren Ayşe J. K. L. A. B. J.-P. M.").split()
TOPICS = ("mesenchymal stem cell-derived exosomes", "extracellular vesicles",
          "umbilical cord MSC exosomes", "bone marrow MSC-EVs", "adipose-derived MSC secretome",
          "exosomal miR-21", "CD63+ small EVs", "IL-1β-primed MSC exosomes")
EFFECTS = ("attenuate", "ameliorate", "promote repair in", "modulate TNF-α signalling in",
           "reduce fibrosis in", "protect against")
INDICATIONS = ("graft-versus-host disease", "knee osteoarthritis", "acute kidney injury",
               "myocardial infarction", "ARDS", "Crohn's disease", "spinal cord injury",
               "type 2 diabetes", "COVID-19 pneumonia", "liver fibrosis")
JOURNALS = ("Stem Cell Research & Therapy", "Journal of Extracellular Vesicles",
            "Stem Cells Translational Medicine", "Cytotherapy", "Theranostics",
            "Frontiers in Immunology", "Biomaterials", "Molecular Therapy")
WORDS = ("exosomes vesicles secretion paracrine signalling macrophage polarization "
         "angiogenesis apoptosis inflammation cytokine cartilage regeneration fibrosis "
         "immunomodulation proliferation migration therapy preclinical model mice rats "
         "dose-dependent significantly reduced increased expression pathway NF-κB "
         "TGF-β1 VEGF outcome efficacy safety trial").split()


def make_references(count: int, seed: int = 7) -> Iterator[Reference]:
    """``count`` generated references, made one at a time (the same ones for a seed)."""
    from exoref.domain.models import Author, Reference, Tag, TagKind

    rng = random.Random(seed)
    for i in range(count):
        authors = []
        for _ in range(max(1, int(rng.expovariate(1 / 6)))):
            family = rng.choice(FAMILIES)
            if rng.random() < 0.08:
                family = f"{rng.choice(PARTICLES)} {family.capitalize()}"
            authors.append(Author(family, rng.choice(GIVEN)))
        if rng.random() < 0.03:
            authors.append(Author("MSC Exosome Consortium", ""))
        design = rng.choice(["randomized", "preclinical", "systematic"])
        kind = rng.choice(["study", "review", "meta-analysis"])
        title = (f"{rng.choice(TOPICS).capitalize()} {rng.choice(EFFECTS)} "
                 f"{rng.choice(INDICATIONS)}: a {design} {kind}")
        abstract = " ".join(rng.choice(WORDS) for _ in range(150)).capitalize() + "."
        year = rng.randint(2005, 2024)
        start = rng.randint(1, 2000)
        yield (
            Reference(
                title=title,
                authors=authors,
                year=year,
                journal=rng.choice(JOURNALS),
                volume=str(rng.randint(1, 60)),
                issue=str(rng.randint(1, 12)),
                pages=f"{start}-{start + rng.randint(5, 20)}",
                doi=f"10.{rng.randint(1000, 9999)}/exo.{year}.{i:06d}",
                pmid=str(30_000_000 + i),
                abstract=abstract,
                language="en",
                keywords=rng.sample(list(WORDS[:20]), 4),
                tags=[Tag(rng.choice(INDICATIONS), TagKind.INDICATION)],
                extra={"month": str(rng.randint(1, 12)), "issn": "1757-6512"},
                citekey=f"ref{i:06d}",
            )
        )


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(operation: str, count: int, path: str) -> None:
    """Run one measured operation in this (fresh) process and print JSON figures."""
    from exoref.formats.bibtex import iter_bibtex_file, iter_bibtex_text, write_bibtex
    from exoref.formats.common import ParsedEntry

    baseline = peak_mb()
    figures: dict[str, float] = {"baseline_mb": baseline}
    if operation == "write":
        with Path(path).open("w", encoding="utf-8") as out:
            for piece in iter_bibtex_text(make_references(count)):
                out.write(piece)
    elif operation == "export":
        # the exporter as the library uses it: references come in, text goes out, piece by
        # piece; the references are made before the clock starts (in memory: see refs_mb)
        refs = list(make_references(count)) if count <= 20_000 else None
        figures["refs_mb"] = peak_mb()
        start = time.perf_counter()
        if refs is not None:
            text = write_bibtex(refs)
            figures["mb_out"] = len(text.encode("utf-8")) / 1e6
        else:
            with Path(path + ".out").open("w", encoding="utf-8") as out:
                for piece in iter_bibtex_text(make_references(count)):
                    out.write(piece)
        figures["seconds"] = time.perf_counter() - start
        if refs is None:
            # generating the references lazily is part of that time: measure it alone
            start = time.perf_counter()
            for _ref in make_references(count):
                pass
            figures["generate_seconds"] = time.perf_counter() - start
    elif operation == "import":
        start = time.perf_counter()
        entries = problems = 0
        for item in iter_bibtex_file(Path(path)):
            if isinstance(item, ParsedEntry):
                entries += 1
            else:
                problems += 1
        figures["seconds"] = time.perf_counter() - start
        figures["entries"] = entries
        figures["problems"] = problems
    elif operation == "library":
        from exoref.services.bibliography import BibliographyService
        from exoref.services.library import Library
        from exoref.services.papers import PaperService

        with tempfile.TemporaryDirectory() as tmp:
            library = Library.open(Path(tmp) / "lib")
            try:
                start = time.perf_counter()
                PaperService(library).add([(r, None) for r in make_references(count)])
                figures["store_seconds"] = time.perf_counter() - start
                base = peak_mb()
                start = time.perf_counter()
                with Path(path + ".lib.bib").open("w", encoding="utf-8") as out:
                    figures["entries"] = BibliographyService(library).export_to(out)
                figures["seconds"] = time.perf_counter() - start
                figures["before_mb"] = base
            finally:
                library.close()
    elif operation == "libimport":
        # `exoref import refs.bib` into a new library, timed three times in new libraries:
        # `stored_seconds` is BibliographyService.import_file without tagging (read the file
        # in a separate process, store every entry with its authors and tags, index it for
        # search, commit in batches of savepoint-atomic entries); `bib_seconds` the same with
        # the new papers' tag suggestions (worker processes, while entries are stored);
        # `seconds` is ImportService.import_paths, what the command runs after opening the
        # library
        from exoref.services.bibliography import BibliographyService
        from exoref.services.importer import ImportService
        from exoref.services.library import Library

        with tempfile.TemporaryDirectory() as tmp:
            library = Library.open(Path(tmp) / "lib")
            try:
                start = time.perf_counter()
                BibliographyService(library).import_file(Path(path), tag=False)
                figures["stored_seconds"] = time.perf_counter() - start
            finally:
                library.close()
        with tempfile.TemporaryDirectory() as tmp:
            library = Library.open(Path(tmp) / "lib")
            try:
                start = time.perf_counter()
                results = BibliographyService(library).import_file(Path(path))
                figures["bib_seconds"] = time.perf_counter() - start
                figures["bib_added"] = sum(r.status == "added" for r in results)
            finally:
                library.close()
        figures["bib_peak_mb"] = peak_mb()
        with tempfile.TemporaryDirectory() as tmp:
            library = Library.open(Path(tmp) / "lib")
            try:
                start = time.perf_counter()
                results = ImportService(library).import_paths([Path(path)])
                figures["seconds"] = time.perf_counter() - start
                figures["added"] = sum(r.status == "added" for r in results)
            finally:
                library.close()
    figures["peak_mb"] = peak_mb()
    print(json.dumps(figures))


def measure(operation: str, count: int, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", operation, str(count), str(path)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--library-sizes", type=int, nargs="*", default=[10_000],
                        help="sizes for the export-from-a-library measurement")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        operation, count, path = args.child
        child(operation, int(count), path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            bib = Path(tmp) / f"gen-{count}.bib"
            measure("write", count, bib)
            size_mb = bib.stat().st_size / 1e6
            export = measure("export", count, bib)
            imported = measure("import", count, bib)
            print(f"{count:>7} entries ({size_mb:.1f} MB .bib)")
            seconds = export["seconds"]
            note = ""
            if "generate_seconds" in export:
                seconds -= export["generate_seconds"]
                note = (f"; streamed to a file, generating the references "
                        f"({export['generate_seconds']:.2f} s) subtracted")
            print(f"   export  (write_bibtex):           {seconds:6.2f} s   "
                  f"{count / seconds:8.0f} entries/s   peak {export['peak_mb']:6.0f} MB "
                  f"(interpreter {export['baseline_mb']:.0f} MB, with the references "
                  f"{export['refs_mb']:.0f} MB{note})")
            print(f"   import  (read + parse + decode):  {imported['seconds']:6.2f} s   "
                  f"{count / imported['seconds']:8.0f} entries/s   "
                  f"peak {imported['peak_mb']:6.0f} MB "
                  f"(interpreter {imported['baseline_mb']:.0f} MB; {imported['entries']:.0f} read, "
                  f"{imported['problems']:.0f} problems)")
            if count in args.library_sizes:
                into = measure("libimport", count, bib)
                print(f"   import into a library, untagged:  {into['stored_seconds']:6.2f} s   "
                      f"{count / into['stored_seconds']:8.0f} entries/s   "
                      "(BibliographyService.import_file(tag=False) into a new library: read, "
                      "store with authors and tags, index, commit)")
                print(f"   import into a library (bib):      {into['bib_seconds']:6.2f} s   "
                      f"{count / into['bib_seconds']:8.0f} entries/s   peak "
                      f"{into['bib_peak_mb']:6.0f} MB ({into['bib_added']:.0f} added; "
                      "the same, and the new papers tagged from their text)")
                print(f"   exoref import into a library:     {into['seconds']:6.2f} s   "
                      f"{count / into['seconds']:8.0f} entries/s   peak "
                      f"{into['peak_mb']:6.0f} MB ({into['added']:.0f} added; "
                      "ImportService.import_paths: the above and the import service's "
                      "steps after it)")
                lib = measure("library", count, bib)
                print(f"   export from a library (service):  {lib['seconds']:6.2f} s   "
                      f"{count / lib['seconds']:8.0f} entries/s   peak {lib['peak_mb']:6.0f} MB "
                      f"({lib['before_mb']:.0f} MB before; storing the references first took "
                      f"{lib['store_seconds']:.1f} s)")
    print("targets: export 10,000 <= 1 s; import 10,000 <= 5 s; peak <= 500 MB at 100,000")


if __name__ == "__main__":
    main()
