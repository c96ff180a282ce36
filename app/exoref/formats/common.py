"""What every bibliography reader returns, and the small parsers they share.

A reader turns a file into :class:`ParsedEntry` objects (a :class:`Reference` with the key and
line it came from and the files it names) plus :class:`Problem` s: the entries it could not
read, each with its line number and the reason, so that nothing is dropped without a word.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from exoref.domain.models import Tag, TagKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from exoref.domain.models import Reference

__all__ = [
    "MAX_JSON_DEPTH",
    "UTF8_MAJORITY",
    "UTF8_WITH_REPLACEMENTS",
    "DateParts",
    "JsonTooDeepError",
    "ParsedBibliography",
    "ParsedEntry",
    "Problem",
    "babel_language",
    "check_json_depth",
    "clean_citekey",
    "codec_of",
    "date_range",
    "decode_text",
    "detect_encoding",
    "format_date",
    "interval_start",
    "language_code",
    "load_json",
    "mark_replacements",
    "merge_keywords",
    "month_number",
    "nfc",
    "normalize_pages",
    "parse_date",
    "parse_extra_lines",
    "split_keywords",
    "strip_markup",
    "tags_from_keywords",
    "text_pieces",
    "zotero_date",
]


class Problem(NamedTuple):
    """An entry that could not be imported: where (1-based line, 0 if unknown) and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ParsedEntry:
    """One reference read from a bibliography file.

    ``key`` is the citation key the file gives ("" if none), ``line`` the 1-based line the entry
    starts on (for JSON formats: the position of the item, counting from 1), ``files`` the
    paths of attached files the entry names (resolved against the file's folder, not checked),
    ``warnings`` what the user should know although the entry could be read.
    """

    reference: Reference
    key: str
    line: int
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ParsedBibliography:
    entries: list[ParsedEntry]
    problems: list[Problem]
    format: str
    encoding: str = "utf-8"


# ============================================================================================
# Text encodings
# ============================================================================================

_DECLARED = re.compile(
    rb"(?:%\s*Encoding\s*:\s*|-\*-.*?coding\s*[:=]\s*|@comment\{jabref-meta:\s*encoding\s*:\s*)"
    rb"([A-Za-z0-9_.:\-]+)",
    re.IGNORECASE,
)
_ALIASES = {"latin-9": "iso8859-15", "latin9": "iso8859-15", "latin-2": "iso8859-2",
            "latin2": "iso8859-2", "latin-1": "latin-1", "latin1": "latin-1"}


def _declared_encoding(head: bytes) -> str | None:
    m = _DECLARED.search(head)
    if not m:
        return None
    name = m.group(1).decode("ascii").lower()
    name = re.sub(r"-(unix|dos|mac)$", "", name)
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-be``/``-le`` when every other byte of the start is a NUL."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    return None


def _looks_double_byte(data: bytes) -> bool:
    """High bytes that come in pairs (GBK, Big5, Shift-JIS) rather than alone (Latin-1)."""
    runs = re.findall(rb"[\x81-\xfe]+", data)
    if not runs:
        return False
    paired = sum(1 for r in runs if len(r) % 2 == 0)
    return paired == len(runs) and sum(len(r) for r in runs) >= 4


#: The encoding :func:`decode_text` and :func:`detect_encoding` name for a file that is UTF-8
#: but for a few bytes: it is read as UTF-8, each invalid byte as U+FFFD ("�"), and the
#: entries holding one are marked (:func:`mark_replacements`).  Not a codec name: pass it to
#: :func:`text_pieces` or :func:`codec_of`, not to ``open()``.
UTF8_WITH_REPLACEMENTS = "utf-8 (invalid bytes replaced)"
#: How many valid multi-byte UTF-8 characters per invalid byte make a file "UTF-8 but for a
#: few bytes".  A Latin-1 or Windows-1252 file has next to none (an accented letter is one
#: byte followed by ASCII: "Caf\xe9 "); Chinese in GB18030 has about one per four invalid
#: bytes, Cyrillic and Greek in their 8-bit encodings none.
UTF8_MAJORITY = 3
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def codec_of(encoding: str) -> tuple[str, str]:
    """The codec and error handler that read text in ``encoding`` as ExoRef names it."""
    if encoding == UTF8_WITH_REPLACEMENTS:
        return "utf-8", "replace"
    return encoding, "strict"


