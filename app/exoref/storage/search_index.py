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

META_COLUMNS = ("title", "authors", "abstract", "keywords", "tags", "journal")
BODY_COLUMNS = (*META_COLUMNS, "body")
#: bm25 weights, in column order: a word in the title counts ten times one in the body.
META_WEIGHTS = (10.0, 4.0, 5.0, 5.0, 3.0, 1.0)
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
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class IndexedDoc:
    """The text of one paper as the index sees it."""

    title: str
    authors: str
    abstract: str
    keywords: str
    tags: str
    journal: str


@dataclass(frozen=True, slots=True)
class Hit:
    paper_id: int
    score: float
    snippet: str


def create(conn: Connection) -> None:
    cols = ", ".join(META_COLUMNS)
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS search_meta USING fts5({cols}, "
        f"tokenize = '{_TOKENIZER}', prefix = '2 3')"
    )
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS search_body USING fts5({cols}, body, "
        f"tokenize = '{_TOKENIZER}')"
    )


# -- writing ---------------------------------------------------------------------------------


def index_paper(db: Executor, paper_id: int, doc: IndexedDoc, body: str | None = None) -> None:
    """(Re)index a paper's metadata; ``body`` replaces its full text when given."""
    values = {"id": paper_id, **{c: getattr(doc, c) for c in META_COLUMNS}}
    if body is None:
        row = db.execute(
            text("SELECT body FROM search_body WHERE rowid = :id"), {"id": paper_id}
        ).first()
        body = row[0] if row else None
    db.execute(text("DELETE FROM search_meta WHERE rowid = :id"), {"id": paper_id})
    db.execute(text("DELETE FROM search_body WHERE rowid = :id"), {"id": paper_id})
    names = ", ".join(META_COLUMNS)
    params = ", ".join(f":{c}" for c in META_COLUMNS)
    db.execute(
        text(f"INSERT INTO search_meta (rowid, {names}) VALUES (:id, {params})"), values
    )
    if body:
        db.execute(
            text(f"INSERT INTO search_body (rowid, {names}, body) VALUES (:id, {params}, :body)"),
            {**values, "body": body},
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


def _is_fts(node: Node) -> bool:
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


def search(
    db: Executor,
    node: Node | None,
    *,
    scope: Scope = "all",
    limit: int | None = 50,
    offset: int = 0,
    include_trashed: bool = False,
    snippets: bool = True,
) -> list[Hit]:
    """Papers matching ``node``, best first, with a snippet where the text matched."""
    if node is None:
        return []
    match, rest = _split(node)
    builder = _SqlBuilder(scope)
    conditions = [builder.build(n) for n in rest]
    if not include_trashed:
        conditions.append("p.trashed_at IS NULL")
    where = " AND ".join(f"({c})" for c in conditions) or "1"
    if match is None:
        # No FTS expression to rank by: rank by the positive words anywhere, if any.
        words = [
            e for t in _positive_terms(node)
            if t.field not in _SQL_FIELDS and (e := _fts_term(t))
        ]
        match = " OR ".join(f"({w})" for w in words) or None
        ranked_required = False
    else:
        ranked_required = True
    sql, params = _ranked_sql(match, where, scope, ranked_required, builder.params)
    page = " LIMIT :limit OFFSET :offset" if limit is not None else ""
    params |= {"limit": limit if limit is not None else -1, "offset": offset}
    rows = db.execute(text(sql + page), params).all()
    hits = [(int(r[0]), float(r[1])) for r in rows]
    found = _snippets(db, match, [h[0] for h in hits], scope) if snippets and match else {}
    return [Hit(pid, -score, found.get(pid, "")) for pid, score in hits]


def _ranked_sql(
    match: str | None,
    where: str,
    scope: Scope,
    required: bool,
    params: dict[str, object],
) -> tuple[str, dict[str, object]]:
    params = dict(params)
    if match is None:
        return (
            f"SELECT p.id, 0.0 FROM papers p WHERE {where} ORDER BY p.year DESC, p.id DESC",
            params,
        )
    params["match"] = match
    parts = []
    if _meta_can_answer(match):
        parts.append(
            f"SELECT rowid AS id, bm25(search_meta, {_weights(META_WEIGHTS)}) AS score "
            "FROM search_meta WHERE search_meta MATCH :match"
        )
    if scope == "all" or not parts:
        parts.append(
            f"SELECT rowid AS id, bm25(search_body, {_weights(BODY_WEIGHTS)}) AS score "
            "FROM search_body WHERE search_body MATCH :match"
        )
    ranked = " UNION ALL ".join(parts)
    # MATERIALIZED: bm25() only works in the FTS query itself, which SQLite would otherwise
    # flatten into the outer one.
    ranked = f"WITH h(id, score) AS MATERIALIZED ({ranked}) "
    if required:
        sql = (
            f"{ranked}SELECT p.id, min(h.score) AS s FROM h JOIN papers p ON p.id = h.id "
            f"WHERE {where} GROUP BY p.id ORDER BY s, p.id DESC"
        )
    else:
        sql = (
            f"{ranked}SELECT p.id, coalesce(min(h.score), 0.0) AS s FROM papers p "
            f"LEFT JOIN h ON p.id = h.id WHERE {where} GROUP BY p.id "
            "ORDER BY s, p.year DESC, p.id DESC"
        )
    return sql, params


def _meta_can_answer(match: str) -> bool:
    """False when the expression names the body column, which only search_body has."""
    return "body : " not in match


def _weights(weights: Sequence[float]) -> str:
    return ", ".join(f"{w:g}" for w in weights)


def _snippets(db: Executor, match: str, ids: list[int], scope: Scope) -> dict[int, str]:
    if not ids:
        return {}
    found: dict[int, str] = {}
    id_list = ",".join(str(i) for i in ids)
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
                f"WHERE {table} MATCH :match AND rowid IN ({id_list})"
            ),
            {"match": match},
        )
        for pid, snip in rows:
            if snip and "[" in snip:
                found[int(pid)] = " ".join(str(snip).split())
    return found
