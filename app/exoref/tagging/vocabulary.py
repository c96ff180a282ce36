"""The curated vocabulary of indications, MSC sources and study types, and user additions.

The shipped vocabulary is a versioned JSON file (``resources/vocabulary/vocabulary.json``);
this module reads and checks it, answers hierarchy questions (``tag:osteoarthritis`` also
finds knee osteoarthritis: :meth:`Vocabulary.descendants`) and merges what a user added
(:class:`UserAdditions`) over it.  The user's additions live in the library database (the
lead's storage layer); they are kept apart from the shipped file so that a newer ExoRef with a
newer vocabulary keeps them: :func:`merge` re-attaches them to renamed concepts and reports,
without dropping, those it cannot place.

Nothing here imports the services layer: the caller says where the file is
(:func:`default_vocabulary_path` builds the usual place from a resources folder).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exoref.errors import ExorefError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "GROUPS",
    "Concept",
    "ContextCues",
    "FocusTerms",
    "Group",
    "MergeResult",
    "MergeWarning",
    "Registry",
    "UnknownConceptError",
    "UserAdditions",
    "UserConcept",
    "Vocabulary",
    "VocabularyError",
    "default_vocabulary_path",
    "load_vocabulary",
    "merge",
    "parse_vocabulary",
]

#: The label groups every vocabulary has, in display order.
GROUPS = ("indication", "msc_source", "study_type")

_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MESH_ID_RE = re.compile(r"D\d{6,9}")


class VocabularyError(ExorefError):
    """The vocabulary file (or a user addition) cannot be used; the message says where."""


class UnknownConceptError(NotFoundError):
    """A concept id that the vocabulary does not have (a typo in ``tag:...``, say)."""


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Registry:
    """A clinical trial registry: its id pattern and a literal every id contains."""

    name: str
    prefix: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Concept:
    """One tag the tagger can suggest.  See the ``schema`` note in the vocabulary file."""

    id: str
    group: str
    label: str
    parent: str | None = None
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    #: Ambiguous abbreviations -> word stems that make them unambiguous nearby.
    abbreviation_context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mesh: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    publication_types: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    #: What one cue counts, against 1 for a synonym (study types).
    cue_weight: float = 0.5
    cell_prefixes: tuple[str, ...] = ()
    registries: tuple[Registry, ...] = ()
    #: "shipped", or "user" for a concept a user added.
    origin: str = "shipped"


@dataclass(frozen=True, slots=True)
class FocusTerms:
    """Phrases for the check that a paper is about therapy with MSC-derived vesicles."""

    vesicle_terms: tuple[str, ...] = ()
    vesicle_abbreviations: tuple[str, ...] = ()
    vesicle_abbreviation_context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    msc_heads: tuple[str, ...] = ()
    msc_terms: tuple[str, ...] = ()
    msc_abbreviations: tuple[str, ...] = ()
    weak_msc_terms: tuple[str, ...] = ()
    biomarker_cues: tuple[str, ...] = ()
    epidemiology_cues: tuple[str, ...] = ()
    cell_therapy_cues: tuple[str, ...] = ()
    #: Sources of vesicles that are not MSCs, each combined with ``non_msc_vesicle_words``.
    non_msc_sources: tuple[str, ...] = ()
    non_msc_vesicle_words: tuple[str, ...] = ()
    #: Stem cells that are not MSCs ("induced pluripotent stem cells").
    non_msc_cells: tuple[str, ...] = ()
    therapy_cues: tuple[str, ...] = ()
    mesh_vesicle: tuple[str, ...] = ()
    mesh_msc: tuple[str, ...] = ()
    mesh_biomarker: tuple[str, ...] = ()
    mesh_epidemiology: tuple[str, ...] = ()
    mesh_cell_therapy: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextCues:
    """Phrases that change how much a mention counts."""

    contrast_near: tuple[str, ...] = ()
    contrast: tuple[str, ...] = ()
    future: tuple[str, ...] = ()
    aim: tuple[str, ...] = ()
    result: tuple[str, ...] = ()
    primary_research: tuple[str, ...] = ()
    cell_nouns: tuple[str, ...] = ()
    #: Participles that, joined by a hyphen to a study-type phrase ("in vitro-expanded MSCs"),
    #: say how cells were made, not how the study was done.
    made_participles: tuple[str, ...] = ()
    #: Phrases that say the study asked people (a survey, a questionnaire study): the people
    #: it counts answered questions; they were not treated.
    survey_design: tuple[str, ...] = ()
    #: Words after an MSC source tissue ("amniotic membrane scaffold") or before it
    #: ("decellularized amniotic membrane") that make the tissue a material, not a source.
    material_nouns: tuple[str, ...] = ()
    material_modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeWarning:
    """A user addition that could not be used as it was (it is kept, not dropped)."""

    concept: str
    message: str


class Vocabulary:
    """Concepts by id with their hierarchy, plus the focus and context phrase lists.

    Plain data (no compiled patterns), so it pickles cheaply into tagging worker processes.
    """

    def __init__(
        self,
        *,
        version: int,
        concepts: Sequence[Concept],
        groups: Sequence[Group] = (),
        focus: FocusTerms | None = None,
        context: ContextCues | None = None,
        stop_phrases: Sequence[str] = (),
        renamed: Mapping[str, str] | None = None,
        source: str = "<vocabulary>",
        warnings: Sequence[MergeWarning] = (),
    ) -> None:
        self.version = version
        self.groups = tuple(groups) or tuple(Group(g, g) for g in GROUPS)
        self.focus = focus or FocusTerms()
        self.context = context or ContextCues()
        self.stop_phrases = tuple(stop_phrases)
        self.renamed = dict(renamed or {})
        self.source = source
        self.warnings = tuple(warnings)
        self._concepts: dict[str, Concept] = {c.id: c for c in concepts}
        self._children: dict[str, list[str]] = {c.id: [] for c in concepts}
        for c in concepts:
            if c.parent is not None and c.parent in self._children:
                self._children[c.parent].append(c.id)

    # -- lookup --------------------------------------------------------------------------

    @property
    def concepts(self) -> Mapping[str, Concept]:
        return self._concepts

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._concepts

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __len__(self) -> int:
        return len(self._concepts)

    def __getitem__(self, concept_id: str) -> Concept:
        return self.concept(concept_id)

    def concept(self, concept_id: str) -> Concept:
        try:
            return self._concepts[concept_id]
        except KeyError:
            raise UnknownConceptError(
                f"No concept {concept_id!r} in the vocabulary (version {self.version})",
                hint="check the spelling; the sidebar lists every concept",
            ) from None

    def in_group(self, group: str) -> tuple[Concept, ...]:
        return tuple(c for c in self._concepts.values() if c.group == group)

    def roots(self, group: str) -> tuple[Concept, ...]:
        return tuple(c for c in self.in_group(group) if c.parent is None)

    # -- hierarchy -----------------------------------------------------------------------

    def children(self, concept_id: str) -> tuple[str, ...]:
        """Ids of the concepts directly under ``concept_id``."""
        self.concept(concept_id)
        return tuple(self._children[concept_id])

    def ancestors(self, concept_id: str) -> tuple[str, ...]:
        """Ids of the concepts above ``concept_id``, nearest first."""
        out: list[str] = []
        parent = self.concept(concept_id).parent
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self._concepts[parent].parent
        return tuple(out)

    def descendants(self, concept_id: str) -> tuple[str, ...]:
        """Ids of every concept below ``concept_id``, depth first (not the concept itself)."""
        self.concept(concept_id)
        out: list[str] = []
        stack = list(reversed(self._children[concept_id]))
        while stack:
            cid = stack.pop()
            out.append(cid)
            stack.extend(reversed(self._children[cid]))
        return tuple(out)

    def resolve(self, concept_id: str) -> str | None:
        """The id a concept has in this version (following renames), or None if it is gone."""
        seen: set[str] = set()
        cid = concept_id
        while cid not in self._concepts and cid in self.renamed and cid not in seen:
            seen.add(cid)
            cid = self.renamed[cid]
        return cid if cid in self._concepts else None

    def with_concepts(self, concepts: Sequence[Concept],
                      warnings: Sequence[MergeWarning] = ()) -> Vocabulary:
        """The same vocabulary with another concept list (used by :func:`merge`)."""
        return Vocabulary(version=self.version, concepts=concepts, groups=self.groups,
                          focus=self.focus, context=self.context,
                          stop_phrases=self.stop_phrases, renamed=self.renamed,
                          source=self.source, warnings=warnings)


def default_vocabulary_path(resources: Path) -> Path:
    """Where the shipped vocabulary lives inside a resources folder."""
    return resources / "vocabulary" / "vocabulary.json"


# --------------------------------------------------------------------------------------------
# Reading and checking the file
# --------------------------------------------------------------------------------------------


class _Reader:
    """Checks one JSON document, naming the file, the concept and the problem on failure."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> VocabularyError:
        return VocabularyError(
            f"The vocabulary file {self.source} is malformed: {where}: {problem}",
            hint="reinstall ExoRef, or fix the file if you edited it",
        )

    def strings(self, data: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"{key!r} must be a list of strings")
        items: list[str] = [v for v in value if isinstance(v, str)]
        if any(not v.strip() for v in items):
            raise self.fail(where, f"{key!r} holds an empty string")
        return tuple(items)

    def context_map(self, data: Mapping[str, object], key: str,
                    where: str) -> dict[str, tuple[str, ...]]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(where, f"{key!r} must be an object of lists of strings")
        out: dict[str, tuple[str, ...]] = {}
        for name, stems in value.items():
            if not isinstance(stems, list) or not all(isinstance(s, str) for s in stems):
                raise self.fail(where, f"{key!r}[{name!r}] must be a list of strings")
            out[str(name)] = tuple(s.lower() for s in stems if isinstance(s, str))
        return out

    def concept(self, raw: object, index: int) -> Concept:
        if not isinstance(raw, dict):
            raise self.fail(f"concept #{index + 1}", "must be an object")
        cid = raw.get("id")
        if not isinstance(cid, str) or not _ID_RE.fullmatch(cid):
            raise self.fail(f"concept #{index + 1}",
                            f"'id' must be lower-case words joined by hyphens, not {cid!r}")
        where = f"concept {cid!r}"
        known = {"id", "group", "label", "parent", "synonyms", "abbreviations",
                 "abbreviation_context", "mesh", "mesh_terms", "publication_types", "cues",
                 "cue_weight", "cell_prefixes", "registries"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(where, f"unknown field(s) {', '.join(map(repr, unknown))}")
        group = raw.get("group")
        if group not in GROUPS:
            raise self.fail(where, f"'group' must be one of {', '.join(GROUPS)}, not {group!r}")
        label = raw.get("label")
        if not isinstance(label, str) or not label.strip():
            raise self.fail(where, "'label' must be a non-empty string")
        parent = raw.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise self.fail(where, "'parent' must be a concept id or null")
        abbreviations = self.strings(raw, "abbreviations", where)
        context = self.context_map(raw, "abbreviation_context", where)
        stray = sorted(set(context) - set(abbreviations))
        if stray:
            raise self.fail(where, f"'abbreviation_context' names {', '.join(stray)}, "
                                   "which is not in 'abbreviations'")
        mesh = self.strings(raw, "mesh", where)
        bad_mesh = [m for m in mesh if not _MESH_ID_RE.fullmatch(m)]
        if bad_mesh:
            raise self.fail(where, f"'mesh' ids look like D010003, not {bad_mesh[0]!r}")
        registries = self.registries(raw.get("registries", []), where)
        cue_weight = raw.get("cue_weight", 0.5)
        if not isinstance(cue_weight, (int, float)) or isinstance(cue_weight, bool) or \
                not 0 <= cue_weight <= 1:
            raise self.fail(where, "'cue_weight' must be a number from 0 to 1")
        return Concept(
            id=cid, group=str(group), label=label, parent=parent,
            synonyms=self.strings(raw, "synonyms", where), abbreviations=abbreviations,
            abbreviation_context=context, mesh=mesh,
            mesh_terms=self.strings(raw, "mesh_terms", where),
            publication_types=self.strings(raw, "publication_types", where),
            cues=self.strings(raw, "cues", where), cue_weight=float(cue_weight),
            cell_prefixes=self.strings(raw, "cell_prefixes", where),
            registries=registries,
        )

    def registries(self, raw: object, where: str) -> tuple[Registry, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, "'registries' must be a list")
        out: list[Registry] = []
        for item in raw:
            if not isinstance(item, dict) or not all(
                    isinstance(item.get(k), str) and item.get(k) for k in
                    ("name", "prefix", "pattern")):
                raise self.fail(where, "each registry needs 'name', 'prefix' and 'pattern'")
            pattern = str(item["pattern"])
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(where, f"registry {item['name']!r}: bad pattern ({exc})") from None
            out.append(Registry(str(item["name"]), str(item["prefix"]), pattern))
        return tuple(out)


def parse_vocabulary(data: object, source: str = "<vocabulary>") -> Vocabulary:
    """A :class:`Vocabulary` from the decoded JSON document, checked."""
    reader = _Reader(source)
    if not isinstance(data, dict):
        raise reader.fail("top level", "must be a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise reader.fail("top level", "'version' must be a positive integer")
    raw_concepts = data.get("concepts")
    if not isinstance(raw_concepts, list) or not raw_concepts:
        raise reader.fail("top level", "'concepts' must be a non-empty list")
    concepts = [reader.concept(raw, i) for i, raw in enumerate(raw_concepts)]
    by_id: dict[str, Concept] = {}
    for c in concepts:
        if c.id in by_id:
            raise reader.fail(f"concept {c.id!r}", "the id is used twice")
        by_id[c.id] = c
    for c in concepts:
        if c.parent is None:
            continue
        parent = by_id.get(c.parent)
        if parent is None:
            raise reader.fail(f"concept {c.id!r}", f"parent {c.parent!r} is not a concept")
        if parent.group != c.group:
            raise reader.fail(f"concept {c.id!r}",
                              f"parent {c.parent!r} is in group {parent.group!r}, "
                              f"not {c.group!r}")
    for c in concepts:
        seen = {c.id}
        parent_id = c.parent
        while parent_id is not None:
            if parent_id in seen:
                raise reader.fail(f"concept {c.id!r}", "its parents form a loop")
            seen.add(parent_id)
            parent_id = by_id[parent_id].parent
    groups = _groups(data.get("groups"), reader)
    renamed = data.get("renamed", {})
    if not isinstance(renamed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in renamed.items()):
        raise reader.fail("top level", "'renamed' must map old ids to new ids")
    focus = _focus(data.get("focus", {}), reader)
    context = _context(data.get("context", {}), reader)
    stop = reader.strings(data, "stop_phrases", "top level")
    return Vocabulary(version=version, concepts=concepts, groups=groups, focus=focus,
                      context=context, stop_phrases=stop, renamed=renamed, source=source)


def _groups(raw: object, reader: _Reader) -> tuple[Group, ...]:
    if raw is None:
        return tuple(Group(g, g) for g in GROUPS)
    if not isinstance(raw, list):
        raise reader.fail("groups", "must be a list of {id, label} objects")
    out: list[Group] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("id") not in GROUPS or \
                not isinstance(item.get("label"), str):
            raise reader.fail("groups", f"each group needs an id out of {GROUPS} and a label")
        out.append(Group(str(item["id"]), str(item["label"])))
    return tuple(out)


def _focus(raw: object, reader: _Reader) -> FocusTerms:
    if not isinstance(raw, dict):
        raise reader.fail("focus", "must be an object")
    names = set(FocusTerms.__dataclass_fields__) - {"vesicle_abbreviation_context"}
    unknown = sorted(set(raw) - names - {"vesicle_abbreviation_context"})
    if unknown:
        raise reader.fail("focus", f"unknown list(s) {', '.join(map(repr, unknown))}")
    lists = {name: reader.strings(raw, name, "focus") for name in names}
    context = reader.context_map(raw, "vesicle_abbreviation_context", "focus")
    return FocusTerms(vesicle_abbreviation_context=context, **lists)


def _context(raw: object, reader: _Reader) -> ContextCues:
    if not isinstance(raw, dict):
        raise reader.fail("context", "must be an object")
    names = set(ContextCues.__dataclass_fields__)
    unknown = sorted(set(raw) - names)
    if unknown:
        raise reader.fail("context", f"unknown list(s) {', '.join(map(repr, unknown))}")
    return ContextCues(**{name: reader.strings(raw, name, "context") for name in names})


def load_vocabulary(path: Path, user: UserAdditions | None = None) -> Vocabulary:
    """Read the vocabulary file at ``path`` and merge the user's additions over it.

    Problems with the additions do not fail the load: they are in ``.warnings``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VocabularyError(f"Cannot read the vocabulary file {path}: {exc.strerror}",
                              hint="reinstall ExoRef") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabularyError(
            f"The vocabulary file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}", hint="reinstall ExoRef, or fix the file if you edited it",
        ) from None
    vocabulary = parse_vocabulary(data, str(path))
    if user is None:
        return vocabulary
    return merge(vocabulary, user).vocabulary


# --------------------------------------------------------------------------------------------
# User additions
# --------------------------------------------------------------------------------------------


@dataclass
class UserConcept:
    """An indication (or source) a user added to the vocabulary."""

    id: str
    label: str
    parent: str | None = None
    group: str = "indication"
    synonyms: list[str] = field(default_factory=list)
    abbreviations: list[str] = field(default_factory=list)


@dataclass
class UserAdditions:
    """What a user added: concepts of their own, and phrases for shipped concepts.

    Plain data for the storage layer: :meth:`to_dict` / :meth:`from_dict` give and take JSON.
    ``synonyms`` and ``abbreviations`` map a concept id (shipped or user) to extra phrases.
    """

    concepts: list[UserConcept] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "concepts": [
                {"id": c.id, "label": c.label, "parent": c.parent, "group": c.group,
                 "synonyms": list(c.synonyms), "abbreviations": list(c.abbreviations)}
                for c in self.concepts
            ],
            "synonyms": {k: list(v) for k, v in self.synonyms.items()},
            "abbreviations": {k: list(v) for k, v in self.abbreviations.items()},
        }

    @classmethod
    def from_dict(cls, data: object) -> UserAdditions:
        reader = _Reader("<user additions>")
        if not isinstance(data, dict):
            raise reader.fail("top level", "must be an object")
        concepts: list[UserConcept] = []
        raw_concepts = data.get("concepts", [])
        if not isinstance(raw_concepts, list):
            raise reader.fail("concepts", "must be a list")
        for i, raw in enumerate(raw_concepts):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or \
                    not isinstance(raw.get("label"), str):
                raise reader.fail(f"concept #{i + 1}", "needs a string 'id' and 'label'")
            parent = raw.get("parent")
            group = raw.get("group", "indication")
            concepts.append(UserConcept(
                id=str(raw["id"]), label=str(raw["label"]),
                parent=parent if isinstance(parent, str) else None,
                group=group if isinstance(group, str) else "indication",
                synonyms=list(reader.strings(raw, "synonyms", f"concept {raw['id']!r}")),
                abbreviations=list(reader.strings(raw, "abbreviations",
                                                  f"concept {raw['id']!r}")),
            ))
        phrases: dict[str, dict[str, list[str]]] = {}
        for key in ("synonyms", "abbreviations"):
            raw_map = data.get(key, {})
            if not isinstance(raw_map, dict):
                raise reader.fail(key, "must map concept ids to lists of strings")
            phrases[key] = {str(k): list(reader.strings(raw_map, str(k), key))
                            for k in raw_map}
        return cls(concepts, phrases["synonyms"], phrases["abbreviations"])


@dataclass(frozen=True, slots=True)
class MergeResult:
    vocabulary: Vocabulary
    warnings: tuple[MergeWarning, ...]


def merge(base: Vocabulary, user: UserAdditions) -> MergeResult:
    """The shipped vocabulary with the user's additions, and what could not be placed.

    * A user concept whose id the shipped vocabulary now has too becomes part of the shipped
      concept (its synonyms and abbreviations are added to it).
    * A user concept whose parent is gone becomes a top-level concept of its group.
    * Phrases for a concept a newer version renamed (``renamed`` in the file) follow it.
    * Phrases for a concept that is gone are not used and are reported; the caller keeps
      them in storage (nothing in ``user`` is changed), so a later version can place them.
    """
    warnings: list[MergeWarning] = []
    concepts: dict[str, Concept] = dict(base.concepts)
    extra_syn: dict[str, list[str]] = {}
    extra_abbr: dict[str, list[str]] = {}

    user_ids = {uc.id for uc in user.concepts}
    pending: list[UserConcept] = []
    for uc in user.concepts:
        if not _ID_RE.fullmatch(uc.id):
            warnings.append(MergeWarning(uc.id, f"Your concept {uc.label!r} has the id "
                                         f"{uc.id!r}, which is not lower-case words joined by "
                                         "hyphens; it is not used until it is renamed."))
            continue
        if uc.id in concepts:
            warnings.append(MergeWarning(uc.id, f"ExoRef's vocabulary version {base.version} "
                                         f"now has a concept {uc.id!r}; your concept of that "
                                         "id is merged into it."))
            extra_syn.setdefault(uc.id, []).extend(uc.synonyms)
            extra_abbr.setdefault(uc.id, []).extend(uc.abbreviations)
            continue
        pending.append(uc)

    def resolve(cid: str) -> str | None:
        if cid in concepts or cid in user_ids:
            return cid
        return base.resolve(cid)

    added: dict[str, UserConcept] = {uc.id: uc for uc in pending}
    for uc in pending:
        group = uc.group if uc.group in GROUPS else "indication"
        parent = resolve(uc.parent) if uc.parent else None
        if uc.parent and parent is None:
            warnings.append(MergeWarning(uc.id, f"The parent {uc.parent!r} of your concept "
                                         f"{uc.label!r} is no longer in the vocabulary; it is "
                                         "shown at the top level until you choose a parent."))
        if parent is not None and parent in added and _loops(added, uc.id, parent):
            warnings.append(MergeWarning(uc.id, f"Your concept {uc.label!r} would be its own "
                                         "ancestor; it is shown at the top level."))
            parent = None
        if parent is not None:
            parent_group = (concepts[parent].group if parent in concepts
                            else added[parent].group)
            if parent_group != group:
                group = parent_group
        concepts[uc.id] = Concept(id=uc.id, group=group, label=uc.label or uc.id,
                                  parent=parent, synonyms=_clean(uc.synonyms),
                                  abbreviations=_clean(uc.abbreviations), origin="user")

    for kind, source_map, target in (("synonym", user.synonyms, extra_syn),
                                     ("abbreviation", user.abbreviations, extra_abbr)):
        for cid, phrases in source_map.items():
            now = resolve(cid)
            listed = ", ".join(repr(p) for p in phrases)
            if now is None:
                warnings.append(MergeWarning(cid, f"Your {kind}(s) {listed} for {cid!r} are "
                                             f"not used: vocabulary version {base.version} "
                                             f"has no concept {cid!r}. They are kept; add them "
                                             "to another concept to use them again."))
                continue
            if now != cid:
                warnings.append(MergeWarning(cid, f"The concept {cid!r} is now {now!r}; your "
                                             f"{kind}(s) {listed} moved with it."))
            target.setdefault(now, []).extend(phrases)

    for cid in set(extra_syn) | set(extra_abbr):
        c = concepts[cid]
        syn = _clean([*c.synonyms, *extra_syn.get(cid, [])], fold_case=True)
        abbr = _clean([*c.abbreviations, *extra_abbr.get(cid, [])])
        concepts[cid] = Concept(
            id=c.id, group=c.group, label=c.label, parent=c.parent, synonyms=syn,
            abbreviations=abbr, abbreviation_context=c.abbreviation_context, mesh=c.mesh,
            mesh_terms=c.mesh_terms, publication_types=c.publication_types, cues=c.cues,
            cue_weight=c.cue_weight, cell_prefixes=c.cell_prefixes, registries=c.registries,
            origin=c.origin,
        )
    ordered = _ordered(list(concepts.values()), base)
    result = base.with_concepts(ordered, warnings)
    return MergeResult(result, tuple(warnings))


def _loops(added: Mapping[str, UserConcept], cid: str, parent: str) -> bool:
    seen = {cid}
    current: str | None = parent
    while current is not None and current in added:
        if current in seen:
            return True
        seen.add(current)
        current = added[current].parent
    return False


def _clean(values: Sequence[str], *, fold_case: bool = False) -> tuple[str, ...]:
    out: dict[str, str] = {}
    for v in values:
        v = " ".join(v.split())
        if v:
            out.setdefault(v.lower() if fold_case else v, v)
    return tuple(out.values())


def _ordered(concepts: list[Concept], base: Vocabulary) -> list[Concept]:
    """Shipped order, each user concept right after its parent's subtree."""
    by_id = {c.id: c for c in concepts}
    children: dict[str | None, list[str]] = {}
    for c in concepts:
        parent = c.parent if c.parent in by_id else None
        children.setdefault(parent, []).append(c.id)
    out: list[Concept] = []

    def visit(cid: str) -> None:
        out.append(by_id[cid])
        for child in children.get(cid, []):
            visit(child)

    for group in [g.id for g in base.groups]:
        for cid in children.get(None, []):
            if by_id[cid].group == group:
                visit(cid)
    for c in concepts:
        if c not in out:
            out.append(c)
    return out
