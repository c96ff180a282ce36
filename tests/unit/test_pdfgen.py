"""The PDF generators in tests/fixtures/pdfgen.py: the files are what they claim to be."""

from __future__ import annotations

import json
import random
import re
import time
from typing import TYPE_CHECKING

import pymupdf
import pytest

from tests.fixtures import pdfgen
from tests.fixtures.pdfgen import ArticleSpec

if TYPE_CHECKING:
    from pathlib import Path

BASE_FONTS = {"Nimbus Sans Regular", "Nimbus Sans Bold", "Nimbus Roman Regular"}
#: The part of a page between the running head and the footer.
BODY_CLIP = pymupdf.Rect(0, 55, pdfgen.PAGE_W, pdfgen.PAGE_H - 55)

NON_ASCII_SPEC = ArticleSpec(
    title="TGF-β1–loaded exosomes from Wharton’s jelly MSCs in Müller glia: the “Ó Briain” way",
    authors=[
        ("Søren", "Østergaard"),
        ("Siobhán", "Ó Briain"),
        ("Łukasz", "Wiśniewski"),
        ("Jan", "van der Berg"),
    ],
    doi="10.1186/s13287-021-02345-6",
    pmid="34012345",
    abstract="Exosomes cut IL-1β and TNF-α by 40 % (p < 0.01); Dvořák’s cohort — 12 patients.",
    keywords=["Exosomes", "Müller glia", "TGF-β"],
    body=[
        "# Introduction",
        "Exosomes from Wharton’s jelly carried miR-146a and NF-κB inhibitors to Müller cells.",
        "The study ran in Łódź, Ærøskøbing and Reykjavík (Þórsmörk), 2019–2021.",
        "Vesicles of 70–150 nm were isolated by ultracentrifugation at 100 000 × g for 70 min.",
    ],
    references=[
        "Groß A, Lefèvre B. Exosomes in Düsseldorf. Stem Cell Res Ther. 2019;10:1–9. doi:10.1/abc.1"
    ],
    affiliations=["Universitätsklinikum Düsseldorf, Düsseldorf, Germany"],
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _body_text(doc: pymupdf.Document) -> str:
    """All text between the running heads and footers, whitespace collapsed."""
    return _norm(" ".join(page.get_text(clip=BODY_CLIP) for page in doc))


def _largest_text(page: pymupdf.Page) -> str:
    """The text set in the largest font size (spans of a line joined as they are)."""
    lines = [line for block in page.get_text("dict")["blocks"] for line in block.get("lines", [])]
    biggest = max(span["size"] for line in lines for span in line["spans"] if span["text"].strip())
    return _norm(
        " ".join(
            "".join(s["text"] for s in line["spans"] if s["size"] == biggest) for line in lines
        )
    )


def _open(path: Path) -> pymupdf.Document:
    return pymupdf.open(path)


# ------------------------------------------------------------------------------ rendering


def test_rendered_article_opens_with_the_layout_of_a_journal_article(tmp_path: Path) -> None:
    spec = pdfgen.synthetic_article(random.Random(11), pages=3)
    path = pdfgen.render_article(spec, tmp_path / "a.pdf")
    with _open(path) as doc:
        assert doc.is_pdf
        assert doc.page_count == 3
        first = doc[0].get_text()
        assert first.startswith(pdfgen.venue_line(spec))
        assert f"https://doi.org/{spec.doi}" in first
        assert f"PMID: {spec.pmid}" in first
        assert "Abstract" in first
        assert "Keywords: " in first
        for number, page in enumerate(doc, 1):
            assert f"Page {number} of 3" in page.get_text()
        assert "References" in _body_text(doc)
        assert spec.references[-1].rsplit(" ", 1)[-1] in doc[-1].get_text()
        assert doc.metadata is not None
        assert doc.metadata["title"] == ""


def test_title_is_the_largest_text_on_page_one(tmp_path: Path) -> None:
    for seed in range(5):
        spec = pdfgen.synthetic_article(random.Random(seed), pages=2)
        with _open(pdfgen.render_article(spec, tmp_path / f"{seed}.pdf")) as doc:
            assert _largest_text(doc[0]) == spec.title


def test_text_round_trips_including_non_ascii(tmp_path: Path) -> None:
    with _open(pdfgen.render_article(NON_ASCII_SPEC, tmp_path / "u.pdf")) as doc:
        assert _largest_text(doc[0]) == NON_ASCII_SPEC.title
        text = _body_text(doc)
        assert {font[3] for font in doc[0].get_fonts()} <= BASE_FONTS  # no fallback font needed
    assert NON_ASCII_SPEC.title in text
    assert "Søren Østergaard, Siobhán Ó Briain, Łukasz Wiśniewski and Jan van der Berg" in text
    assert "1 Universitätsklinikum Düsseldorf, Düsseldorf, Germany" in text
    assert NON_ASCII_SPEC.abstract in text
    assert "Keywords: Exosomes, Müller glia, TGF-β" in text
    for paragraph in NON_ASCII_SPEC.body:
        assert paragraph.removeprefix("# ") in text
    assert f"1. {NON_ASCII_SPEC.references[0]}" in text


def test_every_line_is_extracted_exactly_as_written(tmp_path: Path) -> None:
    spec = pdfgen.synthetic_article(random.Random(5), pages=4)
    lay = pdfgen._layout(spec)
    with _open(pdfgen.render_article(spec, tmp_path / "l.pdf")) as doc:
        for page, lines in zip(doc, lay.pages, strict=True):
            extracted = [ln for ln in page.get_text(clip=BODY_CLIP).splitlines() if ln]
            assert extracted == [ln.text for ln in lines]


def test_characters_missing_from_the_base_fonts_still_round_trip(tmp_path: Path) -> None:
    spec = ArticleSpec(
        title="Exosome dose ≥ 10⁹ particles in 細胞 therapy",
        authors=[("Yuki", "Nakamura")],
        body=["Doses ≤ 2 × 10⁶ cells/kg were well tolerated."],
    )
    with _open(pdfgen.render_article(spec, tmp_path / "f.pdf")) as doc:
        text = _body_text(doc)
        assert _largest_text(doc[0]) == spec.title
    assert spec.title in text
    assert spec.body[0] in text


def test_embedded_title_goes_into_the_info_dictionary(tmp_path: Path) -> None:
    spec = ArticleSpec(
        title="On-page title", authors=[], embedded_title="Microsoft Word - draft3.docx"
    )
    with _open(pdfgen.render_article(spec, tmp_path / "m.pdf")) as doc:
        assert doc.metadata is not None
        assert doc.metadata["title"] == "Microsoft Word - draft3.docx"


@pytest.mark.parametrize("min_pages", [1, 2, 5, 12])
def test_page_count_reaches_min_pages(tmp_path: Path, min_pages: int) -> None:
    spec = ArticleSpec(
        title="Padding test",
        authors=[("Ana", "Silva")],
        abstract="Short abstract.",
        body=["One short paragraph."],
        references=[
            "Silva A. A reference. Cytotherapy. 2020;22:1–2. doi:10.1016/j.jcyt.2020.01.001"
        ],
        min_pages=min_pages,
    )
    with _open(pdfgen.render_article(spec, tmp_path / "p.pdf")) as doc:
        assert doc.page_count == min_pages
        assert "One short paragraph." in _body_text(doc)


def test_a_long_body_is_never_cut(tmp_path: Path) -> None:
    body = [f"Paragraph {i} " + "exosome " * 120 for i in range(30)]
    spec = ArticleSpec(title="Long", authors=[("A", "B")], body=body, min_pages=1)
    with _open(pdfgen.render_article(spec, tmp_path / "long.pdf")) as doc:
        assert doc.page_count > 5
        text = _body_text(doc)
    assert all(_norm(p) in text for p in body)


# ------------------------------------------------------------------------------ synthetic


@pytest.mark.parametrize("pages", [1, 3, 10])
def test_synthetic_article_renders_to_the_requested_page_count(tmp_path: Path, pages: int) -> None:
    rng = random.Random(pages)
    for i in range(3):
        spec = pdfgen.synthetic_article(rng, pages=pages)
        with _open(pdfgen.render_article(spec, tmp_path / f"{i}.pdf")) as doc:
            assert doc.page_count == pages
            assert {f[3] for page in doc for f in page.get_fonts()} <= BASE_FONTS


def test_synthetic_article_metadata_is_plausible() -> None:
    rng = random.Random(2)
    specs = [pdfgen.synthetic_article(rng) for _ in range(40)]
    for spec in specs:
        assert spec.doi is not None
        assert spec.doi.startswith("10.")
        assert spec.pmid is not None
        assert re.fullmatch(r"[1-4]\d{7}", spec.pmid)
        assert 3 <= len(spec.authors) <= 10
        assert 20 <= len(spec.references) <= 40
        ref_dois = [m.group(1) for r in spec.references for m in [re.search(r"doi:(\S+)$", r)] if m]
        assert len(ref_dois) == len(spec.references)
        assert len(set(ref_dois)) == len(ref_dois)
        assert spec.doi not in ref_dois
        assert 150 <= len(spec.abstract.split()) <= 330
        assert spec.min_pages == 10
    bmc = [s for s in specs if s.journal == "Stem Cell Research & Therapy"]
    assert all(re.fullmatch(r"10\.1186/s13287-0\d\d-\d{5}-[0-9x]", s.doi or "") for s in bmc)
    assert len({s.title for s in specs}) > 30
    families = {family for s in specs for _, family in s.authors}
    assert families & {"van der Berg", "van den Heuvel", "de Vries", "von Hausen", "ter Haar"}
    assert families & {"Müller", "Ó Briain", "Østergaard", "Dvořák", "Wiśniewski"}


def test_synthetic_article_is_deterministic_and_follows_the_topic() -> None:
    a = pdfgen.synthetic_article(random.Random(9), topic="graft-versus-host disease")
    b = pdfgen.synthetic_article(random.Random(9), topic="graft-versus-host disease")
    assert a == b
    assert "graft-versus-host disease" in a.title


def test_synthetic_pages_hold_a_realistic_amount_of_text(tmp_path: Path) -> None:
    spec = pdfgen.synthetic_article(random.Random(4), pages=10)
    with _open(pdfgen.render_article(spec, tmp_path / "w.pdf")) as doc:
        words = [len(page.get_text().split()) for page in doc]
    assert all(400 <= n <= 720 for n in words), words


def test_render_time_of_a_ten_page_article(tmp_path: Path) -> None:
    specs = [pdfgen.synthetic_article(random.Random(i), pages=10) for i in range(5)]
    pdfgen.render_article(specs[0], tmp_path / "warm.pdf")
    cpu = []
    for i, spec in enumerate(specs):
        start = time.process_time()
        pdfgen.render_article(spec, tmp_path / f"t{i}.pdf")
        cpu.append(time.process_time() - start)
    assert min(cpu) < 0.1, f"best of 5: {min(cpu) * 1000:.0f} ms of CPU"


def test_corpus_writer_and_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = pdfgen.write_synthetic_corpus(tmp_path / "c", 25, pages=1, seed=3)
    assert len(paths) == 25
    firsts = []
    for path in paths:
        with _open(path) as doc:
            firsts.append(doc[0].get_text())
    dois = [re.search(r"https://doi.org/(\S+)", text) for text in firsts]
    assert all(dois)
    assert len({m.group(1) for m in dois if m}) == 25

    assert (
        pdfgen.main([str(tmp_path / "cli"), "--count", "2", "--pages", "2", "--seed", "1", "--bad"])
        == 0
    )
    assert "wrote 10 files" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "cli").glob("*.pdf")) == [
        "synthetic_00000.pdf",
        "synthetic_00001.pdf",
    ]
    assert len(list((tmp_path / "cli" / "bad").iterdir())) == 8


