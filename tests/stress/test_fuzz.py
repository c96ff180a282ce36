"""Fuzzing: the BibTeX reader and writer, the search query on a real library, PDF extraction.

* BibTeX reader: any text (and any bytes through the file reader) gives entries and
  problems, never an exception other than the documented ``UnreadableFileError``.
* BibTeX writer: any text without control characters, in any text field or author name,
  survives export then import unchanged (white space as ExoRef stores it: single spaces,
  paragraphs apart); control characters and TeX's ``^^`` notation never reach the output,
  which always parses back without a problem.
* Search: tests/unit/test_query.py fuzzes the parser alone; here arbitrary queries (lone
  surrogates included) run through the window's and the command's real search on a SQLite
  library, where FTS5 would reject what the parser lets through: only ``QuerySyntaxError``
  with a position may come out.
* PDF: ~200 seeded byte mutants of generated and real PDFs go through the import's
  extraction in the worker pool with its time limit; no mutant may make the extraction raise
  anything but its own ``UnreadableFileError`` (reported as a reason), the slowest is measured.

``max_examples`` stay moderate so that the file runs in well under a minute; set
``EXOREF_HYPOTHESIS_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exoref.domain.models import Author, Reference
from exoref.errors import QuerySyntaxError, UnreadableFileError
from exoref.formats.bibtex import parse_bibtex, write_bibtex
from exoref.formats.registry import read_bibliography
from exoref.services.importer import plan_import
from exoref.services.library import Library
from exoref.services.papers import PaperService
from exoref.services.search import SearchService
from exoref.services.views import ViewService
from exoref.services.workers import WorkerPool
from tests.conftest import CORPUS, make_ref
from tests.fixtures import hostile, pdfgen
from tests.stress import run_exoref

if TYPE_CHECKING:
    from collections.abc import Iterator

EXAMPLES = int(os.environ.get("EXOREF_HYPOTHESIS_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- text strategies -----------------------------------------------------------------------------

_WS = re.compile(r"[ \t\r\n\f\v]+")


def stored(text: str) -> str:
    """Text as ExoRef stores a one-line field: NFC, runs of white space as one space, and
    nothing at all when there is only (any kind of) white space."""
    if not text.strip():
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip(" ")


def stored_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs apart by one blank line; white space of any kind around them is not kept."""
    return "\n\n".join(p for p in (stored(p.strip()) for p in paragraphs) if p)


#: Any character but control characters and surrogates (neither can be stored as text).
printable = st.characters(exclude_categories=("Cc", "Cs"))
#: What a .bib file is made of, weighted towards the characters that mean something to it.
_BIB_TOKENS = st.sampled_from([
    "@article{", "@ARTICLE(", "@string{", "@comment{", "@preamble{", "@", "{", "}", "(", ")",
    "=", ",", "#", '"', "%", "\\", "\\&", "{\\\"o}", "\\input{x}", "^^5c", "\n", " ", "\t",
    "title", "author", "and", "crossref", "xdata", "month = jan", "key", "}}}}", "{{{{",
    "\r\n", "\x00", "\ufeff", "é", "Ω", "$x^2$",
])
bib_like = st.lists(st.one_of(_BIB_TOKENS, st.text(max_size=5)), max_size=60).map("".join)
one_line = st.text(printable, max_size=40).map(stored)
paragraphs = st.lists(st.text(printable, max_size=40), max_size=3).map(stored_paragraphs)
name_part = st.text(printable, max_size=15).map(
    lambda s: unicodedata.normalize("NFC", " ".join(s.split())))


# -- the reader ------------------------------------------------------------------------------------


def _check_parsed(text: str) -> None:
    parsed = parse_bibtex(text)
    for problem in parsed.problems:
        assert problem.line >= 0
        assert problem.reason
        assert "\n" not in problem.reason
    for entry in parsed.entries:
        assert isinstance(entry.reference, Reference)
        assert entry.line >= 1


@FUZZ
@given(st.text())
def test_reader_never_raises_on_any_text(text: str) -> None:
    _check_parsed(text)


@FUZZ
@given(bib_like)
def test_reader_never_raises_on_bibtex_like_text(text: str) -> None:
    _check_parsed(text)


@FUZZ
@given(st.integers(1, 400), st.sampled_from([("{", "}"), ("{\\emph{", "}}"), ("{$", "$}")]))
def test_reader_never_raises_on_deep_nesting(depth: int, pair: tuple[str, str]) -> None:
    opener, closer = pair
    _check_parsed("@article{k, title = {" + opener * depth + "x" + closer * depth + "}}\n")
    _check_parsed("@article{k, title = {" + opener * depth + "x}\n@article{j, title={y}}\n")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="exoref-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), bib_like.map(lambda t: t.encode("utf-8")),
                      bib_like.map(lambda t: t.encode("utf-16"))),
       suffix=st.sampled_from([".bib", ".ris", ".json", ".txt"]))
