"""Watch folders: PDFs that appear in folders the user names are imported on their own.

A scan walks each folder (subfolders too), takes the files it has not seen before (by path,
size and modification time, remembered in ``watch.json`` in the library folder) and imports
those that have stopped growing (a file still being downloaded or copied is left for the next
scan).  Subfolder names can become tags: with ``tag_subfolders`` a PDF in
``Inbox/osteoarthritis/`` gets the tag "osteoarthritis" (of the vocabulary when the name is
one of its labels, else a free tag).  Scanning is polling, not inotify: it works the same on
network shares and needs nothing from Qt; the window runs it on a timer, ``exoref watch`` in a
loop.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exoref.domain.models import Tag, TagKind
from exoref.paths import read_json_object, write_json_atomically
from exoref.services.importer import ImportResult, ImportService

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from exoref.services.library import Library

log = logging.getLogger("exoref.watch")

STATE_FILE = "watch.json"
#: A file whose size and time have not changed for this long is complete.
SETTLE_SECONDS = 2.0
_PDF_MAGIC = b"%PDF"


@dataclass(slots=True)
class Arrival:
    path: str
    result: ImportResult
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class WatchState:
    """What a scan has seen: path -> [size, mtime_ns]."""

    seen: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WatchState:
        seen = read_json_object(path).get("seen")
        return cls({str(k): list(v) for k, v in seen.items()} if isinstance(seen, dict) else {})

    def save(self, path: Path) -> None:
        write_json_atomically(path, {"seen": self.seen}, indent=None)


class WatchService:
    def __init__(
        self,
        library: Library,
        folders: Sequence[Path],
        *,
        tag_subfolders: bool = True,
        settle: float = SETTLE_SECONDS,
        processes: int | None = None,
    ) -> None:
        self.library = library
        self.folders = [Path(f).expanduser().resolve() for f in folders]
        self.tag_subfolders = tag_subfolders
        self.settle = settle
        self.processes = processes
        self.state_path = library.paths.root / STATE_FILE
        self._pending: dict[str, tuple[int, int, float]] = {}

    def scan(self) -> list[Arrival]:
        """One pass: import what arrived and has settled since the last pass."""
        state = WatchState.load(self.state_path)
        ready: list[tuple[Path, Path]] = []
        now = time.monotonic()
        for root in self.folders:
            if not root.is_dir():
                log.warning("watch folder %s is not there", root)
                continue
            for path in _pdfs(root):
                key = str(path)
                try:
                    st = path.stat()
                except OSError:
                    continue
                mark = [st.st_size, st.st_mtime_ns]
                if state.seen.get(key) == mark:
                    continue
                before = self._pending.get(key)
                if before is None or (before[0], before[1]) != (st.st_size, st.st_mtime_ns):
                    self._pending[key] = (st.st_size, st.st_mtime_ns, now)
                    if self.settle > 0:
                        continue
                elif now - before[2] < self.settle:
                    continue
                ready.append((root, path))
        arrivals: list[Arrival] = []
        if not ready:
            return arrivals
        results = ImportService(self.library, processes=self.processes).import_paths(
            [p for _root, p in ready])
        by_path = {r.path: r for r in results}
        for root, path in ready:
            result = by_path.get(str(path))
            if result is None:
                continue
            tags = self._subfolder_tags(root, path)
            if tags and result.id is not None and result.status in ("added", "duplicate"):
                from exoref.services.papers import PaperService

                PaperService(self.library).update_tags(result.id, add=tags)
            arrivals.append(Arrival(str(path), result, [t.name for t in tags]))
            self._pending.pop(str(path), None)
            try:
                st = path.stat()
                state.seen[str(path)] = [st.st_size, st.st_mtime_ns]
            except OSError:
                pass
        state.save(self.state_path)
        return arrivals

    def run(
        self,
        interval: float = 5.0,
        *,
        on_arrival: Callable[[Arrival], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Scan every ``interval`` seconds until ``stop()`` says so."""
        while not (stop is not None and stop()):
            for arrival in self.scan():
                if on_arrival is not None:
                    on_arrival(arrival)
            time.sleep(interval)

    def _subfolder_tags(self, root: Path, path: Path) -> list[Tag]:
        if not self.tag_subfolders:
            return []
        parts = path.relative_to(root).parts[:-1]
        if not parts:
            return []
        from exoref.services.tagging import TaggingService

        known: dict[str, Tag] = {}
        try:
            for concept in TaggingService(self.library).vocabulary().concepts.values():
                tag = Tag(concept.label, TagKind(concept.group))
                known[concept.label.casefold()] = tag
                known.setdefault(concept.id.casefold(), tag)
        except Exception as exc:  # the vocabulary is a convenience here, never a blocker
            log.warning("vocabulary unavailable for subfolder tags: %s", exc)
        tags = []
        for name in parts:
            label = name.replace("_", " ").strip()
            if label:
                tags.append(known.get(name.casefold()) or known.get(label.casefold())
                            or Tag(label, TagKind.FREE))
        return tags


def _pdfs(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if name.lower().endswith(".pdf") or _looks_like_pdf(path):
                found.append(path)
    return sorted(found)


def _looks_like_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(1024).lstrip().startswith(_PDF_MAGIC)
    except OSError:
        return False
