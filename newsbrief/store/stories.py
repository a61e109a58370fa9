"""Stories as ``StoryItem`` records, read in bulk: a window of the newest, or by id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsbrief.records import StoryItem
from newsbrief.store.tables import FeedRow, StoryRow

_STORY_COLUMNS = (
    StoryRow.id,
    StoryRow.title,
    StoryRow.url,
    StoryRow.summary,
    StoryRow.feed_id,
    StoryRow.topics,
    StoryRow.source_count,
    StoryRow.published_at,
    FeedRow.title,
)


def _item(row: Sequence[Any]) -> StoryItem:
    story_id, title, url, summary, feed_id, topics, sources, published, feed_title = row
    return StoryItem(
        story_id=story_id,
        seq=story_id,
        title=title,
        url=url,
        summary=summary,
        source=feed_title or feed_id,
        topics=tuple(topics),
        source_count=sources,
        published_at=published,
    )


def story_window(session: Session, after: int, upto: int, limit: int) -> list[StoryItem]:
    """The newest ``limit`` stories numbered in (after, upto], on any topic."""
    query = (
        select(*_STORY_COLUMNS)
        .join(FeedRow, FeedRow.id == StoryRow.feed_id, isouter=True)
        .where(StoryRow.id > after, StoryRow.id <= upto)
        .order_by(StoryRow.id.desc())
        .limit(limit)
    )
    return [_item(row) for row in session.execute(query)]


def stories_by_id(session: Session, ids: Iterable[int]) -> dict[int, StoryItem]:
    wanted = sorted(set(ids))
    found: dict[int, StoryItem] = {}
    for start in range(0, len(wanted), 500):  # stay under every driver's parameter limit
        query = (
            select(*_STORY_COLUMNS)
            .join(FeedRow, FeedRow.id == StoryRow.feed_id, isouter=True)
            .where(StoryRow.id.in_(wanted[start : start + 500]))
        )
        found.update((row[0], _item(row)) for row in session.execute(query))
    return found
