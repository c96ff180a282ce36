"""The real-world files in ../shared/corpus: every .bib imports without a crash, every entry is
imported or reported with the line it starts on; the Better BibTeX JSON exports read."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from exoref.formats.bibtex import parse_bibtex, write_bibtex
from exoref.formats.common import decode_text
from exoref.formats.registry import detect_format, read_bibliography
from exoref.services.bibliography import BibliographyService

if TYPE_CHECKING:
    from pathlib import Path

    from exoref.services.library import Library

pytestmark = pytest.mark.corpus

#: An entry starts with @type{ or @type( on its line (not @string, @comment, @preamble).
_ENTRY_START = re.compile(
    r"^[ \t]*@[ \t]*(?!string\b|comment\b|preamble\b)[A-Za-z_]+[ \t]*[{(]", re.MULTILINE | re.I
)


def bib_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "bib").glob("*.bib"))


def test_every_entry_is_imported_or_reported_with_its_line(corpus: Path) -> None:
    files = bib_files(corpus)
    assert files
    for path in files:
        text, _encoding = decode_text(path.read_bytes())
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        expected = len(_ENTRY_START.findall(text))
        parsed = read_bibliography(path)
        assert parsed.format == "bibtex", path.name
        starts = [e.line for e in parsed.entries] + [p.line for p in parsed.problems]
        assert len(starts) == expected, path.name
        for line in starts:
            assert 1 <= line <= len(lines), (path.name, line)
            assert "@" in lines[line - 1], (path.name, line, lines[line - 1])


def test_encodings_of_the_corpus(corpus: Path) -> None:
    expectations = {
        "jabref__encoding-utf-16BE-with-header.bib": "Ü ist ein Umlaut",
        "biber__encoding1.bib": "Š",
        "biber__encoding4.bib": "Ż",
        "bibtexparser__gbk_test.bib": "测试期刊",
        "jabref__tiny-BE-noBOM.bib": "",
    }
    for name, expected in expectations.items():
        path = corpus / "bib" / name
        if not path.exists():
            continue
        parsed = read_bibliography(path)
        assert parsed.entries, name
        text = " ".join(
            f"{e.reference.title} {e.reference.journal} {e.reference.publisher} "
            f"{e.reference.authors}" for e in parsed.entries
        )
        assert expected in text, (name, text)


def test_corpus_survives_re_export(corpus: Path) -> None:
    for path in bib_files(corpus):
        entries = read_bibliography(path).entries
        refs = [e.reference for e in entries]
        for biblatex in (False, True):
            again = parse_bibtex(write_bibtex(refs, biblatex=biblatex))
            assert len(again.entries) == len(refs), path.name
            for before, after in zip(refs, again.entries, strict=True):
                assert after.reference.title == before.title, path.name
                assert after.reference.authors == before.authors, path.name
                assert after.reference.doi == before.doi, path.name


def test_better_bibtex_json_exports_read(corpus: Path) -> None:
    for path in sorted((corpus / "export_fixtures").glob("*.json")):
        assert detect_format(path) == "bbtjson"
        parsed = read_bibliography(path)
        assert parsed.entries, path.name
        assert all(e.reference.title or e.reference.authors for e in parsed.entries)


def test_small_corpus_files_import_into_a_library(corpus: Path, library: Library) -> None:
    service = BibliographyService(library, processes=1)
    for path in bib_files(corpus):
        if path.stat().st_size > 100_000:
            continue
        results = service.import_file(path)
        for result in results:
            assert result.status in ("added", "duplicate", "failed")
            assert re.fullmatch(re.escape(path.name) + r":\d+", result.path), result.path
            if result.status != "added":
                assert result.reason.startswith("line "), result.reason
