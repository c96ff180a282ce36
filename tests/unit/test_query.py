"""The search-query parser: every construct, every error, and fuzzing with hypothesis."""

from __future__ import annotations

import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exoref.domain.query import (
    FIELD_ALIASES,
    FIELDS,
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    And,
    Node,
    Not,
    Or,
    Term,
    YearRange,
    format_query,
    needs_fulltext,
    parse_query,
    terms,
)
from exoref.errors import ExorefError, QuerySyntaxError


def w(text: str, field: str | None = None, *, prefix: bool = False) -> Term:
    return Term(text, field, False, prefix)


def p(text: str, field: str | None = None, *, prefix: bool = False) -> Term:
    return Term(text, field, True, prefix)


def AND(*items: Node) -> And:  # noqa: N802 - reads like the query
    return And(items)


def OR(*items: Node) -> Or:  # noqa: N802
    return Or(items)


def syntax_error(query: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    return info.value


# --- blank queries and bare words -----------------------------------------------------------


@pytest.mark.parametrize("query", ["", " ", "   \t\n ", "\x00\x01\x7f", "\u00a0\u2003", "\r\n"])
def test_blank_query_is_none(query: str) -> None:
    assert parse_query(query) is None


def test_single_word() -> None:
    assert parse_query("exosome") == w("exosome")


def test_bare_words_are_and() -> None:
    assert parse_query("exosome cartilage") == AND(w("exosome"), w("cartilage"))


def test_extra_whitespace_is_ignored() -> None:
    assert parse_query("  stem  cell ") == AND(w("stem"), w("cell"))
    assert parse_query("stem\tcell\n") == AND(w("stem"), w("cell"))


def test_control_characters_separate_words() -> None:
    assert parse_query("stem\x00cell\x1bx") == AND(w("stem"), w("cell"), w("x"))


def test_lower_case_operators_are_words() -> None:
    assert parse_query("bone and cartilage or not") == AND(
        w("bone"), w("and"), w("cartilage"), w("or"), w("not")
    )
    assert parse_query("And Or Not") == AND(w("And"), w("Or"), w("Not"))


def test_operator_inside_a_word_is_a_word() -> None:
    assert parse_query("ANDROID ORCA NOTCH") == AND(w("ANDROID"), w("ORCA"), w("NOTCH"))


def test_hyphen_inside_a_word_is_kept() -> None:
    assert parse_query("IL-1β TGF-β1") == AND(w("IL-1β"), w("TGF-β1"))


def test_unicode_words_are_nfc() -> None:
    decomposed = "Mu\u0308ller"
    assert parse_query(decomposed) == w("Müller")
    assert parse_query(f"author:{decomposed}") == w("Müller", "author")
    assert parse_query(f'"{decomposed} K"') == p("Müller K")


def test_word_keeps_case() -> None:
    assert parse_query("MSC-EVs") == w("MSC-EVs")


def test_word_with_balanced_parentheses_stays_one_word() -> None:
    assert parse_query("10.1016/S0140-6736(20)30183-5") == w("10.1016/S0140-6736(20)30183-5")
    assert parse_query("(x OR y(z))") == OR(w("x"), w("y(z)"))


def test_unbalanced_parenthesis_inside_word_groups() -> None:
    assert parse_query("exosome(knee OR hip)") == AND(w("exosome"), OR(w("knee"), w("hip")))


# --- phrases --------------------------------------------------------------------------------


def test_phrase() -> None:
    assert parse_query('"stem cell"') == p("stem cell")


def test_phrase_whitespace_is_collapsed() -> None:
    assert parse_query('"  stem \t\n cell  "') == p("stem cell")


def test_single_word_phrase() -> None:
    assert parse_query('"exosome"') == p("exosome")


def test_phrase_keeps_operators_and_parentheses_literally() -> None:
    assert parse_query('"NOT (a OR b) -c title:x"') == p("NOT (a OR b) -c title:x")


def test_phrase_and_words() -> None:
    assert parse_query('exosome "stem cell" knee') == AND(w("exosome"), p("stem cell"), w("knee"))


def test_phrase_glued_to_words() -> None:
    assert parse_query('a"b c"d') == AND(w("a"), p("b c"), w("d"))


def test_typographic_quotes() -> None:
    assert parse_query("“stem cell”") == p("stem cell")
    assert parse_query("„stem cell“") == p("stem cell")


def test_phrase_prefix() -> None:
    assert parse_query('"stem cel"*') == p("stem cel", prefix=True)
    assert parse_query('"stem cel"** x') == AND(p("stem cel", prefix=True), w("x"))


def test_star_inside_a_phrase_is_literal() -> None:
    assert parse_query('"stem cel*"') == p("stem cel*")


# --- operators, precedence, grouping --------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a AND b", AND(w("a"), w("b"))),
        ("a OR b", OR(w("a"), w("b"))),
        ("NOT a", Not(w("a"))),
        ("-a", Not(w("a"))),
        ("a -b", AND(w("a"), Not(w("b")))),
        ("a NOT b", AND(w("a"), Not(w("b")))),
        ("a AND NOT b", AND(w("a"), Not(w("b")))),
        ("a OR b c", OR(w("a"), AND(w("b"), w("c")))),
        ("a b OR c", OR(AND(w("a"), w("b")), w("c"))),
        ("a AND b OR c AND d", OR(AND(w("a"), w("b")), AND(w("c"), w("d")))),
        ("NOT a b", AND(Not(w("a")), w("b"))),
        ("NOT a OR b", OR(Not(w("a")), w("b"))),
        ("a OR NOT b", OR(w("a"), Not(w("b")))),
        ("(a OR b) c", AND(OR(w("a"), w("b")), w("c"))),
        ("a (b OR c)", AND(w("a"), OR(w("b"), w("c")))),
        ("NOT (a OR b)", Not(OR(w("a"), w("b")))),
        ("-(a b)", Not(AND(w("a"), w("b")))),
        ('-"stem cell"', Not(p("stem cell"))),
        ("-title:mouse", Not(w("mouse", "title"))),
        ("-year:2019", Not(YearRange(2019, 2019))),
        ("(a)", w("a")),
        ("((((a))))", w("a")),
        ("(a)(b)", AND(w("a"), w("b"))),
        ('a"b"(c)', AND(w("a"), p("b"), w("c"))),
    ],
)
def test_operators(query: str, expected: Node) -> None:
    assert parse_query(query) == expected


