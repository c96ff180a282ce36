"""Suggest tags for a paper from its text: indications, MSC sources, study types.

How a suggestion's score comes about (all in :class:`Tagger`):

1. Each field is folded, de-hyphenated and split into words (:mod:`exoref.tagging.text`); the
   body is cut at its reference list, and lines that look like citations do not count.
2. Vocabulary phrases are found with one pass over the words (:mod:`exoref.tagging.matcher`).
   Abbreviations count where the paper defines them ("osteoarthritis (OA)", "OA
   (osteoarthritis)"), where they are unambiguous, or where a context word makes them so; an
   abbreviation the paper defines as something else ("mass spectrometry (MS)") never counts.
   New abbreviations the paper defines for a concept ("knee osteoarthritis (KOA)") count too.
3. Each mention gets a strength: by field (title >> keywords > abstract >> body), by kind
   (a synonym counts more than a cue), and by context: a contrast or negation nearby ("unlike
   RA") or a list of many diseases in a primary paper counts little; a sentence that states
   the paper's aim counts more.  Strengths add up per concept with diminishing returns and a
   cap for the body, so that mentions in passing never make a tag by themselves.
4. ``score = 1 - exp(-strength)``.  A child concept's strength also counts for its parent, but
   the parent is listed only where the paper names it in its own right.
5. Study types: review against primary research; a confident review silences the in vitro,
   animal and clinical trial cues that reviews are full of.  PubMed publication types, when
   given, weigh heavily.
6. The focus check decides whether the paper is about therapy with MSC-derived vesicles.

:data:`DEFAULT_THRESHOLD` is where suggestions are applied without asking.
"""

from __future__ import annotations

import math
import multiprocessing
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from typing import TYPE_CHECKING, Any

