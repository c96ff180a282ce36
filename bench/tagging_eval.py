"""How well the automatic tagger agrees with the blind evaluation set.

Reads ``bench/data/tagging_eval.json`` (real papers, hand-labelled; see ``bench/data/README.md``),
runs :class:`exoref.tagging.tagger.Tagger` on the text of every paper and compares the suggestions
with the gold labels, group by group:

* ``indication``, ``msc_source``, ``study_type``: a suggestion counts as predicted when its score is
  at least the threshold (``--threshold``, default the tagger's ``DEFAULT_THRESHOLD``).  Gold and
  predicted concepts are both closed under the vocabulary's ancestors before counting, so a paper
  tagged ``osteoarthritis`` whose gold label is ``knee-osteoarthritis`` earns the ancestors
  (``osteoarthritis``, ``musculoskeletal``) and misses only the specific concept.  Off-topic papers
  are scored too: their conditions and sources are labelled whenever the paper makes them clear.
* ``focus``: the off-topic flag (``not result.on_topic``); the positive class is *off-topic*.

The gold labels can only use the fixed concept ids listed in the data file (``label_concepts``).
The vocabulary may add finer concepts below them (say ``colitis`` below
``inflammatory-bowel-disease``); a predicted concept that is not a label concept and descends from
one of the paper's gold labels is therefore *finer than the gold can say*: it is not counted (its
ancestors are), and the report gives how many there were.  ``--strict`` counts them as errors.

For every group it prints micro-averaged precision, recall and F1 with the TP/FP/FN counts, then an
overall line over the three tag groups.  ``--verbose`` lists the errors paper by paper, with the
evidence the tagger gave for each wrong suggestion; ``--per-concept`` breaks the figures down by
concept.  A benchmark, not a test: it prints figures and exits 0 (2 when the tagger or the data
cannot be loaded).

    .venv/bin/python bench/tagging_eval.py [--threshold X] [--verbose] [--per-concept]
                                           [--strict] [--data FILE] [--vocabulary FILE] [--stats]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

DEFAULT_DATA = REPO / "bench" / "data" / "tagging_eval.json"
DEFAULT_VOCABULARY = REPO / "resources" / "vocabulary" / "vocabulary.json"

#: The tag groups the tagger suggests, in report order.
TAG_GROUPS = ("indication", "msc_source", "study_type")
FOCUS = "focus"


class BenchSetupError(Exception):
    """The data file, the vocabulary or the tagger cannot be loaded; the message says why."""


# ---------------------------------------------------------------------------------------------
# the evaluation set


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    keywords: tuple[str, ...]
    body: str
    gold: dict[str, frozenset[str]]
    off_topic: bool


@dataclass(frozen=True)
class EvalSet:
    papers: list[Paper]
    #: The concept ids gold labels may use (``None``: not declared, nothing is "finer").
    label_concepts: frozenset[str] | None


def load_papers(path: Path) -> EvalSet:
    """Read the evaluation set; a missing or malformed file is a setup error, not a traceback."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchSetupError(f"cannot read the evaluation set {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise BenchSetupError(f"{path} is not valid JSON: {exc}") from exc
    papers: list[Paper] = []
    for n, entry in enumerate(raw.get("papers", []), 1):
        try:
            text = entry["text"]
            labels = entry["labels"]
            papers.append(Paper(
                id=entry["id"],
                title=text["title"],
                abstract=text.get("abstract", ""),
                keywords=tuple(text.get("keywords", ())),
                body=text.get("body", ""),
                gold={g: frozenset(labels.get(g, ())) for g in TAG_GROUPS},
                off_topic=labels["focus"] == "off-topic",
            ))
        except (KeyError, TypeError) as exc:
            raise BenchSetupError(f"{path}: paper #{n} lacks the field {exc}") from exc
    if not papers:
        raise BenchSetupError(f"{path} holds no papers")
    declared = raw.get("label_concepts")
    label_concepts = (frozenset(c for group in declared.values() for c in group)
                      if isinstance(declared, dict) else None)
    return EvalSet(papers, label_concepts)


# ---------------------------------------------------------------------------------------------
# counting


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: frozenset[str] | set[str], predicted: frozenset[str] | set[str]) -> None:
        self.tp += len(gold & predicted)
        self.fp += len(predicted - gold)
        self.fn += len(gold - predicted)

    def __iadd__(self, other: Counts) -> Counts:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class PaperOutcome:
    paper: Paper
    predicted: dict[str, set[str]]
    gold_closed: dict[str, set[str]]
    flagged_off_topic: bool
    suggestions: list[Any] = field(default_factory=list)
    #: Predicted concepts finer than the gold vocabulary, left out of the counts.
    finer: dict[str, set[str]] = field(default_factory=dict)

    def errors(self) -> list[str]:
        """One line per group that went wrong, for ``--verbose``."""
        lines: list[str] = []
        for group in TAG_GROUPS:
            missing = sorted(self.gold_closed[group] - self.predicted[group])
            extra = sorted(self.predicted[group] - self.gold_closed[group])
            if missing or extra:
                parts = []
                if missing:
                    parts.append("missed " + ", ".join(missing))
                if extra:
                    parts.append("wrong " + ", ".join(extra))
                lines.append(f"  {group}: " + "; ".join(parts))
                for s in self.suggestions:
                    if s.group == group and s.concept in extra:
                        lines.append(f"      {s.concept} {s.score:.2f}: {_evidence(s.evidence)}")
        finer = sorted(c for group in TAG_GROUPS for c in self.finer.get(group, ()))
        if finer:
            lines.append("  finer than gold (not counted): " + ", ".join(finer))
        if self.flagged_off_topic != self.paper.off_topic:
            want = "off-topic" if self.paper.off_topic else "on-topic"
            got = "off-topic" if self.flagged_off_topic else "on-topic"
            lines.append(f"  focus: gold {want}, tagger {got}")
        return lines


