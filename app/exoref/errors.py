"""Errors a person can act on.

Two kinds of failure exist in ExoRef (see CONTRIBUTING.md): problems caused by the world
(a broken PDF, a locked library, a full disk), which raise an :class:`ExorefError` carrying a
message that says what went wrong and how to fix it, and bugs, which propagate as ordinary
exceptions to an excepthook.
"""

from __future__ import annotations


class ExorefError(Exception):
    """A known failure with a message meant for the user."""

    def __init__(self, user_message: str, *, hint: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.user_message} ({self.hint})"
        return self.user_message


class LibraryError(ExorefError):
    """The library cannot be opened, read or written."""


class LibraryLockedError(LibraryError):
    """Another process holds the library's write lock for too long."""


class DiskFullError(LibraryError):
    """No space left where the library lives."""


class SchemaTooNewError(LibraryError):
    """The library was written by a newer ExoRef."""


class UnreadableFileError(ExorefError):
    """A file offered for import cannot be read as what it claims to be."""


class NotFoundError(ExorefError):
    """A paper, tag or attachment named by the user does not exist."""


class QuerySyntaxError(ExorefError):
    """A search query that cannot be parsed; the message says where."""

    def __init__(self, user_message: str, *, position: int | None = None) -> None:
        super().__init__(user_message)
        self.position = position


class UsageError(ExorefError):
    """The command line was used wrongly (exit status 2)."""