from exoref.tagging import matcher as mt
from exoref.tagging.text import (
    collapse,
    is_citation_line,
    normalise,
    phrase_tokens,
    reference_cut,
    sentence_starts,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from exoref.tagging.text import NormText
    from exoref.tagging.vocabulary import Vocabulary

__all__ = [
    "DEFAULT_THRESHOLD",
    "FIELDS",
    "Evidence",
    "Suggestion",
    "Tagger",
    "TaggingInput",
    "TaggingResult",
]

#: Suggestions scoring at or above this are applied automatically; the rest wait for the
#: user.  0.5 is what one clear mention in the title, a concept named twice in the abstract,
#: or once in a sentence that states the paper's aim, reaches; the body alone cannot reach it
#: when the paper has a title and abstract (see the module docstring).
DEFAULT_THRESHOLD = 0.5

#: Suggestions below this are not returned at all.
MIN_SCORE = 0.1

#: The values of :attr:`Evidence.field`.
#: Between keywords when they are read as one text (evidence offsets count it).
KEYWORD_SEPARATOR = "; "

FIELDS = ("title", "abstract", "keywords", "body", "mesh", "publication_type", "trial_id")


@dataclass(frozen=True, slots=True)
class TaggingInput:
    """What is known of a paper.  ``mesh`` are MeSH heading names (or descriptor ids) and
    ``publication_types`` PubMed publication types, when the paper came from PubMed."""

    title: str
    abstract: str = ""
    keywords: Sequence[str] = ()
    body: str = ""
    mesh: Sequence[str] = ()
    publication_types: Sequence[str] = ()
    trial_ids: Sequence[str] = ()

    def __reduce__(self) -> tuple[type[TaggingInput], tuple[object, ...]]:
        return TaggingInput, (self.title, self.abstract, tuple(self.keywords), self.body,
                              tuple(self.mesh), tuple(self.publication_types),
                              tuple(self.trial_ids))


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a suggestion comes from.  ``start``/``end`` are offsets into the field's text
    (for keywords: into the keywords joined with :data:`KEYWORD_SEPARATOR`; for MeSH: into
    that heading); ``context`` is ~80 characters around it, white space collapsed."""

    field: str
    phrase: str
    start: int
    end: int
    context: str

    def __reduce__(self) -> tuple[type[Evidence], tuple[str, str, int, int, str]]:
        # Plain tuples pickle several times faster than slotted dataclasses: results come
        # back from worker processes by the hundred thousand.
        return Evidence, (self.field, self.phrase, self.start, self.end, self.context)


@dataclass(frozen=True, slots=True)
class Suggestion:
    concept: str
    group: str
    label: str
    score: float
    evidence: tuple[Evidence, ...]

    def __reduce__(self) -> tuple[type[Suggestion],
                                  tuple[str, str, str, float, tuple[Evidence, ...]]]:
        return Suggestion, (self.concept, self.group, self.label, self.score, self.evidence)


@dataclass(frozen=True, slots=True)
class TaggingResult:
    """Suggestions, best first, and whether the paper is about MSC-vesicle therapy at all."""

    suggestions: tuple[Suggestion, ...]
    on_topic: bool
    focus_score: float
    focus_reason: str

    def __reduce__(self) -> tuple[type[TaggingResult],
                                  tuple[tuple[Suggestion, ...], bool, float, str]]:
        return TaggingResult, (self.suggestions, self.on_topic, self.focus_score,
                               self.focus_reason)

    def applied(self, threshold: float = DEFAULT_THRESHOLD) -> tuple[Suggestion, ...]:
        """The suggestions at or above ``threshold``."""
        return tuple(s for s in self.suggestions if s.score >= threshold)

    def in_group(self, group: str) -> tuple[Suggestion, ...]:
        return tuple(s for s in self.suggestions if s.group == group)

    def get(self, concept: str) -> Suggestion | None:
        for s in self.suggestions:
            if s.concept == concept:
                return s
        return None


# --------------------------------------------------------------------------------------------
# Weights.  Strengths add up; score = 1 - exp(-strength); 0.69 is the default threshold.
# --------------------------------------------------------------------------------------------

#: What the first mention in each part of a paper counts.
_ROLE_BASE = {"title": 1.2, "keywords": 0.9, "abstract": 0.45, "lead": 0.45, "body": 0.04}
#: What each further mention counts, as a share of the first.
_ROLE_REPEAT = {"title": 0.5, "keywords": 0.3, "abstract": 0.6, "lead": 0.6, "body": 1.0}
#: The most a concept can get from one part of a paper.
_ROLE_CAP = {"title": 2.0, "keywords": 1.2, "abstract": 2.2, "lead": 1.6, "body": 0.6}
#: The body cap for a paper without title and abstract (the body is all there is).
_BODY_ALONE_CAP = 1.4
#: The body cap for the MSC source when one source dominates the body (methods sections
#: name the cells the vesicles came from many times).
_SOURCE_BODY_CAP = 1.1
_KIND = {mt.SYN: 1.0, mt.ABBR: 1.0, mt.CELLS: 1.0, mt.TISSUE: 0.45, mt.HINT: 0.5}
#: Study types: one "in vivo" or "review" in an abstract settles more than one disease name.
_STUDY_FACTOR = 1.6
_CONTRAST = 0.15
_LIST_PRIMARY = 0.3
_LIST_SOURCE = 0.3
_AIM = 1.6
_WITH_VESICLES = 1.3
_RESULT = 1.2
_FUTURE = 0.2
_REVIEW_SILENCES = 0.15
#: What a clinical trial cue (participants, consent, "24 patients") counts in a survey.
_SURVEY_DAMP = 0.1
#: A parent with a suggested child is listed when its own strength is at least this share of
#: the child's.
_PARENT_SHARE = 0.8
_PUBTYPE = 2.5
_MESH = 1.2
_TRIAL_ID = 2.5
_REGISTRY = {"title": 2.0, "abstract": 2.0, "keywords": 1.0, "lead": 1.6, "body": 0.6}
_PRIMARY_DAMP = 0.7
_NO_PRIMARY_BOOST = 1.6
#: How many body mentions of a concept are examined one by one (the rest reach the cap).
_BODY_EXAMINED = 8
#: Title and abstract strength past which the body cannot change a concept's suggestion.
_SETTLED = 2.5
_EVIDENCE_KEPT = 6
_CONTEXT_CHARS = 40

#: Registries whose ids are looked for in a body too (the rest only in title and abstract).
_BODY_REGISTRIES = frozenset({"NCT", "ChiCTR", "ISRCTN", "EudraCT", "ACTRN"})
_HEAD_ROLES = frozenset({"title", "abstract", "keywords", "lead"})
_PRIMARY_TYPES = ("in-vitro", "animal", "clinical-trial")
_ABBR_DEF = re.compile(r"\s{0,3}\(\s?([A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+){0,3})\s?[),;]")
_ROMAN = re.compile(r"[IVX]+s?")
_NEWLINE = re.compile(r"\n")
#: A number of people in a study.
_PEOPLE = re.compile(
    r"\b(?:\d{1,5}|[Tt]wo|[Tt]hree|[Ff]our|[Ff]ive|[Ss]ix|[Ss]even|[Ee]ight|[Nn]ine|[Tt]en|"
    r"[Tt]welve|[Tt]wenty)\s+(?:(?:adult|consecutive|eligible|healthy|elderly)\s+)?"
    r"(?:patients|participants|subjects|volunteers|children|infants|neonates|adults)\b")
#: The headings of a structured abstract of primary research.
_STRUCTURED = re.compile(r"\b(?:Methods?|METHODS?|Materials and [Mm]ethods|Results|RESULTS|"
                         r"Findings|FINDINGS)\s*:|\bp\s*[<=]\s*0?\.0\d")
#: Where the start of a body that stands in for a missing abstract ends.
_LEAD_END = re.compile(
    r"(?im)^[ \t]*(?:\d{1,2}\.?[ \t]*)?(?:introduction|background)[ \t]*:?[ \t]*$")
#: "... and neurological disease": the end of a list of diseases sharing one head noun.
_COORD_HEAD = re.compile(
    r"\b(?:and|or)\s+([a-z][a-z\-]+)\s+(diseases?|disorders?|injur(?:y|ies)|damage|failure|"
    r"fibrosis|dysfunction|conditions?)\b")
#: "liver, kidney, cardiovascular " before it.
_COORD_LIST = re.compile(r"(?:[a-z][a-z\-]+,\s+){0,6}[a-z][a-z\-]+,?\s+$")
_WORD = re.compile(r"[a-z][a-z\-]+")
#: The word right after a hyphen that ends a study-type phrase ("in vitro-expanded").
_HYPHENATED_WORD = re.compile(r"-([a-z]+)")


#: An abstract's heading at the start of a text ("Abstract", "Summary", "ABSTRACT:").
_ABSTRACT_HEADING = re.compile(
    r"(?im)^[ \t]*(?:abstract|summary|a b s t r a c t)[ \t]*[:.]?[ \t]*$|^[ \t]*abstract[ \t]*[:.]")
#: A short line after a blank line: the next heading of a web page ("Citing Articles").
_SHORT_HEADING = re.compile(r"\n[ \t]*\n[ \t]*([A-Z][^\n]{1,40})[ \t]*\n")


def _lead_end(body: str, cut: int) -> int:
    """Where the start of a body that stands in for its abstract ends.

    The title, authors and abstract come first in a paper: up to an "Introduction" or
    "Background" heading, or the first short heading after the abstract, at most 3,000
    characters after the abstract's heading.
    """
    heading = _ABSTRACT_HEADING.search(body, 0, min(cut, 6000))
    start = heading.end() if heading else 0
    end = min(cut, start + 3000)
    found = _LEAD_END.search(body, start + 200, end)
    if found:
        end = found.start()
    for short in _SHORT_HEADING.finditer(body, start + 300, end):
        if not short.group(1).rstrip().endswith((".", ",", ";")):
            end = short.start() + 1
            break
    return end


def _score(strength: float) -> float:
    return round(1.0 - math.exp(-max(0.0, strength)), 3)


def _alternation(phrases: Iterable[str]) -> str:
    """A regular expression matching any of ``phrases`` (lower case, any white space between
    words), factored as a trie: ``we (?:aimed|a...)`` rather than ``we aimed|we a...``.

    Python's ``re`` tries the alternatives of a flat list one by one at every position of the
    text; factored, it tries one character per branch point (a sentence was checked against
    the sixty "aim" phrases in 45 µs, now in a few).
    """
    trie: dict[str, Any] = {}
    for phrase in phrases:
        words = phrase.lower().split()
        if not words:
            continue
        tokens = list(words[0])
        for word in words[1:]:
            tokens += [" ", *word]  # " ": any white space
        node = trie
        for token in tokens:
            node = node.setdefault(token, {})
        node[""] = {}  # a phrase ends here
    return _trie_regex(trie) if trie else "(?!)"


def _trie_regex(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [(r"\s+" if token == " " else re.escape(token)) + _trie_regex(child)
                for token, child in sorted(node.items()) if token]
    if not branches:
        return ""
    if len(branches) == 1 and not ends:
        return branches[0]
    body = "|".join(branches)
    return f"(?:{body})?" if ends else f"(?:{body})"


@dataclass(slots=True)
class _Segment:
    name: str   # the Evidence field: title, abstract, keywords or body
    role: str   # how it counts: title, abstract, keywords, lead or body
    norm: NormText
    matches: list[mt.Match]
    sentences: list[int] | None = None
    flags: dict[int, tuple[bool, bool, bool]] = field(default_factory=dict)

    def sentence_of(self, start: int, end: int) -> tuple[int, int]:
        if self.sentences is not None:
            k = bisect_right(self.sentences, start) - 1
            lo = self.sentences[k]
            hi = self.sentences[k + 1] if k + 1 < len(self.sentences) else len(self.norm.lower)
            return lo, hi
        lower = self.norm.lower
        floor = max(0, start - 300)
        lo = max(lower.rfind(". ", floor, start), lower.rfind("\n\n", floor, start))
        lo = lo + 2 if lo >= 0 else floor
        ceiling = min(len(lower), end + 300)
        hits = [h for h in (lower.find(". ", end, ceiling), lower.find("\n\n", end, ceiling))
                if h >= 0]
        return lo, (min(hits) + 1 if hits else ceiling)


@dataclass(slots=True)
class _Mention:
    strength: float
    segment: _Segment | None
    start: int
    end: int
    evidence: Evidence | None = None


@dataclass(slots=True)
class _Tally:
    """Strength gathered by one concept, and the mentions behind it."""

    by_role: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    mentions: list[_Mention] = field(default_factory=list)
    meta: float = 0.0   # publication types, trial ids (never damped)

    def total(self) -> float:
        return sum(self.by_role.values()) + self.meta


class Tagger:
    """Suggests tags from a vocabulary; build once, call :meth:`suggest` many times."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._cv = mt.compile_vocabulary(vocabulary)
        known = self._cv.known_words
        self._known = known.__contains__
        ctx = vocabulary.context
        # A negation up to three words before a mention ("no", "without"; "not only" is
        # none), "non-" right before it, or a contrast anywhere in the words before it.
        near = _alternation(p for p in ctx.contrast_near if p not in ("non", "not"))
        if "not" in ctx.contrast_near:
            near += r"|not(?!\s+only)"
        self._contrast_near = re.compile(r"\b(?:" + near + r")\b\W+(?:[a-z0-9]+\W+){0,2}$")
        self._contrast = re.compile(
            r"\b(?:" + _alternation(ctx.contrast) + r")\b|\bnon[\s-]*$|" +
            self._contrast_near.pattern)
        self._future = re.compile(r"\b(?:" + _alternation(ctx.future) + r")\b")
        self._aim = re.compile(r"(?:^|\W)(?:" + _alternation(ctx.aim) + r")(?:\W|$)")
        self._result = re.compile(r"(?:^|\W)(?:" + _alternation(ctx.result) + r")(?:\W|$)")
        self._cell_nouns = frozenset(w.lower() for w in ctx.cell_nouns)
        self._made = frozenset(w for p in ctx.made_participles
                               for words in mt.phrase_variants(p, plural=False) for w in words)
        self._group = {c.id: c.group for c in vocabulary}
        self._label = {c.id: c.label for c in vocabulary}
        self._ancestors = {c.id: vocabulary.ancestors(c.id) for c in vocabulary}
        self._descendants = {c.id: vocabulary.descendants(c.id) for c in vocabulary}
        self._cue_weight = {c.id: c.cue_weight for c in vocabulary}
        self._review_ids = ("review", *self._descendants.get("review", ()))
        self._trial_pubtypes = {p.lower() for c in vocabulary if c.id == "clinical-trial"
                                for p in c.publication_types}
        self._review_pubtypes = {p.lower() for cid in self._review_ids
                                 if cid in vocabulary
                                 for p in vocabulary.concept(cid).publication_types}
        static = {(_key(a), c.id) for c in vocabulary for a in c.abbreviations}
        static |= {(_key(a), mt.VESICLE) for a in vocabulary.focus.vesicle_abbreviations}
        static |= {(_key(a), mt.MSC) for a in vocabulary.focus.msc_abbreviations}
        self._static_abbreviations = static

    # -- public -----------------------------------------------------------------------------

    def suggest(self, inp: TaggingInput) -> TaggingResult:
        """Suggestions for one paper, best first, with the focus check."""
        segments = self._segments(inp)
        self._abbreviations(segments)
        for seg in segments:
            if seg.role in _HEAD_ROLES:
                self._coordination(seg)
            seg.matches = _greedy(seg.matches)
        tallies: dict[str, _Tally] = {}
        primary = self._primary_strength(segments)
        review_like = self._review_hint(segments, inp)
        survey = _is_survey(segments)
        self._mentions(segments, tallies, review_like, survey)
        self._meta(inp, segments, tallies, survey)
        self._study_types(inp, tallies, primary, segments)
        suggestions = self._suggestions(tallies)
        on_topic, focus_score, reason = self._focus(inp, segments)
        return TaggingResult(suggestions, on_topic, focus_score, reason)

    def suggest_many(self, inputs: Iterable[TaggingInput], processes: int | None = None,
                     chunksize: int = 16) -> Iterator[TaggingResult]:
        """:meth:`suggest` for many papers, in order, on ``processes`` worker processes.

        ``processes=None`` uses every core; 1 runs here.  Workers start with a fork server
        (safe from a process that runs threads, such as the GUI) and build their own tagger
        once from this vocabulary.
        """
        count = processes or multiprocessing.cpu_count()
        if count <= 1:
            for inp in inputs:
                yield self.suggest(inp)
            return
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ctx.Pool(count, initializer=_init_worker, initargs=(self.vocabulary,)) as pool:
            yield from pool.imap(_suggest_in_worker, inputs, chunksize=chunksize)

    # -- segments -------------------------------------------------------------------------

    def _segment(self, field_name: str, role: str, text: str, base: int = 0) -> _Segment:
        norm = normalise(text, self._known, base)
        seg = _Segment(field_name, role, norm, mt.scan(norm, self._cv, body=role == "body"))
        if role != "body":
            seg.sentences = sentence_starts(norm.cased)
        return seg

    def _segments(self, inp: TaggingInput) -> list[_Segment]:
        segments: list[_Segment] = []
        if inp.title.strip():
            segments.append(self._segment("title", "title", inp.title))
        if inp.abstract.strip():
            abstract = self._segment("abstract", "abstract", inp.abstract)
            self._drop_citations(abstract)
            segments.append(abstract)
        keywords = [k.strip() for k in inp.keywords if k.strip()]
        if keywords:
            # one segment for all of them (a segment's fixed cost is most of a keyword's): the
            # separator stops a phrase from running from one keyword into the next
            segments.append(self._segment("keywords", "keywords", KEYWORD_SEPARATOR.join(keywords)))
        body = inp.body
        if body.strip():
            cut = reference_cut(body.lower())
            lead_end = 0
            if not inp.abstract.strip():
                lead_end = _lead_end(body, cut)
                if lead_end > 0:
                    lead = self._segment("body", "lead", body[:lead_end])
                    self._drop_citations(lead)
                    segments.append(lead)
            if cut > lead_end:
                seg = self._segment("body", "body", body[lead_end:cut], base=lead_end)
                self._drop_citations(seg)
                segments.append(seg)
        return segments

    @staticmethod
    def _drop_citations(seg: _Segment) -> None:
        """Drop the matches that sit on a line that looks like a reference entry."""
        if not seg.matches:
            return
        cased = seg.norm.cased
        # Line ends found once: looking back from every match would be quadratic in a long
        # line (a 10 MB abstract on one line has thousands of matches).
        ends = [m.start() for m in _NEWLINE.finditer(cased)]
        ends.append(len(cased))
        verdict: dict[int, bool] = {}
        kept: list[mt.Match] = []
        for m in seg.matches:
            line = bisect_left(ends, m.start)
            cited = verdict.get(line)
            if cited is None:
                line_start = ends[line - 1] + 1 if line else 0
                cited = is_citation_line(cased[line_start:ends[line]])
                verdict[line] = cited
            if not cited:
                kept.append(m)
        seg.matches = kept

    # -- abbreviations ----------------------------------------------------------------------

    def _abbreviations(self, segments: list[_Segment]) -> None:
        """Keep the abbreviations the paper defines or that are clear; add its own ones."""
        defined: dict[str, mt.Payload] = {}
        foreign: set[str] = set()
        for seg in segments:
            self._definitions(seg, defined, foreign)
        dynamic: dict[str, tuple[str, ...]] = {}
        static = self._static_abbreviations
        for key, payload in defined.items():
            if (key, payload.target) not in static:
                words = phrase_tokens(key)
                if words:
                    dynamic[key] = words
        for seg in segments:
            kept: list[mt.Match] = []
            for m in seg.matches:
                if m.payload.kind != mt.ABBR:
                    kept.append(m)
                    continue
                resolved = self._resolve(seg, m, defined, foreign)
                if resolved is not None:
                    kept.append(resolved)
            if dynamic:
                kept.extend(self._find_dynamic(seg, dynamic, defined))
            seg.matches = kept

    def _definitions(self, seg: _Segment, defined: dict[str, mt.Payload],
                     foreign: set[str]) -> None:
        cased = seg.norm.cased
        ends: dict[int, mt.Match] = {}
        begins: dict[int, mt.Match] = {}
        for m in seg.matches:
            if m.payload.kind in (mt.SYN, mt.CELLS, mt.TISSUE) and m.payload.layer in (
                    mt.CONCEPT, mt.FOCUS) and m.payload.target:
                # per end, the longest phrase, a concept before a focus word: "type 1 diabetes
                # mellitus (T1DM)" defines T1DM, not the "diabetes mellitus" inside it
                prev = ends.get(m.end)
                concept = m.payload.layer == mt.CONCEPT
                if prev is None or (concept, -m.start) > (
                        prev.payload.layer == mt.CONCEPT, -prev.start):
                    ends[m.end] = m
                begins.setdefault(m.start, m)
        for m in seg.matches:
            if m.payload.kind == mt.ABBR and (
                    "(" in cased[max(0, m.start - 2):m.start] or
                    "(" in cased[m.end:m.end + 3]):
                self._abbreviation_site(seg, m, ends, begins, defined, foreign)
        stops: list[tuple[int, int]] | None = None
        for end, m in ends.items():
            if "(" not in cased[end:end + 4]:
                continue
            found = _ABBR_DEF.match(cased, end)
            if not found:
                continue
            if m.payload.layer == mt.CONCEPT:
                # A phrase inside a stop phrase defines nothing: in "acellular amniotic
                # membrane (hAAM)" the membrane is a material, hAAM no MSC source.
                if stops is None:
                    stops = [(s.start, s.end) for s in seg.matches if s.payload.kind == mt.STOP]
                if any(lo <= m.start and end <= hi for lo, hi in stops):
                    continue
            abbr = found.group(1)
            if not _plausible(abbr, seg.norm.lower[m.start:m.end]):
                continue
            payload = m.payload
            if payload.kind in (mt.TISSUE, mt.CELLS):
                payload = mt.Payload(mt.CONCEPT, mt.ABBR, payload.target)
            elif payload.layer == mt.CONCEPT:
                payload = mt.Payload(mt.CONCEPT, mt.ABBR, payload.target)
            else:
                payload = mt.Payload(mt.FOCUS, mt.ABBR, payload.target)
            defined.setdefault(_key(abbr), payload)

    def _abbreviation_site(self, seg: _Segment, m: mt.Match, ends: dict[int, mt.Match],
                           begins: dict[int, mt.Match], defined: dict[str, mt.Payload],
                           foreign: set[str]) -> None:
        """"mass spectrometry (MS)" / "MS (mass spectrometry)": defined as something else."""
        cased = seg.norm.cased
        printed = cased[m.start:m.end]
        before = cased[max(0, m.start - 3):m.start].rstrip()
        after = cased[m.end:m.end + 3].lstrip()
        if before.endswith("(") and after[:1] in (")", ";", ","):
            paren = cased.rfind("(", 0, m.start)
            long_end = len(cased[:paren].rstrip())
            if long_end in ends:
                return
            words = _WORD.findall(seg.norm.lower[max(0, paren - 80):paren])
            if _initials_match(printed, words):
                foreign.add(_key(printed))
            return
        follow = _ABBR_LONG.match(cased, m.end)
        if follow:
            inner_start = follow.start(1)
            hit = begins.get(inner_start)
            if hit is not None and hit.payload.layer == m.payload.layer:
                if hit.payload.target == m.payload.target or m.payload.layer == mt.CONCEPT:
                    defined.setdefault(_key(printed), mt.Payload(
                        hit.payload.layer, mt.ABBR, hit.payload.target))
                return
            words = _WORD.findall(follow.group(1).lower())
            if len(words) >= 2 and _initials_match(printed, words, from_start=True):
                foreign.add(_key(printed))

    def _resolve(self, seg: _Segment, m: mt.Match, defined: dict[str, mt.Payload],
                 foreign: set[str]) -> mt.Match | None:
        key = _key(seg.norm.cased[m.start:m.end])
        payload = m.payload
        meaning = defined.get(key)
        if meaning is not None:
            if meaning.target == payload.target and meaning.layer == payload.layer:
                return m
            if meaning.layer != payload.layer:
                return None
            return mt.Match(mt.Payload(meaning.layer, mt.ABBR, meaning.target),
                            m.first, m.last, m.start, m.end)
        if key in foreign:
            return None
        if payload.context is None:
            return m
        if not payload.context:
            return None
        lower = seg.norm.lower
        window = lower[max(0, m.start - 90):m.end + 90]
        if any(stem in window for stem in payload.context):
            return m
        return None

    def _find_dynamic(self, seg: _Segment, dynamic: dict[str, tuple[str, ...]],
                      defined: dict[str, mt.Payload]) -> list[mt.Match]:
        parts = seg.norm.parts
        first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        cased = seg.norm.cased
        for key, words in dynamic.items():
            if key[:2] not in cased:
                continue
            first.setdefault(words[0], []).append((key, words))
            first.setdefault(words[0] + "s", []).append((key, words))
        if not first:
            return []
        hits = list(compress(range(len(parts)), map(first.__contains__, parts)))
        out: list[mt.Match] = []
        pos = 0
        prev = 0
        for i in hits:
            pos += sum(map(len, parts[prev:i])) + (i - prev)
            prev = i
            for key, words in first[parts[i]]:
                j = i
                ok = True
                for w in words[1:]:
                    j += 1
                    while j < len(parts) and parts[j] == "" and j - i < 6:
                        j += 1
                    if j >= len(parts) or parts[j] not in (w, w + "s"):
                        ok = False
                        break
                if not ok:
                    continue
                end = pos + sum(map(len, parts[i:j + 1])) + (j - i)
                printed = _key(cased[pos:end])
                if printed != key:
                    continue
                out.append(mt.Match(defined[key], i, j, pos, end))
        return out

    # -- coordination: "liver, kidney and heart disease" ------------------------------------

    def _coordination(self, seg: _Segment) -> None:
        lower = seg.norm.lower
        root = self._cv.root.next
        added: list[mt.Match] = []
        for found in _COORD_HEAD.finditer(lower):
            head_words = phrase_tokens(found.group(2))
            members = _COORD_LIST.search(lower, max(0, found.start() - 160), found.start())
            if members is None:
                continue
            for member in _WORD.finditer(lower, members.start(), members.end()):
                word = member.group()
                if word in ("and", "or"):
                    continue
                for payload in _lookup(root, (*phrase_tokens(word), *head_words)):
                    if payload.layer == mt.CONCEPT and payload.kind == mt.SYN:
                        added.append(mt.Match(payload, -1, -1, member.start(), member.end()))
        if added:
            seg.matches.extend(added)

    # -- mentions -------------------------------------------------------------------------

    def _primary_strength(self, segments: list[_Segment]) -> float:
        """How much the title and abstract read like primary research ("we found", p values,
        a structured abstract with Methods and Results)."""
        total = 0.0
        body = 0.0
        for seg in segments:
            if seg.role in ("abstract", "lead") and _STRUCTURED.search(seg.norm.cased):
                total += 1.0
            for m in seg.matches:
                if m.payload.layer != mt.CUE or m.payload.target != mt.PRIMARY:
                    continue
                if seg.role == "body":
                    body += 0.01
                elif seg.role == "lead":
                    total += 0.25
                else:
                    total += 0.45
        return total + min(body, 0.2)

    def _review_hint(self, segments: list[_Segment], inp: TaggingInput) -> bool:
        """A first guess of "review" (for the list rule), from the title and abstract."""
        if any(p.lower() in self._review_pubtypes for p in inp.publication_types):
            return True
        for seg in segments:
            if seg.role not in _HEAD_ROLES:
                continue
            for m in seg.matches:
                if m.payload.layer == mt.CONCEPT and m.payload.target in self._review_ids:
                    return True
        return False

    def _mentions(self, segments: list[_Segment], tallies: dict[str, _Tally],
                  review_like: bool, survey: bool) -> None:
        has_head = any(s.role in ("title", "abstract", "lead") for s in segments)
        for seg in segments:
            concept_matches = [m for m in seg.matches if m.payload.layer == mt.CONCEPT and
                               m.payload.kind != mt.STOP and m.payload.target]
            if not concept_matches:
                continue
            vesicle_starts = sorted(m.start for m in seg.matches
                                    if m.payload.layer == mt.FOCUS and
                                    m.payload.target == mt.VESICLE)
            concept_matches.sort(key=lambda m: m.start)
            starts = [m.start for m in concept_matches]
            role = seg.role
            base = _ROLE_BASE[role]
            examined: dict[str, int] = {}
            # Body mentions are looked at closely only for concepts the title or abstract
            # name (or their relatives): the others cannot reach the threshold from the body.
            closely = self._related(tallies) if role == "body" and has_head else None
            for m in concept_matches:
                cid = m.payload.target
                group = self._group.get(cid)
                if group is None or (group == "study_type" and self._made_by(seg, m)):
                    continue
                tally = tallies.setdefault(cid, _Tally())
                if role == "body":
                    n = examined.get(cid, 0)
                    examined[cid] = n + 1
                    if n >= _BODY_EXAMINED or (closely is not None and cid not in closely):
                        strength = base * _KIND.get(m.payload.kind, 1.0) * (0.5 if n == 0 else 1)
                        tally.counts[role] = n + 1
                        tally.by_role[role] = tally.by_role.get(role, 0.0) + strength
                        if n < 3:
                            tally.mentions.append(_Mention(strength, seg, m.start, m.end))
                        continue
                factor = _KIND.get(m.payload.kind, 1.0)
                if group == "study_type":
                    factor *= _STUDY_FACTOR
                    if m.payload.kind == mt.HINT:
                        factor = _STUDY_FACTOR * self._cue_weight.get(cid, 0.5)
                        if survey and cid == "clinical-trial":
                            factor *= _SURVEY_DAMP
                factor *= self._context_factor(seg, m, concept_matches, starts, vesicle_starts,
                                               group, review_like)
                if factor <= 0:
                    continue
                k = tally.counts.get(role, 0)
                tally.counts[role] = k + 1
                strength = base * factor
                if k > 0:
                    strength *= _ROLE_REPEAT[role]
                elif role == "body":
                    strength *= 0.5
                tally.by_role[role] = tally.by_role.get(role, 0.0) + strength
                tally.mentions.append(_Mention(strength, seg, m.start, m.end))
        for tally in tallies.values():
            for role, value in tally.by_role.items():
                cap = _ROLE_CAP[role]
                if role == "body" and not has_head:
                    cap = _BODY_ALONE_CAP
                tally.by_role[role] = min(value, cap)
        self._source_dominance(tallies, has_head)

    def _made_by(self, seg: _Segment, m: mt.Match) -> bool:
        """Whether a study-type phrase says how cells were made, not how the study was done.

        "in vitro-expanded MSCs", "ex vivo-expanded", "in vitro-differentiated chondrocytes":
        the phrase is joined by a hyphen to a participle of making (the vocabulary's
        ``made_participles``), a compound adjective on the cells.  "In vitro, the exosomes..."
        and "hypoxia/reoxygenation-induced injury" (a model, not a way of making cells) still
        count.
        """
        lower = seg.norm.lower
        if m.end >= len(lower) or lower[m.end] != "-":
            return False
        word = _HYPHENATED_WORD.match(lower, m.end)
        return word is not None and word.group(1) in self._made

    def _related(self, tallies: dict[str, _Tally]) -> set[str]:
        """Concepts whose body mentions may change the outcome: those the title or abstract
        name (and their relatives), unless the title and abstract already settle them."""
        out: set[str] = set()
        settled: set[str] = set()
        for cid, tally in tallies.items():
            if tally.by_role:
                if sum(tally.by_role.values()) >= _SETTLED:
                    settled.add(cid)
                out.add(cid)
                out.update(self._ancestors.get(cid, ()))
                out.update(self._descendants.get(cid, ()))
        return out - settled

    def _source_dominance(self, tallies: dict[str, _Tally], has_head: bool) -> None:
        """One MSC source named over and over in the body is the source of the vesicles."""
        body = {cid: t.counts.get("body", 0) for cid, t in tallies.items()
                if self._group.get(cid) == "msc_source"}
        total = sum(body.values())
        if total < 5:
            return
        top = max(body, key=lambda c: body[c])
        if body[top] >= 5 and body[top] >= 0.7 * total:
            tally = tallies[top]
            raw = sum(m.strength for m in tally.mentions if m.segment is not None and
                      m.segment.role == "body")
            raw += 0.04 * max(0, body[top] - _BODY_EXAMINED)
            tally.by_role["body"] = min(raw, _SOURCE_BODY_CAP if has_head else _BODY_ALONE_CAP)

    def _context_factor(self, seg: _Segment, m: mt.Match, matches: list[mt.Match],
                        starts: list[int], vesicle_starts: list[int], group: str,
                        review_like: bool) -> float:
        lower = seg.norm.lower
        cid = m.payload.target
        sent_lo, sent_hi = seg.sentence_of(m.start, m.end)
        window = lower[max(sent_lo, m.start - 80):m.start]
        factor = 1.0
        if group != "study_type":
            if self._contrast.search(window):
                return _CONTRAST
        else:
            if self._contrast_near.search(window) and cid != "review":
                factor *= 0.3
        if group == "study_type":
            if cid in _PRIMARY_TYPES and self._flags(seg, sent_lo, sent_hi)[1]:
                factor *= _FUTURE
            if cid == "animal" and 0 <= m.first == m.last and self._next_is_cell(seg, m):
                return 0.0
            return factor
        listed = self._listed(seg, m, matches, starts, group)
        if listed:
            if group == "msc_source":
                # "MSCs come from bone marrow, fat, cord..." counts little; "exosomes from
                # BM-MSCs, AD-MSCs and UC-MSCs were compared" names the vesicles' sources.
                if not _near(vesicle_starts, m.start - 70, m.end + 70):
                    factor *= _LIST_SOURCE
            elif not (review_like and seg.role in _HEAD_ROLES):
                factor *= _LIST_PRIMARY
        if seg.role in ("abstract", "lead"):
            if group == "msc_source" and _near(vesicle_starts, m.start - 70, m.end + 70):
                factor *= _AIM   # "exosomes from bone marrow MSCs": the vesicles' source
            else:
                aim, _future, result = self._flags(seg, sent_lo, sent_hi)
                if aim:
                    factor *= _AIM
                elif _near(vesicle_starts, sent_lo, sent_hi):
                    factor *= _WITH_VESICLES
                elif result:
                    factor *= _RESULT
        return factor

    def _flags(self, seg: _Segment, lo: int, hi: int) -> tuple[bool, bool, bool]:
        """Whether the sentence at ``lo:hi`` states an aim, looks ahead, states a result."""
        flags = seg.flags.get(lo)
        if flags is None:
            sentence = " ".join(seg.norm.lower[lo:hi].split())
            flags = (self._aim.search(sentence) is not None,
                     self._future.search(sentence) is not None,
                     self._result.search(sentence) is not None)
            seg.flags[lo] = flags
        return flags

    def _next_is_cell(self, seg: _Segment, m: mt.Match) -> bool:
        parts = seg.norm.parts
        j = m.last + 1
        seen = 0
        while j < len(parts) and seen < 2:
            if parts[j]:
                if parts[j] in self._cell_nouns:
                    return True
                seen += 1
            j += 1
        return False

    def _listed(self, seg: _Segment, m: mt.Match, matches: list[mt.Match], starts: list[int],
                group: str) -> bool:
        """Whether ``m`` is one of three or more unrelated concepts named in one sentence."""
        lo, hi = seg.sentence_of(m.start, m.end)
        a = bisect_left(starts, lo)
        b = bisect_left(starts, hi)
        if b - a < 3:
            return False
        cid = m.payload.target
        related = {cid, *self._ancestors.get(cid, ()), *self._descendants.get(cid, ())}
        others: set[str] = set()
        for other in matches[a:b]:
            oid = other.payload.target
            if oid in related or self._group.get(oid) != group:
                continue
            if any(x in others for x in (*self._ancestors.get(oid, ()),
                                         *self._descendants.get(oid, ()))):
                continue
            others.add(oid)
            if len(others) >= 2:
                return True
        return False

    # -- MeSH, publication types, trial ids, registry ids -------------------------------------

    def _meta(self, inp: TaggingInput, segments: list[_Segment],
              tallies: dict[str, _Tally], survey: bool) -> None:
        cv = self._cv
        for heading in inp.mesh:
            name = heading.strip().lstrip("*").split("/")[0].strip().rstrip("*")
            for cid in cv.mesh_terms.get(name.lower(), ()):
                if cid not in self._group:
                    continue
                tally = tallies.setdefault(cid, _Tally())
                strength = _MESH * (0.8 if self._group[cid] == "study_type" else 1.0)
                tally.by_role["mesh"] = min(tally.by_role.get("mesh", 0.0) + strength, 2.0)
                tally.mentions.append(_Mention(strength, None, 0, 0, Evidence(
                    "mesh", heading, 0, len(heading), heading)))
        for ptype in inp.publication_types:
            for cid in cv.publication_types.get(ptype.strip().lower(), ()):
                if cid not in self._group:
                    continue
                tally = tallies.setdefault(cid, _Tally())
                tally.meta = max(tally.meta, _PUBTYPE)
                tally.mentions.append(_Mention(_PUBTYPE, None, 0, 0, Evidence(
                    "publication_type", ptype, 0, len(ptype), ptype)))
        trial_tally = tallies.setdefault("clinical-trial", _Tally()) \
            if "clinical-trial" in self._group else None
        if trial_tally is None:
            return
        for trial_id in inp.trial_ids:
            if trial_id.strip():
                trial_tally.meta = max(trial_tally.meta, _TRIAL_ID)
                trial_tally.mentions.append(_Mention(_TRIAL_ID, None, 0, 0, Evidence(
                    "trial_id", trial_id, 0, len(trial_id), trial_id)))
        for seg in segments:
            cased = seg.norm.cased
            if seg.role in ("abstract", "lead"):
                # "24 patients", "twelve participants": people were treated or followed.
                people = _PEOPLE.search(cased)
                if people is not None:
                    strength = _ROLE_BASE[seg.role] * _STUDY_FACTOR * self._cue_weight.get(
                        "clinical-trial", 0.5)
                    if survey:
                        strength *= _SURVEY_DAMP   # they were asked, not treated
                    trial_tally.by_role["people"] = strength
                    trial_tally.mentions.append(_Mention(strength, seg, people.start(),
                                                         people.end()))
            for prefix, pattern, _name in cv.registries:
                if seg.role == "body" and prefix not in _BODY_REGISTRIES:
                    continue
                if prefix not in cased:
                    continue
                for found in pattern.finditer(cased):
                    strength = _REGISTRY[seg.role]
                    if seg.role == "body":
                        before = seg.norm.lower[max(0, found.start() - 60):found.start()]
                        if "regist" in before or "identifier" in before:
                            strength = _REGISTRY["abstract"]
                    role = "registry-" + seg.role
                    trial_tally.by_role[role] = min(
                        trial_tally.by_role.get(role, 0.0) + strength, 2.5)
                    trial_tally.mentions.append(_Mention(strength, seg, found.start(),
                                                         found.end()))

    # -- study types ----------------------------------------------------------------------

    def _study_types(self, inp: TaggingInput, tallies: dict[str, _Tally], primary: float,
                     segments: list[_Segment]) -> None:
        ptypes = {p.strip().lower() for p in inp.publication_types if p.strip()}
        has_head = any(s.role in ("abstract", "lead") for s in segments)
        review_pub = bool(ptypes & self._review_pubtypes)
        trial_pub = bool(ptypes & self._trial_pubtypes)
        for cid in self._review_ids:
            tally = tallies.get(cid)
            if tally is None:
                continue
            damp = math.exp(-_PRIMARY_DAMP * primary)
            if has_head and primary == 0.0 and any(
                    r in ("abstract", "lead") for r in tally.by_role):
                damp = _NO_PRIMARY_BOOST   # review wording and nothing of primary research
            if ptypes and not review_pub:
                damp *= 0.35
            for role in list(tally.by_role):
                if role != "title":
                    tally.by_role[role] *= damp
        review_strength = sum(tallies[c].total() for c in self._review_ids if c in tallies)
        if _score(review_strength) >= DEFAULT_THRESHOLD and not trial_pub:
            for cid in _PRIMARY_TYPES:
                tally = tallies.get(cid)
                if tally is not None:
                    for role in tally.by_role:
                        tally.by_role[role] *= _REVIEW_SILENCES
        if ptypes and not trial_pub and "clinical-trial" in tallies:
            tally = tallies["clinical-trial"]
            for role in tally.by_role:
                if not role.startswith("registry"):
                    tally.by_role[role] *= 0.7

    # -- hierarchy and output -------------------------------------------------------------

    def _suggestions(self, tallies: dict[str, _Tally]) -> tuple[Suggestion, ...]:
        own = {cid: t.total() for cid, t in tallies.items() if t.total() > 0}
        if not own:
            return ()
        agg: dict[str, float] = {}
        for cid, value in own.items():
            for target in (cid, *self._ancestors.get(cid, ())):
                agg[target] = agg.get(target, 0.0) + value
        confident = {cid for cid, s in agg.items() if _score(s) >= DEFAULT_THRESHOLD}
        out: list[Suggestion] = []
        for cid, total in agg.items():
            below = [d for d in self._descendants[cid] if d in agg]
            sure = [agg[d] for d in below if d in confident]
            if sure:
                # The most specific concept is suggested; the parent too only where the paper
                # names it in its own right, about as often as the child ("osteoarthritis"
                # throughout a knee osteoarthritis paper, not one "renal injury" in an AKI
                # paper).
                if own.get(cid, 0.0) < _PARENT_SHARE * max(sure):
                    continue
                score = _score(own[cid])
                sources = [cid]
            elif cid not in own and cid not in confident:
                continue   # implied by a child that is itself suggested
            else:
                score = _score(total)
                sources = [cid, *below]
            if score < MIN_SCORE:
                continue
            mentions = [m for s in sources if s in tallies for m in tallies[s].mentions]
            out.append(Suggestion(cid, self._group[cid], self._label[cid], score,
                                  self._evidence(mentions)))
        out.sort(key=lambda s: (-s.score, s.group, s.concept))
        return tuple(out)

    @staticmethod
    def _evidence(mentions: list[_Mention]) -> tuple[Evidence, ...]:
        best = sorted(mentions, key=lambda m: -m.strength)[:_EVIDENCE_KEPT]
        out: list[Evidence] = []
        for m in best:
            if m.evidence is not None:
                out.append(m.evidence)
                continue
            seg = m.segment
            if seg is None:
                continue
            norm = seg.norm
            start, end = norm.field_span(m.start, m.end)
            local_start, local_end = start - norm.base, end - norm.base
            source = norm.source
            context = collapse(source[max(0, local_start - _CONTEXT_CHARS):
                                      local_end + _CONTEXT_CHARS])
            out.append(Evidence(seg.name, source[local_start:local_end], start, end, context))
        return tuple(out)

    # -- focus ----------------------------------------------------------------------------

    def _focus(self, inp: TaggingInput, segments: list[_Segment]) -> tuple[bool, float, str]:
        return _focus_check(self, inp, segments)


# --------------------------------------------------------------------------------------------
# Focus: is the paper about therapy with MSC-derived vesicles?
# --------------------------------------------------------------------------------------------

_FOCUS_ROLE = {"title": 2.0, "keywords": 1.0, "abstract": 1.0, "lead": 0.8, "body": 0.05}
_LINK_CHARS = 90
_LINK = "link"
_WEAK_LINK = "weak_link"
#: Body vesicle mentions examined for a link to MSCs (the body's share is capped anyway).
_FOCUS_BODY_LINKS = 40


@dataclass(slots=True)
class _FocusTally:
    head: dict[str, float] = field(default_factory=dict)
    body: dict[str, float] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, role: str, cls: str, weight: float | None = None) -> bool:
        """Count one mention; True when it was the first of its class (name it then)."""
        w = _FOCUS_ROLE[role] if weight is None else weight
        target = self.body if role == "body" else self.head
        current = target.get(cls, 0.0)
        if role == "body":
            target[cls] = min(current + w, 1.0)
        else:
            target[cls] = min(current + (w if current == 0 else w * 0.5), 4.0)
        return cls not in self.first

    def h(self, cls: str) -> float:
        return self.head.get(cls, 0.0)

    def b(self, cls: str) -> float:
        return self.body.get(cls, 0.0)


