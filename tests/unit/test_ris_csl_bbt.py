from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from exoref.domain.models import Author, Reference, Tag
from exoref.errors import UnreadableFileError
from exoref.formats.bbtjson import parse_bbtjson
from exoref.formats.common import MAX_JSON_DEPTH, JsonTooDeepError, check_json_depth, load_json
from exoref.formats.csljson import parse_csljson, reference_to_csl, write_csljson
from exoref.formats.registry import detect_format, read_bibliography
from exoref.formats.ris import parse_ris, write_ris

if TYPE_CHECKING:
    from pathlib import Path

ZOTERO_RIS = """TY  - JOUR
TI  - Mesenchymal stem cell-derived exosomes: a new therapeutic approach to osteoarthritis?
AU  - Mianehsaz, Elaheh
AU  - Mirzaei, Hamid Reza
T2  - Stem Cell Research & Therapy
AB  - Osteoarthritis is a degenerative joint disease.
DA  - 2019/11/21/
PY  - 2019
DO  - 10.1186/s13287-019-1445-0
VL  - 10
IS  - 1
SP  - 340
EP  - 345
SN  - 1757-6512
UR  - https://doi.org/10.1186/s13287-019-1445-0
KW  - Exosomes
KW  - Osteoarthritis
LA  - en
N1  - PMID: 31753036
ER  -

TY  - BOOK
TI  - A book
AU  - Smith, J.
PB  - Springer
CY  - Berlin
SN  - 978-3-16-148410-0
PY  - 2001
ER  -
"""


def test_ris_as_zotero_writes_it() -> None:
    parsed = parse_ris(ZOTERO_RIS)
    assert parsed.problems == []
    article, book = (e.reference for e in parsed.entries)
    assert article.entry_type == "article"
    assert article.authors == [Author("Mianehsaz", "Elaheh"), Author("Mirzaei", "Hamid Reza")]
    assert article.journal == "Stem Cell Research & Therapy"
    assert (article.year, article.extra["month"], article.extra["day"]) == (2019, "11", "21")
    assert article.pages == "340-345"
    assert article.doi == "10.1186/s13287-019-1445-0"
    assert article.pmid == "31753036"
    assert article.extra["issn"] == "1757-6512"
    assert article.keywords == ["Exosomes", "Osteoarthritis"]
    assert [e.line for e in parsed.entries] == [1, 22]
    assert book.entry_type == "book"
    assert book.isbn == "978-3-16-148410-0"
    assert book.extra["address"] == "Berlin"


def test_ris_problems_are_reported_by_line() -> None:
    parsed = parse_ris("AU  - Orphan, A.\nTY  - JOUR\nTI  - Fine\nER  - \n")
    assert [p.line for p in parsed.problems] == [1]
    assert parsed.entries[0].reference.title == "Fine"


def test_ris_export() -> None:
    ref = Reference(title="T", authors=[Author("Costa", "P. T., Jr.")], year=2013,
                    journal="J", pages="1-9", doi="10.1/x", pmid="123", pmcid="PMC12345",
                    tags=[Tag("MSC")], extra={"month": "2"}, citekey="costa2013t")
    out = write_ris([ref])
    assert "TY  - JOUR\r\nID  - costa2013t\r\nTI  - T\r\nAU  - Costa, P. T., Jr.\r\n" in out
    assert "SP  - 1\r\nEP  - 9" in out
    assert "DA  - 2013/02//" in out
    assert "AN  - 123" in out
    assert "C2  - PMC12345" in out
    assert "KW  - MSC" in out
    back = parse_ris(out).entries[0].reference
    assert back.authors == ref.authors
    assert back.pmcid == "PMC12345"


CSL = [
    {
        "id": "berg2020",
        "type": "article-journal",
        "title": "Exosomes <i>in vivo</i>",
        "author": [{"family": "Berg", "given": "Jan", "non-dropping-particle": "van der"},
                   {"family": "Costa", "given": "P. T.", "suffix": "Jr."},
                   {"literal": "World Health Organization"}],
        "issued": {"date-parts": [[2020, 5, 2]]},
        "container-title": "Stem Cells",
        "page": "1-10",
        "DOI": "10.1/abc",
        "PMID": "123",
        "PMCID": "PMC12345",
        "keyword": "exosomes, MSC",
        "language": "en",
    },
    {"id": "b", "type": "chapter", "title": "Chapter", "container-title": "Book",
     "issued": {"date-parts": [[2019], [2020]]}},
]


def test_csljson_as_zotero_writes_it() -> None:
    parsed = parse_csljson(json.dumps(CSL))
    first, second = (e.reference for e in parsed.entries)
    assert first.citekey == "berg2020"
    assert first.title == "Exosomes in vivo"
    assert first.authors == [Author("van der Berg", "Jan"), Author("Costa", "P. T., Jr."),
                             Author("World Health Organization", "")]
    assert (first.year, first.extra["month"], first.extra["day"]) == (2020, "5", "2")
    assert (first.pmid, first.pmcid) == ("123", "PMC12345")
    assert first.keywords == ["exosomes", "MSC"]
    assert second.entry_type == "incollection"
    assert second.booktitle == "Book"
    assert second.extra["date"] == "2019/2020"


def test_csljson_export_splits_particles_again() -> None:
    item = reference_to_csl(Reference(title="T", authors=[Author("van der Berg", "Jan")],
                                      citekey="k"))
    assert item["author"] == [{"non-dropping-particle": "van der", "family": "Berg",
                               "given": "Jan"}]
    assert json.loads(write_csljson([Reference(title="T", citekey="k")]))[0]["id"] == "k"


