from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

import pytest

from exoref.domain.models import Attachment, Author, Reference, Tag, TagKind
from exoref.formats.bibtex import (
    entry_fields,
    format_name,
    parse_bibtex,
    parse_name,
    parse_names,
    read_bibtex,
    write_bibtex,
)
from exoref.formats.common import UTF8_WITH_REPLACEMENTS, decode_text, detect_encoding
from exoref.formats.registry import read_bibliography

if TYPE_CHECKING:
    from pathlib import Path


def one(text: str) -> Reference:
    parsed = parse_bibtex(text)
    assert not parsed.problems, parsed.problems
    assert len(parsed.entries) == 1
    return parsed.entries[0].reference


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "family", "given"),
    [
        ("Smith, John", "Smith", "John"),
        ("John Smith", "Smith", "John"),
        ("van der Berg, Jan", "van der Berg", "Jan"),
        ("Jan van der Berg", "van der Berg", "Jan"),
        ("Charles Louis Xavier Joseph de la Vall{\\'e}e Poussin", "de la Vallée Poussin",
         "Charles Louis Xavier Joseph"),
        ("Costa, Jr., P. T.", "Costa", "P. T., Jr."),
        ("van Kluster, Jr., Kevin", "van Kluster", "Kevin, Jr."),
        ("{U.S. Bureau of the Census}", "U.S. Bureau of the Census", ""),
        ("{World Health Organization}", "World Health Organization", ""),
        ("Ian {Iliad Ipswich}", "Iliad Ipswich", "Ian"),
        ("M{\\\"u}ller, J{\\\"u}rgen", "Müller", "Jürgen"),
        ("family=Adler, given=Alfred, prefix=von", "von Adler", "Alfred"),
        ("Roger P.{\\,}G. van Gompel", "van Gompel", "Roger P. G."),
        ("Van de Graaff, R. J.", "Van de Graaff", "R. J."),
    ],
)
def test_name_parts(latex: str, family: str, given: str) -> None:
    assert parse_name(latex) == Author(family, given)


def test_name_list_with_others_and_braced_and() -> None:
    authors = parse_names("{Barnes and Noble} and Smith, J. and others")
    assert authors == [Author("Barnes and Noble", ""), Author("Smith", "J."),
                       Author("others", "")]


@pytest.mark.parametrize(
    "author",
    [Author("van der Berg", "Jan"), Author("de la Fontaine", "Jean"), Author("Costa", "P. T., Jr."),
     Author("World Health Organization", ""), Author("Barnes and Noble", ""),
     Author("Müller", "Jürgen"), Author("Plato", ""), Author("others", "")],
)
def test_names_survive_writing(author: Author) -> None:
    assert parse_names(format_name(author)) == [author]


# -- reading -------------------------------------------------------------------------------------


def test_string_macros_concatenation_and_months() -> None:
    ref = one(
        '@string{jcell = "Journal of Cell"}\n@STRING{pre = {Proc. }}\n'
        "@article{k, journal = jcell, booktitle = pre # {of MSC}, month = sep, year = 2019,"
        ' title = "A {B} c"}'
    )
    assert ref.journal == "Journal of Cell"
    assert ref.booktitle == "Proc. of MSC"
    assert ref.extra["month"] == "9"
    assert ref.year == 2019
    assert ref.title == "A B c"


def test_comments_preambles_and_commented_out_entries_are_skipped() -> None:
    parsed = parse_bibtex(
        "% a comment\n@comment{jabref-meta: groups}\n@preamble{\"\\newcommand{\\x}{y}\"}\n"
        "%@article{gone, title={Not an entry}}\n@article{kept, title={Kept}}\n"
    )
    assert [e.key for e in parsed.entries] == ["kept"]
    assert parsed.problems == []


def test_crossref_is_inherited() -> None:
    parsed = parse_bibtex(
        "@inproceedings{child, title={Paper}, author={A, B}, crossref={proc}, pages={1--2}}\n"
        "@proceedings{proc, title={Proceedings of MSC}, year={2020}, publisher={ACM}}\n"
    )
    child = parsed.entries[0].reference
    assert child.booktitle == "Proceedings of MSC"
    assert child.year == 2020
    assert child.publisher == "ACM"
    assert child.title == "Paper"
    assert "crossref" not in child.extra


