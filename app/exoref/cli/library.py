"""Commands on the library itself: import, search, list, show, tag, stats, export, rekey,
check, and ``gui`` which opens the window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from exoref import APP_NAME, __version__
from exoref.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Progress,
    Register,
    line,
    open_library,
    print_json,
    short,
    terminal_width,
)
from exoref.errors import ExorefError, UsageError
from exoref.paths import ENV_LIBRARY, resolve_library_dir

if TYPE_CHECKING:
    import argparse

log = logging.getLogger("exoref.cli")


def cmd_overview(args: argparse.Namespace, out: TextIO) -> int:
    root = resolve_library_dir(args.library)
    out.write(f"{APP_NAME} {__version__}: a reference manager for MSC-derived exosome therapy.\n\n")
    out.write(f"Library: {root}\n")
    if (root / "exoref.sqlite").exists():
        from exoref.services.papers import PaperService

        with open_library(args) as library:
            stats = PaperService(library).stats()
        out.write(f"  {stats.papers} papers, {stats.files} files, {stats.with_text} with text\n")
    else:
        out.write("  (empty: `exoref import PATH...` creates it)\n")
    out.write(
        "\nCommands:\n"
        "  exoref import PATH...         add PDFs, folders, .bib/.ris/CSL-JSON files\n"
        "  exoref search QUERY           search metadata and full text\n"
        "  exoref list [--tag T]         list papers\n"
        "  exoref show ID|CITEKEY        one paper in full\n"
        "  exoref tag add|remove ID TAG  tag papers\n"
        "  exoref tag suggest ID         suggested tags with their evidence\n"
        "  exoref tag auto ID...|--all   apply suggestions above the threshold\n"
        "  exoref vocab list             the indication / MSC source / study type vocabulary\n"
        "  exoref lookup ID|--missing    complete records online (Crossref, PubMed)\n"
        "  exoref duplicates [--merge]   find and merge duplicates (--undo)\n"
        "  exoref watch DIR...           import PDFs that appear in folders\n"
        "  exoref backup | restore B     back up the database, restore a backup\n"
        "  exoref export-library DEST    BibTeX plus the PDFs, for another tool\n"
        "  exoref stats                  counts\n"
        "  exoref check [--repair]       verify the library\n"
        "  exoref export [-o FILE]       BibTeX (--biblatex, --format ris|csljson)\n"
        "  exoref rekey ID...|--all      remake citation keys\n"
        "  exoref gui                    open the window\n"
        "\nQuery syntax: words, \"exact phrase\", AND / OR / NOT, -word, title: author:\n"
        "journal: doi: tag: year:2019 year:2018..2021, prefix*.\n"
        f"Every command takes --library DIR (or ${ENV_LIBRARY}) and --json.\n"
    )
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.check import CheckService
    from exoref.services.importer import ImportResult, ImportService

    progress = Progress(sys.stderr) if not args.json else None
    failed = 0
    with open_library(args, create=True) as library:
        CheckService(library).remove_orphan_files()

        def on_result(result: ImportResult, done: int, total: int) -> None:
            nonlocal failed
            failed += result.status == "failed"
            if args.json:
                return
            if result.status != "added" or not (progress and progress.enabled):
                if progress and progress.enabled:
                    sys.stderr.write("\r\x1b[K")
                detail = f" ({result.reason})" if result.reason else ""
                what = f"paper {result.id}" if result.id else ""
                out.write(f"{result.status:<9} {result.path} {what}{detail}\n".replace("  ", " "))
                out.flush()
            if progress:
                progress(done, total, Path(result.path).name)

        service = ImportService(library, processes=args.jobs, timeout=args.timeout)
        results = service.import_paths(args.paths, progress=on_result)
    if args.json:
        print_json([r.to_json() for r in results], out)
    else:
        counts = {s: sum(r.status == s for r in results) for s in ("added", "duplicate", "failed")}
        added, dup, bad = counts["added"], counts["duplicate"], counts["failed"]
        out.write(f"{added} added, {dup} duplicates, {bad} failed\n")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.search import SearchService

    with open_library(args) as library:
        results = SearchService(library).search(
            args.query, fulltext=not args.metadata, limit=args.limit
        )
    if args.json:
        print_json([r.to_json() for r in results], out)
        return EXIT_OK
    width = terminal_width()
    for result in results:
        out.write(line(result.reference, width) + "\n")
        if result.snippet:
            out.write(f"        {short(result.snippet, width - 10)}\n")
    if not results:
        out.write("no matches\n")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.papers import PaperService

    with open_library(args) as library:
        refs = PaperService(library).list_papers(tag=args.tag, sort=args.sort, limit=args.limit)
    if args.json:
        print_json([r.to_json() for r in refs], out)
    else:
        width = terminal_width()
        for ref in refs:
            out.write(line(ref, width) + "\n")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.papers import PaperService

    with open_library(args) as library:
        ref = PaperService(library).get(args.ident)
        root = library.paths.root
    if args.json:
        print_json(ref.to_json(), out)
        return EXIT_OK
    data = ref.to_json()
    out.write(f"{ref.title or '(untitled)'}\n")
    out.write(f"  {'; '.join(a.display() for a in ref.authors) or '(no authors)'}\n\n")
    skip = {"title", "authors", "tags", "files", "abstract"}
    for key, value in data.items():
        if key in skip or value in ("", None, []):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        out.write(f"  {key:<11} {shown}\n")
    if ref.tags:
        out.write(f"  {'tags':<11} {', '.join(f'{t.name} ({t.kind.value})' for t in ref.tags)}\n")
    for att in ref.attachments:
        pages = f", {att.page_count} pages" if att.page_count else ""
        out.write(f"  {'file':<11} {root / att.path}{pages}\n")
    if ref.abstract:
        out.write(f"\n{ref.abstract}\n")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.papers import PaperService

    with open_library(args) as library:
        stats = PaperService(library).stats()
    if args.json:
        print_json(stats.to_json(), out)
        return EXIT_OK
    out.write(
        f"{stats.papers} papers, {stats.files} files ({stats.bytes / 1e6:.1f} MB), "
        f"{stats.with_text} with text, {stats.without_doi} without DOI\n"
    )
    for tag in stats.tags:
        out.write(f"  {tag.count:>6}  {tag.kind.value:<11} {tag.name}\n")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.check import CheckService

    with open_library(args) as library:
        report = CheckService(library).check(repair=args.repair)
    if args.json:
        print_json(report.to_json(), out)
    else:
        for line in report.repaired:
            out.write(f"repaired: {line}\n")
        for line in report.problems:
            out.write(f"problem: {line}\n")
        verdict = "ok" if report.ok else f"{len(report.problems)} problems"
        out.write(f"{report.papers} papers, {report.files} files checked: {verdict}\n")
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.bibliography import BibliographyService

    fmt = "biblatex" if args.biblatex else args.format
    with open_library(args) as library:
        service = BibliographyService(library)
        options: dict[str, Any] = {
            "fmt": fmt,
            "unicode": args.unicode,
            "include_abstract": not args.no_abstract,
            "include_file": args.file,
            "tag": args.tag,
            "query": args.query,
        }
        ids = args.papers or None
        if args.output:
            target = Path(args.output)
            partial = target.with_name(f".{target.name}.part")
            try:
                with partial.open("w", encoding="utf-8", newline="\n") as stream:
                    count = service.export_to(stream, ids, **options)
                partial.replace(target)  # never a half-written .bib under the real name
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise ExorefError(f"Cannot write {target}: {exc.strerror or exc}.") from exc
            sys.stderr.write(f"{count} references written to {target}\n")
        else:
            service.export_to(out, ids, **options)
    return EXIT_OK


def cmd_rekey(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.bibliography import BibliographyService

    if not args.papers and not args.all:
        raise UsageError("exoref rekey needs paper ids or citation keys, or --all.")
    with open_library(args) as library:
        if args.pattern:
            library.set_setting("citekey_pattern", args.pattern)
        changed = BibliographyService(library).rekey(args.papers or None, args.pattern)
    if args.json:
        print_json([{"old": old, "new": new} for old, new in changed], out)
    else:
        for old, new in changed:
            out.write(f"{old} -> {new}\n")
        out.write(f"{len(changed)} citation keys changed\n")
    return EXIT_OK


def cmd_gui(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here, for this command only: every other command runs without loading Qt.
    # This is the one import from the CLI into the GUI that pyproject.toml's contracts allow.
    from exoref.gui.app import run

    return int(run(args.library, screenshot=args.screenshot, verbose=args.verbose))




def register(command: Register) -> None:
    p = command("import", cmd_import,
                "import PDFs, folders (recursively), .bib, .ris and CSL-JSON files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds allowed per file (default 10)")

    p = command("search", cmd_search, "search metadata and full text")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--metadata", action="store_true",
                   help="search metadata only, not the full text")

    p = command("list", cmd_list, "list papers")
    p.add_argument("--tag")
    p.add_argument("--sort", default="added",
                   choices=["added", "year", "title", "citekey", "journal", "id"])
    p.add_argument("--limit", type=int, default=None)

    p = command("show", cmd_show, "show one paper")
    p.add_argument("ident", metavar="ID|CITEKEY")

    command("stats", cmd_stats, "counts of papers, files and tags")

    p = command("export", cmd_export, "export BibTeX, BibLaTeX, RIS or CSL-JSON")
    p.add_argument("papers", nargs="*", metavar="ID|CITEKEY",
                   help="papers to export (default: all, or those of --tag/--query)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--tag", help="only papers with this tag (and its sub-tags)")
    p.add_argument("--query", help="only papers matching this search")
    p.add_argument("--format", default="bibtex", choices=["bibtex", "biblatex", "ris", "csljson"])
    p.add_argument("--biblatex", action="store_true", help="BibLaTeX field names")
    p.add_argument("--unicode", action="store_true", help="raw UTF-8 instead of LaTeX escapes")
    p.add_argument("--no-abstract", action="store_true", help="leave abstracts out")
    p.add_argument("--file", action="store_true", help="add file fields for the PDFs")

    p = command("rekey", cmd_rekey, "remake citation keys from the pattern (the only way "
                                     "keys change)")
    p.add_argument("papers", nargs="*", metavar="ID|CITEKEY")
    p.add_argument("--all", action="store_true", help="every paper in the library")
    p.add_argument("--pattern", help="a new pattern, e.g. [auth][year][title] (also saved)")

    p = command("gui", cmd_gui, "open the desktop window")
    p.add_argument("--screenshot", metavar="FILE", default=None,
                   help="open the window, save it as a PNG once it has loaded, and exit")

    p = command("check", cmd_check, "verify database, files and search index")
    p.add_argument("--repair", action="store_true",
                   help="remove unreferenced files and fix the search index")
