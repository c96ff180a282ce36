"""Search: parse the user's query, ask the index, return references with score and snippet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from exoref.domain.query import And, Node, Not, Or, Term, parse_query
from exoref.storage import repository, search_index

if TYPE_CHECKING:
    from exoref.domain.models import Reference
    from exoref.services.library import Library


@dataclass(slots=True)
class SearchResult:
    reference: Reference
    score: float
    snippet: str

    def to_json(self) -> dict[str, object]:
        data = self.reference.to_json()
        data["score"] = round(self.score, 4)
        data["snippet"] = self.snippet
        return data


class SearchService:
    def __init__(self, library: Library) -> None:
        self.library = library

    def search(
        self,
        query: str,
        *,
        fulltext: bool = True,
        limit: int | None = 50,
        offset: int = 0,
    ) -> list[SearchResult]:
        """Papers matching ``query`` (raises QuerySyntaxError with a position when malformed).

        With ``fulltext=False`` only metadata is searched (title, authors, abstract, keywords,
        tags, journal) unless the query itself asks for ``fulltext:``.
        """
        node = parse_query(query)
        if node is None:
            return []
        asks_body = _names_field(node, "fulltext")
        scope: search_index.Scope = "all" if fulltext or asks_body else "metadata"
        with self.library.db.read() as session:
            hits = search_index.search(session, node, scope=scope, limit=limit, offset=offset)
            loaded = repository.load_references(session, [h.paper_id for h in hits])
            refs = {r.id: r for r in loaded}
        return [
            SearchResult(refs[h.paper_id], h.score, h.snippet) for h in hits if h.paper_id in refs
        ]


def _names_field(node: Node, field: str) -> bool:
    """Whether any term of the query, negated or not, is qualified with ``field``."""
    if isinstance(node, Term):
        return node.field == field
    if isinstance(node, Not):
        return _names_field(node.item, field)
    if isinstance(node, And | Or):
        return any(_names_field(item, field) for item in node.items)
    return False
