"""Queries on subscribers, their subscriptions and their digest cursors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from newsbrief.records import Subscriber
from newsbrief.store.articles import head_position
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, SubscriberRow, SubscriptionRow


def _record(row: SubscriberRow, topics: Iterable[str] = ()) -> Subscriber:
    return Subscriber(
        id=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id or None,
        lang=row.lang,
        timezone=row.timezone,
        schedule=row.schedule,
        paused=row.paused,
        topics=tuple(topics),
    )


def find(session: Session, platform: str, chat_id: str, thread_id: int | None) -> Subscriber | None:
    row = session.scalar(
        select(SubscriberRow).where(
            SubscriberRow.platform == platform,
            SubscriberRow.chat_id == chat_id,
            SubscriberRow.thread_id == (thread_id or 0),
        )
    )
    return _record(row, topics_of(session, row.id)) if row else None


def get(session: Session, subscriber_id: int) -> Subscriber | None:
    row = session.get(SubscriberRow, subscriber_id)
    return _record(row, topics_of(session, row.id)) if row else None


def ensure(
    session: Session,
    platform: str,
    chat_id: str,
    thread_id: int | None,
    *,
    lang: str,
    timezone: str,
    schedule: str,
    now: datetime,
    backlog: timedelta,
) -> tuple[Subscriber, bool]:
    """The subscriber for this chat, created with the defaults if new. Returns (it, created).

    A new subscriber's cursor starts ``backlog`` ago, so the first digest is not the archive.
    """
    found = find(session, platform, chat_id, thread_id)
    if found is not None:
        return found, False
    row = SubscriberRow(
        platform=platform,
        chat_id=chat_id,
        thread_id=thread_id or 0,
        lang=lang,
        timezone=timezone,
        schedule=schedule,
        paused=False,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        DigestCursorRow(
            subscriber_id=row.id,
            position=head_position(session, before=now - backlog),
            next_due_at=now,
            digests_sent=0,
        )
    )
    return _record(row), True


def topics_of(session: Session, subscriber_id: int) -> list[str]:
    return list(
        session.scalars(
            select(SubscriptionRow.topic_id)
            .where(SubscriptionRow.subscriber_id == subscriber_id)
            .order_by(SubscriptionRow.created_at, SubscriptionRow.topic_id)
        )
    )


def subscribe(
    session: Session, subscriber_id: int, topic_ids: Iterable[str], now: datetime
) -> list[str]:
    """Add subscriptions; returns the topics that were new."""
    have = set(topics_of(session, subscriber_id))
    added = [t for t in dict.fromkeys(topic_ids) if t not in have]
    for topic_id in added:
        session.add(SubscriptionRow(subscriber_id=subscriber_id, topic_id=topic_id, created_at=now))
    return added


def unsubscribe(session: Session, subscriber_id: int, topic_ids: Iterable[str]) -> list[str]:
    """Remove subscriptions; returns the topics that were removed."""
    have = set(topics_of(session, subscriber_id))
    removed = [t for t in dict.fromkeys(topic_ids) if t in have]
    if removed:
        session.execute(
            delete(SubscriptionRow).where(
                SubscriptionRow.subscriber_id == subscriber_id,
                SubscriptionRow.topic_id.in_(removed),
            )
        )
    return removed


def set_language(session: Session, subscriber_id: int, lang: str) -> None:
    session.execute(
        update(SubscriberRow).where(SubscriberRow.id == subscriber_id).values(lang=lang)
    )


def resume(session: Session, subscriber_id: int) -> bool:
    """Un-pause a subscriber (it came back with /start) and requeue what was held for it."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None or not row.paused:
        return False
    row.paused, row.paused_reason = False, None
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.status == "paused")
        .values(status="pending")
    )
    return True


def pause_chat(session: Session, platform: str, chat_id: str, reason: str) -> None:
    """The chat cannot receive (blocked the bot, gone): hold everything for it until /start."""
    session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.platform == platform, SubscriberRow.chat_id == chat_id)
        .values(paused=True, paused_reason=reason)
    )


def migrate_chat(session: Session, platform: str, old_chat_id: str, new_chat_id: str) -> None:
    """A group became a supergroup: its subscribers and queued messages follow it."""
    session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.platform == platform, SubscriberRow.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
    )
    session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.platform == platform,
            DeliveryRow.chat_id == old_chat_id,
            DeliveryRow.status.in_(("pending", "sending", "paused")),
        )
        .values(chat_id=new_chat_id)
    )


def claim_due(session: Session, now: datetime, limit: int, lease: timedelta) -> list[Subscriber]:
    """Subscribers with subscriptions whose next digest is due, leased for one compose."""
    query = (
        select(SubscriberRow)
        .join(DigestCursorRow, DigestCursorRow.subscriber_id == SubscriberRow.id)
        .where(
            SubscriberRow.paused.is_(False),
            DigestCursorRow.next_due_at.is_not(None),
            DigestCursorRow.next_due_at <= now,
            or_(DigestCursorRow.lease_until.is_(None), DigestCursorRow.lease_until <= now),
            exists().where(SubscriptionRow.subscriber_id == SubscriberRow.id),
        )
        .order_by(DigestCursorRow.next_due_at)
        .limit(limit)
        .with_for_update(of=DigestCursorRow, skip_locked=True)
    )
    rows = list(session.scalars(query))
    if rows:
        session.execute(
            update(DigestCursorRow)
            .where(DigestCursorRow.subscriber_id.in_([r.id for r in rows]))
            .values(lease_until=now + lease)
        )
    return [_record(row, topics_of(session, row.id)) for row in rows]


def cursor(session: Session, subscriber_id: int) -> DigestCursorRow:
    return session.get_one(DigestCursorRow, subscriber_id, with_for_update=True)


def advance(
    session: Session,
    subscriber_id: int,
    position: int,
    next_due_at: datetime | None,
    now: datetime,
    *,
    sent_digest: bool,
) -> None:
    row = cursor(session, subscriber_id)
    row.position = max(row.position, position)
    row.next_due_at, row.lease_until = next_due_at, None
    if sent_digest:
        row.last_digest_at = now
        row.digests_sent += 1


def count(session: Session) -> int:
    return len(session.scalars(select(SubscriberRow.id)).all())
