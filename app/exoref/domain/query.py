"""The search-query language: a small tokenizer and a recursive-descent parser.

The syntax is the one Zotero and JabRef users already know::

    exosome cartilage            both words (implicit AND)
    "stem cell"                  an exact phrase ("…" and „…“ quotes work too)
    a AND b   a OR b   NOT a     boolean operators, upper case only; NOT > AND > OR
    -mouse                       the same as NOT mouse
    (knee OR hip) cartilage      grouping
    title:exosome  author:Müller  tag:"knee OA"  doi:10.1016/j.jcyt.2020.01.001
    year:2019  year:2018..2021  year:2018..  year:..2021  year:>2018  year:>=2018  year:<2020
    exo*                         prefix match ("stem cel"* for a phrase)

Lower-case ``and``/``or``/``not`` are ordinary words, and so is anything that only looks like a
qualifier (``foo:bar``, ``1:10``, ``https://example.org``).

:func:`parse_query` returns a tree of frozen dataclasses (:data:`Node`), or ``None`` for a blank
query.  For any string it either returns or raises :class:`~exoref.errors.QuerySyntaxError`
whose ``position`` is the character offset of the problem; it never raises anything else and
never recurses deeper than :data:`MAX_DEPTH` levels of parentheses.

Pure Python: no SQL, no Qt.  The storage layer turns the tree into SQL/FTS.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, TypeAlias

from exoref.errors import QuerySyntaxError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "FIELDS",
    "FIELD_ALIASES",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "And",
    "Node",
    "Not",
    "Or",
    "Term",
    "YearRange",
    "format_query",
    "needs_fulltext",
    "parse_query",
    "terms",
]

MAX_QUERY_LENGTH: Final = 1000
"""Longer queries are rejected (a pasted abstract is not a query)."""

MAX_DEPTH: Final = 50
"""The deepest nesting of parentheses accepted."""

FIELDS: Final[tuple[str, ...]] = (
    "title",
    "author",
    "journal",
    "doi",
    "tag",
    "abstract",
    "keyword",
    "pmid",
    "citekey",
    "fulltext",
)
"""The normalised field names a :class:`Term` can carry (``year`` is a :class:`YearRange`)."""

FIELD_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {name: name for name in FIELDS} | {"keywords": "keyword", "text": "fulltext"}
)
"""Every qualifier accepted before a colon (lower case) -> its name in :data:`FIELDS`."""

_YEAR: Final = "year"
_KEYWORDS: Final = frozenset({"AND", "OR", "NOT"})


# --- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase to find, in one field (``None``: anywhere, full text included).

    ``text`` is NFC-normalised; a phrase's inner whitespace is collapsed to single spaces.
    ``prefix`` is set by a trailing ``*``, which is not part of ``text``.
    """

    text: str
    field: str | None = None
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class YearRange:
    """Publication years from ``low`` to ``high``, both inclusive; ``None`` is open-ended."""

    low: int | None
    high: int | None


@dataclass(frozen=True, slots=True)
class And:
    """All items match.  From the parser: two or more items, none of them an :class:`And`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any item matches.  From the parser: two or more items, none of them an :class:`Or`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not match.  The parser never nests a Not directly in a Not."""

    item: Node


Node: TypeAlias = Term | YearRange | And | Or | Not


# --- tokenizer ------------------------------------------------------------------------------

# Whitespace and control characters separate tokens.
_SEP: Final = r"\s\x00-\x1f\x7f-\x9f"
_QUOTES: Final = '"\u201c\u201d\u201e'
_WORD_CHAR: Final = f"[^{_SEP}{_QUOTES}()]"
# A word may hold balanced, unnested parentheses after its first character, so that DOIs such
# as 10.1016/S0140-6736(20)30183-5 stay one word; "(" at the start of a word groups.
_WORD_RE: Final = re.compile(f"{_WORD_CHAR}+(?:\\({_WORD_CHAR}*\\){_WORD_CHAR}*)*")
_SEP_RE: Final = re.compile(f"[{_SEP}]+")
_QUOTE_RE: Final = re.compile(f"[{_QUOTES}]")
_YEAR_RE: Final = re.compile(
    r"(?:(?P<op>>=|<=|>|<|=)?(?P<year>[0-9]{1,4})"
    r"|(?P<low>[0-9]{1,4})?(?:\.\.|-|\u2013)(?P<high>[0-9]{1,4})?)"
)
# Lone surrogates are not text: Python makes them of bytes that are not UTF-8 (a command line
# typed in another encoding, ``surrogateescape``), and SQLite cannot take them.
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_YEAR_HELP: Final = "write year:2019, year:2018..2021, year:2018.., year:>2018 or year:<2020"

