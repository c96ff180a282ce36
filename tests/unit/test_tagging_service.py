"""Tagging a real library: automatic tags, pending suggestions, decisions that stick."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from exoref.services.tagging import OFF_TOPIC_FLAG, TaggingService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "lib") as lib:
        yield lib


# Texts written for these tests.
KNEE = Reference(
    title="Umbilical cord mesenchymal stem cell-derived exosomes for knee osteoarthritis: "
          "a randomized controlled trial",
    abstract=(
        "Knee osteoarthritis (KOA) causes pain and loss of function. We randomized 60 patients "
        "with knee osteoarthritis to intra-articular injections of exosomes derived from human "
        "umbilical cord mesenchymal stem cells (hUC-MSC-Exos) or saline (NCT04223622). "
        "Exosome injections reduced pain scores and preserved cartilage thickness at 12 months."),
    authors=[Author("Rossi", "Anna")], year=2024)
RA = Reference(
    title="Bone marrow MSC-derived extracellular vesicles suppress synovitis in collagen-induced "
          "arthritis",
    abstract=(
        "Rheumatoid arthritis (RA) is an autoimmune disease of the joints. Extracellular "
        "vesicles from bone marrow mesenchymal stem cells were injected into mice with "
        "collagen-induced arthritis; paw swelling, synovial inflammation and Th17 cells fell."),
    authors=[Author("Kim", "Ji")], year=2022)
EPIDEMIOLOGY = Reference(
    title="Prevalence of knee osteoarthritis in adults over 50: a population-based survey",
    abstract=("We surveyed 12,000 adults and estimated the prevalence of radiographic knee "
              "osteoarthritis by age and sex, and its association with body mass index."),
    authors=[Author("Smith", "J")], year=2019)


def _add(library: Library, *refs: Reference) -> list[int]:
    return PaperService(library).add([(r, None) for r in refs])


def _tags(library: Library, paper_id: int) -> dict[str, str]:
    with library.db.read() as session:
        return {str(c): str(s) for c, s in session.execute(text(
            "SELECT t.concept, pt.source FROM paper_tags pt JOIN tags t ON t.id = pt.tag_id "
            "WHERE pt.paper_id = :p"), {"p": paper_id})}


def test_apply_tags_papers_from_their_text(library: Library) -> None:
    knee, ra, epi = _add(library, KNEE, RA, EPIDEMIOLOGY)
    report = TaggingService(library).apply(None)
    assert report.papers == 3
    knee_tags = _tags(library, knee)
    assert {"knee-osteoarthritis", "umbilical-cord", "clinical-trial"} <= set(knee_tags)
    assert set(knee_tags.values()) == {"auto"}
    ra_tags = _tags(library, ra)
    assert "rheumatoid-arthritis" in ra_tags
    assert "osteoarthritis" not in ra_tags
    assert OFF_TOPIC_FLAG in PaperService(library).get(epi).flags
    assert OFF_TOPIC_FLAG not in PaperService(library).get(knee).flags
    # the hierarchy: tag:osteoarthritis finds the knee papers, not the RA one
    hits = {h.reference.id for h in SearchService(library).search("tag:osteoarthritis")}
    assert knee in hits
    assert ra not in hits


def test_a_persons_decisions_are_never_overridden(library: Library) -> None:
    [knee] = _add(library, KNEE)
    service = TaggingService(library)
    service.apply([knee])
    tags = service.sync_vocabulary()
    service.reject(knee, tags["umbilical-cord"])
    service.confirm(knee, tags["knee-osteoarthritis"])
    service.apply([knee])
    now = _tags(library, knee)
    assert "umbilical-cord" not in now
    assert now["knee-osteoarthritis"] == "user"
    states = {s.concept: s.state for s in service.suggest(knee).suggestions}
    assert states["umbilical-cord"] == "rejected"
    # removing a tag by hand is a rejection too
    PaperService(library).update_tags(knee, remove=["clinical trial"])
    service.apply([knee])
    assert "clinical-trial" not in _tags(library, knee)


def test_evidence_is_stored_and_shown(library: Library) -> None:
    [knee] = _add(library, KNEE)
    service = TaggingService(library)
    service.apply([knee])
    applied = {s.concept: s for s in service.applied(knee)}
    evidence = applied["knee-osteoarthritis"].evidence
    assert evidence
    assert any(e.field in ("title", "abstract") for e in evidence)
    assert any("knee osteoarthritis" in e.context.lower() for e in evidence)


def test_user_concepts_and_synonyms_tag_papers(library: Library) -> None:
    [paper] = _add(library, Reference(
        title="MSC exosomes in temporomandibular disorders with disc displacement",
        abstract="Exosomes from bone marrow mesenchymal stem cells were injected into rat "
                 "temporomandibular joints with disc displacement; pain fell.",
        authors=[Author("Li", "X")], year=2023))
    service = TaggingService(library)
    concept = service.add_user_concept("temporomandibular disorder", parent="musculoskeletal",
                                       synonyms=["temporomandibular disorders"])
    service.apply([paper])
    assert concept in _tags(library, paper)
    assert concept in service.sync_vocabulary()


def test_tree_counts_include_descendants_and_leave_out_the_trash(library: Library) -> None:
    knee, ra, epi = _add(library, KNEE, RA, EPIDEMIOLOGY)
    service = TaggingService(library)
    service.apply(None)
    nodes = {n.concept: n for n in _walk(service.tree())}
    assert nodes["osteoarthritis"].count >= 1
    assert nodes["musculoskeletal"].count >= nodes["osteoarthritis"].count
    from exoref.services.editing import EditService

    EditService(library).trash([knee, epi])
    nodes = {n.concept: n for n in _walk(service.tree())}
    assert nodes["knee-osteoarthritis"].count == 0
    overview = service.overview()
    assert overview.indications
    assert sum(v for (i, s, t), v in overview.cells.items() if s == 0 and t == 0) >= 1
    assert ra


def _walk(nodes: Iterator[object] | list[object]) -> list:  # type: ignore[type-arg]
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_walk(list(n.children)))  # type: ignore[attr-defined]
    return out


def test_import_of_a_bib_tags_the_new_papers(library: Library, tmp_path: Path) -> None:
    from exoref.services.importer import ImportService

    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{rossi2024,\n title = {Umbilical cord MSC exosomes for knee osteoarthritis},\n"
        " author = {Rossi, Anna}, year = {2024},\n abstract = {Exosomes from umbilical cord "
        "mesenchymal stem cells were injected into rat knees with osteoarthritis.}\n}\n",
        encoding="utf-8")
    [result] = ImportService(library, processes=1).import_paths([bib])
    assert result.id is not None
    assert "knee-osteoarthritis" in _tags(library, result.id)
    assert json.dumps(Tag("x", TagKind.FREE).name)


def test_an_imported_pdf_is_stored_with_its_tags(library: Library, tmp_path: Path,
                                                 seeds_dir: Path) -> None:
    """The extraction workers tag the text they extract: the knee-OA clinical study seed
    lands with its automatic tags and their evidence, and its source."""
    from exoref.services.importer import ImportService
    from tests.fixtures.pdfgen import render_article, seed_articles

    spec = next(s for s in seed_articles(seeds_dir) if "knee" in s.title.lower())
    pdf = render_article(spec, tmp_path / "knee.pdf")
    [result] = ImportService(library, processes=1).import_paths([pdf])
    assert result.status == "added"
    assert result.id is not None
    tags = _tags(library, result.id)
    assert {"knee-osteoarthritis", "umbilical-cord", "clinical-trial"} <= set(tags)
    with library.db.read() as session:
        sources = {str(r[0]) for r in session.execute(text(
            "SELECT source FROM paper_tags WHERE paper_id = :p"), {"p": result.id})}
        evidence = session.execute(text(
            "SELECT evidence FROM paper_tags WHERE paper_id = :p AND source = 'auto' "
            "LIMIT 1"), {"p": result.id}).scalar()
    assert sources == {"auto"}
    assert evidence
    assert json.loads(evidence)


def test_a_broken_vocabulary_does_not_stop_an_import(library: Library, tmp_path: Path,
                                                      seeds_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Tags can be redone; papers cannot be lost: with no readable vocabulary the PDF is
    imported untagged."""
    from exoref.services import tagging
    from exoref.services.importer import ImportService
    from tests.fixtures.pdfgen import render_article, seed_articles

    broken = tmp_path / "vocabulary.json"
    broken.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(tagging, "vocabulary_path", lambda: broken)
    pdf = render_article(seed_articles(seeds_dir)[0], tmp_path / "seed.pdf")
    [result] = ImportService(library, processes=1).import_paths([pdf])
    assert result.status == "added"
    assert result.id is not None
    assert _tags(library, result.id) == {}


