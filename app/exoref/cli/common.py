"""What every ``exoref`` command shares: exit codes, output helpers, opening the library."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from exoref.paths import resolve_library_dir

if TYPE_CHECKING:

    from exoref.domain.models import Reference

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: ``command(name, func, help)`` adds a sub-command and returns its parser.
CommandFn = Callable[[argparse.Namespace, TextIO], int]
Register = Callable[[str, CommandFn, str], argparse.ArgumentParser]


# -- output helpers ----------------------------------------------------------------------------


def print_json(data: object, out: TextIO) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")


def short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def line(ref: Reference, width: int) -> str:
    author = ref.authors[0].family if ref.authors else ""
    if len(ref.authors) > 1:
        author += " et al."
    year = ref.year or ""
    head = f"{ref.id:>6}  {ref.citekey or '':<24.24} {year:>4}  {short(author, 18):<18}  "
    return head + short(ref.title or "(untitled)", max(20, width - len(head)))


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 20)).columns


class Progress:
    """A one-line progress bar on a terminal (stderr); silent when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        width = 28
        filled = int(width * done / total) if total else width
        rate = done / max(now - self.start, 1e-6)
        label = short(label, max(10, terminal_width() - width - 30))
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:5.1f}/s {label}\x1b[K"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def open_library(args: argparse.Namespace, *, create: bool = False) -> Any:
    """Open the library; the daily backup is taken here when one is due (cheap otherwise)."""
    from exoref.errors import ExorefError
    from exoref.services.backup import BackupService
    from exoref.services.library import Library

    library = Library.open(resolve_library_dir(args.library), create=create)
    try:
        BackupService(library).automatic_daily()
    except ExorefError as exc:  # a backup problem must not stop the command
        sys.stderr.write(f"exoref: warning: no daily backup: {exc}\n")
    return library