_Kind: TypeAlias = Literal["term", "and", "or", "not", "(", ")", "end"]
_STARTS_OPERAND: Final = frozenset({"term", "not", "("})


class _Token(NamedTuple):
    kind: _Kind
    pos: int
    text: str
    node: Term | YearRange | None = None


def _error(message: str, position: int) -> QuerySyntaxError:
    return QuerySyntaxError(f"{message} (at character {position + 1})", position=position)


def _shorten(source: str, limit: int = 40) -> str:
    return source if len(source) <= limit else source[: limit - 1] + "…"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    n = len(text)
    i = 0
    while i < n:
        sep = _SEP_RE.match(text, i)
        if sep is not None:
            i = sep.end()
            continue
        ch = text[i]
        if ch == "(":
            tokens.append(_Token("(", i, ch))
            i += 1
        elif ch == ")":
            tokens.append(_Token(")", i, ch))
            i += 1
        elif ch in _QUOTES:
            phrase, prefix, end = _read_phrase(text, i)
            tokens.append(_Token("term", i, text[i:end], Term(phrase, None, True, prefix)))
            i = end
        elif ch == "-":
            if i + 1 == n or text[i + 1] == ")" or _SEP_RE.match(text, i + 1) is not None:
                raise _error('"-" must be directly followed by what to exclude, as in -mouse', i)
            tokens.append(_Token("not", i, ch))
            i += 1
        else:
            word = _WORD_RE.match(text, i)
            # Cannot fail: ch is neither a separator, a quote nor a parenthesis.
            end = word.end() if word is not None else i + 1
            token, i = _word_token(text, i, end)
            tokens.append(token)
    return tokens


def _read_phrase(text: str, start: int) -> tuple[str, bool, int]:
    """The phrase whose opening quote is at ``start``: (text, prefix, end offset)."""
    close = _QUOTE_RE.search(text, start + 1)
    if close is None:
        raise _error('Unclosed quote: add a " at the end of the phrase', start)
    content = _SEP_RE.sub(" ", text[start + 1 : close.start()]).strip(" ")
    if not content:
        raise _error("Empty quotes: put the words to find between them", start)
    end = close.end()
    while end < len(text) and text[end] == "*":
        end += 1
    return unicodedata.normalize("NFC", content), end > close.end(), end


def _qualifier(word: str) -> str | None:
    """The lower-case qualifier ``word`` starts with, if it is a known one (``year`` too)."""
    colon = word.find(":")
    if colon <= 0:
        return None
    name = word[:colon].lower()
    if name != _YEAR and name not in FIELD_ALIASES:
        return None
    if word.startswith("//", colon + 1):  # a URL such as text://..., not a qualifier
        return None
    return name


def _word_token(text: str, start: int, end: int) -> tuple[_Token, int]:
    word = text[start:end]
    if word in _KEYWORDS:
        kind: _Kind = "and" if word == "AND" else "or" if word == "OR" else "not"
        return _Token(kind, start, word), end
    name = _qualifier(word)
    if name is None:
        value, prefix = _strip_star(word, start)
        return _Token("term", start, word, Term(_nfc(value), None, False, prefix)), end
    value = word[word.find(":") + 1 :]
    phrase = False
    prefix = False
    if not value:
        if end < len(text) and text[end] in _QUOTES:
            value, prefix, end = _read_phrase(text, end)
            phrase = True
        else:
            raise _error(
                f'"{word}" must be directly followed by a word or a "quoted phrase", '
                f"as in {name}:exosome",
                start,
            )
    source = text[start:end]
    if name == _YEAR:
        if prefix:
            raise _error(f'"{_shorten(source)}": a year cannot end with "*"; {_YEAR_HELP}', start)
        return _Token("term", start, source, _parse_year(value, source, start)), end
    if not phrase:
        value, prefix = _strip_star(value, start)
    term = Term(_nfc(value), FIELD_ALIASES[name], phrase, prefix)
    return _Token("term", start, source, term), end


