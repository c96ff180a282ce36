"""Round trips: every field of a reference survives export then import unchanged.

Property-based (hypothesis) over unicode titles, names with particles (van der, de la, von),
suffixes, braces and the characters BibTeX treats specially (& % $ # _ { } ~ ^ \\).  Text is
the kind ExoRef stores: NFC-normalised, single spaces, paragraphs (abstract, notes, note)
separated by blank lines.
"""

from __future__ import annotations

import json
import os
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exoref.domain.identifiers import normalize_doi
from exoref.domain.models import Author, Reference, Tag, TagKind
from exoref.formats.bibtex import parse_bibtex, write_bibtex
from exoref.formats.csljson import parse_csljson, write_csljson
from exoref.formats.latex import decode_latex, encode_latex, encode_title
from exoref.formats.ris import parse_ris, write_ris

SPECIALS = "&%$#_{}~^\\"
_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "äöüßÄÖÜéèêëàâçñøØåÅæÆœŒłŁńśźżčšžřďťňěůőűăşţğıİ"
    "αβγδεθκλμπσφωΔΣΩ"
)
_PUNCTUATION = "0123456789-–—'\"`.,:;!?()[]/+=*@<>|“”‘’…°±×µ" + SPECIALS

word = st.text(alphabet=_LETTERS + _PUNCTUATION, min_size=1, max_size=12)
text = st.lists(word, min_size=1, max_size=8).map(
    lambda words: unicodedata.normalize("NFC", " ".join(words))
)
optional_text = st.one_of(st.just(""), text)
paragraphs = st.lists(text, min_size=1, max_size=3).map("\n\n".join)
optional_paragraphs = st.one_of(st.just(""), paragraphs)

name_word = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("ABCDEFGHIJKLMNOPRSTUVWZÄÖÜÉÅØŁŚŽ"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüéèçñøåłšž'-", min_size=1, max_size=9),
).filter(lambda w: not w.endswith(("-", "'")) and "--" not in w and "''" not in w)
particle = st.sampled_from(["", "van", "van der", "de la", "von", "de", "di", "del", "van den"])
suffix = st.sampled_from(["", "", "", "Jr.", "III", "Sr."])
initials = st.sampled_from(["J.", "A. B.", "J.-P.", "M.", "K. L."])


@st.composite
def person(draw: st.DrawFn) -> Author:
    family = draw(name_word)
    prefix = draw(particle)
    if prefix:
        family = f"{prefix} {family}"
    if draw(st.booleans()):
        family = f"{family} {draw(name_word)}"
    given = draw(st.one_of(initials, st.lists(name_word, min_size=1, max_size=2).map(" ".join)))
    jr = draw(suffix)
    return Author(family, f"{given}, {jr}" if jr else given)


organisation = st.lists(name_word, min_size=2, max_size=4).map(
    lambda words: Author(" ".join(words), "")
)
authors = st.lists(st.one_of(person(), person(), organisation), max_size=5)
keywords = st.lists(
    st.text(alphabet=_LETTERS + "0123456789-'()&%$#_", min_size=1, max_size=15).map(
        lambda k: unicodedata.normalize("NFC", k)
    ),
    max_size=4,
    unique_by=str.casefold,
)
#: DOIs as the library stores them (normalised: no trailing punctuation)
dois = st.from_regex(r"10\.[0-9]{4,5}/[A-Za-z0-9._;()/:-]{1,20}", fullmatch=True).filter(
    lambda d: normalize_doi(d) == d
)
ENTRY_TYPES = ["article", "book", "incollection", "inproceedings", "inbook", "misc",
               "phdthesis", "mastersthesis", "techreport", "unpublished", "manual", "booklet",
               "proceedings"]


@st.composite
def references(draw: st.DrawFn) -> Reference:
    ref = Reference(
        title=draw(text),
        authors=draw(authors),
        year=draw(st.one_of(st.none(), st.integers(1000, 2099))),
        entry_type=draw(st.sampled_from(ENTRY_TYPES)),
        journal=draw(optional_text),
        booktitle=draw(optional_text),
        volume=draw(st.one_of(st.just(""), st.from_regex(r"[1-9][0-9]{0,3}", fullmatch=True),
                              text)),
        issue=draw(st.one_of(st.just(""), st.from_regex(r"[1-9][0-9]?", fullmatch=True))),
        pages=draw(st.one_of(st.just(""), st.from_regex(r"e?[1-9][0-9]{0,4}(-[1-9][0-9]{0,4})?",
                                                        fullmatch=True))),
        publisher=draw(optional_text),
        doi=draw(st.one_of(st.just(""), dois)),
        pmid=draw(st.one_of(st.just(""), st.from_regex(r"[1-9][0-9]{0,7}", fullmatch=True))),
        pmcid=draw(st.one_of(st.just(""), st.from_regex(r"PMC[1-9][0-9]{4,7}", fullmatch=True))),
        arxiv=draw(st.one_of(st.just(""), st.from_regex(r"2[0-4](0[1-9]|1[0-2])\.[0-9]{5}(v[1-9])?",
                                                        fullmatch=True))),
        isbn=draw(st.one_of(st.just(""), st.from_regex(r"97[89]-[0-9]-[0-9]{3}-[0-9]{5}-[0-9]",
                                                       fullmatch=True))),
        url=draw(st.one_of(st.just(""), st.from_regex(r"https://example\.org/[A-Za-z0-9_~.%/?=&#-]"
                                                      r"{0,30}", fullmatch=True))),
        abstract=draw(optional_paragraphs),
        language=draw(st.sampled_from(["", "en", "de", "fr", "es", "it", "en-GB"])),
        notes=draw(optional_paragraphs),
        citekey=draw(st.from_regex(r"[a-z][A-Za-z0-9_:.-]{0,20}", fullmatch=True)),
    )
    words = draw(keywords)
    ref.keywords = list(words)
    ref.tags = [Tag(w, TagKind.FREE) for w in words]
    extra: dict[str, str] = {}
    if ref.year is not None and draw(st.booleans()):
        extra["month"] = str(draw(st.integers(1, 12)))
        if draw(st.booleans()):
            extra["day"] = str(draw(st.integers(1, 28)))
    for name in ("series", "address", "edition", "note", "howpublished", "organization"):
        if draw(st.booleans()):
            extra[name] = draw(paragraphs if name == "note" else text)
    if draw(st.booleans()):
        year, month, day = draw(st.integers(10, 24)), draw(st.integers(1, 9)), draw(
            st.integers(10, 28))
        extra["urldate"] = f"20{year}-0{month}-{day}"
    ref.extra = extra
    if not (ref.title or ref.authors):
        ref.title = "Untitled"
    return ref


