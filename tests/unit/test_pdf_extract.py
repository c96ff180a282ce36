"""PDF text and metadata extraction (exoref.formats.pdf), on PDFs written here with PyMuPDF.

The articles are built in the test with the base-14 fonts: a running head, a large bold
title, a byline with superscript markers, an abstract, keywords, a DOI footer, body pages and
a reference list whose DOIs belong to cited works.  Tests marked ``corpus`` read the real
PDFs of ../shared/corpus and skip when it is absent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf
import pytest

from exoref.domain.identifiers import doi_key, normalize_title_key
from exoref.errors import UnreadableFileError
from exoref.formats.pdf import MAX_PAGES, PdfExtraction, extract_pdf, looks_like_pdf
from tests.fixtures.pdfgen import write_huge_page_count

OWN_DOI = "10.1186/s13287-021-02345-6"
CITED_DOIS = ("10.1016/j.stem.2019.02.001", "10.1038/s41536-020-0101-x")
TITLE_LINES = (
    "Mesenchymal stem cell-derived exosomes attenuate",
    "acute kidney injury in a rat model",
)
TITLE = " ".join(TITLE_LINES)
ABSTRACT = (
    "Background: Extracellular vesicles released by mesenchymal stromal cells carry "
    "microRNAs that protect tubular cells. Methods: We injected umbilical cord MSC exosomes "
    "into rats after ischaemia. Results: Serum creatinine fell by half within two days."
)
LOREM = (
    "Exosomes were isolated by ultracentrifugation and characterised by nanoparticle "
    "tracking analysis, western blotting for CD9, CD63 and TSG101, and electron microscopy. "
)


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def _corpus_dir() -> Path:
    """``../shared/corpus`` next to the repository (the real-world acceptance corpus)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _need_corpus() -> Path:
    corpus = _corpus_dir()
    if not (corpus / "MANIFEST.tsv").is_file():
        pytest.skip("../shared/corpus is not present")
    return corpus


def _paragraph(
    page: pymupdf.Page,
    top: float,
    text: str,
    *,
    size: float = 10.0,
    left: float = 72.0,
    right: float = 523.0,
) -> float:
    """Write ``text`` wrapped between ``left`` and ``right``; return the next free y."""
    rect = pymupdf.Rect(left, top, right, top + 400)
    spare = page.insert_textbox(rect, text, fontsize=size, fontname="tiro")
    assert spare >= 0, "paragraph does not fit"
    used = 400 - spare
    return top + used + size


@dataclass
class Article:
    title_lines: tuple[str, ...] = TITLE_LINES
    title_size: float = 18.0
    byline: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("Anna Sundström", "1"),
            ("Wei Chen", "2"),
            ("Kwame Mensah", "1,2"),
        ]
    )
    venue: str = "Stem Cell Research & Therapy (2021) 12:345"
    footer: str = f"https://doi.org/{OWN_DOI}  PMID: 33456789"
    abstract: str = ABSTRACT
    keywords: str = "Keywords: Exosomes; Acute kidney injury; Mesenchymal stem cells"
    body_pages: int = 1
    body_extra: str = "Trial registration: ClinicalTrials.gov NCT04276987."
    references: tuple[str, ...] = (
        f"1. Smith J, Jones K. Exosomes in repair. Cell Stem Cell. 2019;24:1-10. "
        f"doi:{CITED_DOIS[0]}",
        f"2. Lee H. Vesicles and kidneys. NPJ Regen Med. 2020;5:8. https://doi.org/{CITED_DOIS[1]}",
    )
    info_title: str | None = "Microsoft Word - draft.docx"
    xmp: str | None = None