def _evidence(evidence: object, limit: int = 110) -> str:
    if isinstance(evidence, (list, tuple)):
        text = " | ".join(str(e) for e in evidence)
    else:
        text = str(evidence)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Closure:
    """Concept -> itself plus its ancestors, memoised; unknown ids are kept and reported once."""

    def __init__(self, vocabulary: Any) -> None:
        self._vocabulary = vocabulary
        self._cache: dict[str, frozenset[str]] = {}
        self.unknown: set[str] = set()

    def ancestors(self, concept: str) -> frozenset[str]:
        return self._closed(concept) - {concept}

    def of(self, concepts: frozenset[str] | set[str]) -> set[str]:
        closed: set[str] = set()
        for concept in concepts:
            closed |= self._closed(concept)
        return closed

    def _closed(self, concept: str) -> frozenset[str]:
        if concept not in self._cache:
            try:
                ancestors = tuple(self._vocabulary.ancestors(concept))
            except (KeyError, LookupError, ValueError):
                self.unknown.add(concept)
                ancestors = ()
            self._cache[concept] = frozenset((concept, *ancestors))
        return self._cache[concept]


# ---------------------------------------------------------------------------------------------
# the tagger


def load_tagger(vocabulary_path: Path) -> tuple[Any, Any, Any, float]:
    """(vocabulary, tagger, TaggingInput, DEFAULT_THRESHOLD), or a setup error saying what is
    missing.  Imported here so that ``--stats`` works before the tagger exists."""
    try:
        from exoref.tagging.tagger import DEFAULT_THRESHOLD, Tagger, TaggingInput
        from exoref.tagging.vocabulary import load_vocabulary
    except ImportError as exc:
        raise BenchSetupError(
            f"the tagger cannot be imported ({exc}). This bench needs "
            "exoref.tagging.vocabulary.load_vocabulary and exoref.tagging.tagger.Tagger, "
            "TaggingInput and DEFAULT_THRESHOLD (app/exoref/tagging/)."
        ) from exc
    if not vocabulary_path.is_file():
        raise BenchSetupError(
            f"no vocabulary at {vocabulary_path}; pass --vocabulary FILE or add "
            "resources/vocabulary/vocabulary.json"
        )
    vocabulary = load_vocabulary(vocabulary_path)
    return vocabulary, Tagger(vocabulary), TaggingInput, float(DEFAULT_THRESHOLD)


def evaluate(papers: list[Paper], vocabulary: Any, tagger: Any, tagging_input: Any,
             threshold: float, label_concepts: frozenset[str] | None = None,
             ) -> tuple[list[PaperOutcome], Closure, float]:
    """Run the tagger on every paper; returns the outcomes, the closure used and the seconds
    spent in the tagger.  With ``label_concepts``, predictions finer than the gold vocabulary
    (see the module docstring) are set aside instead of counted."""
    closure = Closure(vocabulary)
    outcomes: list[PaperOutcome] = []
    spent = 0.0
    for paper in papers:
        started = time.perf_counter()
        result = tagger.suggest(tagging_input(
            title=paper.title, abstract=paper.abstract, keywords=list(paper.keywords),
            body=paper.body,
        ))
        spent += time.perf_counter() - started
        suggestions = list(result.suggestions)
        predicted = {
            group: closure.of({s.concept for s in suggestions
                               if s.group == group and s.score >= threshold})
            for group in TAG_GROUPS
        }
        gold_closed = {group: closure.of(paper.gold[group]) for group in TAG_GROUPS}
        finer: dict[str, set[str]] = {}
        if label_concepts is not None:
            for group in TAG_GROUPS:
                finer[group] = {
                    c for c in predicted[group] - gold_closed[group]
                    if c not in label_concepts and closure.ancestors(c) & paper.gold[group]
                }
                predicted[group] -= finer[group]
        outcomes.append(PaperOutcome(
            paper=paper, predicted=predicted, gold_closed=gold_closed,
            flagged_off_topic=not result.on_topic,
            suggestions=[s for s in suggestions if s.score >= threshold], finer=finer,
        ))
    return outcomes, closure, spent