def test_nested_and_or_are_flattened() -> None:
    assert parse_query("a AND b AND c") == AND(w("a"), w("b"), w("c"))
    assert parse_query("(a b) c (d e)") == AND(w("a"), w("b"), w("c"), w("d"), w("e"))
    assert parse_query("a OR (b OR c) OR d") == OR(w("a"), w("b"), w("c"), w("d"))


def test_mixed_nesting_is_kept() -> None:
    assert parse_query("(a OR b) (c OR d)") == AND(OR(w("a"), w("b")), OR(w("c"), w("d")))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("NOT NOT a", w("a")),
        ("--a", w("a")),
        ("NOT -a", w("a")),
        ("NOT (NOT a)", w("a")),
        ("NOT NOT NOT a", Not(w("a"))),
        ("-(-(-a))", Not(w("a"))),
    ],
)
def test_double_negation_cancels(query: str, expected: Node) -> None:
    assert parse_query(query) == expected


# --- qualifiers -----------------------------------------------------------------------------


def test_fields_constant() -> None:
    assert set(FIELDS) == {
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
    }
    assert set(FIELD_ALIASES.values()) == set(FIELDS)
    assert "year" not in FIELDS


@pytest.mark.parametrize(
    ("qualifier", "field"),
    [
        ("title", "title"),
        ("author", "author"),
        ("journal", "journal"),
        ("doi", "doi"),
        ("tag", "tag"),
        ("abstract", "abstract"),
        ("keyword", "keyword"),
        ("keywords", "keyword"),
        ("pmid", "pmid"),
        ("citekey", "citekey"),
        ("fulltext", "fulltext"),
        ("text", "fulltext"),
        ("TITLE", "title"),
        ("Author", "author"),
        ("KeyWords", "keyword"),
        ("TEXT", "fulltext"),
    ],
)
def test_qualifier(qualifier: str, field: str) -> None:
    assert parse_query(f"{qualifier}:exosome") == w("exosome", field)
    assert parse_query(f'{qualifier}:"stem cell"') == p("stem cell", field)
    assert parse_query(f"{qualifier}:exo*") == w("exo", field, prefix=True)
    assert parse_query(f'{qualifier}:"stem cel"*') == p("stem cel", field, prefix=True)


