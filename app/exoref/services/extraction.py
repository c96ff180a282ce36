"""The work done on one file inside a worker process: hash it, sniff it, extract it.

Kept lean on purpose: the worker processes import this module and PyMuPDF, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exoref.errors import UnreadableFileError
from exoref.formats.pdf import PdfExtraction, extract_pdf, looks_like_pdf
from exoref.storage.files import sha256_of


@dataclass(slots=True)
class FileFacts:
    """What a worker learnt about one file; ``error`` set when it cannot be imported."""

    path: str
    sha256: str
    size: int
    is_pdf: bool
    extraction: PdfExtraction | None = None
    error: str | None = None


def examine(path_str: str) -> FileFacts:
    path = Path(path_str)
    try:
        sha, size = sha256_of(path)
    except OSError as exc:
        return FileFacts(path_str, "", 0, False, error=f"cannot read it: {exc.strerror or exc}")
    if size == 0:
        return FileFacts(path_str, sha, 0, False, error="empty file")
    if not looks_like_pdf(path):
        return FileFacts(path_str, sha, size, False, error="not a PDF (no %PDF header)")
    try:
        extraction = extract_pdf(path)
    except UnreadableFileError as exc:
        return FileFacts(path_str, sha, size, True, error=exc.user_message)
    return FileFacts(path_str, sha, size, True, extraction=extraction)