def group_counts(outcomes: list[PaperOutcome]) -> dict[str, Counts]:
    counts = {group: Counts() for group in (*TAG_GROUPS, FOCUS)}
    for o in outcomes:
        for group in TAG_GROUPS:
            counts[group].add(o.gold_closed[group], o.predicted[group])
        gold_off = {"off-topic"} if o.paper.off_topic else set()
        pred_off = {"off-topic"} if o.flagged_off_topic else set()
        counts[FOCUS].add(gold_off, pred_off)
    return counts


def concept_counts(outcomes: list[PaperOutcome], group: str) -> dict[str, Counts]:
    per: dict[str, Counts] = {}
    for o in outcomes:
        for concept in o.gold_closed[group] | o.predicted[group]:
            per.setdefault(concept, Counts()).add(
                o.gold_closed[group] & {concept}, o.predicted[group] & {concept})
    return per


# ---------------------------------------------------------------------------------------------
# report


def _line(name: str, c: Counts) -> str:
    """One report line; a ratio with nothing to divide (no prediction, no gold) shows as "-"."""
    p = f"{c.precision:6.1%}" if c.tp + c.fp else f"{'-':>6}"
    r = f"{c.recall:6.1%}" if c.tp + c.fn else f"{'-':>6}"
    f1 = f"{c.f1:6.1%}" if c.tp + c.fp + c.fn else f"{'-':>6}"
    return f"{name:<24} P {p}  R {r}  F1 {f1}   TP {c.tp:4d}  FP {c.fp:4d}  FN {c.fn:4d}"


def print_stats(papers: list[Paper]) -> None:
    """What the evaluation set contains: papers, off-topic share, labels per group."""
    off = sum(p.off_topic for p in papers)
    print(f"{len(papers)} papers: {len(papers) - off} on-topic, {off} off-topic, "
          f"{sum(bool(p.body) for p in papers)} with a body")
    for group in TAG_GROUPS:
        tally = Counter(c for p in papers for c in p.gold[group])
        ranked = sorted(tally.items(), key=lambda t: (-t[1], t[0]))
        print(f"{group} ({len(tally)} concepts): " + ", ".join(f"{c} {n}" for c, n in ranked))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation set (JSON)")
    parser.add_argument("--vocabulary", type=Path, default=DEFAULT_VOCABULARY,
                        help="vocabulary file given to load_vocabulary")
    parser.add_argument("--threshold", type=float, default=None,
                        help="minimum score of a suggestion (default: the tagger's "
                             "DEFAULT_THRESHOLD)")
    parser.add_argument("--verbose", action="store_true", help="list the errors paper by paper")
    parser.add_argument("--per-concept", action="store_true",
                        help="precision/recall for every concept")
    parser.add_argument("--strict", action="store_true",
                        help="count predictions finer than the gold vocabulary as errors")
    parser.add_argument("--stats", action="store_true",
                        help="only print what the evaluation set contains")
    args = parser.parse_args(argv)

    try:
        evalset = load_papers(args.data)
        papers = evalset.papers
        if args.stats:
            print_stats(papers)
            return 0
        vocabulary, tagger, tagging_input, default_threshold = load_tagger(args.vocabulary)
    except BenchSetupError as exc:
        print(f"tagging_eval: {exc}", file=sys.stderr)
        return 2
    threshold = default_threshold if args.threshold is None else args.threshold

    outcomes, closure, spent = evaluate(
        papers, vocabulary, tagger, tagging_input, threshold,
        None if args.strict else evalset.label_concepts)
    counts = group_counts(outcomes)
    finer = sum(len(o.finer.get(g, ())) for o in outcomes for g in TAG_GROUPS)

    off = sum(p.off_topic for p in papers)
    print(f"Tagging evaluation: {len(papers)} papers ({off} off-topic), threshold {threshold:g}, "
          f"{spent / len(papers) * 1000:.1f} ms per paper in the tagger")
    if finer:
        print(f"{finer} predicted concepts finer than the gold vocabulary were not counted "
              "(--strict counts them)")
    if closure.unknown:
        print("warning: concepts unknown to the vocabulary (scored without ancestors): "
              + ", ".join(sorted(closure.unknown)))
    if args.verbose:
        print()
        for o in outcomes:
            lines = o.errors()
            if lines:
                print(f"{o.paper.id}  {o.paper.title[:80]}")
                print("\n".join(lines))
        print()
    if args.per_concept:
        for group in TAG_GROUPS:
            print(f"\n{group}, per concept:")
            per = concept_counts(outcomes, group)
            for concept in sorted(per, key=lambda c: (-(per[c].tp + per[c].fn), c)):
                print("  " + _line(concept, per[concept]))
        print()
    overall = Counts()
    for group in TAG_GROUPS:
        print(_line(group, counts[group]))
        overall += counts[group]
    print(_line("focus (off-topic flag)", counts[FOCUS]))
    print(_line("overall (tag groups)", overall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