def test_biblatex_fields_are_mapped() -> None:
    ref = one(
        "@article{k, journaltitle={Stem Cells}, date={2018-01-02}, location={Paris},"
        " eprint={2101.00001}, eprinttype={arxiv}, langid={french}, title={T}}"
    )
    assert ref.journal == "Stem Cells"
    assert (ref.year, ref.extra["month"], ref.extra["day"]) == (2018, "1", "2")
    assert ref.extra["address"] == "Paris"
    assert ref.arxiv == "2101.00001"
    assert ref.language == "fr"
    pubmed = one("@article{k, title={T}, eprint={12345678}, eprinttype={pubmed}}")
    assert pubmed.pmid == "12345678"


def test_date_range_keeps_the_range() -> None:
    ref = one("@article{k, title={T}, date={2016/2017}}")
    assert ref.year == 2016
    assert ref.extra["date"] == "2016/2017"


def test_identifiers_keywords_and_unknown_fields() -> None:
    ref = one(
        "@article{k, title={T}, doi={https://doi.org/10.1000/ABC}, pmid={123}, pmcid={PMC12345},"
        " url={\\url{https://x.org/a\\_b}}, isbn={978-3-16-148410-0},"
        " keywords={exosomes; GvHD; MSC}, owner={me}, abstract={Line one.\n\nLine two.}}"
    )
    assert ref.doi == "10.1000/ABC"
    assert (ref.pmid, ref.pmcid) == ("123", "PMC12345")
    assert ref.url == "https://x.org/a_b"
    assert ref.isbn == "978-3-16-148410-0"
    assert ref.keywords == ["exosomes", "GvHD", "MSC"]
    assert ref.tags == [Tag("exosomes", TagKind.FREE), Tag("GvHD", TagKind.FREE),
                        Tag("MSC", TagKind.FREE)]
    assert ref.extra["owner"] == "me"
    assert ref.abstract == "Line one.\n\nLine two."


def test_original_latex_is_kept_and_written_back() -> None:
    source = "{{MSC}} exosomes and \\textit{in vivo} M{\\\"u}ller"
    ref = one("@article{k, title={" + source + "}}")
    assert ref.title == "MSC exosomes and in vivo Müller"
    assert ref.latex["title"] == source
    assert "title = {" + source + "}" in write_bibtex([ref])
    ref.title = "Edited title"
    assert "title = {Edited title}" in write_bibtex([ref])


def test_plain_latex_that_export_writes_anyway_is_not_kept() -> None:
    ref = one('@article{k, title={M{\\"u}ller and {MSC}}, author={M{\\"u}ller, J.}}')
    assert ref.latex == {}


def test_malformed_entries_are_reported_with_their_line_and_the_rest_imported() -> None:
    parsed = parse_bibtex(
        "@article{good1, title={One}}\n\n@article{bad title = {x}\n\n"
        "@article{good2, title={Two}}\n@article{good3 title={Three}}\n"
    )
    assert [e.key for e in parsed.entries] == ["good1", "good2"]
    assert [p.line for p in parsed.problems] == [3, 6]
    assert all("cannot read" in p.reason for p in parsed.problems)


def test_entry_without_key_is_read() -> None:
    parsed = parse_bibtex("\n@article{\n  author = {Huang, Y.},\n  title = {No key},\n}\n")
    assert parsed.problems == []
    assert parsed.entries[0].key == ""
    assert parsed.entries[0].line == 2
    assert "no citation key" in parsed.entries[0].warnings[0]