def _utf8_counts(text: str) -> tuple[int, int]:
    """(valid non-ASCII characters, invalid bytes) of bytes decoded as UTF-8 with
    ``surrogateescape`` (each invalid byte is one lone surrogate)."""
    invalid = len(text) - len(_ESCAPED_BYTE.sub("", text))
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - invalid, invalid


def _mostly_utf8(valid: int, invalid: int) -> bool:
    return invalid > 0 and valid >= UTF8_MAJORITY * invalid


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a bibliography file (NFC-normalised) and the encoding it was read with.

    See :func:`_decode_bytes` for how the encoding is found.
    """
    text, encoding = _decode_bytes(data)
    return nfc(text), encoding


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C, as ExoRef stores text (cheap when it already is)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def _decode_bytes(data: bytes) -> tuple[str, str]:
    """The text of a bibliography file and the encoding it was read with.

    In order: a byte-order mark (UTF-8, UTF-16, UTF-32); UTF-16 without a mark (NUL bytes);
    UTF-8; an encoding the file declares (JabRef's ``% Encoding:``, an Emacs ``coding:``
    line); UTF-8 with the few invalid bytes replaced (:data:`UTF8_WITH_REPLACEMENTS`) when
    valid UTF-8 characters outnumber them :data:`UTF8_MAJORITY` to one (a UTF-8 file with a
    stray Latin-1 byte pasted in must not turn every accented letter of it into mojibake); a
    double-byte Chinese encoding (GB18030) when the high bytes come in pairs; Windows-1252;
    Latin-1 (which never fails).
    """
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, name in boms:
        if data.startswith(bom):
            try:
                return data.decode(name), name.replace("-sig", "")
            except UnicodeDecodeError:
                break
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = _declared_encoding(data[:2000])
    if declared and declared not in ("utf-8", "utf-16", "utf-16-be", "utf-16-le"):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass
    if _mostly_utf8(*_utf8_counts(data.decode("utf-8", "surrogateescape"))):
        return data.decode("utf-8", "replace"), UTF8_WITH_REPLACEMENTS
    if _looks_double_byte(data):
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


_BLOCK = 1 << 20


def _valid_throughout(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes with ``encoding`` (read block by block)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _mostly_utf8_throughout(path: Path) -> bool:
    """:func:`_mostly_utf8` for a whole file, read block by block."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    valid = invalid = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            more_valid, more_invalid = _utf8_counts(decoder.decode(block, final=not block))
            valid += more_valid
            invalid += more_invalid
            if not block:
                break
    return _mostly_utf8(valid, invalid)


