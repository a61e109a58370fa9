"""The delivery outbox: rendered messages waiting to be sent, and what became of them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.records import Button, Delivery, DeliveryStatus, Message, Priority, Subscriber
from newsbrief.store import bulk
from newsbrief.store.tables import ChatPauseRow, DeliveryRow, SubscriberRow

MAX_ATTEMPTS = 8
OUTBOX_CHANNEL = "newsbrief_outbox"
"""PostgreSQL's NOTIFY channel for messages queued to go now; the payload is their platform."""


def _buttons(rows: list[list[list[str]]] | None) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(text, data) for text, data in row) for row in rows or ())


def _record(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        key=row.key,
        subscriber_id=row.subscriber_id or 0,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id or None,
        message=Message(
            text=row.text,
            parse_mode=row.parse_mode,
            disable_preview=row.disable_preview,
            buttons=_buttons(row.buttons),
        ),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        platform_message_id=row.platform_message_id,
        payload=row.payload,
        priority=row.priority,
        edit_of=row.edit_of,
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
    priority: int = Priority.DIGEST,
    edit_of: str | None = None,
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
                buttons=[[[b.text, b.data] for b in row] for row in message.buttons] or None,
                edit_of=edit_of,
                priority=priority,
                status=DeliveryStatus.PENDING,
                attempts=0,
                due_at=now,
                created_at=now,
            )
        )
        added += 1
    if added and priority >= Priority.REPLY:
        announce(session, platform)  # someone waits for it; digests wait for the next tick
    return added


def announce(session: Session, platform: str) -> None:
    """Tell the deliverer holding ``platform``'s budget, in whichever process, that something
    is due now: a NOTIFY that PostgreSQL sends when this transaction commits (and never if it
    rolls back). SQLite has one process, woken in memory."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(OUTBOX_CHANNEL, platform)))


def enqueue_reply(
    session: Session,
    platform: str,
    chat_id: str,
    key: str,
    message: Message,
    now: datetime,
    *,
    thread_id: int | None = None,
    edit_of: str | None = None,
) -> bool:
    """Queue the answer to a command (``edit_of``: as an edit of that message), ahead of digest
    parts. ``key`` names the command (its update), so a command handled twice is answered once.
    Returns whether it was added."""
    subscriber = session.scalar(
        select(SubscriberRow.id).where(
            SubscriberRow.platform == platform,
            SubscriberRow.chat_id == chat_id,
            SubscriberRow.thread_id == (thread_id or 0),
        )
    )
    added = enqueue_to(
        session,
        platform,
        chat_id,
        key,
        [message],
        now,
        thread_id=thread_id,
        subscriber_id=subscriber,
        priority=Priority.REPLY,
        edit_of=edit_of,
    )
    return added > 0


@dataclass(frozen=True, slots=True)
class DueHead:
    """One of the first due messages of a chat, with how many that chat has due in all."""

    id: int
    platform: str
    chat_id: str
    chat_due: int
    """Messages due for this chat (the chat's remaining work)."""
    priority: int = Priority.DIGEST
    """The chat's most urgent due message's priority."""


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        or_(
            DeliveryRow.status == DeliveryStatus.PENDING,
            (DeliveryRow.status == DeliveryStatus.SENDING) & (DeliveryRow.lease_until <= now),
        ),
        DeliveryRow.due_at <= now,
    )


def due_heads(
    session: Session,
    now: datetime,
    platforms: Sequence[str],
    *,
    per_chat: int,
    limit: int,
    skip_chats: Collection[tuple[str, str]] = (),
    min_priority: int = Priority.DIGEST,
) -> list[DueHead]:
    """The first ``per_chat`` due messages of each chat: the chats with a reply waiting first,
    then those with the most due. In a chat, replies go before digest parts, each kind in the
    order written. Only chats with a message of ``min_priority`` or more.

    A chat with a message claimed by a live sender (any process) is left out, as are
    ``skip_chats``: a chat's messages go out one after another, so only one sender may hold it.
    """
    busy = session.execute(
        select(DeliveryRow.platform, DeliveryRow.chat_id)
        .where(DeliveryRow.status == DeliveryStatus.SENDING, DeliveryRow.lease_until > now)
        .distinct()
    )
    skip = {f"{platform}:{chat}" for platform, chat in [*busy, *skip_chats]}
    chat = (DeliveryRow.platform, DeliveryRow.chat_id)
    in_chat = (DeliveryRow.priority.desc(), DeliveryRow.id)
    ranked = (
        select(
            DeliveryRow.id,
            DeliveryRow.platform,
            DeliveryRow.chat_id,
            func.row_number().over(partition_by=chat, order_by=in_chat).label("rank"),
            func.count().over(partition_by=chat).label("chat_due"),
            func.min(DeliveryRow.id).over(partition_by=chat).label("first"),
            func.max(DeliveryRow.priority).over(partition_by=chat).label("top"),
        )
        .where(DeliveryRow.platform.in_(list(platforms)), _claimable(now))
        .subquery()
    )
    where: ColumnElement[bool] = ranked.c.rank <= per_chat
    if skip:
        key = ranked.c.platform + ":" + ranked.c.chat_id
        where = and_(where, key.not_in(list(skip)))
    if min_priority > Priority.DIGEST:
        where = and_(where, ranked.c.top >= min_priority)
    query = (
        select(ranked.c.id, ranked.c.platform, ranked.c.chat_id, ranked.c.chat_due, ranked.c.top)
        .where(where)
        .order_by(ranked.c.top.desc(), ranked.c.chat_due.desc(), ranked.c.first, ranked.c.rank)
        .limit(limit)
    )
    return [DueHead(*row) for row in session.execute(query)]


