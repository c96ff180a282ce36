"""The full-text search index: everything dialect-specific about search lives here.

SQLite implementation with FTS5.  Two tables:

``search_meta``
    one row per paper (rowid = paper id): title, authors, abstract, keywords, tags, journal.
    Small, so as-you-type search over metadata stays fast however much full text the
    library holds.
``search_body``
    one row per paper that has extracted text: the same metadata columns plus ``body``.
    A query whose words are split between the title and the body (``exosome cartilage``)
    still matches with one FTS5 expression; the row stores the text, so snippets and
    re-indexing need no other copy of it.

Both use the ``unicode61`` tokenizer with ``remove_diacritics 2`` (Müller finds Muller) and
bm25 with title and abstract weighted above the body.  A PostgreSQL library implements the same
functions with ``tsvector`` columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import text

from exoref.domain.query import And, Node, Not, Or, Term, YearRange

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    Executor = Connection | Session

Scope = Literal["all", "metadata"]

#: ``facets`` holds filter tokens (``y2019``, ``ynone``) so that a year range becomes an FTS5
#: OR of a few tokens that the index intersects with the words, instead of a lookup of every
#: matching paper's row; its bm25 weight is 0.
META_COLUMNS = ("title", "authors", "abstract", "keywords", "tags", "journal", "facets")
BODY_COLUMNS = (*META_COLUMNS, "body")
#: bm25 weights, in column order: a word in the title counts ten times one in the body.
META_WEIGHTS = (10.0, 4.0, 5.0, 5.0, 3.0, 1.0, 0.0)
BODY_WEIGHTS = (*META_WEIGHTS, 1.0)

#: Query fields that FTS5 answers, and the column each one searches.
_FTS_FIELDS = {
    "title": "title",
    "author": "authors",
    "abstract": "abstract",
    "keyword": "keywords",
    "journal": "journal",
    "fulltext": "body",
}
#: Query fields answered by plain SQL on the papers table.
_SQL_FIELDS = {"doi", "pmid", "citekey", "tag"}

_TOKENIZER = "unicode61 remove_diacritics 2"
#: Prefix lengths indexed for as-you-type (``macr*``): a prefix not indexed makes FTS5 merge the
#: doclists of every word that starts with it, which doubles the cost of a 4-letter prefix.
_META_PREFIXES = "2 3 4"
_WORD = re.compile(r"\w", re.UNICODE)
_FACET_SNIPPET = re.compile(r"^\[y(?:\d+|none)\]$")


@dataclass(frozen=True, slots=True)
class IndexedDoc:
    """The text of one paper as the index sees it."""

    title: str
    authors: str
    abstract: str
    keywords: str
    tags: str
    journal: str
    year: int | None
    trashed: bool = False

    @property
    def facets(self) -> str:
        return year_token(self.year) + (f" {TRASHED}" if self.trashed else "")


def year_token(year: int | None) -> str:
    return f"y{year}" if year is not None else "ynone"


#: How a year range reads in an FTS5 expression (see :func:`_fts`).
_YEAR_FACETS = "facets : ("
#: The facet token of papers in the trash: searches add ``NOT facets : trashed``.
TRASHED = "trashed"

#: A year range spanning more years than this is filtered in SQL, not as facet tokens.
MAX_FACET_YEARS = 40


@dataclass(frozen=True, slots=True)
class Hit:
    paper_id: int
    score: float
    snippet: str


def create(conn: Connection) -> None:
    _create_tables(conn, "search_meta", "search_body")


def _create_tables(db: Executor, meta: str, body: str) -> None:
    cols = ", ".join(META_COLUMNS)
    db.execute(
        text(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {meta} USING fts5({cols}, "
            f"tokenize = '{_TOKENIZER}', prefix = '{_META_PREFIXES}')"
        )
    )
    db.execute(
        text(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {body} USING fts5({cols}, body, "
            f"tokenize = '{_TOKENIZER}')"
        )
    )


def upgrade_v2(db: Executor) -> None:
    """Schema 1 → 2: add the ``facets`` column and the 4-letter prefix index, keeping every
    indexed row (the text is copied inside SQLite, not re-read from the PDFs)."""
    old = ("title", "authors", "abstract", "keywords", "tags", "journal")
    cols = ", ".join(old)
    picked = ", ".join(f"o.{c}" for c in old)
    facet = (
        "CASE WHEN p.year IS NULL THEN 'ynone' ELSE 'y' || p.year END || "
        f"CASE WHEN p.trashed_at IS NULL THEN '' ELSE ' {TRASHED}' END"
    )
    db.execute(text("ALTER TABLE search_meta RENAME TO search_meta_v1"))
    db.execute(text("ALTER TABLE search_body RENAME TO search_body_v1"))
    _create_tables(db, "search_meta", "search_body")
    db.execute(
        text(
            f"INSERT INTO search_meta (rowid, {cols}, facets) SELECT o.rowid, {picked}, {facet} "
            "FROM search_meta_v1 o JOIN papers p ON p.id = o.rowid"
        )
    )
    db.execute(
        text(
            f"INSERT INTO search_body (rowid, {cols}, facets, body) "
            f"SELECT o.rowid, {picked}, {facet}, o.body "
            "FROM search_body_v1 o JOIN papers p ON p.id = o.rowid"
        )
    )
    db.execute(text("DROP TABLE search_meta_v1"))
    db.execute(text("DROP TABLE search_body_v1"))


# -- writing ---------------------------------------------------------------------------------


def index_paper(
    db: Executor, paper_id: int, doc: IndexedDoc, body: str | None = None, *, new: bool = False
) -> None:
    """(Re)index a paper's metadata; ``body`` replaces its full text when given (``""``
    removes it).  ``new`` skips removing entries a new paper cannot have."""
    values = {"id": paper_id, **{c: getattr(doc, c) for c in META_COLUMNS}}
    if not new:
        if body is None:
            body = body_text(db, paper_id)
        remove(db, paper_id)
    db.execute(_INSERT_META, values)
    if body:
        db.execute(_INSERT_BODY, {**values, "body": body})


_NAMES = ", ".join(META_COLUMNS)
_PARAMS = ", ".join(f":{c}" for c in META_COLUMNS)
_INSERT_META = text(f"INSERT INTO search_meta (rowid, {_NAMES}) VALUES (:id, {_PARAMS})")
_INSERT_BODY = text(
    f"INSERT INTO search_body (rowid, {_NAMES}, body) VALUES (:id, {_PARAMS}, :body)"
)


def remove(db: Executor, paper_id: int) -> None:
    db.execute(text("DELETE FROM search_meta WHERE rowid = :id"), {"id": paper_id})
    db.execute(text("DELETE FROM search_body WHERE rowid = :id"), {"id": paper_id})


def body_text(db: Executor, paper_id: int) -> str | None:
    row = db.execute(text("SELECT body FROM search_body WHERE rowid = :id"), {"id": paper_id})
    first = row.first()
    return str(first[0]) if first else None


def indexed_ids(db: Executor) -> tuple[set[int], set[int]]:
    """The paper ids present in the metadata index and in the body index."""
    meta = {int(r[0]) for r in db.execute(text("SELECT rowid FROM search_meta"))}
    body = {int(r[0]) for r in db.execute(text("SELECT rowid FROM search_body"))}
    return meta, body


def integrity_problems(db: Executor) -> list[str]:
    problems = []
    for table in ("search_meta", "search_body"):
        try:
            db.execute(text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')"))
        except Exception as exc:  # the FTS5 check reports corruption as an SQL error
            problems.append(f"{table}: {exc}")
    return problems


def rebuild(db: Executor) -> None:
    for table in ("search_meta", "search_body"):
        db.execute(text(f"INSERT INTO {table}({table}) VALUES ('rebuild')"))


# -- searching -------------------------------------------------------------------------------


class _UnsupportedError(Exception):
    """The node cannot be written as one FTS5 expression."""


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _fts_term(term: Term) -> str | None:
    if not _WORD.search(term.text):
        return None  # punctuation only: FTS5 would see an empty phrase
    expr = _quote(term.text)
    if term.prefix:
        expr += " *"
    column = _FTS_FIELDS.get(term.field) if term.field else None
    if column:
        expr = f"{column} : {expr}"
    return expr


def _facet_years(node: YearRange) -> list[int] | None:
    if node.low is None or node.high is None or node.high - node.low >= MAX_FACET_YEARS:
        return None
    return list(range(node.low, node.high + 1))


def _is_fts(node: Node) -> bool:
    if isinstance(node, YearRange):
        return _facet_years(node) is not None
    if isinstance(node, Term):
        return node.field is None or node.field in _FTS_FIELDS
    if isinstance(node, Not):
        return _is_fts(node.item)
    if isinstance(node, And | Or):
        return all(_is_fts(i) for i in node.items)
    return False


def _fts(node: Node) -> str | None:
    """One FTS5 expression for a node made only of text terms (None: matches everything)."""
    if isinstance(node, Term):
        return _fts_term(node)
    if isinstance(node, YearRange):
        years = _facet_years(node) or []
        return "facets : (" + " OR ".join(year_token(y) for y in years) + ")"
    if isinstance(node, And):
        positives = [e for i in node.items if not isinstance(i, Not) and (e := _fts(i))]
        negatives = [e for i in node.items if isinstance(i, Not) and (e := _fts(i.item))]
        if not positives:
            if negatives:
                raise _UnsupportedError  # FTS5 has no unary NOT
            return None
        expr = " AND ".join(f"({p})" for p in positives)
        for neg in negatives:
            expr = f"({expr}) NOT ({neg})"
        return expr
    if isinstance(node, Or):
        if any(isinstance(i, Not) for i in node.items):
            raise _UnsupportedError
        parts = [_fts(i) for i in node.items]
        if any(p is None for p in parts):
            return None  # one branch matches everything
        return " OR ".join(f"({p})" for p in parts)
    raise _UnsupportedError


class _SqlBuilder:
    """Compiles a query node into an SQL condition on ``p`` (the papers table)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.params: dict[str, object] = {}

    def param(self, value: object) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def build(self, node: Node) -> str:
        if isinstance(node, YearRange):
            conds = []
            if node.low is not None:
                conds.append(f"p.year >= {self.param(node.low)}")
            if node.high is not None:
                conds.append(f"p.year <= {self.param(node.high)}")
            return " AND ".join(conds) or "1"
        if isinstance(node, Not):
            return f"NOT ({self.build(node.item)})"
        if isinstance(node, And):
            return " AND ".join(f"({self.build(i)})" for i in node.items) or "1"
        if isinstance(node, Or):
            return " OR ".join(f"({self.build(i)})" for i in node.items) or "0"
        if isinstance(node, Term):
            if node.field in _SQL_FIELDS:
                return self._field(node)
            expr = _fts_term(node)
            if expr is None:
                return "1"
            return self.fts_condition(expr, body_only=node.field == "fulltext")
        raise TypeError(f"unknown query node {node!r}")

    def fts_condition(self, expr: str, *, body_only: bool = False) -> str:
        ref = self.param(expr)
        meta = f"p.id IN (SELECT rowid FROM search_meta WHERE search_meta MATCH {ref})"
        body = f"p.id IN (SELECT rowid FROM search_body WHERE search_body MATCH {ref})"
        if body_only:
            return body
        if self.scope == "metadata":
            return meta
        return f"({meta} OR {body})"

    def _field(self, term: Term) -> str:
        value = term.text.strip()
        if term.field == "doi":
            value = value.lower()
            for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
                if value.startswith(prefix):
                    value = value[len(prefix):]
            return f"lower(p.doi) LIKE {self.param(_like(value) + '%')} ESCAPE '\\'"
        if term.field == "pmid":
            return f"p.pmid = {self.param(value)}"
        if term.field == "citekey":
            if term.prefix:
                return f"p.citekey LIKE {self.param(_like(value) + '%')} ESCAPE '\\'"
            return f"p.citekey = {self.param(value)}"
        # tag: the tag itself and, for a hierarchy such as indications, its descendants
        key = self.param(value.casefold())
        return (
            "p.id IN (WITH RECURSIVE sub(id) AS ("
            f"SELECT id FROM tags WHERE name_key = {key} "
            "UNION SELECT t.id FROM tags t JOIN sub ON t.parent_id = sub.id) "
            "SELECT pt.paper_id FROM paper_tags pt JOIN sub ON pt.tag_id = sub.id)"
        )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _positive_terms(node: Node) -> Iterable[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _positive_terms(item)


def _split(node: Node) -> tuple[str | None, list[Node]]:
    """Split a query into one FTS5 expression and the conditions left for SQL."""
    if _is_fts(node):
        try:
            return _fts(node), []
        except _UnsupportedError:
            return None, [node]
    if isinstance(node, And):
        fts_items = [i for i in node.items if _is_fts(i)]
        rest = [i for i in node.items if not _is_fts(i)]
        if fts_items:
            try:
                return _fts(And(tuple(fts_items))), rest
            except _UnsupportedError:
                pass
        return None, list(node.items)
    return None, [node]


#: Matches ranked by bm25 per query and table.  bm25 must visit every match it ranks (about
#: 0.8 µs each), so a one-word query matching 70,000 abstracts would cost 60 ms; instead the
#: most recently added RANK_WINDOW matches are ranked (FTS5 walks them newest first and stops).
#: Queries with fewer matches, which is what typing a second word gives, are ranked exactly.
RANK_WINDOW = 4000


def search(
    db: Executor,
    node: Node | None,
    *,
    scope: Scope = "all",
    limit: int | None = 50,
    offset: int = 0,
    snippets: bool = True,
    window: int | None = RANK_WINDOW,
    trashed: bool = False,
) -> list[Hit]:
    """Papers matching ``node``, best first, with a snippet where the text matched.

    Papers in the trash are left out, or, with ``trashed=True``, only they are searched.
    ``limit=None`` returns every match (and ranks every match).
    """
    if node is None:
        return []
    match, rest = _split(node)
    builder = _SqlBuilder(scope)
    conditions = [builder.build(n) for n in rest]
    where = " AND ".join(f"({c})" for c in conditions)
    if match is None:
        match = _ranking_expression(node)
        in_trash = "p.trashed_at IS NOT NULL" if trashed else "p.trashed_at IS NULL"
        where = f"({where or '1'}) AND {in_trash}"
        ranked = _search_sql(db, match, where, scope, builder.params, limit, offset)
    else:
        scoped = f"({match}) AND (facets : {TRASHED})" if trashed else (
            f"({match}) NOT (facets : {TRASHED})"
        )
        ranked = _search_fts(db, scoped, where, scope, builder.params, limit, offset, window)
    # Snippets show the query's words: a year range is a facet filter, and its eight or so
    # year tokens made snippet() three times slower for nothing shown.
    words = _ranking_expression(node) if match and _YEAR_FACETS in match else match
    found = _snippets(db, words, [h[0] for h in ranked], scope) if snippets and words else {}
    return [Hit(pid, -score, found.get(pid, "")) for pid, score in ranked]


def _search_fts(
    db: Executor,
    match: str,
    where: str,
    scope: Scope,
    params: dict[str, object],
    limit: int | None,
    offset: int,
    window: int | None,
) -> list[tuple[int, float]]:
    """Top matches of one FTS5 expression, from the metadata and (for ``all``) body tables.

    Each table gives its own best ``offset + limit``; a paper's score is its better one, so
    the best of the merged lists are the best overall.  With ``limit=None`` (the window's
    table wants every match) the ranked window comes first and the other matches follow,
    newest first, unranked (score 0).
    """
    wanted = None if limit is None else offset + limit
    if window is not None and wanted is not None:
        window = max(window, wanted)
    tables: list[tuple[str, Sequence[float]]] = []
    if _meta_can_answer(match):
        tables.append(("search_meta", META_WEIGHTS))
    if scope == "all" or not tables:
        tables.append(("search_body", BODY_WEIGHTS))
    scores: dict[int, float] = {}
    tail: set[int] = set()
    for table, weights in tables:
        # Checked per match, newest first, until the window is full: cheaper than building
        # the set of every paper that passes (a year range passes most of a library).
        condition = (
            f" AND EXISTS (SELECT 1 FROM papers p WHERE p.id = {table}.rowid AND ({where}))"
            if where
            else ""
        )
        newest = " ORDER BY rowid DESC LIMIT :window" if window is not None else ""
        best = " LIMIT :wanted" if wanted is not None else ""
        # MATERIALIZED: bm25() only works in the FTS query itself, which SQLite would
        # otherwise flatten into the outer one.
        sql = (
            f"WITH c AS MATERIALIZED (SELECT rowid AS id, bm25({table}, {_weights(weights)}) "
            f"AS score FROM {table} WHERE {table} MATCH :match{condition}{newest}) "
            f"SELECT id, score FROM c ORDER BY score, id DESC{best}"
        )
        values = {**params, "match": match, "window": window, "wanted": wanted}
        for pid, score in db.execute(text(sql), values).all():
            if pid not in scores or score < scores[pid]:
                scores[int(pid)] = float(score)
        if wanted is None and window is not None:
            rest = f"SELECT rowid FROM {table} WHERE {table} MATCH :match{condition}"
            tail.update(int(pid) for (pid,) in db.execute(text(rest), values))
    ordered = sorted(scores.items(), key=lambda item: (item[1], -item[0]))
    if tail:
        tail.difference_update(scores)
        ordered.extend((pid, 0.0) for pid in sorted(tail, reverse=True))
    return ordered[offset:] if wanted is None else ordered[offset:wanted]


def _ranking_expression(node: Node) -> str | None:
    """The positive words of a query that FTS5 cannot answer alone, OR-ed, to rank by."""
    words = [
        e for t in _positive_terms(node) if t.field not in _SQL_FIELDS and (e := _fts_term(t))
    ]
    return " OR ".join(f"({w})" for w in words) or None


def _search_sql(
    db: Executor,
    match: str | None,
    where: str,
    scope: Scope,
    params: dict[str, object],
    limit: int | None,
    offset: int,
) -> list[tuple[int, float]]:
    """Queries FTS5 cannot answer alone (``NOT tag:x``, ``title:a OR year:2019``): SQL over
    the papers, ranked by the query's positive words where it has any, else newest first."""
    page = " LIMIT :limit OFFSET :offset"
    values = {**params, "limit": -1 if limit is None else limit, "offset": offset}
    if match is None:
        sql = (
            f"SELECT p.id, 0.0 FROM papers p WHERE {where} "
            f"ORDER BY p.year DESC, p.id DESC{page}"
        )
    else:
        values["match"] = match
        parts = []
        if _meta_can_answer(match):
            parts.append(
                f"SELECT rowid, bm25(search_meta, {_weights(META_WEIGHTS)}) "
                "FROM search_meta WHERE search_meta MATCH :match"
            )
        if scope == "all" or not parts:
            parts.append(
                f"SELECT rowid, bm25(search_body, {_weights(BODY_WEIGHTS)}) "
                "FROM search_body WHERE search_body MATCH :match"
            )
        sql = (
            f"WITH h(id, score) AS MATERIALIZED ({' UNION ALL '.join(parts)}) "
            "SELECT p.id, coalesce(min(h.score), 0.0) AS s FROM papers p "
            f"LEFT JOIN h ON p.id = h.id WHERE {where} "
            f"GROUP BY p.id ORDER BY s, p.year DESC, p.id DESC{page}"
        )
    return [(int(pid), float(score)) for pid, score in db.execute(text(sql), values).all()]


def _meta_can_answer(match: str) -> bool:
    """False when the expression names the body column, which only search_body has."""
    return "body : " not in match


def _weights(weights: Sequence[float]) -> str:
    return ", ".join(f"{w:g}" for w in weights)


def _snippets(db: Executor, match: str, ids: list[int], scope: Scope) -> dict[int, str]:
    """The best-matching passage of each paper, the matched words in [brackets].

    The body (where the full text matched) is preferred to the metadata.  The rowid range
    lets FTS5 skip the matches outside the hits; ``+rowid IN`` filters the rest without
    making FTS5 re-run the query once per id.
    """
    found: dict[int, str] = {}
    tables = ["search_body"] if scope == "all" or not _meta_can_answer(match) else []
    if _meta_can_answer(match):
        tables.append("search_meta")
    for table in tables:
        missing = [i for i in ids if i not in found]
        if not missing:
            break
        id_list = ",".join(str(i) for i in missing)
        rows = db.execute(
            text(
                f"SELECT rowid, snippet({table}, -1, '[', ']', '…', 16) FROM {table} "
                f"WHERE {table} MATCH :match AND rowid BETWEEN :low AND :high "
                f"AND +rowid IN ({id_list})"
            ),
            {"match": match, "low": min(missing), "high": max(missing)},
        ).all()
        for pid, snip in rows:
            if snip and "[" in snip and not _FACET_SNIPPET.match(snip):
                found[int(pid)] = " ".join(str(snip).split())
    return found
