"""Text and metadata of a PDF article, read with PyMuPDF.

:func:`extract_pdf` opens a file, takes the text of every page and works out what it can of the
paper's own metadata: title, authors, year, journal, abstract, keywords and identifiers (DOI,
PMID, PMCID, arXiv id, trial registry ids).  Bad input (not a PDF, encrypted, damaged, an
absurd page tree) raises :class:`~exoref.errors.UnreadableFileError` with a one-line reason,
never anything else.

How the metadata is found
-------------------------
Only the first page (and the second when the first is a repository cover or holds no text) is
analysed with PyMuPDF's ``"dict"`` output, which carries font sizes and positions; every other
page gives its plain text from the same text page object, so the extra work over a plain
``get_text()`` stays small.

*Title*: the lines of page 1 are merged into rows and grouped into blocks of one font size; the
block in the largest size in the upper part of the page wins, after running heads, venue lines
("Journal of ..."), banners ("Research Article", "Open Access"), headings, drop caps and
garbled OCR are set aside.  When nothing stands out by size the first bold or title-like block
at the top is taken.  The title in the PDF Info dictionary or XMP is used only when it is not
junk ("Microsoft Word - x.doc", "acl07.dvi", proceedings names) *and* appears in the text of
page 1 or 2; it then confirms, completes or replaces the typographic title.

*Identifiers*: the paper's own DOI is told from cited ones by where it is printed.  XMP/Info
DOIs and DOIs on page 1 and in running heads or footers score; DOIs after a "References"
heading, and in the body of later pages, do not.  PMIDs count only when labelled; arXiv ids
come from the arXiv margin stamp, the metadata, or the page margins.
"""

from __future__ import annotations

import difflib
import functools
import html
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymupdf

from exoref.domain.identifiers import (
    doi_key,
    find_arxiv_ids,
    find_dois,
    find_pmcids,
    find_pmids,
    find_trial_ids,
    normalize_arxiv_id,
    normalize_doi,
    normalize_title_key,
    parse_arxiv_stamp,
)
from exoref.domain.models import Author, Reference
from exoref.errors import UnreadableFileError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = ["MAX_PAGES", "PdfExtraction", "extract_pdf", "looks_like_pdf"]

log = logging.getLogger("exoref.import")

#: A page tree claiming more pages than this is refused: real articles and theses stay far
#: below, and hostile files use huge counts to make readers allocate memory.
MAX_PAGES = 20_000
#: Where the ``%PDF-`` marker must appear (Acrobat accepts it within the first 1024 bytes).
HEADER_WINDOW = 1024

# Text page flags: keep white space and clip to the media box like ``get_text()`` does, but
# split ligatures ("ﬁ" -> "fi") so the text is searchable.  No images in "dict" output.
_TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_WHITESPACE
    | pymupdf.TEXT_MEDIABOX_CLIP
    | pymupdf.TEXT_CID_FOR_UNKNOWN_UNICODE
)
_BOLD_FLAG = 16  # TEXT_FONT_BOLD in span["flags"]
_SUPERSCRIPT_FLAG = 1  # TEXT_FONT_SUPERSCRIPT

# PyMuPDF ships partial type hints; mypy --strict rejects calls into its unannotated parts, so
# the library is used through this alias, typed Any, in the few places that need it.
_mupdf: Any = pymupdf

_quiet = False


def _quiet_mupdf() -> None:
    """Keep MuPDF's complaints about broken files off stderr; our warnings say what matters."""
    global _quiet
    if not _quiet:
        _mupdf.TOOLS.mupdf_display_errors(False)
        _mupdf.TOOLS.mupdf_display_warnings(False)
        _quiet = True


# ============================================================================================
# Public API
# ============================================================================================


@dataclass(slots=True)
class PdfExtraction:
    """What :func:`extract_pdf` read from a file.

    ``text`` holds the text of every page, pages joined with ``"\\f"``.  ``warnings`` are
    one-line notes for the user (repaired file, no text layer, pages that failed, ...).
    """

    reference: Reference
    text: str
    page_count: int
    has_text_layer: bool
    warnings: list[str] = field(default_factory=list)


def looks_like_pdf(path: Path) -> bool:
    """``True`` when the file starts like a PDF (``%PDF-`` within its first 1024 bytes).

    The content decides, not the name: "paper.pdf" holding HTML is not a PDF, "download"
    holding a PDF is.
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(HEADER_WINDOW)
    except OSError:
        return False
    return b"%PDF-" in head


def extract_pdf(path: Path, *, max_text_chars: int | None = None) -> PdfExtraction:
    """Read the text and the metadata of the PDF at ``path``.

    ``max_text_chars`` limits the text kept (a warning says so when it cuts); ``None`` keeps
    all of it.  Raises :class:`UnreadableFileError` when the file is empty, not a PDF,
    encrypted with a password, damaged beyond repair or claims an absurd number of pages.
    """
    _quiet_mupdf()
    doc = _open_document(Path(path))
    try:
        return _Extractor(doc, max_text_chars).run()
    finally:
        doc.close()


# ============================================================================================
# Opening
# ============================================================================================

_HINT_DAMAGED = "download the file again, or open it in a PDF viewer and save a new copy"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    msg = re.sub(r"^code=\d+:\s*", "", msg)
    if msg.startswith("Failed to open file"):
        msg = "MuPDF cannot parse it"
    return msg.strip(" .")[:160]


def _claimed_page_count(path: Path) -> int | None:
    """The largest ``/Count`` in the first 4 MB of the file (for the refusal message)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(4 * 1024 * 1024)
    except OSError:
        return None
    counts = [int(m.group(1)) for m in re.finditer(rb"/Count\s+(\d{1,19})", data)]
    return max(counts) if counts else None


def _too_many_pages(count: int | None) -> UnreadableFileError:
    claimed = f"claims {count} pages" if count is not None else "claims an impossible page count"
    return UnreadableFileError(
        f"{claimed}; refusing to read a PDF with more than {MAX_PAGES} pages",
        hint="the page tree is broken or hostile; " + _HINT_DAMAGED,
    )


def _open_document(path: Path) -> Any:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(HEADER_WINDOW)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnreadableFileError(f"cannot be read: {reason}") from exc
    if size == 0:
        raise UnreadableFileError("empty file", hint="the file has no content; " + _HINT_DAMAGED)
    if b"%PDF-" not in head:
        raise UnreadableFileError(
            "not a PDF (no %PDF header)",
            hint="the file may be a web page or a download error saved with a .pdf name",
        )
    try:
        doc = _mupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for unreadable files
        reason = _first_line(exc)
        if "number of pages" in reason.lower():
            raise _too_many_pages(_claimed_page_count(path)) from exc
        raise UnreadableFileError(
            f"damaged: cannot be opened ({reason})", hint=_HINT_DAMAGED
        ) from exc
    try:
        if doc.needs_pass and not doc.authenticate(""):
            raise UnreadableFileError(
                "encrypted: a password is needed to open it",
                hint="open it with the password in a PDF viewer and save an unprotected copy",
            )
        count = doc.page_count
    except UnreadableFileError:
        doc.close()
        raise
    except Exception as exc:
        doc.close()
        reason = _first_line(exc)
        if "number of pages" in reason.lower():
            raise _too_many_pages(_claimed_page_count(path)) from exc
        raise UnreadableFileError(
            f"damaged: the page tree cannot be read ({reason})", hint=_HINT_DAMAGED
        ) from exc
    if count > MAX_PAGES:
        doc.close()
        raise _too_many_pages(count)
    if count <= 0:
        doc.close()
        raise UnreadableFileError(
            "damaged: no readable pages (the PDF structure is broken)", hint=_HINT_DAMAGED
        )
    return doc


# ============================================================================================
# Small text helpers
# ============================================================================================


_ODD_CHARS_RE = re.compile("[\ue000-\uf8ff\u00ad\ufffd]")
_SMALL_CAPS_RE = re.compile("[\uf721-\uf77e]")


def _clean(text: str) -> str:
    """Collapse white space; map the Adobe small-caps private-use letters (U+F761 'a' ...)
    and drop other private-use characters, soft hyphens and replacement characters."""
    if _ODD_CHARS_RE.search(text):
        text = _SMALL_CAPS_RE.sub(lambda m: chr(ord(m.group(0)) - 0xF700), text)
        text = _ODD_CHARS_RE.sub("", text)
    return " ".join(text.split())


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


def _is_garbage(text: str) -> bool:
    """Garbled OCR or symbol soup: too few letters among the visible characters."""
    visible = len("".join(text.split()))
    if not visible:
        return True
    if _letters(text) / visible < 0.6:
        return True
    words = text.split()
    if len(words) >= 4:
        short = sum(1 for w in words if _letters(w) <= 1)
        if short / len(words) > 0.5:
            return True
    return False


def _similar(a: str, b: str) -> float:
    ka, kb = normalize_title_key(a), normalize_title_key(b)
    if not ka or not kb:
        return 0.0
    return difflib.SequenceMatcher(None, ka, kb, autojunk=False).ratio()


def _join_lines(texts: Iterable[str]) -> str:
    """Join wrapped lines: a word hyphenated at a line end is mended when a lower-case letter
    follows, a compound ("service-\\noriented") keeps its hyphen."""
    out = ""
    for raw in texts:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and line[:1].islower() and out[-2:-1].islower():
            out = out + line if re.search(r"\w-\w+-$", out) else out[:-1] + line
        elif out.endswith(("-", "/")):
            out += line
        else:
            out += " " + line
    return out


_SMALL_WORDS = frozenset(
    "a an the and or nor but of in on at to for by with from via vs as into onto per upon "
    "than over under".split()
)
_ACRONYMS = frozenset(
    "DNA RNA MRNA MIRNA MIRNAS LNCRNA CIRCRNA MSC MSCS EV EVS PCR HIV AIDS COVID SARS ARDS CNS "
    "TNF IL NF GVHD ALS CKD AKI CMB API REST XML SQL HTML HTTP IEEE ACM UK USA EU US II III IV "
    "VI 2D 3D NK MRI CT PET ECG EEG ICU BMI".split()
)


def _smart_title_case(text: str) -> str:
    """Title case for a title printed in capitals, keeping a few well-known acronyms."""
    words = text.split()
    out: list[str] = []
    for i, word in enumerate(words):
        core = re.sub(r"[^\w]", "", word).upper()
        if core in _ACRONYMS or any(ch.isdigit() for ch in word):
            out.append(word)
        elif i > 0 and word.lower() in _SMALL_WORDS and not out[-1].endswith(":"):
            out.append(word.lower())
        else:
            parts = re.split(r"([-/'’])", word.lower())
            out.append("".join(p[:1].upper() + p[1:] for p in parts))
    return " ".join(out)