def _focus_check(tagger: Tagger, inp: TaggingInput,
                 segments: list[_Segment]) -> tuple[bool, float, str]:
    """Whether the paper is about therapy with MSC-derived vesicles; a score and a reason.

    Counts, per part of the paper, vesicle words, MSC words and the two together ("MSC-derived
    exosomes", "exosomes from bone marrow MSCs": a link), and cue phrases for diagnostics,
    epidemiology, cell therapy and vesicles of other origin.
    """
    tally = _FocusTally()
    focus_mesh = tagger._cv.mesh_focus
    for heading in inp.mesh:
        name = heading.strip().lstrip("*").split("/")[0].strip().rstrip("*").lower()
        cls = focus_mesh.get(name)
        if cls is not None and tally.add("abstract", cls, 1.5):
            tally.first[cls] = heading
    title_vesicle = title_link = False
    for seg in segments:
        role = seg.role
        vesicles: list[int] = []
        mscs: list[int] = []
        weak: list[int] = []
        for m in seg.matches:
            p = m.payload
            if p.layer == mt.FOCUS or (p.layer == mt.CUE and
                                       p.target not in (mt.PRIMARY, mt.SURVEY)):
                if tally.add(role, p.target):
                    tally.first[p.target] = seg.norm.source[
                        seg.norm.to_source(m.start):seg.norm.to_source(m.end)]
                if p.target == mt.VESICLE:
                    vesicles.append(m.start)
                elif p.target == mt.MSC:
                    mscs.append(m.start)
                elif p.target == mt.WEAK_MSC:
                    weak.append(m.start)
            elif p.layer == mt.CONCEPT and p.kind in (mt.CELLS, mt.ABBR) and \
                    tagger._group.get(p.target) == "msc_source":
                tally.add(role, mt.MSC)
                mscs.append(m.start)
        if not vesicles:
            continue
        title_vesicle |= role == "title"
        mscs.sort()
        weak.sort()
        lower = seg.norm.lower
        for v in vesicles[:_FOCUS_BODY_LINKS] if role == "body" else vesicles:
            if _linked(lower, mscs, v):
                tally.add(role, _LINK)
                title_link |= role == "title"
            elif _linked(lower, weak, v):
                tally.add(role, _WEAK_LINK)
    if not any(s.norm.lower.strip() for s in segments) and not inp.mesh:
        return False, 0.0, "no title or text to check"
    v_head, v_body = tally.h(mt.VESICLE), tally.b(mt.VESICLE)
    m_head, m_body = tally.h(mt.MSC), tally.b(mt.MSC)
    l_head = tally.h(_LINK) + 0.5 * tally.h(_WEAK_LINK)
    l_body = tally.b(_LINK) + 0.5 * tally.b(_WEAK_LINK)
    bio, epi = tally.h(mt.BIOMARKER), tally.h(mt.EPIDEMIOLOGY)
    cells, therapy = tally.h(mt.CELL_THERAPY), tally.h(mt.THERAPY)
    non_msc = tally.h(mt.NON_MSC) + tally.h(mt.NON_MSC_CELLS)
    other = collapse(tally.first.get(mt.NON_MSC) or tally.first.get(mt.NON_MSC_CELLS) or "")
    head_text = any(s.role in ("title", "abstract", "lead") for s in segments)

    def on(where: str, support: float) -> tuple[bool, float, str]:
        score = round(0.5 + 0.5 * (1 - math.exp(-support)), 3)
        return True, score, f"therapy with MSC-derived vesicles named in {where}"

    def off(reason: str, strength: float) -> tuple[bool, float, str]:
        return False, round(max(0.0, min(0.45, 0.45 * strength)), 3), reason

    if v_head + v_body < 0.3:
        if epi >= 1 and m_head < 1:
            return off("epidemiological study with no mention of extracellular vesicles or "
                       "exosomes", 0.1)
        if m_head + m_body >= 1:
            return off("MSCs used as cells, not vesicles: no mention of extracellular "
                       "vesicles, exosomes or secretome", 0.3)
        return off("no mention of extracellular vesicles or exosomes", 0.1)
    if l_head == 0:
        if not head_text and l_body >= 0.3:
            return on("the text", l_body)
        if m_head == 0:
            if bio >= 1:
                return off("exosomes studied as biomarkers, not therapy", 0.3)
            if non_msc >= 1:
                return off(f"extracellular vesicles from non-MSC sources ({other})", 0.4)
            if m_body >= 0.3 and l_body >= 0.3:
                return True, round(0.5 + 0.25 * (1 - math.exp(-l_body)), 3), \
                    "MSC-derived vesicles in the text, not in the title or abstract"
            if title_vesicle and therapy >= 1:
                # Vesicles as a therapy in the title, from no source the paper names: reviews
                # of "exosomes as cell-free therapy" gather mostly MSC-derived work.  Kept, with
                # a score that says it is a guess.
                return True, 0.55, "therapy with extracellular vesicles whose source is not named"
            return off("extracellular vesicles, but not from mesenchymal stem cells", 0.5)
        if not title_vesicle and (cells >= 1 or v_head <= 1.5):
            return off("MSCs used as cells, not vesicles (vesicles only mentioned)", 0.6)
        return on("the title and abstract, apart", 0.3 * min(v_head, m_head) + l_body)
    if bio >= 2 and bio > therapy and l_head < 2:
        return off("exosomes studied as biomarkers, not therapy", 0.6)
    if non_msc >= 2 and non_msc > l_head:
        return off(f"extracellular vesicles from non-MSC sources ({other})", 0.6)
    return on("the title" if title_link else "the abstract",
              l_head + 0.3 * min(v_head, m_head) + l_body)


