"""Finding and merging duplicate papers, and undoing a merge, on a real library."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.errors import UsageError
from exoref.services.duplicates import DuplicateService
from exoref.services.importer import ImportService
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from tests.fixtures.pdfgen import ArticleSpec, render_article

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "lib") as lib:
        yield lib


TITLE = "Exosomes from umbilical cord MSCs attenuate cartilage degeneration in knee osteoarthritis"


def _papers(library: Library, tmp_path: Path) -> tuple[int, int, int]:
    pdf = render_article(ArticleSpec(
        title=TITLE, authors=[("Wei", "Zhang"), ("Li", "Chen")], year=2021,
        journal="Stem Cell Research & Therapy", doi="10.1186/s13287-021-99999-1",
        abstract="We injected exosomes into rat knees.", min_pages=1), tmp_path / "a.pdf")
    [imported] = ImportService(library, processes=1).import_paths([pdf])
    assert imported.id is not None
    papers = PaperService(library)
    [typo, other] = papers.add([
        (Reference(title=TITLE.replace("cartilage", "cartilge").upper(),
                   authors=[Author("Zhang", "W.")], year=2021,
                   journal="", pmid="34000001", tags=[Tag("to read")]), None),
        (Reference(title="Adipose MSC exosomes in rheumatoid arthritis",
                   authors=[Author("Zhang", "W.")], year=2021), None),
    ])
    return imported.id, typo, other


def test_finds_a_typo_and_case_duplicate_but_not_a_different_paper(
    library: Library, tmp_path: Path
) -> None:
    first, typo, other = _papers(library, tmp_path)
    groups = DuplicateService(library).find()
    assert [g.ids for g in groups] == [(first, typo)]
    assert other not in groups[0].ids


def test_merge_keeps_files_tags_and_chosen_fields_and_can_be_undone(
    library: Library, tmp_path: Path
) -> None:
    first, typo, _other = _papers(library, tmp_path)
    service = DuplicateService(library)
    before = PaperService(library).get(first)
    result = service.merge(first, [typo], {"pmid": typo})
    merged = PaperService(library).get(first)
    assert merged.pmid == "34000001"
    assert merged.title == before.title
    assert merged.citekey == before.citekey
    assert [a.path for a in merged.attachments] == [a.path for a in before.attachments]
    assert "to read" in {t.name for t in merged.tags}
    assert PaperService(library).stats().papers == 2
    hits = SearchService(library).search("cartilage degeneration")
    assert [h.reference.id for h in hits] == [first]
    assert list((library.paths.backups).glob("*before-merge*.sqlite"))

    service.undo(result.merge_id)
    assert PaperService(library).stats().papers == 3
    restored = PaperService(library).get(typo)
    assert restored.pmid == "34000001"
    assert restored.title.isupper()
    assert [t.name for t in restored.tags] == ["to read"]
    again = PaperService(library).get(first)
    assert again.pmid == ""
    assert "to read" not in {t.name for t in again.tags}
    assert [a.path for a in again.attachments] == [a.path for a in before.attachments]
    hits = SearchService(library).search("cartilage degeneration")
    assert [h.reference.id for h in hits] == [first]
    with pytest.raises(UsageError, match="undone already"):
        service.undo(result.merge_id)


def test_merging_every_group_keeps_the_paper_with_the_file(
    library: Library, tmp_path: Path
) -> None:
    first, typo, other = _papers(library, tmp_path)
    service = DuplicateService(library)
    results = service.merge_groups(service.find())
    assert [(r.kept, r.merged) for r in results] == [(first, [typo])]
    assert service.find() == []
    assert {m.merge_id for m in service.merges()} == {results[0].merge_id}
    assert PaperService(library).get(other).title.startswith("Adipose")
    assert TagKind.FREE