def test_a_large_bib_is_tagged_while_it_is_stored(library: Library, tmp_path: Path) -> None:
    """Past a hundred entries the tags come from worker processes, while later entries are
    stored; every new paper ends up tagged, the off-topic ones flagged."""
    from exoref.services.bibliography import BibliographyService

    entries = []
    for i in range(240):
        if i % 3:
            title = f"Umbilical cord MSC exosomes for knee osteoarthritis, study {i}"
            abstract = ("Exosomes from umbilical cord mesenchymal stem cells were injected "
                        "into rat knees with osteoarthritis.")
        else:
            title = f"Prevalence of knee osteoarthritis in a population survey, part {i}"
            abstract = ("We surveyed adults; the prevalence of knee osteoarthritis was 18% "
                        "and obesity was a risk factor (odds ratio 2.1).")
        entries.append(f"@article{{key{i},\n title = {{{title}}},\n author = {{Rossi, Anna}},"
                       f"\n year = {{{2000 + i % 25}}},\n abstract = {{{abstract}}}\n}}\n")
    bib = tmp_path / "many.bib"
    bib.write_text("".join(entries), encoding="utf-8")
    results = BibliographyService(library, processes=2).import_file(bib)
    added = [r for r in results if r.status == "added"]
    assert len(added) == 240
    with library.db.read() as session:
        tagged = session.execute(text(
            "SELECT count(DISTINCT pt.paper_id) FROM paper_tags pt JOIN tags t ON "
            "t.id = pt.tag_id WHERE t.concept = 'knee-osteoarthritis'")).scalar_one()
        flagged = session.execute(text(
            "SELECT count(*) FROM papers WHERE flags LIKE :f"),
            {"f": f"%{OFF_TOPIC_FLAG}%"}).scalar_one()
    assert tagged == 240
    assert flagged == 80


