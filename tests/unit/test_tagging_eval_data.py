"""The blind tagging evaluation set (bench/data/tagging_eval.json) is well-formed.

The concept ids below are the fixed ids of the project notes, copied here on purpose: the set must
stay blind to the tagger, so the test does not read the tagger's vocabulary file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "tagging_eval.json"

INDICATIONS = frozenset("""
    musculoskeletal osteoarthritis knee-osteoarthritis tmj-osteoarthritis cartilage-defect
    tendon-injury intervertebral-disc-degeneration bone fracture osteoporosis muscle-injury
    autoimmune rheumatoid-arthritis lupus multiple-sclerosis type-1-diabetes
    inflammatory-bowel-disease liver liver-fibrosis acute-liver-failure masld kidney
    acute-kidney-injury chronic-kidney-disease cardiovascular myocardial-infarction
    myocardial-ischaemia-reperfusion neurological stroke traumatic-brain-injury spinal-cord-injury
    alzheimers-disease parkinsons-disease lung ards covid-19 bronchopulmonary-dysplasia
    pulmonary-fibrosis gvhd skin wound-healing burns oral periodontitis eye retinal-disease
    corneal-disease sepsis cancer drug-delivery reproductive premature-ovarian-insufficiency
    intrauterine-adhesion
""".split())
MSC_SOURCES = frozenset("""
    bone-marrow adipose umbilical-cord wharton-jelly placenta amniotic dental-pulp menstrual-blood
    synovial ipsc-derived