def _linked(lower: str, starts: list[int], pos: int) -> bool:
    """Whether a start in ``starts`` is within reach of ``pos``, in the same sentence."""
    k = bisect_left(starts, pos - _LINK_CHARS)
    while k < len(starts) and starts[k] <= pos + _LINK_CHARS:
        lo, hi = sorted((starts[k], pos))
        gap = lower[lo:hi]
        if ". " not in gap and "\n\n" not in gap:
            return True
        k += 1
    return False


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_ABBR_LONG = re.compile(r"\s{0,3}\(([^()]{3,80})\)")


@lru_cache(maxsize=4096)
def _key(printed: str) -> str:
    """An abbreviation as a dictionary key: letters and digits, without a plural s."""
    key = "".join(ch for ch in printed if ch.isalnum())
    if len(key) > 2 and key.endswith("s") and not key[:-1].endswith("s") and \
            any(ch.isupper() for ch in key[:-1]):
        key = key[:-1]
    return key


def _plausible(abbr: str, long_form: str) -> bool:
    """Whether "(ABBR)" after a phrase abbreviates it: capitals, initial letter agrees."""
    letters = [ch for ch in abbr if ch.isalpha()]
    if len(letters) < 2 or not any(ch.isupper() for ch in abbr) or _ROMAN.fullmatch(abbr):
        return False
    first = abbr.lstrip("hrm")[:1] if len(abbr) > 2 and abbr[0] in "hrm" and \
        abbr[1:2].isupper() else abbr[:1]
    first = first.lower()
    words = _WORD.findall(long_form)
    return any(w[0] == first for w in words) or any(first in w for w in words[:1])