def _strip_star(word: str, position: int) -> tuple[str, bool]:
    stem = word.rstrip("*")
    if not stem:
        raise _error('"*" must follow the start of a word, as in exo*', position)
    return stem, len(stem) < len(word)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _parse_year(value: str, source: str, position: int) -> YearRange:
    source = _shorten(source)
    match = _YEAR_RE.fullmatch(value)
    if match is None:
        raise _error(f'"{source}" is not a year or a range of years; {_YEAR_HELP}', position)
    low: int | None
    high: int | None
    if match["year"] is not None:
        year = int(match["year"])
        op = match["op"]
        if op == ">":
            low, high = year + 1, None
        elif op == ">=":
            low, high = year, None
        elif op == "<":
            low, high = None, year - 1
        elif op == "<=":
            low, high = None, year
        else:
            low = high = year
    else:
        low = int(match["low"]) if match["low"] is not None else None
        high = int(match["high"]) if match["high"] is not None else None
        if low is None and high is None:
            raise _error(f'"{source}" needs a year on at least one side; {_YEAR_HELP}', position)
        if low is not None and high is not None and low > high:
            raise _error(f'"{source}" is backwards: write year:{high}..{low}', position)
    if (low is not None and low > 9999) or (high is not None and high < 0):
        raise _error(f'"{source}" matches no year', position)
    return YearRange(low, high)


# --- parser ---------------------------------------------------------------------------------


def _negate(node: Node) -> Node:
    return node.item if isinstance(node, Not) else Not(node)


def _make_and(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, And):
            flat.extend(item.items)
        else:
            flat.append(item)
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _make_or(items: list[Node]) -> Node:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, Or):
            flat.extend(item.items)
        else:
            flat.append(item)
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _nothing_after(op: _Token) -> QuerySyntaxError:
    return _error(f'"{op.text}" needs a search term after it', op.pos)


class _Parser:
    """query := or ; or := and (OR and)* ; and := unary (AND? unary)* ;
    unary := (NOT | -)* primary ; primary := term | "(" or ")"."""

    __slots__ = ("_i", "_tokens")

    def __init__(self, tokens: list[_Token], end: int) -> None:
        self._tokens = [*tokens, _Token("end", end, "")]
        self._i = 0

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        token = self._tokens[self._i]
        if token.kind != "end":
            self._i += 1
        return token

    def parse(self) -> Node:
        node = self._or(0)
        token = self._peek()
        if token.kind != "end":  # only ")" can stop the top level early
            raise _error('")" has no matching "("', token.pos)
        return node

    def _or(self, depth: int) -> Node:
        items = [self._and(depth)]
        while self._peek().kind == "or":
            op = self._next()
            if self._peek().kind not in _STARTS_OPERAND:
                raise _nothing_after(op)
            items.append(self._and(depth))
        return _make_or(items)

    def _and(self, depth: int) -> Node:
        items = [self._unary(depth)]
        while True:
            kind = self._peek().kind
            if kind == "and":
                op = self._next()
                if self._peek().kind not in _STARTS_OPERAND:
                    raise _nothing_after(op)
            elif kind not in _STARTS_OPERAND:
                break
            items.append(self._unary(depth))
        return _make_and(items)

    def _unary(self, depth: int) -> Node:
        negated = False
        while self._peek().kind == "not":  # a loop, not recursion: NOT NOT ... is unbounded
            op = self._next()
            negated = not negated
            if self._peek().kind not in _STARTS_OPERAND:
                raise _nothing_after(op)
        node = self._primary(depth)
        return _negate(node) if negated else node

    def _primary(self, depth: int) -> Node:
        token = self._next()
        if token.kind == "term" and token.node is not None:
            return token.node
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise _error(f"Too many nested parentheses (at most {MAX_DEPTH})", token.pos)
            if self._peek().kind == ")":
                raise _error('Empty parentheses "()"', token.pos)
            if self._peek().kind == "end":
                raise _error('Unclosed parenthesis: add a ")"', token.pos)
            node = self._or(depth + 1)
            if self._peek().kind != ")":
                raise _error('Unclosed parenthesis: add a ")"', token.pos)
            self._next()
            return node
        if token.kind in ("and", "or"):
            raise _error(f'"{token.text}" needs a search term before it', token.pos)
        if token.kind == ")":
            raise _error('")" has no matching "("', token.pos)
        raise _error("The query ends too early", token.pos)


