"""First-page thumbnails of attachments, as PNG bytes cached under the library's ``cache/``.

The cache is keyed by the file's SHA-256 and the width, so a thumbnail is rendered once per
file and survives renames; deleting ``cache/`` is always safe.  No Qt here: the window turns
the bytes into a pixmap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from exoref.domain.models import Attachment
    from exoref.services.library import Library

log = logging.getLogger("exoref.thumbnails")

CACHE_DIR = "cache"
THUMBNAILS_DIR = "thumbnails"
DEFAULT_WIDTH = 240


class ThumbnailService:
    def __init__(self, library: Library) -> None:
        self.library = library

    @property
    def cache_dir(self) -> Path:
        return self.library.paths.root / CACHE_DIR / THUMBNAILS_DIR

    def first_page(self, attachment: Attachment, *, width: int = DEFAULT_WIDTH) -> bytes | None:
        """The first page of ``attachment`` as a PNG ``width`` pixels wide, or ``None`` when
        the file is missing or cannot be rendered (the reason is logged)."""
        cached = self.cache_dir / f"{attachment.sha256}-{width}.png"
        with contextlib.suppress(OSError):
            return cached.read_bytes()
        try:
            source = self.library.paths.attachment(attachment.path)
        except ValueError:
            log.warning("attachment outside the library: %s", attachment.path)
            return None
        data = render_first_page(source, width)
        if data is not None:
            _write_atomically(cached, data)
        return data


def render_first_page(path: Path, width: int) -> bytes | None:
    import pymupdf  # imported here: the window starts without PyMuPDF

    mupdf: Any = pymupdf  # PyMuPDF's own annotations are partial
    try:
        with mupdf.open(path) as doc:
            if doc.needs_pass or doc.page_count == 0:
                return None
            page = doc[0]
            zoom = width / max(page.rect.width, 1.0)
            pix = page.get_pixmap(matrix=mupdf.Matrix(zoom, zoom), alpha=False)
            return bytes(pix.tobytes("png"))
    except Exception as exc:  # PyMuPDF raises plain RuntimeErrors for broken files
        log.info("no thumbnail for %s: %s", path, exc)
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError as exc:  # a read-only library still shows thumbnails, uncached
        log.info("cannot cache thumbnail %s: %s", target, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
