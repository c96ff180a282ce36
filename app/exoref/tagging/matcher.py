"""Vocabulary phrases compiled into a word trie, and the scan of a text against it.

Each phrase becomes a path of lower-case words; the scan looks each word of the text up in
the trie's first level (a dict), so a text costs one dict lookup per word plus a short walk
where a phrase starts.  Variants are generated here once, not tried at match time: British and
American spellings, plurals of the last word, "Alzheimer's"/"Alzheimer"/"Alzheimers",
hyphenated compounds written as one word ("co-culture"/"coculture").  Hyphens, slashes, spaces
and line breaks between the words of a phrase are all accepted by the scan.

Abbreviations are phrases too, with a case rule checked against the folded text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING

from exoref.tagging.text import phrase_tokens

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from exoref.tagging.text import NormText
    from exoref.tagging.vocabulary import Concept, Vocabulary

__all__ = ["CompiledVocabulary", "Match", "Payload", "compile_vocabulary", "scan"]

# Layers: matches of different layers may overlap; within a layer the longest wins.
CONCEPT = 0
FOCUS = 1
CUE = 2

# Kinds of concept-layer phrases.
SYN = 0       # a synonym: names the concept
HINT = 1      # a study-type cue: suggests the concept, partial weight
TISSUE = 2    # an MSC source tissue alone ("bone marrow"), without a cell word
ABBR = 3      # an abbreviation
STOP = 4      # a stop phrase: contains a synonym, makes no tag
CELLS = 5     # an MSC source tissue with its cell word ("bone marrow MSCs")

# Focus-layer classes.
VESICLE = "vesicle"
MSC = "msc"
WEAK_MSC = "weak_msc"
BIOMARKER = "biomarker"
EPIDEMIOLOGY = "epidemiology"
CELL_THERAPY = "cell_therapy"
NON_MSC = "non_msc"
NON_MSC_CELLS = "non_msc_cells"
THERAPY = "therapy"
PRIMARY = "primary"
#: Cue-layer class (not a focus class): the study asked people (a survey, a questionnaire).
SURVEY = "survey"

#: Words so common that the body looks for the phrases they start as literal strings.
_COMMON = frozenset({"a", "an", "the", "in", "at", "on", "of", "for", "to", "by", "with", "from",
                     "and", "or", "as", "is", "are", "was", "were", "be", "been", "this",
                     "that", "these", "we", "our", "it", "its", "p", "h", "5", "6", "no", "not",
                     "all", "one", "two", "after", "before", "than", "there", "has", "have",
                     "had", "can", "may", "which", "but", "both", "each", "i", "s", "t", "c"})

#: The common first words whose body phrases are still looked for ("in vivo", "6-OHDA"); the
#: other phrases that start with a common word are abstract-only.
_LITERAL_FIRST = frozenset({"in", "5", "6"})

#: Words that may sit inside a phrase without breaking it ("MSCs from *human* bone marrow").
_SKIPPABLE = frozenset({"human", "rat", "mouse", "murine", "porcine", "canine", "equine",
                        "bovine", "the", "a", "an", "rabbit", "primary", "healthy"})

#: American -> British spelling fragments (both directions are generated).
_SPELLINGS = (
    ("ischemi", "ischaemi"), ("hemorrh", "haemorrh"), ("hematom", "haematom"),
    ("hematopoie", "haematopoie"), ("hemat", "haemat"), ("edema", "oedema"),
    ("tumor", "tumour"), ("fetal", "foetal"), ("esophag", "oesophag"),
    ("pediatric", "paediatric"), ("anemi", "anaemi"), ("leukemi", "leukaemi"),
    ("orthoped", "orthopaed"), ("glycemi", "glycaemi"), ("lipidemi", "lipidaemi"),
    ("uricemi", "uricaemi"), ("septicemi", "septicaemi"), ("toxemi", "toxaemi"),
    ("estrogen", "oestrogen"), ("gynecolog", "gynaecolog"), ("behavior", "behaviour"),
    ("fiber", "fibre"), ("center", "centre"), ("celiac", "coeliac"), ("hemodynam", "haemodynam"),
    ("hemoglobin", "haemoglobin"), ("aging", "ageing"), ("remodeling", "remodelling"),
    ("modeling", "modelling"), ("labeled", "labelled"), ("sulfate", "sulphate"),
    ("sulfur", "sulphur"), ("randomiz", "randomis"),
    ("color", "colour"), ("favor", "favour"), ("tumorigen", "tumourigen"),
    ("cecal", "caecal"), ("cecum", "caecum"), ("anesthe", "anaesthe"), ("diarrhea", "diarrhoea"),
    ("hemolys", "haemolys"), ("homeosta", "homoeosta"), ("leukocyt", "leucocyt"),
    ("optimiz", "optimis"), ("dyslipidemi", "dyslipidaemi"), ("hyperemi", "hyperaemi"),
    ("apnea", "apnoea"), ("ameba", "amoeba"), ("maneuver", "manoeuvre"),
)
_IZE = re.compile(r"(?<=[a-z]{3})iz(?=e|ed|es|ing|ation|ations)$")
_ISE = re.compile(r"(?<=[a-z]{3})is(?=e|ed|es|ing|ation|ations)$")


@dataclass(frozen=True, slots=True)
class AbbrevCase:
    """How an abbreviation's case is checked: ``forms`` are its letters and digits, as
    printed; ``loose`` (long abbreviations) also accepts any case with two capitals."""

    forms: frozenset[str]
    loose: bool

    def accepts(self, text: str) -> bool:
        if text in self.forms:
            return True
        if not self.loose:
            return False
        if sum(1 for ch in text if ch.isupper()) < 2:
            return False
        lowered = text.lower()
        return any(lowered == f.lower() for f in self.forms)


@dataclass(frozen=True, slots=True)
class Payload:
    layer: int
    kind: int
    target: str
    case: AbbrevCase | None = None
    #: Ambiguous abbreviation: word stems that make it unambiguous nearby (() = defined only).
    context: tuple[str, ...] | None = None
    #: Short abbreviation: does not count inside a compound such as "AD-MSCs".
    short: bool = False


@dataclass(slots=True)
class Match:
    """A phrase found in a :class:`NormText` (offsets into its normalised text)."""

    payload: Payload
    first: int   # index of the first word in parts
    last: int    # index of the last word in parts
    start: int
    end: int


class _Node:
    __slots__ = ("body", "next", "payloads", "targets")

    def __init__(self) -> None:
        self.payloads: list[Payload] = []
        self.next: dict[str, _Node] = {}
        #: The payloads a body needs, and their targets (set by ``finish``).
        self.body: list[Payload] = []
        self.targets: tuple[str, ...] = ()


@dataclass
class CompiledVocabulary:
    """Everything the tagger looks up, built once per vocabulary (and per process)."""

    root: _Node = field(default_factory=_Node)
    known_words: set[str] = field(default_factory=set)
    mesh_terms: dict[str, list[str]] = field(default_factory=dict)
    mesh_focus: dict[str, str] = field(default_factory=dict)
    publication_types: dict[str, list[str]] = field(default_factory=dict)
    registries: list[tuple[str, re.Pattern[str], str]] = field(default_factory=list)
    phrase_count: int = 0
    #: First words of the phrases the body needs (not the abstract-only cues).
    body_first: frozenset[str] = frozenset()
    #: Body phrases that start with a very common word ("in vivo", "were sacrificed"): looked
    #: for as literal strings, which is far cheaper than stopping at every "in".
    body_literals: list[tuple[str, list[Payload]]] = field(default_factory=list)

    def finish(self) -> None:
        """Note which first words start a phrase that matters in a paper's body."""
        def needed(node: _Node) -> bool:
            if any(_in_body(p) for p in node.payloads):
                return True
            return any(needed(child) for child in node.next.values())

        found: dict[str, list[Payload]] = {}

        def literals(node: _Node, words: list[str]) -> None:
            body = [p for p in node.payloads if _in_body(p) and p.kind not in (HINT, STOP)]
            if body:
                joins = {" ".join(words)}
                if len(words) == 2:
                    joins.add("-".join(words))
                for literal in joins:
                    found.setdefault(literal, []).extend(
                        p for p in body if p not in found.get(literal, []))
            for word, child in node.next.items():
                literals(child, [*words, word])

        self.body_first = frozenset(w for w, node in self.root.next.items()
                                    if w not in _COMMON and needed(node))
        stack = [self.root]
        while stack:
            node = stack.pop()
            node.body = [p for p in node.payloads if _in_body(p)]
            node.targets = tuple(dict.fromkeys(p.target for p in node.body if p.kind != STOP))
            stack.extend(node.next.values())
        for word in sorted(_LITERAL_FIRST):
            start = self.root.next.get(word)
            if start is not None:
                literals(start, [word])
        # The scan takes a plural "s" after any literal, so "in vitros" need not be looked for.
        self.body_literals = [(lit, payloads) for lit, payloads in sorted(found.items())
                              if not (lit.endswith("s") and lit[:-1] in found)]

    def add(self, words: Sequence[str], payload: Payload) -> None:
        if not words:
            return
        node = self.root
        for w in words:
            child = node.next.get(w)
            if child is None:
                child = node.next[w] = _Node()
            node = child
        if payload not in node.payloads:
            node.payloads.append(payload)
            self.phrase_count += 1
        for w in words:
            if len(w) >= 4 and w.isalpha():
                self.known_words.add(w)


# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------


def _spelling_variants(word: str) -> set[str]:
    out = {word}
    for us, gb in _SPELLINGS:
        for w in list(out):
            if us in w:
                out.add(w.replace(us, gb))
            if gb in w:
                out.add(w.replace(gb, us))
    for w in list(out):
        if _IZE.search(w):
            out.add(_IZE.sub("is", w))
        elif _ISE.search(w):
            out.add(_ISE.sub("iz", w))
    return out


def _number_variants(word: str) -> set[str]:
    out = {word}
    if not word or not word[-1].isalpha() or len(word) < 3:
        return out
    if word.endswith("y") and word[-2] not in "aeiou":
        out.add(word[:-1] + "ies")
    elif word.endswith(("s", "x", "ch", "sh", "z")):
        out.add(word + "es")
    else:
        out.add(word + "s")
    if word.endswith("ies") and len(word) > 4:
        out.add(word[:-3] + "y")
    elif word.endswith("es") and word[:-2].endswith(("ss", "x", "ch", "sh")):
        out.add(word[:-2])
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        out.add(word[:-1])
    return out


def _string_variants(phrase: str) -> set[str]:
    """Apostrophe and hyphen variants of a phrase, as strings."""
    out = {phrase}
    if "'s" in phrase or "’s" in phrase:
        base = phrase.replace("’", "'")
        out |= {base.replace("'s", ""), base.replace("'s", "s")}
    for p in list(out):
        if 0 < p.count("-") <= 2 and re.search(r"[A-Za-z]-[A-Za-z]", p):
            out.add(re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", "", p))
    return out


def phrase_variants(phrase: str, *, plural: bool = True) -> set[tuple[str, ...]]:
    """Every word sequence that writes ``phrase``."""
    out: set[tuple[str, ...]] = set()
    for text in _string_variants(phrase):
        words = phrase_tokens(text)
        if not words:
            continue
        options = [sorted(_spelling_variants(w)) for w in words]
        if plural:
            last: set[str] = set()
            for w in options[-1]:
                last |= _number_variants(w)
            options[-1] = sorted(last)
        for combo in itertools.islice(itertools.product(*options), 64):
            out.add(tuple(combo))
    return out


# --------------------------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------------------------


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())



