"""One way in for bibliography files: find the format, then read it.

:func:`detect_format` looks at the content first (an ``@article{``, an ``TY  -`` line, a JSON
list of CSL items or a Better BibTeX export) and at the file name only when the content does not
say; :func:`read_bibliography` reads the file with the matching reader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exoref.errors import UnreadableFileError
from exoref.formats.bbtjson import parse_bbtjson
from exoref.formats.bibtex import iter_bibtex_file, parse_bibtex
from exoref.formats.common import (
    UTF8_WITH_REPLACEMENTS,
    JsonTooDeepError,
    ParsedBibliography,
    ParsedEntry,
    Problem,
    decode_text,
    detect_encoding,
    load_json,
    mark_replacements,
)
from exoref.formats.csljson import parse_csljson
from exoref.formats.ris import parse_ris

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = [
    "FORMATS",
    "BibliographyStream",
    "detect_format",
    "iter_bibliography",
    "read_bibliography",
    "sniff_format",
]

#: The formats ExoRef reads, by the name :func:`detect_format` returns.
FORMATS = ("bibtex", "ris", "csljson", "bbtjson")
_EXTENSIONS = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".biblatex": "bibtex",
    ".ris": "ris",
    ".enw": "ris",
    ".nbib": "ris",
    ".csl": "csljson",
    ".json": "csljson",
}
_SNIFF_BYTES = 256 * 1024
_BIBTEX_START = re.compile(
    r"(?im)^[ \t]*@(?:article|book|inproceedings|incollection|inbook|misc|phdthesis|"
    r"mastersthesis|techreport|online|report|thesis|string|preamble|comment|proceedings|"
    r"unpublished|manual|booklet|conference|collection|[a-z]+)[ \t]*[{(]"
)
_RIS_LINE = re.compile(r"(?m)^TY  ?- ")


def sniff_format(text: str) -> str | None:
    """The format of a bibliography given the start of its text, or ``None``."""
    head = text.lstrip("\ufeff \t\r\n")
    if head[:1] in "[{":
        kind = _json_kind(text)
        if kind:
            return kind
    if _RIS_LINE.search(head[:20000]) and not _BIBTEX_START.search(head[:2000]):
        return "ris"
    if _BIBTEX_START.search(head):
        return "bibtex"
    return None


def _json_kind(text: str) -> str | None:
    # Only the top level is looked at here, so nesting matters only to json.loads itself;
    # read_bibliography() refuses a document nested too deep, by name.
    try:
        document = json.loads(text)
    except RecursionError:
        return None  # nested thousands deep: whatever it is, it is not a bibliography
    except json.JSONDecodeError:
        # a partial read: judge by the first keys
        head = text[:4000]
        if '"items"' in head and ('"itemType"' in head or '"config"' in head):
            return "bbtjson"
        if re.search(r'"type"\s*:\s*"[a-z-]+"', head) and head.lstrip()[:1] == "[":
            return "csljson"
        return None
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        items = document["items"]
        if "config" in document or any(isinstance(i, dict) and "itemType" in i for i in items):
            return "bbtjson"
        return "csljson"
    if isinstance(document, list) and all(isinstance(i, dict) for i in document):
        return "csljson" if any("type" in i or "title" in i for i in document) or not document \
            else None
    if isinstance(document, dict) and "type" in document and "title" in document:
        return "csljson"
    return None


def detect_format(path: Path) -> str | None:
    """``"bibtex"``, ``"ris"``, ``"csljson"`` or ``"bbtjson"`` by content, else by extension;
    ``None`` when it is none of them (or cannot be read)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_SNIFF_BYTES)
    except OSError:
        return None
    text, _encoding = decode_text(data)
    kind = sniff_format(text)
    if kind == "csljson" or kind == "bbtjson" or kind is None:
        # JSON needs the whole document to be sure
        if text.lstrip("\ufeff \t\r\n")[:1] in "[{" and len(data) == _SNIFF_BYTES:
            try:
                whole, _ = decode_text(path.read_bytes())
            except OSError:
                return None
            kind = sniff_format(whole) or kind
    if kind is None:
        kind = _EXTENSIONS.get(path.suffix.lower())
    return kind


def read_bibliography(path: Path, fmt: str | None = None) -> ParsedBibliography:
    """Read a bibliography file in any of :data:`FORMATS` (detected unless ``fmt`` is given).

    Raises :class:`~exoref.errors.UnreadableFileError` when the file cannot be read or is not a
    bibliography; problems with single entries are returned in ``problems`` instead.
    """
    kind = fmt or detect_format(path)
    if kind is None:
        raise UnreadableFileError(
            f"{path.name} is not a bibliography ExoRef can read.",
            hint="BibTeX/BibLaTeX (.bib), RIS (.ris), CSL-JSON or Better BibTeX JSON are read",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    text, encoding = decode_text(data)
    if kind == "bibtex":
        result = parse_bibtex(text, base_dir=path.parent)
    elif kind == "ris":
        result = parse_ris(text, base_dir=path.parent)
    elif kind == "csljson":
        result = parse_csljson(_json_document(text, path))
    elif kind == "bbtjson":
        result = parse_bbtjson(_json_document(text, path), base_dir=path.parent)
    else:
        raise UnreadableFileError(f"Unknown bibliography format {kind!r}.",
                                  hint="use one of " + ", ".join(FORMATS))
    result.encoding = encoding
    if encoding == UTF8_WITH_REPLACEMENTS:
        result.entries = list(mark_replacements(result.entries))
    return result


def _json_document(text: str, path: Path) -> Any:
    """The parsed JSON of a file, or its text when it is not valid JSON (the reader then
    reports where); raises :class:`UnreadableFileError` for JSON nested too deep."""
    try:
        return load_json(text)
    except json.JSONDecodeError:
        return text
    except JsonTooDeepError as exc:
        raise UnreadableFileError(
            f"{path.name} is not a bibliography ExoRef can read: {exc} (line {exc.lineno}).",
            hint="CSL-JSON and Better BibTeX JSON nest a few levels at most; "
                 "check that this is the file you meant to import",
        ) from exc


@dataclass(slots=True)
class BibliographyStream:
    """A bibliography being read: its format and encoding, and its entries and problems as
    they are read (see :func:`iter_bibliography`)."""

    format: str
    encoding: str
    items: Iterator[ParsedEntry | Problem]


def iter_bibliography(path: Path, fmt: str | None = None) -> BibliographyStream:
    """Like :func:`read_bibliography`, but BibTeX files are read a few thousand entries at a
    time (memory stays small for any size); items may come out of file order (entries with a
    ``crossref`` last).  Raises :class:`~exoref.errors.UnreadableFileError` like it."""
    kind = fmt or detect_format(path)
    if kind == "bibtex":
        try:
            encoding = detect_encoding(path)
        except OSError as exc:
            raise UnreadableFileError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        return BibliographyStream("bibtex", encoding, iter_bibtex_file(path, encoding=encoding))
    parsed = read_bibliography(path, kind)
    items: list[ParsedEntry | Problem] = [*parsed.entries, *parsed.problems]
    return BibliographyStream(parsed.format, parsed.encoding, iter(items))