@pytest.mark.parametrize(
    ("raw_key", "key"),
    [("nul\x002020", "nul2020"), ("\x1b[31mred\x7f2020", "[31mred2020"),
     ("evil\u202egnp.exe", "evilgnp.exe"), ("c1\x9bkey", "c1key")],
)
def test_control_characters_are_dropped_from_keys(raw_key: str, key: str) -> None:
    parsed = parse_bibtex(f"@article{{{raw_key}, title={{T}}, author={{Lee, K.}}}}\n")
    [entry] = parsed.entries
    assert (entry.key, entry.reference.citekey) == (key, key)
    assert entry.warnings == [f"control characters dropped from the citation key {raw_key!r}"]
    assert entry.warnings[0].isprintable()  # the warning shows them escaped


def test_a_key_of_control_characters_only_is_a_missing_key() -> None:
    parsed = parse_bibtex("@article{\x00\x01\x02, title={Only control}, author={Lee, K.}}\n"
                          "@article{\x7f, title={Rubout}}\n")
    assert [e.key for e in parsed.entries] == ["", ""]
    assert all(e.reference.citekey is None for e in parsed.entries)
    first = parsed.entries[0].warnings
    assert first[0] == "the citation key '\\x00\\x01\\x02' holds nothing but control characters"
    assert "no citation key; one is made from its fields" in first[1]


def test_white_space_in_a_key_is_not_dropped_here() -> None:
    # it is the service's business: a space or tab becomes "_" (test_bibliography_service)
    assert parse_bibtex("@article{a\u00a0b, title={T}}").entries[0].key == "a\u00a0b"


def test_duplicate_keys_are_reported_and_both_read() -> None:
    parsed = parse_bibtex("@article{k, title={One}}\n@article{k, title={Two}}\n")
    assert [e.reference.title for e in parsed.entries] == ["One", "Two"]
    assert "used twice" in parsed.entries[1].warnings[0]
    assert "line 1" in parsed.entries[1].warnings[0]


def test_file_fields(tmp_path: Path) -> None:
    ref_file = tmp_path / "refs.bib"
    ref_file.write_text(
        "@article{a, title={A}, file={:papers/a.pdf:PDF}}\n"
        "@article{b, title={B}, file={Full text:/abs/b.pdf:application/pdf;"
        "Web:https://x.org/b.pdf:URL}}\n"
        "@article{c, title={C}, file={c one.pdf}}\n",
        encoding="utf-8",
    )
    parsed = read_bibtex(ref_file)
    assert parsed.entries[0].files == [str(tmp_path / "papers" / "a.pdf")]
    assert parsed.entries[1].files == ["/abs/b.pdf"]
    assert parsed.entries[2].files == [str(tmp_path / "c one.pdf")]


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
     ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-16-be", b""), ("cp1252", b""),
     ("latin-1", b"")],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    text = "@article{k, title={Über Straße – “quotes”}, author={Müller, Jürgen}}\n"
    if encoding == "latin-1":
        text = text.replace("–", "-").replace("“", '"').replace("”", '"')
    path = tmp_path / "refs.bib"
    path.write_bytes(prefix + text.encode(encoding))
    ref = read_bibtex(path).entries[0].reference
    assert ref.authors == [Author("Müller", "Jürgen")]
    assert ref.title.startswith("Über Straße")


#: A UTF-8 file with accents everywhere and one entry pasted in from a Latin-1 source.
_MOSTLY_UTF8 = (
    "@article{mueller2019, title={Müller’s naïve café: Straße – “Ångström”},\n"
    "  author={Müller, Jürgen and Gómez, Inés}, year={2019}}\n".encode()
    + b"@article{pasted2020, title={Caf\xe9 exosomes}, author={M\xfcller, J.}, year={2020}}\n"
    + "@article{last2021, title={Über die Exosomen}, author={Öst, Åsa}, year={2021}}\n".encode()
)