def _abbreviation_payloads(abbr: str, layer: int, target: str,
                           context: tuple[str, ...] | None) -> list[tuple[tuple[str, ...],
                                                                         Payload]]:
    forms = {_alnum(abbr), _alnum(abbr) + "s"}
    letters = sum(1 for ch in abbr if ch.isalpha())
    loose = letters >= 4 and context is None
    short = letters <= 3
    payload = Payload(layer, ABBR, target, AbbrevCase(frozenset(forms), loose), context,
                      short=short and layer == CONCEPT)
    out = []
    words = phrase_tokens(abbr)
    if words:
        out.append((words, payload))
        out.append(((*words[:-1], words[-1] + "s"), payload))
    return out


def _add_phrases(cv: CompiledVocabulary, phrases: Iterable[str], payload: Payload,
                 *, plural: bool = True) -> None:
    for phrase in phrases:
        for words in phrase_variants(phrase, plural=plural):
            cv.add(words, payload)


def _add_concept(cv: CompiledVocabulary, concept: Concept, heads: Sequence[str],
                 generic_heads: Sequence[str]) -> None:
    if concept.group == "msc_source":
        _add_source(cv, concept, heads, generic_heads)
    else:
        _add_phrases(cv, concept.synonyms, Payload(CONCEPT, SYN, concept.id))
        _add_phrases(cv, concept.cues, Payload(CONCEPT, HINT, concept.id))
    for abbr in concept.abbreviations:
        context = concept.abbreviation_context.get(abbr)
        for words, payload in _abbreviation_payloads(abbr, CONCEPT, concept.id, context):
            cv.add(words, payload)
    for term in concept.mesh_terms:
        cv.mesh_terms.setdefault(term.lower(), []).append(concept.id)
    for mesh_id in concept.mesh:
        cv.mesh_terms.setdefault(mesh_id.lower(), []).append(concept.id)
    for ptype in concept.publication_types:
        cv.publication_types.setdefault(ptype.lower(), []).append(concept.id)
    for reg in concept.registries:
        cv.registries.append((reg.prefix, re.compile(reg.pattern), reg.name))


