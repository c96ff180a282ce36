"""Identifier parsing: DOI, PMID, PMCID, arXiv id, trial registry ids, title keys."""

from __future__ import annotations

import pytest

from exoref.domain.identifiers import (
    doi_key,
    find_arxiv_ids,
    find_dois,
    find_pmcids,
    find_pmids,
    find_trial_ids,
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    normalize_title_key,
    parse_arxiv_stamp,
)

# --------------------------------------------------------------------------------------------
# DOI
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1186/s13287-020-01234-5", "10.1186/s13287-020-01234-5"),
        ("doi:10.1186/s13287-020-01234-5", "10.1186/s13287-020-01234-5"),
        ("DOI: 10.1186/s13287-020-01234-5.", "10.1186/s13287-020-01234-5"),
        ("https://doi.org/10.1016/j.stem.2020.01.001", "10.1016/j.stem.2020.01.001"),
        ("http://dx.doi.org/10.1016/j.cpc.2009.11.008", "10.1016/j.cpc.2009.11.008"),
        ("https://doi.org/10.1000%2Fabc", "10.1000/abc"),
        ("(doi:10.1234/abc(12)3).", "10.1234/abc(12)3"),
        ("doi:10.1234/xyz);", "10.1234/xyz"),
        ("<http://dx.doi.org/10.1000/xyz>", "10.1000/xyz"),
        ("DOI10.1109/DSDE.2010.49", "10.1109/DSDE.2010.49"),
        ("10.7717/peerj-cs.213/ﬁg-1", "10.7717/peerj-cs.213/fig-1"),
        (
            "doi:10.1002/(SICI)1099-1166(199601)11:1<15::AID-GPS299>3.0.CO;2-Y",
            "10.1002/(SICI)1099-1166(199601)11:1<15::AID-GPS299>3.0.CO;2-Y",
        ),
    ],
)
def test_normalize_doi_strips_prefixes_and_trailing_punctuation(raw: str, expected: str) -> None:
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize("raw", ["", "no doi here", "10.12/short-registrant", "doi:", "10.1234/"])
def test_normalize_doi_rejects_non_dois(raw: str) -> None:
    assert normalize_doi(raw) is None


def test_normalize_doi_keeps_case_and_doi_key_folds_it() -> None:
    assert normalize_doi("10.1017/S1041610213001804") == "10.1017/S1041610213001804"
    assert doi_key("https://doi.org/10.1017/S1041610213001804") == "10.1017/s1041610213001804"
    assert doi_key("DOI: 10.1017/s1041610213001804.") == doi_key("10.1017/S1041610213001804")


def test_find_dois_returns_values_and_offsets_in_order() -> None:
    text = "See doi:10.1000/first and https://doi.org/10.2000/second.\nAlso 10.1000/first."
    found = find_dois(text)
    assert [d for d, _ in found] == ["10.1000/first", "10.2000/second", "10.1000/first"]
    for doi, offset in found:
        assert text[offset : offset + len(doi)] == doi


def test_find_dois_does_not_glue_the_next_line_to_a_complete_doi() -> None:
    text = "doi:10.1017/S1041610213001804\nStressful life events are not associated"
    assert find_dois(text) == [("10.1017/S1041610213001804", 4)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("doi:10.1016/j.bandc.\n2007.01.002.\nNext sentence", "10.1016/j.bandc.2007.01.002"),
        ("doi:10.1037//\n1089-2680.5.4.323. Next", "10.1037//1089-2680.5.4.323"),
        ("doi:10.1002/(SICI)1099-1166(199601)11:1<15::AID-\nGPS2>3.0.CO;2-Y.", None),
        ("https:\n//doi.org/10.1007/s10664-018-9626-5\n[2] B. Kitchenham", None),
        ("https://doi.org/\n10.4324/9780203771587, http", "10.4324/9780203771587"),
    ],
)
def test_find_dois_joins_dois_broken_at_a_line_end(text: str, expected: str | None) -> None:
    found = [d for d, _ in find_dois(text)]
    assert len(found) == 1
    if expected is not None:
        assert found[0] == expected
    assert "\n" not in found[0]


def test_find_dois_stops_at_a_glued_url() -> None:
    text = "https://doi.org/10.1007/978-3-030-87568-8_10,http://dx.doi.org/10.1007/978-3-030-87568-8_10"
    assert [d for d, _ in find_dois(text)] == [
        "10.1007/978-3-030-87568-8_10",
        "10.1007/978-3-030-87568-8_10",
    ]


def test_find_dois_does_not_join_a_new_reference_after_a_break() -> None:
    text = "[1] A. Author. Title. J 2020. doi:10.1000/aaa.\n10.2000/bbb is another"
    assert [d for d, _ in find_dois(text)] == ["10.1000/aaa", "10.2000/bbb"]


# --------------------------------------------------------------------------------------------
# PubMed
# --------------------------------------------------------------------------------------------