def write_article(path: Path, art: Article) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 40), art.venue, fontsize=8, fontname="helv")
    y = 90.0
    for line in art.title_lines:
        page.insert_text((72, y), line, fontsize=art.title_size, fontname="hebo")
        y += art.title_size * 1.25
    y += 8
    x = 72.0
    font = pymupdf.Font("helv")
    for i, (name, marker) in enumerate(art.byline):
        sep = ", " if i < len(art.byline) - 1 else ""
        page.insert_text((x, y), name, fontsize=11, fontname="helv")
        x += font.text_length(name, fontsize=11)
        page.insert_text((x, y - 4), marker, fontsize=7, fontname="helv")
        x += font.text_length(marker, fontsize=7)
        page.insert_text((x, y), sep, fontsize=11, fontname="helv")
        x += font.text_length(sep, fontsize=11)
    y += 16
    page.insert_text(
        (72, y),
        "1 Department of Nephrology, University of Leiden, Leiden, NL",
        fontsize=8,
        fontname="tiro",
    )
    y += 11
    page.insert_text(
        (72, y),
        "2 Institute of Regenerative Medicine, Shanghai, China",
        fontsize=8,
        fontname="tiro",
    )
    y += 30
    page.insert_text((72, y), "Abstract", fontsize=12, fontname="hebo")
    y = _paragraph(page, y + 8, art.abstract)
    if art.keywords:
        page.insert_text((72, y + 4), art.keywords, fontsize=9, fontname="tiro")
        y += 20
    page.insert_text((72, y + 20), "Introduction", fontsize=12, fontname="hebo")
    _paragraph(page, y + 30, LOREM * 6)
    page.insert_text((72, 810), art.footer, fontsize=7, fontname="helv")
    for n in range(art.body_pages):
        body = doc.new_page(width=595, height=842)
        body.insert_text((500, 40), str(n + 2), fontsize=8, fontname="helv")
        extra = art.body_extra if n == 0 else ""
        _paragraph(body, 72, LOREM * 8 + extra)
    refs = doc.new_page(width=595, height=842)
    refs.insert_text((72, 72), "References", fontsize=12, fontname="hebo")
    y = 90.0
    for entry in art.references:
        y = _paragraph(refs, y, entry, size=9)
    meta = {
        "title": art.info_title or "",
        "author": "",
        "subject": "",
        "keywords": "",
        "creator": "Microsoft Word",
        "producer": "test",
    }
    doc.set_metadata(meta)
    if art.xmp is not None:
        doc.set_xml_metadata(art.xmp)
    doc.save(path)
    doc.close()
    return path


def _simple_pdf(path: Path, lines: list[tuple[str, float]], **save: object) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = 90.0
    for text, size in lines:
        page.insert_text((72, y), text, fontsize=size, fontname="hebo" if size > 14 else "tiro")
        y += size * 1.6
    doc.save(path, **save)  # type: ignore[arg-type]
    doc.close()
    return path


@pytest.fixture
def article_pdf(tmp_path: Path) -> Path:
    return write_article(tmp_path / "article.pdf", Article(body_pages=2))


@pytest.fixture
def article(article_pdf: Path) -> PdfExtraction:
    return extract_pdf(article_pdf)


# --------------------------------------------------------------------------------------------
# The article
# --------------------------------------------------------------------------------------------


def test_title_is_read_from_the_typography_not_the_junk_info_title(article: PdfExtraction) -> None:
    assert article.reference.title == TITLE


def test_own_doi_from_the_footer_not_the_cited_ones(article: PdfExtraction) -> None:
    assert article.reference.doi == OWN_DOI
    assert article.reference.doi not in CITED_DOIS


def test_authors_without_superscript_markers(article: PdfExtraction) -> None:
    names = [(a.given, a.family) for a in article.reference.authors]
    assert names == [("Anna", "Sundström"), ("Wei", "Chen"), ("Kwame", "Mensah")]


def test_abstract_keywords_year_journal_pmid_trials(article: PdfExtraction) -> None:
    ref = article.reference
    assert ref.abstract.startswith("Background: Extracellular vesicles released by")
    assert ref.abstract.endswith("within two days.")
    assert "Introduction" not in ref.abstract
    assert ref.keywords == ["Exosomes", "Acute kidney injury", "Mesenchymal stem cells"]
    assert ref.year == 2021
    assert ref.journal == "Stem Cell Research & Therapy"
    assert ref.pmid == "33456789"
    assert ref.trial_ids == ["NCT04276987"]
    assert ref.id is None
    assert ref.citekey is None


def test_text_of_every_page_joined_by_form_feeds(article: PdfExtraction) -> None:
    assert article.page_count == 4
    pages = article.text.split("\f")
    assert len(pages) == 4
    assert "Mesenchymal stem cell-derived exosomes" in pages[0]
    assert "NCT04276987" in pages[1]
    assert "References" in pages[3]
    assert CITED_DOIS[0] in pages[3]
    assert article.has_text_layer
    assert article.warnings == []


