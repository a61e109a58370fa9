"""The delivery outbox: rendered messages waiting to be sent, and what became of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from newsbrief.records import Delivery, DeliveryStatus, Message, Subscriber
from newsbrief.store.tables import DeliveryRow

MAX_ATTEMPTS = 8


def _record(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        key=row.key,
        subscriber_id=row.subscriber_id or 0,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id or None,
        message=Message(
            text=row.text, parse_mode=row.parse_mode, disable_preview=row.disable_preview
        ),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        platform_message_id=row.platform_message_id,
    )


def enqueue(
    session: Session, subscriber: Subscriber, key: str, messages: Sequence[Message], now: datetime
) -> int:
    """Write the parts of one digest (or reply) once: ``key:part`` is unique. Returns rows added."""
    return enqueue_to(
        session,
        subscriber.platform,
        subscriber.chat_id,
        key,
        messages,
        now,
        thread_id=subscriber.thread_id,
        subscriber_id=subscriber.id,
    )


def enqueue_to(
    session: Session,
    platform: str,
    chat_id: str,
    key: str,
    messages: Sequence[Message],
    now: datetime,
    *,
    thread_id: int | None = None,
    subscriber_id: int | None = None,
) -> int:
    """Queue messages for any chat (admins need not be subscribers)."""
    keys = [f"{key}:{i}" for i in range(len(messages))]
    existing = set(session.scalars(select(DeliveryRow.key).where(DeliveryRow.key.in_(keys))))
    added = 0
    for part_key, message in zip(keys, messages, strict=True):
        if part_key in existing:
            continue
        session.add(
            DeliveryRow(
                key=part_key,
                subscriber_id=subscriber_id,
                platform=platform,
                chat_id=chat_id,
                thread_id=thread_id or 0,
                text=message.text,
                parse_mode=message.parse_mode,
                disable_preview=message.disable_preview,
                status=DeliveryStatus.PENDING,
                attempts=0,
                due_at=now,
                created_at=now,
            )
        )
        added += 1
    return added


def claim_due(
    session: Session, now: datetime, limit: int, lease: timedelta, platforms: Sequence[str]
) -> list[Delivery]:
    """Due messages in the order they were written; a crashed sender's lease runs out and they
    are claimed again (so a message in flight at a crash may be sent twice, never lost)."""
    query = (
        select(DeliveryRow)
        .where(
            DeliveryRow.platform.in_(list(platforms)),
            or_(
                DeliveryRow.status == DeliveryStatus.PENDING,
                (DeliveryRow.status == DeliveryStatus.SENDING) & (DeliveryRow.lease_until <= now),
            ),
            DeliveryRow.due_at <= now,
        )
        .order_by(DeliveryRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.lease_until = DeliveryStatus.SENDING, now + lease
        row.attempts += 1
    return [_record(row) for row in rows]


def mark_sent(session: Session, delivery_id: int, message_id: str | None, now: datetime) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(
            status=DeliveryStatus.SENT,
            platform_message_id=message_id,
            sent_at=now,
            lease_until=None,
            last_error=None,
        )
    )


def retry_later(session: Session, delivery: Delivery, error: str, due_at: datetime) -> None:
    """A passing failure: try again at ``due_at``, or give up visibly after MAX_ATTEMPTS."""
    status = DeliveryStatus.FAILED if delivery.attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery.id)
        .values(status=status, due_at=due_at, lease_until=None, last_error=error[:2000])
    )


def fail(session: Session, delivery_id: int, error: str) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status=DeliveryStatus.FAILED, lease_until=None, last_error=error[:2000])
    )


def hold_chat(session: Session, platform: str, chat_id: str, due_at: datetime, reason: str) -> None:
    """Rate limited: everything queued for this chat waits until ``due_at``; other chats go on."""
    session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.platform == platform,
            DeliveryRow.chat_id == chat_id,
            DeliveryRow.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        )
        .values(status=DeliveryStatus.PENDING, due_at=due_at, lease_until=None, last_error=reason)
    )


def pause_chat(session: Session, platform: str, chat_id: str, reason: str) -> None:
    """The chat cannot receive: its messages wait, visibly, until the subscriber returns."""
    session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.platform == platform,
            DeliveryRow.chat_id == chat_id,
            DeliveryRow.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
        )
        .values(status=DeliveryStatus.PAUSED, lease_until=None, last_error=reason)
    )


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[DeliveryRow]:
    query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
    if status:
        query = query.where(DeliveryRow.status == status)
    return list(session.scalars(query))
