"""The tagging engine: vocabulary, user additions, suggestions, evidence and the focus check.

The texts are short abstracts written for these tests; the seed pages in ../shared/seeds are
real (see ``test_seed_papers``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exoref.tagging import (
    DEFAULT_THRESHOLD,
    Tagger,
    TaggingInput,
    TaggingResult,
    UnknownConceptError,
    UserAdditions,
    UserConcept,
    Vocabulary,
    VocabularyError,
    default_vocabulary_path,
    load_vocabulary,
    merge,
)
from exoref.tagging.vocabulary import GROUPS, parse_vocabulary

if TYPE_CHECKING:
    from exoref.tagging import Suggestion

REPO = Path(__file__).resolve().parents[2]
VOCABULARY_FILE = default_vocabulary_path(REPO / "resources")


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return load_vocabulary(VOCABULARY_FILE)


@pytest.fixture(scope="module")
def tagger(vocabulary: Vocabulary) -> Tagger:
    return Tagger(vocabulary)


def applied(result: TaggingResult) -> dict[str, float]:
    """Concept id -> score of the suggestions applied without asking."""
    return {s.concept: s.score for s in result.applied()}


def suggestion(result: TaggingResult, concept: str) -> Suggestion:
    found = result.get(concept)
    assert found is not None, f"{concept} not suggested: {[s.concept for s in result.suggestions]}"
    return found


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

#: The fixed concept ids (notes/concepts.md): id -> (group, parent).
FIXED = {
    "musculoskeletal": ("indication", None), "osteoarthritis": ("indication", "musculoskeletal"),
    "knee-osteoarthritis": ("indication", "osteoarthritis"),
    "tmj-osteoarthritis": ("indication", "osteoarthritis"),
    "cartilage-defect": ("indication", "musculoskeletal"),
    "tendon-injury": ("indication", "musculoskeletal"),
    "intervertebral-disc-degeneration": ("indication", "musculoskeletal"),
    "bone": ("indication", "musculoskeletal"), "fracture": ("indication", "bone"),
    "osteoporosis": ("indication", "bone"), "muscle-injury": ("indication", "musculoskeletal"),
    "autoimmune": ("indication", None), "rheumatoid-arthritis": ("indication", "autoimmune"),
    "lupus": ("indication", "autoimmune"), "multiple-sclerosis": ("indication", "autoimmune"),
    "type-1-diabetes": ("indication", "autoimmune"),
    "inflammatory-bowel-disease": ("indication", "autoimmune"), "liver": ("indication", None),
    "liver-fibrosis": ("indication", "liver"), "acute-liver-failure": ("indication", "liver"),
    "masld": ("indication", "liver"), "kidney": ("indication", None),
    "acute-kidney-injury": ("indication", "kidney"),
    "chronic-kidney-disease": ("indication", "kidney"), "cardiovascular": ("indication", None),
    "myocardial-infarction": ("indication", "cardiovascular"),
    "myocardial-ischaemia-reperfusion": ("indication", "cardiovascular"),
    "neurological": ("indication", None), "stroke": ("indication", "neurological"),
    "traumatic-brain-injury": ("indication", "neurological"),
    "spinal-cord-injury": ("indication", "neurological"),
    "alzheimers-disease": ("indication", "neurological"),
    "parkinsons-disease": ("indication", "neurological"), "lung": ("indication", None),
    "ards": ("indication", "lung"), "covid-19": ("indication", "lung"),
    "bronchopulmonary-dysplasia": ("indication", "lung"),
    "pulmonary-fibrosis": ("indication", "lung"), "gvhd": ("indication", None),
    "skin": ("indication", None), "wound-healing": ("indication", "skin"),
    "burns": ("indication", "skin"), "oral": ("indication", None),
    "periodontitis": ("indication", "oral"), "eye": ("indication", None),
    "retinal-disease": ("indication", "eye"), "corneal-disease": ("indication", "eye"),
    "sepsis": ("indication", None), "cancer": ("indication", None),
    "drug-delivery": ("indication", None), "reproductive": ("indication", None),
    "premature-ovarian-insufficiency": ("indication", "reproductive"),
    "intrauterine-adhesion": ("indication", "reproductive"),
    "bone-marrow": ("msc_source", None), "adipose": ("msc_source", None),
    "umbilical-cord": ("msc_source", None), "wharton-jelly": ("msc_source", "umbilical-cord"),
    "placenta": ("msc_source", None), "amniotic": ("msc_source", None),
    "dental-pulp": ("msc_source", None), "menstrual-blood": ("msc_source", None),
    "synovial": ("msc_source", None), "ipsc-derived": ("msc_source", None),
    "review": ("study_type", None), "systematic-review": ("study_type", "review"),
    "in-vitro": ("study_type", None), "animal": ("study_type", None),
    "clinical-trial": ("study_type", None),
}


def test_vocabulary_has_every_fixed_concept(vocabulary: Vocabulary) -> None:
    assert vocabulary.version >= 1
    for cid, (group, parent) in FIXED.items():
        concept = vocabulary.concept(cid)
        assert (concept.group, concept.parent) == (group, parent), cid
    assert len(vocabulary) > len(FIXED)   # and more, where the literature shows


def test_vocabulary_file_is_sorted_by_group_then_hierarchy(vocabulary: Vocabulary) -> None:
    order = [c.id for c in vocabulary]
    groups = [vocabulary.concept(cid).group for cid in order]
    assert groups == sorted(groups, key=GROUPS.index)
    for position, cid in enumerate(order):
        parent = vocabulary.concept(cid).parent
        if parent is not None:
            assert order.index(parent) < position, f"{cid} comes before its parent"


def test_hierarchy_questions(vocabulary: Vocabulary) -> None:
    assert set(vocabulary.descendants("osteoarthritis")) >= {"knee-osteoarthritis",
                                                             "tmj-osteoarthritis"}
    assert vocabulary.ancestors("renal-ischaemia-reperfusion") == ("acute-kidney-injury",
                                                                   "kidney")
    assert "wharton-jelly" in vocabulary.children("umbilical-cord")
    assert vocabulary.descendants("knee-osteoarthritis") == ()
    assert "colitis" in vocabulary.descendants("autoimmune")
    with pytest.raises(UnknownConceptError, match="osteoarthritsi"):
        vocabulary.descendants("osteoarthritsi")


def _shipped_data() -> dict[str, object]:
    data: dict[str, object] = json.loads(VOCABULARY_FILE.read_text("utf-8"))
    return data


def _concepts(data: dict[str, object]) -> list[dict[str, object]]:
    concepts = data["concepts"]
    assert isinstance(concepts, list)
    return concepts


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.json"
    path.write_text('{"version": 1,\n "concepts": [\n  {"id": "x",}\n ]}', "utf-8")
    with pytest.raises(VocabularyError) as caught:
        load_vocabulary(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c.update(parent="no-such-concept"), "parent 'no-such-concept' is not a concept"),
    (lambda c: c.update(group="disease"), "'group' must be one of"),
    (lambda c: c.update(synonyms="osteoarthritis"), "'synonyms' must be a list of strings"),
    (lambda c: c.update(mesh=["10003"]), "'mesh' ids look like D010003"),
    (lambda c: c.update(abbreviation_context={"XX": []}), "names XX, which is not in"),
])
def test_malformed_concept_names_file_concept_and_problem(tmp_path: Path, change: object,
                                                          expected: str) -> None:
    data = _shipped_data()
    concept = next(c for c in _concepts(data) if c["id"] == "knee-osteoarthritis")
    assert callable(change)
    change(concept)
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(VocabularyError) as caught:
        load_vocabulary(path)
    message = str(caught.value)
    assert str(path) in message
    assert "concept 'knee-osteoarthritis'" in message
    assert expected in message


def test_duplicate_id_and_loop_are_refused() -> None:
    data = _shipped_data()
    twice = copy.deepcopy(data)
    _concepts(twice).append(dict(_concepts(twice)[0]))
    with pytest.raises(VocabularyError, match="concept 'musculoskeletal': the id is used twice"):
        parse_vocabulary(twice, "v.json")
    looped = copy.deepcopy(data)
    for c in _concepts(looped):
        if c["id"] == "musculoskeletal":
            c["parent"] = "knee-osteoarthritis"
    with pytest.raises(VocabularyError, match="parents form a loop"):
        parse_vocabulary(looped, "v.json")


# --------------------------------------------------------------------------------------------
# User additions and upgrades
# --------------------------------------------------------------------------------------------


def test_user_additions_are_used_for_tagging(vocabulary: Vocabulary) -> None:
    user = UserAdditions(
        concepts=[UserConcept("peritoneal-fibrosis", "peritoneal fibrosis", parent="kidney",
                              synonyms=["peritoneal fibrosis"], abbreviations=["PF"])],
        synonyms={"osteoarthritis": ["joint wear disease"]},
    )
    result = merge(vocabulary, user)
    assert result.warnings == ()
    merged = result.vocabulary
    assert merged.concept("peritoneal-fibrosis").origin == "user"
    assert "peritoneal-fibrosis" in merged.descendants("kidney")
    tagger = Tagger(merged)
    out = tagger.suggest(TaggingInput(
        "Exosomes from umbilical cord MSCs prevent peritoneal fibrosis in dialysis rats",
        "Peritoneal fibrosis (PF) limits dialysis. Exosomes from MSCs reduced PF in rats. "
        "We also discuss joint wear disease."))
    assert "peritoneal-fibrosis" in applied(out)
    worn = tagger.suggest(TaggingInput("MSC exosomes for joint wear disease",
                                       "Exosomes from MSCs treated joint wear disease."))
    assert "osteoarthritis" in applied(worn)


def test_user_additions_survive_a_new_vocabulary_version(tmp_path: Path,
                                                         vocabulary: Vocabulary) -> None:
    user = UserAdditions(
        concepts=[UserConcept("tmj-pain", "TMJ pain", parent="tmj-osteoarthritis",
                              synonyms=["temporomandibular pain"])],
        synonyms={"masld": ["liver fat disease"], "tmj-osteoarthritis": ["jaw arthrosis"]},
        abbreviations={"masld": ["LFD"]},
    )
    stored = json.loads(json.dumps(user.to_dict()))      # as the database keeps it
    # The next version renames "masld" and drops "tmj-osteoarthritis".
    data = _shipped_data()
    data["version"] = vocabulary.version + 1
    data["renamed"] = {"masld": "steatotic-liver-disease"}
    concepts = [c for c in _concepts(data) if c["id"] != "tmj-osteoarthritis"]
    for c in concepts:
        if c["id"] == "masld":
            c["id"] = "steatotic-liver-disease"
        if c["parent"] == "masld":
            c["parent"] = "steatotic-liver-disease"
    data["concepts"] = concepts
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data), "utf-8")

    restored = UserAdditions.from_dict(stored)
    result = merge(load_vocabulary(path), restored)
    merged = result.vocabulary
    assert merged.version == vocabulary.version + 1
    assert "liver fat disease" in merged.concept("steatotic-liver-disease").synonyms
    assert "LFD" in merged.concept("steatotic-liver-disease").abbreviations
    assert merged.concept("tmj-pain").parent is None           # its parent is gone
    messages = " ".join(w.message for w in result.warnings)
    assert "'masld' is now 'steatotic-liver-disease'" in messages
    assert "'jaw arthrosis'" in messages
    assert "no concept 'tmj-osteoarthritis'" in messages
    assert "TMJ pain" in messages
    # Nothing the user added is lost: the additions are unchanged and still loadable.
    assert restored.to_dict() == stored
    assert load_vocabulary(path, restored).warnings == result.warnings
    # The same additions on the old vocabulary: nothing to report.
    assert merge(vocabulary, restored).warnings == ()


def test_user_concept_with_a_shipped_id_is_merged(vocabulary: Vocabulary) -> None:
    user = UserAdditions(concepts=[UserConcept("stroke", "my stroke", synonyms=["brain attack"])])
    result = merge(vocabulary, user)
    assert "brain attack" in result.vocabulary.concept("stroke").synonyms
    assert result.vocabulary.concept("stroke").label == "stroke"
    assert "now has a concept 'stroke'" in result.warnings[0].message


def test_user_additions_from_bad_data_are_refused() -> None:
    with pytest.raises(VocabularyError, match="needs a string 'id' and 'label'"):
        UserAdditions.from_dict({"concepts": [{"id": 3}]})


# --------------------------------------------------------------------------------------------
# The seed papers
# --------------------------------------------------------------------------------------------

SEED_EXPECTED = {
    "000_d236d764b4f169bc.txt": ({"osteoarthritis", "review"}, set()),
    "001_bc40160e5adcde42.txt": ({"rheumatoid-arthritis", "review"}, {"osteoarthritis"}),
    "002_1498dab3321b66eb.txt": ({"liver", "kidney", "cardiovascular", "neurological",
                                  "review"}, set()),
    "003_d114b94f21106d5f.txt": ({"osteoarthritis", "knee-osteoarthritis", "umbilical-cord",
                                  "clinical-trial"}, {"review"}),
    "004_675359f88d3076a1.txt": ({"review"}, set()),
}


def seed_input(seeds_dir: Path, name: str, *, with_abstract: bool) -> TaggingInput:
    """A seed page as the library holds it: the title from the sample metadata and the whole
    page as text; ``with_abstract`` adds the page's abstract (its longest paragraph: these
    are saved web pages), as a metadata lookup would."""
    meta = json.loads((REPO / "resources" / "sample" / "seeds.json").read_text("utf-8"))
    title = next(m["title"] for m in meta if m["seed_file"] == name)
    text = (seeds_dir / name).read_text("utf-8")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    abstract = max(paragraphs, key=len) if with_abstract else ""
    return TaggingInput(title, abstract, body=text)


@pytest.mark.parametrize("with_abstract", [True, False], ids=["abstract", "text-only"])
@pytest.mark.parametrize("name", sorted(SEED_EXPECTED))
def test_seed_papers(seeds_dir: Path, tagger: Tagger, name: str, with_abstract: bool) -> None:
    wanted, unwanted = SEED_EXPECTED[name]
    result = tagger.suggest(seed_input(seeds_dir, name, with_abstract=with_abstract))
    got = applied(result)
    assert wanted <= set(got), f"{name}: {got}"
    assert not (unwanted & set(got)), f"{name}: {got}"
    assert result.on_topic, result.focus_reason


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

PRIMARY_OA = ("Exosomes from bone marrow mesenchymal stem cells protect cartilage in "
              "osteoarthritis")
PRIMARY_OA_ABSTRACT = ("In this study, we isolated exosomes from bone marrow MSCs and injected "
                       "them into the knees of rats with osteoarthritis. The exosomes reduced "
                       "cartilage loss.")


def test_primary_paper(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(PRIMARY_OA, PRIMARY_OA_ABSTRACT))
    got = applied(result)
    assert {"osteoarthritis", "bone-marrow", "animal"} <= set(got)
    assert "review" not in got
    assert result.on_topic
    assert all(0.0 <= s.score <= 1.0 for s in result.suggestions)
    assert [s.score for s in result.suggestions] == sorted(
        (s.score for s in result.suggestions), reverse=True)


def test_title_and_abstract_weigh_above_the_body(tagger: Tagger) -> None:
    in_title = tagger.suggest(TaggingInput("MSC exosomes in sepsis", "Exosomes from MSCs."))
    in_body = tagger.suggest(TaggingInput("MSC exosomes", "Exosomes from MSCs.",
                                          body="Exosomes from MSCs were studied in sepsis."))
    assert suggestion(in_title, "sepsis").score >= DEFAULT_THRESHOLD
    assert in_body.get("sepsis") is None or \
        in_body.get("sepsis").score < suggestion(in_title, "sepsis").score / 4  # type: ignore[union-attr]


def test_reference_list_makes_no_tag(tagger: Tagger) -> None:
    body = ("Exosomes derived from MSCs were injected into rats with osteoarthritis.\n" * 6 +
            "\nReferences\n" +
            "\n".join(f"{k}. Author A, Writer B. MSC exosomes in acute kidney injury and "
                      f"sepsis. J Am Soc Nephrol. 2019;30:{k}-9." for k in range(1, 40)))
    result = tagger.suggest(TaggingInput(PRIMARY_OA, PRIMARY_OA_ABSTRACT, body=body))
    assert result.get("acute-kidney-injury") is None
    assert result.get("sepsis") is None
    assert "osteoarthritis" in applied(result)


def test_citation_lines_without_a_heading_make_no_tag(tagger: Tagger) -> None:
    body = "".join(
        f"{k}. Bruno S, Grange C, Camussi G. Microvesicles from MSCs protect against acute "
        f"kidney injury. J Am Soc Nephrol. 2009;20:1053-67. Google Scholar\n"
        for k in range(1, 12))
    result = tagger.suggest(TaggingInput("Mesenchymal stem cell exosomes for clinical use",
                                         "In this review, we discuss MSC-derived exosomes.",
                                         body=body))
    assert result.get("acute-kidney-injury") is None
    assert result.get("kidney") is None


def test_mention_in_passing_makes_no_tag(tagger: Tagger) -> None:
    body = ("MSC exosomes have also been studied in sepsis. " +
            "Exosomes were injected into rats with osteoarthritis. " * 20)
    result = tagger.suggest(TaggingInput(PRIMARY_OA, PRIMARY_OA_ABSTRACT, body=body))
    assert "sepsis" not in applied(result)
    contrast = tagger.suggest(TaggingInput(
        "MSC exosomes in osteoarthritis",
        "Unlike rheumatoid arthritis, osteoarthritis is mainly degenerative. In contrast to "
        "RA, OA lacks autoimmunity. We found that exosomes from MSCs protect chondrocytes in "
        "osteoarthritis (OA)."))
    assert "osteoarthritis" in applied(contrast)
    ra = contrast.get("rheumatoid-arthritis")
    assert ra is None or ra.score < 0.2


def test_list_of_diseases_counts_little_in_primary_paper_not_in_review(tagger: Tagger) -> None:
    primary = tagger.suggest(TaggingInput(
        "Umbilical cord MSC-derived exosomes alleviate acute kidney injury",
        "MSC-derived vesicles have helped in diseases such as myocardial infarction, stroke, "
        "liver fibrosis and graft-versus-host disease. Here we investigated whether exosomes "
        "from umbilical cord MSCs protect mice against cisplatin-induced acute kidney injury."))
    got = applied(primary)
    assert {"acute-kidney-injury", "umbilical-cord"} <= set(got)
    assert not {"myocardial-infarction", "stroke", "liver-fibrosis", "gvhd"} & set(got)
    review = tagger.suggest(TaggingInput(
        "MSC-derived exosomes as cell-free therapy",
        "This review highlights the therapeutic potential of MSC-derived exosomes in liver, "
        "kidney, cardiovascular and neurological disease."))
    assert {"liver", "kidney", "cardiovascular", "neurological", "review"} <= set(
        applied(review))


ABBREVIATION_CASES = [
    # (abstract, concept, expected to count)
    ("Multiple sclerosis (MS) is demyelinating. MSC exosomes reduced MS severity in mice.",
     "multiple-sclerosis", True),
    ("Exosomes from MSCs were analysed by MS; MS found 500 proteins in the MS data.",
     "multiple-sclerosis", False),
    ("Exosomes were profiled by mass spectrometry (MS). MS identified proteins; MS data "
     "were mined.", "multiple-sclerosis", False),
    ("We treated OA (osteoarthritis) with MSC exosomes. OA improved after OA treatment.",
     "osteoarthritis", True),
    ("Knee osteoarthritis (KOA) is common. MSC exosomes relieved KOA; KOA pain fell.",
     "knee-osteoarthritis", True),
    ("Exosomes from adipose-derived MSCs (AD-MSCs) were given; AD-MSCs and AD-MSC exosomes "
     "helped.", "alzheimers-disease", False),
    ("MSC exosomes reduced amyloid plaques and memory loss in AD mice; AD pathology fell.",
     "alzheimers-disease", True),
    ("Peritoneal dialysis (PD) injures the peritoneum. MSC exosomes protected PD rats in PD.",
     "parkinsons-disease", False),
    # Undefined, but the words around make it clear (or do not).
    ("MSC exosomes reduced cartilage loss in knee OA; OA chondrocytes survived in OA joints.",
     "osteoarthritis", True),
    ("MSC exosome papers were counted; OA journals published most, and OA fees were paid.",
     "osteoarthritis", False),
    ("MSC exosomes reduced alveolar edema and pulmonary inflammation in ALI mice; ALI lungs "
     "recovered.", "ards", True),
    ("MSC exosomes reduced alveolar edema and pulmonary inflammation in ALI mice; ALI lungs "
     "recovered.", "acute-liver-failure", False),
]


@pytest.mark.parametrize(("abstract", "concept", "counts"), ABBREVIATION_CASES)
def test_abbreviations_count_where_defined_or_unambiguous(tagger: Tagger, abstract: str,
                                                          concept: str, counts: bool) -> None:
    result = tagger.suggest(TaggingInput("Exosomes from mesenchymal stem cells", abstract))
    found = result.get(concept)
    if counts:
        assert found is not None, result.suggestions
        assert found.score >= DEFAULT_THRESHOLD
    else:
        assert found is None, found


def test_british_and_american_spellings(tagger: Tagger) -> None:
    for spelling in ("ischaemia/reperfusion", "ischemia-reperfusion", "ischaemia reperfusion"):
        result = tagger.suggest(TaggingInput(
            f"MSC exosomes protect against myocardial {spelling} injury",
            f"Exosomes from MSCs were given to rats after myocardial {spelling}."))
        assert "myocardial-ischaemia-reperfusion" in applied(result), spelling
    tumour = tagger.suggest(TaggingInput("MSC exosomes deliver miRNA to tumours",
                                         "Exosomes from MSCs slowed tumour growth."))
    assert "cancer" in applied(tumour)


def test_line_break_hyphenation_and_diacritics(tagger: Tagger) -> None:
    body = ("Extra-\ncellular vesicles from mesenchymal stem cells were injected into osteo-\n"
            "arthritis model rats, and osteo-\narthritis scores fell. Sjögren’s syn-\ndrome "
            "was not studied.\n")
    inp = TaggingInput("Vesicles in joint disease", body=body)
    result = tagger.suggest(inp)
    oa = suggestion(result, "osteoarthritis")
    assert oa.score >= DEFAULT_THRESHOLD
    broken = [e for e in oa.evidence if "\n" in e.phrase]
    assert broken, oa.evidence
    for e in oa.evidence:
        assert body[e.start:e.end] == e.phrase
        assert e.phrase.replace("-\n", "").lower() == "osteoarthritis"
    assert result.on_topic


def test_child_implies_parent_but_the_most_specific_is_suggested(tagger: Tagger) -> None:
    knee = tagger.suggest(TaggingInput(
        "Exosomes from synovial MSCs for knee osteoarthritis",
        "Knee osteoarthritis (KOA) is common. Synovial MSC-derived exosomes relieved KOA."))
    assert "knee-osteoarthritis" in applied(knee)
    assert knee.get("osteoarthritis") is None     # found only through its child
    parent_alone = tagger.suggest(TaggingInput("MSC exosomes in osteoarthritis",
                                               "Exosomes from MSCs protected osteoarthritic "
                                               "cartilage in osteoarthritis."))
    assert "osteoarthritis" in applied(parent_alone)
    assert parent_alone.get("knee-osteoarthritis") is None
    # Two children named once each: neither is sure, their parent is.
    two = tagger.suggest(TaggingInput(
        "Exosomes from mesenchymal stem cells",
        "Exosomes were tested in knee osteoarthritis. Exosomes were tested in "
        "temporomandibular joint osteoarthritis."))
    oa = suggestion(two, "osteoarthritis")
    assert oa.score >= DEFAULT_THRESHOLD
    assert {e.phrase.lower() for e in oa.evidence} >= {"knee osteoarthritis"}
    assert suggestion(two, "knee-osteoarthritis").score < DEFAULT_THRESHOLD


def test_registry_ids_are_evidence_of_a_clinical_trial(tagger: Tagger) -> None:
    abstract = ("We enrolled 20 patients with ARDS in an open-label trial of nebulized "
                "exosomes from bone marrow MSCs. Trial registration: ClinicalTrials.gov "
                "NCT04276987 and ChiCTR2000030261.")
    result = tagger.suggest(TaggingInput("Exosomes for ARDS", abstract))
    trial = suggestion(result, "clinical-trial")
    assert trial.score >= DEFAULT_THRESHOLD
    ids = {e.phrase for e in trial.evidence}
    assert {"NCT04276987", "ChiCTR2000030261"} <= ids
    nct = next(e for e in trial.evidence if e.phrase == "NCT04276987")
    assert nct.field == "abstract"
    assert abstract[nct.start:nct.end] == "NCT04276987"
    given_ids = tagger.suggest(TaggingInput("MSC exosomes in knee osteoarthritis",
                                            "Exosomes from MSCs were injected.",
                                            trial_ids=("NCT05060107",)))
    trial = suggestion(given_ids, "clinical-trial")
    assert trial.score >= DEFAULT_THRESHOLD
    assert trial.evidence[0].field == "trial_id"


def test_review_silences_the_primary_study_types_it_mentions(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(
        "Mesenchymal stem cell-derived extracellular vesicles for kidney disease",
        "In this review, we summarize recent advances in MSC-EVs for acute kidney injury, "
        "from in vitro studies and mice to ongoing clinical trials (NCT02966808)."))
    got = applied(result)
    assert "review" in got
    assert not {"in-vitro", "animal", "clinical-trial"} & set(got)


def test_systematic_review(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(
        "MSC-derived exosomes for osteoarthritis: a systematic review and meta-analysis",
        "We systematically searched PubMed and Embase; 20 animal studies were included."))
    got = applied(result)
    assert "systematic-review" in got
    assert "animal" not in got


def study_type_evidence(result: TaggingResult) -> set[str]:
    """The phrases behind every study type suggestion, lower case."""
    return {e.phrase.lower() for s in result.in_group("study_type") for e in s.evidence}


def test_how_cells_were_made_is_not_the_study_design(tagger: Tagger) -> None:
    """"In vitro-expanded MSCs" says how the cells were grown, not that the study was done in
    vitro; "in vitro" on its own still counts."""
    made = tagger.suggest(TaggingInput(
        "Exosomes from ex vivo-expanded umbilical cord MSCs for knee osteoarthritis: an "
        "open-label phase I trial",
        "Exosomes were purified from in vitro-expanded umbilical cord MSCs and from "
        "in vitro-differentiated chondrocytes. Twelve patients with knee osteoarthritis "
        "received one intra-articular injection and were followed for 12 months."))
    assert "clinical-trial" in applied(made)
    assert "in-vitro" not in applied(made)
    assert not {"in vitro", "ex vivo"} & study_type_evidence(made)
    studied = tagger.suggest(TaggingInput(
        "Exosomes from umbilical cord MSCs protect chondrocytes",
        "In vitro, exosomes from in vitro-expanded umbilical cord MSCs promoted chondrocyte "
        "proliferation and migration."))
    assert "in-vitro" in applied(studied)
    assert "in vitro" in study_type_evidence(studied)


def test_grade_of_a_disease_or_a_product_is_no_review(tagger: Tagger) -> None:
    """"Grade 2 osteoarthritis", "GMP-grade", "clinical-grade" are no sign of a review; GRADE,
    the rating of evidence, is one in a systematic review."""
    graded = tagger.suggest(TaggingInput(
        "Clinical-grade umbilical cord MSC exosomes for grade 2 knee osteoarthritis",
        "We injected GMP-grade exosomes from umbilical cord MSCs into the knees of rats with "
        "Kellgren-Lawrence grade 2 osteoarthritis. Exosomes lowered the OARSI grade of "
        "cartilage damage."))
    assert "animal" in applied(graded)
    assert graded.get("review") is None
    assert graded.get("systematic-review") is None
    rated = tagger.suggest(TaggingInput(
        "MSC-derived exosomes for osteoarthritis in animal models: a meta-analysis",
        "We searched PubMed and Embase for animal studies of MSC exosomes in osteoarthritis. "
        "Certainty of the evidence was rated with GRADE; it was low."))
    assert "systematic-review" in applied(rated)
    assert "grade" in {e.phrase.lower() for e in suggestion(rated, "systematic-review").evidence}


SURVEYS = [
    ("Use of mesenchymal stem cell exosome injections for knee osteoarthritis: a survey of "
     "orthopaedic surgeons",
     "We conducted an online survey of 200 orthopaedic surgeons on MSC-derived exosome "
     "injections for knee osteoarthritis. Participants were recruited through a national "
     "society and gave informed consent; 152 respondents (76%) completed the questionnaire. "
     "Most had treated patients with exosome products, and 40% had seen adverse events."),
    ("What patients with knee osteoarthritis expect of exosomes from mesenchymal stem cells",
     "We surveyed 312 patients with knee osteoarthritis in orthopaedic clinics about "
     "MSC-derived exosome therapy. Participants were enrolled after informed consent and "
     "completed a self-administered questionnaire at baseline and at follow-up. Most "
     "respondents expected pain relief and few feared adverse events."),
]


@pytest.mark.parametrize(("title", "abstract"), SURVEYS, ids=["clinicians", "patients"])
def test_a_survey_of_people_is_no_clinical_trial(tagger: Tagger, title: str,
                                                 abstract: str) -> None:
    """People who answered a questionnaire were not treated: participants, consent and a
    count of patients make no clinical trial in a survey."""
    result = tagger.suggest(TaggingInput(title, abstract))
    assert result.get("clinical-trial") is None, result.get("clinical-trial")
    assert "knee-osteoarthritis" in applied(result)


def test_a_trial_that_scores_with_a_questionnaire_is_still_a_trial(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(
        "Exosomes from umbilical cord MSCs for knee osteoarthritis: a pilot study",
        "Twenty patients with knee osteoarthritis were enrolled after informed consent and "
        "received an intra-articular injection of umbilical cord MSC-derived exosomes. Pain "
        "was scored with the WOMAC questionnaire at baseline and after 6 months of follow-up; "
        "no serious adverse events occurred."))
    assert "clinical-trial" in applied(result)


def test_amniotic_membrane_as_a_material_is_no_msc_source(tagger: Tagger) -> None:
    """An amniotic membrane used as a scaffold, patch or graft carries the vesicles; it is not
    the tissue their cells came from."""
    carrier = tagger.suggest(TaggingInput(
        "Exosomes from adipose-derived MSCs on an amniotic membrane scaffold heal diabetic "
        "wounds",
        "Exosomes from adipose-derived mesenchymal stem cells were loaded onto a decellularized "
        "amniotic membrane and applied to diabetic wounds in rats. The amniotic membrane patch "
        "with exosomes closed wounds faster than amniotic membrane transplantation alone.",
        keywords=("exosomes", "amniotic membrane scaffold", "wound healing")))
    assert "adipose" in applied(carrier)
    assert "amniotic" not in applied(carrier)
    # Nor does an abbreviation the paper gives the material name the source.
    abbreviated = tagger.suggest(TaggingInput(
        "Exosomes from adipose-derived MSCs in a membrane carrier for diabetic wounds",
        "Exosomes from adipose-derived MSCs were loaded onto an acellular amniotic membrane "
        "(AAM). AAM with exosomes healed diabetic wounds in mice faster than AAM alone."))
    assert abbreviated.get("amniotic") is None, abbreviated.get("amniotic")
    source = tagger.suggest(TaggingInput(
        "Exosomes from human amniotic membrane MSCs heal diabetic wounds",
        "Exosomes from amniotic membrane-derived mesenchymal stem cells were applied to "
        "diabetic wounds in rats on a collagen scaffold."))
    assert "amniotic" in applied(source)


def test_publication_types_weigh_heavily(tagger: Tagger) -> None:
    text = ("Exosomes from MSCs", "Exosomes from MSCs were given to mice with colitis. "
            "We discuss the findings.")
    as_review = tagger.suggest(TaggingInput(*text, publication_types=("Journal Article",
                                                                      "Review")))
    review = suggestion(as_review, "review")
    assert review.score >= 0.9
    assert any(e.field == "publication_type" for e in review.evidence)
    as_article = tagger.suggest(TaggingInput(*text, publication_types=("Journal Article",)))
    assert "review" not in applied(as_article)
    trial = tagger.suggest(TaggingInput(*text, publication_types=("Clinical Trial, Phase I",)))
    assert "clinical-trial" in applied(trial)


def test_mesh_headings(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput("Exosomes from MSCs", "Exosomes were injected.",
                                         mesh=("*Osteoarthritis, Knee/therapy", "Exosomes",
                                               "Mesenchymal Stem Cells")))
    knee = suggestion(result, "knee-osteoarthritis")
    assert knee.score >= DEFAULT_THRESHOLD
    assert knee.evidence[0].field == "mesh"


def test_msc_source_is_the_source_of_the_vesicles(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(
        "Human umbilical cord MSC-derived exosomes attenuate liver fibrosis",
        "MSCs can be isolated from bone marrow, adipose tissue, dental pulp and umbilical "
        "cord. We used human umbilical cord MSC-derived exosomes (hUCMSC-Exos); hUCMSC-Exos "
        "reduced fibrosis in CCl4-treated mice."))
    got = applied(result)
    assert "umbilical-cord" in got
    assert not {"bone-marrow", "adipose", "dental-pulp"} & set(got)


# --------------------------------------------------------------------------------------------
# Focus check
# --------------------------------------------------------------------------------------------

OFF_TOPIC = [
    ("Plasma exosomal microRNAs as diagnostic biomarkers for knee osteoarthritis",
     "Circulating exosomes were isolated from plasma of 50 patients with knee osteoarthritis "
     "and 30 controls. Exosomal miR-26a was differentially expressed; ROC curve analysis gave "
     "an area under the curve of 0.85, supporting its use as a diagnostic biomarker.",
     "biomarkers"),
    ("Prevalence and risk factors of knee osteoarthritis: a population-based study",
     "We surveyed 10,000 adults. The prevalence of knee osteoarthritis was 18%; age and "
     "obesity were risk factors (odds ratio 2.1).", "epidemiolog"),
    ("Intra-articular umbilical cord mesenchymal stem cells for knee osteoarthritis",
     "Patients were randomly assigned to umbilical cord MSCs or hyaluronic acid. MSC "
     "injection improved pain at 12 months. Cell therapy with MSCs was safe.",
     "MSCs used as cells"),
    ("Tumor-derived exosomes prepare the lung for breast cancer metastasis",
     "Tumor-derived exosomes from breast cancer cells were taken up by lung fibroblasts.",
     "non-MSC"),
]


@pytest.mark.parametrize(("title", "abstract", "reason"), OFF_TOPIC)
def test_off_topic_papers_are_flagged(tagger: Tagger, title: str, abstract: str,
                                      reason: str) -> None:
    result = tagger.suggest(TaggingInput(title, abstract))
    assert not result.on_topic
    assert result.focus_score < 0.5
    assert reason in result.focus_reason


def test_reviews_of_msc_vesicle_therapy_are_on_topic(tagger: Tagger) -> None:
    result = tagger.suggest(TaggingInput(
        "Therapeutic potential of mesenchymal stem cell-derived exosomes: a review",
        "MSC-derived exosomes are a promising cell-free therapy. We summarize their use in "
        "tissue repair."))
    assert result.on_topic
    assert result.focus_score >= 0.5
    assert "MSC-derived vesicles" in result.focus_reason


def test_vesicle_therapy_from_an_unnamed_source_is_kept(tagger: Tagger) -> None:
    """A review of "exosomes as cell-free therapy" that names no source is not flagged; the
    same words about vesicles of a named other origin are."""
    kept = tagger.suggest(TaggingInput(
        "Extracellular vesicles as a cell-free therapy for cartilage repair: a review",
        "We review animal studies in which extracellular vesicles were injected into injured "
        "joints; they improved cartilage repair and reduced pain."))
    assert kept.on_topic
    assert "source is not named" in kept.focus_reason
    other = tagger.suggest(TaggingInput(
        "Exosomes secreted by cardiosphere-derived cells as a therapy for heart failure",
        "Exosomes from cardiosphere-derived cells improved cardiac function after injection."))
    assert not other.on_topic
    assert "non-MSC" in other.focus_reason


def test_an_abbreviation_is_defined_by_the_longest_phrase_before_it(tagger: Tagger) -> None:
    """"Type 1 diabetes mellitus (T1DM)" defines T1DM as type 1 diabetes, not as the
    "diabetes mellitus" inside the phrase."""
    result = tagger.suggest(TaggingInput(
        "Exosomes from bone marrow MSCs in T1DM",
        "Type 1 diabetes mellitus (T1DM) is an autoimmune disease. Bone marrow MSC-derived "
        "exosomes protected islets in NOD mice with T1DM."))
    assert "type-1-diabetes" in applied(result)
    assert result.get("diabetes") is None
    assert any(e.phrase == "T1DM" for e in suggestion(result, "type-1-diabetes").evidence)


def test_keywords_are_read_together_but_phrases_do_not_cross_them(tagger: Tagger) -> None:
    """Keywords are one text for the tagger, joined so that the end of one keyword and the
    start of the next never make a phrase ("acute kidney" + "injury model")."""
    keywords = ("exosomes", "acute kidney", "injury model", "mesenchymal stem cells")
    result = tagger.suggest(TaggingInput("Vesicles in a rat model", "", keywords))
    assert result.get("acute-kidney-injury") is None
    joined = tagger.suggest(TaggingInput("Vesicles in a rat model", "",
                                         ("exosomes", "acute kidney injury")))
    evidence = suggestion(joined, "acute-kidney-injury").evidence[0]
    assert evidence.field == "keywords"
    assert evidence.phrase == "acute kidney injury"
    text = "; ".join(("exosomes", "acute kidney injury"))
    assert text[evidence.start:evidence.end] == "acute kidney injury"


def test_nothing_to_tag() -> None:
    result = Tagger(load_vocabulary(VOCABULARY_FILE)).suggest(TaggingInput(""))
    assert result.suggestions == ()
    assert not result.on_topic


# --------------------------------------------------------------------------------------------
# Robustness and parallel use
# --------------------------------------------------------------------------------------------

_WORDS = st.sampled_from([
    "osteoarthritis", "OA", "(OA)", "MS", "exosomes", "MSC-derived", "NCT01234567", "review",
    "in vitro", "mice", "osteo-\narthritis", "ﬁbrosis", "Sjögren’s", "β", "\n", "-", "(", ")",
    "References\n", "1.", "Smith J,", "2019;12:3", "hUC-MSCs", "AD-MSCs", "AD", "KOA", "—",
    "bone marrow", "unlike", "liver,", "kidney and", "heart disease", "α", "", " ", "\u00ad",
])
_TEXT = st.one_of(st.text(max_size=300), st.lists(_WORDS, max_size=60).map(" ".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_TEXT, abstract=_TEXT, body=_TEXT, keywords=st.lists(_TEXT, max_size=3),
       mesh=st.lists(st.text(max_size=30), max_size=3))
def test_suggest_never_raises_and_scores_are_probabilities(
        tagger: Tagger, title: str, abstract: str, body: str, keywords: list[str],
        mesh: list[str]) -> None:
    inp = TaggingInput(title, abstract, keywords, body, mesh)
    result = tagger.suggest(inp)
    assert 0.0 <= result.focus_score <= 1.0
    texts = {"title": title, "abstract": abstract, "body": body}
    for s in result.suggestions:
        assert 0.0 <= s.score <= 1.0
        for e in s.evidence:
            if e.field in texts:
                assert 0 <= e.start < e.end <= len(texts[e.field])
                assert texts[e.field][e.start:e.end] == e.phrase
                # Offsets land on whole words of the text the user sees.
                assert e.phrase[0].isalnum()
                assert e.phrase[-1].isalnum()


def test_suggest_many_matches_suggest(tagger: Tagger) -> None:
    inputs = [TaggingInput(PRIMARY_OA, PRIMARY_OA_ABSTRACT),
              TaggingInput(*OFF_TOPIC[0][:2]),
              TaggingInput("MSC exosomes in sepsis", "Exosomes from MSCs reduced sepsis.")]
    alone = [tagger.suggest(i) for i in inputs]
    assert list(tagger.suggest_many(inputs, processes=1)) == alone
    assert list(tagger.suggest_many(inputs, processes=2, chunksize=1)) == alone