def comparable(ref: Reference) -> dict[str, object]:
    data = ref.to_json()
    data.pop("id")
    data["latex"] = dict(ref.latex)
    return data


def _check_bib(ref: Reference, *, biblatex: bool, unicode: bool) -> None:
    out = write_bibtex([ref], biblatex=biblatex, unicode=unicode)
    parsed = parse_bibtex(out)
    assert not parsed.problems, (parsed.problems, out)
    assert len(parsed.entries) == 1, out
    assert parsed.entries[0].warnings == [], out
    back = parsed.entries[0].reference
    assert comparable(back) == comparable(ref), out


#: More examples for a thorough run: EXOREF_HYPOTHESIS_EXAMPLES=5000 pytest ...
EXAMPLES = int(os.environ.get("EXOREF_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(references())
def test_every_field_survives_bibtex(ref: Reference) -> None:
    _check_bib(ref, biblatex=False, unicode=False)


@SETTINGS
@given(references())
def test_every_field_survives_biblatex(ref: Reference) -> None:
    _check_bib(ref, biblatex=True, unicode=False)


@SETTINGS
@given(references())
def test_every_field_survives_raw_utf8_export(ref: Reference) -> None:
    _check_bib(ref, biblatex=False, unicode=True)
    _check_bib(ref, biblatex=True, unicode=True)


@settings(max_examples=2000, deadline=None)
@given(text)
def test_latex_encoding_is_inverse_of_decoding(value: str) -> None:
    for encoded in (encode_latex(value), encode_latex(value, unicode=True),
                    encode_title(value), encode_title(value, unicode=True)):
        assert decode_latex(encoded) == value, encoded


#: What RIS and CSL-JSON carry of a reference (they have no place for the rest).
CSL_TYPES = ["article", "book", "incollection", "inproceedings", "phdthesis", "mastersthesis",
             "techreport", "online", "unpublished", "misc"]


def _carried(ref: Reference, fields: tuple[str, ...]) -> dict[str, object]:
    data = comparable(ref)
    return {name: data[name] for name in fields}


@SETTINGS
@given(references(), st.sampled_from(CSL_TYPES))
def test_csljson_round_trip(ref: Reference, entry_type: str) -> None:
    ref.entry_type = entry_type
    if entry_type in ("incollection", "inproceedings"):
        ref.journal = ""
    else:
        ref.booktitle = ""
    back = parse_csljson(write_csljson([ref])).entries[0].reference
    fields = ("citekey", "title", "authors", "year", "entry_type", "journal", "booktitle",
              "volume", "issue", "pages", "publisher", "doi", "pmid", "pmcid", "arxiv", "isbn",
              "url", "abstract", "language", "notes", "keywords", "tags")
    assert _carried(back, fields) == _carried(ref, fields)
    for name in ("month", "day", "series", "address", "edition", "urldate"):
        assert back.extra.get(name) == ref.extra.get(name), name
    json.loads(write_csljson([ref]))


@SETTINGS
@given(references(), st.sampled_from(CSL_TYPES))
def test_ris_round_trip(ref: Reference, entry_type: str) -> None:
    ref.entry_type = entry_type
    if entry_type in ("incollection", "inproceedings"):
        ref.journal = ""
    else:
        ref.booktitle = ""
    ref.authors = [a for a in ref.authors if a.given]  # RIS has no mark for organisations
    if entry_type == "book":
        ref.journal = ""  # a book's secondary title (T2) is its series
    back = parse_ris(write_ris([ref])).entries[0].reference
    fields = ("citekey", "title", "authors", "year", "entry_type", "journal", "booktitle",
              "volume", "issue", "pages", "publisher", "doi", "pmid", "pmcid", "arxiv", "isbn",
              "url", "abstract", "language", "notes", "keywords", "tags")
    assert _carried(back, fields) == _carried(ref, fields)
    for name in ("month", "day", "series", "address", "edition", "urldate"):
        assert back.extra.get(name) == ref.extra.get(name), name