def test_a_bib_import_can_leave_tagging_out(library: Library, tmp_path: Path) -> None:
    from exoref.services.bibliography import BibliographyService

    bib = tmp_path / "one.bib"
    bib.write_text("@article{a, title = {Umbilical cord MSC exosomes for knee osteoarthritis},"
                   " author = {Rossi, Anna}, year = {2024}}\n", encoding="utf-8")
    [result] = BibliographyService(library).import_file(bib, tag=False)
    assert result.id is not None
    assert _tags(library, result.id) == {}


def test_a_tagging_failure_never_fails_a_bib_import(library: Library, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the tagger (here: every call raises) costs the tags, not the papers."""
    from exoref.services import tagging
    from exoref.services.bibliography import BibliographyService

    def broken(job: object) -> object:
        raise RuntimeError("a bug in the tagger")

    monkeypatch.setattr(tagging, "tag_texts", broken)
    bib = tmp_path / "two.bib"
    bib.write_text("@article{a, title = {Umbilical cord MSC exosomes for knee osteoarthritis},"
                   " author = {Rossi, Anna}, year = {2024}}\n"
                   "@article{b, title = {Adipose MSC exosomes heal diabetic wounds},"
                   " author = {Li, Wei}, year = {2023}}\n", encoding="utf-8")
    results = BibliographyService(library).import_file(bib)
    assert [r.status for r in results] == ["added", "added"]
    assert all(_tags(library, r.id or 0) == {} for r in results)


def test_tag_auto_on_many_papers_uses_worker_processes(library: Library) -> None:
    """Past two batches, `tag auto` tags in worker processes: every paper comes back."""
    import dataclasses

    refs = [dataclasses.replace(KNEE if i % 2 else RA, title=f"{(KNEE if i % 2 else RA).title} "
                                f"({i})", authors=[Author(f"Author{i}", "A")])
            for i in range(850)]
    ids = _add(library, *refs)
    report = TaggingService(library).apply(None, processes=2)
    assert report.papers == 850
    knee = [pid for i, pid in enumerate(ids) if i % 2]
    assert all("knee-osteoarthritis" in _tags(library, pid) for pid in knee[:20])
    assert all("rheumatoid-arthritis" in _tags(library, pid) for pid in ids[:40:2])
