"""The whole library in a form another tool reads: ``exoref export-library``.

What is written (into a new folder, or a ``.zip`` holding one folder of the same name):

* ``library.bib``: every paper not in the trash, through the same BibTeX writer as
  ``exoref export``, each with a ``file`` field in JabRef's form ``{:files/<key>.pdf:PDF}``
  (description, path, type; several joined by ``;``).  Zotero's BibTeX import reads the same
  three-part form and, like JabRef and ExoRef, resolves a relative path against the folder of
  the ``.bib`` file; a ``jabref-meta: fileDirectory`` comment tells JabRef so explicitly, in
  case its preferences point elsewhere;
* ``files/``: the PDFs, named after the citation key (``smith2020exosomes.pdf``, then
  ``smith2020exosomes-2.pdf`` for a second file): ASCII, no separators, unique even on a file
  system that ignores case;
* ``README.txt``: what is where, and how to open it in JabRef, Zotero or ExoRef.

Nothing is ever written under the final name until it is complete: a folder export is built in
a hidden folder beside the destination and renamed, a zip export is written to a hidden
temporary file and renamed.  A full disk (or any failure) removes what was written and says
where space ran out; the library is only read.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from exoref import __version__
from exoref.domain.text import safe_filename
from exoref.errors import DiskFullError, ExorefError, LibraryError, UsageError
from exoref.formats.bibtex import iter_bibtex_text
from exoref.services.bibliography import BibliographyService
from exoref.storage.database import now
from exoref.storage.files import fsync_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exoref.domain.models import Reference
    from exoref.services.library import Library

log = logging.getLogger("exoref.export")

BIB_NAME = "library.bib"
README_NAME = "README.txt"
FILES_DIR = "files"
_PART = ".exoref-export-"


@dataclass(slots=True)
class ArchiveReport:
    dest: Path
    as_zip: bool
    papers: int = 0
    files: int = 0
    bytes: int = 0
    #: attachments (relative to the library) whose managed file is not there: left out
    missing_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "dest": str(self.dest),
            "zip": self.as_zip,
            "papers": self.papers,
            "files": self.files,
            "bytes": self.bytes,
            "missing_files": self.missing_files,
        }


def export_library(library: Library, dest: Path, *, as_zip: bool) -> ArchiveReport:
    """Write the whole library (BibTeX, PDFs, README) to ``dest``: a new or empty folder, or,
    with ``as_zip``, a new ``.zip`` file.  Refuses to overwrite anything."""
    dest = Path(dest).expanduser().absolute()
    files_dir = library.paths.files.resolve()
    if dest.resolve() == files_dir or files_dir in dest.resolve().parents:
        raise UsageError(f"{dest} is inside the library's own files folder.",
                         hint="choose a folder outside the library")
    if as_zip:
        if dest.exists():
            raise UsageError(f"{dest} already exists; ExoRef does not overwrite it.",
                             hint="choose a new file name for the archive")
    elif dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} is not an empty folder; ExoRef exports into a new one.",
                         hint="choose a new folder name")
    report = ArchiveReport(dest, as_zip)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if as_zip:
            _export_zip(library, dest, report)
        else:
            _export_folder(library, dest, report)
    except OSError as exc:
        translated = _error(exc, dest)
        if translated is None:
            raise
        raise translated from exc
    log.info("exported %d papers and %d files (%d bytes) to %s", report.papers, report.files,
             report.bytes, dest)
    return report


def _export_folder(library: Library, dest: Path, report: ArchiveReport) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f"{_PART}{dest.name}-", dir=dest.parent))
    try:
        (staging / FILES_DIR).mkdir()

        def add_file(source: Path, relative: str) -> int:
            shutil.copyfile(source, staging / relative)
            return (staging / relative).stat().st_size

        with (staging / BIB_NAME).open("w", encoding="utf-8", newline="\n") as bib:
            _write_bibliography(library, bib, add_file, report)
        (staging / README_NAME).write_text(_readme(library, report), encoding="utf-8")
        if dest.exists():
            dest.rmdir()  # empty (checked above); a rename does not replace a folder everywhere
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _export_zip(library: Library, dest: Path, report: ArchiveReport) -> None:
    top = safe_filename(dest.stem, suffix="") or "exoref-library"
    fd, tmp_name = tempfile.mkstemp(prefix=_PART, suffix=".zip", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True, strict_timestamps=False) as archive, \
                tempfile.TemporaryFile("w+b", dir=dest.parent) as spool:

            def add_file(source: Path, relative: str) -> int:
                # PDFs are compressed already: stored as they are
                archive.write(source, f"{top}/{relative}", compress_type=zipfile.ZIP_STORED)
                return source.stat().st_size

            # A zip takes one member at a time: the .bib is spooled while the PDFs go in.
            bib = io.TextIOWrapper(spool, encoding="utf-8", newline="\n")
            _write_bibliography(library, bib, add_file, report)
            bib.flush()
            bib.detach()  # the spool stays open
            spool.seek(0)
            with archive.open(_member(top, BIB_NAME), "w", force_zip64=True) as member:
                shutil.copyfileobj(spool, member, 1024 * 1024)
            archive.writestr(_member(top, README_NAME), _readme(library, report),
                             compress_type=zipfile.ZIP_DEFLATED)
        fsync_path(tmp)
        if dest.exists():
            raise FileExistsError(errno.EEXIST, "appeared while exporting", str(dest))
        os.replace(tmp, dest)
        fsync_path(dest.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _member(top: str, name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{top}/{name}", date_time=now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_bibliography(
    library: Library,
    bib: IO[str],
    add_file: Callable[[Path, str], int],
    report: ArchiveReport,
) -> None:
    """Write ``library.bib`` while copying each paper's files in with their new names."""
    taken: set[str] = set()

    def references() -> Iterator[Reference]:
        for ref in BibliographyService(library).iter_references():
            report.papers += 1
            attachments = []
            for att in ref.attachments:
                try:
                    source = library.paths.attachment(att.path)
                except ValueError:
                    report.missing_files.append(att.path)
                    continue
                if not source.is_file():
                    report.missing_files.append(att.path)
                    continue
                suffix = Path(att.path).suffix.lower() or ".pdf"
                name = _unique_name(ref.citekey or "paper", suffix, taken)
                report.bytes += add_file(source, f"{FILES_DIR}/{name}")
                report.files += 1
                # JabRef's description:path:type, which Zotero reads too
                attachments.append(replace(att, path=f":{FILES_DIR}/{name}:{suffix[1:].upper()}"))
            yield replace(ref, attachments=attachments)

    bib.write("% Encoding: UTF-8\n")
    bib.write(f"% The whole ExoRef library, exported {now():%Y-%m-%d %H:%M} UTC: every paper not "
              "in the trash.\n% The PDFs are in files/ beside this file (see README.txt).\n\n")
    for piece in iter_bibtex_text(references(), include_file=True, file_root=None,
                                  pattern=library.setting("citekey_pattern")):
        bib.write(piece)
    bib.write("\n@Comment{jabref-meta: fileDirectory:.;}\n")


