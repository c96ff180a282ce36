"""A PubMed record's MeSH headings and publication types change a paper's tags.

The papers here say nothing in their own title, abstract or keywords about COVID-19, a
clinical trial or a review; the recorded PubMed records (tests/data/lookup/pubmed) do, in
their MeSH headings and publication types.  The lookup (through the local recorded server)
keeps the paper's own text, stores the headings and types, and tags the paper again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exoref.domain.models import Author, Reference
from exoref.services.lookup import LookupService, OnlineConfig
from exoref.services.papers import PaperService
from exoref.services.tagging import SuggestionView, TaggingService

if TYPE_CHECKING:
    from exoref.services.library import Library
    from tests.fixtures.lookup_server import LookupServer


def _by_concept(tagging: TaggingService, paper_id: int) -> dict[str, SuggestionView]:
    return {s.concept: s for s in tagging.suggest(paper_id).suggestions}


def _look_up(library: Library, server: LookupServer, paper_id: int) -> list[str]:
    """Queue the paper and run the queue as the window's worker does; the fields changed."""
    service = LookupService(library, OnlineConfig(settings=server.settings()))
    assert service.enqueue([paper_id]) == 1
    [outcome] = service.run_queue()
    assert outcome.status == "completed", outcome.message
    return outcome.changed


def test_mesh_headings_and_a_trial_publication_type_bring_their_tags(
    library: Library, server: LookupServer
) -> None:
    own = Reference(
        title="Intravenous exosomes from bone marrow mesenchymal stem cells: a first report",
        authors=[Author("Sengupta", "V.")], year=2020, doi="10.1089/scd.2020.0080",
        journal="Stem Cells and Development", keywords=["exosomes"],
        abstract="Exosomes prepared from allogeneic bone marrow mesenchymal stem cells were "
                 "infused intravenously; oxygenation improved and inflammatory markers declined.")
    [paper_id] = PaperService(library).add([(own, None)])
    tagging = TaggingService(library)
    tagging.apply([paper_id], processes=1)
    before = _by_concept(tagging, paper_id)
    assert "bone-marrow" in before  # the paper's own text is tagged
    assert "covid-19" not in before
    assert "clinical-trial" not in before

    changed = _look_up(library, server, paper_id)

    assert {"mesh", "publication_types"} <= set(changed)
    ref = PaperService(library).get(paper_id)
    # the text the tagger reads is still the paper's own (a .bib's fields are kept)
    assert (ref.title, ref.abstract, ref.keywords) == (own.title, own.abstract, ["exosomes"])
    after = _by_concept(tagging, paper_id)
    covid = after["covid-19"]
    assert covid.group == "indication"
    assert {(e.field, e.phrase) for e in covid.evidence} >= {("mesh", "COVID-19")}
    assert all(e.field == "mesh" for e in covid.evidence)
    trial = after["clinical-trial"]
    assert trial.group == "study_type"
    assert [(e.field, e.phrase) for e in trial.evidence] == [("publication_type",
                                                              "Clinical Trial")]
    # strong enough to be applied by the lookup's own re-tagging, not left pending
    applied = {v.concept: v for v in tagging.applied(paper_id)}
    assert {"covid-19", "clinical-trial"} <= set(applied)
    assert applied["clinical-trial"].score >= tagging.threshold
    assert {t.name for t in ref.tags} >= {"COVID-19", "clinical trial"}
    # a MeSH heading also strengthens what the text already said
    assert after["bone-marrow"].score > before["bone-marrow"].score
    assert ("mesh", "Bone Marrow Cells") in {(e.field, e.phrase)
                                             for e in after["bone-marrow"].evidence}


def test_a_review_publication_type_makes_a_review(
    library: Library, server: LookupServer
) -> None:
    """The recorded review is not indexed for MEDLINE: no MeSH, only its publication type."""
    own = Reference(
        title="Extracellular vesicles from stem cells in joint injury and osteoarthritis",
        authors=[Author("Li", "J. J.")], year=2019, doi="10.3390/nano9020261",
        keywords=["extracellular vesicles"],
        abstract="Vesicles secreted by mesenchymal stem cells protect cartilage and modulate "
                 "inflammation in the joint.")
    [paper_id] = PaperService(library).add([(own, None)])
    tagging = TaggingService(library)
    tagging.apply([paper_id], processes=1)
    assert "review" not in _by_concept(tagging, paper_id)

    changed = _look_up(library, server, paper_id)

    assert "publication_types" in changed
    assert "mesh" not in changed
    after = _by_concept(tagging, paper_id)
    review = after["review"]
    assert [(e.field, e.phrase) for e in review.evidence] == [("publication_type", "Review")]
    assert review.state == "auto"
    assert "review" in {v.concept for v in tagging.applied(paper_id)}
    assert "osteoarthritis" in after  # the text's own tag stays
