"""Reading, listing, tagging and counting papers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from exoref.domain.models import Reference, Tag, TagKind
from exoref.errors import NotFoundError, UsageError
from exoref.storage import repository
from exoref.storage.orm import AttachmentRow, Paper, PaperTag, TagRow
from exoref.storage.tagstore import record_user_change

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.services.library import Library

#: Sort keys for ``list``: name → column(s), default direction.
SORTS: dict[str, tuple[Any, ...]] = {
    "added": (Paper.added.desc(), Paper.id.desc()),
    "year": (Paper.year.desc(), Paper.id.desc()),
    "title": (func.lower(Paper.title), Paper.id),
    "citekey": (Paper.citekey,),
    "journal": (func.lower(Paper.journal), Paper.id),
    "id": (Paper.id,),
}


@dataclass(frozen=True, slots=True)
class TagCount:
    name: str
    kind: TagKind
    count: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind.value, "count": self.count}


@dataclass(frozen=True, slots=True)
class Stats:
    papers: int
    files: int
    bytes: int
    with_text: int
    without_doi: int
    tags: list[TagCount]
    by_year: dict[str, int]

    def to_json(self) -> dict[str, object]:
        return {
            "papers": self.papers,
            "files": self.files,
            "bytes": self.bytes,
            "with_text": self.with_text,
            "without_doi": self.without_doi,
            "tags": [t.to_json() for t in self.tags],
            "by_year": self.by_year,
        }


class PaperService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def add(self, entries: Sequence[tuple[Reference, str | None]]) -> list[int]:
        """Store references (with their full text, if any) in one transaction; their ids.

        Tags on the references are applied; citation keys follow the library's pattern.
        """
        pattern = self.library.setting("citekey_pattern")
        ids = []
        with self.library.db.write() as session:
            for ref, body in entries:
                paper_id, _ = repository.insert_reference(session, ref, pattern=pattern, body=body)
                ids.append(paper_id)
        return ids

    def get(self, ident: int | str) -> Reference:
        with self.library.db.read() as session:
            row = repository.get_paper(session, ident)
            if row is None:
                raise NotFoundError(f"No paper with id or citation key {ident!r}.")
            return repository.to_reference(row)

    def get_many(self, ids: Sequence[int]) -> list[Reference]:
        with self.library.db.read() as session:
            return repository.load_references(session, ids)

    def list_papers(
        self,
        *,
        tag: str | None = None,
        sort: str = "added",
        limit: int | None = None,
        offset: int = 0,
        include_trashed: bool = False,
    ) -> list[Reference]:
        if sort not in SORTS:
            raise UsageError(f"Cannot sort by {sort!r}; choose one of {', '.join(SORTS)}.")
        query = select(Paper.id)
        if not include_trashed:
            query = query.where(Paper.trashed_at.is_(None))
        if tag:
            query = query.where(
                Paper.id.in_(
                    select(PaperTag.paper_id)
                    .join(TagRow, TagRow.id == PaperTag.tag_id)
                    .where(TagRow.name_key == tag.strip().casefold())
                )
            )
        query = query.order_by(*SORTS[sort]).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.library.db.read() as session:
            return repository.load_references(session, list(session.scalars(query)))

    def update_tags(
        self,
        ident: int | str,
        *,
        add: Sequence[Tag] = (),
        remove: Sequence[str] = (),
    ) -> Reference:
        with self.library.db.write() as session:
            row = repository.get_paper(session, ident)
            if row is None:
                raise NotFoundError(f"No paper with id or citation key {ident!r}.")
            before = {link.tag_id for link in row.tag_links}
            repository.set_tags(session, row, add, remove)
            session.flush()
            record_user_change(session, row.id, before, {link.tag_id for link in row.tag_links})
            repository.reindex(session, row)
            return repository.to_reference(row)

    def tags(self) -> list[TagCount]:
        query = (
            select(TagRow.name, TagRow.kind, func.count(PaperTag.paper_id))
            .join(PaperTag, PaperTag.tag_id == TagRow.id, isouter=True)
            .group_by(TagRow.id)
            .order_by(TagRow.kind, func.lower(TagRow.name))
        )
        with self.library.db.read() as session:
            return [TagCount(n, TagKind(k), int(c)) for n, k, c in session.execute(query)]

    def stats(self) -> Stats:
        live = Paper.trashed_at.is_(None)
        with self.library.db.read() as session:
            papers = session.scalar(select(func.count()).select_from(Paper).where(live)) or 0
            files, size = session.execute(
                select(func.count(AttachmentRow.id), func.coalesce(func.sum(AttachmentRow.size), 0))
            ).one()
            with_text = session.scalar(
                select(func.count(func.distinct(AttachmentRow.paper_id))).where(
                    AttachmentRow.has_text.is_(True)
                )
            ) or 0
            without_doi = session.scalar(
                select(func.count()).select_from(Paper).where(live, Paper.doi == "")
            ) or 0
            by_year = {
                str(y) if y is not None else "unknown": int(c)
                for y, c in session.execute(
                    select(Paper.year, func.count()).where(live).group_by(Paper.year)
                    .order_by(Paper.year)
                )
            }
        return Stats(
            papers=int(papers),
            files=int(files),
            bytes=int(size),
            with_text=int(with_text),
            without_doi=int(without_doi),
            tags=self.tags(),
            by_year=by_year,
        )
