"""Search through the services: ranking, fields, syntax, diacritics, snippets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Tag, TagKind
from exoref.errors import QuerySyntaxError
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from tests.conftest import make_ref

if TYPE_CHECKING:
    from exoref.services.library import Library

OA_BODY = "Intra-articular injection restored cartilage thickness and chondrocyte proliferation."


@pytest.fixture
def search(library: Library) -> SearchService:
    papers = PaperService(library)
    oa = make_ref("MSC exosomes in knee osteoarthritis", "Jürgen Müller", year=2019,
                  abstract="Exosomes protect cartilage from degradation in osteoarthritis.",
                  journal="Stem Cell Res Ther", doi="10.1186/s13287-019-1445-0",
                  tags=[Tag("osteoarthritis", TagKind.INDICATION)])
    ra = make_ref("Exosomes in rheumatoid arthritis", "Ana García", year=2021,
                  abstract="Synovial inflammation was reduced by MSC-derived vesicles.",
                  journal="Mol Biol Rep", tags=[Tag("rheumatoid arthritis", TagKind.INDICATION)])
    liver = make_ref("Extracellular vesicles for liver fibrosis", "Wei Zhang", year=2017,
                     abstract="Hepatic stellate cells were inhibited.", journal="Hepatology")
    body_only = make_ref("A study of joint tissue repair", "Ben Okafor", year=2022,
                         abstract="Repair of tissue.", journal="J Orthop")
    papers.add([(oa, None), (ra, None), (liver, "Liver cells only."), (body_only, OA_BODY)])
    return SearchService(library)


def titles(results: list) -> list[str]:  # type: ignore[type-arg]
    return [r.reference.title for r in results]


def test_words_rank_title_and_abstract_above_body(search: SearchService) -> None:
    got = titles(search.search("cartilage"))
    assert got[0] == "MSC exosomes in knee osteoarthritis"
    assert "A study of joint tissue repair" in got  # found in the full text, ranked below
    assert got.index("A study of joint tissue repair") > 0


def test_metadata_only_search_ignores_body(search: SearchService) -> None:
    assert titles(search.search("cartilage", fulltext=False)) == [
        "MSC exosomes in knee osteoarthritis"
    ]


def test_diacritics_are_folded(search: SearchService) -> None:
    assert titles(search.search("Muller")) == ["MSC exosomes in knee osteoarthritis"]
    assert titles(search.search("author:müller")) == ["MSC exosomes in knee osteoarthritis"]
    assert titles(search.search("garcia")) == ["Exosomes in rheumatoid arthritis"]


def test_phrases_booleans_and_fields(search: SearchService) -> None:
    assert titles(search.search('"rheumatoid arthritis"')) == ["Exosomes in rheumatoid arthritis"]
    assert set(titles(search.search("osteoarthritis OR fibrosis"))) == {
        "MSC exosomes in knee osteoarthritis", "Extracellular vesicles for liver fibrosis"}
    assert titles(search.search("exosomes NOT rheumatoid")) == [
        "MSC exosomes in knee osteoarthritis"]
    assert titles(search.search("exosomes -rheumatoid")) == ["MSC exosomes in knee osteoarthritis"]
    assert titles(search.search("title:vesicles")) == ["Extracellular vesicles for liver fibrosis"]
    assert titles(search.search("journal:hepatology")) == [
        "Extracellular vesicles for liver fibrosis"]
    assert titles(search.search("doi:10.1186/s13287")) == ["MSC exosomes in knee osteoarthritis"]
    assert titles(search.search("exo*", fulltext=False))[0].startswith(("MSC", "Exosomes"))


def test_words_split_between_title_and_body_match(search: SearchService) -> None:
    assert titles(search.search("joint cartilage")) == ["A study of joint tissue repair"]


def test_years_and_tags(search: SearchService) -> None:
    assert titles(search.search("year:2019")) == ["MSC exosomes in knee osteoarthritis"]
    assert set(titles(search.search("year:2018..2021"))) == {
        "MSC exosomes in knee osteoarthritis", "Exosomes in rheumatoid arthritis"}
    assert titles(search.search("exosomes year:2020..")) == ["Exosomes in rheumatoid arthritis"]
    assert titles(search.search("tag:osteoarthritis")) == ["MSC exosomes in knee osteoarthritis"]
    assert titles(search.search('tag:"Rheumatoid Arthritis"')) == [
        "Exosomes in rheumatoid arthritis"]
    assert titles(search.search("tag:osteoarthritis OR year:2017")) == [
        "MSC exosomes in knee osteoarthritis", "Extracellular vesicles for liver fibrosis"]
    assert set(titles(search.search("NOT tag:osteoarthritis"))) == {
        "Exosomes in rheumatoid arthritis", "Extracellular vesicles for liver fibrosis",
        "A study of joint tissue repair"}


def test_snippets_mark_the_match(search: SearchService) -> None:
    [hit] = [r for r in search.search("chondrocyte") if r.reference.title.startswith("A study")]
    assert "[chondrocyte]" in hit.snippet
    assert hit.score > 0


def test_bad_query_is_a_clear_error(search: SearchService) -> None:
    with pytest.raises(QuerySyntaxError):
        search.search('"unfinished phrase')
    assert search.search("   ") == []
    # punctuation only: no words to look for, so nothing is filtered out (as an empty box)
    assert len(search.search("!!!")) == 4


def test_year_ranges_short_and_long_agree(search: SearchService) -> None:
    short = titles(search.search("exosomes year:2018..2022"))  # facet tokens in the index
    long = titles(search.search("exosomes year:1950..2022"))  # SQL filter
    assert short == long
    assert set(short) == {"Exosomes in rheumatoid arthritis", "MSC exosomes in knee osteoarthritis"}
    assert titles(search.search("year:2017..2017")) == ["Extracellular vesicles for liver fibrosis"]
    assert search.search("year:2019", fulltext=False)[0].snippet == ""  # no "[y2019]" snippet
    # the words are marked, never the year range's facet tokens
    for hit in search.search("exosomes year:2018..2022", fulltext=False):
        assert "[exosomes]" in hit.snippet.lower()
        assert "[y20" not in hit.snippet


def test_paging_returns_each_match_once(search: SearchService) -> None:
    every = titles(search.search("exosomes OR vesicles OR repair", limit=None))
    pages = [titles(search.search("exosomes OR vesicles OR repair", limit=1, offset=i))
             for i in range(len(every))]
    assert [p[0] for p in pages] == every
    assert len(set(every)) == len(every) == 4


def test_every_match_comes_back_when_only_a_window_is_ranked(library: Library) -> None:
    from exoref.domain.query import parse_query
    from exoref.storage import search_index

    PaperService(library).add([
        (make_ref(f"Exosomes study {i}" + (" cartilage cartilage" if i == 3 else ""), "A Lee",
                  year=2020), None)
        for i in range(12)
    ])
    with library.db.read() as session:
        node = parse_query("exosomes")
        every = search_index.search(session, node, limit=None, window=5, snippets=False)
        exact = search_index.search(session, node, limit=None, window=None, snippets=False)
        node = parse_query("exosomes cartilage")
        [only] = search_index.search(session, node, limit=None, window=5, snippets=False)
    assert sorted(h.paper_id for h in every) == sorted(h.paper_id for h in exact)
    assert len(every) == 12
    assert all(h.score > 0 for h in every[:5])  # the five newest are ranked...
    assert all(h.score == 0 for h in every[5:])  # ...the rest follow, newest first
    assert [h.paper_id for h in every[5:]] == sorted((h.paper_id for h in every[5:]),
                                                     reverse=True)
    assert only.paper_id == 4
