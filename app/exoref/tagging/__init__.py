"""Tagging by indication, MSC source and study type (pure core: no database, no Qt).

* :mod:`exoref.tagging.vocabulary`: the curated, versioned vocabulary and user additions;
* :mod:`exoref.tagging.tagger`: suggestions with evidence and scores, and the focus check.
"""

from __future__ import annotations

from exoref.tagging.tagger import (
    DEFAULT_THRESHOLD,
    Evidence,
    Suggestion,
    Tagger,
    TaggingInput,
    TaggingResult,
)
from exoref.tagging.vocabulary import (
    Concept,
    MergeResult,
    MergeWarning,
    UnknownConceptError,
    UserAdditions,
    UserConcept,
    Vocabulary,
    VocabularyError,
    default_vocabulary_path,
    load_vocabulary,
    merge,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "Concept",
    "Evidence",
    "MergeResult",
    "MergeWarning",
    "Suggestion",
    "Tagger",
    "TaggingInput",
    "TaggingResult",
    "UnknownConceptError",
    "UserAdditions",
    "UserConcept",
    "Vocabulary",
    "VocabularyError",
    "default_vocabulary_path",
    "load_vocabulary",
    "merge",
]