def test_long_documents_keep_all_their_text(tmp_path: Path) -> None:
    path = write_article(tmp_path / "long.pdf", Article(body_pages=40))
    result = extract_pdf(path)
    assert result.page_count == 42
    assert result.text.count("\f") == 41
    assert result.text.count("ultracentrifugation") >= 41
    assert result.warnings == []


def test_max_text_chars_cuts_with_a_warning(article_pdf: Path) -> None:
    result = extract_pdf(article_pdf, max_text_chars=500)
    assert len(result.text) <= 500
    assert any("cut at 500" in w for w in result.warnings)
    assert result.reference.title == TITLE  # metadata still comes from page 1


# --------------------------------------------------------------------------------------------
# Titles and identifiers: traps
# --------------------------------------------------------------------------------------------


def test_doi_only_in_the_references_is_not_taken(tmp_path: Path) -> None:
    path = write_article(tmp_path / "a.pdf", Article(footer="Page 1"))
    ref = extract_pdf(path).reference
    assert ref.doi == ""
    assert ref.pmid == ""


def test_doi_in_xmp_is_strong_evidence(tmp_path: Path) -> None:
    xmp = (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">'
        "<prism:doi>10.3390/cells9010123</prism:doi>"
        "<prism:publicationName>Cells</prism:publicationName>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    path = write_article(tmp_path / "a.pdf", Article(footer="Page 1", xmp=xmp))
    ref = extract_pdf(path).reference
    assert ref.doi == "10.3390/cells9010123"
    assert ref.journal == "Cells"


def test_embedded_title_confirmed_on_the_page_fixes_all_caps(tmp_path: Path) -> None:
    caps = (
        "MESENCHYMAL STEM CELL-DERIVED",
        "EXOSOMES ATTENUATE ACUTE",
        "KIDNEY INJURY IN A RAT MODEL",
    )
    path = write_article(tmp_path / "a.pdf", Article(title_lines=caps, info_title=TITLE))
    assert extract_pdf(path).reference.title == TITLE


def test_all_caps_title_without_embedded_title_is_title_cased(tmp_path: Path) -> None:
    caps = ("MSC EXOSOMES IN THE TREATMENT", "OF ACUTE KIDNEY INJURY")
    path = write_article(tmp_path / "a.pdf", Article(title_lines=caps, info_title=None))
    expected = "MSC Exosomes in the Treatment of Acute Kidney Injury"
    assert extract_pdf(path).reference.title == expected


@pytest.mark.parametrize(
    "junk",
    [
        "Microsoft Word - draft.docx",
        "acl07.dvi",
        "untitled",
        "Proceedings of the 45th Annual Meeting of the ACL",
        "ipg1300180a",
        "A perfectly plausible title that is printed nowhere in the document",
    ],
)
def test_junk_or_unconfirmed_embedded_titles_are_ignored(tmp_path: Path, junk: str) -> None:
    path = write_article(tmp_path / "a.pdf", Article(info_title=junk))
    assert extract_pdf(path).reference.title == TITLE


def test_running_head_and_banner_bigger_than_the_title_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 50), "Journal of Extracellular Vesicles", fontsize=24, fontname="hebo")
    page.insert_text((72, 80), "RESEARCH ARTICLE", fontsize=20, fontname="hebo")
    page.insert_text(
        (72, 120), "Exosomes rescue cardiomyocytes after infarction", fontsize=16, fontname="hebo"
    )
    page.insert_text((72, 150), "Maria Rossi, Jan Novak", fontsize=11, fontname="helv")
    _paragraph(page, 180, LOREM * 5)
    doc.save(path)
    doc.close()
    ref = extract_pdf(path).reference
    assert ref.title == "Exosomes rescue cardiomyocytes after infarction"
    assert [a.family for a in ref.authors] == ["Rossi", "Novak"]