def test_qualifier_values() -> None:
    assert parse_query("author:Müller") == w("Müller", "author")
    assert parse_query("doi:10.1016/j.jcyt.2020.01.001") == w("10.1016/j.jcyt.2020.01.001", "doi")
    assert parse_query("doi:https://doi.org/10.1/x") == w("https://doi.org/10.1/x", "doi")
    assert parse_query("title:a:b") == w("a:b", "title")
    assert parse_query("title:AND") == w("AND", "title")
    assert parse_query("title:-mouse") == w("-mouse", "title")
    assert parse_query("pmid:31234567") == w("31234567", "pmid")
    assert parse_query("tag:“knee OA”") == p("knee OA", "tag")


def test_qualifiers_combine_with_operators() -> None:
    assert parse_query('title:exosome author:Müller OR tag:"knee OA" -journal:Nature') == OR(
        AND(w("exosome", "title"), w("Müller", "author")),
        AND(p("knee OA", "tag"), Not(w("Nature", "journal"))),
    )


@pytest.mark.parametrize(
    "word",
    [
        "foo:bar",
        "1:10",
        "ratio:2",
        "http://example.org/a?b=c",
        "https://doi.org/10.1/x",
        "text://weird",
        "title://x",
        ":title",
        "a:",
        "Homo:sapiens",
    ],
)
def test_unknown_qualifier_is_a_word(word: str) -> None:
    assert parse_query(word) == w(word)


def test_unknown_qualifier_before_a_phrase() -> None:
    assert parse_query('foo:"bar baz"') == AND(w("foo:"), p("bar baz"))


# --- years ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("year:2019", YearRange(2019, 2019)),
        ("YEAR:2019", YearRange(2019, 2019)),
        ("year:=2019", YearRange(2019, 2019)),
        ("year:2018..2021", YearRange(2018, 2021)),
        ("year:2018..2018", YearRange(2018, 2018)),
        ("year:2018..", YearRange(2018, None)),
        ("year:..2021", YearRange(None, 2021)),
        ("year:2018-2021", YearRange(2018, 2021)),
        ("year:2018–2021", YearRange(2018, 2021)),
        ("year:2018-", YearRange(2018, None)),
        ("year:>2018", YearRange(2019, None)),
        ("year:>=2018", YearRange(2018, None)),
        ("year:<2020", YearRange(None, 2019)),
        ("year:<=2020", YearRange(None, 2020)),
        ('year:"2019"', YearRange(2019, 2019)),
        ('year:"2018..2021"', YearRange(2018, 2021)),
        ("year:0", YearRange(0, 0)),
        ("year:0999", YearRange(999, 999)),
    ],
)
def test_year(query: str, expected: YearRange) -> None:
    assert parse_query(query) == expected


def test_year_with_terms() -> None:
    assert parse_query("exosome year:2018.. -year:2020") == AND(
        w("exosome"), YearRange(2018, None), Not(YearRange(2020, 2020))
    )


# --- prefixes -------------------------------------------------------------------------------


def test_prefix() -> None:
    assert parse_query("exo*") == w("exo", prefix=True)
    assert parse_query("exo** cart*") == AND(w("exo", prefix=True), w("cart", prefix=True))
    assert parse_query("AND* OR*") == AND(w("AND", prefix=True), w("OR", prefix=True))