# --- public functions -----------------------------------------------------------------------


def parse_query(text: str) -> Node | None:
    """The tree for ``text``, or ``None`` when it holds nothing to search for.

    Raises :class:`~exoref.errors.QuerySyntaxError` (and nothing else) for a bad query.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise _error(
            f"The query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})",
            MAX_QUERY_LENGTH,
        )
    surrogate = _SURROGATE_RE.search(text)
    if surrogate is not None:
        raise _error(
            f"The query holds a character that is not valid text (U+{ord(surrogate.group()):04X}, "
            "left by bytes that are not UTF-8): type the query again",
            surrogate.start(),
        )
    tokens = _tokenize(text)
    if not tokens:
        return None
    return _Parser(tokens, len(text)).parse()


def _walk(node: Node) -> Iterator[Node]:
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Not):
            stack.append(current.item)
        elif isinstance(current, And | Or):
            stack.extend(reversed(current.items))


def needs_fulltext(node: Node) -> bool:
    """Whether some term (negated or not) may match the full text: field ``None``/fulltext."""
    return any(
        isinstance(n, Term) and (n.field is None or n.field == "fulltext") for n in _walk(node)
    )


def terms(node: Node) -> list[Term]:
    """The terms a match contains (not the negated ones), left to right, without repeats.

    Meant for highlighting matches; year ranges are left out.
    """
    found: dict[Term, None] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, negated = stack.pop()
        if isinstance(current, Term):
            if not negated:
                found.setdefault(current)
        elif isinstance(current, Not):
            stack.append((current.item, not negated))
        elif isinstance(current, And | Or):
            stack.extend((item, negated) for item in reversed(current.items))
    return list(found)


def format_query(node: Node) -> str:
    """``node`` written in the query syntax; ``parse_query`` reads it back as ``node``.

    That holds for every tree :func:`parse_query` returns.  A hand-built term whose text cannot
    be one word (spaces, a keyword, a leading ``-``...) is written as a phrase; double quotes
    inside a term's text cannot be written and become spaces.
    """
    if isinstance(node, Term):
        return _format_term(node)
    if isinstance(node, YearRange):
        if node.low is not None and node.low == node.high:
            return f"year:{node.low}"
        low = "" if node.low is None else str(node.low)
        high = "" if node.high is None else str(node.high)
        return f"year:{low}..{high}"
    if isinstance(node, Not):
        inner = format_query(node.item)
        return f"NOT ({inner})" if isinstance(node.item, And | Or) else f"NOT {inner}"
    if isinstance(node, And):
        return " ".join(
            f"({format_query(item)})" if isinstance(item, Or) else format_query(item)
            for item in node.items
        )
    return " OR ".join(format_query(item) for item in node.items)


def _format_term(term: Term) -> str:
    text = term.text
    qualifier = "" if term.field is None else f"{term.field}:"
    if term.field is None:
        # Bare, the word must not read as an operator, a negation or a qualifier.
        keyword = text in _KEYWORDS and not term.prefix  # AND* is a word
        lexes_alone = not (keyword or text.startswith("-") or _qualifier(text))
    else:
        lexes_alone = not text.startswith("//")  # title://x would read as a URL
    as_word = (
        not term.phrase
        and lexes_alone
        and _WORD_RE.fullmatch(text) is not None
        and not text.endswith("*")
    )
    if as_word:
        body = text
    else:
        body = '"' + _QUOTE_RE.sub(" ", text) + '"'
    return qualifier + body + ("*" if term.prefix else "")
