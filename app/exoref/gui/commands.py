"""Undoable changes.  The services return what the inverse needs (old values, changed ids).

A command is pushed after its service call has succeeded, so its first ``redo`` (which
``QUndoStack.push`` calls) does nothing; later redos and undos call the services again.  A
failure there (say, the paper was deleted for good meanwhile) is reported and the stack is
left as it was.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from exoref.domain.models import Tag
    from exoref.gui.context import Services
    from exoref.services.editing import TagChange

log = logging.getLogger("exoref.gui.commands")



class _Command(QUndoCommand):
    def __init__(
        self,
        text: str,
        services: Services,
        changed: Callable[[str, Sequence[int]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        super().__init__(text)
        self.services = services
        self.changed = changed
        self.on_error = on_error
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self._run(self.apply)

    def undo(self) -> None:
        self._run(self.revert)

    def _run(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # shown to the user; the stack stays usable
            self.setObsolete(True)
            self.on_error(exc)

    def apply(self) -> None:
        raise NotImplementedError

    def revert(self) -> None:
        raise NotImplementedError


class EditFieldsCommand(_Command):
    def __init__(
        self,
        services: Services,
        paper_id: int,
        new: dict[str, Any],
        old: dict[str, Any],
        changed: Callable[[str, Sequence[int]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        names = ", ".join(new)
        super().__init__(f"Edit {names}", services, changed, on_error)
        self.paper_id = paper_id
        self.new = new
        self.old = old

    def apply(self) -> None:
        self.services.edit.update_fields(self.paper_id, self.new)
        self.changed("fields", [self.paper_id])

    def revert(self) -> None:
        self.services.edit.update_fields(self.paper_id, self.old)
        self.changed("fields", [self.paper_id])


class ChangeTagsCommand(_Command):
    """Exactly the tags that changed, paper by paper (so undo never removes a tag a paper
    already had before)."""

    def __init__(
        self,
        services: Services,
        change: TagChange,
        text: str,
        changed: Callable[[str, Sequence[int]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        super().__init__(text, services, changed, on_error)
        self.change = change

    @property
    def ids(self) -> list[int]:
        return sorted(set(self.change.added) | set(self.change.removed))

    def apply(self) -> None:
        self._swap(add=self.change.added, remove=self.change.removed)

    def revert(self) -> None:
        self._swap(add=self.change.removed, remove=self.change.added)

    def _swap(self, *, add: dict[int, list[Tag]], remove: dict[int, list[Tag]]) -> None:
        for pid in self.ids:
            self.services.edit.change_tags([pid], add=add.get(pid, []),
                                           remove=remove.get(pid, []))
        self.changed("tags", self.ids)


class TrashCommand(_Command):
    """Move to the trash (``restore=False``) or back out of it (``restore=True``)."""

    def __init__(
        self,
        services: Services,
        ids: Sequence[int],
        changed: Callable[[str, Sequence[int]], None],
        on_error: Callable[[BaseException], None],
        *,
        restore: bool = False,
    ) -> None:
        count = f"{len(ids)} paper{'s' if len(ids) != 1 else ''}"
        text = f"Restore {count}" if restore else f"Move {count} to the Trash"
        super().__init__(text, services, changed, on_error)
        self.ids = list(ids)
        self.restore = restore

    def apply(self) -> None:
        self._set(trashed=not self.restore)

    def revert(self) -> None:
        self._set(trashed=self.restore)

    def _set(self, *, trashed: bool) -> None:
        if trashed:
            self.services.edit.trash(self.ids)
        else:
            self.services.edit.restore(self.ids)
        self.changed("trash", self.ids)