def test_star_inside_or_before_a_word_is_literal() -> None:
    assert parse_query("a*b") == w("a*b")
    assert parse_query("*exo") == w("*exo")


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ('"stem cel', 0, "Unclosed quote"),
        ('exosome "stem cel', 8, "Unclosed quote"),
        ('title:"stem', 6, "Unclosed quote"),
        ('""', 0, "Empty quotes"),
        ('" \t "', 0, "Empty quotes"),
        ("(a", 0, "Unclosed parenthesis"),
        ("a (b (c)", 2, "Unclosed parenthesis"),
        ("(", 0, "Unclosed parenthesis"),
        ("a)", 1, 'no matching "("'),
        (")", 0, 'no matching "("'),
        ("(a))", 3, 'no matching "("'),
        ("()", 0, "Empty parentheses"),
        ("a ( ) b", 2, "Empty parentheses"),
        ("year:abc", 0, "not a year"),
        ("x year:20199", 2, "not a year"),
        ("year:2019a", 0, "not a year"),
        ("year:..", 0, "at least one side"),
        ("year:2021..2018", 0, "backwards"),
        ("year:2019*", 0, "not a year"),
        ('year:"2019"*', 0, 'cannot end with "*"'),
        ("year:<0", 0, "matches no year"),
        ("year:>9999", 0, "matches no year"),
        ("year:", 0, "must be directly followed"),
        ("year: 2019", 0, "must be directly followed"),
        ("title:", 0, "must be directly followed"),
        ("a title: stem", 2, "must be directly followed"),
        ("title:(a OR b)", 0, "must be directly followed"),
        ("cartilage AND", 10, '"AND" needs a search term after it'),
        ("cartilage OR", 10, '"OR" needs a search term after it'),
        ("a AND OR b", 2, '"AND" needs a search term after it'),
        ("a OR OR b", 2, '"OR" needs a search term after it'),
        ("a OR AND b", 2, '"OR" needs a search term after it'),
        ("(a AND) b", 3, '"AND" needs a search term after it'),
        ("AND a", 0, '"AND" needs a search term before it'),
        ("OR a", 0, '"OR" needs a search term before it'),
        ("a (OR b)", 3, '"OR" needs a search term before it'),
        ("NOT", 0, '"NOT" needs a search term after it'),
        ("a NOT", 2, '"NOT" needs a search term after it'),
        ("NOT NOT", 4, '"NOT" needs a search term after it'),
        ("NOT OR a", 0, '"NOT" needs a search term after it'),
        ("(NOT) a", 1, '"NOT" needs a search term after it'),
        ("-", 0, '"-" must be directly followed'),
        ("a -", 2, '"-" must be directly followed'),
        ("a - b", 2, '"-" must be directly followed'),
        ("(a -)", 3, '"-" must be directly followed'),
        ("-AND", 0, '"-" needs a search term after it'),
        ("*", 0, '"*" must follow'),
        ("a ***", 2, '"*" must follow'),
        ("title:*", 0, '"*" must follow'),
    ],
)
def test_syntax_errors(query: str, position: int, fragment: str) -> None:
    error = syntax_error(query)
    assert error.position == position
    assert fragment in error.user_message
    assert f"(at character {position + 1})" in error.user_message


def test_syntax_error_is_an_exoref_error() -> None:
    error = syntax_error("a AND")
    assert isinstance(error, ExorefError)
    assert str(error) == error.user_message


def test_year_error_message_is_shortened() -> None:
    error = syntax_error("year:" + "9" * 500)
    assert len(error.user_message) < 200


# --- limits ---------------------------------------------------------------------------------


def test_longest_query_is_accepted() -> None:
    query = ("exosome " * 200)[:MAX_QUERY_LENGTH]
    assert len(query) == MAX_QUERY_LENGTH
    assert isinstance(parse_query(query), And)


def test_too_long_query_is_rejected() -> None:
    error = syntax_error("a" * (MAX_QUERY_LENGTH + 1))
    assert error.position == MAX_QUERY_LENGTH
    assert "too long" in error.user_message


def test_too_long_blank_query_is_rejected() -> None:
    assert syntax_error(" " * (MAX_QUERY_LENGTH + 1)).position == MAX_QUERY_LENGTH


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("\ud800", 0),
        ("AND\udcff", 3),  # `exoref search $'AND\xff'`: argv decoded with surrogateescape
        ('exosome "stem \udcc3\udca9 cell"', 14),
        ("a\ud83d\ude00", 1),  # a pair of halves is still not a character
    ],
)
def test_lone_surrogates_are_a_syntax_error(query: str, position: int) -> None:
    error = syntax_error(query)
    assert error.position == position
    assert "not valid text" in error.user_message
    assert f"U+{ord(query[position]):04X}" in error.user_message
    assert "\n" not in error.user_message


def test_real_characters_outside_the_bmp_are_words() -> None:
    assert parse_query("\U0001f600 exosome") == AND(w("\U0001f600"), w("exosome"))


def test_nesting_up_to_the_limit() -> None:
    query = "(" * MAX_DEPTH + "a OR b" + ")" * MAX_DEPTH
    assert parse_query(query) == OR(w("a"), w("b"))


def test_nesting_beyond_the_limit() -> None:
    query = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    error = syntax_error(query)
    assert error.position == MAX_DEPTH
    assert "nested" in error.user_message


