"""Reading and writing papers: the mapping between ORM rows and domain objects.

Functions here take an open :class:`~sqlalchemy.orm.Session` inside a transaction owned by a
service; they never commit.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, select, text

from exoref.domain.citekeys import make_citekey, unique_citekey
from exoref.domain.duplicates import MIN_TITLE, DuplicateKey, find_matches
from exoref.domain.identifiers import (
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    normalize_title_key,
)
from exoref.domain.models import TEXT_FIELDS, Attachment, Author, Reference, Tag, TagKind
from exoref.storage import search_index
from exoref.storage.database import now
from exoref.storage.orm import AttachmentRow, Paper, PaperAuthor, PaperTag, TagRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import CursorResult, Table
    from sqlalchemy.orm import Session


def to_reference(row: Paper) -> Reference:
    ref = Reference(
        id=row.id,
        citekey=row.citekey,
        year=row.year,
        authors=[Author(a.family, a.given) for a in row.authors],
        keywords=list(row.keywords or []),
        trial_ids=list(row.trial_ids or []),
        flags=list(row.flags or []),
        extra=dict(row.extra or {}),
        latex=dict(row.latex or {}),
        added=row.added,
        modified=row.modified,
        tags=sorted(
            (Tag(link.tag.name, TagKind(link.tag.kind)) for link in row.tag_links),
            key=_tag_order,
        ),
        attachments=[_attachment(a) for a in row.attachments],
    )
    for name in TEXT_FIELDS:
        setattr(ref, name, getattr(row, name) or "")
    return ref


def load_references(session: Session, ids: Sequence[int]) -> list[Reference]:
    """References for ``ids``, in that order, read with four plain queries.

    The fast path for lists and search results: no ORM identity map, no lazy loading, and
    every result fetched at once (row by row iteration costs ~10 µs a row).
    """
    if not ids:
        return []
    conn = session.connection()  # Core rows: no ORM entity machinery per statement
    papers = Paper.__table__
    rows = {r.id: r for r in conn.execute(select(papers).where(papers.c.id.in_(ids))).all()}
    authors: dict[int, list[Author]] = {}
    for pid, family, given in conn.execute(
        select(PaperAuthor.paper_id, PaperAuthor.family, PaperAuthor.given)
        .where(PaperAuthor.paper_id.in_(ids))
        .order_by(PaperAuthor.paper_id, PaperAuthor.position)
    ).all():
        authors.setdefault(pid, []).append(Author(family, given))
    tags: dict[int, list[Tag]] = {}
    for pid, name, kind in conn.execute(
        select(PaperTag.paper_id, TagRow.name, TagRow.kind)
        .join(TagRow, TagRow.id == PaperTag.tag_id)
        .where(PaperTag.paper_id.in_(ids))
    ).all():
        tags.setdefault(pid, []).append(Tag(name, TagKind(kind)))
    files: dict[int, list[Attachment]] = {}
    for att in conn.execute(
        select(AttachmentRow.__table__)
        .where(AttachmentRow.paper_id.in_(ids))
        .order_by(AttachmentRow.id)
    ).all():
        files.setdefault(att.paper_id, []).append(_attachment(att))
    refs = []
    for pid in ids:
        row = rows.get(pid)
        if row is None:
            continue
        ref = Reference(
            id=pid,
            citekey=row.citekey,
            year=row.year,
            authors=authors.get(pid, []),
            keywords=list(row.keywords or []),
            trial_ids=list(row.trial_ids or []),
            flags=list(row.flags or []),
            extra=dict(row.extra or {}),
            latex=dict(row.latex or {}),
            added=row.added,
            modified=row.modified,
            tags=sorted(tags.get(pid, []), key=_tag_order),
            attachments=files.get(pid, []),
        )
        for name in TEXT_FIELDS:
            setattr(ref, name, getattr(row, name) or "")
        refs.append(ref)
    return refs


def _attachment(row: Any) -> Attachment:
    """An attachment from an ORM row or a plain row of the attachments table."""
    return Attachment(
        id=row.id,
        path=row.path,
        original_name=row.original_name,
        sha256=row.sha256,
        size=row.size,
        page_count=row.page_count,
        has_text=bool(row.has_text),
    )


def _tag_order(tag: Tag) -> tuple[str, str]:
    return (tag.kind.value, tag.name.casefold())


@functools.lru_cache(maxsize=256)
def title_key(title: str) -> str:
    # cached: an import asks for the same title twice (duplicate check, then the row)
    return normalize_title_key(title)[:300]


@functools.lru_cache(maxsize=256)
def _normal_doi(doi: str) -> str | None:
    return normalize_doi(doi)


def apply_reference(row: Paper, ref: Reference) -> None:
    """Copy the bibliographic fields of ``ref`` onto ``row`` (not id, citekey, tags, files)."""
    for name, value in paper_values(ref).items():
        setattr(row, name, value)
    row.authors = [
        PaperAuthor(position=i, family=a.family, given=a.given) for i, a in enumerate(ref.authors)
    ]


def taken_citekeys(session: Session, base: str) -> set[str]:
    """Keys that start with ``base`` (a range scan on the unique index, not a LIKE)."""
    rows = session.scalars(
        select(Paper.citekey).where(Paper.citekey >= base, Paper.citekey < base + "\U0010ffff")
    )
    return set(rows)


def paper_values(ref: Reference) -> dict[str, object]:
    """The column values of the papers row for ``ref`` (not id, citekey or the timestamps)."""
    values: dict[str, object] = {name: getattr(ref, name) or "" for name in TEXT_FIELDS}
    values["doi"] = (_normal_doi(ref.doi) or ref.doi.strip()) if ref.doi else ""
    values["year"] = ref.year
    values["keywords"] = list(ref.keywords)
    values["trial_ids"] = list(ref.trial_ids)
    values["flags"] = list(ref.flags)
    values["extra"] = dict(ref.extra)
    values["latex"] = dict(ref.latex)
    values["title_key"] = title_key(ref.title)
    values["first_author"] = ref.authors[0].family if ref.authors else ""
    return values


def insert_reference(
    session: Session,
    ref: Reference,
    *,
    pattern: str,
    body: str | None = None,
    tag_source: str = "import",
) -> tuple[int, str]:
    """Store a new paper with its authors, tags and index entry; its id and citation key.

    The import path: plain inserts, no ORM objects, because a bulk import or a .bib of
    10,000 entries spends most of its time here.
    """
    stamp = now()
    base = ref.citekey or make_citekey(ref, pattern)
    citekey = unique_citekey(base, taken_citekeys(session, base))
    values = paper_values(ref) | {"citekey": citekey, "added": stamp, "modified": stamp}
    conn = session.connection()
    paper_id = _new_id(conn.execute(_PAPERS.insert(), values))
    if ref.authors:
        conn.execute(
            _AUTHORS.insert(),
            [
                {"paper_id": paper_id, "position": i, "family": a.family, "given": a.given}
                for i, a in enumerate(ref.authors)
            ],
        )
    tag_ids = dict.fromkeys(tag_id(session, tag.name, tag.kind) for tag in ref.tags)
    if tag_ids:
        conn.execute(
            _PAPER_TAGS.insert(),
            [{"paper_id": paper_id, "tag_id": t, "source": tag_source} for t in tag_ids],
        )
    doc = search_index.IndexedDoc(
        title=ref.title,
        authors=authors_text(ref.authors),
        abstract=ref.abstract,
        keywords="; ".join(ref.keywords),
        tags="; ".join(dict.fromkeys(t.name for t in ref.tags)),
        journal=ref.journal or ref.booktitle,
        year=ref.year,
    )
    search_index.index_paper(session, paper_id, doc, body or "", new=True)
    return paper_id, citekey


def insert_attachment(session: Session, paper_id: int, attachment: Attachment) -> int:
    result = session.connection().execute(
        _ATTACHMENTS.insert(),
        {
            "paper_id": paper_id,
            "path": attachment.path,
            "original_name": attachment.original_name,
            "sha256": attachment.sha256,
            "size": attachment.size,
            "page_count": attachment.page_count,
            "has_text": attachment.has_text,
            "added": now(),
        },
    )
    return _new_id(result)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def authors_text(authors: Sequence[Author]) -> str:
    """The authors as the search index holds them: ``Given Family; Given Family``."""
    return "; ".join(f"{a.given} {a.family}".strip() for a in authors)


def create_paper(session: Session, ref: Reference, *, pattern: str) -> Paper:
    """A new paper (stored, tagged and indexed as :func:`insert_reference` does) as an ORM
    object, for callers that go on changing it."""
    paper_id, _ = insert_reference(session, ref, pattern=pattern)
    row = session.get(Paper, paper_id)
    assert row is not None
    return row


def get_paper(session: Session, ident: int | str) -> Paper | None:
    """A paper by id (an int or a string of digits) or by citation key."""
    if isinstance(ident, int) or ident.isdigit():
        return session.get(Paper, int(ident))
    return session.scalars(select(Paper).where(Paper.citekey == ident)).first()


def get_papers(session: Session, ids: Sequence[int]) -> list[Paper]:
    """Papers in the order of ``ids``."""
    rows = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


_PAPERS = cast("Table", Paper.__table__)
_AUTHORS = cast("Table", PaperAuthor.__table__)
_ATTACHMENTS = cast("Table", AttachmentRow.__table__)
_PAPER_TAGS = cast("Table", PaperTag.__table__)
_BY_HASH = select(_ATTACHMENTS.c.paper_id).where(_ATTACHMENTS.c.sha256 == bindparam("v")).limit(1)

#: The columns of ``papers`` a :class:`~exoref.domain.duplicates.DuplicateKey` is made of,
#: in the order :func:`duplicate_key` reads them.
DUPLICATE_KEY_COLUMNS = (
    "id, title, first_author, year, doi, pmid, pmcid, arxiv, entry_type, journal"
)
#: Papers sorted next to a new paper by title key that are read on each side of it.  A title
#: misspelt after its first few letters, cut short or given a subtitle sorts close to the
#: title it stands for; more neighbours cost more (each is compared in Python).
TITLE_NEIGHBOURS = 5
#: At most this many papers with the very same title key are read: a guard against titles
#: that many papers share ("Editorial", "Reply to the letter to the editor").
SAME_TITLE_LIMIT = 100

_COLS = DUPLICATE_KEY_COLUMNS
#: Years at most one apart, or either unknown: papers by title need them (identifiers not).
_NEAR_YEAR = "(:year IS NULL OR year IS NULL OR year BETWEEN :year - 1 AND :year + 1)"
#: Every paper that may be the same work as a new one, in one statement of indexed lookups
#: whose cost does not grow with the library: the same DOI (case folded), PMID or PMCID;
#: the same title key, also with a leading article added or dropped ("The X" / "X"); and
#: the :data:`TITLE_NEIGHBOURS` papers on each side of the title key in its index.  Papers
#: found by title are read only when their years are at most one apart.
#: :func:`pick_duplicate` lets :func:`exoref.domain.duplicates.find_matches` decide, so an
#: import reports a pair as duplicates only when ``exoref duplicates`` would.  An empty
#: parameter matches nothing.  Not read: papers with the same first author and year whose
#: titles differ in their first letters (no index covers first author and year), and papers
#: sharing only an arXiv id (not indexed).
DUPLICATE_CANDIDATES = text(
    f"""
    SELECT {_COLS} FROM papers WHERE :doi <> '' AND lower(doi) = :doi
    UNION ALL
    SELECT {_COLS} FROM papers WHERE :pmid <> '' AND pmid = :pmid
    UNION ALL
    SELECT {_COLS} FROM papers WHERE :pmcid <> '' AND pmcid = :pmcid
    UNION ALL
    SELECT * FROM (
        SELECT {_COLS} FROM papers WHERE :title_key <> '' AND title_key <> ''
            AND title_key IN (:title_key, :bare_key, 'the' || :bare_key, 'a' || :bare_key,
                              'an' || :bare_key)
            AND {_NEAR_YEAR}
        LIMIT {SAME_TITLE_LIMIT})
    UNION ALL
    SELECT * FROM (
        SELECT {_COLS} FROM papers WHERE :title_key <> '' AND title_key > :title_key
        ORDER BY title_key LIMIT {TITLE_NEIGHBOURS}) WHERE {_NEAR_YEAR}
    UNION ALL
    SELECT * FROM (
        SELECT {_COLS} FROM papers WHERE :title_key <> '' AND title_key < :title_key
            AND title_key <> ''
        ORDER BY title_key DESC LIMIT {TITLE_NEIGHBOURS}) WHERE {_NEAR_YEAR}
    """
)

_LEADING_ARTICLE_RE = re.compile(r"\s*(?:the|an?)\b\W*", re.IGNORECASE)


def duplicate_parameters(ref: Reference) -> dict[str, str | int | None]:
    """The parameters of :data:`DUPLICATE_CANDIDATES` for ``ref``."""
    doi = _normal_doi(ref.doi) if ref.doi else None
    key = title_key(ref.title)
    usable = len(key) >= MIN_TITLE
    bare = key  # the key without a leading article
    article = _LEADING_ARTICLE_RE.match(ref.title)
    if article is not None and article.end() < len(ref.title):
        without = title_key(ref.title[article.end():])
        if len(without) >= MIN_TITLE:
            bare = without
    return {
        "doi": doi.lower() if doi else "",
        "pmid": (normalize_pmid(ref.pmid) or ref.pmid.strip()) if ref.pmid else "",
        "pmcid": (normalize_pmcid(ref.pmcid) or ref.pmcid.strip()) if ref.pmcid else "",
        "title_key": key if usable else "",
        "bare_key": bare if usable else "",
        "year": ref.year,
    }


def duplicate_key(row: Sequence[Any]) -> DuplicateKey:
    """The :class:`~exoref.domain.duplicates.DuplicateKey` of a row of
    :data:`DUPLICATE_KEY_COLUMNS`."""
    pid, title, first, year, doi, pmid, pmcid, arxiv, entry_type, journal = row
    return DuplicateKey(id=int(pid), title=title or "", first_author=first or "", year=year,
                        doi=doi or "", pmid=pmid or "", pmcid=pmcid or "", arxiv=arxiv or "",
                        entry_type=entry_type or "", journal=journal or "")


def pick_duplicate(ref: Reference, rows: Iterable[Sequence[Any]]) -> tuple[int, str] | None:
    """The paper among the :data:`DUPLICATE_CANDIDATES` rows that is the same work as
    ``ref`` by the rules of :func:`exoref.domain.duplicates.find_matches` (a shared
    identifier first, then the closest title), and why; ``None`` if there is none."""
    candidates: dict[int, DuplicateKey] = {}
    for row in rows:
        if row[0] not in candidates:
            candidates[row[0]] = duplicate_key(row)
    if not candidates:
        return None
    matches = find_matches(DuplicateKey.from_reference(ref, 0), candidates.values())
    if not matches:
        return None
    return matches[0].b, matches[0].reason


def find_duplicate_id(session: Session, ref: Reference) -> tuple[int, str] | None:
    """The id of a paper already in the library that is the same work as ``ref``, and why:
    a shared DOI, PMID or PMCID, or a close title with the same first author and years at
    most one apart, as :func:`exoref.domain.duplicates.find_matches` judges them, among the
    papers :data:`DUPLICATE_CANDIDATES` reads."""
    rows = session.connection().execute(DUPLICATE_CANDIDATES, duplicate_parameters(ref))
    return pick_duplicate(ref, rows)


def find_duplicate(session: Session, ref: Reference) -> tuple[Paper, str] | None:
    """Like :func:`find_duplicate_id`, with the paper loaded."""
    found = find_duplicate_id(session, ref)
    if found is None:
        return None
    paper = session.get(Paper, found[0])
    assert paper is not None
    return paper, found[1]


def find_paper_by_file_hash(session: Session, sha256: str) -> int | None:
    """The paper that already has a file with this SHA-256."""
    pid = session.connection().execute(_BY_HASH, {"v": sha256}).scalar()
    return None if pid is None else int(pid)


def find_attachment_by_hash(session: Session, sha256: str) -> AttachmentRow | None:
    return session.scalars(select(AttachmentRow).where(AttachmentRow.sha256 == sha256)).first()


def tag_row(session: Session, name: str, kind: TagKind, *, create: bool = True) -> TagRow | None:
    key = name.strip().casefold()
    row = session.scalars(
        select(TagRow).where(TagRow.name_key == key, TagRow.kind == kind.value)
    ).first()
    if row is None and create:
        row = TagRow(name=name.strip(), name_key=key, kind=kind.value)
        session.add(row)
        session.flush()
    return row


def tag_id(session: Session, name: str, kind: TagKind) -> int:
    """The id of the tag, created if there is none: :func:`tag_row` without ORM objects."""
    key = name.strip().casefold()
    conn = session.connection()
    found = conn.execute(_TAG_ID, {"key": key, "kind": kind.value}).scalar()
    if found is not None:
        return int(found)
    return _new_id(conn.execute(_TAGS.insert(), {"name": name.strip(), "name_key": key,
                                                 "kind": kind.value}))


_TAGS = cast("Table", TagRow.__table__)
_TAG_ID = select(_TAGS.c.id).where(
    _TAGS.c.name_key == bindparam("key"), _TAGS.c.kind == bindparam("kind")
)


def find_tags(session: Session, name: str) -> list[TagRow]:
    return list(session.scalars(select(TagRow).where(TagRow.name_key == name.strip().casefold())))


def set_tags(session: Session, paper: Paper, add: Iterable[Tag] = (), remove: Iterable[str] = (),
             *, source: str = "user") -> None:
    keys = {r.strip().casefold() for r in remove}
    paper.tag_links = [link for link in paper.tag_links if link.tag.name_key not in keys]
    present = {link.tag_id for link in paper.tag_links}
    for tag in add:
        row = tag_row(session, tag.name, tag.kind)
        assert row is not None
        if row.id not in present:
            paper.tag_links.append(PaperTag(tag=row, source=source))
            present.add(row.id)
    paper.modified = now()


def indexed_doc(row: Paper) -> search_index.IndexedDoc:
    return search_index.IndexedDoc(
        title=row.title,
        authors=authors_text([Author(a.family, a.given) for a in row.authors]),
        abstract=row.abstract,
        keywords="; ".join(row.keywords or []),
        tags="; ".join(link.tag.name for link in row.tag_links),
        journal=row.journal or row.booktitle,
        year=row.year,
        trashed=row.trashed_at is not None,
    )


def reindex(session: Session, row: Paper, body: str | None = None) -> None:
    search_index.index_paper(session, row.id, indexed_doc(row), body)
