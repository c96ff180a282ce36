"""The services behind the window: views, paged rows, edits, tags on many papers, the trash."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author, Tag, TagKind
from exoref.errors import UsageError
from exoref.services.check import CheckService
from exoref.services.editing import EditService
from exoref.services.importer import ImportService
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from exoref.services.views import View, ViewKind, ViewService
from tests.conftest import make_ref
from tests.fixtures import pdfgen

if TYPE_CHECKING:
    from pathlib import Path

    from exoref.services.library import Library

OA = Tag("osteoarthritis", TagKind.INDICATION)


@pytest.fixture
def ids(library: Library) -> list[int]:
    return PaperService(library).add([
        (make_ref("Exosomes in knee osteoarthritis", "Elaheh Mianehsaz", "B Two", "C Three",
                  year=2019, doi="10.1/oa", tags=[OA]), "cartilage body"),
        (make_ref("Adipose vesicles in wound healing", "Ana García", year=2021, doi="10.1/w"),
         None),
        (make_ref("Zebra exosomes", "Wei Zhang", year=2015), None),
    ])


def test_views_sort_and_rows(library: Library, ids: list[int]) -> None:
    views = ViewService(library)
    assert views.ids(sort="year") == [ids[1], ids[0], ids[2]]
    assert views.ids(sort="title", descending=False) == [ids[1], ids[0], ids[2]]
    assert views.ids(sort="first_author", descending=False) == [ids[1], ids[0], ids[2]]
    assert views.ids(View(ViewKind.TAG, "osteoarthritis")) == [ids[0]]
    assert views.ids(View(ViewKind.UNTAGGED)) == [ids[2], ids[1]]
    assert views.ids(View(ViewKind.ATTENTION)) == [ids[2]]  # no DOI
    assert views.ids(query="exosomes", sort="year") == [ids[0], ids[2]]
    assert set(views.ids(query="exosomes", sort="relevance")) == {ids[0], ids[2]}
    [row] = views.rows([ids[0]])
    assert row.author_label == "Mianehsaz et al."
    assert row.indications == "osteoarthritis"
    assert row.year == 2019
    counts = views.sidebar()
    assert (counts.all, counts.untagged, counts.attention, counts.trash) == (3, 2, 1, 0)
    assert counts.tags == [("osteoarthritis", TagKind.INDICATION, None, 1)]


def test_edit_returns_old_values_and_keeps_the_citekey(library: Library, ids: list[int]) -> None:
    edit = EditService(library)
    key = edit.reference(ids[0]).citekey
    old = edit.update_fields(ids[0], {"title": "MSC exosomes in hip osteoarthritis",
                                      "year": "2020",
                                      "authors": [Author("Mianehsaz", "E.")]})
    assert old["title"] == "Exosomes in knee osteoarthritis"
    assert old["year"] == 2019
    ref = edit.reference(ids[0])
    assert (ref.title, ref.year, ref.citekey) == ("MSC exosomes in hip osteoarthritis", 2020, key)
    assert [r.reference.id for r in SearchService(library).search("hip")] == [ids[0]]
    edit.update_fields(ids[0], old)  # the undo
    assert edit.reference(ids[0]).title == "Exosomes in knee osteoarthritis"
    with pytest.raises(UsageError):
        edit.update_fields(ids[0], {"year": "soon"})
    with pytest.raises(UsageError):
        edit.update_fields(ids[0], {"citekey": "x"})


def test_tags_on_many_papers_and_exact_undo(library: Library, ids: list[int]) -> None:
    edit = EditService(library)
    change = edit.change_tags(ids, add=[OA])
    assert set(change.added) == {ids[1], ids[2]}  # the first already had it
    assert sorted(ViewService(library).ids(View(ViewKind.TAG, "osteoarthritis"))) == sorted(ids)
    for pid, tags in change.added.items():
        edit.change_tags([pid], remove=tags)
    assert ViewService(library).ids(View(ViewKind.TAG, "osteoarthritis")) == [ids[0]]


def test_trash_restore_and_empty(library: Library, tmp_path: Path) -> None:
    spec = pdfgen.ArticleSpec(title="Placental MSC exosomes in sepsis", authors=[("A", "Lee")],
                              year=2022, doi="10.1/sepsis")
    [result] = ImportService(library, processes=1).import_paths(
        [pdfgen.render_article(spec, tmp_path / "p.pdf")])
    pid = result.id
    assert pid is not None
    edit, views, search = EditService(library), ViewService(library), SearchService(library)
    assert edit.trash([pid]) == [pid]
    assert search.search("sepsis") == []
    assert views.ids() == []
    assert views.ids(View(ViewKind.TRASH), query="sepsis") == [pid]
    assert edit.restore([pid]) == [pid]
    assert [r.reference.id for r in search.search("sepsis")] == [pid]
    edit.trash([pid])
    files = list(library.paths.files.iterdir())
    assert len(files) == 1
    assert edit.empty_trash() == 1
    assert not files[0].exists()
    assert views.sidebar().trash == 0
    assert CheckService(library).check().ok


def test_an_off_topic_paper_needs_attention(library: Library) -> None:
    """The off-topic flag puts a paper (with a DOI) in "Needs attention", where the user
    keeps it or removes it."""
    from exoref.services.tagging import OFF_TOPIC_FLAG
    from exoref.services.views import ATTENTION_FLAGS

    assert OFF_TOPIC_FLAG in ATTENTION_FLAGS
    [kept, flagged] = PaperService(library).add([
        (make_ref("MSC exosomes for knee osteoarthritis", "A B", doi="10.1/a"), None),
        (make_ref("Prevalence of knee pain", "C D", doi="10.1/b", flags=[OFF_TOPIC_FLAG]), None),
    ])
    views = ViewService(library)
    assert views.ids(View(ViewKind.ATTENTION)) == [flagged]
    assert kept not in views.ids(View(ViewKind.ATTENTION))