def _add_source(cv: CompiledVocabulary, concept: Concept, heads: Sequence[str],
                generic_heads: Sequence[str]) -> None:
    """An MSC source counts fully with its cell word, weakly alone."""
    tissue_alone = Payload(CONCEPT, TISSUE, concept.id)
    with_cells = Payload(CONCEPT, CELLS, concept.id)
    _add_phrases(cv, concept.synonyms, tissue_alone, plural=False)
    head_words = [w for h in heads for w in phrase_variants(h)]
    msc_only = [w for h in heads if h not in generic_heads or h == "stem cell"
                for w in phrase_variants(h)]
    tissues = [(t, head_words) for t in concept.synonyms]
    tissues += [(t, msc_only) for t in concept.cell_prefixes]
    for tissue, hw in tissues:
        for tissue_words in phrase_variants(tissue, plural=False):
            links: list[tuple[str, ...]] = [()]
            if tissue_words[-1] != "derived":
                links += [("derived",), ("tissue", "derived"), ("cord", "derived")]
            for link in links:
                for head in hw:
                    cv.add(tissue_words + link + head, with_cells)
            for head in hw:
                for link in (("from",), ("derived", "from"), ("isolated", "from"),
                             ("obtained", "from"), ("of",)):
                    cv.add(head + link + tissue_words, with_cells)


def compile_vocabulary(vocabulary: Vocabulary) -> CompiledVocabulary:
    """The trie and lookup tables for ``vocabulary``."""
    cv = CompiledVocabulary()
    focus = vocabulary.focus
    for concept in vocabulary:
        _add_concept(cv, concept, focus.msc_heads, focus.weak_msc_terms)
    _add_phrases(cv, vocabulary.stop_phrases, Payload(CONCEPT, STOP, ""))
    _add_phrases(cv, _material_phrases(vocabulary), Payload(CONCEPT, STOP, ""))
    for cls, phrases in ((VESICLE, focus.vesicle_terms), (MSC, focus.msc_terms),
                         (WEAK_MSC, focus.weak_msc_terms),
                         (NON_MSC_CELLS, focus.non_msc_cells)):
        _add_phrases(cv, phrases, Payload(FOCUS, SYN, cls))
    non_msc = tuple(f"{source} {word}" for source in focus.non_msc_sources
                    for word in focus.non_msc_vesicle_words)
    # Cues live in their own layer, so "tumour-derived exosomes" still counts as vesicles.
    for cls, phrases in ((BIOMARKER, focus.biomarker_cues),
                         (EPIDEMIOLOGY, focus.epidemiology_cues),
                         (CELL_THERAPY, focus.cell_therapy_cues),
                         (NON_MSC, non_msc), (THERAPY, focus.therapy_cues)):
        _add_phrases(cv, phrases, Payload(CUE, SYN, cls))
    for abbr in focus.vesicle_abbreviations:
        ctx = focus.vesicle_abbreviation_context.get(abbr)
        for words, payload in _abbreviation_payloads(abbr, FOCUS, VESICLE, ctx):
            cv.add(words, payload)
    for abbr in focus.msc_abbreviations:
        for words, payload in _abbreviation_payloads(abbr, FOCUS, MSC, None):
            cv.add(words, payload)
    _add_phrases(cv, vocabulary.context.primary_research, Payload(CUE, SYN, PRIMARY))
    _add_phrases(cv, vocabulary.context.survey_design, Payload(CUE, SYN, SURVEY))
    for cls, names in ((VESICLE, focus.mesh_vesicle), (MSC, focus.mesh_msc),
                       (BIOMARKER, focus.mesh_biomarker),
                       (EPIDEMIOLOGY, focus.mesh_epidemiology),
                       (CELL_THERAPY, focus.mesh_cell_therapy)):
        for name in names:
            cv.mesh_focus[name.lower()] = cls
    cv.finish()
    return cv