def pending_ids(
    session: Session, platform: str, chat_id: str, now: datetime, limit: int
) -> list[int]:
    """One chat's claimable messages, oldest first (pull-only channels take them as replies)."""
    return list(
        session.scalars(
            select(DeliveryRow.id)
            .where(
                DeliveryRow.platform == platform,
                DeliveryRow.chat_id == chat_id,
                _claimable(now),
            )
            .order_by(DeliveryRow.id)
            .limit(limit)
        )
    )


def claim(
    session: Session,
    ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    owner: str | None = None,
) -> list[Delivery]:
    """Lease these messages to this sender (``owner``), those still claimable; in the order
    given.

    After a crash the lease runs out and they are claimed again, so a message in flight at the
    crash may be sent twice, never lost.
    """
    if not ids:
        return []
    got = set(
        session.scalars(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(list(ids)), _claimable(now))
            .values(status=DeliveryStatus.SENDING, lease_until=now + lease, claimed_by=owner)
            .returning(DeliveryRow.id)
        )
    )
    rows = {r.id: r for r in session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(got)))}
    return [_record(rows[i]) for i in ids if i in rows]


def claim_due(
    session: Session, now: datetime, limit: int, lease: timedelta, platforms: Sequence[str]
) -> list[Delivery]:
    """Up to ``limit`` due messages in the order they were written, leased (chats mixed)."""
    ids = session.scalars(
        select(DeliveryRow.id)
        .where(DeliveryRow.platform.in_(list(platforms)), _claimable(now))
        .order_by(DeliveryRow.id)
        .limit(limit)
    )
    return claim(session, list(ids), now, lease)


def release(session: Session, ids: Sequence[int]) -> None:
    """Give claimed messages back unsent (another sender got ahead in their chat)."""
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(list(ids)), DeliveryRow.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING, lease_until=None, claimed_by=None)
    )


def _held_by(owner: str) -> ColumnElement[bool]:
    return and_(DeliveryRow.status == DeliveryStatus.SENDING, DeliveryRow.claimed_by == owner)