def _initials_match(abbr: str, words: Sequence[str], *, from_start: bool = False) -> bool:
    """Whether the words spell the abbreviation's letters by their initials."""
    letters = "".join(ch for ch in abbr.lower() if ch.isalpha())
    if len(letters) < 2:
        return False
    pieces = [p for w in words for p in w.split("-") if p]
    if len(pieces) < len(letters):
        return False
    chosen = pieces[:len(letters)] if from_start else pieces[-len(letters):]
    return "".join(p[0] for p in chosen) == letters


def _is_survey(segments: list[_Segment]) -> bool:
    """Whether the title, abstract or keywords say the study asked people (a survey).

    The people such a study counts ("200 orthopaedic surgeons", "312 patients"), its
    participants and their consent are no sign of a clinical trial: they answered questions.
    A questionnaire used to score a treatment ("the WOMAC questionnaire") is no survey
    phrase, so a trial that uses one keeps its cues.
    """
    for seg in segments:
        if seg.role in _HEAD_ROLES:
            for m in seg.matches:
                if m.payload.layer == mt.CUE and m.payload.target == mt.SURVEY:
                    return True
    return False


def _near(starts: list[int], lo: int, hi: int) -> bool:
    k = bisect_left(starts, lo)
    return k < len(starts) and starts[k] < hi