def _material_phrases(vocabulary: Vocabulary) -> list[str]:
    """Stop phrases for MSC source tissues used as a material, not as a source of cells.

    An amniotic membrane used as a scaffold or a dressing ("amniotic membrane scaffold",
    "decellularized amniotic membrane"), an adipose tissue graft or a cord blood
    transplantation names no cells the vesicles came from.  Each source tissue is combined
    with the material words of the vocabulary's context, so a tissue added later (or by the
    user) is covered too; a tissue named with its cell word ("amniotic membrane MSCs") is
    another phrase, which still counts.
    """
    ctx = vocabulary.context
    tissues = [s for c in vocabulary if c.group == "msc_source" for s in c.synonyms]
    out = [f"{tissue} {noun}" for tissue in tissues for noun in ctx.material_nouns]
    out += [f"{modifier} {tissue}" for tissue in tissues for modifier in ctx.material_modifiers]
    return out


def _in_body(payload: Payload) -> bool:
    """Whether a phrase is looked for in the body (the rest only in title and abstract).

    Study-type cues ("cell culture", "tail vein") are left out: a body is full of them in
    every kind of paper, and its share of a study type is capped anyway.
    """
    if payload.layer == CONCEPT:
        return payload.kind != HINT
    return payload.layer == FOCUS and payload.target in (VESICLE, MSC, WEAK_MSC)


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------

_SEP_OK = frozenset(" \t\r\n-/'")
_SEP_ONE = frozenset(" \t\r\n-/'.")


def scan(norm: NormText, cv: CompiledVocabulary, *, body: bool = False,
         per_word: int = 24) -> list[Match]:
    """Every vocabulary phrase in ``norm``: for each start word, the longest per layer.

    ``body=True`` looks only for the phrases a body needs (no abstract-only cues) and at
    most ``per_word`` places per first word: a body's mentions count up to a cap, so the
    hundredth "exosomes" changes nothing.
    """
    parts = norm.parts
    first = cv.root.next
    n = len(parts)
    if body:
        starts = list(compress(range(n), map(cv.body_first.__contains__, parts)))
    else:
        starts = list(compress(range(n), map(first.__contains__, parts)))
    lower = norm.lower
    cased = norm.cased
    found: list[Match] = _literals(norm, cv, per_word) if body else []
    if not starts:
        return found
    # In a body, each concept or focus class is recorded at most ``per_word`` times.
    quota: dict[str, int] | None = {} if body else None
    skippable = _SKIPPABLE
    pos = 0
    prev = 0
    for i in starts:
        word = parts[i]
        node = first[word]
        if quota is not None and not node.next and node.targets and all(
                quota.get(t, 0) == _FULL for t in node.targets):
            continue
        if not node.payloads:
            # Only longer phrases start here: look at the next word before anything else.
            k = i + 1
            while k < n and parts[k] == "" and k - i <= 3:
                k += 1
            if k >= n or (parts[k] not in node.next and parts[k] not in skippable):
                continue
        # Offset of word i: the lengths before it plus one separator per earlier word.
        pos += sum(map(len, parts[prev:i])) + (i - prev)
        prev = i
        end = pos + len(word)
        hits: list[tuple[_Node, int, int]] = []
        if node.payloads if quota is None else node.body:
            hits.append((node, i, end))
        j = i
        while node.next:
            k = j + 1
            while k < n and parts[k] == "" and k - j <= 3:
                k += 1
            if k >= n or parts[k] == "":
                break
            nxt = parts[k]
            start_k = end + (k - j)
            if k - j == 1:
                if lower[end] not in _SEP_ONE:
                    break
            elif not _separator_ok(lower, end, start_k):
                break
            child = node.next.get(nxt)
            if child is None and nxt in skippable:
                end2 = start_k + len(nxt)
                k2 = k + 1
                while k2 < n and parts[k2] == "" and k2 - k <= 2:
                    k2 += 1
                if k2 >= n or parts[k2] == "":
                    break
                start_k = end2 + (k2 - k)
                if not _separator_ok(lower, end2, start_k):
                    break
                k = k2
                nxt = parts[k]
                child = node.next.get(nxt)
            if child is None:
                break
            node = child
            j = k
            end = start_k + len(nxt)
            if node.payloads if quota is None else node.body:
                hits.append((node, j, end))
        if hits:
            _emit(hits, i, pos, cased, quota, per_word, found)
    return found


