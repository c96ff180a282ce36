"""``exoref check``: is the library consistent?  And ``--repair`` for what can be mended.

Checked: SQLite's integrity and foreign keys; every attachment's file is present with the size
and SHA-256 recorded; no unreferenced file in files/; the search index has exactly one entry
per paper and passes FTS5's own integrity check.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from exoref.storage import repository, search_index
from exoref.storage.files import sha256_of
from exoref.storage.orm import AttachmentRow, Paper

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from exoref.services.library import Library

log = logging.getLogger("exoref.check")


@dataclass(slots=True)
class CheckReport:
    papers: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "papers": self.papers,
            "files": self.files,
            "problems": self.problems,
            "repaired": self.repaired,
        }


class CheckService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def check(self, *, repair: bool = False, verify_hashes: bool = True) -> CheckReport:
        report = CheckReport()
        # A write transaction even for a plain check: no import is half-way through copying
        # a file while the folder is compared with the database.
        with self.library.db.write() as session:
            self._database(session, report)
            self._files(session, report, repair=repair, verify_hashes=verify_hashes)
            self._index(session, report, repair=repair)
        return report

    def remove_orphan_files(self) -> list[str]:
        """Start-up recovery: files left behind by an import that was killed mid-way."""
        report = CheckReport()
        with self.library.db.write() as session:
            self._orphans(session, report, repair=True)
        return report.repaired

    # -- parts ---------------------------------------------------------------------------------

    def _database(self, session: Session, report: CheckReport) -> None:
        result = [r[0] for r in session.execute(text("PRAGMA integrity_check"))]
        if result != ["ok"]:
            report.problems.extend(f"database: {r}" for r in result[:20])
        for row in session.execute(text("PRAGMA foreign_key_check")):
            report.problems.append(f"database: row {row[1]} of {row[0]} points at nothing")
        report.papers = int(session.execute(text("SELECT count(*) FROM papers")).scalar_one())

    def _files(
        self, session: Session, report: CheckReport, *, repair: bool, verify_hashes: bool
    ) -> None:
        paths = self.library.paths
        for att in session.scalars(select(AttachmentRow)):
            report.files += 1
            try:
                absolute = paths.attachment(att.path)
            except ValueError:
                report.problems.append(f"paper {att.paper_id}: file path {att.path!r} "
                                       "points outside the library")
                continue
            if not absolute.is_file():
                report.problems.append(f"paper {att.paper_id}: file missing: {att.path}")
                continue
            if verify_hashes:
                digest, size = sha256_of(absolute)
                if digest != att.sha256 or size != att.size:
                    report.problems.append(
                        f"paper {att.paper_id}: file changed since import: {att.path}"
                    )
        self._orphans(session, report, repair=repair)

    def _orphans(self, session: Session, report: CheckReport, *, repair: bool) -> None:
        files_dir = self.library.paths.files
        if not files_dir.is_dir():
            return
        known = set(session.scalars(select(AttachmentRow.path)))
        root = self.library.paths.root
        for dirpath, _dirs, names in os.walk(files_dir):
            for name in names:
                path = Path(dirpath) / name
                relative = path.relative_to(root).as_posix()
                if relative in known:
                    continue
                if repair:
                    try:
                        path.unlink()
                        report.repaired.append(f"removed unreferenced file {relative}")
                        log.info("removed unreferenced file %s", relative)
                    except OSError as exc:
                        report.problems.append(f"cannot remove unreferenced file {relative}: "
                                               f"{exc.strerror}")
                else:
                    report.problems.append(f"unreferenced file in the library: {relative}")

    def _index(self, session: Session, report: CheckReport, *, repair: bool) -> None:
        paper_ids = set(session.scalars(select(Paper.id)))
        meta_ids, body_ids = search_index.indexed_ids(session)
        missing = paper_ids - meta_ids
        stale = (meta_ids | body_ids) - paper_ids
        problems = search_index.integrity_problems(session)
        if repair:
            for pid in sorted(stale):
                search_index.remove(session, pid)
                report.repaired.append(f"removed index entry of deleted paper {pid}")
            for row in repository.get_papers(session, sorted(missing)):
                repository.reindex(session, row)
                report.repaired.append(f"indexed paper {row.id}")
            if problems:
                search_index.rebuild(session)
                problems = search_index.integrity_problems(session)
                if not problems:
                    report.repaired.append("rebuilt the search index")
        else:
            report.problems.extend(f"paper {pid} is missing from the search index"
                                   for pid in sorted(missing))
            report.problems.extend(f"search index holds deleted paper {pid}"
                                   for pid in sorted(stale))
        report.problems.extend(f"search index: {p}" for p in problems)