def _unique_name(citekey: str, suffix: str, taken: set[str]) -> str:
    """``<citekey><suffix>``, made file-system safe and unique (ignoring case)."""
    name = safe_filename(citekey, suffix=suffix)
    stem = name[: -len(suffix)] if suffix else name
    counter = 1
    while name.casefold() in taken:
        counter += 1
        name = f"{stem}-{counter}{suffix}"
    taken.add(name.casefold())
    return name


def _readme(library: Library, report: ArchiveReport) -> str:
    lines = [
        "ExoRef library export",
        "=====================",
        "",
        f"Written by ExoRef {__version__} on {now():%Y-%m-%d %H:%M} UTC",
        f"from the library {library.paths.root}.",
        "",
        "What is here",
        "------------",
        f"{BIB_NAME}   {report.papers} references: every paper that was not in the trash,",
        "              in BibTeX (non-ASCII characters as LaTeX escapes, tags in the",
        "              keywords field, notes in annote).",
        f"{FILES_DIR}/        {report.files} files, named after the citation key of their paper",
        "              (smith2020exosomes.pdf; a second file of one paper gets -2, -3, ...).",
        f"{README_NAME}    this file.",
        "",
        "An entry with a file has a field in the form JabRef writes:",
        "    file = {:files/smith2020exosomes.pdf:PDF}",
        f"The path is relative to the folder holding {BIB_NAME}: keep {BIB_NAME} and",
        f"{FILES_DIR}/ together when you move them.",
        "",
        "Opening it elsewhere",
        "--------------------",
        f"JabRef   open {BIB_NAME} as a library. A comment at its end names its own folder",
        "         as the file directory, so the links resolve wherever the folder is.",
        f"Zotero   File > Import..., choose {BIB_NAME}. Zotero resolves the relative file",
        "         paths against the folder of the .bib file and attaches the PDFs.",
        f"ExoRef   exoref import {BIB_NAME} --library NEW-LIBRARY-FOLDER",
        "         (the PDFs are copied into the new library).",
        f"LaTeX    use {BIB_NAME} with BibTeX, biber or Pandoc as any .bib file.",
    ]
    if report.missing_files:
        lines += [
            "",
            "Left out",
            "--------",
            f"{len(report.missing_files)} file(s) the library lists were missing from its "
            "files/ folder when this was written:",
            *(f"    {path}" for path in report.missing_files),
        ]
    return "\n".join(lines) + "\n"


def _error(exc: OSError, dest: Path) -> ExorefError | None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(
            f"No space left on the disk holding {dest.parent}; the export was not written.",
            hint="free some space or choose another place; what was written has been removed "
            "and the library was not changed",
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return LibraryError(
            f"Cannot write the export into {dest.parent}: the folder is read-only.",
            hint="choose a folder you can write to",
        )
    if exc.errno == errno.EEXIST:
        return UsageError(f"{dest} appeared while the export was written; it was left alone.",
                          hint="choose a new name")
    return None
