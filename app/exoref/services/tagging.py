"""Tagging papers by indication, MSC source and study type from their own text.

The engine (:mod:`exoref.tagging`) reads a paper and suggests concepts of the curated
vocabulary, each with a score and its evidence.  This service keeps the library in step:

* every vocabulary concept has a tag row (``tags.concept``), with the hierarchy in
  ``parent_id`` so that ``tag:osteoarthritis`` also finds knee osteoarthritis;
* a suggestion at or above the threshold (a library setting) is applied as an automatic tag
  (``paper_tags.source = 'auto'``, with its score and evidence); the others wait in
  ``tag_suggestions`` for one click;
* a person's decision is final: a tag they added or confirmed (``source = 'user'``) is never
  removed by a later run, and a tag they removed or rejected (``tag_rejections``) never comes
  back;
* papers that are not about MSC-derived vesicle therapy get the :data:`OFF_TOPIC_FLAG` flag,
  unless a person said they belong (:data:`ON_TOPIC_FLAG`).

Automatic tags are not written into the full-text index's ``tags`` column: they come from
the paper's own words, which the index already holds, and ``tag:`` queries read the tag
tables.  So re-tagging 100,000 papers never rewrites their full text in the index.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing as mp
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from exoref.domain.models import TagKind
from exoref.errors import ExorefError, UsageError
from exoref.storage.database import now, rows_changed
from exoref.tagging.spec import TaggerSpec, tagger_for, user_additions
from exoref.tagging.tagger import DEFAULT_THRESHOLD, Tagger, TaggingInput, TaggingResult
from exoref.tagging.vocabulary import (
    Concept,
    UserAdditions,
    UserConcept,
    Vocabulary,
    load_vocabulary,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from pathlib import Path

    from sqlalchemy.orm import Session

    from exoref.services.library import Library

log = logging.getLogger("exoref.tagging")

OFF_TOPIC_FLAG = "off-topic"
#: Set when a person keeps a flagged paper: the check does not flag it again.
ON_TOPIC_FLAG = "on-topic (kept)"

_USER_KEY = "vocabulary_user"
_SYNCED_KEY = "vocabulary_synced"
THRESHOLD_SETTING = "tagging_threshold"

#: Papers read, tagged and written per transaction by :meth:`TaggingService.apply`.
BATCH = 400


def vocabulary_path() -> Path:
    from exoref.services.sample import resources_dir

    return resources_dir() / "vocabulary" / "vocabulary.json"


@dataclass(frozen=True, slots=True)
class EvidenceView:
    field: str
    phrase: str
    context: str


@dataclass(frozen=True, slots=True)
class SuggestionView:
    """One suggested tag for one paper, and where it stands."""

    concept: str
    group: str
    label: str
    score: float
    #: auto (applied by ExoRef), user (added or confirmed by a person), import (from a .bib),
    #: pending (below the threshold, waiting), rejected (a person said no)
    state: str
    evidence: tuple[EvidenceView, ...] = ()
    tag_id: int | None = None


@dataclass(frozen=True, slots=True)
class PaperSuggestions:
    paper_id: int
    suggestions: tuple[SuggestionView, ...]
    on_topic: bool
    focus_reason: str
    threshold: float


@dataclass(slots=True)
class ApplyReport:
    papers: int = 0
    applied: int = 0
    pending: int = 0
    removed: int = 0
    off_topic: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "papers": self.papers, "applied": self.applied, "pending": self.pending,
            "removed": self.removed, "off_topic": self.off_topic,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A vocabulary tag with the number of papers under it (itself and its descendants)."""

    tag_id: int
    concept: str | None
    label: str
    kind: TagKind
    count: int
    children: tuple[TreeNode, ...] = ()


@dataclass(slots=True)
class Overview:
    """The library as a picture: indication x MSC source x study type, and papers per year."""

    indications: list[tuple[int, str]] = field(default_factory=list)
    sources: list[tuple[int, str]] = field(default_factory=list)
    study_types: list[tuple[int, str]] = field(default_factory=list)
    #: (indication tag id, source tag id or 0 for "any", study type tag id or 0) -> papers
    cells: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: indication tag id -> {year: papers}
    per_year: dict[int, dict[int, int]] = field(default_factory=dict)


# -- the worker side: one Tagger per process ------------------------------------------------


def tag_texts(
    job: tuple[TaggerSpec, list[tuple[int, TaggingInput]]],
) -> list[tuple[int, TaggingResult]]:
    """Tag a chunk of papers (runs in a worker process)."""
    spec, items = job
    tagger = tagger_for(spec)
    return [(pid, tagger.suggest(inp)) for pid, inp in items]