@pytest.mark.parametrize(
    "query",
    [
        "(" * MAX_QUERY_LENGTH,
        ")" * MAX_QUERY_LENGTH,
        "(a " * 333,
        "-" * (MAX_QUERY_LENGTH - 1) + "a",
        "NOT " * 249 + "a",
        "a OR " * 199 + "a",
        "-(" * 333,
        "a(" * 500,
        '"' * MAX_QUERY_LENGTH,
    ],
)
def test_pathological_queries_never_recurse_deeply(query: str) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200 + 5 * MAX_DEPTH)  # well below the default 1000
    try:
        parse_query(query)
    except QuerySyntaxError:
        pass
    finally:
        sys.setrecursionlimit(limit)


def test_long_negation_chain_collapses() -> None:
    assert parse_query("-" * 998 + "a") == w("a")
    assert parse_query("-" * 999 + "a") == Not(w("a"))


def test_typical_query_is_fast() -> None:
    query = 'title:exosome (cartilage OR "knee osteoarthritis") -mouse year:2018.. author:Müller'
    parse_query(query)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        parse_query(query)
    assert (time.perf_counter() - start) / runs < 0.001


def test_longest_query_is_fast_enough() -> None:
    query = ('(title:"stem cell" OR exo*) AND NOT year:2018..2020 ' * 20)[:MAX_QUERY_LENGTH]
    start = time.perf_counter()
    try:
        parse_query(query)
    except QuerySyntaxError:
        pass
    assert time.perf_counter() - start < 0.05


# --- helpers over the tree ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("exosome", True),
        ('"stem cell"', True),
        ("fulltext:exosome", True),
        ("text:exosome", True),
        ("title:exosome", False),
        ("title:exosome author:x tag:y year:2019", False),
        ("year:2019", False),
        ("title:a OR b", True),
        ("title:a -b", True),
        ("title:a -(year:2019 OR c)", True),
        ("NOT title:a", False),
    ],
)
def test_needs_fulltext(query: str, expected: bool) -> None:
    node = parse_query(query)
    assert node is not None
    assert needs_fulltext(node) is expected


def test_terms_lists_positive_terms_in_order() -> None:
    node = parse_query('title:exo* (cartilage OR "stem cell") -mouse NOT (rat OR dog) year:2019')
    assert node is not None
    assert terms(node) == [w("exo", "title", prefix=True), w("cartilage"), p("stem cell")]


def test_terms_double_negation_is_positive() -> None:
    assert terms(Not(Not(w("a")))) == [w("a")]
    assert terms(Not(AND(w("a"), Not(w("b"))))) == [w("b")]


def test_terms_without_repeats() -> None:
    node = parse_query("a b a OR a")
    assert node is not None
    assert terms(node) == [w("a"), w("b")]


def test_terms_of_a_single_term_and_of_a_year() -> None:
    assert terms(w("a")) == [w("a")]
    assert terms(YearRange(1, 2)) == []


# --- format_query ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "formatted"),
    [
        ("exosome  cartilage", "exosome cartilage"),
        ('"stem  cell"*', '"stem cell"*'),
        ("a OR b c", "a OR b c"),
        ("(a OR b) c", "(a OR b) c"),
        ("-(a b) -c", "NOT (a b) NOT c"),
        ("TEXT:x Keywords:y", "fulltext:x keyword:y"),
        ("year:>2018 year:<2020 year:2019", "year:2019.. year:..2019 year:2019"),
        ("title:-x foo:bar", "title:-x foo:bar"),
    ],
)
def test_format_query(query: str, formatted: str) -> None:
    node = parse_query(query)
    assert node is not None
    assert format_query(node) == formatted
    assert parse_query(formatted) == node


@pytest.mark.parametrize(
    ("term", "formatted"),
    [
        (w("knee OA", "tag"), 'tag:"knee OA"'),
        (w("AND"), '"AND"'),
        (w("-x"), '"-x"'),
        (w("title:x"), '"title:x"'),
        (w("a*"), '"a*"'),
        (w("(x)"), '"(x)"'),
        (w("//x", "title"), 'title:"//x"'),
        (w('say "hi"'), '"say  hi "'),
        (w("AND", "title"), "title:AND"),
        (w("AND", prefix=True), "AND*"),
    ],
)
def test_format_hand_built_terms(term: Term, formatted: str) -> None:
    assert format_query(term) == formatted
    assert parse_query(formatted) is not None