BBT = {
    "config": {"label": "BetterBibTeX JSON"},
    "items": [
        {
            "itemType": "journalArticle",
            "title": "Exosomes<sup>2</sup>",
            "creators": [{"creatorType": "author", "firstName": "Alexander von",
                          "lastName": "Humboldt"},
                         {"creatorType": "author", "name": "WHO"},
                         {"creatorType": "editor", "firstName": "K.", "lastName": "Lee"}],
            "date": "September 2014",
            "publicationTitle": "Stem Cells",
            "DOI": "10.1/x",
            "extra": "PMID: 123\ntex.note: A note\nOther line",
            "citationKey": "humboldt2014",
            "tags": [{"tag": "MSC"}, {"tag": "GvHD"}],
            "notes": ["<p>My note</p>"],
            "attachments": [{"path": "/papers/a.pdf"}, {"url": "https://x.org"}],
        },
        {"itemType": "note", "note": "standalone"},
        {"itemType": "conferencePaper", "title": "Talk", "date": "22-26 June 2015",
         "conferenceName": "MSC 2015"},
    ],
}


def test_better_bibtex_json() -> None:
    parsed = parse_bbtjson(json.dumps(BBT))
    first, talk = (e.reference for e in parsed.entries)
    assert [p.line for p in parsed.problems] == [2]
    assert first.citekey == "humboldt2014"
    assert first.title == "Exosomes²"
    assert first.authors == [Author("von Humboldt", "Alexander"), Author("WHO", "")]
    assert first.extra["editor"] == "Lee, K."
    assert (first.year, first.extra["month"]) == (2014, "9")
    assert first.pmid == "123"
    assert first.extra["note"] == "A note"
    assert first.notes == "Other line\n\nMy note"
    assert [t.name for t in first.tags] == ["MSC", "GvHD"]
    assert parsed.entries[0].files == ["/papers/a.pdf"]
    assert talk.booktitle == "MSC 2015"
    assert talk.extra["date"] == "2015-06-22/2015-06-26"
    assert talk.extra["month"] == "6"


def test_registry_sniffs_content_before_extension(tmp_path: Path) -> None:
    cases = {
        "a.txt": "% refs\n@article{k, title={T}}\n",
        "b.bib": "TY  - JOUR\nTI  - T\nER  - \n",
        "c.json": json.dumps(CSL),
        "d.json": json.dumps(BBT),
        "e.ris": "nothing here",
    }
    for name, content in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert detect_format(tmp_path / "a.txt") == "bibtex"
    assert detect_format(tmp_path / "b.bib") == "ris"
    assert detect_format(tmp_path / "c.json") == "csljson"
    assert detect_format(tmp_path / "d.json") == "bbtjson"
    assert detect_format(tmp_path / "e.ris") == "ris"  # by extension, then it finds nothing
    assert read_bibliography(tmp_path / "d.json").format == "bbtjson"
    (tmp_path / "f.pdf").write_bytes(b"%PDF-1.4 binary")
    with pytest.raises(UnreadableFileError):
        read_bibliography(tmp_path / "f.pdf")


# -- JSON nested too deep -----------------------------------------------------------------------


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    check_json_depth(_nested(MAX_JSON_DEPTH))
    # brackets inside strings (escaped quotes too) are text, not nesting
    check_json_depth(json.dumps([{"title": "[" * 500 + '\\"{' * 500}]))
    with pytest.raises(JsonTooDeepError) as info:
        check_json_depth("[\n" * (MAX_JSON_DEPTH + 1) + "1" + "]" * (MAX_JSON_DEPTH + 1))
    assert info.value.lineno == MAX_JSON_DEPTH + 1  # the line of the bracket one too deep
    assert str(MAX_JSON_DEPTH) in str(info.value)


def test_load_json_parses_what_json_loads_parses() -> None:
    assert load_json(json.dumps(CSL)) == CSL
    with pytest.raises(json.JSONDecodeError):
        load_json('[{"title": "unclosed}]')


@pytest.mark.parametrize("parse", [parse_csljson, parse_bbtjson])
def test_readers_report_json_nested_too_deep_as_a_problem(parse: Any) -> None:
    for text in (_nested(100_000), '{"items": [' + '{"a": ' * 70 + "1" + "}" * 70 + "]}",
                 json.dumps([{"title": "T", "note": json.loads(_nested(200))}])):
        parsed = parse(text)
        assert parsed.entries == []
        [problem] = parsed.problems
        assert "nested more than" in problem.reason


def test_a_csl_item_at_ordinary_depth_is_read() -> None:
    item = {"type": "article-journal", "title": "T", "issued": {"date-parts": [[2019, 5, 2]]},
            "note": json.loads(_nested(MAX_JSON_DEPTH - 2, '"deep"'))}
    [entry] = parse_csljson(json.dumps([item])).entries
    assert entry.reference.title == "T"
    assert entry.reference.year == 2019


def test_a_deeply_nested_json_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(_nested(100_000), encoding="utf-8")
    assert detect_format(path) == "csljson"  # by its name; sniffing did not crash
    with pytest.raises(UnreadableFileError, match=r"deep\.json .*nested more than"):
        read_bibliography(path)
    wrapped = tmp_path / "wrapped.txt"  # no name to go by: not a bibliography at all
    wrapped.write_text(_nested(5000), encoding="utf-8")
    assert detect_format(wrapped) is None
