"""BibTeX and BibLaTeX: read ``.bib`` files into references, write references as ``.bib``.

Reading uses bibtexparser 2 to split the file into blocks (entries, ``@string``, ``@preamble``,
``@comment``, blocks it could not parse); everything after that is done here, in one pass and
without bibtexparser's middlewares: ``@string`` macros and ``#`` concatenation are resolved, month
macros understood, ``crossref`` and ``xdata`` inherited, BibLaTeX field names mapped to the
BibTeX ones ExoRef stores, names split into family and given parts (particles such as *van der*
stay with the family name, *Jr.* goes after the given name as Zotero keeps it), and the LaTeX of
each field decoded to Unicode by :mod:`exoref.formats.latex` (only where there is LaTeX).  When
re-encoding the decoded value would not give back what the file had, the file's LaTeX is kept
in ``Reference.latex`` under the field's name, and writing puts it back as long as the field
still means the same thing: a re-export is faithful to the user's file.

Writing builds bibtexparser entries and lets bibtexparser serialise them.  Fields come in a
fixed order; plain-text fields are LaTeX-escaped (text from a PDF can never run a command),
titles protect acronyms and gene names from case changes, DOIs and URLs are written verbatim,
page ranges use ``--`` and months BibTeX's macros.  The same references can be written for
BibTeX (default) or BibLaTeX (``biblatex=True``: ``journaltitle``, ``date``, ``location``,
``eprint``/``eprinttype`` ...).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING

from bibtexparser.entrypoint import parse_string, write_string
from bibtexparser.library import Library as BibLibrary
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    Field,
    ParsingFailedBlock,
    String,
)
from bibtexparser.writer import BibtexFormat

from exoref.domain.citekeys import make_citekey, unique_citekey
from exoref.domain.identifiers import (
    normalize_arxiv_id,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
)
from exoref.domain.models import Author, Reference
from exoref.formats.common import (
    UTF8_WITH_REPLACEMENTS,
    DateParts,
    ParsedBibliography,
    ParsedEntry,
    Problem,
    babel_language,
    clean_citekey,
    detect_encoding,
    format_date,
    interval_start,
    language_code,
    mark_replacements,
    merge_keywords,
    month_number,
    nfc,
    normalize_pages,
    parse_date,
    split_keywords,
    tags_from_keywords,
    text_pieces,
)
from exoref.formats.latex import (
    decode_latex,
    encode_latex,
    encode_title,
    encode_verbatim,
    needs_decoding,
    simplify_latex,
)
from exoref.memory import paused_cyclic_gc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "entry_fields",
    "format_name",
    "format_names",
    "parse_bibtex",
    "parse_names",
    "read_bibtex",
    "write_bibtex",
]

log = logging.getLogger("exoref.import")

# ============================================================================================
# Field kinds
# ============================================================================================

#: Fields whose case a bibliography style may change: acronyms in them get braces.
TITLE_FIELDS = frozenset(
    """title shorttitle booktitle series maintitle subtitle titleaddon booksubtitle
    booktitleaddon mainsubtitle maintitleaddon eventtitle origtitle issuetitle
    journalsubtitle""".split()
)
#: Fields holding lists of names (other than ``author``, which becomes ``Reference.authors``).
NAME_FIELDS = frozenset(
    """author editor translator bookauthor editora editorb editorc commentator annotator
    introduction foreword afterword holder namea nameb namec""".split()
)
#: Fields whose text may run over several paragraphs.
PARAGRAPH_FIELDS = frozenset("abstract annote annotation note comment review addendum".split())
#: Fields written and read as they are (no LaTeX): identifiers, links, dates, keys.
VERBATIM_FIELDS = frozenset(
    """doi url eprint file pdf pmid pmcid issn urldate date origdate eventdate crossref xdata
    ids uri verba verbb verbc timestamp owner localfile entryset related xref
    mendeley-groups s2id""".split()
)
#: BibLaTeX (and other) field names read as the BibTeX field ExoRef keeps them under.
_IMPORT_ALIASES = {
    "journaltitle": "journal",
    "location": "address",
    "annotation": "annote",
    "archiveprefix": "eprinttype",
    "primaryclass": "eprintclass",
    "keyword": "keywords",
}
#: Written under the BibLaTeX name in BibLaTeX output.
_BIBLATEX_NAMES = {
    "journal": "journaltitle",
    "address": "location",
    "annote": "annotation",
    "school": "institution",
}
_TYPE_ALIASES = {
    "conference": "inproceedings",
    "electronic": "online",
    "www": "online",
    "webpage": "online",
    "web_page": "online",
    "book_section": "incollection",
    "generic": "misc",
    "journal": "article",
}
#: Entry types standard BibTeX styles know.
_BIBTEX_TYPES = frozenset(
    """article book booklet inbook incollection inproceedings manual mastersthesis misc
    phdthesis proceedings techreport unpublished""".split()
)
_TO_BIBTEX_TYPE = {
    "thesis": "phdthesis",
    "report": "techreport",
    "mvbook": "book",
    "collection": "book",
    "mvcollection": "book",
    "reference": "book",
    "mvreference": "book",
    "bookinbook": "inbook",
    "suppbook": "inbook",
    "inreference": "incollection",
    "suppcollection": "incollection",
    "mvproceedings": "proceedings",
    "online": "misc",
}
#: Entry types in biblatex's default data model (aliases included).
_BIBLATEX_TYPES = frozenset(
    """article book mvbook inbook bookinbook suppbook booklet collection mvcollection
    incollection suppcollection dataset manual misc online patent periodical suppperiodical
    proceedings mvproceedings inproceedings reference mvreference inreference report software
    thesis unpublished artwork audio bibnote commentary image jurisdiction legislation legal
    letter movie music performance review standard video conference electronic mastersthesis
    phdthesis techreport www""".split()
)
#: Which thesis and report types BibLaTeX writes as ``@thesis``/``@report`` with a ``type``.
_BIBLATEX_SUBTYPES = {
    "phdthesis": ("thesis", "phdthesis"),
    "mastersthesis": ("thesis", "mathesis"),
    "techreport": ("report", "techreport"),
}
_FROM_SUBTYPE = {
    ("thesis", "phdthesis"): "phdthesis",
    ("thesis", "mathesis"): "mastersthesis",
    ("report", "techreport"): "techreport",
}
#: Fields not inherited through ``crossref`` (biblatex's exceptions, plus what names the child).
_NOT_INHERITED = frozenset(
    """ids crossref xref xdata entryset entrysubtype execute label options presort related
    relatedoptions relatedstring relatedtype shorthand shorthandintro sortkey title subtitle
    titleaddon shorttitle sorttitle indextitle indexsorttitle doi url eprint eprinttype
    eprintclass pmid pmcid abstract file keywords annote annotation pages""".split()
)
_MONTH_MACROS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May",
    "jun": "June", "jul": "July", "aug": "August", "sep": "September", "oct": "October",
    "nov": "November", "dec": "December",
}
_MONTH_KEYS = ("", *_MONTH_MACROS)

# ============================================================================================
# Reading
# ============================================================================================


@contextlib.contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    """bibtexparser logs every malformed block as a warning; the problems are reported to
    the user by line instead, so its logger is silenced while a file is split."""
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def read_bibtex(path: Path) -> ParsedBibliography:
    """Read a ``.bib`` file (any of the encodings :func:`detect_encoding` finds)."""
    encoding = detect_encoding(path)
    entries: list[ParsedEntry] = []
    problems: list[Problem] = []
    for item in iter_bibtex_file(path, encoding=encoding):
        if isinstance(item, ParsedEntry):
            entries.append(item)
        else:
            problems.append(item)
    entries.sort(key=lambda e: e.line)
    problems.sort(key=lambda p: p.line)
    return ParsedBibliography(entries, problems, "bibtex", encoding)


def iter_bibtex_file(path: Path, *, encoding: str | None = None
                     ) -> Iterator[ParsedEntry | Problem]:
    """The entries and problems of a ``.bib`` file, read and decoded a few thousand entries
    at a time, so that memory stays small whatever the size of the file.

    Entries come in the order of the file, except those with a ``crossref`` or ``xdata``,
    which come at the end (their parents may follow them).
    """
    encoding = encoding or detect_encoding(path)
    items = _iter_bibtex(text_pieces(path, encoding), path.parent)
    yield from mark_replacements(items) if encoding == UTF8_WITH_REPLACEMENTS else items


@dataclass(slots=True)
class _RawEntry:
    entry_type: str
    key: str
    line: int
    fields: dict[str, str]
    warnings: list[str] = field(default_factory=list)


_BRACE = re.compile(r"[{}]")


def _matching_brace(raw: str, start: int) -> int:
    """The index of the brace closing the one at ``start`` (``len(raw)`` if none)."""
    depth = 0
    for m in _BRACE.finditer(raw, start):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return len(raw)


#: Deeper nesting is refused: no real entry comes near it, and the LaTeX decoder recurses
#: once per level (10,000 levels raised RecursionError and lost the whole file).
MAX_BRACE_DEPTH = 200


def _brace_depth(text: str) -> int:
    depth = deepest = 0
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _closing_quote(raw: str, start: int) -> int:
    depth = 0
    for pos in range(start + 1, len(raw)):
        ch = raw[pos]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth <= 0:
            return pos
    return len(raw)


_MACRO_TOKEN = re.compile(r"[^#\s]+")
_COMMENT_LINE = re.compile(r"%[^\n]*\n")
#: An entry commented out with ``%`` (biber, JabRef and most editors take it as a comment).
_COMMENTED_ENTRY = re.compile(r"^[ \t]*%[^\n]*@[A-Za-z]+[ \t]*[{(]", re.MULTILINE)


def _resolve(raw: str, macros: dict[str, str]) -> tuple[str, list[str]]:
    """The LaTeX text of a field value as written in the file: braces or quotes removed,
    ``@string`` macros replaced, ``#`` concatenations joined.  Also the undefined macros."""
    raw = raw.strip()
    if not raw:
        return "", []
    first, last = raw[0], raw[-1]
    if "#" not in raw:
        if first == "{" and last == "}" and (
            raw.count("{") == 1 or _matching_brace(raw, 0) == len(raw) - 1
        ):
            return raw[1:-1], []
        if first == '"' and last == '"' and len(raw) >= 2:
            return raw[1:-1], []
        if raw.isdigit():
            return raw, []
    pieces: list[str] = []
    undefined: list[str] = []
    pos, n = 0, len(raw)
    while pos < n:
        while pos < n and raw[pos].isspace():
            pos += 1
        if pos >= n:
            break
        ch = raw[pos]
        if ch == "{":
            end = _matching_brace(raw, pos)
            pieces.append(raw[pos + 1 : end])
            pos = end + 1
        elif ch == '"':
            end = _closing_quote(raw, pos)
            pieces.append(raw[pos + 1 : end])
            pos = end + 1
        else:
            m = _MACRO_TOKEN.match(raw, pos)
            token = m.group() if m else raw[pos]
            pos = m.end() if m else pos + 1
            if token.isdigit():
                pieces.append(token)
            else:
                value = macros.get(token.lower())
                if value is None:
                    value = _MONTH_MACROS.get(token.lower())
                if value is None:
                    undefined.append(token)
                    value = token
                pieces.append(value)
        while pos < n and raw[pos].isspace():
            pos += 1
        if pos < n and raw[pos] == "#":
            pos += 1
        elif pos < n:
            pieces.append(raw[pos:])
            break
    return "".join(pieces), undefined