""".split())
STUDY_TYPES = frozenset({"review", "systematic-review", "in-vitro", "animal", "clinical-trial"})
GROUPS = {"indication": INDICATIONS, "msc_source": MSC_SOURCES, "study_type": STUDY_TYPES}

DOI = re.compile(r"^10\.\d{4,9}/\S+$")
PMID = re.compile(r"^[1-9]\d{0,8}$")


@pytest.fixture(scope="module")
def papers() -> list[dict[str, Any]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert data["version"] == 1
    result: list[dict[str, Any]] = data["papers"]
    return result


def test_declared_label_concepts_are_the_fixed_ids() -> None:
    """The data file declares the label space the bench uses to recognise predictions finer than
    the gold can express; it must be exactly the fixed concept ids."""
    declared = json.loads(DATA.read_text(encoding="utf-8"))["label_concepts"]
    assert set(declared) == set(GROUPS)
    for group, known in GROUPS.items():
        assert len(declared[group]) == len(set(declared[group])), group
        assert set(declared[group]) == known, group


def _words(text: str) -> int:
    return len(text.split())


def test_enough_papers_and_indications(papers: list[dict[str, Any]]) -> None:
    assert len(papers) >= 80
    indications = {c for p in papers for c in p["labels"]["indication"]}
    assert len(indications) >= 15
    on_topic = [p for p in papers if p["labels"]["focus"] == "on-topic"]
    assert len({c for p in on_topic for c in p["labels"]["indication"]}) >= 15


def test_off_topic_papers_present(papers: list[dict[str, Any]]) -> None:
    focus = Counter(p["labels"]["focus"] for p in papers)
    assert set(focus) == {"on-topic", "off-topic"}
    assert focus["off-topic"] >= 15


def test_ids_unique_and_derived_from_doi_or_pmid(papers: list[dict[str, Any]]) -> None:
    ids = [p["id"] for p in papers]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    dois = [p["doi"].lower() for p in papers if p["doi"]]
    pmids = [p["pmid"] for p in papers if p["pmid"]]
    assert [d for d, n in Counter(dois).items() if n > 1] == []
    assert [m for m, n in Counter(pmids).items() if n > 1] == []
    for p in papers:
        assert p["doi"] or p["pmid"], p["id"]
        if p["doi"]:
            assert DOI.match(p["doi"]), p["doi"]
            assert p["id"] == f"doi:{p['doi'].lower()}"
        else:
            assert p["id"] == f"pmid:{p['pmid']}"
        if p["pmid"]:
            assert PMID.match(p["pmid"]), p["pmid"]


def test_every_paper_has_a_title_and_its_source(papers: list[dict[str, Any]]) -> None:
    titles = [" ".join(p["title"].lower().split()) for p in papers]
    assert [t for t, n in Counter(titles).items() if n > 1] == []
    for p in papers:
        assert p["title"].strip() == p["title"], p["id"]
        assert len(p["title"]) > 10, p["id"]
        assert p["text"]["title"] == p["title"], p["id"]
        assert p["source_url"].startswith(("http://", "https://")), p["id"]


def test_text_follows_the_writing_rules(papers: list[dict[str, Any]]) -> None:
    bodies = 0
    for p in papers:
        text = p["text"]
        assert set(text) <= {"title", "abstract", "keywords", "body"}, p["id"]
        assert 80 <= _words(text["abstract"]) <= 200, (p["id"], _words(text["abstract"]))
        assert 2 <= len(text["keywords"]) <= 8, p["id"]
        assert all(isinstance(k, str) and k.strip() for k in text["keywords"]), p["id"]
        if "body" in text:
            bodies += 1
            assert 100 <= _words(text["body"]) <= 300, (p["id"], _words(text["body"]))
            assert "References\n1. " in text["body"], p["id"]
    # About a third of the papers carry a body (an introduction plus references).
    assert len(papers) / 4 <= bodies <= len(papers) / 2


def test_every_label_is_a_known_concept_of_its_group(papers: list[dict[str, Any]]) -> None:
    for p in papers:
        labels = p["labels"]
        assert set(labels) == {"indication", "msc_source", "study_type", "focus"}, p["id"]
        assert labels["focus"] in {"on-topic", "off-topic"}, p["id"]
        for group, known in GROUPS.items():
            values = labels[group]
            assert isinstance(values, list), (p["id"], group)
            assert len(values) == len(set(values)), (p["id"], group)
            unknown = set(values) - known
            assert not unknown, (p["id"], group, unknown)


def test_study_type_is_always_given(papers: list[dict[str, Any]]) -> None:
    """Every paper is a review or reports some kind of study; an empty study type is a slip."""
    for p in papers:
        types = set(p["labels"]["study_type"])
        assert types, p["id"]
        # The most specific review type only: systematic-review already implies review.
        assert not {"review", "systematic-review"} <= types, p["id"]
        # A review is not also a primary study.
        if types & {"review", "systematic-review"}:
            assert not types & {"in-vitro", "animal", "clinical-trial"}, p["id"]


def test_labels_name_the_most_specific_concepts(papers: list[dict[str, Any]]) -> None:
    """Gold labels omit ancestors (the bench adds them): no paper lists a concept with one of
    its parents."""
    parents = {
        "knee-osteoarthritis": "osteoarthritis", "tmj-osteoarthritis": "osteoarthritis",
        "osteoarthritis": "musculoskeletal", "fracture": "bone", "osteoporosis": "bone",
        "bone": "musculoskeletal", "liver-fibrosis": "liver", "acute-kidney-injury": "kidney",
        "chronic-kidney-disease": "kidney", "covid-19": "lung", "ards": "lung",
        "myocardial-infarction": "cardiovascular", "wharton-jelly": "umbilical-cord",
    }
    for p in papers:
        labels = {c for g in GROUPS for c in p["labels"][g]}
        for child, parent in parents.items():
            assert not (child in labels and parent in labels), (p["id"], child, parent)


def test_the_set_covers_every_study_type_and_many_sources(papers: list[dict[str, Any]]) -> None:
    on_topic = [p for p in papers if p["labels"]["focus"] == "on-topic"]
    types = Counter(t for p in on_topic for t in p["labels"]["study_type"])
    assert set(types) == STUDY_TYPES
    assert min(types.values()) >= 5
    sources = {s for p in on_topic for s in p["labels"]["msc_source"]}
    assert len(sources) >= 7
