"""Online lookups against a real HTTP server on 127.0.0.1 (tests/fixtures/lookup_server.py)
that answers like Crossref, doi.org, NCBI E-utilities and the PMC id converter from the
records in tests/data/lookup/."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Author
from exoref.online import (
    LookupMalformed,
    LookupNotFound,
    LookupRecord,
    LookupUnavailable,
    Resolver,
    merge_records,
)
from exoref.online.cache import CACHE_FILE
from exoref.online.client import parse_retry_after, user_agent
from exoref.online.crossref import jats_to_text
from exoref.online.matching import best_match, title_similarity
from exoref.online.pubmed import expand_pages
from exoref.online.ratelimit import RateLimiter
from tests.fixtures.lookup_server import Fault, LookupServer, RecordedRequest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

NANO_DOI = "10.3390/nano9020261"  # Li et al. 2019, Nanomaterials: a review, not in MEDLINE
NANO_PMID = "30769853"
NANO_PMCID = "PMC6409698"
COVID_DOI = "10.1089/scd.2020.0080"  # Sengupta et al. 2020, Stem Cells Dev: a clinical trial
COVID_PMID = "32380908"
GVHD_DOI = "10.1186/s13045-018-0680-7"  # Lai et al. 2018, J Hematol Oncol: a mouse study
GVHD_PMCID = "PMC6286548"
OA_DOI = "10.1186/s13287-019-1445-0"  # Mianehsaz et al. 2019, Stem Cell Res Ther
CSL_ONLY_DOI = "10.21037/sci.2017.09.06"  # Giebel et al. 2017: served by doi.org only
CONTACT = "lookup-test@example.org"


@pytest.fixture
def resolver(server: LookupServer) -> Iterator[Resolver]:
    with Resolver(server.settings()) as res:
        yield res


def max_per_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most request times that fall in any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = 0
    first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def paths(requests: Sequence[RecordedRequest]) -> list[str]:
    return [r.path for r in requests]


# --------------------------------------------------------------------------------------------
# Complete records
# --------------------------------------------------------------------------------------------


def test_doi_gives_complete_record_from_crossref_and_pubmed(resolver: Resolver,
                                                             server: LookupServer) -> None:
    record = resolver.lookup(doi=COVID_DOI)

    assert record.title == ("Exosomes Derived from Bone Marrow Mesenchymal Stem Cells as "
                            "Treatment for Severe COVID-19")
    assert record.authors[0] == Author("Sengupta", "Vikram")
    assert record.authors[2] == Author("Lazo", "Angel, Jr.")
    assert len(record.authors) == 6
    assert record.year == 2020
    assert (record.journal, record.volume, record.issue, record.pages) == (
        "Stem Cells and Development", "29", "12", "747-754")
    assert record.publisher == "Mary Ann Liebert Inc"
    assert record.issn == "1547-3287"
    assert (record.doi, record.pmid, record.pmcid) == (COVID_DOI, COVID_PMID, "PMC7310206")
    assert record.entry_type == "article"
    # Crossref gives the bibliographic fields, PubMed what NLM curates.
    assert record.sources["journal"] == record.sources["pages"] == "crossref"
    assert record.sources["mesh"] == record.sources["publication_types"] == "pubmed"
    assert record.sources["abstract"] == "pubmed"
    assert "Clinical Trial" in record.publication_types
    assert "Mesenchymal Stem Cells" in record.mesh
    assert "CD3⁺" in record.abstract  # <sup>+</sup> in the efetch XML
    assert record.unavailable == ()
    assert paths(server.requests) == [
        f"/crossref/works/{COVID_DOI}", "/eutils/esearch.fcgi", "/eutils/efetch.fcgi"]


def test_pmid_gives_mesh_headings_and_publication_types(resolver: Resolver,
                                                        server: LookupServer) -> None:
    record = resolver.lookup(pmid=COVID_PMID)

    assert record.publication_types == ("Clinical Trial", "Journal Article")
    assert record.mesh[:4] == ("Aged", "Betacoronavirus", "Bone Marrow Cells", "COVID-19")
    assert len(record.mesh) == 14
    # Major topics: the descriptor itself or one of its qualifiers is starred.
    assert set(record.mesh_major) == {"Coronavirus Infections", "Exosomes",
                                      "Mesenchymal Stem Cells", "Pneumonia, Viral"}
    assert "Humans" not in record.mesh_major
    assert record.keywords == ("COVID-19", "ExoFlo", "exosomes", "mesenchymal stem cells")
    # The DOI from PubMed brought Crossref's record too.
    assert record.doi == COVID_DOI
    assert record.sources["title"] == "crossref"
    assert paths(server.requests) == ["/eutils/efetch.fcgi", f"/crossref/works/{COVID_DOI}"]


def test_review_publication_type_and_structured_abstract(resolver: Resolver) -> None:
    review = resolver.lookup(pmid=NANO_PMID)
    assert review.publication_types == ("Journal Article", "Review")
    assert review.mesh == ()  # PubMed-not-MEDLINE: no MeSH indexing
    assert review.keywords[:2] == ("extracellular vesicles", "exosomes")

    study = resolver.lookup(doi=GVHD_DOI)
    assert study.abstract.startswith("BACKGROUND: Mesenchymal stromal cells")
    assert study.abstract.split("\n\n")[3].startswith("CONCLUSIONS: ")
    assert study.sources["abstract"] == "pubmed"
    assert "Graft vs Host Disease" in study.mesh_major
    assert study.journal == "Journal of Hematology & Oncology"  # "&amp;" from Crossref
    assert study.pages == "135"  # Crossref's article number


def test_pmcid_goes_through_the_id_converter(resolver: Resolver, server: LookupServer) -> None:
    record = resolver.lookup(pmcid="pmc6409698")

    assert (record.pmcid, record.pmid, record.doi) == (NANO_PMCID, NANO_PMID, NANO_DOI)
    assert record.title.startswith("Stem Cell-Derived Extracellular Vesicles")
    converter = server.requests_to("pmc")
    assert len(converter) == 1
    assert converter[0].param("ids") == NANO_PMCID
    assert converter[0].param("format") == "json"
    assert converter[0].param("tool") == "exoref"
    assert converter[0].param("email") == CONTACT
    # PMID known from the converter: no esearch for it.
    assert "/eutils/esearch.fcgi" not in paths(server.requests)


def test_doi_missing_from_crossref_falls_back_to_doi_org(resolver: Resolver,
                                                         server: LookupServer) -> None:
    record = resolver.lookup(doi=CSL_ONLY_DOI)

    assert record.title == ("Clinical potential of mesenchymal stem/stromal cell-derived "
                            "extracellular vesicles")
    assert record.authors[2] == Author("Börger", "Verena")
    assert (record.journal, record.volume, record.pages, record.year) == (
        "Stem Cell Investigation", "4", "84", 2017)
    assert set(record.sources.values()) == {"doi.org"}
    cn = [r for r in server.requests if r.path.startswith("/cn/")]
    assert len(cn) == 1  # reached through doi.org's redirect
    assert cn[0].headers["Accept"] == "application/vnd.citationstyles.csl+json"


def test_crossref_abstract_jats_becomes_text(resolver: Resolver) -> None:
    record = resolver.crossref.work(GVHD_DOI)
    paragraphs = record.abstract.split("\n\n")
    assert [p.split(":")[0] for p in paragraphs] == ["Background", "Methods", "Results",
                                                     "Conclusions"]
    assert "Tₕ17" in record.abstract
    assert "<" not in record.abstract
    assert jats_to_text("<jats:p>a &lt; b</jats:p><jats:p>H<jats:sub>2</jats:sub>O</jats:p>")\
        == "a < b\n\nH₂O"


def test_doi_and_pmid_of_different_papers_are_not_mixed(resolver: Resolver) -> None:
    record = resolver.lookup(doi=NANO_DOI, pmid=COVID_PMID)
    assert record.doi == NANO_DOI
    assert record.pmid == ""  # the PMID's record (another paper) was left out
    assert record.mesh == ()
    assert set(record.sources.values()) == {"crossref"}


def test_esummary_gives_the_basic_fields(resolver: Resolver) -> None:
    record = resolver.pubmed.summary(NANO_PMID)
    assert record.title == ("Stem Cell-Derived Extracellular Vesicles for Treating Joint "
                            "Injury and Osteoarthritis")
    assert record.authors[0] == Author("Li", "JJ")
    assert (record.year, record.volume, record.issue, record.pages) == (2019, "9", "2", "261")
    assert (record.doi, record.pmcid) == (NANO_DOI, NANO_PMCID)
    assert record.publication_types == ("Journal Article", "Review")
    with pytest.raises(LookupNotFound):
        resolver.pubmed.summary("1")


def test_arxiv_id_is_asked_as_its_datacite_doi(resolver: Resolver, server: LookupServer)\
        -> None:
    with pytest.raises(LookupNotFound):
        resolver.lookup(arxiv="arXiv:2101.00001v2")
    assert paths(server.requests) == ["/doi/10.48550/arXiv.2101.00001"]


# --------------------------------------------------------------------------------------------
# Title-only search
# --------------------------------------------------------------------------------------------


def test_title_search_accepts_the_matching_paper(resolver: Resolver, server: LookupServer)\
        -> None:
    record = resolver.lookup(
        title="A potent immunomodulatory role of exosomes derived from mesenchymal stromal "
              "cells in preventing cGVHD", first_author="Lai", year=2018)

    assert record.doi == GVHD_DOI
    assert record.pmid == "30526632"  # found through esearch, then efetch
    search = server.requests[0]
    assert search.path == "/crossref/works"
    assert search.param("rows") == "5"
    assert "Lai 2018" in (search.param("query.bibliographic") or "")


def test_title_search_rejects_a_near_miss(resolver: Resolver, server: LookupServer) -> None:
    # The title of Vadhan, Gupta & Hsu 2024 (Int J Mol Sci), which the server does not hold;
    # Crossref's best answer is Mianehsaz et al. 2019, a different paper on the same topic.
    near_miss = "Mesenchymal Stem Cell-Derived Exosomes as a Treatment Option for Osteoarthritis"
    with pytest.raises(LookupNotFound) as caught:
        resolver.lookup(title=near_miss, first_author="Vadhan", year=2024)
    assert "a new therapeutic approach to osteoarthritis" in str(caught.value)
    with pytest.raises(LookupNotFound):
        resolver.lookup(title=near_miss)  # title alone: still not similar enough
    # Nothing but the searches was asked: a rejected match is not fetched.
    assert paths(server.requests) == ["/crossref/works", "/crossref/works"]


def test_title_match_rules() -> None:
    oa = LookupRecord(title="Mesenchymal stem cell-derived exosomes: a new therapeutic "
                            "approach to osteoarthritis?",
                      authors=(Author("Mianehsaz", "Elaheh"),), year=2019)
    assert title_similarity("MESENCHYMAL STEM CELL DERIVED EXOSOMES: A NEW THERAPEUTIC "
                            "APPROACH TO OSTEOARTHRITIS", oa.title) == 100
    # A subtitle the user's title lacks does not count against the candidate.
    assert title_similarity("Mesenchymal stem cell-derived exosomes", oa.title) == 100
    best, _ = best_match([oa], oa.title, first_author="Mianehsaz", year=2020)
    assert best is not None  # online and print years may differ by one
    best, judged = best_match([oa], oa.title, first_author="Mirzaei", year=2019)
    assert best is None
    assert judged[0].author_agrees is False
    best, judged = best_match([oa], oa.title, first_author="Mianehsaz", year=2015)
    assert best is None
    assert judged[0].year_agrees is False


# --------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------


def test_unknown_ids_are_not_found(resolver: Resolver, server: LookupServer) -> None:
    with pytest.raises(LookupNotFound) as caught:
        resolver.lookup(doi="10.1234/no-such-paper")
    assert caught.value.service == "doi.org"
    crossref_404 = server.requests[0]
    assert crossref_404.path == "/crossref/works/10.1234/no-such-paper"

    with pytest.raises(LookupNotFound, match="PMID 1"):
        resolver.lookup(pmid="1")
    with pytest.raises(LookupNotFound, match="PubMed Central does not know PMC1234567"):
        resolver.lookup(pmcid="PMC1234567")
    with pytest.raises(LookupNotFound, match="not a valid DOI"):
        resolver.lookup(doi="not a doi")


def test_crossref_404_body_is_plain_text(resolver: Resolver) -> None:
    with pytest.raises(LookupNotFound, match=r"Crossref has no record of DOI 10\.1234/x"):
        resolver.crossref.work("10.1234/x")


def test_retry_after_is_honoured(resolver: Resolver, server: LookupServer) -> None:
    server.inject(f"/crossref/works/{NANO_DOI}",
                  Fault(429, b"Too Many Requests", {"Retry-After": "1"}))
    started = time.monotonic()
    record = resolver.crossref.work(NANO_DOI)
    elapsed = time.monotonic() - started

    assert record.doi == NANO_DOI
    first, second = server.requests_to("crossref")
    waited = second.time - first.time
    assert 1.0 <= waited < 1.5
    assert elapsed >= 1.0


def test_retry_after_as_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412460.0) == 20.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500.0) == 0.0
    assert parse_retry_after(formatdate(time.time() + 30, usegmt=True)) == pytest.approx(
        30, abs=1.5)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_beyond_the_budget_gives_up_at_once(resolver: Resolver,
                                                        server: LookupServer) -> None:
    server.inject("/crossref/", Fault(429, b"", {"Retry-After": "120"}))
    started = time.monotonic()
    with pytest.raises(LookupUnavailable) as caught:
        resolver.crossref.work(NANO_DOI)
    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after == 120.0  # the queue can schedule the next try
    assert "try again later" in str(caught.value)


def test_server_error_then_success_is_retried(resolver: Resolver, server: LookupServer)\
        -> None:
    server.inject("/eutils/efetch.fcgi", Fault(500), Fault(502))
    record = resolver.lookup(pmid=NANO_PMID)
    assert record.pmid == NANO_PMID
    assert [r.path for r in server.requests_to("pubmed")].count("/eutils/efetch.fcgi") == 3


def test_timeout_is_unavailable_within_the_bound(server: LookupServer) -> None:
    server.inject("/", Fault(None, delay=3.0), repeat=True)  # every service hangs
    settings = server.settings(read_timeout=0.3, max_total_time=1.0, max_lookup_time=1.5)
    with Resolver(settings) as res:
        started = time.monotonic()
        with pytest.raises(LookupUnavailable, match="try again later"):
            res.lookup(doi=NANO_DOI)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert len(server.requests_to("crossref")) >= 2  # timed out, retried, timed out


def test_malformed_answers_name_the_service(resolver: Resolver, server: LookupServer) -> None:
    server.inject("/eutils/efetch.fcgi", Fault(200, b"<PubmedArticleSet><PubmedArticle>",
                                               content_type="text/xml"))
    with pytest.raises(LookupMalformed) as caught:
        resolver.lookup(pmid=NANO_PMID)
    assert caught.value.service == "pubmed"
    assert "PubMed" in str(caught.value)
    assert "not well-formed XML" in str(caught.value)

    server.inject("/crossref/works/", Fault(200, b'{"status": "ok", "message": {',
                                            content_type="application/json"))
    with pytest.raises(LookupMalformed, match=r"Crossref .*not valid JSON"):
        resolver.crossref.work(NANO_DOI)

    server.inject("/crossref/works/", Fault(200, b'{"status": "ok", "message-type": "work"}',
                                            content_type="application/json"))
    with pytest.raises(LookupMalformed, match="no 'message'"):
        resolver.crossref.work(NANO_DOI)

    # a hostile body nested 100,000 deep: refused, no RecursionError
    server.inject("/crossref/works/", Fault(200, b"[" * 100_000 + b"]" * 100_000,
                                            content_type="application/json"))
    with pytest.raises(LookupMalformed, match=r"Crossref .*nested more than"):
        resolver.crossref.work(NANO_DOI)


def test_malformed_crossref_answer_falls_back_to_doi_org(resolver: Resolver,
                                                         server: LookupServer) -> None:
    server.inject("/crossref/works/", Fault(200, b"[]", content_type="application/json"))
    record = resolver.lookup(doi=OA_DOI)
    assert record.sources["title"] == "doi.org"
    assert record.title.endswith("a new therapeutic approach to osteoarthritis?")


def test_server_down_is_unavailable(server: LookupServer) -> None:
    with Resolver(server.settings()) as res:
        res.lookup(doi=NANO_DOI)  # keep-alive connections are open now
        server.stop()
        started = time.monotonic()
        with pytest.raises(LookupUnavailable, match="cannot connect") as caught:
            res.lookup(doi=NANO_DOI)
        assert time.monotonic() - started < 3.0
    assert "try again later" in str(caught.value)


def test_unreachable_pubmed_leaves_a_partial_record(resolver: Resolver,
                                                    server: LookupServer) -> None:
    server.inject("/eutils/", Fault(503), repeat=True)
    record = resolver.lookup(doi=COVID_DOI)
    assert record.title.startswith("Exosomes Derived from Bone Marrow")
    assert record.mesh == ()
    assert record.unavailable == ("pubmed",)
    # esearch failed: efetch (same service) was not tried in the same lookup.
    assert {r.path for r in server.requests_to("pubmed")} == {"/eutils/esearch.fcgi"}


# --------------------------------------------------------------------------------------------
# Politeness: cache, User-Agent, rate limits
# --------------------------------------------------------------------------------------------


def test_cache_hit_makes_no_second_request(server: LookupServer, tmp_path: Path) -> None:
    with Resolver(server.settings(), cache_dir=tmp_path) as res:
        first = res.lookup(doi=COVID_DOI)
        asked = len(server.requests)
        second = res.lookup(doi=COVID_DOI)
        assert len(server.requests) == asked == 3
        assert second == first
    # The cache is a file: a new resolver (the next session) uses it too.
    assert (tmp_path / CACHE_FILE).is_file()
    with Resolver(server.settings(), cache_dir=tmp_path) as res:
        assert res.lookup(doi=COVID_DOI) == first
    assert len(server.requests) == 3


def test_cache_keeps_not_found_shorter(server: LookupServer, tmp_path: Path) -> None:
    settings = server.settings(cache_ttl=60.0, cache_ttl_not_found=0.3,
                               find_pmid_for_doi=False)
    with Resolver(settings, cache_dir=tmp_path) as res:
        for _ in range(2):
            with pytest.raises(LookupNotFound):
                res.crossref.work("10.1234/unknown")
        assert len(server.requests) == 1
        time.sleep(0.35)
        with pytest.raises(LookupNotFound):
            res.crossref.work("10.1234/unknown")
        assert len(server.requests) == 2
        res.crossref.work(NANO_DOI)
        time.sleep(0.35)
        res.crossref.work(NANO_DOI)  # a found record stays much longer
        assert len(server.requests) == 3


def test_errors_are_not_cached(server: LookupServer, tmp_path: Path) -> None:
    server.inject("/crossref/", Fault(503), repeat=True)
    settings = server.settings(max_retries=0)
    with Resolver(settings, cache_dir=tmp_path) as res:
        with pytest.raises(LookupUnavailable):
            res.crossref.work(NANO_DOI)
        server.clear()
        assert res.crossref.work(NANO_DOI).doi == NANO_DOI
        assert len(server.requests) == 1


def test_user_agent_and_contact_parameters(server: LookupServer) -> None:
    settings = server.settings(ncbi_api_key="k3y")
    with Resolver(settings) as res:
        res.lookup(pmcid=NANO_PMCID)
        res.lookup(doi=CSL_ONLY_DOI)
    assert len(server.requests) >= 6
    for request in server.requests:
        assert CONTACT in request.headers["User-Agent"]
        assert request.headers["User-Agent"].startswith("ExoRef/")
    for request in server.requests_to("crossref"):
        assert request.param("mailto") == CONTACT
    for request in server.requests_to("pubmed") + server.requests_to("pmc"):
        assert (request.param("email"), request.param("tool"), request.param("api_key")) \
            == (CONTACT, "exoref", "k3y")
    assert user_agent("") == "ExoRef/0.1.0 (reference manager)"


def test_rate_limit_holds_over_200_lookups(server: LookupServer) -> None:
    limit = 50
    settings = server.settings(ncbi_rate=limit, crossref_rate=limit)
    with Resolver(settings) as res:
        errors: list[BaseException] = []

        def work(count: int) -> None:
            try:
                for _ in range(count):
                    res.lookup(pmid=NANO_PMID)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        started = time.monotonic()
        threads = [threading.Thread(target=work, args=(50,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started
    assert not errors
    for service in ("pubmed", "crossref"):
        times = [r.time for r in server.requests_to(service)]
        assert len(times) == 200
        assert max_per_window(times) <= limit
    # 200 requests at 50 a second need at least three full windows: the limiter was used.
    assert elapsed >= 3.0


def test_rate_limiter_windows() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(9):
        limiter.acquire()
        starts.append(now[0])
    assert starts[:3] == [0.0, 0.0, 0.0]
    assert starts[3] == pytest.approx(limiter.window)
    assert max_per_window(starts, 1.0) == 3
    assert limiter.acquire(deadline=now[0] + 0.1) is False  # the next slot is too late
    half = RateLimiter(0.5, clock=lambda: now[0], sleep=sleep)
    assert half.count == 1
    assert half.window == pytest.approx(2.02)


# --------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------


def test_merge_prefers_pubmed_for_curated_fields_and_keeps_sources() -> None:
    crossref = LookupRecord(title="T", journal="J", pages="1-9", abstract="Crossref text",
                            keywords=("a",)).with_source("crossref")
    pubmed = LookupRecord(title="T.", journal="j", pages="1-9", abstract="PubMed text",
                          mesh=("Exosomes",), keywords=("A", "b"),
                          unavailable=("pmc",)).with_source("pubmed")
    merged = merge_records([crossref, pubmed])
    assert (merged.title, merged.journal, merged.abstract) == ("T", "J", "PubMed text")
    assert merged.keywords == ("a", "b")
    assert merged.sources == {"title": "crossref", "journal": "crossref",
                              "pages": "crossref", "abstract": "pubmed", "mesh": "pubmed",
                              "keywords": "crossref"}
    assert merged.unavailable == ("pmc",)
    ref = merged.to_reference()
    assert (ref.title, ref.journal, ref.abstract) == ("T", "J", "PubMed text")


def test_medline_page_ranges_are_written_out() -> None:
    assert expand_pages("747-54") == "747-754"
    assert expand_pages("1204-8") == "1204-1208"
    assert expand_pages("e12134") == "e12134"
    assert expand_pages("S12-S19") == "S12-S19"
