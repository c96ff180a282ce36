"""Changing papers: metadata edits, tags on many papers, the trash.

Every method is one transaction and returns what an undo needs (the old values, the ids), so
the window's undo stack can call the inverse operation.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from exoref.domain.models import TEXT_FIELDS, Author, Reference, Tag
from exoref.errors import NotFoundError, UsageError
from exoref.storage import repository, search_index
from exoref.storage.database import now
from exoref.storage.orm import Paper
from exoref.storage.tagstore import record_user_change

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from exoref.services.library import Library

log = logging.getLogger("exoref.edit")

#: Fields an edit may change, besides the plain text fields.
EDITABLE = frozenset({*TEXT_FIELDS, "year", "authors", "keywords", "trial_ids"})


@dataclass(frozen=True, slots=True)
class TagChange:
    """Which papers really changed, for an exact undo."""

    added: dict[int, list[Tag]]
    removed: dict[int, list[Tag]]


class EditService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def update_fields(self, paper_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` (field → new value); returns the old values of those fields.

        The citation key is never changed here (``rekey`` is the only way).
        """
        unknown = set(changes) - EDITABLE
        if unknown:
            raise UsageError(f"Cannot edit {', '.join(sorted(unknown))}.")
        with self.library.db.write() as session:
            row = self._paper(session, paper_id)
            ref = repository.to_reference(row)
            old = {name: getattr(ref, name) for name in changes}
            for name, value in changes.items():
                setattr(ref, name, _coerce(name, value))
            for name in changes:  # an edited field no longer holds its original LaTeX
                ref.latex.pop(name, None)
            repository.apply_reference(row, ref)
            # A person's value wins over any later lookup (services/lookup.py).
            row.field_sources = {**(row.field_sources or {}), **dict.fromkeys(changes, "user")}
            row.modified = now()
            session.flush()
            repository.reindex(session, row)
        return old

    def change_tags(
        self, ids: Sequence[int], *, add: Sequence[Tag] = (), remove: Sequence[Tag] = ()
    ) -> TagChange:
        """Add and remove tags on many papers at once."""
        added: dict[int, list[Tag]] = {}
        removed: dict[int, list[Tag]] = {}
        with self.library.db.write() as session:
            for pid in ids:
                row = self._paper(session, pid)
                before = {(link.tag.name_key, link.tag.kind) for link in row.tag_links}
                before_ids = {link.tag_id for link in row.tag_links}
                drop = [t for t in remove if (t.name.casefold(), t.kind.value) in before]
                if drop:
                    row.tag_links = [
                        link for link in row.tag_links
                        if (link.tag.name_key, link.tag.kind)
                        not in {(t.name.casefold(), t.kind.value) for t in drop}
                    ]
                    removed[pid] = drop
                new = [t for t in add if (t.name.strip().casefold(), t.kind.value) not in before]
                if new:
                    repository.set_tags(session, row, new)
                    added[pid] = new
                if drop or new:
                    row.modified = now()
                    session.flush()
                    record_user_change(
                        session, pid, before_ids, {link.tag_id for link in row.tag_links})
                    repository.reindex(session, row)
        return TagChange(added, removed)

    def trash(self, ids: Sequence[int]) -> list[int]:
        """Move papers to the trash (files and full text are kept); the ids moved."""
        return self._set_trashed(ids, trashed=True)

    def restore(self, ids: Sequence[int]) -> list[int]:
        return self._set_trashed(ids, trashed=False)

    def empty_trash(self) -> int:
        """Delete the papers in the trash for good; how many.  A backup is taken first and
        the papers' files are moved beside it, so restoring it brings everything back."""
        from exoref.services.backup import BackupService

        with self.library.db.read() as session:
            if not session.scalar(select(Paper.id).where(Paper.trashed_at.is_not(None))):
                return 0
        backups = BackupService(self.library)
        backup = backups.before_bulk("empty trash")
        files: list[str] = []
        with self.library.db.write() as session:
            rows = list(session.scalars(select(Paper).where(Paper.trashed_at.is_not(None))))
            for row in rows:
                files.extend(a.path for a in row.attachments)
                search_index.remove(session, row.id)
                session.delete(row)
        # Only after the commit: a crash before it keeps everything, after it leaves at most
        # unreferenced files that `exoref check --repair` removes.
        for relative in files:
            with contextlib.suppress(OSError, ValueError):
                if backup is not None:
                    backups.set_aside(backup, relative)
                else:
                    self.library.paths.attachment(relative).unlink()
        log.info("emptied the trash: %d papers, %d files", len(rows), len(files))
        return len(rows)

    def reference(self, paper_id: int) -> Reference:
        with self.library.db.read() as session:
            return repository.to_reference(self._paper(session, paper_id))

    def _set_trashed(self, ids: Sequence[int], *, trashed: bool) -> list[int]:
        changed = []
        stamp = now()
        with self.library.db.write() as session:
            for pid in ids:
                row = self._paper(session, pid)
                if (row.trashed_at is not None) == trashed:
                    continue
                row.trashed_at = stamp if trashed else None
                session.flush()
                repository.reindex(session, row)  # the index's facets say "trashed"
                changed.append(pid)
        return changed

    @staticmethod
    def _paper(session: Session, paper_id: int) -> Paper:
        row = session.get(Paper, paper_id)
        if row is None:
            raise NotFoundError(f"No paper with id {paper_id}.")
        return row


def _coerce(name: str, value: Any) -> Any:
    if name == "year":
        if value in (None, ""):
            return None
        try:
            year = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"The year must be a number, not {value!r}.") from None
        if not 1000 <= year <= 2999:
            raise UsageError(f"{year} is not a plausible year.")
        return year
    if name == "authors":
        return [a if isinstance(a, Author) else Author(*a) for a in value]
    if name in ("keywords", "trial_ids"):
        return [str(v).strip() for v in value if str(v).strip()]
    return "" if value is None else str(value)