# --- fuzzing --------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "exosome",
        "cartilage",
        "Müller",
        "IL-1β",
        "stem",
        "exo*",
        "*",
        "a*b",
        "and",
        "or",
        "not",
        "10.1016/S0140-6736(20)30183-5",
        "https://example.org",
        "foo:bar",
        "1:10",
        "x(y",
        "日本語",
        "😀",
        "..",
        ":",
        "-",
        "--x",
    ]
)
_OPERATORS = st.sampled_from(["AND", "OR", "NOT", "-", "(", ")", "(", ")", "*"])
_QUALIFIERS = st.sampled_from(
    [
        *FIELD_ALIASES,
        "year",
        "TITLE",
        "Year",
        "text",
        "http",
        "foo",
    ]
).map(lambda name: name + ":")
_YEAR_VALUES = st.sampled_from(
    [
        *("2019", "2018..2021", "2018..", "..2021", ">2018", ">=2018", "<2020", "<=2020"),
        *("..", "abc", "2021..2018", "2018-2021", "0", "99999", ">9999", "<0", "=2019", "2019*"),
    ]
)
_QUOTES = st.sampled_from(['"', '"', "“", "”", "„"])
_SPACES = st.sampled_from([" ", " ", "  ", "\t", "\n", "\x00", "\x1b", "\u00a0", "\u3000", ""])
_NOISE = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=3)
_TOKENS = st.one_of(
    _WORDS,
    _OPERATORS,
    _QUOTES,
    _SPACES,
    _NOISE,
    st.builds(lambda q, v: q + v, _QUALIFIERS, st.one_of(_WORDS, _YEAR_VALUES, _QUOTES)),
    st.builds(lambda q, v: f'{q}"{v}"', _QUALIFIERS, st.one_of(_WORDS, _YEAR_VALUES)),
    st.builds(lambda a, b: f'"{a} {b}"', _WORDS, _WORDS),
)
_GRAMMAR_QUERIES = st.lists(st.tuples(_TOKENS, _SPACES), max_size=25).map(
    lambda parts: "".join(token + space for token, space in parts)
)


def _check_tree(node: Node, depth: int = 0) -> None:
    """The invariants of the trees parse_query returns."""
    assert depth < 4 * MAX_DEPTH + 10
    if isinstance(node, Term):
        assert node.text
        assert node.field is None or node.field in FIELDS
    elif isinstance(node, YearRange):
        assert node.low is not None or node.high is not None
        if node.low is not None and node.high is not None:
            assert node.low <= node.high
    elif isinstance(node, Not):
        assert not isinstance(node.item, Not)
        _check_tree(node.item, depth + 1)
    else:
        assert len(node.items) >= 2
        for item in node.items:
            assert type(item) is not type(node)
            _check_tree(item, depth + 1)


def _check_query(query: str) -> None:
    error: QuerySyntaxError | None = None
    try:
        node = parse_query(query)
    except QuerySyntaxError as exc:
        error, node = exc, None
    if error is not None:
        assert error.position is not None
        assert 0 <= error.position <= len(query)
        assert error.user_message
        return
    if node is None:
        assert all(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in query)
        return
    _check_tree(node)
    assert parse_query(format_query(node)) == node
    needs_fulltext(node)
    assert all(isinstance(term, Term) for term in terms(node))


@given(st.text())
def test_fuzz_any_text(query: str) -> None:
    _check_query(query)


@given(st.text(alphabet=st.sampled_from('ab ()"*-:“”„\x00\t'), max_size=60))
def test_fuzz_punctuation(query: str) -> None:
    _check_query(query)


@settings(max_examples=500)
@given(_GRAMMAR_QUERIES)
def test_fuzz_grammar(query: str) -> None:
    _check_query(query)


@given(st.text(min_size=MAX_QUERY_LENGTH - 5, max_size=MAX_QUERY_LENGTH + 5))
def test_fuzz_long_text(query: str) -> None:
    _check_query(query)


@given(st.integers(0, 9999), st.integers(0, 9999))
def test_fuzz_year_ranges(low: int, high: int) -> None:
    query = f"year:{low}..{high}"
    if low <= high:
        assert parse_query(query) == YearRange(low, high)
    else:
        assert syntax_error(query).position == 0


@given(st.integers(1, 120))
def test_fuzz_nesting(depth: int) -> None:
    query = "(" * depth + "a" + ")" * depth
    if depth <= MAX_DEPTH:
        assert parse_query(query) == w("a")
    else:
        assert syntax_error(query).position == MAX_DEPTH