def _lookup(root: dict[str, mt._Node], words: Sequence[str]) -> list[mt.Payload]:
    node = root.get(words[0]) if words else None
    for w in words[1:]:
        if node is None:
            return []
        node = node.next.get(w)
    return list(node.payloads) if node is not None else []


def _greedy(matches: list[mt.Match]) -> list[mt.Match]:
    """Per layer, leftmost-longest matches that do not overlap; stop phrases removed."""
    if not matches:
        return matches
    out: list[mt.Match] = []
    by_layer: dict[int, list[mt.Match]] = {}
    for m in matches:
        by_layer.setdefault(m.payload.layer, []).append(m)
    for layer_matches in by_layer.values():
        layer_matches.sort(key=lambda m: (m.start, -m.end))
        reach = -1
        group_start = -1
        group_end = -1
        for m in layer_matches:
            if m.start >= reach:
                reach = m.end
                group_start, group_end = m.start, m.end
                if m.payload.kind != mt.STOP:
                    out.append(m)
            elif m.start == group_start and m.end == group_end and m.payload.kind != mt.STOP:
                out.append(m)   # the same words naming two concepts ("AD" with context)
    return out


# --------------------------------------------------------------------------------------------
# Worker processes
# --------------------------------------------------------------------------------------------

_WORKER: Tagger | None = None


def _init_worker(vocabulary: Vocabulary) -> None:
    global _WORKER
    _WORKER = Tagger(vocabulary)


def _suggest_in_worker(inp: TaggingInput) -> TaggingResult:
    assert _WORKER is not None, "tagging worker used before its initializer ran"
    return _WORKER.suggest(inp)
