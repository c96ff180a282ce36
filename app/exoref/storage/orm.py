"""The library schema as SQLAlchemy 2 typed ORM classes.

Only portable SQL types are used here, so that the same schema runs on SQLite (the embedded
default) and on PostgreSQL (a lab-shared library).  Anything dialect-specific (FTS5) lives in
:mod:`exoref.storage.search_index`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class LibraryInfo(Base):
    """Key/value facts about the library: schema version, creation time, settings."""

    __tablename__ = "library_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Paper(Base):
    __tablename__ = "papers"
    __table_args__ = (
        # DOIs are case-insensitive: duplicates are looked up through lower(doi).
        Index("ix_papers_doi_folded", func.lower(text("doi"))),
        # The window's table sorts by these columns a page at a time.
        Index("ix_papers_title_sort", text("title COLLATE NOCASE")),
        Index("ix_papers_journal_sort", text("journal COLLATE NOCASE")),
        Index("ix_papers_first_author_sort", text("first_author COLLATE NOCASE")),
        # "Needs attention" finds flagged papers without reading the others.
        Index("ix_papers_flagged", "id", sqlite_where=text("flags <> '[]'"),
              postgresql_where=text("flags::text <> '[]'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citekey: Mapped[str] = mapped_column(String(200), unique=True)
    entry_type: Mapped[str] = mapped_column(String(40), default="article")
    title: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    journal: Mapped[str] = mapped_column(Text, default="")
    booktitle: Mapped[str] = mapped_column(Text, default="")
    volume: Mapped[str] = mapped_column(String(64), default="")
    issue: Mapped[str] = mapped_column(String(64), default="")
    pages: Mapped[str] = mapped_column(String(64), default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    doi: Mapped[str] = mapped_column(String(300), default="")
    pmid: Mapped[str] = mapped_column(String(20), default="", index=True)
    pmcid: Mapped[str] = mapped_column(String(20), default="", index=True)
    arxiv: Mapped[str] = mapped_column(String(40), default="")
    isbn: Mapped[str] = mapped_column(String(40), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    trial_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # schema 2
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    latex: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: the first author's family name, kept for sorting the table without a join
    first_author: Mapped[str] = mapped_column(Text, default="")
    # schema 3
    #: where each field's value came from: ``pdf``, ``bibtex``, ``lookup:crossref``, ``user``…
    #: A field absent here came from wherever the paper was first created.
    field_sources: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: MeSH headings and publication types from PubMed; they feed the tag suggestions.
    mesh: Mapped[list[str]] = mapped_column(JSON, default=list)
    publication_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: normalised title, used to find the same paper imported twice without identifiers
    title_key: Mapped[str] = mapped_column(String(300), default="", index=True)
    added: Mapped[datetime] = mapped_column(DateTime, index=True)
    modified: Mapped[datetime] = mapped_column(DateTime)
    trashed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None, index=True)

    authors: Mapped[list[PaperAuthor]] = relationship(
        back_populates="paper",
        order_by="PaperAuthor.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    attachments: Mapped[list[AttachmentRow]] = relationship(
        back_populates="paper",
        order_by="AttachmentRow.id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    tag_links: Mapped[list[PaperTag]] = relationship(
        back_populates="paper", cascade="all, delete-orphan", lazy="selectin"
    )


class PaperAuthor(Base):
    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(Text, default="")
    given: Mapped[str] = mapped_column(Text, default="")

    paper: Mapped[Paper] = relationship(back_populates="authors")


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    #: relative to the library folder, always under files/
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    original_name: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int | None] = mapped_column(Integer)
    has_text: Mapped[bool] = mapped_column(default=True)
    added: Mapped[datetime] = mapped_column(DateTime)

    paper: Mapped[Paper] = relationship(back_populates="attachments")


class TagRow(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("kind", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: casefolded name: tags are matched without regard to case
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="free")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id", ondelete="SET NULL"))
    #: the vocabulary concept this tag stands for (schema 3); None for a user's free tag
    concept: Mapped[str | None] = mapped_column(String(80), default=None, index=True)


class PaperTag(Base):
    __tablename__ = "paper_tags"
    __table_args__ = (Index("ix_paper_tags_tag", "tag_id"),)

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    #: who put it there: user (added or confirmed by a person), auto (a suggestion applied
    #: above the threshold), import (from a .bib)
    source: Mapped[str] = mapped_column(String(20), default="user")
    score: Mapped[float | None] = mapped_column(Float, default=None)
    #: for an automatic tag, the phrases that made it (schema 3)
    evidence: Mapped[list[dict[str, object]] | None] = mapped_column(JSON, default=None)

    paper: Mapped[Paper] = relationship(back_populates="tag_links")
    tag: Mapped[TagRow] = relationship(lazy="joined")


class ImportFailure(Base):
    """A file that could not be imported, until it is imported or dismissed (schema 2)."""

    __tablename__ = "import_failures"

    #: the absolute path of the user's file
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime)


class TagSuggestion(Base):
    """A suggested tag below the automatic threshold, waiting for a person (schema 3)."""

    __tablename__ = "tag_suggestions"
    __table_args__ = (Index("ix_tag_suggestions_tag", "tag_id"),)

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(DateTime)


class TagRejection(Base):
    """A person removed or rejected this tag on this paper: no later run puts it back."""

    __tablename__ = "tag_rejections"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)


class LookupTask(Base):
    """A paper waiting for an online lookup (schema 3): lookups never block an import."""

    __tablename__ = "lookup_queue"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    #: waiting | done | not_found | failed
    state: Mapped[str] = mapped_column(String(20), default="waiting", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    requested: Mapped[datetime] = mapped_column(DateTime)


class MergeRecord(Base):
    """One merge of duplicates, with what is needed to undo it (schema 3)."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    kept_id: Mapped[int] = mapped_column(Integer, index=True)
    merged_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: the kept paper before the merge and every merged paper, as plain data
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
