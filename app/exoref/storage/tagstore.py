"""Tag decisions that outlive a tagging run: rejections and confirmations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from exoref.storage.database import now

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def record_user_change(
    session: Session, paper_id: int, before: set[int], after: set[int]
) -> None:
    """A person changed a paper's tags by hand: what they removed is rejected for good (no
    later run brings it back), what they added is theirs (a rejection of it is lifted)."""
    stamp = now()
    for tag_id in before - after:
        session.execute(
            text("INSERT OR REPLACE INTO tag_rejections (paper_id, tag_id, at) "
                 "VALUES (:p, :t, :at)"), {"p": paper_id, "t": tag_id, "at": stamp})
    for tag_id in after - before:
        session.execute(
            text("DELETE FROM tag_rejections WHERE paper_id = :p AND tag_id = :t"),
            {"p": paper_id, "t": tag_id})
        session.execute(
            text("DELETE FROM tag_suggestions WHERE paper_id = :p AND tag_id = :t"),
            {"p": paper_id, "t": tag_id})
        session.execute(
            text("UPDATE paper_tags SET source = 'user' WHERE paper_id = :p AND tag_id = :t"),
            {"p": paper_id, "t": tag_id})