# -- the service -----------------------------------------------------------------------------


class TaggingService:
    def __init__(self, library: Library) -> None:
        self.library = library
        self._vocabulary: Vocabulary | None = None
        self._user_json: str | None = None
        self._tags_by_concept: dict[str, int] | None = None

    # -- vocabulary --------------------------------------------------------------------------

    def spec(self) -> TaggerSpec:
        """The tagger this library tags with, as worker processes are told about it."""
        return TaggerSpec(str(vocabulary_path()), self.user_additions_json())

    def user_additions_json(self) -> str:
        if self._user_json is None:
            with self.library.db.read() as session:
                self._user_json = _info(session, _USER_KEY) or ""
        return self._user_json

    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            user = user_additions(self.user_additions_json())
            self._vocabulary = load_vocabulary(vocabulary_path(), user)
        return self._vocabulary

    def tagger(self) -> Tagger:
        return tagger_for(self.spec())

    @property
    def threshold(self) -> float:
        with self.library.db.read() as session:
            value = _info(session, THRESHOLD_SETTING)
        try:
            return float(value) if value else DEFAULT_THRESHOLD
        except ValueError:
            return DEFAULT_THRESHOLD

    def set_threshold(self, value: float) -> None:
        if not 0.0 < value <= 1.0:
            raise UsageError(f"The tagging threshold must be between 0 and 1, not {value}.")
        with self.library.db.write() as session:
            _set_info(session, THRESHOLD_SETTING, repr(float(value)))

    def add_user_concept(
        self, label: str, *, group: str = "indication", parent: str | None = None,
        synonyms: Sequence[str] = (), abbreviations: Sequence[str] = (),
    ) -> str:
        """A user's own indication (or source, study type); returns its concept id."""
        vocab = self.vocabulary()
        if parent is not None and parent not in vocab.concepts:
            raise UsageError(f"There is no concept {parent!r} in the vocabulary.",
                             hint="`exoref vocab list` shows the concept ids")
        if group not in ("indication", "msc_source", "study_type"):
            raise UsageError(f"{group!r} is not a group of the vocabulary.")
        user = self._user_additions()
        base = "user-" + "-".join(label.casefold().split())
        concept_id, n = base, 1
        while concept_id in vocab.concepts or any(c.id == concept_id for c in user.concepts):
            n += 1
            concept_id = f"{base}-{n}"
        user.concepts.append(UserConcept(
            id=concept_id, label=label.strip(), parent=parent, group=group,
            synonyms=list(synonyms), abbreviations=list(abbreviations)))
        self._save_user_additions(user)
        return concept_id

    def add_synonyms(self, concept: str, synonyms: Sequence[str] = (),
                     abbreviations: Sequence[str] = ()) -> None:
        if concept not in self.vocabulary().concepts:
            raise UsageError(f"There is no concept {concept!r} in the vocabulary.",
                             hint="`exoref vocab list` shows the concept ids")
        user = self._user_additions()
        for target, values in ((user.synonyms, synonyms), (user.abbreviations, abbreviations)):
            if values:
                current = target.setdefault(concept, [])
                current.extend(v for v in values if v not in current)
        self._save_user_additions(user)

    def _user_additions(self) -> UserAdditions:
        return user_additions(self.user_additions_json()) or UserAdditions()

    def _save_user_additions(self, user: UserAdditions) -> None:
        with self.library.db.write() as session:
            _set_info(session, _USER_KEY, json.dumps(user.to_dict(), ensure_ascii=False))
        self._user_json = None
        self._vocabulary = None
        self._tags_by_concept = None
        self.sync_vocabulary()

    def sync_vocabulary(self) -> dict[str, int]:
        """Make sure every concept has its tag row, labels and parents up to date; the map
        concept id -> tag id.  Cheap when nothing changed since the last call."""
        if self._tags_by_concept is not None:
            return self._tags_by_concept
        vocab = self.vocabulary()
        signature = f"{vocab.version}:{hash_text(self.user_additions_json())}"
        with self.library.db.read() as session:
            synced = _info(session, _SYNCED_KEY)
            if synced == signature:
                self._tags_by_concept = _concept_tags(session)
                if len(self._tags_by_concept) >= len(vocab.concepts):
                    return self._tags_by_concept
        with self.library.db.write() as session:
            self._tags_by_concept = _sync(session, vocab)
            _set_info(session, _SYNCED_KEY, signature)
        log.info("vocabulary %s: %d concepts in the library", vocab.version,
                 len(self._tags_by_concept))
        return self._tags_by_concept

    # -- one paper ---------------------------------------------------------------------------

    def suggest(self, paper_id: int) -> PaperSuggestions:
        """Fresh suggestions for one paper, each with its state; nothing is written."""
        tags = self.sync_vocabulary()
        with self.library.db.read() as session:
            inputs = dict(_read_inputs(session, [paper_id]))
            if paper_id not in inputs:
                raise ExorefError(f"There is no paper {paper_id}.")
            links = _links(session, [paper_id]).get(paper_id, {})
            rejected = _rejections(session, [paper_id]).get(paper_id, set())
        result = self.tagger().suggest(inputs[paper_id])
        vocab = self.vocabulary()
        threshold = self.threshold
        views = []
        for s in result.suggestions:
            tag_id = tags.get(s.concept)
            if tag_id in rejected:
                state = "rejected"
            elif tag_id in links:
                state = links[tag_id]
            else:
                state = "auto" if s.score >= threshold else "pending"
            views.append(SuggestionView(
                s.concept, s.group, vocab.concepts[s.concept].label, s.score, state,
                tuple(EvidenceView(e.field, e.phrase, e.context) for e in s.evidence), tag_id))
        return PaperSuggestions(paper_id, tuple(views), result.on_topic, result.focus_reason,
                                threshold)

    def pending(self, paper_id: int) -> list[SuggestionView]:
        """The stored suggestions waiting for a person, best first (what the window shows)."""
        vocab = self.vocabulary()
        with self.library.db.read() as session:
            rows = session.execute(
                text("SELECT s.tag_id, t.concept, t.kind, t.name, s.score, s.evidence "
                     "FROM tag_suggestions s JOIN tags t ON t.id = s.tag_id "
                     "WHERE s.paper_id = :p ORDER BY s.score DESC"),
                {"p": paper_id},
            ).all()
        views = []
        for tag_id, concept, kind, name, score, evidence in rows:
            label = vocab.concepts[concept].label if concept in vocab.concepts else name
            views.append(SuggestionView(
                concept or "", kind, label, float(score), "pending",
                _evidence_views(evidence), int(tag_id)))
        return views

    def applied(self, paper_id: int) -> list[SuggestionView]:
        """The paper's automatic tags with their score and evidence."""
        with self.library.db.read() as session:
            rows = session.execute(
                text("SELECT pt.tag_id, t.concept, t.kind, t.name, pt.score, pt.evidence "
                     "FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
                     "WHERE pt.paper_id = :p AND pt.source = 'auto' ORDER BY pt.score DESC"),
                {"p": paper_id},
            ).all()
        return [
            SuggestionView(concept or "", kind, name, float(score or 0.0), "auto",
                           _evidence_views(evidence), int(tag_id))
            for tag_id, concept, kind, name, score, evidence in rows
        ]

    def confirm(self, paper_id: int, tag_id: int) -> None:
        """A person accepts a suggestion or an automatic tag: it becomes theirs."""
        with self.library.db.write() as session:
            _require_paper(session, paper_id)
            score_row = session.execute(
                text("SELECT score, evidence FROM tag_suggestions "
                     "WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            ).first()
            session.execute(
                text("DELETE FROM tag_suggestions WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            )
            session.execute(
                text("DELETE FROM tag_rejections WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            )
            updated = rows_changed(session.execute(
                text("UPDATE paper_tags SET source = 'user' WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            ))
            if not updated:
                session.execute(
                    text("INSERT INTO paper_tags (paper_id, tag_id, source, score, evidence) "
                         "VALUES (:p, :t, 'user', :s, :e)"),
                    {"p": paper_id, "t": tag_id,
                     "s": score_row[0] if score_row else None,
                     "e": _dump(score_row[1]) if score_row else None},
                )
            _touch_and_reindex(session, paper_id)

    def reject(self, paper_id: int, tag_id: int) -> None:
        """A person says no: the tag goes (whoever put it there) and never comes back."""
        with self.library.db.write() as session:
            _require_paper(session, paper_id)
            removed = rows_changed(session.execute(
                text("DELETE FROM paper_tags WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            ))
            session.execute(
                text("DELETE FROM tag_suggestions WHERE paper_id = :p AND tag_id = :t"),
                {"p": paper_id, "t": tag_id},
            )
            session.execute(
                text("INSERT OR REPLACE INTO tag_rejections (paper_id, tag_id, at) "
                     "VALUES (:p, :t, :at)"),
                {"p": paper_id, "t": tag_id, "at": now()},
            )
            if removed:
                _touch_and_reindex(session, paper_id)

    def keep_in_focus(self, paper_id: int) -> None:
        """A person says a flagged paper belongs in the library after all."""
        with self.library.db.write() as session:
            flags = _flags(session, paper_id)
            flags = [f for f in flags if f != OFF_TOPIC_FLAG]
            if ON_TOPIC_FLAG not in flags:
                flags.append(ON_TOPIC_FLAG)
            _set_flags(session, paper_id, flags)

    # -- many papers -------------------------------------------------------------------------

    def apply(
        self,
        paper_ids: Sequence[int] | None = None,
        *,
        processes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ApplyReport:
        """Tag the given papers (all, when None) from their stored text and write the result:
        automatic tags above the threshold, pending suggestions below it, the focus flag."""
        tags = self.sync_vocabulary()
        threshold = self.threshold
        report = ApplyReport()
        start = time.perf_counter()
        with self.library.db.read() as session:
            ids = list(paper_ids) if paper_ids is not None else [
                int(r[0]) for r in session.execute(
                    text("SELECT id FROM papers WHERE trashed_at IS NULL ORDER BY id"))
            ]
        total = len(ids)
        spec = self.spec()
        jobs = (
            (spec, chunk) for chunk in self._read_chunks(ids)
        )
        for batch in _run_jobs(jobs, processes, small=total < 2 * BATCH):
            with self.library.db.write() as session:
                store_results(session, batch, tags, threshold, report)
            report.papers += len(batch)
            if progress is not None:
                progress(report.papers, total)
        report.seconds = time.perf_counter() - start
        return report

    def _read_chunks(self, ids: Sequence[int]) -> Iterator[list[tuple[int, TaggingInput]]]:
        for offset in range(0, len(ids), BATCH):
            with self.library.db.read() as session:
                yield list(_read_inputs(session, ids[offset:offset + BATCH]))

    # -- counts for the sidebar and the overview ----------------------------------------------

    def tree(self) -> list[TreeNode]:
        """The vocabulary's tags (and users' tags placed under them) as trees, with the number
        of papers (not in the trash) under each node."""
        self.sync_vocabulary()
        with self.library.db.read() as session:
            rows = session.execute(text(
                "SELECT id, concept, name, kind, parent_id FROM tags "
                "WHERE kind IN ('indication', 'msc_source', 'study_type') "
                "ORDER BY name COLLATE NOCASE")).all()
            counts: dict[int, int] = {
                int(k): int(v) for k, v in session.execute(text(_SUBTREE_COUNTS)).all()}
        children: dict[int | None, list[Any]] = defaultdict(list)
        for row in rows:
            children[row.parent_id].append(row)

        def build(row: Any) -> TreeNode:
            kids = tuple(build(c) for c in children.get(row.id, []))
            return TreeNode(int(row.id), row.concept, row.name, TagKind(row.kind),
                            int(counts.get(row.id, 0)), kids)

        known = {r.id for r in rows}
        roots = [r for r in rows if r.parent_id is None or r.parent_id not in known]
        order = {TagKind.INDICATION: 0, TagKind.MSC_SOURCE: 1, TagKind.STUDY_TYPE: 2}
        return sorted((build(r) for r in roots), key=lambda n: order.get(n.kind, 3))

    def overview(self) -> Overview:
        """Counts for the library picture, papers in the trash left out.  Indications are
        counted at the second level of the hierarchy (knee osteoarthritis under
        osteoarthritis, liver fibrosis as itself), sources and study types at the top."""
        self.sync_vocabulary()
        with self.library.db.read() as session:
            tags = session.execute(text(
                "SELECT id, name, kind, parent_id FROM tags "
                "WHERE kind IN ('indication', 'msc_source', 'study_type')")).all()
            links = session.execute(text(
                "SELECT pt.paper_id, pt.tag_id, p.year FROM paper_tags pt "
                "JOIN papers p ON p.id = pt.paper_id AND p.trashed_at IS NULL")).all()
        parent = {int(t.id): (int(t.parent_id) if t.parent_id is not None else None)
                  for t in tags}
        kind_of = {int(t.id): str(t.kind) for t in tags}
        names = {int(t.id): str(t.name) for t in tags}

        def node(tag_id: int) -> int:
            chain = [tag_id]
            seen = {tag_id}
            while (up := parent.get(chain[-1])) is not None and up in parent and up not in seen:
                chain.append(up)
                seen.add(up)
            depth = 1 if kind_of[tag_id] == "indication" else 0
            return chain[max(len(chain) - 1 - depth, 0)]

        per_paper: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        years: dict[int, int | None] = {}
        for paper_id, tag_id, year in links:
            if int(tag_id) in kind_of:
                target = node(int(tag_id))
                per_paper[int(paper_id)][kind_of[target]].add(target)
                years[int(paper_id)] = year
        cells: dict[tuple[int, int, int], int] = defaultdict(int)
        per_year: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        used: dict[str, set[int]] = defaultdict(set)
        for paper_id, groups in per_paper.items():
            sources = groups.get("msc_source") or set()
            types = groups.get("study_type") or set()
            used["msc_source"] |= sources
            used["study_type"] |= types
            for indication in groups.get("indication", ()):
                used["indication"].add(indication)
                year = years.get(paper_id)
                if year:
                    per_year[indication][int(year)] += 1
                for source in (*sources, 0):
                    for study in (*types, 0):
                        cells[(indication, source, study)] += 1
        result = Overview(cells=dict(cells), per_year={k: dict(v) for k, v in per_year.items()})

        def ordered(kind: str) -> list[tuple[int, str]]:
            return sorted(((i, names[i]) for i in used[kind]), key=lambda p: p[1].casefold())

        result.indications = ordered("indication")
        result.sources = ordered("msc_source")
        result.study_types = ordered("study_type")
        return result


# -- writing results -------------------------------------------------------------------------


#: OR IGNORE: a link that is there already (a tag the user gave) is the user's.
_INSERT_AUTO = text(
    "INSERT OR IGNORE INTO paper_tags (paper_id, tag_id, source, score, evidence) "
    "VALUES (:p, :t, 'auto', :s, :e)"
)
_INSERT_WAITING = text(
    "INSERT OR REPLACE INTO tag_suggestions (paper_id, tag_id, score, evidence, at) "
    "VALUES (:p, :t, :s, :e, :at)"
)


def store_results(
    session: Session,
    batch: Sequence[tuple[int, TaggingResult]],
    tags: dict[str, int],
    threshold: float,
    report: ApplyReport | None = None,
) -> None:
    """Write tagging results for a batch of papers inside the caller's transaction."""
    if not batch:
        return
    report = report if report is not None else ApplyReport()
    ids = [pid for pid, _ in batch]
    links = _links(session, ids)
    rejected = _rejections(session, ids)
    flags_of = _flags_many(session, ids)
    stamp = now()
    conn = session.connection()
    insert_links: list[dict[str, Any]] = []
    update_links: list[dict[str, Any]] = []
    delete_links: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    flag_updates: list[dict[str, Any]] = []
    for pid, result in batch:
        current = links.get(pid, {})
        no = rejected.get(pid, set())
        wanted: set[int] = set()
        for s in result.suggestions:
            tag_id = tags.get(s.concept)
            if tag_id is None or tag_id in no:
                continue
            evidence = _dump([_evidence_json(e) for e in s.evidence])
            source = current.get(tag_id)
            if s.score >= threshold:
                wanted.add(tag_id)
                if source is None:
                    insert_links.append({"p": pid, "t": tag_id, "s": s.score, "e": evidence})
                    report.applied += 1
                elif source == "auto":
                    update_links.append({"p": pid, "t": tag_id, "s": s.score, "e": evidence})
            elif source is None or source == "auto":
                suggestions.append({"p": pid, "t": tag_id, "s": s.score, "e": evidence,
                                    "at": stamp})
                report.pending += 1
        for tag_id, source in current.items():
            if source == "auto" and tag_id not in wanted:
                delete_links.append({"p": pid, "t": tag_id})
                report.removed += 1
        flags = flags_of.get(pid, [])
        new_flags = focus_flags(flags, result)
        if new_flags != flags:
            flag_updates.append({"p": pid, "f": json.dumps(new_flags)})
        if OFF_TOPIC_FLAG in new_flags:
            report.off_topic += 1
    placeholders = ",".join(str(int(i)) for i in ids)
    conn.execute(text(f"DELETE FROM tag_suggestions WHERE paper_id IN ({placeholders})"))
    if delete_links:
        conn.execute(text("DELETE FROM paper_tags WHERE paper_id = :p AND tag_id = :t"),
                     delete_links)
    if insert_links:
        conn.execute(_INSERT_AUTO, insert_links)
    if update_links:
        conn.execute(text("UPDATE paper_tags SET score = :s, evidence = :e "
                          "WHERE paper_id = :p AND tag_id = :t"), update_links)
    if suggestions:
        conn.execute(_INSERT_WAITING, suggestions)
    if flag_updates:
        conn.execute(text("UPDATE papers SET flags = :f WHERE id = :p"), flag_updates)


def focus_flags(flags: Sequence[str], result: TaggingResult) -> list[str]:
    """``flags`` with the off-topic flag set or cleared as ``result`` says (a person's "keep
    it" stands)."""
    off = not result.on_topic and ON_TOPIC_FLAG not in flags
    kept = [f for f in flags if f != OFF_TOPIC_FLAG]
    return [*kept, OFF_TOPIC_FLAG] if off else kept


def store_new_paper(
    session: Session,
    paper_id: int,
    result: TaggingResult,
    tags: dict[str, int],
    threshold: float,
) -> None:
    """Write the tags of a paper inserted in this transaction (an import) with no tags of
    its own: it has no tags, suggestions or rejections yet, so nothing is read first (a paper
    imported with tags goes through :func:`store_results`).  Its flags are the caller's
    (:func:`focus_flags`, before the insert)."""
    stamp = now()
    applied: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    for s in result.suggestions:
        tag_id = tags.get(s.concept)
        if tag_id is None:
            continue
        row: dict[str, Any] = {"p": paper_id, "t": tag_id, "s": s.score,
                               "e": _dump([_evidence_json(e) for e in s.evidence])}
        if s.score >= threshold:
            applied.append(row)
        else:
            row["at"] = stamp
            waiting.append(row)
    conn = session.connection()
    if applied:
        conn.execute(_INSERT_AUTO, applied)
    if waiting:
        conn.execute(_INSERT_WAITING, waiting)


def _run_jobs(
    jobs: Iterable[tuple[TaggerSpec, list[tuple[int, TaggingInput]]]],
    processes: int | None,
    *,
    small: bool,
) -> Iterator[list[tuple[int, TaggingResult]]]:
    """Tag chunks in worker processes (both cores) or, for a few papers, right here."""
    workers = processes if processes is not None else (mp.cpu_count() or 1)
    if small or workers <= 1:
        for job in jobs:
            yield tag_texts(job)
        return
    ctx = mp.get_context("forkserver")
    with ctx.Pool(workers) as pool:
        results = pool.imap(tag_texts, jobs)
        while True:
            try:
                # bounded: a worker killed mid-chunk (out of memory) never answers
                yield results.next(timeout=TagPipeline.CHUNK_TIMEOUT)
            except StopIteration:
                return
            except mp.TimeoutError as exc:
                raise ExorefError(
                    f"Tagging stopped: a worker process gave no answer for "
                    f"{TagPipeline.CHUNK_TIMEOUT:g} s (it may have run out of memory).",
                    hint="the papers tagged so far are stored; run `exoref tag auto` again",
                ) from exc


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(5)


class TagPipeline:
    """Tags papers in worker processes while the caller goes on storing others.

    An import submits the papers of each transaction once it has committed
    (:meth:`submit`), stores whatever tags have come back between its own transactions
    (:meth:`store_ready`) and the rest at the end (:meth:`finish`).  The tags of an import of
    10,000 .bib entries are then mostly ready when its last entry is stored, instead of
    taking a pass of their own after it.  A few papers are tagged here at once: starting
    workers would cost more.  Tags can always be redone (``exoref tag auto``), so a failure
    is logged and the import goes on.
    """

    #: Fewer papers than this, with no worker started yet, are tagged in this process.
    INLINE = 100
    #: Seconds to wait for one chunk's tags at the end (a chunk of full texts takes ~5 s).
    CHUNK_TIMEOUT = 120.0
    #: Chunks of BATCH papers handed to the workers and not back yet, at most.
    MAX_WAITING = 6

    def __init__(self, service: TaggingService, *, processes: int | None = None) -> None:
        self.library = service.library
        self.spec = service.spec()
        self.tags = service.sync_vocabulary()
        self.threshold = service.threshold
        self.processes = processes
        self.report = ApplyReport()
        self._pool: Any = None
        self._broken = False
        self._waiting: list[Any] = []
        self._ready: list[tuple[int, TaggingResult]] = []

    def submit(self, items: list[tuple[int, TaggingInput]]) -> None:
        if not items or self._broken:
            return
        try:
            if self._pool is None and len(items) < self.INLINE:
                self._ready.extend(tag_texts((self.spec, items)))
                return
            if self._pool is None:
                workers = self.processes if self.processes is not None else (
                    mp.cpu_count() or 1)
                # Niced a little: the import's reader and writer come first, the tagging
                # takes what they leave of the cores (at the same priority storing went at
                # half speed; niced more, the import waited on its backlog).
                self._pool = mp.get_context("forkserver").Pool(
                    max(1, workers), initializer=_lower_priority)
            for start in range(0, len(items), BATCH):
                chunk = items[start:start + BATCH]
                self._waiting.append(self._pool.apply_async(tag_texts, ((self.spec, chunk),)))
            # Memory stays bounded: past MAX_WAITING chunks in flight, the import waits for
            # the oldest (its texts and results would otherwise pile up: 0.8 GB at 100,000).
            while len(self._waiting) > self.MAX_WAITING:
                self._collect(self._waiting.pop(0))
        except Exception:  # no workers (or a tagger bug): the import goes on, untagged
            log.exception("tagging the imported papers failed; `exoref tag auto` redoes it")
            self._broken = True

    def store_ready(self, *, wait: bool = False) -> None:
        """Store the tags that have come back (all of them, waiting, with ``wait``)."""
        still: list[Any] = []
        for pending in self._waiting:
            if wait or pending.ready():
                self._collect(pending)
            else:
                still.append(pending)
        self._waiting = still
        if not self._ready:
            return
        batch, self._ready = self._ready, []
        try:
            with self.library.db.write() as session:
                store_results(session, batch, self.tags, self.threshold, self.report)
            self.report.papers += len(batch)
        except ExorefError as exc:
            log.warning("the tags of %d imported papers were not stored: %s", len(batch), exc)

    def _collect(self, pending: Any) -> None:
        try:
            # bounded: a worker killed mid-chunk (out of memory) never answers
            self._ready.extend(pending.get(timeout=self.CHUNK_TIMEOUT))
        except Exception:  # a bug in a worker, or no answer: the papers stay untagged
            log.exception("tagging imported papers failed in a worker")

    def finish(self) -> ApplyReport:
        """Wait for the rest, store it, stop the workers."""
        try:
            self.store_ready(wait=True)
        finally:
            self.close()
        return self.report

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


# -- reading ---------------------------------------------------------------------------------


def _read_inputs(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, TaggingInput]]:
    if not ids:
        return
    placeholders = ",".join(str(int(i)) for i in ids)
    rows = session.execute(text(
        "SELECT p.id, p.title, p.abstract, p.keywords, p.mesh, p.publication_types, "
        "p.trial_ids, b.body FROM papers p LEFT JOIN search_body b ON b.rowid = p.id "
        f"WHERE p.id IN ({placeholders})"))
    for pid, title, abstract, keywords, mesh, pubtypes, trials, body in rows:
        yield int(pid), TaggingInput(
            title=title or "",
            abstract=abstract or "",
            keywords=tuple(_load_list(keywords)),
            body=body or "",
            mesh=tuple(_load_list(mesh)),
            publication_types=tuple(_load_list(pubtypes)),
            trial_ids=tuple(_load_list(trials)),
        )


def _links(session: Session, ids: Sequence[int]) -> dict[int, dict[int, str]]:
    placeholders = ",".join(str(int(i)) for i in ids)
    out: dict[int, dict[int, str]] = defaultdict(dict)
    for pid, tag_id, source in session.execute(text(
            "SELECT pt.paper_id, pt.tag_id, pt.source FROM paper_tags pt "
            f"WHERE pt.paper_id IN ({placeholders})")):
        out[int(pid)][int(tag_id)] = str(source)
    return out


def _rejections(session: Session, ids: Sequence[int]) -> dict[int, set[int]]:
    placeholders = ",".join(str(int(i)) for i in ids)
    out: dict[int, set[int]] = defaultdict(set)
    for pid, tag_id in session.execute(text(
            f"SELECT paper_id, tag_id FROM tag_rejections WHERE paper_id IN ({placeholders})")):
        out[int(pid)].add(int(tag_id))
    return out


def _flags_many(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    placeholders = ",".join(str(int(i)) for i in ids)
    return {
        int(pid): _load_list(flags)
        for pid, flags in session.execute(text(
            f"SELECT id, flags FROM papers WHERE id IN ({placeholders})"))
    }


def _flags(session: Session, paper_id: int) -> list[str]:
    _require_paper(session, paper_id)
    return _flags_many(session, [paper_id]).get(paper_id, [])


def _set_flags(session: Session, paper_id: int, flags: list[str]) -> None:
    session.execute(text("UPDATE papers SET flags = :f, modified = :m WHERE id = :p"),
                    {"f": json.dumps(flags), "m": now(), "p": paper_id})


def _require_paper(session: Session, paper_id: int) -> None:
    if session.execute(text("SELECT 1 FROM papers WHERE id = :p"), {"p": paper_id}).first() \
            is None:
        raise ExorefError(f"There is no paper {paper_id}.")


def _touch_and_reindex(session: Session, paper_id: int) -> None:
    """A person's tag change: the paper is modified and its index row carries the tag."""
    from exoref.storage import repository
    from exoref.storage.orm import Paper

    row = session.get(Paper, paper_id)
    if row is None:
        return
    session.expire(row, ["tag_links"])
    row.modified = now()
    session.flush()
    repository.reindex(session, row)


def _concept_tags(session: Session) -> dict[str, int]:
    return {
        str(concept): int(tag_id)
        for tag_id, concept in session.execute(
            text("SELECT id, concept FROM tags WHERE concept IS NOT NULL"))
    }


def _sync(session: Session, vocab: Vocabulary) -> dict[str, int]:
    """Create or update a tag row per concept (parents first), adopting a user's tag of the
    same name and kind; the map concept id -> tag id."""
    by_concept = _concept_tags(session)
    for concept in in_order(vocab):
        kind = TagKind(concept.group)
        key = concept.label.strip().casefold()
        parent_id = by_concept.get(concept.parent) if concept.parent else None
        tag_id = by_concept.get(concept.id)
        if tag_id is None:
            found = session.execute(
                text("SELECT id FROM tags WHERE kind = :k AND name_key = :n"),
                {"k": kind.value, "n": key},
            ).first()
            if found is not None:
                tag_id = int(found[0])
            else:
                tag_id = int(session.execute(
                    text("INSERT INTO tags (name, name_key, kind, parent_id, concept) "
                         "VALUES (:n, :k2, :k, :parent, :c) RETURNING id"),
                    {"n": concept.label, "k2": key, "k": kind.value, "parent": parent_id,
                     "c": concept.id},
                ).scalar_one())
                by_concept[concept.id] = tag_id
                continue
        clash = session.execute(
            text("SELECT id FROM tags WHERE kind = :k AND name_key = :n AND id <> :id"),
            {"k": kind.value, "n": key, "id": tag_id},
        ).first()
        label = concept.label if clash is None else None
        session.execute(
            text("UPDATE tags SET concept = :c, parent_id = :parent"
                 + (", name = :n, name_key = :k2" if label else "") + " WHERE id = :id"),
            {"c": concept.id, "parent": parent_id, "n": label, "k2": key, "id": tag_id},
        )
        by_concept[concept.id] = tag_id
    return by_concept



def in_order(vocab: Vocabulary) -> list[Concept]:
    """Every concept, parents before children, groups in their order, labels sorted."""
    out: list[Concept] = []

    def visit(concept: Concept) -> None:
        out.append(concept)
        kids = [vocab.concepts[c] for c in vocab.children(concept.id)]
        for kid in sorted(kids, key=lambda c: c.label.casefold()):
            visit(kid)

    for group in ("indication", "msc_source", "study_type"):
        for root in sorted(vocab.roots(group), key=lambda c: c.label.casefold()):
            visit(root)
    return out


def _info(session: Session, key: str) -> str | None:
    row = session.execute(text("SELECT value FROM library_info WHERE key = :k"),
                          {"k": key}).first()
    return None if row is None else str(row[0])


def _set_info(session: Session, key: str, value: str) -> None:
    session.execute(text("INSERT OR REPLACE INTO library_info (key, value) VALUES (:k, :v)"),
                    {"k": key, "v": value})


def hash_text(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _load_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [str(v) for v in loaded] if isinstance(loaded, list) else []


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _evidence_json(e: Any) -> dict[str, object]:
    return {"field": e.field, "phrase": e.phrase, "context": e.context}


def _evidence_views(value: Any) -> tuple[EvidenceView, ...]:
    if value is None:
        return ()
    items = json.loads(value) if isinstance(value, str) else value
    return tuple(
        EvidenceView(str(i.get("field", "")), str(i.get("phrase", "")), str(i.get("context", "")))
        for i in items if isinstance(i, dict)
    )


#: Papers (not in the trash) per tag, counting each paper once under every ancestor.
_SUBTREE_COUNTS = """
WITH RECURSIVE up(tag_id, ancestor) AS (
    SELECT id, id FROM tags
    UNION ALL
    SELECT up.tag_id, t.parent_id FROM up JOIN tags t ON t.id = up.ancestor
    WHERE t.parent_id IS NOT NULL
)
SELECT up.ancestor, count(DISTINCT pt.paper_id)
FROM paper_tags pt JOIN up ON up.tag_id = pt.tag_id
JOIN papers p ON p.id = pt.paper_id AND p.trashed_at IS NULL
GROUP BY up.ancestor
"""