def held(session: Session, delivery_id: int, owner: str, until: datetime) -> bool:
    """Whether ``owner`` still holds this message's claim (lapsed, but taken by no one else),
    leasing it until ``until`` if so: checked before a send whose claim was not renewed in
    time."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, _held_by(owner))
        .values(lease_until=until)
    )
    return int(cast(Any, result).rowcount) == 1


def renew(session: Session, ids: Sequence[int], owner: str, until: datetime) -> int:
    """Extend ``owner``'s lease on messages it still holds to ``until`` (a later lease stays);
    returns how many were extended."""
    if not ids:
        return 0
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(list(ids)), _held_by(owner), DeliveryRow.lease_until < until)
        .values(lease_until=until)
    )
    return int(cast(Any, result).rowcount)


def mark_sent(session: Session, delivery_id: int, message_id: str | None, now: datetime) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(
            status=DeliveryStatus.SENT,
            platform_message_id=message_id,
            sent_at=now,
            lease_until=None,
            claimed_by=None,
            last_error=None,
            attempts=DeliveryRow.attempts + 1,
        )
    )


def retry_later(session: Session, delivery: Delivery, error: str, due_at: datetime) -> None:
    """A passing failure: try again at ``due_at``, or give up visibly after MAX_ATTEMPTS."""
    attempts = delivery.attempts + 1
    status = DeliveryStatus.FAILED if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery.id)
        .values(
            status=status,
            due_at=due_at,
            lease_until=None,
            claimed_by=None,
            last_error=error[:2000],
            attempts=attempts,
        )
    )


def fail(session: Session, delivery_id: int, error: str) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(
            status=DeliveryStatus.FAILED,
            lease_until=None,
            claimed_by=None,
            last_error=error[:2000],
            attempts=DeliveryRow.attempts + 1,
        )
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
        .values(
            status=DeliveryStatus.PENDING,
            due_at=due_at,
            lease_until=None,
            claimed_by=None,
            last_error=reason,
        )
    )


def pause_chat(
    session: Session, platform: str, chat_id: str, reason: str, now: datetime | None = None
) -> None:
    """The chat cannot receive: its digests wait, visibly, until the subscriber returns. Its
    replies fail (visibly too): they answered a moment that will be over by then. When and why
    is kept for the console (``chat_pauses``)."""
    pause = _upsert(session, ChatPauseRow).values(
        platform=platform, chat_id=chat_id, reason=reason, since=now or datetime.now(UTC)
    )
    session.execute(
        pause.on_conflict_do_update(
            index_elements=[ChatPauseRow.platform, ChatPauseRow.chat_id],
            set_={"reason": pause.excluded.reason, "since": pause.excluded.since},
        )
    )
    waiting = and_(
        DeliveryRow.platform == platform,
        DeliveryRow.chat_id == chat_id,
        DeliveryRow.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
    )
    for status, kind in (
        (DeliveryStatus.FAILED, DeliveryRow.priority >= Priority.REPLY),
        (DeliveryStatus.PAUSED, DeliveryRow.priority < Priority.REPLY),
    ):
        session.execute(
            update(DeliveryRow)
            .where(waiting, kind)
            .values(status=status, lease_until=None, claimed_by=None, last_error=reason)
        )


def _upsert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def retry_failed(session: Session, delivery_id: int, now: datetime) -> str | None:
    """A failed message back to pending, due now, with a fresh count of attempts (the admin
    fixed what made it fail); its platform, or None when it is not failed (any more)."""
    platform = session.scalar(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status == DeliveryStatus.FAILED)
        .values(status=DeliveryStatus.PENDING, due_at=now, attempts=0, lease_until=None)
        .returning(DeliveryRow.platform)
    )
    if platform is not None:
        announce(session, platform)
    return platform


@dataclass(frozen=True, slots=True)
class Held:
    """An outbox message as the console lists it."""

    id: int
    platform: str
    chat_id: str
    status: str
    reply: bool
    """A command's reply (else a digest part or a notice)."""
    attempts: int
    created_at: datetime
    due_at: datetime
    last_error: str | None
    preview: str
    """The start of its text (empty for a digest part rendered when sent)."""


HELD = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.FAILED,
    DeliveryStatus.PAUSED,
)
"""The states the console lists: everything not sent."""


def held_counts(session: Session) -> dict[str, int]:
    """Messages per state of ``HELD`` (the (status, due_at) index: no table scan)."""
    rows = session.execute(
        select(DeliveryRow.status, func.count())
        .where(DeliveryRow.status.in_(HELD))
        .group_by(DeliveryRow.status)
    )
    return {str(status): int(count) for status, count in rows}


def held_page(
    session: Session, statuses: Sequence[str], offset: int, limit: int, preview: int = 120
) -> list[Held]:
    """One page of the messages in ``statuses``, the latest due first."""
    rows = session.execute(
        select(
            DeliveryRow.id,
            DeliveryRow.platform,
            DeliveryRow.chat_id,
            DeliveryRow.status,
            DeliveryRow.priority,
            DeliveryRow.attempts,
            DeliveryRow.created_at,
            DeliveryRow.due_at,
            DeliveryRow.last_error,
            func.substr(DeliveryRow.text, 1, preview),
        )
        .where(DeliveryRow.status.in_(list(statuses)))
        .order_by(DeliveryRow.due_at.desc(), DeliveryRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        Held(i, p, c, s, prio >= Priority.REPLY, a, made, due, err, text or "")
        for i, p, c, s, prio, a, made, due, err, text in rows
    ]


def chat_pauses(
    session: Session, chats: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, datetime]]:
    """When and why each of these chats was last refused by its platform."""
    if not chats:
        return {}
    wanted = set(chats)
    rows = session.execute(
        select(
            ChatPauseRow.platform, ChatPauseRow.chat_id, ChatPauseRow.reason, ChatPauseRow.since
        ).where(ChatPauseRow.chat_id.in_({chat for _, chat in wanted}))
    )
    return {(p, c): (r, since) for p, c, r, since in rows if (p, c) in wanted}


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[DeliveryRow]:
    query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
    if status:
        query = query.where(DeliveryRow.status == status)
    return list(session.scalars(query))


def insert_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add outbox rows in bulk; a key already there (a repeat of the same digest) is skipped."""
    bulk.insert_ignoring(session, cast(Table, DeliveryRow.__table__), rows, "key")
