"""What the window's table and sidebar show: views of the library, paged rows, counts.

The table asks for the ordered ids of a view once (100,000 ints are cheap) and then for the
rows of the few pages on screen, so opening, scrolling and sorting a large library stays fast.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text

from exoref.domain.models import TagKind
from exoref.domain.query import parse_query
from exoref.storage import search_index
from exoref.storage.database import now
from exoref.storage.orm import ImportFailure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from exoref.services.library import Library

#: "Recently added" covers this many days.
RECENT_DAYS = 30
#: Flags that put a paper in "Needs attention" (besides having no DOI): no text to read, or
#: flagged as not about MSC-derived vesicle therapy (keep it or remove it: the user decides).
ATTENTION_FLAGS = ("no text layer", "off-topic")


class ViewKind(enum.StrEnum):
    ALL = "all"
    RECENT = "recent"
    UNTAGGED = "untagged"
    ATTENTION = "attention"
    TRASH = "trash"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class View:
    """A sidebar entry: a collection of papers."""

    kind: ViewKind = ViewKind.ALL
    tag: str | None = None
    tag_kind: TagKind | None = None


#: Columns the table can sort by → SQL order (ascending); ``relevance`` keeps search order.
SORT_COLUMNS = {
    "title": "p.title COLLATE NOCASE",
    "first_author": "p.first_author COLLATE NOCASE",
    "year": "p.year",
    "journal": "p.journal COLLATE NOCASE",
    "added": "p.added",
    "citekey": "p.citekey",
}


@dataclass(frozen=True, slots=True)
class PaperRow:
    """One line of the table."""

    id: int
    citekey: str
    title: str
    first_author: str
    authors: int
    year: int | None
    journal: str
    indications: str
    added: datetime | None
    flags: tuple[str, ...] = ()
    files: int = 0

    @property
    def author_label(self) -> str:
        if self.authors > 2:
            return f"{self.first_author} et al."
        return self.first_author


@dataclass(frozen=True, slots=True)
class FailedImport:
    """A file that could not be imported (shown under "Needs attention")."""

    path: str
    reason: str
    at: datetime | None


@dataclass(slots=True)
class SidebarCounts:
    all: int = 0
    recent: int = 0
    untagged: int = 0
    attention: int = 0
    trash: int = 0
    #: (name, kind, parent name or None, count) for every tag
    tags: list[tuple[str, TagKind, str | None, int]] = field(default_factory=list)


#: Papers in the trash, through the index on trashed_at: a condition on ``p.trashed_at`` itself
#: would make SQLite read every row (abstracts included) instead of walking the sort index.
_TRASHED_IDS = "SELECT id FROM papers WHERE trashed_at IS NOT NULL"


def _view_condition(view: View, params: dict[str, Any]) -> str:
    live = f"p.id NOT IN ({_TRASHED_IDS})"
    if view.kind is ViewKind.TRASH:
        return f"p.id IN ({_TRASHED_IDS})"
    if view.kind is ViewKind.RECENT:
        params["since"] = now() - timedelta(days=RECENT_DAYS)
        return f"{live} AND p.added >= :since"
    if view.kind is ViewKind.UNTAGGED:
        return f"{live} AND NOT EXISTS (SELECT 1 FROM paper_tags pt WHERE pt.paper_id = p.id)"
    if view.kind is ViewKind.ATTENTION:
        flags = " OR ".join(
            f"EXISTS (SELECT 1 FROM json_each(p.flags) WHERE value = :flag{i})"
            for i in range(len(ATTENTION_FLAGS))
        )
        params.update({f"flag{i}": flag for i, flag in enumerate(ATTENTION_FLAGS)})
        # Both halves are answered from indexes (lower(doi), and the partial index of
        # papers with flags), not by reading every paper.
        return (
            f"{live} AND p.id IN (SELECT id FROM papers WHERE lower(doi) = '' UNION "
            f"SELECT p.id FROM papers p WHERE p.flags <> '[]' AND ({flags}))"
        )
    if view.kind is ViewKind.TAG and view.tag:
        params["tag_key"] = view.tag.strip().casefold()
        kind = ""
        if view.tag_kind is not None:
            params["tag_kind"] = view.tag_kind.value
            kind = " AND kind = :tag_kind"
        return (
            f"{live} AND p.id IN (WITH RECURSIVE sub(id) AS ("
            f"SELECT id FROM tags WHERE name_key = :tag_key{kind} "
            "UNION SELECT t.id FROM tags t JOIN sub ON t.parent_id = sub.id) "
            "SELECT pt.paper_id FROM paper_tags pt JOIN sub ON pt.tag_id = sub.id)"
        )
    return live


class ViewService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def ids(
        self,
        view: View = View(),
        *,
        query: str = "",
        sort: str = "added",
        descending: bool = True,
    ) -> list[int]:
        """Every paper id of ``view`` (filtered by ``query``) in table order.

        ``sort="relevance"`` (only with a query) keeps the search ranking.  A bad query
        raises :class:`~exoref.errors.QuerySyntaxError`.
        """
        params: dict[str, Any] = {}
        where = _view_condition(view, params)
        with self.library.db.read() as session:
            ranked: list[int] | None = None
            node = parse_query(query) if query.strip() else None
            if node is not None:
                hits = search_index.search(
                    session, node, scope="all", limit=None, snippets=False,
                    trashed=view.kind is ViewKind.TRASH,
                )
                ranked = [h.paper_id for h in hits]
            if ranked is not None and (sort == "relevance" or sort not in SORT_COLUMNS):
                if view.kind in (ViewKind.ALL, ViewKind.TRASH):
                    return ranked  # the index already keeps the trash apart
                allowed = {int(r[0]) for r in session.execute(
                    text(f"SELECT p.id FROM papers p WHERE {where}"), params)}
                return [pid for pid in ranked if pid in allowed]
            if ranked is not None:
                params["hits"] = json.dumps(ranked)
                where += " AND p.id IN (SELECT value FROM json_each(:hits))"
            column = SORT_COLUMNS.get(sort, SORT_COLUMNS["added"])
            direction = "DESC" if descending else "ASC"
            sql = (
                f"SELECT p.id FROM papers p WHERE {where} "
                f"ORDER BY {column} {direction}, p.id {direction}"
            )
            return [int(r[0]) for r in session.execute(text(sql), params)]

    def rows(self, ids: Sequence[int]) -> list[PaperRow]:
        """The table rows of ``ids``, in that order."""
        if not ids:
            return []
        params = {"ids": json.dumps(list(ids))}
        with self.library.db.read() as session:
            found: dict[int, Any] = {
                r.id: r
                for r in session.execute(
                    text(
                        "SELECT p.id, p.citekey, p.title, p.first_author, p.year, p.journal, "
                        "p.booktitle, p.added, p.flags, "
                        "(SELECT count(*) FROM paper_authors a WHERE a.paper_id = p.id) AS n, "
                        "(SELECT count(*) FROM attachments f WHERE f.paper_id = p.id) AS files, "
                        "(SELECT group_concat(t.name, ', ') FROM paper_tags pt "
                        " JOIN tags t ON t.id = pt.tag_id "
                        " WHERE pt.paper_id = p.id AND t.kind = 'indication') AS indications "
                        "FROM papers p WHERE p.id IN (SELECT value FROM json_each(:ids))"
                    ),
                    params,
                )
            }
        rows = []
        for pid in ids:
            r = found.get(pid)
            if r is None:
                continue
            added = r.added
            if isinstance(added, str):
                added = datetime.fromisoformat(added)
            rows.append(
                PaperRow(
                    id=r.id,
                    citekey=r.citekey,
                    title=r.title,
                    first_author=r.first_author,
                    authors=int(r.n),
                    year=r.year,
                    journal=r.journal or r.booktitle,
                    indications=r.indications or "",
                    added=added,
                    flags=tuple(json.loads(r.flags or "[]")),
                    files=int(r.files),
                )
            )
        return rows

    def failed_imports(self) -> list[FailedImport]:
        with self.library.db.read() as session:
            rows = session.scalars(select(ImportFailure).order_by(ImportFailure.at.desc()))
            return [FailedImport(r.path, r.reason, r.at) for r in rows]

    def dismiss_failed_imports(self, paths: Sequence[str]) -> None:
        with self.library.db.write() as session:
            session.execute(delete(ImportFailure).where(ImportFailure.path.in_(list(paths))))

    def sidebar(self) -> SidebarCounts:
        counts = SidebarCounts()
        with self.library.db.read() as session:
            for kind in (ViewKind.ALL, ViewKind.RECENT, ViewKind.UNTAGGED, ViewKind.ATTENTION,
                         ViewKind.TRASH):
                params: dict[str, Any] = {}
                where = _view_condition(View(kind), params)
                value = session.execute(
                    text(f"SELECT count(*) FROM papers p WHERE {where}"), params
                ).scalar_one()
                setattr(counts, kind.value, int(value))
            counts.attention += int(session.execute(
                text("SELECT count(*) FROM import_failures")).scalar_one())
            rows = session.execute(
                text(
                    "SELECT t.name, t.kind, parent.name, "
                    "(SELECT count(*) FROM paper_tags pt WHERE pt.tag_id = t.id "
                    f" AND pt.paper_id NOT IN ({_TRASHED_IDS})) "
                    "FROM tags t LEFT JOIN tags parent ON parent.id = t.parent_id "
                    "ORDER BY t.kind, t.name COLLATE NOCASE"
                )
            )
            counts.tags = [(n, TagKind(k), parent, int(c)) for n, k, parent, c in rows]
        return counts