def test_find_pmids_only_takes_labelled_numbers() -> None:
    text = "PMID: 12345678; PubMed PMID: 555. n = 32000001 patients. PubMed ID 07654321"
    assert [p for p, _ in find_pmids(text)] == ["12345678", "555", "7654321"]
    assert find_pmids("Received 12345678, sample 23456789") == []


def test_normalize_pmid() -> None:
    assert normalize_pmid("PMID: 00123") == "123"
    assert normalize_pmid("32000001") == "32000001"
    assert normalize_pmid("123456789") is None
    assert normalize_pmid("abc") is None


def test_find_and_normalize_pmcids() -> None:
    text = "PMCID: PMC1234567 and PMC 7654321; not PMC12 nor XPMC1234567"
    assert [p for p, _ in find_pmcids(text)] == ["PMC1234567", "PMC7654321"]
    assert normalize_pmcid("pmc1234567") == "PMC1234567"
    assert normalize_pmcid("1234567") == "PMC1234567"
    assert normalize_pmcid("PMID 1") is None


# --------------------------------------------------------------------------------------------
# arXiv
# --------------------------------------------------------------------------------------------


def test_find_arxiv_ids_new_and_old_style_when_labelled() -> None:
    text = (
        "see arXiv:2101.00001v2, arXiv preprint astro-ph/0601001, "
        "arXiv preprint arXiv:1504.06236 and https://arxiv.org/abs/math.GT/0309136; "
        "but not 2101.00001 on its own or version 1.2345"
    )
    assert [a for a, _ in find_arxiv_ids(text)] == [
        "2101.00001v2",
        "astro-ph/0601001",
        "1504.06236",
        "math.GT/0309136",
    ]


def test_find_arxiv_ids_rejects_impossible_months() -> None:
    assert find_arxiv_ids("arXiv:2113.00001") == []


def test_normalize_arxiv_id() -> None:
    assert normalize_arxiv_id("arXiv:2101.00001v2") == "2101.00001v2"
    assert normalize_arxiv_id("https://arxiv.org/pdf/2101.00001.pdf") == "2101.00001"
    assert normalize_arxiv_id("hep-ph/9412269") == "hep-ph/9412269"
    assert normalize_arxiv_id("not an id") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("arXiv:0908.0054v1  [astro-ph.CO]  1 Aug 2009", "0908.0054v1"),
        ("arXiv:1504.06236v2 [cs.SI] 24 Apr 2015", "1504.06236v2"),
        ("hep-ph/9412269   09 Dec 94", "hep-ph/9412269"),
        ("arXiv:2101.00001 is cited here", None),
        ("Received 1 Aug 2009", None),
    ],
)
def test_parse_arxiv_stamp(line: str, expected: str | None) -> None:
    assert parse_arxiv_stamp(line) == expected


# --------------------------------------------------------------------------------------------
# Trial registries
# --------------------------------------------------------------------------------------------


def test_find_trial_ids_every_registry_deduplicated_in_order() -> None:
    text = (
        "Registered at ClinicalTrials.gov (NCT01234567) and nct01234567; ChiCTR-TRC-12002386, "
        "ChiCTR2000029308, ISRCTN12345678, EudraCT number: 2004-000123-45, "
        "ACTRN12610000123456, DRKS00012345, CTRI/2009/091/000123, jRCTs031180003, "
        "jRCT2031190123, IRCT20180820040799N1, KCT0001234, UMIN000012345, "
        "PACTR201812345678901, TCTR20190101001. Again NCT01234567."
    )
    assert find_trial_ids(text) == [
        "NCT01234567",
        "ChiCTR-TRC-12002386",
        "ChiCTR2000029308",
        "ISRCTN12345678",
        "2004-000123-45",
        "ACTRN12610000123456",
        "DRKS00012345",
        "CTRI/2009/091/000123",
        "jRCTs031180003",
        "jRCT2031190123",
        "IRCT20180820040799N1",
        "KCT0001234",
        "UMIN000012345",
        "PACTR201812345678901",
        "TCTR20190101001",
    ]


def test_find_trial_ids_ignores_lookalikes() -> None:
    text = (
        "The FUNCTIONAL DISTINCT assay; NCT123 is too short; 2004-000123-45 without its label; "
        "KCT12 and UMIN12."
    )
    assert find_trial_ids(text) == []


def test_find_trial_ids_on_text_without_any() -> None:
    assert find_trial_ids("Exosomes from MSCs reduced fibrosis. " * 500) == []


# --------------------------------------------------------------------------------------------
# Title keys
# --------------------------------------------------------------------------------------------


def test_normalize_title_key_ignores_case_punctuation_space_and_diacritics() -> None:
    a = normalize_title_key("Did You Notice? Neuronal  Processing of Möller's ﬁndings")
    b = normalize_title_key("did you notice?: neuronal processing of mollers findings")
    assert a == b == "didyounoticeneuronalprocessingofmollersfindings"


def test_normalize_title_key_keeps_non_latin_letters_and_digits() -> None:
    assert normalize_title_key("Ελληνικά 2 — test_x") == "ελληνικα2testx"
    assert normalize_title_key("") == ""
    assert normalize_title_key("— … !") == ""