def _reason(block: ParsingFailedBlock) -> str:
    error = block.error
    reason = getattr(error, "abort_reason", "") or str(error) or type(error).__name__
    reason = " ".join(str(reason).split())
    head = (block.raw or "").lstrip()[:40].split("{")[0].split("(")[0].strip()
    what = f"{head} entry" if head.startswith("@") else "entry"
    return f"cannot read this {what}: {reason}"


def parse_bibtex(text: str, *, base_dir: Path | None = None) -> ParsedBibliography:
    """Read BibTeX/BibLaTeX text into references and problems (with 1-based lines)."""
    entries: list[ParsedEntry] = []
    problems: list[Problem] = []
    for item in _iter_bibtex([text], base_dir):
        if isinstance(item, ParsedEntry):
            entries.append(item)
        else:
            problems.append(item)
    entries.sort(key=lambda e: e.line)
    problems.sort(key=lambda p: p.line)
    return ParsedBibliography(entries, problems, "bibtex")


#: Entries per chunk handed to bibtexparser (about 2 MB of typical BibTeX).
CHUNK_CHARS = 2_000_000
_ENTRY_LINE = re.compile(r"\n[ \t]*@")
#: Up to this many entries every entry is kept as a possible ``crossref`` parent; beyond, only
#: entries of :data:`_PARENT_TYPES` and keys asked for by earlier children (memory stays small).
KEEP_ALL_PARENTS = 20_000
#: Entry types other entries inherit from (``crossref``, ``xdata``): kept while reading.
_PARENT_TYPES = frozenset(
    """proceedings mvproceedings book mvbook collection mvcollection reference mvreference
    periodical xdata set""".split()
)


