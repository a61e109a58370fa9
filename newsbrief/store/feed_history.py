"""The feeds the database remembers, in the config or not: their ids stay theirs.

A feed removed from the config keeps its row (and its entries and stories, under its id), so
a new feed given that id would inherit them. Adding feeds asks for these to avoid that.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsbrief.store.db import Database
from newsbrief.store.tables import FeedRow


def remembered_feeds(session: Session) -> list[tuple[str, str]]:
    """``(id, url)`` of every feed row, the URL as it was configured."""
    rows = session.execute(select(FeedRow.id, FeedRow.url, FeedRow.config_url).order_by(FeedRow.id))
    return [(feed_id, config_url or url) for feed_id, url, config_url in rows]


def remembered_in(db: Database) -> list[tuple[str, str]]:
    """``remembered_feeds`` in a session of its own (for a thread of a chat command)."""
    with db.session() as session:
        return remembered_feeds(session)