# ------------------------------------------------------------------------------ seeds


def test_seeds_json_holds_bibliographic_facts_only() -> None:
    seeds = json.loads(pdfgen.SEEDS_JSON.read_text(encoding="utf-8"))
    assert [s["seed_file"][:3] for s in seeds] == ["000", "001", "002", "003", "004"]
    keys = {
        "seed_file",
        "entry_type",
        "title",
        "authors",
        "year",
        "journal",
        "volume",
        "issue",
        "pages",
        "doi",
        "pmid",
        "pmcid",
    }
    for seed in seeds:
        assert set(seed) == keys
        assert seed["entry_type"] == "article"
        assert seed["title"]
        assert all(set(a) == {"family", "given"} for a in seed["authors"])
        assert seed["doi"] == "" or re.fullmatch(r"10\.\d{4,9}/\S+", seed["doi"])
        assert seed["pmid"] == "" or re.fullmatch(r"\d{8}", seed["pmid"])
    by_id = {s["seed_file"][:3]: s for s in seeds}
    assert by_id["000"]["doi"] == "10.1186/s13287-019-1445-0"
    assert by_id["002"]["pmid"] == "30992990"


@pytest.mark.skipif(not pdfgen.DEFAULT_SEEDS_DIR.is_dir(), reason="../shared/seeds is absent")
def test_seed_articles_render(tmp_path: Path) -> None:
    seeds = json.loads(pdfgen.SEEDS_JSON.read_text(encoding="utf-8"))
    specs = pdfgen.seed_articles(pdfgen.DEFAULT_SEEDS_DIR)
    assert len(specs) == len(seeds) == 5
    for spec, seed in zip(specs, seeds, strict=True):
        assert spec.title == seed["title"]
        assert spec.authors == [(a["given"], a["family"]) for a in seed["authors"]]
        assert spec.abstract
        with _open(pdfgen.render_article(spec, tmp_path / f"{seed['seed_file']}.pdf")) as doc:
            assert doc.page_count == spec.min_pages
            assert _largest_text(doc[0]) == spec.title
            first = doc[0].get_text()
            if seed["doi"]:
                assert f"https://doi.org/{seed['doi']}" in first
            if seed["pmid"]:
                assert f"PMID: {seed['pmid']}" in first
            assert spec.abstract in _body_text(doc)
    # The reference list of 002 carries other papers' DOIs, as real ones do.
    assert any("10.1681/ASN.2008070798" in ref for ref in specs[2].references)
    assert "Osteoarthritis" in specs[0].keywords