def _chunks(pieces: Iterable[str], size: int = CHUNK_CHARS) -> Iterator[tuple[str, int]]:
    """Cut text (given in pieces) into chunks of whole entries: ``(chunk, first line - 1)``.

    A chunk ends just before a line that starts an entry (``@``), once it holds ``size``
    characters; newlines are normalised to ``\n``.
    """
    buffer: list[str] = []
    held = 0
    line = 0
    carry = ""
    for piece in pieces:
        if not piece:
            continue
        piece = carry + piece
        carry = ""
        if piece.endswith("\r"):
            carry, piece = "\r", piece[:-1]
        if "\r" in piece:
            piece = piece.replace("\r\n", "\n").replace("\r", "\n")
        buffer.append(piece)
        held += len(piece)
        if held < size:
            continue
        text = "".join(buffer)
        cut = -1
        for m in _ENTRY_LINE.finditer(text, max(0, size // 2)):
            cut = m.start() + 1
            if cut >= size:
                break
        if cut <= 0:
            buffer = [text]
            continue
        chunk, rest = text[:cut], text[cut:]
        yield chunk, line
        line += chunk.count("\n")
        buffer = [rest]
        held = len(rest)
    text = "".join(buffer) + ("\n" if carry else "")
    if text:
        yield text, line


class _Reader:
    """Turns chunks of BibTeX into entries and problems, keeping what spans chunks: @string
    macros, the keys seen (duplicates), possible crossref/xdata parents, deferred children."""

    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.macros: dict[str, str] = {}
        self.first_line: dict[str, int] = {}
        self.parents: dict[str, _RawEntry] = {}
        self.wanted: set[str] = set()
        self.deferred: list[_RawEntry] = []

    def feed(self, text: str, line_offset: int) -> Iterator[ParsedEntry | Problem]:
        text = nfc(text.lstrip("\ufeff"))
        if "%" in text:
            text = _COMMENTED_ENTRY.sub(lambda m: m.group().replace("@", " "), text)
        with _quiet_bibtexparser():
            library = parse_string(text, parse_stack=[])
        for block in library.blocks:
            inner = block
            field_dupes: set[str] = set()
            if isinstance(block, DuplicateBlockKeyBlock):
                inner = block.ignore_error_block or block
            elif isinstance(block, DuplicateFieldKeyBlock):
                field_dupes = set(block.duplicate_keys)
                inner = block.ignore_error_block or block
            if isinstance(inner, String):
                value, _undefined = _resolve(inner.value, self.macros)
                self.macros[inner.key.strip().lower()] = value
                continue
            if isinstance(inner, Entry):
                raw = _raw_entry(inner, self.macros)
                raw.line += line_offset
                if field_dupes:
                    raw.warnings.append(
                        "field(s) given twice: " + ", ".join(sorted(field_dupes))
                        + "; the first value is kept"
                    )
                yield from self._take(raw)
                continue
            if isinstance(block, ParsingFailedBlock):
                recovered = _recover_keyless(text, block, self.macros)
                if recovered is not None:
                    recovered.line += line_offset
                    yield from self._take(recovered)
                    continue
                yield Problem((block.start_line or 0) + 1 + line_offset, _reason(block))

    def _take(self, raw: _RawEntry) -> Iterator[ParsedEntry | Problem]:
        if raw.key:
            before = self.first_line.get(raw.key)
            if before is not None:
                raw.warnings.append(
                    f"citation key {raw.key!r} used twice in the file (first at line {before})")
            else:
                self.first_line[raw.key] = raw.line
        keys = [raw.key.lower(), *(a.lower() for a in _split_list(raw.fields.get("ids", "")))]
        if raw.entry_type in _PARENT_TYPES or any(k in self.wanted for k in keys) \
                or len(self.parents) < KEEP_ALL_PARENTS:
            for key in keys:
                if key:
                    self.parents.setdefault(key, raw)
        if raw.entry_type == "xdata":
            yield Problem(raw.line, f"@xdata {raw.key!r} is a container of fields, not a "
                                    "reference; merged into the entries that use it")
            return
        if raw.entry_type == "set":
            members = raw.fields.get("entryset", "")
            yield Problem(raw.line, f"@set {raw.key!r} only groups other entries ({members}); "
                                    "nothing to import")
            return
        if "crossref" in raw.fields or "xdata" in raw.fields:
            self.deferred.append(raw)
            self.wanted.update(k.lower() for k in _split_list(raw.fields.get("xdata", "")))
            if raw.fields.get("crossref", "").strip():
                self.wanted.add(raw.fields["crossref"].strip().lower())
            return
        yield self._entry(raw, dict(raw.fields))

    def finish(self) -> Iterator[ParsedEntry | Problem]:
        for raw in self.deferred:
            yield self._entry(raw, _inherit(raw, self.parents))
        self.deferred = []

    def _entry(self, raw: _RawEntry, fields: dict[str, str]) -> ParsedEntry | Problem:
        for name, value in fields.items():
            if "{" in value and _brace_depth(value) > MAX_BRACE_DEPTH:
                return Problem(raw.line, f"entry {raw.key!r}: braces nested more than "
                                         f"{MAX_BRACE_DEPTH} levels deep in its {name} field")
        ref, files, warnings = fields_to_reference(raw.entry_type, raw.key, fields,
                                                   self.base_dir)
        if not raw.key:
            warnings.insert(0, "the entry has no citation key; one is made from its fields")
        if not (ref.title or ref.authors or ref.doi or ref.journal or ref.booktitle
                or ref.extra or ref.abstract or ref.year or ref.url or ref.isbn or ref.pmid
                or ref.arxiv or ref.notes or ref.pages or ref.volume or ref.publisher):
            return Problem(raw.line, f"entry {raw.key!r} holds no bibliographic data (no "
                                     "title, author, DOI or other field)")
        return ParsedEntry(ref, raw.key, raw.line, files, raw.warnings + warnings)


def _iter_bibtex(pieces: Iterable[str], base_dir: Path | None
                 ) -> Iterator[ParsedEntry | Problem]:
    reader = _Reader(base_dir)
    for chunk, line_offset in _chunks(pieces, CHUNK_CHARS):
        with paused_cyclic_gc():
            items = list(reader.feed(chunk, line_offset))
        yield from items
    with paused_cyclic_gc():
        items = list(reader.finish())
    yield from items


def _recover_keyless(text: str, block: ParsingFailedBlock, macros: dict[str, str]
                     ) -> _RawEntry | None:
    """An entry written without a citation key (``@article{ author = ...``, as EndNote
    does), read again with an empty key; ``None`` for any other failure."""
    reason = str(getattr(block.error, "abort_reason", ""))
    if "Expected comma after entry key, but found =" not in reason or block.start_line is None:
        return None
    start = 0
    for _ in range(block.start_line):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    m = re.compile(r"\s*@\s*(\w+)\s*\{(?=\s*[A-Za-z][\w-]*\s*=)").match(text, start)
    if m is None:  # the part before "=" is not a field name: not a missing key
        return None
    end = _matching_brace(text, m.end() - 1)
    snippet = text[m.start() : m.end()] + "," + text[m.end() : end + 1]
    with _quiet_bibtexparser():
        parsed = parse_string(snippet, parse_stack=[])
    if len(parsed.entries) != 1 or parsed.failed_blocks:
        return None
    raw = _raw_entry(parsed.entries[0], macros)
    raw.line = block.start_line + 1 + text.count("\n", start, m.start())
    return raw


def _raw_entry(entry: Entry, macros: dict[str, str]) -> _RawEntry:
    fields: dict[str, str] = {}
    warnings: list[str] = []
    undefined_all: list[str] = []
    for fld in entry.fields:
        name = fld.key
        if "%" in name:  # a comment line between two fields ends up in the next field's name
            name = _COMMENT_LINE.sub("", name + "\n")
        name = name.strip().lower()
        if not name or name in fields:
            continue
        value = fld.value if isinstance(fld.value, str) else str(fld.value)
        resolved, undefined = _resolve(value, macros)
        if undefined and name != "month":
            undefined_all.extend(undefined)
        fields[name] = resolved
    if undefined_all:
        warnings.append("undefined @string macro(s) kept as text: " + ", ".join(undefined_all))
    key = clean_citekey(entry.key)
    if key != entry.key.strip():
        # a NUL or an escape in a key would reach the library, the export and LaTeX
        warnings.append(f"control characters dropped from the citation key {entry.key!r}"
                        if key else
                        f"the citation key {entry.key!r} holds nothing but control characters")
    return _RawEntry(
        entry_type=entry.entry_type.strip().lower(),
        key=key,
        line=(entry.start_line or 0) + 1,
        fields=fields,
        warnings=warnings,
    )


def _inherit(
    raw: _RawEntry, by_key: dict[str, _RawEntry], seen: set[str] | None = None
) -> dict[str, str]:
    """The entry's fields with those of its ``crossref`` parent and ``xdata`` containers."""
    fields = dict(raw.fields)
    seen = seen if seen is not None else set()
    seen.add(raw.key.lower())
    for xkey in _split_list(fields.get("xdata", "")):
        container = by_key.get(xkey.lower())
        if container is None:
            raw.warnings.append(f"xdata {xkey!r} not found in this file")
            continue
        if xkey.lower() in seen:
            raw.warnings.append(f"xdata {xkey!r} refers back to itself; not followed further")
            continue
        for name, value in _inherit(container, by_key, seen).items():
            if name not in ("ids", "xdata") and name not in fields:
                fields[name] = value
    parent_key = fields.get("crossref", "").strip()
    if parent_key:
        parent = by_key.get(parent_key.lower())
        if parent is None:
            raw.warnings.append(f"crossref {parent_key!r} not found in this file")
        elif parent_key.lower() in seen:
            raw.warnings.append(f"crossref {parent_key!r} loops back; not followed further")
        else:
            parent_fields = _inherit(parent, by_key, seen)
            for name, value in parent_fields.items():
                if name not in _NOT_INHERITED and name not in fields:
                    fields[name] = value
            if "booktitle" not in fields and "title" in parent_fields:
                fields["booktitle"] = parent_fields["title"]
    fields.pop("crossref", None)
    fields.pop("xdata", None)
    return fields


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# -- values ------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINE = re.compile(r"[ \t\r\f\v]*\n[ \t\r\f\v]*\n\s*")
_PARA_GAP = re.compile(r"[ \t]*\n\n[ \t]*")


def _clean(value: str, paragraphs: bool = False) -> str:
    """LaTeX white space as TeX sees it: runs are one space; blank lines end paragraphs
    (kept as ``\\n\\n`` in fields that may have paragraphs)."""
    if paragraphs and "\n" in value:
        parts = _BLANK_LINE.split(value)
        return "\n\n".join(p for p in (_WS.sub(" ", part).strip(" ") for part in parts) if p)
    if "\n" in value or "  " in value or "\t" in value or "\r" in value or "\f" in value \
            or "\v" in value:
        return _WS.sub(" ", value).strip(" ")
    return value.strip(" ")


def _decode(value: str, paragraphs: bool = False) -> str:
    """Cleaned, decoded text of a field."""
    text = decode_latex(_clean(value, paragraphs))
    if "\n" in text:
        if paragraphs:
            text = _PARA_GAP.sub("\n\n", text)
            text = re.sub(r"\n{3,}", "\n\n", text)
        else:
            text = _WS.sub(" ", text)
    return text.strip(" \n")


def _encode_paragraphs(value: str, unicode: bool) -> str:
    if "\n" not in value:
        return encode_latex(value, unicode=unicode)
    paragraphs = [p for p in re.split(r"\s*\n\s*\n\s*", value) if p.strip()]
    encoded = [encode_latex(_WS.sub(" ", p).strip(" "), unicode=unicode) for p in paragraphs]
    # an "@" starting a line would be read as the start of a new entry by some parsers
    return "\n\n".join("{@}" + p[1:] if p.startswith("@") else p for p in encoded)


def _plain_verbatim(value: str) -> str:
    """A verbatim field as people write it in BibTeX: ``\\url{...}`` unwrapped, escaped
    characters (``\\_``, ``\\%``, ``{\\_}``) unescaped."""
    text = _WS.sub(" ", value).strip()
    m = re.fullmatch(r"\\(?:url|path|nolinkurl|doi)\s*\{(.*)\}", text)
    if m:
        text = m.group(1)
    if "\\" in text or "{" in text:
        text = re.sub(r"\{\\([_%#&~$])\}|\\([_%#&~$])", lambda mm: mm.group(1) or mm.group(2),
                      text)
        text = text.replace("$\\backslash$", "\\").replace("{\\textbackslash}", "\\")
        text = text.replace("\\textunderscore{}", "_").replace("{\\textunderscore}", "_")
    return text


def _year(value: str) -> tuple[int | None, bool]:
    """The year in a ``year`` field and whether the field said just that."""
    text = _decode(value)
    if re.fullmatch(r"-?\d{1,4}", text):
        return int(text), True
    m = re.search(r"(?<!\d)(\d{4})(?!\d)", text)
    return (int(m.group(1)) if m else None), False


# -- names -------------------------------------------------------------------------------------

_NAME_SPLIT = re.compile(r"[{}]|\s+and\s+", re.IGNORECASE)
_COMMA_OR_BRACE = re.compile(r"[{},]")
_SPACE_OR_BRACE = re.compile(r"[{}]|[\s~]+")
_EXTENDED_NAME = re.compile(r"^\s*(?:family|given|prefix|suffix|id|useprefix|giveni|familyi)"
                            r"\s*=", re.IGNORECASE)


def _split_depth0(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Split ``text`` at the matches of ``pattern`` that are outside braces."""
    parts: list[str] = []
    depth = 0
    start = 0
    for m in pattern.finditer(text):
        token = m.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            parts.append(text[start : m.start()])
            start = m.end()
    parts.append(text[start:])
    return parts


def _word_case(word: str) -> str:
    """'l' when a BibTeX name word starts lower-case, 'u' upper, '' caseless."""
    depth = 0
    i = 0
    n = len(word)
    while i < n:
        ch = word[i]
        if ch == "{":
            if depth == 0 and i + 1 < n and word[i + 1] == "\\":
                # a special character: its case is that of the letters after the command
                m = re.match(r"\{\\([A-Za-z]+|.)\s*\{?\s*([A-Za-z]?)", word[i:])
                if m:
                    command, letter = m.group(1), m.group(2)
                    if command.isalpha() and command in ("i", "j", "o", "l", "ss", "ae", "oe",
                                                          "aa", "O", "L", "AE", "OE", "AA"):
                        return "l" if command[0].islower() else "u"
                    if letter:
                        return "l" if letter.islower() else "u"
                return ""
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and ch.isalpha():
            return "l" if ch.islower() else "u"
        elif ch == "\\" and depth == 0:
            m = re.match(r"\\([A-Za-z]+|.)\s*\{?\s*([A-Za-z]?)", word[i:])
            if m and m.group(2):
                return "l" if m.group(2).islower() else "u"
            i += len(m.group(0)) if m else 1
            continue
        i += 1
    return ""


def _name_text(latex: str) -> str:
    text = decode_latex(latex) if needs_decoding(latex) else latex
    text = text.replace("\u00a0", " ").replace("\u2009", " ")
    return " ".join(text.split())


def _parse_extended_name(text: str) -> Author:
    parts: dict[str, str] = {}
    for item in _split_depth0(text, _COMMA_OR_BRACE):
        key, _, value = item.partition("=")
        value = value.strip()
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1]
        parts[key.strip().lower()] = _name_text(value)
    family = " ".join(p for p in (parts.get("prefix", ""), parts.get("family", "")) if p)
    given = parts.get("given", "")
    if parts.get("suffix"):
        given = f"{given}, {parts['suffix']}" if given else parts["suffix"]
    return Author(family, given)


def parse_name(latex: str) -> Author:
    """One BibTeX name (``Last, First``, ``First von Last``, ``von Last, Jr, First``,
    ``{Corporate Name}``, or BibLaTeX's ``family=..., given=...``) as family and given name.

    The *von* part (van der, de la, von) stays with the family name; a *Jr* part is kept
    after the given name (``"P. T., Jr."``), as Zotero does.
    """
    text = latex.strip().strip(",").strip()
    if _EXTENDED_NAME.match(text):
        return _parse_extended_name(text)
    parts = [p.strip() for p in _split_depth0(text, _COMMA_OR_BRACE)]
    parts = [p for p in parts if p] or [""]
    if len(parts) == 1:
        words = [w for w in _split_depth0(parts[0], _SPACE_OR_BRACE) if w]
        if len(words) <= 1:
            return Author(_name_text(parts[0]), "")
        cases = [_word_case(w) for w in words[:-1]]
        if "l" in cases:
            first_von = cases.index("l")
            family_words = words[first_von:]
            given_words = words[:first_von]
        else:
            family_words = words[-1:]
            given_words = words[:-1]
        return Author(_name_text(" ".join(family_words)), _name_text(" ".join(given_words)))
    family = _name_text(parts[0])
    if len(parts) == 2:
        return Author(family, _name_text(parts[1]))
    given = _name_text(", ".join(parts[2:]))
    jr = _name_text(parts[1])
    return Author(family, f"{given}, {jr}" if given else jr)


_PLAIN_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _parse_plain_name(text: str) -> Author:
    """:func:`parse_name` for a name without braces, backslashes or ties (most names)."""
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p] or [""]
    if len(parts) == 1:
        words = parts[0].split()
        if len(words) <= 1:
            return Author(parts[0], "")
        for index, word in enumerate(words[:-1]):
            letter = next((ch for ch in word if ch.isalpha()), "")
            if letter.islower():
                return Author(" ".join(words[index:]), " ".join(words[:index]))
        return Author(words[-1], " ".join(words[:-1]))
    family = " ".join(parts[0].split())
    if len(parts) == 2:
        return Author(family, " ".join(parts[1].split()))
    given = " ".join(", ".join(parts[2:]).split())
    jr = " ".join(parts[1].split())
    return Author(family, f"{given}, {jr}" if given else jr)


def parse_names(latex: str) -> list[Author]:
    """A BibTeX name list (``A and B and others``) as authors; ``others`` is kept as an
    author named "others", as BibTeX and Zotero do."""
    text = simplify_latex(_clean(latex))
    if not text:
        return []
    if not needs_decoding(text) and "=" not in text:
        plain: list[Author] = []
        for name in _PLAIN_AND.split(text):
            name = name.strip().strip(",").strip()
            if not name:
                continue
            if name.lower() == "others":
                plain.append(Author("others", ""))
            else:
                author = _parse_plain_name(name)
                if author.family or author.given:
                    plain.append(author)
        return plain
    names = [n.strip() for n in _split_depth0(" " + text + " ", _NAME_SPLIT)]
    authors: list[Author] = []
    for name in names:
        if not name:
            continue
        if name.lower() == "others":
            authors.append(Author("others", ""))
            continue
        author = parse_name(name)
        if author.family or author.given:
            authors.append(author)
    return authors


_AND_WORD = re.compile(r"(?:^|\s)and(?:\s|$)", re.IGNORECASE)


def _brace_if(text: str, condition: bool) -> str:
    return "{" + text + "}" if condition else text


@lru_cache(maxsize=65536)
def format_name(author: Author, *, unicode: bool = False) -> str:
    """One name for a BibTeX name list: ``Family, Given`` or ``Family, Jr, Given``."""
    family, given = author.family.strip(), author.given.strip()
    if family == "others" and not given:
        return "others"
    fam = encode_latex(family, unicode=unicode)
    if not given:
        # a single name (an organisation, a mononym): one unit, never split
        return "{" + fam + "}" if (" " in family or "," in family or not family) else fam
    fam = _brace_if(fam, "," in family or bool(_AND_WORD.search(family)))
    first, sep, jr = given.partition(", ")
    giv = encode_latex(first, unicode=unicode)
    giv = _brace_if(giv, "," in first or bool(_AND_WORD.search(first)))
    if sep and jr:
        jr_text = encode_latex(jr, unicode=unicode)
        jr_text = _brace_if(jr_text, "," in jr or bool(_AND_WORD.search(jr)))
        return f"{fam}, {jr_text}, {giv}" if first else f"{fam}, {jr_text}, "
    return f"{fam}, {giv}"


def format_names(authors: Iterable[Author], *, unicode: bool = False) -> str:
    return " and ".join(format_name(a, unicode=unicode) for a in authors)


# -- files -------------------------------------------------------------------------------------

_FILE_SPLIT = re.compile(r"(?<!\\);")
_FILE_PARTS = re.compile(r"(?<!\\):")


def _file_paths(value: str, base_dir: Path | None) -> list[str]:
    """Paths in a ``file`` field: JabRef ``desc:path:type``, Mendeley ``:path:pdf``, Zotero
    and BibDesk plain ``path`` (several separated by ``;``).  Links are skipped."""
    text = value.strip()
    text = text.replace("$\\backslash$", "\\").replace("{\\_}", "_").replace("\\_", "_")
    out: list[str] = []
    for item in _FILE_SPLIT.split(text):
        item = item.strip()
        if not item:
            continue
        parts = _FILE_PARTS.split(item)
        if len(parts) >= 3:
            path = ":".join(parts[1:-1])
        elif len(parts) == 2 and len(parts[0]) == 1 and parts[0].isalpha():
            path = item  # C:\...
        elif len(parts) == 2:
            path = parts[1] if parts[1] and not parts[0].endswith(".pdf") else parts[0]
        else:
            path = item
        path = path.replace("\\:", ":").replace("\\;", ";").replace("\\\\", "\\").strip()
        if not path or re.match(r"^[a-z][a-z0-9+.-]*://", path, re.IGNORECASE):
            continue
        if path.lower().startswith("file://"):
            path = path[7:]
        if re.match(r"^[A-Za-z]:[\\/]", path):
            out.append(str(PureWindowsPath(path)))
            continue
        candidate = Path(path).expanduser()
        if not candidate.is_absolute() and base_dir is not None:
            candidate = base_dir / candidate
        out.append(str(candidate))
    return out


# -- the mapping -------------------------------------------------------------------------------


def _keep_latex(ref: Reference, name: str, cleaned: str,
                regenerate: Callable[[bool], str]) -> None:
    """Keep the file's LaTeX for ``name`` when it has LaTeX that a fresh export (LaTeX or raw
    UTF-8) would not write the same way (``{{MSC}}``, ``\\textit{...}``; ``{\\"u}``, which
    ExoRef writes too, is not kept).  Plain text is never kept: it is exported freshly, with
    escaping and case protection."""
    if needs_decoding(cleaned) and regenerate(False) != cleaned \
            and regenerate(True) != cleaned:
        ref.latex[name] = cleaned


def fields_to_reference(
    entry_type: str, key: str, fields: dict[str, str], base_dir: Path | None = None
) -> tuple[Reference, list[str], list[str]]:
    """A reference from the (resolved, inherited) LaTeX fields of one entry.

    Returns the reference, the file paths the entry names and warnings.
    """
    warnings: list[str] = []
    named: dict[str, str] = {}
    for name, value in fields.items():
        target = _IMPORT_ALIASES.get(name, name)
        if target in named or (target != name and target in fields):
            if name in ("archiveprefix", "primaryclass"):
                continue  # said again by eprinttype/eprintclass
            named.setdefault(name, value)
        else:
            named[target] = value
    etype = _TYPE_ALIASES.get(entry_type, entry_type) or "misc"
    subtype = named.get("type", "").strip().lower()
    if (etype, subtype) in _FROM_SUBTYPE:
        etype = _FROM_SUBTYPE[(etype, subtype)]
        named.pop("type")
    ref = Reference(entry_type=etype, citekey=key or None)
    files: list[str] = []
    keywords: list[str] = []

    for name, value in named.items():
        if not value.strip() and name not in ("title",):
            continue
        if name == "author":
            cleaned = _clean(value)
            ref.authors = parse_names(cleaned)
            _keep_latex(ref, "author", cleaned, partial(_names_as, ref.authors))
        elif name in ("title", "journal", "booktitle", "publisher", "volume"):
            cleaned = _clean(value)
            decoded = _decode(value)
            setattr(ref, name, decoded)
            encoder = encode_title if name in TITLE_FIELDS else encode_latex
            _keep_latex(ref, name, cleaned, partial(_text_as, encoder, decoded))
        elif name == "number" or (name == "issue" and "number" not in named):
            cleaned = _clean(value)
            ref.issue = _decode(value)
            _keep_latex(ref, "number", cleaned, partial(_text_as, encode_latex, ref.issue))
        elif name == "issue":
            ref.extra["issue"] = _decode(value)
        elif name == "pages":
            ref.pages = normalize_pages(_decode(value))
        elif name == "year":
            year, plain = _year(value)
            ref.year = year if ref.year is None or plain else ref.year
            if not plain:
                ref.extra["year"] = _decode(value)
        elif name == "date":
            text = _clean(value)
            parts = parse_date(text)
            if parts.year is not None and ("year" not in named or ref.year is None):
                ref.year = parts.year
            if parts.exact and "month" not in named:
                if parts.month is not None:
                    ref.extra["month"] = str(parts.month)
                if parts.day is not None:
                    ref.extra["day"] = str(parts.day)
            if not parts.exact:
                ref.extra["date"] = text
                start = interval_start(text)
                if start is not None and start.month is not None and "month" not in named:
                    ref.extra["month"] = str(start.month)
        elif name == "month":
            text = _decode(value)
            number = month_number(text)
            ref.extra["month"] = str(number) if number is not None else text
        elif name == "doi":
            text = _plain_verbatim(value)
            ref.doi = normalize_doi(text) or text
        elif name == "url":
            ref.url = _plain_verbatim(value)
        elif name == "pmid":
            text = _plain_verbatim(value)
            ref.pmid = normalize_pmid(text) or text
        elif name == "pmcid":
            text = _plain_verbatim(value)
            ref.pmcid = normalize_pmcid(text) or text
        elif name == "isbn":
            ref.isbn = _decode(value)
        elif name == "eprint":
            _read_eprint(ref, named, value)
        elif name in ("eprinttype", "eprintclass"):
            continue  # read with eprint
        elif name == "abstract":
            ref.abstract = _decode(value, paragraphs=True)
            _keep_latex(ref, "abstract", _clean(value, True),
                        partial(_encode_paragraphs, ref.abstract))
        elif name == "annote":
            ref.notes = _decode(value, paragraphs=True)
            _keep_latex(ref, "annote", _clean(value, True),
                        partial(_encode_paragraphs, ref.notes))
        elif name in ("keywords", "mendeley-tags", "tags"):
            keywords.extend(split_keywords(_decode(value)))
        elif name in ("language", "langid"):
            continue  # below
        elif name in ("file", "pdf", "localfile", "files", "filename"):
            files.extend(_file_paths(value, base_dir))
        elif name in ("crossref", "xdata"):
            continue
        elif name in VERBATIM_FIELDS or name.endswith("url") or name.startswith("bdsk-"):
            ref.extra[name] = _plain_verbatim(value) if name != "urldate" else _clean(value)
        else:
            paragraphs = name in PARAGRAPH_FIELDS
            cleaned = _clean(value, paragraphs)
            decoded = _decode(value, paragraphs)
            if not decoded:
                continue
            ref.extra[name] = decoded
            _keep_latex(ref, name, cleaned, _regenerator(name, decoded, paragraphs))

    langid, language = named.get("langid", ""), named.get("language", "")
    if langid.strip():
        ref.language = language_code(_decode(langid))
        if language.strip() and language_code(_decode(language)) != ref.language:
            ref.extra["language"] = _decode(language)
    elif language.strip():
        ref.language = language_code(_decode(language))
    if not ref.url:
        for holder in ("howpublished", "note"):
            m = re.fullmatch(r"\\url\s*\{([^{}]*)\}", _clean(named.get(holder, "")))
            if m:
                ref.url = m.group(1)
                ref.extra.pop(holder, None)
                ref.latex.pop(holder, None)
                break
    if keywords:
        ref.keywords = merge_keywords(keywords)
        ref.tags = tags_from_keywords(ref.keywords)
    options = ref.extra.get("options")
    if options is not None and _useprefix(ref):
        # written again on export from the names themselves
        kept = [o.strip() for o in options.split(",")
                if o.strip() and o.replace(" ", "") != "useprefix=true"]
        if kept:
            ref.extra["options"] = ", ".join(kept)
        else:
            del ref.extra["options"]
        ref.latex.pop("options", None)
    if ref.extra.get("month") and "year" not in named and "date" not in named:
        warnings.append("a month but no year")
    return ref, files, warnings


def has_prefix(author: Author) -> bool:
    """Whether a family name starts with a lower-case particle (*von*, *van der*, *de la*,
    *d'*): BibLaTeX then needs ``useprefix=true`` to cite and sort the name with it."""
    words = author.family.split()
    if len(words) < 2:
        return False
    letter = next((ch for ch in words[0] if ch.isalpha()), "")
    return letter.islower()


def _useprefix(ref: Reference) -> bool:
    return any(has_prefix(a) for a in ref.authors)


def _text_as(encoder: Callable[..., str], value: str, unicode: bool) -> str:
    return encoder(value, unicode=unicode)


def _names_as(authors: list[Author], unicode: bool) -> str:
    return format_names(authors, unicode=unicode)


def _regenerator(name: str, decoded: str, paragraphs: bool) -> Callable[[bool], str]:
    if name in TITLE_FIELDS:
        return partial(_text_as, encode_title, decoded)
    if paragraphs:
        return partial(_encode_paragraphs, decoded)
    return partial(_text_as, encode_latex, decoded)


def _read_eprint(ref: Reference, named: dict[str, str], value: str) -> None:
    text = _plain_verbatim(value)
    kind = _plain_verbatim(named.get("eprinttype", "")).lower()
    if kind == "arxiv" or (not kind and normalize_arxiv_id(text)):
        ref.arxiv = normalize_arxiv_id(text) or text
        if named.get("eprintclass"):
            ref.extra["eprintclass"] = _decode(named["eprintclass"])
        return
    if kind == "pubmed":
        ref.pmid = normalize_pmid(text) or text
        return
    if kind in ("pmc", "pmcid", "pubmedcentral") and normalize_pmcid(text):
        ref.pmcid = normalize_pmcid(text) or text
        return
    ref.extra["eprint"] = text
    if kind:
        ref.extra["eprinttype"] = _plain_verbatim(named["eprinttype"])
    if named.get("eprintclass"):
        ref.extra["eprintclass"] = _decode(named["eprintclass"])


# ============================================================================================
# Writing
# ============================================================================================

#: The order fields are written in (BibTeX names; BibLaTeX output renames some).
FIELD_ORDER: tuple[str, ...] = (
    "title", "shorttitle", "author", "editor", "booktitle", "journal", "series", "edition",
    "volume", "number", "issue", "pages", "year", "month", "day", "date", "publisher",
    "institution", "school", "organization", "address", "howpublished", "type", "chapter",
    "isbn", "issn", "doi", "pmid", "pmcid", "eprint", "eprinttype", "eprintclass",
    "archiveprefix", "primaryclass", "url", "urldate", "language", "langid", "keywords",
    "note", "annote", "annotation", "abstract", "file",
)
#: :data:`FIELD_ORDER` with each BibLaTeX name right after its BibTeX one.
_WRITE_ORDER: tuple[str, ...] = tuple(dict.fromkeys(
    n for name in FIELD_ORDER
    for n in ((name, _BIBLATEX_NAMES[name]) if name in _BIBLATEX_NAMES else (name,))
))
_SAFE_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_:.+\-]*$")
_BAD_KEY_CHARS = re.compile(r"[\s{}(),\"#%'~\\=^\x00-\x1f\x7f]")
#: LaTeX that a faithful re-export never writes back, whatever the file said.  ``^^`` is TeX's
#: notation for any character (``^^5c`` is a backslash): it can spell every command below.
_DANGEROUS = re.compile(
    r"\^\^|\\(?:input|include|includeonly|write|immediate|openout|openin|read|def|edef|gdef|"
    r"xdef|let|catcode|csname|expandafter|newcommand|renewcommand|providecommand|usepackage|"
    r"RequirePackage|special|directlua|luaexec|latelua|ShellEscape|endinput|makeatletter|"
    r"newwrite|newread|output|everypar|jobname|documentclass|scantokens|scantextokens|"
    r"primitive|pdfprimitive|pdffiledump|filedump|begin\s*\{\s*document)(?![A-Za-z])"
)
#: Control characters are "invalid characters" to TeX (form feed and vertical tab become
#: spaces, as the reader reads them).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_START_AT = re.compile(r"([\r\n][ \t]*)@")
_RANGE_SPLIT = re.compile(r"\s*(?:-{1,3}|[‐‑‒–—])\s*")
#: Fields an export never copies from ``extra`` (written from the reference or meaningless).
_NOT_FROM_EXTRA = frozenset({"month", "day", "year", "date", "crossref", "xdata", "file", "pdf",
                             "eprint", "eprinttype", "eprintclass", "keywords", "langid"})


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _original(ref: Reference, name: str, current: str | list[Author],
              paragraphs: bool = False) -> str | None:
    """The LaTeX the user's file had for ``name``, if it still says ``current``."""
    latex = ref.latex.get(name)
    if latex is None or not _balanced(latex) or _DANGEROUS.search(latex):
        return None
    if isinstance(current, list):
        return latex if parse_names(latex) == current else None
    if name == "pages":
        return latex if normalize_pages(_decode(latex)) == current else None
    return latex if _decode(latex, paragraphs) == current else None


def _encode_pages(pages: str, unicode: bool) -> str:
    parts = _RANGE_SPLIT.split(pages.strip())
    return "--".join(encode_latex(p, unicode=unicode) for p in parts)


def _entry_type(ref: Reference, biblatex: bool) -> tuple[str, str | None]:
    """The entry type to write and a ``type`` field it implies (BibLaTeX theses, reports)."""
    etype = _TYPE_ALIASES.get(ref.entry_type.strip().lower(), ref.entry_type.strip().lower())
    if biblatex:
        if etype in _BIBLATEX_SUBTYPES:
            base, subtype = _BIBLATEX_SUBTYPES[etype]
            return base, subtype
        return (etype if etype in _BIBLATEX_TYPES else "misc"), None
    etype = _TO_BIBTEX_TYPE.get(etype, etype)
    return (etype if etype in _BIBTEX_TYPES else "misc"), None


def _tex_safe(value: str) -> str:
    """A written value without control characters or TeX's ``^^`` character notation (which
    only verbatim fields can still hold here: ``^`` becomes ``%5E`` as in a URL)."""
    value = _CONTROL_CHARS.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", value)
    return value.replace("^", "%5E") if "^^" in value else value


def _safe_key(key: str) -> str:
    return _BAD_KEY_CHARS.sub("_", key.strip()) or "ref"


def entry_fields(
    ref: Reference,
    *,
    biblatex: bool = False,
    unicode: bool = False,
    include_abstract: bool = True,
    include_file: bool = False,
    file_root: Path | None = None,
) -> tuple[str, list[tuple[str, str]]]:
    """The entry type and the ``(field, value)`` pairs written for ``ref``; each value is the
    complete BibTeX value (braced, or a bare month macro or number)."""
    etype, subtype = _entry_type(ref, biblatex)
    out: dict[str, str] = {}
    extra = ref.extra

    def text_field(name: str, value: str, *, title: bool = False, para: bool = False) -> None:
        if not value:
            return
        original = _original(ref, name, value, para)
        if original is not None:
            out[name] = "{" + original + "}"
        elif title:
            out[name] = "{" + encode_title(value, unicode=unicode) + "}"
        elif para:
            out[name] = "{" + _encode_paragraphs(value, unicode) + "}"
        else:
            out[name] = "{" + encode_latex(value, unicode=unicode) + "}"

    text_field("title", ref.title, title=True)
    if ref.authors:
        original = _original(ref, "author", ref.authors)
        out["author"] = "{" + (original if original is not None
                               else format_names(ref.authors, unicode=unicode)) + "}"
    text_field("booktitle", ref.booktitle, title=True)
    text_field("journal", ref.journal)
    text_field("volume", ref.volume)
    text_field("number", ref.issue)
    if ref.pages:
        original = _original(ref, "pages", ref.pages)
        out["pages"] = "{" + (original if original is not None
                              else _encode_pages(ref.pages, unicode)) + "}"
    _date_fields(ref, out, biblatex)
    text_field("publisher", ref.publisher)
    if subtype and not extra.get("type"):
        out["type"] = "{" + subtype + "}"
    if ref.isbn:
        text_field("isbn", ref.isbn)
    if ref.doi:
        out["doi"] = "{" + encode_verbatim(ref.doi) + "}"
    _identifier_fields(ref, out, biblatex)
    if ref.url:
        out["url"] = "{" + encode_verbatim(ref.url) + "}"
    if ref.language:
        out["langid"] = "{" + encode_latex(babel_language(ref.language), unicode=unicode) + "}"
    keywords = merge_keywords(ref.keywords, (t.name for t in ref.tags))
    if keywords:
        out["keywords"] = "{" + ", ".join(encode_latex(k, unicode=unicode)
                                          for k in keywords) + "}"
    text_field("annote", ref.notes, para=True)
    if include_abstract:
        text_field("abstract", ref.abstract, para=True)
    if include_file and ref.attachments:
        paths = [str(file_root / a.path) if file_root is not None else a.path
                 for a in ref.attachments]
        paths = [p for p in paths if "{" not in p and "}" not in p]
        if paths:
            out["file"] = "{" + ";".join(paths) + "}"

    for name in sorted(extra):
        value = extra[name]
        if not value or name in out or name in _NOT_FROM_EXTRA:
            continue
        if not _SAFE_FIELD_NAME.match(name):
            continue
        if name in VERBATIM_FIELDS or name.endswith("url") or name.startswith("bdsk-"):
            if name == "urldate" or not re.search(r"[{}\\]", value):
                out[name] = "{" + value + "}"
            continue
        text_field(name, value, title=name in TITLE_FIELDS, para=name in PARAGRAPH_FIELDS)

    if biblatex and _useprefix(ref):
        current = out.get("options", "{}")[1:-1]
        if "useprefix" not in current:
            out["options"] = "{" + ", ".join(p for p in (current, "useprefix=true") if p) + "}"
    if biblatex:
        renamed: dict[str, str] = {}
        for name, value in out.items():
            target = _BIBLATEX_NAMES.get(name, name)
            if target in renamed or (target != name and target in out):
                renamed.setdefault(name, value)
            else:
                renamed[target] = value
        out = renamed
    elif etype in ("phdthesis", "mastersthesis") and "school" not in out \
            and "institution" in out:
        out["school"] = out.pop("institution")
    for name, value in out.items():
        if "^" in value or _CONTROL_CHARS.search(value):
            value = out[name] = _tex_safe(value)
        if "@" in value and _LINE_START_AT.search(value):
            # a line starting with "@" would be read as the start of a new entry
            out[name] = _LINE_START_AT.sub(r"\1{@}", value)
    pairs = [(name, out[name]) for name in _WRITE_ORDER if name in out]
    if len(pairs) < len(out):
        known = set(_WRITE_ORDER)
        pairs.extend((name, out[name]) for name in sorted(out) if name not in known)
    return etype, pairs


def _date_fields(ref: Reference, out: dict[str, str], biblatex: bool) -> None:
    extra = ref.extra
    month_text = extra.get("month", "")
    month = month_number(month_text) if month_text else None
    day_text = extra.get("day", "")
    day = int(day_text) if day_text.isdigit() and month is not None else None
    literal_year = extra.get("year", "")
    date_text = extra.get("date", "")
    if biblatex:
        if date_text and not re.search(r"[{}\\]", date_text):
            out["date"] = "{" + date_text + "}"
        elif ref.year is not None and not literal_year:
            out["date"] = "{" + format_date(DateParts(ref.year, month, day, True)) + "}"
        if literal_year:
            out["year"] = "{" + encode_latex(literal_year) + "}"
        if month_text and (month is None or "date" not in out):
            out["month"] = "{" + (encode_latex(month_text) if month is None else str(month)) + "}"
        if day_text and day is None:
            out["day"] = "{" + encode_latex(day_text) + "}"
        return
    if literal_year:
        out["year"] = "{" + encode_latex(literal_year) + "}"
    elif ref.year is not None:
        out["year"] = "{" + str(ref.year) + "}"
    if month is not None:
        out["month"] = _MONTH_KEYS[month]
    elif month_text:
        out["month"] = "{" + encode_latex(month_text) + "}"
    if day_text:
        out["day"] = "{" + encode_latex(day_text) + "}"
    if date_text and not re.search(r"[{}\\]", date_text):
        out["date"] = "{" + date_text + "}"


def _identifier_fields(ref: Reference, out: dict[str, str], biblatex: bool) -> None:
    extra = ref.extra
    eprint_class = extra.get("eprintclass", "")
    if ref.arxiv:
        out["eprint"] = "{" + encode_verbatim(ref.arxiv) + "}"
        if biblatex:
            out["eprinttype"] = "{arxiv}"
            if eprint_class:
                out["eprintclass"] = "{" + encode_latex(eprint_class) + "}"
        else:
            out["archiveprefix"] = "{arXiv}"
            if eprint_class:
                out["primaryclass"] = "{" + encode_latex(eprint_class) + "}"
    elif biblatex and ref.pmid:
        out["eprint"] = "{" + encode_verbatim(ref.pmid) + "}"
        out["eprinttype"] = "{pubmed}"
    elif extra.get("eprint"):
        out["eprint"] = "{" + encode_verbatim(extra["eprint"]) + "}"
        if extra.get("eprinttype"):
            out["eprinttype"] = "{" + encode_verbatim(extra["eprinttype"]) + "}"
        if eprint_class:
            out["eprintclass"] = "{" + encode_latex(eprint_class) + "}"
    if ref.pmid and out.get("eprinttype") != "{pubmed}":
        out["pmid"] = "{" + encode_verbatim(ref.pmid) + "}"
    if ref.pmcid:
        out["pmcid"] = "{" + encode_verbatim(ref.pmcid) + "}"


def write_bibtex(
    refs: Iterable[Reference],
    *,
    biblatex: bool = False,
    unicode: bool = False,
    include_abstract: bool = True,
    include_file: bool = False,
    file_root: Path | None = None,
    pattern: str | None = None,
) -> str:
    """The references as a ``.bib`` text, one entry each, in the order given.

    Citation keys are written as stored; a reference without one gets a key from
    ``pattern`` (the default pattern when ``None``), made unique within the output.
    """
    return "".join(iter_bibtex_text(
        refs, biblatex=biblatex, unicode=unicode, include_abstract=include_abstract,
        include_file=include_file, file_root=file_root, pattern=pattern,
    ))


#: Entries serialised together by bibtexparser when writing.
WRITE_CHUNK = 2000


def iter_bibtex_text(
    refs: Iterable[Reference],
    *,
    biblatex: bool = False,
    unicode: bool = False,
    include_abstract: bool = True,
    include_file: bool = False,
    file_root: Path | None = None,
    pattern: str | None = None,
) -> Iterator[str]:
    """:func:`write_bibtex` in pieces (a few thousand entries each), for writing a large
    library to a file or a pipe without holding all of it, or all its references, at once."""
    taken: set[str] = set()
    source = iter(refs)
    first = True
    while True:
        with paused_cyclic_gc():
            batch: list[Block] = []
            for ref in itertools.islice(source, WRITE_CHUNK):
                base = _safe_key(ref.citekey) if ref.citekey else (
                    make_citekey(ref, pattern) if pattern else make_citekey(ref))
                key = unique_citekey(base, taken)
                taken.add(key)
                etype, pairs = entry_fields(
                    ref, biblatex=biblatex, unicode=unicode, include_abstract=include_abstract,
                    include_file=include_file, file_root=file_root,
                )
                batch.append(Entry(etype, key, [Field(name, value) for name, value in pairs]))
            if not batch:
                return
            text = _serialise(batch)
        yield text if first else "\n" + text
        first = False


def _serialise(blocks: list[Block]) -> str:
    library = BibLibrary(blocks)
    fmt = BibtexFormat()  # type: ignore[no-untyped-call]
    fmt.indent = "  "
    fmt.block_separator = "\n"
    text: str = write_string(library, unparse_stack=[], bibtex_format=fmt)
    return text