def test_journal_masthead_above_the_title(tmp_path: Path) -> None:
    """An Elsevier-style first page: the journal name, larger than the title, sits above
    "journal homepage: ..."; the DOI is in the footer, a cited DOI in the body text."""
    path = tmp_path / "a.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((200, 60), "Contents lists available at ScienceDirect", fontsize=8)
    page.insert_text((190, 90), "Stem Cell Reports", fontsize=22, fontname="hebo")
    page.insert_text((170, 110), "journal homepage: www.elsevier.com/locate/stemcr", fontsize=8)
    page.insert_text((50, 140), "Research article", fontsize=9)
    page.insert_text(
        (50, 165), "Umbilical cord MSC exosomes reverse liver", fontsize=17, fontname="hebo"
    )
    page.insert_text((50, 186), "fibrosis in mice", fontsize=17, fontname="hebo")
    page.insert_text((50, 210), "Li Wang, Maria Rossi", fontsize=10)
    _paragraph(page, 240, "Earlier work (doi:10.1002/hep.31234) showed effects. " + LOREM * 5)
    page.insert_text((50, 790), "https://doi.org/10.1016/j.stemcr.2020.01.001", fontsize=7)
    page.insert_text((50, 800), "Received 1 January 2020; Accepted 5 March 2020", fontsize=7)
    doc.save(path)
    doc.close()
    ref = extract_pdf(path).reference
    assert ref.title == "Umbilical cord MSC exosomes reverse liver fibrosis in mice"
    assert ref.journal == "Stem Cell Reports"
    assert ref.doi == "10.1016/j.stemcr.2020.01.001"
    assert ref.year == 2020


def test_dois_cited_in_the_body_of_page_one_are_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text(
        (72, 90), "Mesenchymal vesicles in sepsis: a pilot study", fontsize=18, fontname="hebo"
    )
    page.insert_text((72, 115), "Omar Haddad and Lina Park", fontsize=11)
    _paragraph(
        page,
        150,
        "Earlier trials (see doi:10.1164/rccm.201801-0123OC and Smith et al., "
        "https://doi.org/10.1097/CCM.0000000000004567) reported benefits. " + LOREM * 4,
    )
    more = doc.new_page(width=595, height=842)
    _paragraph(more, 72, "As shown before (doi:10.1164/rccm.201801-0123OC). " + LOREM * 4)
    doc.save(path)
    doc.close()
    ref = extract_pdf(path).reference
    assert ref.title == "Mesenchymal vesicles in sepsis: a pilot study"
    assert ref.doi == ""
    assert [a.family for a in ref.authors] == ["Haddad", "Park"]


def test_erratum_does_not_take_the_corrected_articles_doi(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 40), "https://doi.org/10.1186/s13287-021-09999-1", fontsize=7)
    page.insert_text(
        (72, 90), "Correction to: Exosomes in kidney repair", fontsize=18, fontname="hebo"
    )
    _paragraph(
        page,
        120,
        "The original article can be found online at "
        "https://doi.org/10.1186/s13287-020-01111-2. " + LOREM * 3,
    )
    doc.save(path)
    doc.close()
    assert extract_pdf(path).reference.doi == "10.1186/s13287-021-09999-1"


def test_byline_wrapped_over_lines_keeps_names_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 90), "Exosomes and the aging kidney", fontsize=18, fontname="hebo")
    page.insert_text(
        (72, 115), "Seán Nakamura, François Haddad, Siobhán dos Santos, Kwame Le", fontsize=11
    )
    page.insert_text((72, 129), "Blanc, Layla Nguyen and Emma", fontsize=11)
    page.insert_text((72, 143), "van der Berg", fontsize=11)
    page.insert_text((72, 160), "1 Department of Nephrology, Leiden University, Leiden", fontsize=8)
    page.insert_text((72, 190), "Abstract", fontsize=12, fontname="hebo")
    _paragraph(page, 200, LOREM * 4)
    doc.save(path)
    doc.close()
    families = [a.family for a in extract_pdf(path).reference.authors]
    assert families == ["Nakamura", "Haddad", "dos Santos", "Le Blanc", "Nguyen", "van der Berg"]


def test_repository_cover_page_is_skipped_for_the_title(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    cover = write_article(tmp_path / "inner.pdf", Article())
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "Institutional Repository", fontsize=26, fontname="hebo")
    page.insert_text((72, 200), "Citable link: http://hdl.handle.net/1234/5678", fontsize=11)
    page.insert_text(
        (72, 220), "Terms of Use: this article is made available under CC BY", fontsize=11
    )
    page.insert_text((72, 240), "Downloaded from the repository on 3 May 2024. " * 1, fontsize=11)
    _paragraph(page, 280, "Please cite the published version. " * 8)
    with pymupdf.open(cover) as inner:
        doc.insert_pdf(inner)
    doc.save(path)
    doc.close()
    ref = extract_pdf(path).reference
    assert ref.title == TITLE
    assert ref.doi == OWN_DOI


