"""Keeping the library safe: ``exoref backup``, ``exoref restore`` and
``exoref export-library`` (BibTeX plus the PDFs, for another tool)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from exoref.cli.common import EXIT_FAILED, EXIT_OK, Register, open_library, print_json
from exoref.paths import LibraryPaths, resolve_library_dir

if TYPE_CHECKING:
    import argparse


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.backup import BackupService

    with open_library(args) as library:
        service = BackupService(library)
        if args.list:
            backups = service.list()
            if args.json:
                print_json([b.to_json() for b in backups], out)
            else:
                if not backups:
                    out.write("no backups yet\n")
                for b in backups:
                    papers = "?" if b.papers is None else str(b.papers)
                    out.write(f"{b.created:%Y-%m-%d %H:%M:%S}  {b.kind:<9} {papers:>7} papers"
                              f"  {b.path.name}\n")
            return EXIT_OK
        info = service.create()
    if args.json:
        print_json(info.to_json(), out)
    else:
        out.write(f"backed up {info.papers} papers to {info.path}\n")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.backup import BackupService

    # By paths, not an open library: a library too damaged to open can be restored too.
    service = BackupService(LibraryPaths(resolve_library_dir(args.library)))
    report = service.restore(service.find(args.which))
    if args.json:
        print_json(report.to_json(), out)
    else:
        out.write(f"restored {report.restored.path.name}: {report.papers} papers\n")
        if report.undo is not None:
            out.write(f"to undo: exoref restore {report.undo.path.name}\n")
        if report.brought_back:
            out.write(f"{len(report.brought_back)} files brought back\n")
        if report.set_aside and report.set_aside_dir is not None:
            out.write(f"{len(report.set_aside)} files the backup does not know were moved to "
                      f"{report.set_aside_dir}\n")
        for missing in report.missing_files:
            out.write(f"missing file: {missing}\n")
        for problem in report.check.problems:
            out.write(f"problem: {problem}\n")
    return EXIT_OK if not report.missing_files else EXIT_FAILED


def cmd_export_library(args: argparse.Namespace, out: TextIO) -> int:
    from exoref.services.archive import export_library

    with open_library(args) as library:
        report = export_library(library, Path(args.dest), as_zip=args.zip)
    if args.json:
        print_json(report.to_json(), out)
    else:
        out.write(f"wrote {report.papers} papers and {report.files} PDFs to {report.dest}\n")
        for missing in report.missing_files:
            out.write(f"left out (file missing): {missing}\n")
    return EXIT_OK


def register(command: Register) -> None:
    p = command("backup", cmd_backup, "back up the library database now (or list backups)")
    p.add_argument("--list", action="store_true", help="list the backups, newest first")

    p = command("restore", cmd_restore, "restore a backup (the current state is backed up "
                                        "first, so a restore can be undone)")
    p.add_argument("which", metavar="BACKUP",
                   help="'latest', a name from `exoref backup --list`, or a path")

    p = command("export-library", cmd_export_library,
                "export the whole library (BibTeX with file fields, plus the PDFs) for "
                "another tool")
    p.add_argument("dest", metavar="DEST", help="a new folder, or a .zip file with --zip")
    p.add_argument("--zip", action="store_true", help="write one zip file")
