"""The managed copies of files under the library's ``files/`` folder."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from typing import TYPE_CHECKING

from exoref.domain.text import safe_filename

if TYPE_CHECKING:
    from pathlib import Path

_CHUNK = 1024 * 1024
#: Names Windows keeps for devices whatever the extension: a library copied or synced to
#: Windows could not hold ``CON.pdf`` or ``nul.pdf``.
WINDOWS_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10))]
)


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy_into(source: Path, fd: int) -> None:
    """Copy ``source`` into the open descriptor ``fd`` (closed afterwards), in the kernel
    where it can (``sendfile``: no trip through Python buffers)."""
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        size = os.fstat(src.fileno()).st_size
        try:
            offset = 0
            while offset < size:
                sent = os.sendfile(out.fileno(), src.fileno(), offset, size - offset)
                if sent == 0:
                    break
                offset += sent
            if offset == size:
                return
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EXDEV):
                raise
        src.seek(0)
        out.seek(0)
        out.truncate()
        shutil.copyfileobj(src, out, _CHUNK)


def copy_in(source: Path, files_dir: Path, stem: str, *, suffix: str = ".pdf") -> Path:
    """Copy ``source`` into ``files_dir`` under a new, unique, readable name.

    The name is claimed with ``O_EXCL`` so that two processes importing at once never write
    the same file; the user's file is only read.  On any failure the partial copy is removed.
    """
    files_dir.mkdir(parents=True, exist_ok=True)
    name = safe_filename(stem, suffix=suffix)
    base = name[: -len(suffix)]
    head, dot, rest = base.partition(".")
    if head.upper() in WINDOWS_DEVICE_NAMES:  # "CON.pdf" is the console on Windows
        base = f"{head}_{dot}{rest}"
        name = base + suffix
    for n in range(1, 10_000):
        candidate = files_dir / (name if n == 1 else f"{base}_{n}{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            _copy_into(source, fd)
        except BaseException:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise FileExistsError(f"no free file name for {stem!r} in {files_dir}")


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (its entries: a rename) to the disk; folders cannot be
    opened on every platform, which is then accepted."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)