def test_a_mostly_utf8_file_is_read_as_utf8_with_replacements(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_bytes(_MOSTLY_UTF8)
    assert detect_encoding(path) == UTF8_WITH_REPLACEMENTS
    assert decode_text(_MOSTLY_UTF8)[1] == UTF8_WITH_REPLACEMENTS
    for parsed in (read_bibtex(path), read_bibliography(path)):
        assert parsed.encoding == UTF8_WITH_REPLACEMENTS
        first, pasted, last = parsed.entries
        assert first.reference.title == "Müller’s naïve café: Straße – “Ångström”"
        assert first.reference.authors == [Author("Müller", "Jürgen"), Author("Gómez", "Inés")]
        assert last.reference.title == "Über die Exosomen"
        assert pasted.reference.title == "Caf\ufffd exosomes"
        assert pasted.reference.authors == [Author("M\ufffdller", "J.")]
        assert first.warnings == last.warnings == []
        [warning] = pasted.warnings
        assert "not UTF-8" in warning


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        # a Latin-1 file whose one "É”" happens to be a valid UTF-8 pair (ɔ)
        ("@article{k, title={CAFÉ” Ærø Ñandú Ça À la Öl}, author={Müller, Jürgen}}\n",
         "cp1252"),
        ("@article{k, title={Îles “Ouessant” – Ça}, author={Gómez, Inés}}\n", "cp1252"),
        ("@article{k, title={间充质干细胞来源的外泌体}, author={张, 三}}\n", "gb18030"),
    ],
)
def test_legacy_encodings_are_not_taken_for_broken_utf8(
    tmp_path: Path, text: str, encoding: str
) -> None:
    path = tmp_path / "refs.bib"
    path.write_bytes(text.encode(encoding))
    assert detect_encoding(path) == encoding
    [entry] = read_bibtex(path).entries
    assert entry.reference.title in text
    assert entry.warnings == []