#: Quota value of a target that has been recorded often enough.
_FULL = 1 << 30


def _literals(norm: NormText, cv: CompiledVocabulary, per_word: int) -> list[Match]:
    """Body phrases that start with a common word, found with ``str.find``."""
    lower = norm.lower
    cased = norm.cased
    out: list[Match] = []
    for literal, payloads in cv.body_literals:
        pos = lower.find(literal)
        count = 0
        while pos >= 0 and count < per_word:
            end = pos + len(literal)
            if end < len(lower) and lower[end] == "s":
                end += 1
            if (pos == 0 or not lower[pos - 1].isalnum()) and (
                    end >= len(lower) or not lower[end].isalnum()):
                for payload in payloads:
                    if payload.case is not None:
                        if not payload.case.accepts(cased[pos:end].translate(_DROP)):
                            continue
                        if payload.short and _in_compound(cased, pos, end):
                            continue
                    out.append(Match(payload, -1, -1, pos, end))
                    count += 1
            pos = lower.find(literal, end)
    return out


def _separator_ok(lower: str, start: int, end: int) -> bool:
    """Whether the characters between two words of a phrase may join them."""
    if end - start == 1:
        ch = lower[start]
        return ch in _SEP_OK or ch == "."
    return all(ch in _SEP_OK for ch in lower[start:end])


_DROP = str.maketrans("", "", "".join(chr(i) for i in range(128) if not chr(i).isalnum()))


def _emit(hits: list[tuple[_Node, int, int]], i: int, start: int, cased: str,
          quota: dict[str, int] | None, per_word: int, found: list[Match]) -> None:
    """Keep, per layer, the longest phrases found from word ``i`` (all of equal length).

    ``hits`` are the trie nodes with phrases reached from word ``i``, shortest first, with
    their last word and end offset.  ``quota`` (in a body) counts what was kept per target;
    a target kept ``per_word`` times is skipped from then on.
    """
    best: dict[int, list[Match]] = {}
    for node, j, end in hits:
        for payload in node.payloads if quota is None else node.body:
            if quota is not None and quota.get(payload.target, 0) == _FULL and \
                    payload.kind != STOP:
                continue
            if payload.case is not None:
                if not payload.case.accepts(cased[start:end].translate(_DROP)):
                    continue
                if payload.short and _in_compound(cased, start, end):
                    continue
            match = Match(payload, i, j, start, end)
            current = best.get(payload.layer)
            if current is None or current[0].end < end:
                best[payload.layer] = [match]
            elif current[0].payload.kind == STOP:
                continue
            elif payload.kind == STOP:
                best[payload.layer] = [match]
            else:
                current.append(match)
    for kept in best.values():
        found.extend(kept)
        if quota is not None:
            for m in kept:
                count = quota.get(m.payload.target, 0) + 1
                quota[m.payload.target] = _FULL if count >= per_word else count


def _in_compound(cased: str, start: int, end: int) -> bool:
    """Whether an abbreviation is part of a hyphenated compound ("AD-MSCs", "UC-MSC")."""
    if start >= 2 and cased[start - 1] == "-" and cased[start - 2].isalnum():
        return True
    return end + 1 < len(cased) and cased[end] == "-" and (
        cased[end + 1].isupper() or cased[end + 1].isdigit())
