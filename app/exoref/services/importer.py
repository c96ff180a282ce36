"""Importing files: PDFs now, bibliographies through the same path later.

Extraction runs in worker processes (both cores); this process is the single writer.  Every
file is one transaction with its managed copy: the copy is written first, the row committed
after, and the copy removed again if the commit fails, so the library never holds a row
without its file.  A crash between the two leaves at most an unreferenced file, which
``exoref check --repair`` (and the start-up recovery) removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import delete, text

from exoref.domain.models import Attachment
from exoref.errors import ExorefError, LibraryLockedError
from exoref.formats.pdf import looks_like_pdf
from exoref.formats.registry import detect_format
from exoref.services.extraction import Examiner, FileFacts
from exoref.services.tagging import (
    TaggingService,
    focus_flags,
    store_new_paper,
    store_results,
)
from exoref.services.workers import WorkerPool
from exoref.storage import files, repository, search_index
from exoref.storage.database import now, translate_error
from exoref.storage.orm import ImportFailure, Paper

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from exoref.domain.models import Reference
    from exoref.formats.pdf import PdfExtraction
    from exoref.services.library import Library
    from exoref.tagging.spec import TaggerSpec

log = logging.getLogger("exoref.import")

Status = Literal["added", "duplicate", "failed"]

#: Seconds a single file may take to read before it is given up.
DEFAULT_TIMEOUT = 10.0
NO_TEXT_FLAG = "no text layer"


@dataclass(slots=True)
class ImportResult:
    path: str
    status: Status
    id: int | None = None
    reason: str = ""
    title: str = ""
    citekey: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "status": self.status,
            "id": self.id,
            "reason": self.reason,
            "title": self.title,
            "citekey": self.citekey,
        }


@dataclass(slots=True)
class ImportPlan:
    """The files an import will read, and the paths given that could not be used."""

    files: list[Path] = field(default_factory=list)
    bibliographies: list[Path] = field(default_factory=list)
    problems: list[ImportResult] = field(default_factory=list)
    skipped: int = 0


def plan_import(paths: Iterable[Path | str]) -> ImportPlan:
    """Expand files and folders (recursively) into the files to import, by kind.

    PDFs are recognised by their content, bibliographies (BibTeX, RIS, CSL-JSON, Better
    BibTeX JSON) by their content or else their extension.  A file named explicitly is always
    tried, as a PDF unless it is a bibliography (so a fake ``.pdf`` is reported).  Inside
    folders, a file named ``.pdf`` is tried too; other files (notes, images, ...) are skipped.
    """
    plan = ImportPlan()
    seen: set[Path] = set()

    def add(path: Path, *, explicit: bool) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if looks_like_pdf(path):
            plan.files.append(path)
        elif detect_format(path) is not None:
            plan.bibliographies.append(path)
        elif explicit or path.suffix.lower() == ".pdf":
            plan.files.append(path)  # the worker says why it is not a PDF
        else:
            plan.skipped += 1

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path):
                add(found, explicit=False)
        elif path.is_file():
            add(path, explicit=True)
        elif path.exists():
            plan.problems.append(ImportResult(str(path), "failed", reason="not a regular file"))
        else:
            plan.problems.append(ImportResult(str(path), "failed", reason="no such file or folder"))
    return plan


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                path = Path(dirpath) / name
                if path.is_file():
                    yield path


ProgressFn = Callable[[ImportResult, int, int], None]


class ImportService:
    def __init__(
        self,
        library: Library,
        *,
        processes: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.library = library
        self.processes = processes
        self.timeout = timeout
        #: during an import: the vocabulary's tag ids and the threshold new papers are
        #: tagged with (None when tagging is unavailable)
        self._tagging: tuple[dict[str, int], float] | None = None

    def import_paths(
        self,
        paths: Sequence[Path | str],
        *,
        progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[ImportResult]:
        plan = plan_import(paths)
        total = len(plan.files) + len(plan.problems) + len(plan.bibliographies)
        results: list[ImportResult] = []

        def report(result: ImportResult) -> None:
            results.append(result)
            if progress is not None:
                progress(result, len(results), max(total, len(results)))

        for problem in plan.problems:
            report(problem)
        spec = self._start_tagging() if plan.files else None
        pool: WorkerPool[str, FileFacts] = WorkerPool(
            Examiner(spec), processes=self.processes, timeout=self.timeout,
            preload=("exoref.tagging.spec",) if spec is not None else (),
        )
        pattern = self.library.setting("citekey_pattern")
        failures: list[ImportResult] = []
        done: set[str] = set()
        locked: LibraryLockedError | None = None
        for item, outcome in pool.run(str(p) for p in plan.files):
            done.add(item)
            if outcome.error is not None or outcome.value is None:
                result = ImportResult(item, "failed", reason=outcome.error or "unknown error")
            else:
                try:
                    result = self._store(outcome.value, pattern)
                except LibraryLockedError as exc:
                    locked = exc
                    result = ImportResult(item, "failed", reason=str(exc))
            if result.status == "failed":
                failures.append(result)
            report(result)
            if locked is not None or (cancelled is not None and cancelled()):
                break
        if locked is not None:
            # Another process held the library for the whole busy timeout: every further
            # write would wait as long again (minutes for a folder).  Stop and say so.
            for path in plan.files:
                if str(path) not in done:
                    report(ImportResult(str(path), "failed", reason=f"not imported: {locked}"))
            return results
        self._remember_failures(failures)
        if plan.bibliographies and not (cancelled is not None and cancelled()):
            # Imported here: the bibliography service builds on this module.
            from exoref.services.bibliography import BibliographyService

            bibliography = BibliographyService(
                self.library, processes=self.processes, timeout=self.timeout
            )
            for path in plan.bibliographies:
                done_before = len(results)

                def live(
                    result: ImportResult, done: int, _total: int,
                    *, start: int = done_before, expected: int = total,
                ) -> None:
                    # One result per entry: the count of entries is known as they come.
                    if progress is not None:
                        count = start + done
                        progress(result, count, max(expected - 1 + done, count))

                results.extend(bibliography.import_file(path, progress=live, cancelled=cancelled))
                total += len(results) - done_before - 1
                if cancelled is not None and cancelled():
                    break
        return results

    def _start_tagging(self) -> TaggerSpec | None:
        """Get ready to tag new PDFs as they are stored: the extraction workers suggest tags
        from the text they extract, and each paper is stored with its tags.  Tags can always
        be redone (`exoref tag auto`), so a failure here is logged, never an import failure."""
        service = TaggingService(self.library)
        try:
            self._tagging = (service.sync_vocabulary(), service.threshold)
            return service.spec()
        except ExorefError as exc:
            log.warning("new papers are imported without tags: %s", exc)
            self._tagging = None
            return None

    def _remember_failures(self, failures: list[ImportResult]) -> None:
        """Keep the files that failed for "Needs attention" (until imported or dismissed)."""
        if not failures:
            return
        stamp = now()
        with contextlib.suppress(ExorefError), self.library.db.write() as session:
            for result in failures:
                session.merge(ImportFailure(path=_failure_key(result.path),
                                            reason=result.reason, at=stamp))

    # -- the single writer -------------------------------------------------------------------

    def _store(self, facts: FileFacts, pattern: str) -> ImportResult:
        if facts.error is not None or facts.extraction is None:
            return ImportResult(facts.path, "failed", reason=facts.error or "unreadable")
        extraction = facts.extraction
        ref = extraction.reference
        if not extraction.has_text_layer and NO_TEXT_FLAG not in ref.flags:
            ref.flags.append(NO_TEXT_FLAG)
        copied: list[Path] = []  # managed copies made in this transaction
        try:
            with self.library.db.write() as session:
                result = self._store_in(session, facts, extraction, pattern, copied)
                session.execute(
                    delete(ImportFailure).where(ImportFailure.path == _failure_key(facts.path))
                )
            copied.clear()  # committed: the files belong to the library now
            return result
        except LibraryLockedError:
            raise  # the whole import stops (see import_paths)
        except ExorefError as exc:
            return ImportResult(facts.path, "failed", reason=str(exc))
        except OSError as exc:
            translated = translate_error(exc, self.library.paths.root)
            reason = str(translated) if translated else f"cannot copy it: {exc.strerror or exc}"
            return ImportResult(facts.path, "failed", reason=reason)
        finally:
            for path in copied:  # the transaction was rolled back: leave no orphan
                with contextlib.suppress(OSError):
                    path.unlink()

    def _store_in(
        self,
        session: Session,
        facts: FileFacts,
        extraction: PdfExtraction,
        pattern: str,
        copied: list[Path],
    ) -> ImportResult:
        """The body of one import transaction; files it copies in are added to ``copied``."""
        ref = extraction.reference
        owner = repository.find_paper_by_file_hash(session, facts.sha256)
        if owner is not None:
            paper = session.get(Paper, owner)
            return ImportResult(
                facts.path,
                "duplicate",
                id=owner,
                reason=f"identical file already in the library (paper {owner})",
                title=paper.title if paper else "",
                citekey=paper.citekey if paper else None,
            )
        duplicate = repository.find_duplicate(session, ref)
        if duplicate is not None:
            paper, why = duplicate
            copied.append(self._copy_in(Path(facts.path), paper_name(paper)))
            repository.insert_attachment(
                session, paper.id, self._attachment(copied[-1], facts, extraction)
            )
            if extraction.text and search_index.body_text(session, paper.id) is None:
                repository.reindex(session, paper, extraction.text)
            return ImportResult(
                facts.path,
                "duplicate",
                id=paper.id,
                reason=f"already in the library as paper {paper.id} ({why}); "
                "file attached to it",
                title=paper.title,
                citekey=paper.citekey,
            )
        copied.append(self._copy_in(Path(facts.path), reference_name(ref)))
        tagging = facts.tagging if self._tagging is not None else None
        if tagging is not None:
            ref.flags = focus_flags(ref.flags, tagging)
        paper_id, citekey = repository.insert_reference(
            session, ref, pattern=pattern, body=extraction.text or None
        )
        repository.insert_attachment(
            session, paper_id, self._attachment(copied[-1], facts, extraction)
        )
        if tagging is not None and self._tagging is not None:
            tags, threshold = self._tagging
            if ref.tags:  # it comes with tags of its own: merge with what is there
                store_results(session, [(paper_id, tagging)], tags, threshold)
            else:
                store_new_paper(session, paper_id, tagging, tags, threshold)
        # Completed online later, never during the import (services/lookup.py).
        session.execute(_QUEUE_LOOKUP, {"p": paper_id, "t": now()})
        return ImportResult(facts.path, "added", id=paper_id, title=ref.title, citekey=citekey)

    def _copy_in(self, source: Path, stem: str) -> Path:
        return files.copy_in(source, self.library.paths.files, stem)

    def _attachment(self, copied: Path, facts: FileFacts, extraction: PdfExtraction) -> Attachment:
        return Attachment(
            path=copied.relative_to(self.library.paths.root).as_posix(),
            original_name=Path(facts.path).name,
            sha256=facts.sha256,
            size=facts.size,
            page_count=extraction.page_count,
            has_text=extraction.has_text_layer,
        )


_QUEUE_LOOKUP = text(
    "INSERT OR IGNORE INTO lookup_queue (paper_id, state, attempts, next_attempt, last_error, "
    "requested) VALUES (:p, 'waiting', 0, :t, '', :t)"
)


def _failure_key(path: str) -> str:
    return str(Path(path).resolve())


def reference_name(ref: Reference) -> str:
    """A readable file stem: ``Mianehsaz_2019_Mesenchymal stem cell-derived exosomes``."""
    family = ref.authors[0].family if ref.authors else ""
    words = " ".join(ref.title.split()[:8])
    parts = [p for p in (family, str(ref.year) if ref.year else "", words) if p]
    return "_".join(parts) or "paper"


def paper_name(paper: Paper) -> str:
    return reference_name(repository.to_reference(paper))