def test_arxiv_margin_stamp(tmp_path: Path) -> None:
    path = write_article(tmp_path / "a.pdf", Article(footer="1"))
    doc = pymupdf.open(path)
    doc[0].insert_text(
        (30, 600),
        "arXiv:2101.00001v2  [q-bio.CB]  3 Jan 2021",
        fontsize=16,
        rotate=90,
        fontname="tiro",
    )
    doc.save(tmp_path / "stamped.pdf")
    doc.close()
    ref = extract_pdf(tmp_path / "stamped.pdf").reference
    assert ref.arxiv == "2101.00001v2"
    assert ref.title == TITLE


def test_first_page_without_text_is_skipped(tmp_path: Path) -> None:
    inner = write_article(tmp_path / "inner.pdf", Article())
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 80), False)
    pix.clear_with(200)
    doc = pymupdf.open()
    cover = doc.new_page(width=595, height=842)
    cover.insert_image(cover.rect, pixmap=pix)
    with pymupdf.open(inner) as src:
        doc.insert_pdf(src)
    doc.save(tmp_path / "a.pdf")
    doc.close()
    result = extract_pdf(tmp_path / "a.pdf")
    assert result.reference.title == TITLE
    assert result.has_text_layer


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def _reason(path: Path) -> str:
    with pytest.raises(UnreadableFileError) as info:
        extract_pdf(path)
    message = info.value.user_message
    assert "\n" not in message
    return message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert _reason(path) == "empty file"
    assert not looks_like_pdf(path)


def test_text_file_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("This is not a PDF.\nJust text with a .pdf name.\n", encoding="utf-8")
    assert _reason(path) == "not a PDF (no %PDF header)"
    assert not looks_like_pdf(path)


def test_missing_file(tmp_path: Path) -> None:
    assert _reason(tmp_path / "nowhere.pdf").startswith("cannot be read")


def test_looks_like_pdf_by_content_not_name(article_pdf: Path, tmp_path: Path) -> None:
    assert looks_like_pdf(article_pdf)
    renamed = tmp_path / "download.bin"
    renamed.write_bytes(b"\x00junk before\n" + article_pdf.read_bytes())
    assert looks_like_pdf(renamed)
    late = tmp_path / "late.pdf"
    late.write_bytes(b" " * 2000 + b"%PDF-1.7\n")
    assert not looks_like_pdf(late)
    assert not looks_like_pdf(tmp_path / "missing.pdf")


def test_encrypted_with_a_user_password(tmp_path: Path) -> None:
    path = _simple_pdf(
        tmp_path / "locked.pdf",
        [("A secret title", 18)],
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        owner_pw="owner-pw",
        user_pw="user-pw",
    )
    assert _reason(path) == "encrypted: a password is needed to open it"


def test_encrypted_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    path = _simple_pdf(
        tmp_path / "owner-only.pdf",
        [("Exosomes protect the ischaemic heart", 18), (LOREM, 10), (LOREM, 10)],
        encryption=pymupdf.PDF_ENCRYPT_AES_128,
        owner_pw="owner-pw",
        user_pw="",
        permissions=pymupdf.PDF_PERM_PRINT,
    )
    result = extract_pdf(path)
    assert result.reference.title == "Exosomes protect the ischaemic heart"
    assert "ultracentrifugation" in result.text


def _outcome(path: Path) -> str:
    """The outcome of reading ``path``: refused with a reason, or imported with warnings."""
    try:
        result = extract_pdf(path)
    except UnreadableFileError as exc:
        return f"refused: {exc.user_message}"
    return "imported: " + " | ".join(result.warnings)


@pytest.mark.parametrize("fraction", [0.05, 0.4, 0.8])
def test_truncated_pdf_gives_a_reason_or_a_repair_warning(
    article_pdf: Path, tmp_path: Path, fraction: float
) -> None:
    data = article_pdf.read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * fraction)])
    outcome = _outcome(path)
    if outcome.startswith("refused"):
        assert outcome.startswith("refused: damaged:")
    else:
        assert "damaged" in outcome or "could not be read" in outcome


def test_garbage_after_header_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
    assert _reason(path).startswith("damaged:")