def test_file_reader_raises_only_unreadable_file_error(
    scratch: Path, data: bytes, suffix: str
) -> None:
    path = scratch / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        parsed = read_bibliography(path)
    except UnreadableFileError as exc:
        refusal: UnreadableFileError | None = exc
    else:
        refusal = None
        assert all(problem.reason for problem in parsed.problems)
    if refusal is not None:
        assert refusal.user_message


def test_deeply_nested_json_is_refused_not_a_crash(scratch: Path) -> None:
    folder = scratch / "deep"
    folder.mkdir(exist_ok=True)
    path = folder / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (folder / "wrapped.json").write_text('{"items": [' + '{"a": ' * 100_000 + "1"
                                         + "}" * 100_000 + "]}", encoding="utf-8")
    for bad in (path, folder / "wrapped.json"):
        with pytest.raises(UnreadableFileError, match=rf"{bad.name} .*nested more than"):
            read_bibliography(bad)
    (folder / "refs.bib").write_text("@article{k, title={T}}\n", encoding="utf-8")
    plan = plan_import([folder])  # detection goes on for the rest of the folder
    assert sorted(p.name for p in plan.bibliographies) == ["deep.json", "refs.bib",
                                                          "wrapped.json"]
    done = run_exoref("import", str(folder), "--library", str(scratch / "deep-lib"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-600:]
    lines = done.stdout.splitlines()
    assert lines[-1] == "1 added, 0 duplicates, 2 failed", done.stdout
    for bad in (path, folder / "wrapped.json"):
        assert any(line.startswith(f"failed  {bad} ") and "nested more than" in line
                   for line in lines), done.stdout


# -- the writer --------------------------------------------------------------------------------


@st.composite
def text_references(draw: st.DrawFn) -> Reference:
    """A reference whose every text field holds arbitrary printable text."""
    ref = Reference(
        title=draw(one_line) or "x",
        authors=[Author(family, given) for family, given in draw(st.lists(
            st.tuples(name_part.filter(bool), name_part), max_size=3))],
        year=draw(st.one_of(st.none(), st.integers(1, 2999))),
        entry_type=draw(st.sampled_from(["article", "book", "inproceedings", "misc"])),
        journal=draw(one_line), booktitle=draw(one_line), publisher=draw(one_line),
        volume=draw(one_line), abstract=draw(paragraphs), notes=draw(paragraphs),
        citekey=draw(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)),
    )
    extra = {name: draw(one_line) for name in ("series", "address", "howpublished",
                                               "organization", "edition")}
    extra["note"] = draw(paragraphs)
    ref.extra = {k: v for k, v in extra.items() if v}
    return ref


def _comparable(ref: Reference) -> dict[str, object]:
    data = ref.to_json()
    data.pop("id")
    return data


@FUZZ
@given(text_references(), st.booleans(), st.booleans())
def test_arbitrary_text_survives_export_then_import(
    ref: Reference, biblatex: bool, unicode: bool
) -> None:
    out = write_bibtex([ref], biblatex=biblatex, unicode=unicode)
    parsed = parse_bibtex(out)
    assert parsed.problems == [], out
    [entry] = parsed.entries
    assert entry.warnings == [], out
    assert _comparable(entry.reference) == _comparable(ref), out


_UNSAFE_OUTPUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\^\^")


@FUZZ
@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=30),
       st.text(max_size=20), st.booleans())
def test_control_characters_and_carets_never_reach_the_output(
    title: str, abstract: str, url: str, key: str, biblatex: bool
) -> None:
    ref = Reference(title=title or "x", abstract=abstract, url=url, citekey=key or None,
                    authors=[Author(title[:10] or "Doe", abstract[:5])], year=2020)
    ref.extra = {"issn": url, "note": title}
    out = write_bibtex([ref], biblatex=biblatex)
    assert not _UNSAFE_OUTPUT.search(out), out
    parsed = parse_bibtex(out)
    assert parsed.problems == [], out
    assert len(parsed.entries) == 1
    again = write_bibtex([parsed.entries[0].reference], biblatex=biblatex)
    assert parse_bibtex(again).entries[0].reference.title == parsed.entries[0].reference.title


# -- search on a real library ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def search_library(scratch: Path) -> Iterator[Library]:
    with Library.open(scratch / "lib") as library:
        PaperService(library).add([
            (make_ref("Exosomes in knee osteoarthritis", "Elaheh Mianehsaz", year=2019,
                      doi="10.1186/s13287-019-1445-0"), "cartilage chondrocytes IL-1β"),
            (make_ref("MSC-EVs in GvHD: a \"phrase\" (test) *", "S Aghajani", year=2025),
             None),
            (make_ref("Ünïcödé NOT AND OR title:author", "Zoë Ørsted", year=None), "body"),
        ])
        yield library