# ------------------------------------------------------------------------------ bad files


def test_fake_pdf_is_text(tmp_path: Path) -> None:
    path = pdfgen.write_fake_pdf(tmp_path / "fake.pdf")
    assert path.suffix == ".pdf"
    assert not path.read_bytes().startswith(b"%PDF")
    path.read_text(encoding="utf-8")
    with pytest.raises(pymupdf.FileDataError):
        pymupdf.open(path)


def test_empty_file(tmp_path: Path) -> None:
    path = pdfgen.write_empty(tmp_path / "empty.pdf")
    assert path.stat().st_size == 0
    with pytest.raises(pymupdf.EmptyFileError):
        pymupdf.open(path)


def test_truncated_file_is_the_first_40_percent(tmp_path: Path) -> None:
    src = pdfgen.render_article(NON_ASCII_SPEC, tmp_path / "src.pdf")
    path = pdfgen.write_truncated(src, tmp_path / "t.pdf")
    data, whole = path.read_bytes(), src.read_bytes()
    assert data == whole[: int(len(whole) * 0.4)]
    assert b"%%EOF" not in data


def test_encrypted_file_needs_the_user_password(tmp_path: Path) -> None:
    path = pdfgen.write_encrypted(tmp_path / "e.pdf")
    with _open(path) as doc:
        assert doc.needs_pass
        assert doc.is_encrypted
        assert not doc.authenticate("wrong")
        assert doc.authenticate(pdfgen.USER_PASSWORD)
        assert "acute kidney injury" in doc[0].get_text()