def test_absurd_page_count_is_refused(tmp_path: Path) -> None:
    path = write_huge_page_count(tmp_path / "huge.pdf")
    reason = _reason(path)
    assert reason.startswith("claims 2000000000 pages")
    assert str(MAX_PAGES) in reason


def test_image_only_pdf_imports_without_text_layer(tmp_path: Path) -> None:
    src = write_article(tmp_path / "src.pdf", Article())
    with pymupdf.open(src) as doc:
        pix = doc[0].get_pixmap(dpi=50, colorspace=pymupdf.csGRAY)
    scan = pymupdf.open()
    page = scan.new_page(width=595, height=842)
    page.insert_image(page.rect, pixmap=pix)
    scan.save(tmp_path / "scan.pdf")
    scan.close()
    result = extract_pdf(tmp_path / "scan.pdf")
    assert result.page_count == 1
    assert not result.has_text_layer
    assert result.text.strip() == ""
    assert result.reference.title == ""
    assert any("OCR" in w for w in result.warnings)


# --------------------------------------------------------------------------------------------
# The real-world corpus
# --------------------------------------------------------------------------------------------


def _corpus_articles(corpus: Path) -> list[tuple[Path, str, str]]:
    rows = []
    for line in (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 7 or cols[5] != "pdf-article":
            continue
        notes = cols[6]
        real = re.search(r'real title(?:\([^)]*\))?="([^"]+)"', notes)
        title = real or re.search(r'(?<![A-Za-z])title="([^"]+)"', notes)
        doi = re.search(r"\bdoi=(10\.\d{4,9}/[^\s;]+)", notes)
        rows.append(
            (corpus / cols[0], title.group(1) if title else "", doi.group(1) if doi else "")
        )
    return rows


@pytest.mark.corpus
def test_corpus_titles_and_dois() -> None:
    corpus = _need_corpus()
    articles = _corpus_articles(corpus)
    assert articles
    titles_ok = 0
    wrong_dois = []
    with_doi = dois_ok = 0
    for path, title, doi in articles:
        ref = extract_pdf(path).reference
        titles_ok += normalize_title_key(ref.title) == normalize_title_key(title)
        if doi:
            with_doi += 1
            dois_ok += doi_key(ref.doi) == doi_key(doi)
        if ref.doi and (not doi or doi_key(ref.doi) != doi_key(doi)):
            wrong_dois.append((path.name, ref.doi))
    assert titles_ok >= 0.9 * len(articles)
    assert dois_ok >= 0.95 * with_doi
    assert wrong_dois == []


@pytest.mark.corpus
def test_corpus_traps() -> None:
    corpus = _need_corpus()
    pdf = corpus / "pdf"
    # The embedded Info/XMP title belongs to another paper.
    zolotov = extract_pdf(pdf / "scienceparse__zolotov04.pdf").reference
    assert zolotov.title == "Indexing XML Data Stored in a Relational Database"
    # The only DOI printed belongs to a reference.
    assert extract_pdf(pdf / "jabref__tugboat-jabref-paper-main.pdf").reference.doi == ""
    # Running footers with the paper's DOI, figure DOIs and a data DOI in the body.
    assert extract_pdf(pdf / "jabref__Bogner2019.pdf").reference.doi == "10.7717/peerj-cs.213"
    # arXiv margin stamp.
    assert extract_pdf(pdf / "grobid__0908.0054.pdf").reference.arxiv == "0908.0054v1"


@pytest.mark.corpus
def test_corpus_broken_files_give_a_reason_quickly() -> None:
    corpus = _need_corpus()
    broken = sorted((corpus / "pdf_broken").glob("*.pdf"))
    assert broken
    for path in broken:
        start = time.perf_counter()
        outcome = _outcome(path)
        assert time.perf_counter() - start < 10
        assert outcome.startswith(("refused: ", "imported: "))
        assert "\n" not in outcome
    # The two refusals the manifest promises, with their reasons.
    assert _outcome(corpus / "pdf_broken" / "jabref__not-a-pdf_5bytes.pdf") == (
        "refused: not a PDF (no %PDF header)"
    )
    assert _outcome(corpus / "pdf_broken" / "pdfjs__issue21579_encrypted-unicode-pw.pdf") == (
        "refused: encrypted: a password is needed to open it"
    )
