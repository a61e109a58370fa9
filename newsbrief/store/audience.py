"""The console's reads on subscribers and topics: counts by platform, language, schedule and
topic, one page of the subscriber list, one subscriber's cursor, stories per topic.

Built for 100,000 subscribers: every count is a ``GROUP BY`` in the database (the topics of the
JSON ``subscriptions`` column unnested there too), never a Python loop over the table; the list
is read a page at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from newsbrief.store.tables import DigestCursorRow, StoryTopicRow, SubscriberRow

# A subscription is a topic id, or {"topic": id, "include": [...], "exclude": [...]}: grouped by
# the element as it is (a CASE per element cost a fifth more), the few objects read here.
_TOPICS_SQLITE = text(
    "SELECT s.value, max(s.type = 'object'), count(*)"
    " FROM subscribers, json_each(subscribers.subscriptions) AS s GROUP BY s.value"
)
_TOPICS_POSTGRES = text(
    "SELECT s::text, bool_or(json_typeof(s) = 'object'), count(*)"
    " FROM subscribers, json_array_elements(subscribers.subscriptions) AS s GROUP BY s::text"
)


LIVE_LIMIT = 20_000
"""Up to this many subscribers the console counts them on every page; above, it shows counts
up to a minute old (their topics alone are 3 million JSON elements for 100,000 subscribers,
a second of the database's time)."""


def few_subscribers(session: Session) -> bool:
    """At most ``LIVE_LIMIT`` subscribers: counting them all is cheap."""
    return int(session.scalar(select(func.count()).select_from(SubscriberRow)) or 0) <= LIVE_LIMIT


@dataclass(frozen=True, slots=True)
class Audience:
    """Subscribers counted every way the console shows; each list most first (ties by name)."""

    total: int
    paused: int
    platforms: list[tuple[str, int]]
    languages: list[tuple[str, int]]
    schedules: list[tuple[str, int]]
    topics: list[tuple[str, int]]
    """Subscribers following each topic id (paused ones too: they chose it)."""


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def topic_followers(session: Session) -> dict[str, int]:
    """Subscribers per topic id, unnested and counted by the database."""
    postgres = session.get_bind().dialect.name == "postgresql"
    counts: Counter[str] = Counter()
    for value, is_object, n in session.execute(_TOPICS_POSTGRES if postgres else _TOPICS_SQLITE):
        if is_object:
            topic = json.loads(value).get("topic")
        else:  # PostgreSQL gives the element as JSON text, SQLite as its value
            topic = json.loads(value) if postgres else value
        if isinstance(topic, str):
            counts[topic] += int(n)
    return dict(counts)


def audience(session: Session) -> Audience:
    """A ``GROUP BY`` per column (the platform's reads the unique index in order), and one over
    the unnested subscriptions."""

    def grouped(column: Any) -> Counter[str]:
        query = select(column, func.count()).group_by(column)
        return Counter({str(value): int(n) for value, n in session.execute(query)})

    platforms = grouped(SubscriberRow.platform)
    paused = int(session.scalar(select(func.count()).where(SubscriberRow.paused.is_(True))) or 0)
    return Audience(
        total=sum(platforms.values()),
        paused=paused,
        platforms=_ranked(platforms),
        languages=_ranked(grouped(SubscriberRow.lang)),
        schedules=_ranked(grouped(SubscriberRow.schedule)),
        topics=_ranked(Counter(topic_followers(session))),
    )


def story_counts(session: Session) -> dict[str, int]:
    """Stories filed under each topic id: one ``GROUP BY`` over ``story_topics``."""
    query = select(StoryTopicRow.topic_id, func.count()).group_by(StoryTopicRow.topic_id)
    return {str(topic): int(n) for topic, n in session.execute(query)}


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of the subscriber list."""

    id: int
    platform: str
    chat_id: str
    thread_id: int | None
    lang: str
    timezone: str
    schedule: str
    paused: bool
    topics: tuple[str, ...]
    digests_sent: int
    next_due_at: datetime | None


def _topic_ids(subscriptions: list[Any] | None) -> tuple[str, ...]:
    return tuple(
        str(item.get("topic")) if isinstance(item, dict) else str(item)
        for item in subscriptions or ()
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def listing(
    session: Session, chat_id: str = "", *, offset: int = 0, limit: int = 50
) -> tuple[int, list[Listed]]:
    """(how many match, one page of them in id order): every subscriber, or those whose chat
    id starts with ``chat_id``."""
    where = []
    if chat_id:
        where.append(SubscriberRow.chat_id.like(_escape_like(chat_id) + "%", escape="\\"))
    total = int(session.scalar(select(func.count()).select_from(SubscriberRow).where(*where)) or 0)
    query = (
        select(
            SubscriberRow.id,
            SubscriberRow.platform,
            SubscriberRow.chat_id,
            SubscriberRow.thread_id,
            SubscriberRow.lang,
            SubscriberRow.timezone,
            SubscriberRow.schedule,
            SubscriberRow.paused,
            SubscriberRow.subscriptions,
            DigestCursorRow.digests_sent,
            DigestCursorRow.next_due_at,
        )
        .join(DigestCursorRow, DigestCursorRow.subscriber_id == SubscriberRow.id, isouter=True)
        .where(*where)
        .order_by(SubscriberRow.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [
        Listed(
            id=r[0],
            platform=r[1],
            chat_id=r[2],
            thread_id=r[3] or None,
            lang=r[4],
            timezone=r[5],
            schedule=r[6],
            paused=bool(r[7]),
            topics=_topic_ids(r[8]),
            digests_sent=r[9] or 0,
            next_due_at=r[10],
        )
        for r in session.execute(query)
    ]
    return total, rows


@dataclass(frozen=True, slots=True)
class CursorView:
    """A subscriber's digest cursor as the console shows it (read without locking it)."""

    digests_sent: int
    last_digest_at: datetime | None
    next_due_at: datetime | None


def cursor_view(session: Session, subscriber_id: int) -> CursorView | None:
    row = session.execute(
        select(
            DigestCursorRow.digests_sent,
            DigestCursorRow.last_digest_at,
            DigestCursorRow.next_due_at,
        ).where(DigestCursorRow.subscriber_id == subscriber_id)
    ).first()
    return CursorView(row[0] or 0, row[1], row[2]) if row is not None else None