def test_declared_encoding_header(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_bytes("% Encoding: ISO-8859-2\n@book{k, title={Żółw}}\n".encode("iso8859-2"))
    assert read_bibtex(path).entries[0].reference.title == "Żółw"


# -- writing -------------------------------------------------------------------------------------


def sample() -> Reference:
    return Reference(
        title="MSC-derived exosomes & IL-1β: 50% better \\input{/etc/passwd}",
        authors=[Author("van der Berg", "Jan"), Author("Müller", "J., Jr."),
                 Author("World Health Organization", "")],
        year=2020,
        journal="Stem Cell Res & Ther",
        volume="11",
        issue="2",
        pages="100-110",
        doi="10.1186/s13287_020",
        url="https://example.org/a_b?x=1&y=2",
        pmid="12345678",
        arxiv="2101.00001",
        abstract="One.\n\nTwo.",
        language="en",
        extra={"month": "9", "note": "A note"},
        tags=[Tag("exosomes"), Tag("GvHD", TagKind.INDICATION)],
        citekey="berg2020msc",
    )


def test_bibtex_output() -> None:
    out = write_bibtex([sample()])
    assert out.startswith("@article{berg2020msc,\n")
    assert "title = {{MSC-derived} exosomes \\& {IL-1{$\\beta$}}: 50\\% better " \
           "{\\textbackslash}input{\\textbraceleft}/etc/passwd{\\textbraceright}}" in out
    assert "author = {van der Berg, Jan and M{\\\"u}ller, Jr., J. and " \
           "{World Health Organization}}" in out
    assert "pages = {100--110}" in out
    assert "month = sep," in out
    assert "doi = {10.1186/s13287_020}" in out
    assert "url = {https://example.org/a_b?x=1&y=2}" in out
    assert "keywords = {exosomes, GvHD}" in out
    assert "eprint = {2101.00001}" in out
    assert "archiveprefix = {arXiv}" in out
    assert "journal = {Stem Cell Res \\& Ther}" in out


def test_biblatex_output() -> None:
    etype, fields = entry_fields(sample(), biblatex=True)
    names = dict(fields)
    assert etype == "article"
    assert names["journaltitle"] == "{Stem Cell Res \\& Ther}"
    assert names["date"] == "{2020-09}"
    assert names["eprinttype"] == "{arxiv}"
    assert names["langid"] == "{english}"
    assert names["options"] == "{useprefix=true}"
    assert "journal" not in names
    assert "month" not in names


def test_field_order_is_stable() -> None:
    _etype, fields = entry_fields(sample())
    order = [name for name, _value in fields]
    assert order[:3] == ["title", "author", "journal"]
    assert order.index("year") < order.index("doi") < order.index("keywords")


def test_optional_abstract_and_file(tmp_path: Path) -> None:
    ref = sample()
    ref.attachments = [Attachment("files/a.pdf", "a.pdf", "0" * 64, 10)]
    assert "abstract" not in write_bibtex([ref], include_abstract=False)
    assert "file = " not in write_bibtex([ref])
    with_file = write_bibtex([ref], include_file=True, file_root=tmp_path)
    assert f"file = {{{tmp_path / 'files' / 'a.pdf'}}}" in with_file


def test_unicode_output() -> None:
    out = write_bibtex([sample()], unicode=True)
    assert "Müller" in out
    assert "IL-1β" in out
    assert "\\&" in out


def test_thesis_and_report_types() -> None:
    thesis = Reference(title="T", entry_type="phdthesis", extra={"school": "MIT"}, citekey="t")
    assert write_bibtex([thesis]).startswith("@phdthesis{t,")
    out = write_bibtex([thesis], biblatex=True)
    assert out.startswith("@thesis{t,")
    assert "type = {phdthesis}" in out
    assert "institution = {MIT}" in out
    assert one(out).entry_type == "phdthesis"
    online = Reference(title="W", entry_type="online", url="https://x.org", citekey="w")
    assert write_bibtex([online]).startswith("@misc{w,")


def test_keys_are_written_as_stored_and_made_unique_only_when_missing() -> None:
    refs = [Reference(title="Exosomes", authors=[Author("Lee", "K.")], year=2020),
            Reference(title="Exosomes", authors=[Author("Lee", "K.")], year=2020),
            Reference(title="Other", citekey="Kept:Key-1")]
    out = write_bibtex(refs)
    assert "@article{lee2020exosomes," in out
    assert "@article{lee2020exosomesa," in out
    assert "@article{Kept:Key-1," in out


def test_reading_in_chunks_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from exoref.formats import bibtex

    text = "@string{j = {Journal of Cells}}\n" + "".join(
        f"@article{{k{i}, title={{Title {i} M{{\\\"u}}ller}}, journal = j, year = {2000 + i}}}\n"
        for i in range(40)
    ) + "@article{k3, title={Again}}\n@inproceedings{c, title={Child}, crossref={p}}\n" \
        "@broken entry\n@proceedings{p, title={Parent}, year={1999}}\n"
    whole = parse_bibtex(text)
    monkeypatch.setattr(bibtex, "CHUNK_CHARS", 120)
    chunked = parse_bibtex(text)
    assert [(e.key, e.line, e.reference.title, e.reference.journal, e.warnings)
            for e in chunked.entries] == [
        (e.key, e.line, e.reference.title, e.reference.journal, e.warnings)
        for e in whole.entries]
    assert chunked.problems == whole.problems
    child = next(e for e in chunked.entries if e.key == "c").reference
    assert (child.booktitle, child.year) == ("Parent", 1999)
    again = next(e for e in chunked.entries if e.reference.title == "Again")
    assert "first at line 5" in again.warnings[0]


def test_no_field_is_written_twice() -> None:
    ref = sample()
    ref.notes = "My note"
    ref.extra.update({"institution": "NIH", "school": "MIT", "address": "Paris"})
    for biblatex in (False, True):
        _etype, fields = entry_fields(ref, biblatex=biblatex)
        names = [name for name, _value in fields]
        assert len(names) == len(set(names)), names
        parsed = parse_bibtex(write_bibtex([ref], biblatex=biblatex))
        assert parsed.entries[0].warnings == []


def test_latex_from_a_file_is_never_written_back_when_it_runs_commands() -> None:
    ref = one("@article{k, title={Hello \\input{/etc/passwd} \\textit{there}}}")
    assert ref.title == "Hello \\input{/etc/passwd} there"
    out = write_bibtex([ref])
    assert "\\input" not in out
    assert "{\\textbackslash}input{\\textbraceleft}/etc/passwd{\\textbraceright}" in out