def _is_all_caps(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 4 and all(ch.isupper() for ch in letters)


# ============================================================================================
# Page layout from PyMuPDF "dict" output
# ============================================================================================


@dataclass(slots=True)
class _Line:
    """A line of text in the reading frame of its page (y grows downwards)."""

    text: str
    plain: str  # without superscript spans (affiliation markers)
    size: float
    top: float
    bottom: float
    left: float
    right: float
    base: float
    bold: bool
    block: int
    rotated: bool = False

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(slots=True)
class _Block:
    text: str
    top: float
    bottom: float
    index: int
    size: float


@dataclass(slots=True)
class _Layout:
    """The analysed lines of one page."""

    page_index: int
    raw_lines: list[_Line]  # PyMuPDF's lines in its block order (not rotated ones)
    rows: list[_Line]  # fragments on one baseline merged, sorted top to bottom
    rotated: list[_Line]  # lines at an angle to the page's text (margin stamps)
    blocks: list[_Block]
    top: float
    bottom: float
    body_size: float
    degenerate_sizes: bool = False

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    def rel(self, v: float) -> float:
        return (v - self.top) / self.height


def _dominant(weights: Counter[float]) -> float:
    if not weights:
        return 0.0
    best = max(weights.values())
    return max(size for size, count in weights.items() if count == best)


@functools.lru_cache(maxsize=512)
def _is_bold_font(font: str) -> bool:
    return bool(re.search(r"bold|black|heavy|semibold|demi|CMBX|-B\b|\.B\b", font, re.IGNORECASE))


def _plain_text(spans: Sequence[dict[str, Any]], size: float, dx: float, dy: float) -> str:
    """The text of a line without superscripts (affiliation markers, footnote signs), with
    " , " where a wide gap or a run of spaces separates two names on one line."""
    base = None
    for s in spans:
        if round(float(s["size"]), 1) == size and s["text"].strip():
            base = s.get("origin")
            break
    out: list[str] = []
    prev_end: float | None = None
    horizontal = dx > 0.9
    for s in spans:
        text = s["text"]
        flags = int(s["flags"])
        ssize = float(s["size"])
        raised = 0.0
        if base is not None:
            ox, oy = s["origin"]
            raised = (ox - base[0]) * dy + (oy - base[1]) * (-dx)
        superscript = bool(flags & _SUPERSCRIPT_FLAG) or (
            ssize < 0.85 * size and raised > 0.12 * size
        )
        if superscript:
            out.append(re.sub(r"[^\s,;]", "", text) or " ")
            continue
        if horizontal and text.strip():
            x0, _y0, x1, _y1 = s["bbox"]
            if prev_end is not None and x0 - prev_end > 0.6 * size:
                out.append(" , ")
            prev_end = x1
        out.append(text)
    return re.sub(r"\s{3,}", " , ", "".join(out))


def _build_layout(data: dict[str, Any], page: Any, index: int, *, extent_sizes: bool) -> _Layout:
    """Lines of one page in a frame where its main text runs left to right.

    Page rotation and text written at an angle (landscape scans, 2-up pages) are undone, so
    "top of the page" means the top as the text is read.  With ``extent_sizes`` the font
    size of a line is the height of its glyphs (for Type3 fonts that report sizes of 0.2).
    """
    rot = page.rotation_matrix
    identity = page.rotation == 0
    ra, rb, rc, rd, re_, rf = rot.a, rot.b, rot.c, rot.d, rot.e, rot.f

    # (text, spans, size, display bbox, direction, bold, block number, display origin, dir)
    raw: list[
        tuple[
            str,
            list[dict[str, Any]],
            float,
            tuple[float, float, float, float],
            tuple[int, int],
            bool,
            int,
            tuple[float, float],
            tuple[float, float],
        ]
    ] = []
    dir_weight: dict[tuple[int, int], int] = {}
    for bno, block in enumerate(data.get("blocks", ())):
        if block.get("type") != 0:
            continue
        for line in block.get("lines", ()):
            spans = [sp for sp in line.get("spans", ()) if sp["text"]]
            if not spans:
                continue
            text = "".join(sp["text"] for sp in spans)
            total = len(text.strip())
            if not total:
                continue
            sizes: dict[float, int] = {}
            bold_chars = 0
            for sp in spans:
                n = len(sp["text"].strip())
                rounded = round(sp["size"], 1)
                sizes[rounded] = sizes.get(rounded, 0) + n
                if (sp["flags"] & _BOLD_FLAG) or _is_bold_font(sp["font"]):
                    bold_chars += n
            best = max(sizes.values())
            size = max(sz for sz, n in sizes.items() if n == best)
            dx, dy = line["dir"]
            x0, y0, x1, y1 = line["bbox"]
            ox, oy = next(
                (sp["origin"] for sp in spans if round(sp["size"], 1) == size), spans[0]["origin"]
            )
            if identity:
                ddx, ddy = dx, dy
                box = (x0, y0, x1, y1)
                origin = (ox, oy)
            else:
                ddx, ddy = dx * ra + dy * rc, dx * rb + dy * rd
                ax, ay = x0 * ra + y0 * rc + re_, x0 * rb + y0 * rd + rf
                bx, by = x1 * ra + y1 * rc + re_, x1 * rb + y1 * rd + rf
                box = (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
                origin = (ox * ra + oy * rc + re_, ox * rb + oy * rd + rf)
            key = (round(ddx), round(ddy))
            raw.append((text, spans, size, box, key, bold_chars * 2 > total, bno, origin, (dx, dy)))
            dir_weight[key] = dir_weight.get(key, 0) + total
    main = max(dir_weight, key=lambda k: dir_weight[k]) if dir_weight else (1, 0)
    c, s = main

    def frame(x: float, y: float) -> tuple[float, float]:
        return x * c + y * s, -x * s + y * c

    prect = page.rect
    pcs = [frame(prect.x0, prect.y0), frame(prect.x1, prect.y1)]
    ptop, pbottom = min(p[1] for p in pcs), max(p[1] for p in pcs)
    plain_limit = ptop + 0.6 * (pbottom - ptop)  # bylines live in the upper part of a page

    lines: list[_Line] = []
    rotated: list[_Line] = []
    for text, spans, size, (x0, y0, x1, y1), key, bold, bno, origin, (dx, dy) in raw:
        if main == (1, 0):
            left, top, right, bottom = x0, y0, x1, y1
        else:
            (fx0, fy0), (fx1, fy1) = frame(x0, y0), frame(x1, y1)
            left, right = min(fx0, fx1), max(fx0, fx1)
            top, bottom = min(fy0, fy1), max(fy0, fy1)
        plain = _plain_text(spans, size, dx, dy) if top < plain_limit else text
        if key == main:
            # The bottom of the box is a steadier baseline than span origins, which MuPDF
            # shifts when it merges a superscript into a line; glyph boxes (extent_sizes)
            # reach down to descenders, so there the origin is used.
            base = bottom
            if extent_sizes:
                base = frame(*origin)[1]
                size = round(bottom - top, 1)
            lines.append(_Line(text, plain, size, top, bottom, left, right, base, bold, bno))
        else:
            rotated.append(
                _Line(text, plain, size, top, bottom, left, right, bottom, bold, bno, rotated=True)
            )

    weights: Counter[float] = Counter()
    for ln in lines:
        weights[round(ln.size * 2) / 2] += len(ln.text.strip())
    body = _dominant(weights)
    text_top = min((ln.top for ln in lines), default=ptop)
    text_bottom = max((ln.bottom for ln in lines), default=pbottom)
    # Trust the page box unless the text lies well outside it (broken boxes, odd matrices).
    top = ptop if text_top >= ptop - 20 else text_top
    bottom = pbottom if text_bottom <= pbottom + 20 else text_bottom

    blocks: dict[int, list[_Line]] = {}
    for ln in lines:
        blocks.setdefault(ln.block, []).append(ln)
    block_list = [
        _Block(
            "\n".join(ln.text for ln in group),
            min(ln.top for ln in group),
            max(ln.bottom for ln in group),
            bno,
            _dominant(Counter({ln.size: len(ln.text) for ln in group})),
        )
        for bno, group in sorted(blocks.items())
    ]
    return _Layout(index, lines, _merge_rows(lines), rotated, block_list, top, bottom, body)


def _merge_rows(lines: Sequence[_Line]) -> list[_Line]:
    """Merge fragments that sit on one baseline next to each other into one row.

    Some producers write every word as its own line ("Hea" "vy" "Mesons" ...); columns side by
    side stay apart because the gap between them is wide.
    """
    ordered = sorted(lines, key=lambda ln: ln.base)
    bands: list[list[_Line]] = []
    for ln in ordered:
        if bands:
            ref = bands[-1][0]
            tol = 0.3 * max(min(ref.size, ln.size), 1.0)
            if abs(ln.base - ref.base) <= tol:
                bands[-1].append(ln)
                continue
        bands.append([ln])
    rows: list[_Line] = []
    for band in bands:
        band.sort(key=lambda ln: ln.left)
        current = band[0]
        merged = _Line(
            current.text,
            current.plain,
            current.size,
            current.top,
            current.bottom,
            current.left,
            current.right,
            current.base,
            current.bold,
            current.block,
        )
        for ln in band[1:]:
            size = max(min(merged.size, ln.size), 1.0)
            gap = ln.left - merged.right
            ratio = ln.size / merged.size if merged.size else 1.0
            if -0.5 * size <= gap <= 0.9 * size and 0.6 <= ratio <= 1.7:
                sep = "" if gap < 0.15 * size or merged.text.endswith(" ") else " "
                merged.text += sep + ln.text
                merged.plain += sep + ln.plain
                merged.right = max(merged.right, ln.right)
                merged.top = min(merged.top, ln.top)
                merged.bottom = max(merged.bottom, ln.bottom)
                if len(ln.text.strip()) > len(merged.text.strip()) // 2:
                    merged.size = max(merged.size, ln.size)
                merged.bold = merged.bold and ln.bold
            else:
                rows.append(merged)
                merged = _Line(
                    ln.text,
                    ln.plain,
                    ln.size,
                    ln.top,
                    ln.bottom,
                    ln.left,
                    ln.right,
                    ln.base,
                    ln.bold,
                    ln.block,
                )
        rows.append(merged)
    # Rows stay in baseline order, left to right within a baseline.
    for row in rows:
        row.text = _clean(row.text)
        row.plain = _clean(row.plain)
    return [row for row in rows if row.text]


# ============================================================================================
# Patterns
# ============================================================================================

_REFERENCES_HEADING_RE = re.compile(
    r"^\s*(?:(?:\d{1,2}|[IVX]{1,5}|[A-Z])\.?\s+)?"
    r"(references?(?:\s+and\s+notes)?|bibliography|literature\s+cited|works\s+cited|"
    r"cited\s+literature|reference\s+list|r\s?e\s?f\s?e\s?r\s?e\s?n\s?c\s?e\s?s)\s*:?\s*$",
    re.IGNORECASE,
)
_REFERENCES_LINE_RE = re.compile(
    r"(?im)^[ \t]*(?:(?:\d{1,2}|[IVX]{1,5}|[A-Z])\.?[ \t]+)?"
    r"(?:references?(?:[ \t]+and[ \t]+notes)?|bibliography|literature[ \t]+cited|works[ \t]+cited|"
    r"cited[ \t]+literature|reference[ \t]+list)[ \t]*:?[ \t]*$"
)
_REFERENCE_WORDS = (
    "eference",
    "EFERENCE",
    "ibliograph",
    "IBLIOGRAPH",
    "ited",
    "ITED",
    "R E F",
    "R e f",
)


def _may_hold_references_heading(text: str) -> bool:
    return any(word in text for word in _REFERENCE_WORDS)


_ABSTRACT_RE = re.compile(
    r"^\s*(?:a\s?b\s?s\s?t\s?r\s?a\s?c\s?t|summary)\b\s*[:.\-—–]?\s*(.*)$", re.IGNORECASE
)
_KEYWORDS_RE = re.compile(
    r"^\s*(?:key\s*words?(?:\s+and\s+phrases)?|keywords|index\s+terms|subject\s+terms|"
    r"author\s+keywords)\b\s*[:.\-—–]?\s*(.*)$",
    re.IGNORECASE,
)
_SECTION_HEADING_RE = re.compile(
    r"^\s*(?:(?:\d{1,2}(?:\.\d{1,2})*|[IVX]{1,5})\.?\s*)?"
    r"(?:introduction|background|methods?|materials\s+and\s+methods|results|discussion|"
    r"conclusions?|main|preliminaries|related\s+work|overview|motivation)\s*$",
    re.IGNORECASE,
)
_ABSTRACT_STOP_RE = re.compile(
    r"^\s*(?:\*?\s*correspond|e-?mail|©|\(c\)\s*\d|copyright|received\b|accepted\b|published\b|"
    r"communicated\s+by|citation\s*:|editor\s*:|article\s+history|doi\b|https?://|"
    r"this\s+article\s+(?:is|belongs)|program\s+summary|pacs\b|msc\b|jel\b|ams\s+subject|"
    r"ccs\s+concepts|acm\s+reference|abbreviations\b)",
    re.IGNORECASE,
)
_HEADING_KEYS = frozenset(
    [
        "abstract",
        "abstracts",
        "summary",
        "introduction",
        "keywords",
        "keyword",
        "contents",
        "background",
        "references",
        "acknowledgements",
        "acknowledgments",
        "highlights",
        "graphicalabstract",
        "articleinfo",
        "articlehistory",
        "tableofcontents",
        "disclaimer",
        "preface",
        "foreword",
        "correspondence",
        "notes",
    ]
)
_BANNER_WORDS = frozenset(
    "original research review article articles paper papers open access brief short full rapid "
    "communication communications report reports case letter letters note notes editorial "
    "commentary perspective perspectives mini systematic invited technical special protocol "
    "study clinical trial meta-analysis viewpoint opinion news highlight highlights preprint "
    "accepted manuscript author version correspondence erratum corrigendum retraction reprint "
    "feature features focus issue regular contribution contributions section investigation "
    "investigations science advances the and of to".split()
)
_HEADER_RE = re.compile(
    r"""(?ix)
    doi\s*[:.]?\s*10\. | \b10\.\d{4,9}/ | https?:// | \bwww\. | @ | © | \(c\)\s*(?:19|20)\d\d
  | \bcopyright\b | \bissn\b | \bisbn\b | \bvol(?:ume)?\.?\s*\d | \bno\.\s*\d | \bpp\.\s*\d
  | \bpages?\s+\d+\s*[-–] | \bpage\s+\d+\s+of\s+\d+ | \breceived\s*[:\d] | \baccepted\s*[:\d]
  | \bpublished\s*(?:online)?\s*[:\d] | \bavailable\s+online\b | \bjournal\s+homepage\b
  | \bcontents\s+lists\s+available\b | \bdownloaded\s+from\b | \ball\s+rights\s+reserved\b
  | \bcreative\s+commons\b | \blicen[cs]ee\b | \(\s*(?:19|20)\d\d\s*\)\s*[,;:]?\s*\d
  | \b(?:19|20)\d\d\s*[;,]\s*\d+\s*[(:] | \bet\s+al\. | \bdraft\s*: | \bpreprint\s+(?:no|series)
  | \bproceedings\b | \bin\s+press\b | \barxiv\s*:
    """
)
_MASTHEAD_RE = re.compile(
    r"(?i)\bjournal\s+homepage\b|\bcontents\s+lists?\s+available\b|\bhomepage\s*:\s*www\."
)
_VENUE_START_RE = re.compile(
    r"^(?:the\s+)?(?:[\w&.'’-]+\s+){0,4}?"
    r"(?:journal|proceedings|transactions|annals|bulletin|archives|acta)\b",
    re.IGNORECASE,
)
_VENUE_END_RE = re.compile(
    r"\b(?:journal|letters|reviews|reports|magazine|communications)\s*$", re.IGNORECASE
)
_VENUE_FILLER = frozenset("of the and for on in & de la für fur der des du".split())
_AFFILIATION_RE = re.compile(
    r"""(?ix)
    universi | universit[äé] | \bdept\b | department | departamento | d[ée]partement | institut
  | \bschool\b | college | laborator | \blab\b | hospital | \bclinic | \bcent(?:er|re)\b
  | faculty | facult[ée] | academy | academia | \bdivision\b | foundation | corporation
  | \binc\b | \bltd\b | \bgmbh\b | \bunit\b | \bprogram(?:me)?\b | ministry | \bstreet\b
  | \bavenue\b | \broad\b | \bp\.?\s?o\.?\s*box\b | \bbox\s+\d | \bcampus\b | \bcedex\b
  | \bsciences?\b | \bengineering\b | \bresearch\b | \bcorresponding\b | \bemail\b | e-mail
  | \bkey\s+laboratory\b | \bpolytechnic | \bpolitecnico\b | \bhochschule\b | \bcnrs\b | \binserm\b
  | \bnih\b | \bnational\b | \bfederal\b | \bstate\s+key\b
  """
)
_COVER_MARKERS = (
    "citable link",
    "terms of use",
    "as published",
    "openly available",
    "this article was downloaded by",
    "please scroll down for article",
    "to cite this article",
    "to link to this article",
    "full terms & conditions",
    "full terms and conditions",
    "publication details, including instructions",
    "your use of the jstor archive",
    "stable url",
    "jstor is a not-for-profit",
    "take down policy",
    "general rights",
    "link to publication",
    "document version",
    "citation for published version",
    "version of record",
    "this version is available at",
    "persistent url",
    "persistent link",
    "brought to you for free and open access",
    "accepted manuscript",
    "to appear in",
    "please cite this article as",
    "pii:",
    "rights / license",
    "research collection",
    "downloaded from",
    "usage rights",
    "copyright and moral rights",
    "original citation",
    "item type",
    "available at:",
    "this is the author",
    "published version",
)
_DOI_HINT_RE = re.compile(r"10\.\d{4,9}/")
_PMID_HINT_RE = re.compile(r"PMID|PubMed|pmid|PUBMED|Pubmed")
_ARXIV_HINT_RE = re.compile(r"(?i:arxiv)")
_DATA_DOI_PREFIXES = (
    "10.5281/",
    "10.6084/",
    "10.5061/",
    "10.17632/",
    "10.7910/",
    "10.1594/",
    "10.17605/",
    "10.24433/",
    "10.25504/",
    "10.5255/",
)
_DATA_WORDS_RE = re.compile(
    r"\b(data(?:set)?s?|code|software|supplement(?:ary)?|available\s+(?:at|from)|repository|"
    r"zenodo|figshare|dryad|github|archived)\b",
    re.IGNORECASE,
)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_YEAR = r"(1[89]\d\d|20\d\d)"
_YEAR_PATTERNS: tuple[tuple[re.Pattern[str], float], ...] = (
    (
        re.compile(
            rf"(?i)\b(?:published(?:\s+online)?|available\s+online|epub(?:lished)?(?:\s+ahead)?|"
            rf"issue\s+date|online\s+publication\s+date)\b[^\n]{{0,40}}?\b{_YEAR}\b"
        ),
        6.0,
    ),
    (re.compile(rf"\(\s*{_YEAR}\s*\)\s*[,;:]?\s*\d"), 6.0),
    (re.compile(rf"\b{_YEAR}\s*[;,]\s*\d+\s*[(:]"), 5.0),
    (re.compile(rf"\d+\s*\(\s*\d+\s*\)\s*:\s*\w+(?:\s*[-–]\s*\w+)?\s*[,;.]?\s*{_YEAR}\b"), 6.0),
    (re.compile(rf"(?i)(?:©|\(c\)|c\u20dd|\bcopyright\b)[^\n]{{0,60}}?{_YEAR}\b"), 4.0),
    (
        re.compile(
            rf"(?i)\b(?:proceedings|conference|workshop|symposium|congress|meeting)\b"
            rf"[^\n]{{0,160}}?\b{_YEAR}\b"
        ),
        3.0,
    ),
    (re.compile(rf"\(\s*{_YEAR}\s*\)"), 2.5),
    (re.compile(rf"(?i)\b{_MONTHS}\s+(?:\d{{1,2}},?\s+)?{_YEAR}\b"), 2.0),
    (re.compile(rf"(?i)\b\d{{1,2}}\s+{_MONTHS}\s+{_YEAR}\b"), 2.0),
)
_CONFERENCE_RE = re.compile(
    r"(?i)\b(?:proceedings|conference|symposium|workshop|congress|meeting|colloquium)\b"
)
_DATE_LINE_RE = re.compile(r"(?i)\b(received|accepted|revised|submitted)\b")


# ============================================================================================
# Metadata in the PDF (Info dictionary and XMP)
# ============================================================================================


@dataclass(slots=True)
class _Embedded:
    titles: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    subject: str = ""
    keywords: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    journal: str = ""
    year: int | None = None
    arxiv: str = ""
    pmid: str = ""


def _xmp_values(xmp: str, tag: str) -> list[str]:
    """Values of an XMP property: simple element, rdf:Alt/Seq/Bag items, or attribute."""
    out: list[str] = []
    for m in re.finditer(rf"(?is)<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", xmp):
        inner = m.group(1)
        items = re.findall(r"(?is)<rdf:li(?:\s[^>]*)?>(.*?)</rdf:li>", inner)
        out.extend(items if items else [inner])
    for m in re.finditer(rf"(?i)\s{tag}\s*=\s*\"([^\"]*)\"", xmp):
        out.append(m.group(1))
    cleaned = [_clean(html.unescape(re.sub(r"<[^>]+>", " ", v))) for v in out]
    return [v for v in cleaned if v]


def _read_embedded(info: dict[str, Any], xmp: str) -> _Embedded:
    emb = _Embedded()
    title = _clean(str(info.get("title") or ""))
    if title:
        emb.titles.append(title)
    emb.subject = _clean(str(info.get("subject") or ""))
    author = _clean(str(info.get("author") or ""))
    if author:
        emb.authors.extend(
            a.strip() for a in re.split(r";|,\s*(?=\S+\s+\S)|\band\b", author) if a.strip()
        )
    kw = str(info.get("keywords") or "")
    doi_sources = [emb.subject, kw, title]
    if xmp:
        emb.titles.extend(_xmp_values(xmp, "dc:title"))
        creators = _xmp_values(xmp, "dc:creator")
        if creators and not emb.authors:
            emb.authors = creators
        for tag in (
            "prism:doi",
            "pdfx:doi",
            "crossmark:DOI",
            "dc:identifier",
            "prism:url",
            "pdfx:DOI",
        ):
            doi_sources.extend(_xmp_values(xmp, tag))
        for tag in ("prism:publicationName", "prism:PublicationName"):
            names = _xmp_values(xmp, tag)
            if names and not emb.journal:
                emb.journal = names[0]
        for tag in ("prism:coverDate", "prism:publicationDate", "prism:coverDisplayDate"):
            for value in _xmp_values(xmp, tag):
                m = re.search(r"\b(1[89]\d\d|20\d\d)\b", value)
                if m and emb.year is None:
                    emb.year = int(m.group(1))
        if not kw:
            kw = "; ".join(_xmp_values(xmp, "pdf:Keywords"))
        descriptions = _xmp_values(xmp, "dc:description")
        doi_sources.extend(descriptions)
        for value in _xmp_values(xmp, "dc:identifier"):
            arxiv = normalize_arxiv_id(value) if "arxiv" in value.lower() else None
            if arxiv:
                emb.arxiv = arxiv
    for src in doi_sources:
        if "10." in src:
            doi = normalize_doi(src)
            if doi and doi_key(doi) not in {doi_key(d) for d in emb.dois}:
                emb.dois.append(doi)
        if not emb.arxiv and "arxiv" in src.lower():
            found = find_arxiv_ids(src)
            if found:
                emb.arxiv = found[0][0]
        if not emb.pmid:
            pmids = find_pmids(src)
            if pmids:
                emb.pmid = pmids[0][0]
    if kw:
        emb.keywords = [k.strip() for k in re.split(r"[;,]", kw) if k.strip()]
    return emb


_JUNK_TITLE_RE = re.compile(
    r"""(?ix)
    ^\s*microsoft\s+(?:word|powerpoint|excel)\b | ^\s*untitled\b | ^\s*document\d*\s*$
  | ^\s*(?:title|paper\s+title|manuscript|article|pdf|no\s+title|template|draft)\s*$
  | \.(?:docx?|pdf|dvi|tex|ps|eps|rtf|odt|indd|qxd|qxp|wpd|txt|fm|p65|pm\d|sam|wps|xml|html?)\b
  | use\s+style | \blatex\b | \btemplate\b | instructions?\s+for\s+authors | author\s+guidelines
  | ^\s*proceedings\b | \bproceedings\s+of\b | ^\s*\d[\d\s._-]*$ | \.\.\d | \bslides?\b
  | ^\s*(?:chapter|section|part)\s+\d+\s*$ | \bconference\s+on\b | \bsymposium\s+on\b
  | ^\s*[\w.-]+\s*$
    """
)


def _plausible_embedded_title(title: str, journal_names: Sequence[str]) -> bool:
    """Not junk: file names, producer leftovers, templates, venue names, lone words."""
    text = title.strip()
    if len(text) < 8 or _letters(text) < 6 or len(text) > 400:
        return False
    if _JUNK_TITLE_RE.search(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    if digits > 0.3 * len(text.replace(" ", "")):
        return False
    if "_" in text and " " not in text.strip():
        return False
    key = normalize_title_key(text)
    return all(key != normalize_title_key(j) for j in journal_names if j)


# ============================================================================================
# Title
# ============================================================================================


@dataclass(slots=True)
class _Group:
    lines: list[_Line]
    size: float

    @property
    def text(self) -> str:
        return _clean(_join_lines(ln.text for ln in self.lines))

    @property
    def top(self) -> float:
        return self.lines[0].top

    @property
    def bottom(self) -> float:
        return self.lines[-1].bottom

    @property
    def bold(self) -> bool:
        return all(ln.bold for ln in self.lines)


def _is_banner(text: str) -> bool:
    words = re.findall(r"[\w-]+", text.lower())
    return bool(words) and len(words) <= 6 and all(w in _BANNER_WORDS for w in words)


def _is_venue(text: str, journal_names: Sequence[str]) -> bool:
    key = normalize_title_key(text)
    for name in journal_names:
        nk = normalize_title_key(name)
        if nk and (key == nk or (len(key) >= 6 and key in nk)):
            return True
    text = text.strip()
    if not (_VENUE_START_RE.search(text) or _VENUE_END_RE.search(text)):
        return False
    words = re.findall(r"[^\W\d_][\w'’.-]*", text)
    if not words or len(words) > 9:
        return False
    return all(w[0].isupper() or w.lower() in _VENUE_FILLER for w in words)


def _is_heading(text: str) -> bool:
    key = normalize_title_key(re.sub(r"^\s*(?:\d+|[IVX]+)\.?\s+", "", text))
    return key in _HEADING_KEYS or bool(_SECTION_HEADING_RE.match(text))


def _is_weak(ln: _Line) -> bool:
    """A row that may end a title but not start one: a banner word ("Review") or a short
    token ("MMP-13", "perspectives") alone on its line."""
    return _is_banner(ln.text) or (len(ln.text.split()) <= 2 and _letters(ln.text) < 8)


def _line_excluded(ln: _Line, layout: _Layout, journal_names: Sequence[str]) -> bool:
    text = ln.text
    if _letters(text) < 2 or (len(text) >= 10 and _is_garbage(text)):
        return True
    if _HEADER_RE.search(text) or _is_heading(text):
        return True
    if _is_venue(text, journal_names):
        return True
    # A lone word or number in the top margin is a running head or page number.
    return layout.rel(ln.top) < 0.08 and len(text.split()) <= 2 and ln.size <= layout.body_size


def _same_size(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= max(tol, 0.04 * max(a, b))


def _group_rows(
    rows: Sequence[_Line],
    *,
    tol: float,
    same_style: bool,
    stop: Callable[[_Line], bool] | None = None,
    weak: Callable[[_Line], bool] | None = None,
) -> list[_Group]:
    """Rows grouped into blocks of one size that follow each other closely and overlap
    horizontally (or share a centre).  ``stop(line)`` ends a block before ``line``; a
    ``weak(line)`` row ("Review", "perspectives" alone on a line) may carry a block on but
    never starts one."""
    groups: list[_Group] = []
    for ln in rows:
        placed = False
        for grp in reversed(groups[-6:]):
            last = grp.lines[-1]
            if not _same_size(last.size, ln.size, tol):
                continue
            if same_style and last.bold != ln.bold:
                continue
            size = max(last.size, ln.size, 1.0)
            gap = ln.top - last.bottom
            if gap < -0.5 * size or gap > 0.9 * size:
                continue
            overlap = min(last.right, ln.right) - max(last.left, ln.left)
            centre = abs((last.left + last.right) / 2 - (ln.left + ln.right) / 2)
            if overlap <= 0 and centre > 2 * size:
                continue
            if stop is not None and stop(ln):
                continue
            grp.lines.append(ln)
            placed = True
            break
        if not placed and not (weak is not None and weak(ln)):
            groups.append(_Group([ln], ln.size))
    return groups


def _valid_title_text(text: str) -> bool:
    words = text.split()
    if _letters(text) < 6 or len(words) > 60:
        return False
    if len(words) == 1 and _letters(text) < 5:
        return False
    if _HEADER_RE.search(text) or _is_heading(text) or _is_banner(text):
        return False
    return not _is_garbage(text)


@dataclass(slots=True)
class _TitlePick:
    text: str
    group: _Group | None
    confident: bool


def _title_from_layout(
    layout: _Layout, journal_names: Sequence[str], next_page_key: str
) -> _TitlePick | None:
    rows = layout.rows
    if not rows:
        return None
    abstract_top = None
    for ln in rows:
        if _ABSTRACT_RE.match(ln.text) and layout.rel(ln.top) < 0.9:
            abstract_top = ln.top
            break
    body = layout.body_size
    # Everything above "journal homepage: ..." is the journal's masthead (Elsevier & co.).
    masthead = max(
        (ln.bottom for ln in rows if layout.rel(ln.top) < 0.4 and _MASTHEAD_RE.search(ln.text)),
        default=layout.top - 1,
    )
    usable = [
        ln
        for ln in rows
        if ln.top > masthead
        and layout.rel(ln.top) < 0.75
        and (abstract_top is None or ln.top < abstract_top)
        and ln.size >= 0.88 * body
        and not _line_excluded(ln, layout, journal_names)
    ]
    threshold = body + max(0.8, 0.08 * body)
    big = [ln for ln in usable if ln.size >= threshold]
    if big:
        groups = _group_rows(big, tol=0.3, same_style=False, weak=_is_weak)
        scored: list[tuple[float, float, _Group]] = []
        for grp in groups:
            text = grp.text
            if not _valid_title_text(text) or _is_venue(text, journal_names):
                continue
            if len(grp.lines) > 6:
                continue
            score = grp.size
            if layout.degenerate_sizes and next_page_key:
                key = normalize_title_key(text)
                if len(key) >= 10 and key in next_page_key[:800]:
                    score *= 1.25
            scored.append((score, -grp.top, grp))
        if scored:
            scored.sort(key=lambda t: (round(t[0] * 4) / 4, t[1]), reverse=True)
            best = scored[0][2]
            confident = best.size >= body * 1.15 and not layout.degenerate_sizes
            return _TitlePick(best.text, best, confident)

    # Nothing stands out by size: take the first title-like block at the top of the page.
    def stops(ln: _Line) -> bool:
        return bool(_author_line(ln.plain)) or bool(_AFFILIATION_RE.search(ln.text))

    candidates = [ln for ln in usable if layout.rel(ln.top) < 0.5 and ln.size >= 0.88 * body]
    groups = _group_rows(candidates, tol=0.6, same_style=True, stop=stops, weak=_is_weak)
    fallback: list[_Group] = []
    for grp in groups:
        if len(grp.lines) > 4:
            continue  # a paragraph
        text = grp.text
        first = grp.lines[0]
        if not _valid_title_text(text) or len(text.split()) < 3 or not text[0].isupper():
            continue
        if _author_line(first.plain) or _AFFILIATION_RE.search(first.text):
            continue
        if len(text.split()) > 30 or (text.endswith(".") and len(text.split()) > 15):
            continue
        fallback.append(grp)
    if not fallback:
        return None
    bold = [grp for grp in fallback if grp.bold and not all(ln.bold for ln in usable)]
    best = (bold or fallback)[0]
    return _TitlePick(best.text, best, False)


def _choose_title(
    pick: _TitlePick | None,
    embedded: Sequence[str],
    page_keys: str,
    journal_names: Sequence[str],
) -> tuple[str, _Group | None]:
    """Cross-check the typographic title against the embedded ones."""
    verified: list[str] = []
    for raw in embedded:
        for cand in (raw, *re.split(r"\s+[-|–]\s+", raw)[:1]):
            cand = cand.strip()
            if not _plausible_embedded_title(cand, journal_names):
                continue
            key = normalize_title_key(cand)
            if len(key) >= 8 and key in page_keys and cand not in verified:
                verified.append(cand)
    typo = pick.text if pick else ""
    group = pick.group if pick else None
    if not verified:
        return typo, group
    emb = verified[0]
    if not typo:
        return emb, None
    tkey, ekey = normalize_title_key(typo), normalize_title_key(emb)
    if tkey == ekey or _similar(typo, emb) >= 0.9:
        if _is_all_caps(typo) or any(ch in typo for ch in "\ufffd"):
            return emb, group
        return typo, group
    if tkey in ekey:
        return emb, group  # the typographic block missed a line
    if ekey in tkey:
        return typo, group
    # They disagree.  Trust the page when its title stands out; else the embedded one.
    if pick is not None and pick.confident:
        return typo, group
    return emb, None


# ============================================================================================
# Authors
# ============================================================================================

_NAME_PARTICLES = frozenset(
    "van von de der den del della di da dos das du le la ten ter vander zu st. bin ibn al el "
    "ó o' mac mc ní nic uí giolla".split()
)
_NAME_STOPWORDS = frozenset(
    """university department institute school college laboratory lab hospital center centre
    faculty academy division abstract introduction keywords summary journal vol volume and the
    of for in on at with by from to a an is are we this that our using based new analysis study
    review article research open access received accepted published email correspondence
    street road avenue usa uk china germany france japan italy spain canada australia india
    korea brazil member fellow senior ieee prof professor student
    chapter section table figure cell cells stem stromal mesenchymal exosome exosomes vesicle
    vesicles extracellular therapy therapies disease diseases injury model models system
    systems method methods treatment clinical trial trials patients human mouse rat data
    network networks learning software evolution protein gene genes cancer tumor tumour
    regeneration repair inflammation""".split()
)
_TITLE_MARKERS_RE = re.compile(r"[*†‡§¶∗#✉⁎♯♮•¹²³⁴⁵⁶⁷⁸⁹⁰]|\d+")
_EMAIL_RE = re.compile(r"\S+@\S+|\{[^}]*\}\s*@\S+")
_HONORIFIC_RE = re.compile(
    r"(?i)\b(?:dr|prof|mr|mrs|ms|sir)\.?\s+(?=[A-Z])"
    r"|,\s*(?:ph\.?\s?d|m\.?d|msc|bsc|mba|mph|frcp?s?|dphil|dds|rn)\b\.?(?=\s*(?:[,;]|$|and\b))"
)
_IEEE_RE = re.compile(
    r"(?i),?\s*\b(?:(?:senior|life|student)\s+)?(?:member|fellow)\b(?:,?\s*(?:ieee|acm|osa|spie))?"
)


def _name_tokens_ok(tokens: Sequence[str]) -> bool:
    if not 2 <= len(tokens) <= 5:
        return False
    if tokens[-1].endswith(".") and tokens[-1].rstrip(".").lower() not in {"jr", "sr"}:
        return False  # the family name is not an initial
    vancouver = bool(re.fullmatch(r"[A-Z]{1,3}", tokens[-1])) and _letters(tokens[0]) >= 2
    if _letters(tokens[-1]) < 2 and not vancouver:
        return False
    capitals = 0
    for i, tok in enumerate(tokens):
        low = tok.lower().strip(",")
        if low in _NAME_STOPWORDS:  # "A." is an initial, "a" is not a name
            return False
        if low in _NAME_PARTICLES and 0 < i < len(tokens) - 1:
            continue
        if not re.fullmatch(r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*\.?|(?:[^\W\d_]\.-?)+", tok):
            return False
        if tok[0].isupper():
            capitals += 1
        else:
            return False
    return capitals >= 2


def _make_author(tokens: list[str]) -> Author:
    if all(_is_all_caps(t) or len(t) <= 2 for t in tokens) and any(len(t) > 3 for t in tokens):
        tokens = [_smart_title_case(t) if len(t) > 2 or not t.endswith(".") else t for t in tokens]
    # Vancouver style "Alabsi S" / "Alhadainy HA": initials come last, without dots.
    if len(tokens) >= 2 and re.fullmatch(r"[A-Z]{1,3}", tokens[-1]) and len(tokens[0]) > 1:
        return Author(" ".join(tokens[:-1]), tokens[-1])
    suffix = ""
    if tokens[-1].rstrip(".").lower() in {"jr", "sr", "ii", "iii", "iv"} and len(tokens) > 2:
        suffix = " " + tokens[-1]
        tokens = tokens[:-1]
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in _NAME_PARTICLES:
        start -= 1
    family = " ".join(tokens[start:]) + suffix
    given = " ".join(tokens[:start])
    return Author(family, given)


def _author_line(text: str) -> list[Author] | None:
    """The authors on a byline, or ``None`` when ``text`` does not read as one."""
    text = _EMAIL_RE.sub(" ", text)
    text = _IEEE_RE.sub(" ", text)
    text = _HONORIFIC_RE.sub(" ", text)
    if not text.strip() or re.search(r"https?:|www\.|\(|\)|:", text):
        return None
    marked = bool(_TITLE_MARKERS_RE.search(text))
    text = _TITLE_MARKERS_RE.sub(" ", text)
    text = re.sub(r"(?<=\w),(?:\s*[a-z](?=[,\s]|$))+", ",", text)  # "Oskooi,a,c" markers
    pieces = re.split(r"(?i)\s*(?:,|;|·|•|\||&|\band\b|\s{3,})\s*", text)
    authors: list[Author] = []
    bad = 0
    for piece in pieces:
        tokens = [t for t in piece.replace("\u00a0", " ").split() if t not in {"'", "’", "''"}]
        tokens = [t.strip("'’`\"") for t in tokens]
        tokens = [t for t in tokens if t and not re.fullmatch(r"[a-z]", t)]
        if not tokens:
            continue
        if _name_tokens_ok(tokens):
            authors.append(_make_author(tokens))
        else:
            bad += 1
    if not authors or bad > len(authors) // 3:
        return None
    if len(authors) == 1 and not marked and len(pieces) == 1:
        # A lone name-like line: accept only with the shape of a person's name.
        tokens = pieces[0].split()
        if len(tokens) > 5:
            return None
    return authors


def _continues(prev: _Line, ln: _Line) -> bool:
    """``ln`` is the next line of the same paragraph as ``prev``."""
    size = max(prev.size, ln.size, 1.0)
    gap = ln.top - prev.bottom
    overlap = min(prev.right, ln.right) - max(prev.left, ln.left)
    return (
        -0.3 * size <= gap <= 0.8 * size
        and overlap > 0
        and abs(prev.size - ln.size) <= 0.5
        and prev.bold == ln.bold
    )


_NAME_SPLIT_RE = re.compile(r"(?i)\s*(?:,|;|·|&|\band\b)\s*")


def _carries_on(previous: str, text: str) -> bool:
    """A byline line goes on in ``text``: the line above ends with a separator or with half a
    name ("... and Kwame"), or ``text`` starts with the rest of one ("van der Berg, ...")."""
    if re.search(r"(?i)(?:[,;&·]|\band)\s*$", previous.strip()):
        return True
    last = _NAME_SPLIT_RE.split(_TITLE_MARKERS_RE.sub(" ", previous).strip())[-1].split()
    first = _NAME_SPLIT_RE.split(_TITLE_MARKERS_RE.sub(" ", text).strip())[0].split()
    return len(last) == 1 or not _name_tokens_ok(first)


def _authors_from_layout(layout: _Layout, after: float, limit: float) -> list[Author]:
    """Names on the byline rows between the title and the abstract.

    A byline wrapped over several lines is read as one text, so a name broken at the line
    end ("... Kwame Le" / "Blanc, ...") stays whole.  When the names are set apart from the
    affiliations by style (bold, or another size) the whole region is read, so author grids
    (name, affiliation, name, affiliation) come out whole; otherwise reading stops at the
    first row after the names that is not a name.
    """
    bylines: list[tuple[list[_Line], str, list[Author]]] = []
    name_style: tuple[float, bool] | None = None
    grid: bool | None = None  # decided at the first row after the first names
    for ln in layout.rows:
        if ln.top < after - 1 or ln.top > limit:
            continue
        text = ln.plain or ln.text
        if _ABSTRACT_RE.match(text) or _KEYWORDS_RE.match(text) or _is_heading(text):
            if not bylines:
                continue
            if any(
                min(b.right, ln.right) - max(b.left, ln.left) > 0
                for rows, _t, _a in bylines
                for b in rows
            ):
                break
            continue
        stripped = _EMAIL_RE.sub("", text).strip(" ,;")
        if not stripped or _letters(stripped) < 2:
            continue
        affiliation = bool(_AFFILIATION_RE.search(text))
        style = (round(ln.size * 2) / 2, ln.bold)
        # The byline goes on from the line above?
        if bylines and not affiliation:
            rows, joined, names = bylines[-1]
            if _continues(rows[-1], ln) and _carries_on(joined, text):
                longer = _author_line(joined + " " + text)
                if longer and len(longer) >= len(names):
                    bylines[-1] = ([*rows, ln], joined + " " + text, longer)
                    continue
        found = None if affiliation else _author_line(text)
        if found and (name_style is None or grid is None or style == name_style):
            if name_style is None:
                name_style = style
            bylines.append(([ln], text, found))
            continue
        if name_style is None:
            continue  # a subtitle or a venue line above the byline
        if not any(_overlaps(ln, b.left, b.right) for rows, _t, _a in bylines for b in rows):
            continue  # another column (body text beside a one-column byline)
        if grid is None:
            grid = affiliation and style != name_style
        if grid:
            continue
        break
    # Two authors may share a name (Wang Wei and Wang Wei): no de-duplication here.
    return [author for _rows, _text, names in bylines for author in names]


def _authors_from_embedded(names: Sequence[str], page_text: str) -> list[Author]:
    out: list[Author] = []
    for name in names:
        tokens = name.split()
        if not _name_tokens_ok(tokens):
            continue
        author = _make_author(tokens)
        if author.family and author.family.lower() in page_text.lower():
            out.append(author)
    return out


# ============================================================================================
# Abstract, keywords, year, journal
# ============================================================================================


def _overlaps(a: _Line, left: float, right: float) -> bool:
    return min(a.right, right) - max(a.left, left) > 0


def _abstract_from_layout(layout: _Layout) -> str:
    """The text after an "Abstract" heading, up to the next heading, keywords or notes.

    Lines beside the abstract's column (an "Article info" column, a margin box) are passed
    over, so the abstract is read down its own column.
    """
    lines = layout.raw_lines
    for i, ln in enumerate(lines):
        m = _ABSTRACT_RE.match(_clean(ln.text))
        if not m or layout.rel(ln.top) > 0.9:
            continue
        rest = m.group(1).strip()
        if rest and rest[0].islower() and len(rest.split()) < 3:
            continue  # "Summary of ..." in running text
        parts = [rest] if rest else []
        size = None
        last = ln
        left, right = ln.left, ln.right
        for nxt in lines[i + 1 :]:
            text = _clean(nxt.text)
            if not text:
                continue
            if not _overlaps(nxt, left, right) or nxt.top < ln.top - 2:
                continue
            if (
                _KEYWORDS_RE.match(text)
                or _is_heading(text)
                or _ABSTRACT_STOP_RE.match(text)
                or _REFERENCES_HEADING_RE.match(text)
            ):
                break
            if size is None:
                size = nxt.size
            elif abs(nxt.size - size) > max(1.0, 0.12 * size):
                break
            if nxt.top - last.bottom > 3.5 * max(size, 1.0) and nxt.top > last.top:
                break
            parts.append(text)
            last = nxt
            left, right = min(left, nxt.left), max(right, nxt.right)
            if sum(len(p) for p in parts) > 6000:
                break
        abstract = _clean(_join_lines(parts))
        if len(abstract) >= 40:
            return abstract
    return ""


def _keywords_from_layout(layout: _Layout) -> list[str]:
    """The items of a "Keywords:" line and the lines that carry it on (same column)."""
    lines = layout.raw_lines
    for i, ln in enumerate(lines):
        text = _clean(ln.text)
        m = _KEYWORDS_RE.match(text)
        if not m:
            continue
        parts = [m.group(1).strip()]
        last = ln
        for nxt in lines[i + 1 : i + 12]:
            more = _clean(nxt.text)
            if not more or not _overlaps(nxt, ln.left, max(ln.right, last.right)):
                continue
            if (
                nxt.top < last.top
                or abs(nxt.size - ln.size) > 1.0
                or nxt.top - last.bottom > 1.5 * max(ln.size, 1.0)
                or _is_heading(more)
                or _ABSTRACT_STOP_RE.match(more)
                or _KEYWORDS_RE.match(more)
                or re.match(r"^[A-Z][\w ]{0,30}:", more)
                or _HEADER_RE.search(more)
                or len(parts) >= 6
            ):
                break
            if parts[-1].rstrip().endswith(".") and len(more.split()) > 8:
                break
            parts.append(more)
            last = nxt
        parts = [p for p in parts if p]
        if not parts:
            continue
        if len(parts) > 1 and not any(re.search(r"[;,·•|]", p) for p in parts):
            items = parts  # one keyword a line (Elsevier's "Keywords:" column)
        else:
            items = re.split(r"\s*[;,·•|]\s*|\s+[—–]\s+", _join_lines(parts))
        out: list[str] = []
        for item in items:
            item = item.strip(" .;:")
            if item and len(item) <= 80 and item.lower() not in {k.lower() for k in out}:
                out.append(item)
        if out:
            return out
    return []


_ANY_YEAR_RE = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)")


def _year_scores(lines: Iterable[str], scores: Counter[int]) -> None:
    """Add each line's evidence for a year of publication to ``scores`` (tenths of points):
    a "Published" date or a citation line counts more than a copyright line, a month and a
    year less, and "Received"/"Accepted" dates least."""
    last_ok = date.today().year + 1
    for line in lines:
        if not _ANY_YEAR_RE.search(line):
            continue
        dated = bool(_DATE_LINE_RE.search(line))
        best: dict[int, float] = {}
        for pattern, w in _YEAR_PATTERNS:
            for m in pattern.finditer(line):
                year = int(m.group(1))
                if 1900 <= year <= last_ok:
                    value = 1.0 if dated else w
                    best[year] = max(best.get(year, 0.0), value)
        for year, value in best.items():
            scores[year] += round(value * 10)


_VENUE_LINE_PATTERNS = (
    # "International Psychogeriatrics (2014), 26:1, 147–154", "Empir Softw Eng (2023) 28:132"
    re.compile(
        r"^(?P<name>[A-Z][^()\d]{2,90}?)\s*\(\s*(?:19|20)\d\d\s*\)\s*[,;:]?\s*"
        r"(?P<vol>\d+)(?:\s*:\s*(?P<issue>\d+))?(?:\s*[,:]\s*(?P<pages>[\dA-Za-z]+(?:\s*[-–]\s*\d+)?))?"
    ),
    # "BMC Health Services Research 2014, 14:1", "Stem Cell Res Ther 2019;10:340"
    re.compile(
        r"^(?P<name>[A-Z][^()\d]{2,90}?)\s+(?:19|20)\d\d\s*[,;]\s*(?P<vol>\d+)"
        r"(?:\s*\((?P<issue>[^)]+)\))?\s*:\s*(?P<pages>[\dA-Za-z]+(?:\s*[-–]\s*\d+)?)"
    ),
    # "IEEE TRANSACTIONS ON ..., VOL. 7, NO. 5, OCTOBER 1997"
    re.compile(
        r"^(?P<name>[A-Z][^,]{4,120}?),\s*VOL\.?\s*(?P<vol>\d+)(?:,\s*NO\.?\s*(?P<issue>\d+))?",
        re.IGNORECASE,
    ),
    # "Cells 2021, 10, 1234." (MDPI)
    re.compile(
        r"^(?P<name>[A-Z][A-Za-z&.'’ -]{1,80}?)\s+(?:19|20)\d\d\s*,\s*(?P<vol>\d+)\s*,"
        r"\s*(?P<pages>[\dA-Za-z]+(?:\s*[-–]\s*\d+)?)\s*(?:[.;]|$)"
    ),
    # "Molecular Biology Reports 2025" (a running head with the year only)
    re.compile(r"^(?P<name>[A-Z][A-Za-z&.'’ -]{3,80}?)\s+(?:19|20)\d\d\s*$"),
    # "Dhaka Univ. J. Pharm. Sci. 8(1): 7-10, 2009 (June)"
    re.compile(
        r"^(?P<name>[A-Z][^\d]{2,80}?)\s+(?P<vol>\d+)\s*\((?P<issue>[^)]+)\)\s*:\s*"
        r"(?P<pages>\d+\s*[-–]\s*\d+),?\s*(?:19|20)\d\d"
    ),
    # "Z. Naturforsch. 54 a, 272-273 (1999)"
    re.compile(
        r"^(?P<name>[A-Z][^\d]{2,60}?)\s+(?P<vol>\d+)\s*[a-z]?,\s*(?P<pages>\d+\s*[-–]\s*\d+)"
        r"\s*\(\s*(?:19|20)\d\d\s*\)"
    ),
)
_PROCEEDINGS_RE = re.compile(
    r"(?i)^(?:in\s+)?(?P<name>proceedings\s+of\s+.+?)(?:,\s*pages?\b|,\s*pp\.|$)"
)


@dataclass(slots=True)
class _Venue:
    journal: str = ""
    booktitle: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""


def _venue_from_lines(lines: Iterable[str]) -> _Venue:
    venue = _Venue()
    for raw in lines:
        line = re.sub(r"^.*?\bet\s+al\.?\s*[:,]?\s*", "", raw).strip()
        line = re.sub(r"^\d+\s+", "", line)  # a page number printed before the venue line
        if not venue.journal:
            for pattern in _VENUE_LINE_PATTERNS:
                m = pattern.match(line)
                if m:
                    name = m.group("name").strip(" ,;:-")
                    if name.endswith(".") and "." not in name[:-1]:
                        name = name[:-1]
                    if len(name.split()) > 12 or _letters(name) < 3:
                        continue
                    if _is_all_caps(name):
                        name = _smart_title_case(name)
                    venue.journal = name
                    groups = m.groupdict()
                    venue.volume = groups.get("vol") or ""
                    venue.issue = (groups.get("issue") or "").strip()
                    venue.pages = re.sub(r"\s+", "", groups.get("pages") or "")
                    break
        if not venue.booktitle:
            m = _PROCEEDINGS_RE.match(line)
            if m and len(m.group("name")) < 250:
                venue.booktitle = m.group("name").strip(" ,.")
    return venue


# ============================================================================================
# Identifier evidence
# ============================================================================================


@dataclass(slots=True)
class _Evidence:
    scores: dict[str, float] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    pages: dict[str, set[int]] = field(default_factory=dict)

    def add(self, value: str, score: float, order: float, key: str | None = None) -> None:
        k = key if key is not None else value
        self.scores[k] = self.scores.get(k, 0.0) + score
        self.shown.setdefault(k, value)
        self.first_seen[k] = min(self.first_seen.get(k, order), order)

    def best(self, threshold: float) -> str:
        if not self.scores:
            return ""
        key = max(self.scores, key=lambda k: (self.scores[k], -self.first_seen.get(k, 0.0)))
        return self.shown[key] if self.scores[key] >= threshold else ""


def _footnote_start(text: str) -> bool:
    return bool(re.match(r"^\s*(?:\d{1,2}|[*†‡§¶a-z])\s*(?:https?:|doi|10\.)", text, re.IGNORECASE))


_SELF_CITE_RE = re.compile(
    r"(?i)\bcite\s+this|\bcitation\s*:|\bhow\s+to\s+cite|\bplease\s+cite|\bpublished\s+online"
    r"|\breceived\b|\baccepted\b|©|\bcopyright\b|\blicen[cs]e|\bopen\s+access|\bas\s+published"
    r"|\bthis\s+(?:article|version|paper)\b|\bpreprint\s+doi|\bdigital\s+object\s+identifier"
)
_OTHER_WORK_RE = re.compile(
    r"(?i)\boriginal\s+(?:article|paper|version)|\bcorrection\s+to\b|\berratum\s+to\b"
    r"|\bretraction\s+of\b|\bcomment(?:ary)?\s+on\b|\breply\s+to\b|\bin\s+response\s+to\b"
    r"|\brelated\s+article|\bsee\s+also\b|\bupdated?\s+(?:version|of)\b"
)
_CITED_CUE_RE = re.compile(r"(?i)\bsee\b|\bcf\.|\bet\s+al\.|\bin\s*:")


def _doi_adjustment(doi: str, context: str, title_key: str, *, margin: bool) -> float:
    """What the words around a page-1 DOI say about whose DOI it is (added to its score).

    "et al." and "see" in the text around a DOI mark a citation of another work, except in
    the page margins, where "Smith et al. Journal 2020" is the paper's own running head.
    """
    score = 0.0
    if doi.lower().startswith(_DATA_DOI_PREFIXES):
        score -= 3.0
    if _DATA_WORDS_RE.search(context):
        score -= 2.0
    if _footnote_start(context):
        score -= 2.0
    if _OTHER_WORK_RE.search(context):
        score -= 4.0  # an erratum or a comment prints the DOI of the work it is about
    mentions_title = len(title_key) >= 12 and title_key[:60] in normalize_title_key(context)
    if mentions_title or _SELF_CITE_RE.search(context):
        score += 1.0
    elif not margin and _CITED_CUE_RE.search(context):
        score -= 2.5
    return score


def _masthead_journal(layouts: Sequence[_Layout]) -> str:
    """The journal name printed large above "journal homepage: ..." (Elsevier & co.)."""
    for lay in layouts[:1]:
        marks = [ln for ln in lay.rows if lay.rel(ln.top) < 0.4 and _MASTHEAD_RE.search(ln.text)]
        if not marks:
            continue
        bottom = max(ln.bottom for ln in marks)
        above = [
            ln
            for ln in lay.rows
            if ln.bottom <= bottom and not _MASTHEAD_RE.search(ln.text) and _letters(ln.text) >= 3
        ]
        if above:
            big = max(above, key=lambda ln: ln.size)
            if big.size > lay.body_size and len(big.text.split()) <= 10:
                return big.text
    return ""


def _stamp_year(layouts: Sequence[_Layout]) -> int | None:
    """The year in an arXiv margin stamp ("... 24 Apr 2015", "... 09 Dec 94")."""
    for lay in layouts:
        for ln in lay.rotated:
            line = _clean(ln.text)
            if parse_arxiv_stamp(line):
                m = re.search(r"(\d{2,4})\s*$", line)
                if m:
                    year = int(m.group(1))
                    if year < 100:
                        year += 1900 if year >= 90 else 2000
                    return year
    return None


# ============================================================================================
# The extractor
# ============================================================================================


class _Extractor:
    def __init__(self, doc: Any, max_text_chars: int | None) -> None:
        self.doc = doc
        self.max_text_chars = max_text_chars
        self.warnings: list[str] = []
        self.page_count: int = doc.page_count
        self.texts: list[str] = []
        self.textpages: dict[int, Any] = {}
        self.pages: dict[int, Any] = {}
        self.ref_start: tuple[int, int] | None = None  # (page, offset in that page's text)
        self.doi_evidence = _Evidence()
        self.pmcid_evidence = _Evidence()
        self.failed_pages: list[int] = []

    # -- text of every page ------------------------------------------------------------------

    def _page_text(self, index: int) -> str:
        try:
            page = self.doc.load_page(index)
            tp = page.get_textpage(flags=_TEXT_FLAGS)
            text: str = tp.extractText()
        except Exception as exc:  # a broken content stream must not stop the import
            log.debug("page %d unreadable: %s", index + 1, exc)
            self.failed_pages.append(index + 1)
            return ""
        if index < 3:
            self.pages[index] = page
            self.textpages[index] = tp
        elif self.ref_start is None and "10." in text and _DOI_HINT_RE.search(text):
            # Running heads and footers of body pages; the reference list is not read.
            self._scan_page_blocks(index, page, tp)
        return text

    def _read_all_text(self) -> None:
        total = 0
        for index in range(self.page_count):
            text = self._page_text(index)
            if self.max_text_chars is not None and total + len(text) > self.max_text_chars:
                keep = max(self.max_text_chars - total, 0)
                self.texts.append(text[:keep])
                self.warnings.append(
                    f"text cut at {self.max_text_chars} characters (page {index + 1} of "
                    f"{self.page_count}); the rest of the document is not searchable"
                )
                break
            self.texts.append(text)
            total += len(text) + 1
            if self.ref_start is None and index > 0 and _may_hold_references_heading(text):
                m = _REFERENCES_LINE_RE.search(text)
                if m:
                    self.ref_start = (index, m.start())

    # -- identifiers on later pages -----------------------------------------------------------

    def _scan_page_blocks(self, index: int, page: Any, tp: Any) -> None:
        """DOIs in the running heads and footers of a later page (cheap: block boxes only)."""
        try:
            blocks = tp.extractBLOCKS()
            rect = page.rect
            rotated = page.rotation != 0
            matrix = page.rotation_matrix
        except Exception:
            return
        height = max(rect.height, 1.0)
        for x0, y0, x1, y1, btext, _bno, btype in blocks:
            if btype != 0 or "10." not in btext:
                continue
            box = _mupdf.Rect(x0, y0, x1, y1) * matrix if rotated else None
            left = (box.x0 if box is not None else x0) - rect.x0
            right = (box.x1 if box is not None else x1) - rect.x0
            top = (box.y0 if box is not None else y0) - rect.y0
            bottom = (box.y1 if box is not None else y1) - rect.y0
            width = max(rect.width, 1.0)
            margin = (
                bottom / height <= 0.1
                or top / height >= 0.9
                or right / width <= 0.08  # text set up the side of the page ("Downloaded
                or left / width >= 0.92  # from ... by guest on ...")
            )
            if not margin:
                continue  # DOIs in the body of later pages are cited works, data, figures
            for doi, _pos in find_dois(btext):
                key = doi_key(doi)
                seen = self.doi_evidence.pages.setdefault(key, set())
                if index not in seen and len(seen) < 4:
                    seen.add(index)
                    self.doi_evidence.add(doi, 2.0, 1000.0 + index, key)

    def _layout(self, index: int) -> _Layout | None:
        tp = self.textpages.get(index)
        page = self.pages.get(index)
        if tp is None or page is None:
            return None
        try:
            data = tp.extractDICT()
            layout = _build_layout(data, page, index, extent_sizes=False)
            sizes = sorted(ln.size for ln in layout.raw_lines)
            if sizes and sizes[len(sizes) // 2] < 3.0:
                # Type3 fonts that report tiny sizes: measure the glyphs instead.
                flags = _TEXT_FLAGS | pymupdf.TEXT_ACCURATE_BBOXES
                accurate = page.get_textpage(flags=flags)
                layout = _build_layout(accurate.extractDICT(), page, index, extent_sizes=True)
                layout.degenerate_sizes = True
        except Exception as exc:
            log.debug("page %d layout unreadable: %s", index + 1, exc)
            return None
        return layout

    def _word_count(self, index: int) -> int:
        return len(self.texts[index].split()) if index < len(self.texts) else 0

    def _is_cover(self, index: int) -> bool:
        """A repository or publisher cover sheet: short, and worded like one."""
        if index >= len(self.texts):
            return False
        words = self.texts[index].lower().split()
        if len(words) > 450:  # an article's first page says more
            return False
        text = " ".join(words)
        return sum(1 for marker in _COVER_MARKERS if marker in text) >= 2

    def _analysis_pages(self) -> tuple[int, list[int]]:
        """The page holding the title, and every page read for first-page evidence."""
        first = 0
        for index in range(min(3, len(self.texts))):
            if self._word_count(index) >= 30:
                first = index
                break
        pages = [first]
        following = first + 1
        if (
            self._is_cover(first)
            and following < len(self.texts)
            and self._word_count(following) >= 30
        ):
            pages.append(first + 1)
            return first + 1, pages
        return first, pages

    # -- main -------------------------------------------------------------------------------------

    def run(self) -> PdfExtraction:
        info, xmp = self._metadata()
        self._read_all_text()
        if self.doc.is_repaired:
            self.warnings.append("the file was damaged; MuPDF repaired it while reading")
        if self.failed_pages:
            shown = ", ".join(str(p) for p in self.failed_pages[:10])
            extra = len(self.failed_pages) - 10
            more = f" and {extra} more" if extra > 0 else ""
            self.warnings.append(f"text of page(s) {shown}{more} could not be read")
        text = "\f".join(self.texts)
        nonspace = len("".join(text.split()))
        rich_pages = sum(1 for t in self.texts if len(t.strip()) >= 200)
        has_text = nonspace >= 50 and (rich_pages >= 1 or nonspace >= 40 * self.page_count)
        if not has_text:
            self.warnings.append("no text layer: the PDF looks scanned; run OCR to search it")

        emb = _read_embedded(info, xmp)
        ref = Reference()
        if has_text:
            self._analyse(ref, emb)
        else:
            self._from_embedded_only(ref, emb)
        self.textpages.clear()
        self.pages.clear()
        return PdfExtraction(ref, text, self.page_count, has_text, self.warnings)

    def _metadata(self) -> tuple[dict[str, Any], str]:
        info: dict[str, Any] = {}
        xmp = ""
        try:
            info = dict(self.doc.metadata or {})
        except Exception:
            self.warnings.append("the document information dictionary is unreadable")
        try:
            xmp = str(self.doc.get_xml_metadata() or "")
        except Exception:
            self.warnings.append("the XMP metadata is unreadable")
        return info, xmp

    def _from_embedded_only(self, ref: Reference, emb: _Embedded) -> None:
        journals = [j for j in (emb.journal, emb.subject) if j]
        for title in emb.titles:
            if _plausible_embedded_title(title, journals):
                ref.title = title
                break
        if emb.dois:
            ref.doi = emb.dois[0]
        ref.arxiv = emb.arxiv
        ref.pmid = emb.pmid
        ref.journal = emb.journal
        ref.year = emb.year
        ref.keywords = list(emb.keywords)

    def _analyse(self, ref: Reference, emb: _Embedded) -> None:
        title_page, pages = self._analysis_pages()
        layouts: dict[int, _Layout] = {}
        for index in pages:
            lay = self._layout(index)
            if lay is not None:
                layouts[index] = lay
        for index in sorted(self.pages):
            if index not in pages:
                in_refs = self.ref_start is not None and self.ref_start[0] < index
                if not in_refs and _DOI_HINT_RE.search(self.texts[index]):
                    self._scan_page_blocks(index, self.pages[index], self.textpages[index])
        journal_names = [n for n in (emb.journal, emb.subject.split(",")[0]) if n]
        group = self._title(ref, emb, layouts, title_page, pages, journal_names)
        layout = layouts.get(title_page)
        if layout is not None:
            after = group.bottom if group is not None else layout.top
            ref.authors = _authors_from_layout(layout, after, after + 0.35 * layout.height)
        if not ref.authors and emb.authors:
            ref.authors = _authors_from_embedded(emb.authors, self.texts[title_page])
        self._abstract_and_keywords(ref, layouts, title_page)
        if not ref.keywords:
            ref.keywords = list(emb.keywords)
        covers = pages[:1] if len(pages) > 1 else []
        self._first_page_identifiers(ref, [layouts[i] for i in pages if i in layouts], emb, covers)
        ref.trial_ids = find_trial_ids(self._text_before_references())
        self._year_and_venue(ref, emb, [layouts[i] for i in pages if i in layouts])

    def _title(
        self,
        ref: Reference,
        emb: _Embedded,
        layouts: dict[int, _Layout],
        title_page: int,
        pages: Sequence[int],
        journal_names: Sequence[str],
    ) -> _Group | None:
        """Set ``ref.title``; return the block of page lines it was read from, if any."""
        next_key = ""
        if title_page + 1 < len(self.texts):
            next_key = normalize_title_key(_clean(self.texts[title_page + 1][:1500]))
        last = min(title_page + 2, len(self.texts))
        page_keys = "".join(
            normalize_title_key(_clean(self.texts[i])) for i in range(title_page, last)
        )
        layout = layouts.get(title_page)
        pick = _title_from_layout(layout, journal_names, next_key) if layout else None
        cover_layout = layouts.get(pages[0]) if title_page != pages[0] else None
        if cover_layout is not None:
            # A repository cover repeats the title, often more cleanly (no small caps).
            cover = _title_from_layout(cover_layout, journal_names, "")
            if cover and pick and _similar(cover.text, pick.text) >= 0.85:
                cleaner = cover if len(cover.text) >= len(pick.text) - 2 else pick
                pick = _TitlePick(cleaner.text, pick.group, pick.confident)
            elif cover and not pick:
                pick = cover
        title, group = _choose_title(pick, emb.titles, page_keys, journal_names)
        title = _clean(title).strip(" .,;:*∗†")
        if _is_all_caps(title):
            title = _smart_title_case(title)
        ref.title = title
        return group

    def _abstract_and_keywords(
        self, ref: Reference, layouts: dict[int, _Layout], title_page: int
    ) -> None:
        for index in (title_page, title_page + 1):
            lay = layouts.get(index)
            if lay is None and index == title_page + 1 and index in self.pages:
                lay = self._layout(index)  # the abstract may start on the next page
            if lay is None:
                continue
            if not ref.abstract:
                ref.abstract = _abstract_from_layout(lay)
            if not ref.keywords:
                ref.keywords = _keywords_from_layout(lay)
            if ref.abstract:
                break

    def _year_and_venue(self, ref: Reference, emb: _Embedded, layouts: Sequence[_Layout]) -> None:
        scores: Counter[int] = Counter()
        lines: list[str] = []
        margin: list[str] = []
        for lay in layouts:
            for ln in lay.rows:
                lines.append(ln.text)
                if lay.rel(ln.top) < 0.15 or lay.rel(ln.bottom) > 0.85:
                    margin.append(ln.text)
            lines.extend(_clean(ln.text) for ln in lay.rotated)
        lines = lines[: self._first_page_refs_cut(lines)]
        _year_scores(lines, scores)
        last_ok = date.today().year + 1
        for line in margin:  # a running head that ends in the year
            m = re.search(r"[A-Za-z)][,.]?\s+(1[89]\d\d|20\d\d)\s*$", line)
            if m and 1900 <= int(m.group(1)) <= last_ok:
                scores[int(m.group(1))] += 25
        if emb.year:
            scores[emb.year] += 60
        stamp_year = _stamp_year(layouts)
        if stamp_year:
            scores[stamp_year] += 25
        if scores:
            # The file's creation date is no evidence: PDFs are made and remade years later.
            ref.year = max(scores, key=lambda y: (scores[y], y))

        venue = _venue_from_lines(margin + lines[:40])
        ref.journal = emb.journal or venue.journal or _masthead_journal(layouts)
        subject = re.split(r",\s*doi\b", emb.subject, flags=re.IGNORECASE)[0].strip()
        booktitle = venue.booktitle
        if not ref.journal and subject and len(subject.split()) <= 15:
            if _CONFERENCE_RE.search(subject):
                booktitle = booktitle or subject
            elif _is_venue(subject, ()):
                ref.journal = subject
        if booktitle and not ref.journal:
            ref.booktitle = booktitle
            ref.entry_type = "inproceedings"
        if venue.journal and normalize_title_key(venue.journal) == normalize_title_key(ref.journal):
            ref.volume, ref.issue, ref.pages = venue.volume, venue.issue, venue.pages

    @staticmethod
    def _first_page_refs_cut(lines: Sequence[str]) -> int:
        for i, line in enumerate(lines):
            if _REFERENCES_HEADING_RE.match(line):
                return i
        return len(lines)

    def _text_before_references(self) -> str:
        if self.ref_start is None:
            return "\n".join(self.texts)
        page, offset = self.ref_start
        return "\n".join([*self.texts[:page], self.texts[page][:offset]])

    def _first_page_identifiers(
        self,
        ref: Reference,
        layouts: Sequence[_Layout],
        emb: _Embedded,
        layouts_cover: Sequence[int] = (),
    ) -> None:
        """DOI, PMID, PMCID and arXiv id of the paper from its first page(s) and metadata.

        A page-1 DOI outside the reference list scores 6 in the page margins, in small print
        or on a repository cover, 2.5 in the body text, 1 more after a "doi" label and less
        next to words about data or as a footnote; the metadata's DOI scores 8; running heads
        and footers of later pages add 2 a page.  4 is needed.
        """
        covers = set(layouts_cover)
        title_key = normalize_title_key(ref.title)
        evidence = self.doi_evidence
        for doi in emb.dois:
            evidence.add(doi, 8.0, -1.0, doi_key(doi))
        pmids: list[tuple[float, str]] = []
        pmcids: list[tuple[float, str]] = []
        arxiv_margin: list[tuple[float, str]] = []
        arxiv_stamp = ""
        for lay in layouts:
            refs_block = None
            for blk in lay.blocks:
                first_line = blk.text.split("\n", 1)[0]
                if _REFERENCES_HEADING_RE.match(_clean(first_line)) or any(
                    _REFERENCES_HEADING_RE.match(_clean(t)) for t in blk.text.split("\n")
                ):
                    refs_block = blk.index
                    break
            for blk in lay.blocks:
                rel_top, rel_bottom = lay.rel(blk.top), lay.rel(blk.bottom)
                margin = rel_bottom <= 0.12 or rel_top >= 0.88
                if refs_block is not None and blk.index >= refs_block and not margin:
                    continue
                order = lay.page_index * 10 + rel_top
                small = blk.size < lay.body_size - 0.4
                text = blk.text
                seen: set[str] = set()
                for doi, pos in find_dois(text) if "10." in text else ():
                    key = doi_key(doi)
                    before = text[max(0, pos - 12) : pos]
                    labelled = bool(re.search(r"(?i)(doi|doi\.org/)\s*:?\s*$", before))
                    # In the body of page 1 a DOI is as likely to be a cited work's.
                    prominent = margin or small or lay.page_index in covers
                    score = (6.0 if prominent else 2.5) + (1.0 if labelled else 0.0)
                    if key in seen:
                        score = 0.5
                    seen.add(key)
                    score += _doi_adjustment(doi, text, title_key, margin=margin)
                    evidence.add(doi, score, order, key)
                if _PMID_HINT_RE.search(text):
                    pmids.extend((order, pmid) for pmid, _pos in find_pmids(text))
                for pmcid, pos in find_pmcids(text) if "PMC" in text else ():
                    # A PMCID of the paper is printed in a margin or labelled "PMCID".
                    if margin or re.search(r"(?i)pmcid\s*:?\s*$", text[max(0, pos - 10) : pos]):
                        pmcids.append((order, pmcid))
                if margin and _ARXIV_HINT_RE.search(text):
                    for arxiv, _pos in find_arxiv_ids(text):
                        arxiv_margin.append((order, arxiv))
            for ln in lay.rotated:
                line = _clean(ln.text)
                stamp = parse_arxiv_stamp(line)
                if stamp and not arxiv_stamp:
                    arxiv_stamp = stamp
                # Text up the side of the page is a stamp or a download notice: a margin.
                for doi, _pos in find_dois(line):
                    score = 6.0 + _doi_adjustment(doi, line, title_key, margin=True)
                    evidence.add(doi, score, lay.page_index * 10 + 1.0, doi_key(doi))
        # A DOI that extends another one (figure and table DOIs) is not the paper's.
        keys = list(evidence.scores)
        for k in keys:
            for other in keys:
                if k != other and (k.startswith(other + "/") or k.startswith(other + ".")):
                    evidence.scores[k] = min(evidence.scores[k], 0.0)
        ref.doi = evidence.best(4.0)
        ref.pmid = emb.pmid or (min(pmids)[1] if pmids else "")
        ref.pmcid = min(pmcids)[1] if pmcids else ""
        ref.arxiv = arxiv_stamp or emb.arxiv or (min(arxiv_margin)[1] if arxiv_margin else "")
