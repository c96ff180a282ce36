"""Finding duplicate papers and merging them, with undo.

Finding is :func:`exoref.domain.duplicates.find_duplicates` over every paper not in the
trash.  A merge keeps one paper (its id and citation key), takes each field from the paper the
person chose, and moves every file and tag of the others onto it; the others are deleted.
Before the first merge of a batch a backup is taken (``before-merge``), and each merge stores
a snapshot of every paper it touched (rows, authors, tags, files, full text) in ``merges``, so
:meth:`DuplicateService.undo` puts the papers back exactly as they were, ids and keys included.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from exoref.domain.duplicates import DuplicateGroup, find_duplicates
from exoref.errors import ExorefError, UsageError
from exoref.storage import repository, search_index
from exoref.storage.database import now, rows_changed
from exoref.storage.orm import Paper

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.orm import Session

    from exoref.services.library import Library

log = logging.getLogger("exoref.duplicates")

#: Fields a person may take from one of the merged papers (the rest follow the kept one).
MERGE_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "publisher",
                "doi", "pmid", "pmcid", "abstract", "url", "entry_type", "booktitle",
                "keywords", "notes")
_LIST_FIELDS = {"keywords"}


@dataclass(slots=True)
class MergeResult:
    merge_id: int
    kept: int
    merged: list[int]
    files_moved: int = 0
    tags_added: int = 0

    def to_json(self) -> dict[str, object]:
        return {"merge": self.merge_id, "kept": self.kept, "merged": self.merged,
                "files_moved": self.files_moved, "tags_added": self.tags_added}


@dataclass(frozen=True, slots=True)
class MergeEntry:
    merge_id: int
    at: str
    kept: int
    merged: list[int]
    undone: bool
    titles: list[str] = field(default_factory=list)


class DuplicateService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def find(self) -> list[DuplicateGroup]:
        """Every group of papers (not in the trash) that are the same work.

        The records are read as an import reads its candidates
        (:func:`exoref.storage.repository.duplicate_key`) and judged by the same rules, so
        a pair an import took for one paper is a pair this finds, and the other way round.
        """
        with self.library.db.read() as session:
            keys = [
                repository.duplicate_key(r)
                for r in session.execute(text(
                    f"SELECT {repository.DUPLICATE_KEY_COLUMNS} FROM papers "
                    "WHERE trashed_at IS NULL"))
            ]
        return find_duplicates(keys)

    def merge(
        self,
        keep: int,
        others: Sequence[int],
        choices: Mapping[str, int] | None = None,
        *,
        backup: bool = True,
    ) -> MergeResult:
        """Merge ``others`` into ``keep``; ``choices`` maps a field to the paper whose value
        it takes (default: the kept paper's, or the first other paper's when it is empty)."""
        others = [o for o in dict.fromkeys(others) if o != keep]
        if not others:
            raise UsageError("A merge needs at least two different papers.")
        choices = dict(choices or {})
        unknown = set(choices) - set(MERGE_FIELDS)
        if unknown:
            raise UsageError(f"Cannot choose {', '.join(sorted(unknown))} in a merge.")
        bad = {pid for pid in choices.values() if pid != keep and pid not in others}
        if bad:
            raise UsageError(f"Paper {min(bad)} is not part of this merge.")
        if backup:
            from exoref.services.backup import BackupService

            BackupService(self.library).before_bulk("merge")
        with self.library.db.write() as session:
            papers = {pid: _require(session, pid) for pid in [keep, *others]}
            snapshot = {"papers": [_snapshot(session, pid) for pid in [keep, *others]]}
            kept = papers[keep]
            for name in MERGE_FIELDS:
                source = choices.get(name)
                if source is None:
                    if _empty(kept, name):
                        source = next((o for o in others if not _empty(papers[o], name)), keep)
                    else:
                        source = keep
                if source != keep:
                    _copy_field(papers[source], kept, name)
            sources = dict(kept.field_sources or {})
            for name in choices:
                sources[name] = "user"
            kept.field_sources = sources
            ids = ",".join(str(int(o)) for o in others)
            files = rows_changed(session.execute(text(
                f"UPDATE attachments SET paper_id = :k WHERE paper_id IN ({ids})"),
                {"k": keep}))
            tags = rows_changed(session.execute(text(
                "INSERT OR IGNORE INTO paper_tags (paper_id, tag_id, source, score, evidence) "
                f"SELECT :k, tag_id, source, score, evidence FROM paper_tags "
                f"WHERE paper_id IN ({ids})"), {"k": keep}))
            session.execute(text(
                "INSERT OR IGNORE INTO tag_rejections (paper_id, tag_id, at) "
                f"SELECT :k, tag_id, at FROM tag_rejections WHERE paper_id IN ({ids})"),
                {"k": keep})
            body = search_index.body_text(session, keep)
            if not body:
                for other in others:
                    body = search_index.body_text(session, other)
                    if body:
                        break
            flags = list(dict.fromkeys([*kept.flags, *(f for o in others
                                                        for f in papers[o].flags)]))
            kept.flags = flags
            for other in others:
                search_index.remove(session, other)
                session.delete(papers[other])
            session.flush()
            session.expire(kept)
            kept = _require(session, keep)
            kept.title_key = repository.title_key(kept.title)
            kept.first_author = kept.authors[0].family if kept.authors else ""
            kept.modified = now()
            session.flush()
            repository.reindex(session, kept, body or None)
            merge_id = int(session.execute(text(
                "INSERT INTO merges (at, kept_id, merged_ids, snapshot) "
                "VALUES (:at, :k, :m, :s) RETURNING id"),
                {"at": now(), "k": keep, "m": json.dumps(others),
                 "s": json.dumps(snapshot, ensure_ascii=False, default=str)}).scalar_one())
        log.info("merged %s into %d (merge %d)", others, keep, merge_id)
        return MergeResult(merge_id, keep, others, int(files or 0), int(tags or 0))

    def merge_groups(self, groups: Sequence[DuplicateGroup]) -> list[MergeResult]:
        """Merge each group into its paper with the most files, then the oldest (one backup
        before all of them)."""
        if not groups:
            return []
        from exoref.services.backup import BackupService

        BackupService(self.library).before_bulk("merge")
        results = []
        with self.library.db.read() as session:
            files: dict[int, int] = dict(session.execute(text(
                "SELECT paper_id, count(*) FROM attachments GROUP BY paper_id")).all())
        for group in groups:
            keep = min(group.ids, key=lambda pid: (-int(files.get(pid, 0)), pid))
            results.append(self.merge(keep, [i for i in group.ids if i != keep], backup=False))
        return results

    def merges(self) -> list[MergeEntry]:
        with self.library.db.read() as session:
            rows = session.execute(text(
                "SELECT id, at, kept_id, merged_ids, snapshot, undone_at FROM merges "
                "ORDER BY id DESC")).all()
        entries = []
        for r in rows:
            snap = json.loads(r.snapshot) if isinstance(r.snapshot, str) else r.snapshot
            titles = [str(p["row"].get("title", "")) for p in snap.get("papers", [])]
            entries.append(MergeEntry(int(r.id), str(r.at), int(r.kept_id),
                                      [int(i) for i in json.loads(r.merged_ids)],
                                      r.undone_at is not None, titles))
        return entries

    def undo(self, merge_id: int | None = None) -> MergeEntry:
        """Put back the papers of a merge (the latest one not undone, by default)."""
        with self.library.db.write() as session:
            if merge_id is None:
                found = session.execute(text(
                    "SELECT id FROM merges WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1")
                ).scalar()
                if found is None:
                    raise UsageError("There is no merge to undo.")
                merge_id = int(found)
            row = session.execute(text(
                "SELECT kept_id, merged_ids, snapshot, undone_at FROM merges WHERE id = :i"),
                {"i": merge_id}).first()
            if row is None:
                raise UsageError(f"There is no merge {merge_id}.")
            if row.undone_at is not None:
                raise UsageError(f"Merge {merge_id} was undone already.")
            kept_id = int(row.kept_id)
            if session.get(Paper, kept_id) is None:
                raise ExorefError(
                    f"Merge {merge_id} cannot be undone: its paper {kept_id} was deleted since.",
                    hint="restore the backup taken before the merge (exoref backup --list)")
            snap = json.loads(row.snapshot) if isinstance(row.snapshot, str) else row.snapshot
            papers = snap["papers"]
            for paper in papers:
                _restore(session, paper)
            session.execute(text("UPDATE merges SET undone_at = :t WHERE id = :i"),
                            {"t": now(), "i": merge_id})
        return next(m for m in self.merges() if m.merge_id == merge_id)


# -- helpers ---------------------------------------------------------------------------------



def _require(session: Session, paper_id: int) -> Paper:
    row = session.get(Paper, paper_id)
    if row is None:
        raise UsageError(f"There is no paper {paper_id}.")
    return row


def _empty(row: Paper, name: str) -> bool:
    value = row.authors if name == "authors" else getattr(row, name)
    return value in (None, "", [], {})


def _copy_field(source: Paper, target: Paper, name: str) -> None:
    from exoref.storage.orm import PaperAuthor

    if name == "authors":
        target.authors = [PaperAuthor(position=a.position, family=a.family, given=a.given)
                          for a in source.authors]
    elif name in _LIST_FIELDS:
        setattr(target, name, list(getattr(source, name)))
    else:
        setattr(target, name, getattr(source, name))
    latex = dict(source.latex or {})
    if name in latex:
        target.latex = {**(target.latex or {}), name: latex[name]}
    elif name in (target.latex or {}):
        target.latex = {k: v for k, v in target.latex.items() if k != name}


def _rows(session: Session, sql: str, paper_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(text(sql), {"p": paper_id})]


def _snapshot(session: Session, paper_id: int) -> dict[str, Any]:
    [row] = _rows(session, "SELECT * FROM papers WHERE id = :p", paper_id)
    return {
        "row": row,
        "authors": _rows(session, "SELECT * FROM paper_authors WHERE paper_id = :p", paper_id),
        "tags": _rows(session, "SELECT * FROM paper_tags WHERE paper_id = :p", paper_id),
        "rejections": _rows(session, "SELECT * FROM tag_rejections WHERE paper_id = :p",
                            paper_id),
        "suggestions": _rows(session, "SELECT * FROM tag_suggestions WHERE paper_id = :p",
                             paper_id),
        "attachments": [int(r["id"]) for r in _rows(
            session, "SELECT id FROM attachments WHERE paper_id = :p", paper_id)],
        "body": search_index.body_text(session, paper_id),
    }


def _insert(session: Session, table: str, row: Mapping[str, Any]) -> None:
    if not row:
        return
    names = list(row)
    session.execute(
        text(f"INSERT INTO {table} ({', '.join(names)}) "
             f"VALUES ({', '.join(':' + n for n in names)})"),
        dict(row),
    )


def _restore(session: Session, paper: Mapping[str, Any]) -> None:
    """Put a snapshot back: a deleted paper is inserted again, the kept one is updated in
    place (deleting it would cascade to its files' rows)."""
    row = paper["row"]
    pid = int(row["id"])
    if session.execute(text("SELECT 1 FROM papers WHERE id = :p"), {"p": pid}).first():
        names = [n for n in row if n != "id"]
        session.execute(
            text(f"UPDATE papers SET {', '.join(f'{n} = :{n}' for n in names)} WHERE id = :id"),
            dict(row))
        for table in ("paper_authors", "paper_tags", "tag_rejections", "tag_suggestions"):
            session.execute(text(f"DELETE FROM {table} WHERE paper_id = :p"), {"p": pid})
    else:
        _insert(session, "papers", row)
    for table, key in (("paper_authors", "authors"), ("paper_tags", "tags"),
                       ("tag_rejections", "rejections"), ("tag_suggestions", "suggestions")):
        for item in paper.get(key, []):
            _insert(session, table, item)
    ids = [int(i) for i in paper.get("attachments", [])]
    if ids:
        session.execute(text(
            f"UPDATE attachments SET paper_id = :p WHERE id IN ({','.join(map(str, ids))})"),
            {"p": pid})
    session.flush()
    restored = session.get(Paper, pid)
    if restored is not None:
        session.refresh(restored)
        repository.reindex(session, restored, paper.get("body") or "")
