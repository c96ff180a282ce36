"""The plain objects every layer passes around.

They carry no database session and no Qt: services return them to the CLI and the GUI.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class TagKind(enum.StrEnum):
    INDICATION = "indication"
    MSC_SOURCE = "msc_source"
    STUDY_TYPE = "study_type"
    FREE = "free"


@dataclass(frozen=True, slots=True)
class Author:
    """One author, in order of the byline.  ``given`` may be initials or empty."""

    family: str
    given: str = ""

    def display(self) -> str:
        return f"{self.given} {self.family}".strip()

    def to_json(self) -> dict[str, str]:
        return {"family": self.family, "given": self.given}


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    kind: TagKind = TagKind.FREE

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind.value}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file managed by the library; ``path`` is relative to the library folder."""

    path: str
    original_name: str
    sha256: str
    size: int
    page_count: int | None = None
    has_text: bool = True
    id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "path": self.path,
            "original_name": self.original_name,
            "sha256": self.sha256,
            "size": self.size,
            "page_count": self.page_count,
            "has_text": self.has_text,
        }


#: The bibliographic fields of a reference that are plain strings, in display order.
TEXT_FIELDS: tuple[str, ...] = (
    "entry_type",
    "title",
    "journal",
    "booktitle",
    "volume",
    "issue",
    "pages",
    "publisher",
    "doi",
    "pmid",
    "pmcid",
    "arxiv",
    "isbn",
    "url",
    "abstract",
    "language",
    "notes",
)


@dataclass(slots=True)
class Reference:
    """A paper (or book, chapter, ...) with its metadata.

    ``id`` and ``citekey`` are ``None`` until the library stores the reference.
    """

    title: str = ""
    authors: list[Author] = field(default_factory=list)
    year: int | None = None
    entry_type: str = "article"
    journal: str = ""
    booktitle: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    publisher: str = ""
    doi: str = ""
    pmid: str = ""
    pmcid: str = ""
    arxiv: str = ""
    isbn: str = ""
    url: str = ""
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    language: str = ""
    notes: str = ""
    trial_ids: list[str] = field(default_factory=list)
    #: other bibliographic fields by their BibTeX name (month, editor, series, address, ...)
    extra: dict[str, str] = field(default_factory=dict)
    #: the original LaTeX of fields that were decoded to Unicode on import, by field name,
    #: so that re-export writes back what the user's .bib had
    latex: dict[str, str] = field(default_factory=dict)
    citekey: str | None = None
    id: int | None = None
    added: datetime | None = None
    modified: datetime | None = None
    tags: list[Tag] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def first_author(self) -> Author | None:
        return self.authors[0] if self.authors else None

    def to_json(self) -> dict[str, object]:
        """The object ``--json`` prints: named by field, stable for scripts."""
        data: dict[str, object] = {"id": self.id, "citekey": self.citekey}
        data["title"] = self.title
        data["authors"] = [a.to_json() for a in self.authors]
        data["year"] = self.year
        for name in TEXT_FIELDS:
            if name != "title":
                data[name] = getattr(self, name)
        data["keywords"] = list(self.keywords)
        data["trial_ids"] = list(self.trial_ids)
        data["extra"] = dict(self.extra)
        data["tags"] = [t.to_json() for t in self.tags]
        data["files"] = [a.to_json() for a in self.attachments]
        data["flags"] = list(self.flags)
        data["added"] = self.added.isoformat() if self.added else None
        data["modified"] = self.modified.isoformat() if self.modified else None
        return data