def detect_encoding(path: Path) -> str:
    """The encoding of a file, found as :func:`decode_text` does but reading the file in
    blocks: a large library never needs to be in memory twice.  Read it with
    :func:`text_pieces` (the name may be :data:`UTF8_WITH_REPLACEMENTS`)."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, name in boms:
        if head.startswith(bom):
            return name
    utf16 = _utf16_without_bom(head)
    if utf16 and _valid_throughout(path, utf16):
        return utf16
    if _valid_throughout(path, "utf-8"):
        return "utf-8"
    declared = _declared_encoding(head[:2000])
    if declared and declared not in ("utf-8", "utf-16", "utf-16-be", "utf-16-le") \
            and _valid_throughout(path, declared):
        return declared
    if _mostly_utf8_throughout(path):
        return UTF8_WITH_REPLACEMENTS
    if _looks_double_byte(head) and _valid_throughout(path, "gb18030"):
        return "gb18030"
    if _valid_throughout(path, "cp1252"):
        return "cp1252"
    return "latin-1"


def text_pieces(path: Path, encoding: str) -> Iterator[str]:
    """The text of a file in pieces of about a million characters (line ends as written)."""
    codec, errors = codec_of(encoding)
    with path.open("r", encoding=codec, errors=errors, newline="") as handle:
        while piece := handle.read(_BLOCK):
            yield piece


_REPLACEMENT_WARNING = (
    'bytes that are not UTF-8, in a file that otherwise is, were read as "\ufffd": '
    "check this entry against its source"
)


_Item = TypeVar("_Item", bound=ParsedEntry | Problem)


def mark_replacements(items: Iterable[_Item]) -> Iterator[_Item]:
    """``items`` of a file read as :data:`UTF8_WITH_REPLACEMENTS`, each entry holding a
    replaced byte with a warning that says so (the others unchanged)."""
    for item in items:
        if isinstance(item, ParsedEntry) and _holds_replacement(item):
            item.warnings.append(_REPLACEMENT_WARNING)
        yield item


def _holds_replacement(entry: ParsedEntry) -> bool:
    # repr() shows every field (U+FFFD is printable: repr keeps it as it is)
    return "\ufffd" in entry.key or "\ufffd" in repr(entry.reference) \
        or any("\ufffd" in name for name in entry.files)


# ============================================================================================
# Citation keys
# ============================================================================================

#: What a citation key read from a file loses: control characters other than white space
#: (a NUL, an escape; white space is the key writer's business, it becomes "_"), and the
#: invisible characters that reorder or break the text around them (bidirectional
#: overrides and isolates, line and paragraph separators).
_KEY_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
                          "\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean_citekey(key: str) -> str:
    """``key`` without control characters (see :data:`_KEY_CONTROL`), stripped; ``""``
    when nothing else was in it."""
    return _KEY_CONTROL.sub("", key).strip()


# ============================================================================================
# JSON
# ============================================================================================

#: The deepest nesting of arrays and objects a JSON bibliography may have.  No bibliography
#: comes close (a CSL date is four levels down, a Better BibTeX creator three); a deeper
#: document is refused before it is parsed, so that neither ``json.loads`` nor a reader that
#: walks its values can run out of stack on ``[[[[...]]]]``.
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than :data:`MAX_JSON_DEPTH`; ``lineno`` is the 1-based
    line where it goes too deep."""

    def __init__(self, lineno: int) -> None:
        super().__init__(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        self.lineno = lineno


def _too_deep(brackets: str) -> int | None:
    """The index in ``brackets`` (nothing but ``[]{}``) where the nesting passes the limit."""
    depth = 0
    for index, char in enumerate(brackets):
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return index
        else:
            depth -= 1
    return None


def check_json_depth(text: str) -> None:
    """Raise :class:`JsonTooDeepError` when the arrays and objects of ``text`` (brackets in
    strings do not count) nest deeper than :data:`MAX_JSON_DEPTH`.

    Strings and everything else are dropped with regular expressions first, so the loop in
    Python sees only the brackets: a few per item of a bibliography.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    index = _too_deep(brackets)
    if index is None:
        return
    # Rare: walk again with positions, to say on which line.
    seen = -1
    for match in _JSON_TOKEN.finditer(text):
        if match.group()[0] != '"':
            seen += 1
            if seen == index:
                raise JsonTooDeepError(text.count("\n", 0, match.start()) + 1)
    raise JsonTooDeepError(1)  # pragma: no cover - the walk above finds the same bracket


def load_json(text: str) -> Any:
    """``json.loads`` for a file that may be hostile: raises ``json.JSONDecodeError`` for
    invalid JSON and :class:`JsonTooDeepError` for JSON nested too deep, nothing else."""
    check_json_depth(text)
    try:
        return json.loads(text)
    except RecursionError as exc:  # pragma: no cover - check_json_depth() refuses it first
        raise JsonTooDeepError(1) from exc


# ============================================================================================
# Dates
# ============================================================================================

_MONTH_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january janvier januar janeiro enero gennaio jän jänner",
        "feb february février fevrier februar fevereiro febrero febbraio",
        "mar march mars märz maerz marco março marzo",
        "apr april avril abril aprile",
        "may mai maio mayo maggio",
        "jun june juin juni junho junio giugno",
        "jul july juillet juli julho julio luglio",
        "aug august août aout agosto",
        "sep sept september septembre setembro septiembre settembre",
        "oct october octobre oktober outubro octubre ottobre okt",
        "nov november novembre novembro noviembre",
        "dec december décembre decembre dezember dezembro diciembre dicembre dez",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTH_NAMES[_name] = _number
#: Seasons as EDTF writes them (21-24) and their names.
_SEASONS = {"spring": 21, "summer": 22, "autumn": 23, "fall": 23, "winter": 24}


def month_number(value: str) -> int | None:
    """``"sep"``, ``"September"``, ``"Sept."``, ``"9"``, ``"09"`` -> 9; ``None`` otherwise."""
    text = value.strip().rstrip(".").lower()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return _MONTH_NAMES.get(text)


class DateParts(NamedTuple):
    year: int | None
    month: int | None
    day: int | None
    #: whether year, month and day say all the text said (no range, time, uncertainty, ...)
    exact: bool


_ISO_DATE = re.compile(r"^(-?\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_ANY_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def parse_date(value: str) -> DateParts:
    """Year, month and day of a date as people and programs write it.

    ISO/EDTF (``2014``, ``2014-09``, ``2018-01-02``, ``2016-07-18T20:26:06``, ranges
    ``1988/1992``), Zotero's free text (``September 2014``, ``January 2, 2018``, ``2 Jan 2018``,
    ``2015-1-29``, ``2014/09/01``).  ``exact`` is ``False`` when the text holds more than the
    parts (a range, a time, a season, an uncertain date); the caller keeps the text then.
    """
    text = value.strip()
    if not text:
        return DateParts(None, None, None, True)
    m = _ISO_DATE.match(text)
    if m:
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else None
        day = int(m.group(3)) if m.group(3) else None
        if month is not None and not 1 <= month <= 12:
            return DateParts(year, None, None, False)
        if day is not None and not 1 <= day <= 31:
            return DateParts(year, month, None, False)
        return DateParts(year, month, day, year >= 0)
    m = re.match(r"^(\d{4})[/.](\d{1,2})(?:[/.](\d{1,2}))?[/.]?(?:/[^/]*)?$", text)
    if m:  # 2014/09/01 (RIS: 2014/09/01/, 2014/09//)
        month = int(m.group(2))
        day = int(m.group(3)) if m.group(3) else None
        if 1 <= month <= 12 and (day is None or 1 <= day <= 31):
            return DateParts(int(m.group(1)), month, day, True)
    m = re.match(r"^(\d{4})///?$|^(\d{4})//[^/]*$", text)
    if m:
        return DateParts(int(m.group(1) or m.group(2)), None, None, True)
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})[T ]", text)
    if m:
        return DateParts(int(m.group(1)), int(m.group(2)), int(m.group(3)), False)
    words = re.findall(r"[A-Za-zÀ-ÿ]+\.?|\d+", text)
    found_year: int | None = None
    found_month: int | None = None
    found_day: int | None = None
    used = 0
    for word in words:
        if word.isdigit():
            if len(word) == 4 and found_year is None:
                found_year = int(word)
                used += 1
            elif len(word) <= 2 and found_day is None and 1 <= int(word) <= 31:
                found_day = int(word)
                used += 1
        else:
            number = month_number(word)
            if number is not None and found_month is None:
                found_month = number
                used += 1
    if found_year is None:
        any_year = _ANY_YEAR.search(text)
        return DateParts(int(any_year.group(1)) if any_year else None, None, None, False)
    if found_month is None:
        plain = re.fullmatch(r"[\w\s.,]+", text) is not None
        exact = found_day is None and used == len(words) and plain
        return DateParts(found_year, None, None, exact)
    # "September 2014", "January 2, 2018", "2 Jan 2018": nothing but the parts
    exact = used == len(words) and re.fullmatch(r"[\w\s.,/-]+", text) is not None
    return DateParts(found_year, found_month, found_day, exact)


_RANGE_SEP = re.compile(r"\s*[–—]\s*|\s+-\s+|(?<=[A-Za-z\d])-(?=[A-Za-z\d])|\s+to\s+")


def _date_side(text: str) -> tuple[int | None, int | None, int | None] | None:
    """Year, month (or season 21-24) and day of one side of a free-text range."""
    year = month = day = None
    for word in re.findall(r"[A-Za-zÀ-ÿ]+\.?|\d+", text):
        if word.isdigit():
            if len(word) == 4 and year is None:
                year = int(word)
            elif len(word) <= 2 and day is None and 1 <= int(word) <= 31:
                day = int(word)
            else:
                return None
        else:
            number = month_number(word) or _SEASONS.get(word.lower().rstrip("."))
            if number is None or month is not None:
                return None
            month = number
    return year, month, day


def _edtf(year: int, month: int | None, day: int | None) -> str:
    text = f"{year:04d}"
    if month is not None:
        text += f"-{month:02d}"
        if day is not None and month <= 12:
            text += f"-{day:02d}"
    return text


def date_range(text: str) -> tuple[DateParts, str] | None:
    """A date range written out (``22-26 June 2015``, ``June 18–23, 2017``,
    ``January 30–February 3, 1989``, ``Spring 2015 - Summer 2016``) as the parts of its start
    and an EDTF interval (``2015-06-22/2015-06-26``); ``None`` when ``text`` is not one."""
    if not re.search(r"[A-Za-z]", text):
        return None
    pieces = _RANGE_SEP.split(text.strip(), maxsplit=1)
    if len(pieces) != 2:
        return None
    left, right = _date_side(pieces[0]), _date_side(pieces[1])
    if left is None or right is None:
        return None
    (y1, m1, d1), (y2, m2, d2) = left, right
    y1 = y1 if y1 is not None else y2
    y2 = y2 if y2 is not None else y1
    if m1 is None and m2 is not None and d1 is not None:
        m1 = m2
    if m2 is None and m1 is not None and d2 is not None:
        m2 = m1
    if y1 is None or y2 is None or (m1 is None and d1 is not None):
        return None
    start = DateParts(y1, m1 if m1 is not None and m1 <= 12 else None,
                      d1 if m1 is not None and m1 <= 12 else None, False)
    return start, f"{_edtf(y1, m1, d1)}/{_edtf(y2, m2, d2)}"


def interval_start(text: str) -> DateParts | None:
    """The start of an EDTF interval (``2015-06-22/2015-06-26`` -> 2015, 6, 22), not exact;
    ``None`` when ``text`` is not an interval with a plain start date."""
    left, sep, _right = text.strip().partition("/")
    if not sep:
        return None
    parts = parse_date(left)
    if not parts.exact or parts.year is None:
        return None
    return DateParts(parts.year, parts.month, parts.day, False)


def zotero_date(text: str) -> tuple[DateParts, str]:
    """A Zotero date as its parts and, when the parts do not say it all, the EDTF (or the
    text as given) to keep; Zotero's seasons (months 13-16) become EDTF's 21-24."""
    text = text.strip()
    if not text:
        return DateParts(None, None, None, True), ""
    seasons = re.sub(r"(?<![\d-])(-?\d{4})-(1[3-6])(?!\d)",
                     lambda m: f"{m.group(1)}-{int(m.group(2)) + 8}", text)
    parts = parse_date(seasons)
    if parts.exact:
        return parts, ""
    start = interval_start(seasons)
    if start is not None:
        return start, seasons
    ranged = date_range(seasons)
    if ranged is not None:
        return ranged
    return parts, seasons


def format_date(parts: DateParts) -> str:
    """ISO text for the parts: ``2014``, ``2014-09``, ``2018-01-02`` ("" without a year)."""
    if parts.year is None:
        return ""
    text = f"{parts.year:04d}" if parts.year >= 0 else f"-{-parts.year:04d}"
    if parts.month is not None:
        text += f"-{parts.month:02d}"
        if parts.day is not None:
            text += f"-{parts.day:02d}"
    return text


# ============================================================================================
# Languages: ISO codes (how ExoRef stores them) <-> babel names (what biblatex's langid takes)
# ============================================================================================

_LANGUAGES: dict[str, str] = {
    "en": "english", "en-US": "american", "en-GB": "british", "en-AU": "australian",
    "en-CA": "canadian", "en-NZ": "newzealand", "de": "ngerman", "de-DE": "ngerman",
    "de-AT": "naustrian", "de-CH": "nswissgerman", "fr": "french", "fr-FR": "french",
    "fr-CA": "canadien", "es": "spanish", "it": "italian", "pt": "portuguese",
    "pt-BR": "brazilian", "nl": "dutch", "sv": "swedish", "da": "danish", "no": "norsk",
    "nb": "norsk", "nn": "nynorsk", "fi": "finnish", "is": "icelandic", "pl": "polish",
    "cs": "czech", "sk": "slovak", "sl": "slovene", "hr": "croatian", "sr": "serbian",
    "bg": "bulgarian", "ru": "russian", "uk": "ukrainian", "el": "greek", "tr": "turkish",
    "hu": "magyar", "ro": "romanian", "lt": "lithuanian", "lv": "latvian", "et": "estonian",
    "ca": "catalan", "gl": "galician", "eu": "basque", "la": "latin", "ga": "irish",
    "cy": "welsh", "he": "hebrew", "ar": "arabic", "fa": "farsi", "hi": "hindi",
    "zh": "chinese", "ja": "japanese", "ko": "korean", "th": "thai", "vi": "vietnamese",
    "id": "indonesian", "ms": "malay", "af": "afrikaans",
}
_BY_NAME: dict[str, str] = {}
for _code, _babel in _LANGUAGES.items():
    _BY_NAME.setdefault(_babel, _code)
_BY_NAME.update({"german": "de", "ngerman": "de", "english": "en", "usenglish": "en-US",
                 "ukenglish": "en-GB", "anglais": "en", "français": "fr", "francais": "fr",
                 "deutsch": "de", "español": "es", "espanol": "es", "portuges": "pt",
                 "austrian": "de-AT", "swissgerman": "de-CH", "hungarian": "hu",
                 "slovenian": "sl", "norwegian": "no", "persian": "fa"})
_CODE_KEYS = {code.lower(): code for code in _LANGUAGES}


def language_code(value: str) -> str:
    """The code ExoRef stores for a language as a file gives it (``english`` -> ``en``,
    ``fr-FR`` -> ``fr-FR``, ``French`` -> ``fr``); unknown values come back unchanged."""
    text = value.strip()
    key = text.lower().replace("_", "-")
    if key in _CODE_KEYS:
        return _CODE_KEYS[key]
    return _BY_NAME.get(key, text)


def babel_language(code: str) -> str:
    """The babel/polyglossia name biblatex's ``langid`` takes for a stored language code,
    or the value unchanged when it is not a code ExoRef knows."""
    text = code.strip()
    if text in _LANGUAGES:
        return _LANGUAGES[text]
    base = text.split("-")[0].lower()
    if "-" in text and base in _LANGUAGES:
        return _LANGUAGES[base]
    return text


# ============================================================================================
# Pages, keywords
# ============================================================================================

_PAGE_RANGE = re.compile(r"\s*[-‐‑‒–—−]+\s*")


def normalize_pages(value: str) -> str:
    """``"1204--1222"``, ``"1204 – 1222"`` -> ``"1204-1222"`` (how ranges are stored)."""
    text = value.strip()
    if not text:
        return ""
    return _PAGE_RANGE.sub("-", text)


def split_keywords(value: str) -> list[str]:
    """Keywords from one field: separated by ``;`` if there is one, else by ``,``."""
    sep = ";" if ";" in value else ","
    out: list[str] = []
    seen: set[str] = set()
    for part in value.split(sep):
        word = " ".join(part.split())
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            out.append(word)
    return out


def merge_keywords(*groups: Iterable[str]) -> list[str]:
    """The keywords of all groups in order, each once (compared without case)."""
    out: list[str] = []
    seen: set[str] = set()
    for group in groups:
        for word in group:
            key = word.strip().casefold()
            if key and key not in seen:
                seen.add(key)
                out.append(word.strip())
    return out


def tags_from_keywords(keywords: Iterable[str]) -> list[Tag]:
    return [Tag(word, TagKind.FREE) for word in merge_keywords(keywords)]


# ============================================================================================
# Zotero conventions shared by the JSON and RIS readers
# ============================================================================================

_TAG = re.compile(r"<(/?)(?:i|b|em|strong|sup|sub|sc|span|br|u)(?:\s[^<>]*)?/?>")


def strip_markup(text: str) -> str:
    """Zotero's rich text (``<i>``, ``<b>``, ``<sup>``, ``<sub>``, ``<sc>``, ``<span ...>``)
    as plain text; superscripts and subscripts become Unicode where they have a form."""
    if "<" not in text:
        return text
    from exoref.formats.latex import subscript, superscript

    def script(m: re.Match[str]) -> str:
        inner = m.group(2)
        return superscript(inner) if m.group(1) == "sup" else subscript(inner)

    text = re.sub(r"<(sup|sub)>([^<>]*)</\1>", script, text)
    text = re.sub(r"<br\s*/?>", " ", text)
    return _TAG.sub("", text)


def html_to_text(html: str) -> str:
    """A Zotero note (HTML) as plain text with paragraphs separated by blank lines."""
    text = re.sub(r"(?i)</p>|<br\s*/?>|</li>|</h\d>|</div>", "\n\n", html)
    text = re.sub(r"<[^<>]+>", "", text)
    import html as html_module

    text = html_module.unescape(text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


_EXTRA_LINE = re.compile(r"^\s*([A-Za-z][\w .-]*?)\s*[:=]\s*(.*?)\s*$")


def parse_extra_lines(extra: str | list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Zotero's "Extra" field: ``Key: value`` lines (PMID, PMCID, arXiv, DOI, Citation Key,
    CSL variables such as ``original-date``) and BibTeX fields as ``tex.field: value``.

    Returns the known keys (lower-cased), the ``tex.`` fields and the other lines.
    """
    lines = extra if isinstance(extra, list) else extra.splitlines()
    known: dict[str, str] = {}
    tex: dict[str, str] = {}
    rest: list[str] = []
    for line in lines:
        m = _EXTRA_LINE.match(line)
        if not m:
            if line.strip():
                rest.append(line.strip())
            continue
        key, value = m.group(1).strip(), m.group(2)
        lower = key.lower()
        if lower.startswith(("tex.", "bibtex.", "biblatex.")):
            tex[lower.split(".", 1)[1].strip()] = value
        elif lower in ("pmid", "pmcid", "arxiv", "doi", "citation key", "bibtex",
                       "original-date", "original date", "issued", "type", "isbn", "issn",
                       "publisher", "publisher-place", "event-place", "event-title",
                       "number-of-pages", "container-title", "collection-title",
                       "title-short"):
            known[lower] = value
        else:
            rest.append(line.strip())
    return known, tex, rest