_QUERY_TOKENS = st.sampled_from([
    "AND", "OR", "NOT", "-", "(", ")", '"', "*", ":", "title:", "author:", "year:",
    "year:2019..", "fulltext:", "tag:", "doi:", "NEAR", "^", "+", "'", "\\", "{", "}", "[",
    "]", "%", "_", "~", "\x00", "😀", "é", " ", "  ", "exosome", "cart*", "NEAR(a b)",
    "a:b:c", "..", ">", "<=", "''", '""', "**", "\u200b", "\u2028", "\ufffd", "\U000f0000",
])
queries = st.one_of(
    st.text(),
    st.text(st.characters(categories=["Co", "Cn", "Zs", "Po", "Sm", "Cf"])),
    st.lists(_QUERY_TOKENS, max_size=15).map(" ".join),
    st.lists(_QUERY_TOKENS, max_size=15).map("".join),
)


@FUZZ
@given(queries, st.booleans())
def test_any_query_through_the_real_search_gives_results_or_a_syntax_error(
    search_library: Library, query: str, fulltext: bool
) -> None:
    try:
        results = SearchService(search_library).search(query, fulltext=fulltext, limit=20)
    except QuerySyntaxError as exc:
        error: QuerySyntaxError | None = exc
    else:
        error = None
    if error is not None:
        assert error.user_message
        assert "\n" not in error.user_message
        assert error.position is not None
        assert 0 <= error.position <= len(query)
        return
    assert len(results) <= 3
    try:
        ViewService(search_library).ids(query=query, sort="relevance")
    except QuerySyntaxError:  # pragma: no cover - the same parser said yes above
        raise AssertionError(f"the window's search rejects {query!r}") from None


@pytest.mark.parametrize("query", ["AND\udcff", "\ud800", "exosome \udcc3\udca9"])
def test_a_query_with_a_lone_surrogate_is_a_syntax_error(
    search_library: Library, query: str
) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        SearchService(search_library).search(query)
    assert info.value.position == query.index(next(c for c in query if 0xD800 <= ord(c) < 0xE000))
    assert "not valid text" in info.value.user_message
    with pytest.raises(QuerySyntaxError):
        ViewService(search_library).ids(query=query, sort="relevance")


# -- PDF extraction on mutated files ------------------------------------------------------------

#: More for a thorough run: EXOREF_PDF_MUTANTS=5000 pytest tests/stress/test_fuzz.py -k pdfs
MUTANTS = int(os.environ.get("EXOREF_PDF_MUTANTS", "200"))
FUZZ_TIMEOUT = 5.0


def _pdf_seeds(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = [
        pdfgen.render_article(pdfgen.synthetic_article(random.Random(5), pages=2),
                              folder / "article.pdf"),
        hostile.write_js_and_launch(folder / "js.pdf", folder / "SENTINEL"),
        pdfgen.write_encrypted(folder / "encrypted.pdf"),
        pdfgen.write_image_only(folder / "image.pdf"),
    ]
    (folder / "tiny.pdf").write_bytes(hostile.one_page_pdf())
    seeds.append(folder / "tiny.pdf")
    for name in ("scienceparse__mooney05.pdf", "scienceparse__bunescu-acl07.pdf",
                 "grobid__Wang-paperAVE2008.pdf"):
        if (CORPUS / "pdf" / name).is_file():
            seeds.append(CORPUS / "pdf" / name)
    return seeds


def test_mutated_pdfs_never_escape_the_extraction(tmp_path: Path) -> None:
    seeds = _pdf_seeds(tmp_path / "seeds")
    rng = random.Random(int(os.environ.get("EXOREF_FUZZ_SEED", "4242")))
    data = {seed: seed.read_bytes() for seed in seeds}
    mutants: dict[str, Path] = {}
    for index in range(MUTANTS):
        seed = seeds[index % len(seeds)]
        path = tmp_path / f"mutant_{index:03d}_{seed.stem[:20]}.pdf"
        path.write_bytes(hostile.mutate(data[seed], rng))
        mutants[str(path)] = seed
    pool: WorkerPool[str, tuple[float, object]] = WorkerPool(
        hostile.timed_examine, processes=2, timeout=FUZZ_TIMEOUT)
    started = time.monotonic()
    outcomes = dict(pool.run(list(mutants)))
    wall = time.monotonic() - started

    assert set(outcomes) == set(mutants)
    escaped: list[str] = []
    kinds = {"read": 0, "refused": 0, "time limit": 0, "reader crashed": 0}
    slowest = 0.0
    for item, outcome in outcomes.items():
        if outcome.value is not None:
            elapsed, facts = outcome.value
            slowest = max(slowest, elapsed)
            kinds["refused" if getattr(facts, "error", None) else "read"] += 1
        elif outcome.error and outcome.error.startswith("gave up after"):
            kinds["time limit"] += 1
            slowest = max(slowest, FUZZ_TIMEOUT)
        elif outcome.error and "crashed" in outcome.error:
            kinds["reader crashed"] += 1
        else:  # an exception other than UnreadableFileError left extract_pdf
            escaped.append(f"{Path(item).name}: {outcome.error}")
    assert not escaped, escaped
    assert not (tmp_path / "seeds" / "SENTINEL").exists()
    print(f"\n[PDF fuzz] {MUTANTS} mutants of {len(seeds)} PDFs in {wall:.1f}s: {kinds}; "
          f"slowest {slowest:.2f}s (limit {FUZZ_TIMEOUT:g}s); uncaught exceptions: 0")