def test_image_only_file_has_no_text(tmp_path: Path) -> None:
    path = pdfgen.write_image_only(tmp_path / "i.pdf")
    with _open(path) as doc:
        assert doc.page_count == 1
        assert doc[0].get_text().strip() == ""
        assert len(doc[0].get_images()) == 1


def test_huge_page_count_file_claims_two_billion_pages(tmp_path: Path) -> None:
    path = pdfgen.write_huge_page_count(tmp_path / "h.pdf")
    assert path.stat().st_size < 2048
    with _open(path) as doc:
        pages = doc.xref_get_key(doc.pdf_catalog(), "Pages")[1]
        assert doc.xref_get_key(int(pages.split()[0]), "Count") == ("int", "2000000000")


def test_js_file_has_an_open_action_with_javascript(tmp_path: Path) -> None:
    path = pdfgen.write_js_pdf(tmp_path / "js.pdf")
    with _open(path) as doc:
        kind, ref = doc.xref_get_key(doc.pdf_catalog(), "OpenAction")
        assert kind == "xref"
        action = int(ref.split()[0])
        assert doc.xref_get_key(action, "S") == ("name", "/JavaScript")
        assert doc.xref_get_key(action, "JS") == ("string", pdfgen.JS_CODE)
        assert doc.page_count == 1


def test_no_header_file_lacks_the_pdf_signature(tmp_path: Path) -> None:
    path = pdfgen.write_no_header(tmp_path / "n.pdf")
    data = path.read_bytes()
    assert b"%PDF-" not in data[:1024]
    assert b" 0 obj" in data
