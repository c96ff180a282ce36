"""Completing and cleaning the library: ``exoref lookup``, ``exoref duplicates`` and
``exoref watch``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from exoref.cli.common import EXIT_FAILED, EXIT_OK, Progress, Register, open_library, print_json
from exoref.errors import UsageError

if TYPE_CHECKING:
    import argparse


def cmd_lookup(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.lookup import LookupOutcome, LookupService
    from exoref.services.papers import PaperService

    if args.ids and (args.missing or args.queue):
        raise UsageError("exoref lookup takes papers, or --missing/--queue, not both.")
    if not args.ids and not (args.missing or args.queue):
        raise UsageError("exoref lookup needs papers (ID...), --missing or --queue.")
    with open_library(args) as library:
        service = LookupService(library)
        try:
            if args.ids:
                papers = PaperService(library)
                ids = [papers.get(i).id for i in args.ids]
                outcomes = [service.lookup(int(i)) for i in ids if i is not None]
            else:
                if args.missing:
                    service.enqueue_missing()
                progress = Progress(sys.stderr) if not args.json else None

                def show(outcome: LookupOutcome, done: int, total: int) -> None:
                    if progress is not None:
                        progress(done, total, f"paper {outcome.paper_id}")

                outcomes = service.run_queue(progress=show)
            waiting = service.waiting()
        finally:
            service.close()
    if args.json:
        print_json({"outcomes": [o.to_json() for o in outcomes], "waiting": waiting}, out)
    else:
        for o in outcomes:
            detail = ", ".join(o.changed) if o.changed else o.message
            out.write(f"{o.paper_id:>6}  {o.status:<10} {detail}\n")
        if waiting:
            out.write(f"{waiting} lookups wait for the services (`exoref lookup --queue` "
                      "tries again)\n")
    failed = any(o.status in ("not_found", "failed") for o in outcomes)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_duplicates(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.duplicates import DuplicateService
    from exoref.services.papers import PaperService

    with open_library(args) as library:
        service = DuplicateService(library)
        if args.undo is not None:
            entry = service.undo(None if args.undo == "last" else int(args.undo))
            out.write(f"undid merge {entry.merge_id}: papers {entry.kept}, "
                      f"{', '.join(map(str, entry.merged))} are back\n")
            return EXIT_OK
        groups = service.find()
        if args.merge:
            results = service.merge_groups(groups)
            if args.json:
                print_json([r.to_json() for r in results], out)
            else:
                for r in results:
                    out.write(f"merged {', '.join(map(str, r.merged))} into {r.kept} "
                              f"(merge {r.merge_id}; undo: exoref duplicates --undo "
                              f"{r.merge_id})\n")
                out.write(f"{len(results)} groups merged\n")
            return EXIT_OK
        papers = PaperService(library)
        if args.json:
            print_json([{"ids": list(g.ids), "matches": [
                {"a": m.a, "b": m.b, "kind": str(m.kind), "score": round(m.score, 1),
                 "reason": m.reason} for m in g.matches]} for g in groups], out)
        else:
            for g in groups:
                out.write(f"{len(g.ids)} papers: {g.matches[0].reason if g.matches else ''}\n")
                for ref in papers.get_many(list(g.ids)):
                    out.write(f"  {ref.id:>6}  {ref.year or '':>4}  {ref.title[:80]}\n")
            out.write(f"{len(groups)} groups of duplicates"
                      + (" (exoref duplicates --merge merges them all)\n" if groups else "\n"))
    return EXIT_OK


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.watch import Arrival, WatchService

    folders = [Path(d) for d in args.dirs]
    missing = [str(d) for d in folders if not d.is_dir()]
    if missing:
        raise UsageError(f"Not a folder: {', '.join(missing)}.")
    with open_library(args, create=True) as library:
        service = WatchService(library, folders, tag_subfolders=not args.no_subfolder_tags,
                               settle=0.0 if args.once else 2.0)

        def show(arrival: Arrival) -> None:
            r = arrival.result
            tags = f" [{', '.join(arrival.tags)}]" if arrival.tags else ""
            out.write(f"{r.status:<9} {arrival.path}{tags}"
                      + (f": {r.reason}" if r.status == "failed" else "") + "\n")
            out.flush()

        if args.once:
            for arrival in service.scan():
                show(arrival)
            return EXIT_OK
        out.write(f"watching {', '.join(str(f) for f in folders)} (Ctrl+C stops)\n")
        out.flush()
        service.run(args.interval, on_arrival=show)
    return EXIT_OK


def register(command: Register) -> None:
    p = command("lookup", cmd_lookup, "complete records online (Crossref, PubMed, PMC) from "
                                      "their DOI, PMID, PMCID, arXiv id or title")
    p.add_argument("ids", nargs="*", metavar="ID|CITEKEY")
    p.add_argument("--missing", action="store_true",
                   help="queue every paper with missing fields, then look them up")
    p.add_argument("--queue", action="store_true", help="look up the papers waiting in the queue")

    p = command("duplicates", cmd_duplicates, "find duplicate papers; merge them (undoable)")
    p.add_argument("--merge", action="store_true",
                   help="merge every group into its paper with files (a backup is taken)")
    p.add_argument("--undo", nargs="?", const="last", metavar="MERGE",
                   help="undo a merge (the last one by default)")

    p = command("watch", cmd_watch, "import PDFs that appear in folders (and subfolders)")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--once", action="store_true", help="scan once and exit")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between scans")
    p.add_argument("--no-subfolder-tags", action="store_true",
                   help="do not turn subfolder names into tags")
