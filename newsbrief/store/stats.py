"""Counts for the admins' ``/stats``, and the chats a broadcast goes to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsbrief.feeds.polling import feed_status
from newsbrief.records import DeliveryStatus
from newsbrief.store.tables import (
    ArticleRow,
    DeliveryRow,
    DigestCursorRow,
    EntryRow,
    FeedRow,
    StoryRow,
    SubscriberRow,
)

DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Stats:
    subscribers: int
    paused: int
    topics: list[tuple[str, int]]
    """Subscriptions per topic id, most followed first (ties by id)."""
    feeds: dict[str, int] = field(default_factory=dict)
    """Feeds per status: ``ok``, ``new``, ``failing``, ``disabled``, ``removed``."""
    stories_24h: int = 0
    articles_24h: int = 0
    outbox_pending: int = 0
    """Waiting or being sent now."""
    outbox_failed_24h: int = 0
    """Given up on, of the messages queued in the last 24 hours."""
    outbox_sent_24h: int = 0


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def feeds_by_status(session: Session) -> dict[str, int]:
    """Feeds per status (see ``Stats.feeds``)."""
    feeds: Counter[str] = Counter()
    for enabled, reason, errors, success in session.execute(
        select(
            FeedRow.enabled, FeedRow.disabled_reason, FeedRow.error_count, FeedRow.last_success_at
        )
    ):
        feeds[feed_status(enabled, reason, errors, success is not None)] += 1
    return dict(feeds)


def collect(session: Session, now: datetime) -> Stats:
    since = now - DAY
    topics: Counter[str] = Counter()
    subscribers = paused = 0
    for row_paused, subscriptions in session.execute(
        select(SubscriberRow.paused, SubscriberRow.subscriptions)
    ):
        subscribers += 1
        paused += bool(row_paused)
        for item in subscriptions or []:
            topic = item.get("topic") if isinstance(item, dict) else item
            if isinstance(topic, str):
                topics[topic] += 1
    outbox = DeliveryRow.status
    return Stats(
        subscribers=subscribers,
        paused=paused,
        topics=sorted(topics.items(), key=lambda kv: (-kv[1], kv[0])),
        feeds=feeds_by_status(session),
        stories_24h=_count(session, select(func.count()).where(StoryRow.created_at >= since)),
        articles_24h=_count(session, select(func.count()).where(ArticleRow.created_at >= since)),
        outbox_pending=_count(
            session,
            select(func.count()).where(
                outbox.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
            ),
        ),
        outbox_failed_24h=_count(
            session,
            select(func.count()).where(
                outbox == DeliveryStatus.FAILED, DeliveryRow.created_at >= since
            ),
        ),
        outbox_sent_24h=_count(
            session,
            select(func.count()).where(outbox == DeliveryStatus.SENT, DeliveryRow.sent_at >= since),
        ),
    )


@dataclass(frozen=True, slots=True)
class Chat:
    subscriber_id: int
    platform: str
    chat_id: str
    thread_id: int | None


def active_chats(session: Session) -> list[Chat]:
    """Every subscriber that is not paused, in id order."""
    query = (
        select(
            SubscriberRow.id, SubscriberRow.platform, SubscriberRow.chat_id, SubscriberRow.thread_id
        )
        .where(SubscriberRow.paused.is_(False))
        .order_by(SubscriberRow.id)
    )
    return [Chat(i, p, c, t or None) for i, p, c, t in session.execute(query)]


def entries_of(session: Session, feed_id: str) -> int:
    return int(session.scalar(select(func.count()).where(EntryRow.feed_id == feed_id)) or 0)


@dataclass(frozen=True)
class ChatHealth:
    """One chat's side of the outbox, for ``newsbrief channels list``."""

    pending: int
    failed: int
    sent_24h: int
    last_sent_at: datetime | None
    last_error: str | None


def chat_health(session: Session, platform: str, chat_id: str, now: datetime) -> ChatHealth:
    mine = (DeliveryRow.platform == platform) & (DeliveryRow.chat_id == chat_id)

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count()).where(mine, *where)) or 0)

    last_error = session.scalar(
        select(DeliveryRow.last_error)
        .where(mine, DeliveryRow.last_error.is_not(None))
        .order_by(DeliveryRow.id.desc())
        .limit(1)
    )
    return ChatHealth(
        pending=count(DeliveryRow.status.in_(("pending", "sending", "paused"))),
        failed=count(DeliveryRow.status == DeliveryStatus.FAILED),
        sent_24h=count(
            DeliveryRow.status == DeliveryStatus.SENT,
            DeliveryRow.sent_at >= now - timedelta(hours=24),
        ),
        last_sent_at=session.scalar(select(func.max(DeliveryRow.sent_at)).where(mine)),
        last_error=last_error,
    )


@dataclass(frozen=True, slots=True)
class Pipeline:
    """How work flows through the whole deployment now: what ``/metrics`` and ``newsbrief
    status`` show. From the database, so every process reports the same figures."""

    feeds: dict[str, int]
    """Feeds per status (see ``Stats.feeds``)."""
    entries_waiting: int
    """Fetched entries not yet processed."""
    oldest_waiting: datetime | None
    """When the oldest of them was fetched: the processing lag."""
    stories: int
    outbox: dict[str, int]
    """Messages waiting or being sent, per platform."""
    oldest_pending: dict[str, datetime]
    """When the oldest of them was queued, per platform."""
    sent_24h: dict[str, int]
    """Messages sent in the last 24 hours, per platform."""
    last_poll: datetime | None
    last_digest: datetime | None
    last_sent: datetime | None


def _utc(value: datetime | None) -> datetime | None:
    """min()/max() of a UTC column keep its type, so arrive aware; a naive one is UTC too."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def pipeline(session: Session, now: datetime) -> Pipeline:
    waiting = session.execute(
        select(func.count(), func.min(EntryRow.fetched_at)).where(EntryRow.processed_at.is_(None))
    ).one()
    open_ = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    outbox: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    for platform, count, first in session.execute(
        select(DeliveryRow.platform, func.count(), func.min(DeliveryRow.created_at))
        .where(DeliveryRow.status.in_(open_))
        .group_by(DeliveryRow.platform)
    ):
        outbox[platform] = int(count)
        oldest[platform] = _utc(first) or now
    sent = session.execute(
        select(DeliveryRow.platform, func.count())
        .where(DeliveryRow.status == DeliveryStatus.SENT, DeliveryRow.sent_at >= now - DAY)
        .group_by(DeliveryRow.platform)
    )
    return Pipeline(
        feeds=feeds_by_status(session),
        entries_waiting=int(waiting[0]),
        oldest_waiting=_utc(waiting[1]),
        stories=_count(session, select(func.count()).select_from(StoryRow)),
        outbox=outbox,
        oldest_pending=oldest,
        sent_24h={platform: int(count) for platform, count in sent},
        last_poll=_utc(session.scalar(select(func.max(FeedRow.last_checked_at)))),
        last_digest=_utc(session.scalar(select(func.max(DigestCursorRow.last_digest_at)))),
        last_sent=_utc(session.scalar(select(func.max(DeliveryRow.sent_at)))),
    )
