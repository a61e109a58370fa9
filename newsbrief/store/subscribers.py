"""Queries on subscribers, their subscriptions and their digest cursors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, and_, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from newsbrief.records import CursorState, Keywords, Subscriber, Subscription
from newsbrief.schedule import next_digest
from newsbrief.store import bulk
from newsbrief.store.articles import head_position
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, EntryRow, SubscriberRow

_NO_KEYWORDS = Keywords()


def _keywords(data: Mapping[str, Any] | None) -> Keywords:
    if not data or not (data.get("include") or data.get("exclude")):
        return _NO_KEYWORDS
    return Keywords(tuple(data.get("include") or ()), tuple(data.get("exclude") or ()))


def _keywords_json(keywords: Keywords) -> dict[str, list[str]]:
    return {"include": list(keywords.include), "exclude": list(keywords.exclude)}


class _Plain(dict[str, Subscription]):
    """One shared record per topic for the usual subscription without keywords."""

    def __missing__(self, topic: str) -> Subscription:
        found = self[topic] = Subscription(topic)
        return found


_PLAIN = _Plain()


def _subscriptions(data: Sequence[str | Mapping[str, Any]]) -> tuple[Subscription, ...]:
    try:  # the usual case, all plain topic ids: one C-level pass
        return tuple(map(_PLAIN.__getitem__, data))  # type: ignore[arg-type]
    except TypeError:  # some carry keywords (a dict is not a key)
        return tuple(
            _PLAIN[d] if isinstance(d, str) else Subscription(d["topic"], _keywords(d))
            for d in data
        )


def _subscriptions_json(subscriptions: Iterable[Subscription]) -> list[str | dict[str, Any]]:
    """A topic id alone, or ``{"topic": id, "include": [...], "exclude": [...]}``."""
    return [
        {"topic": s.topic, **_keywords_json(s.keywords)} if s.keywords else s.topic
        for s in subscriptions
    ]


def _record(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        id=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id or None,
        lang=row.lang,
        timezone=row.timezone,
        schedule=row.schedule,
        paused=row.paused,
        subscriptions=_subscriptions(row.subscriptions or ()),
        filters=_keywords(row.filters),
        quiet_hours=row.quiet_hours,
        max_items=row.max_items,
    )


def find(session: Session, platform: str, chat_id: str, thread_id: int | None) -> Subscriber | None:
    row = session.scalar(
        select(SubscriberRow).where(
            SubscriberRow.platform == platform,
            SubscriberRow.chat_id == chat_id,
            SubscriberRow.thread_id == (thread_id or 0),
        )
    )
    return _record(row) if row else None


def get(session: Session, subscriber_id: int) -> Subscriber | None:
    row = session.get(SubscriberRow, subscriber_id)
    return _record(row) if row else None


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
    quiet_hours: str | None = None,
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
        subscriptions=[],
        filters={},
        quiet_hours=quiet_hours,
    )
    session.add(row)
    session.flush()
    session.add(
        DigestCursorRow(
            subscriber_id=row.id,
            position=head_position(session, before=now - backlog),
            next_due_at=None,  # due once it follows something
            digests_sent=0,
        )
    )
    return _record(row), True


def subscribe(
    session: Session,
    subscriber_id: int,
    topic_ids: Iterable[str],
    now: datetime,
    keywords: Keywords | None = None,
) -> list[str]:
    """Add subscriptions (or set the keywords of existing ones); returns the topics that were new.

    A subscriber with nothing to read is never due; its first topic makes it due at once.
    """
    row = session.get_one(SubscriberRow, subscriber_id, with_for_update=True)
    subs = list(_subscriptions(row.subscriptions or ()))
    have = {s.topic for s in subs}
    wanted = list(dict.fromkeys(topic_ids))
    added = [t for t in wanted if t not in have]
    if keywords is not None:
        subs = [Subscription(s.topic, keywords) if s.topic in wanted else s for s in subs]
    subs += [Subscription(t, keywords or Keywords()) for t in added]
    row.subscriptions = _subscriptions_json(subs)
    if added:
        cursor = session.get(DigestCursorRow, subscriber_id)
        if cursor is not None and cursor.next_due_at is None:
            cursor.next_due_at = now  # the first digest right away
            if not cursor.digests_sent:
                cursor.overflow = _first_wait_json(session, now)
    return added


@dataclass(frozen=True, slots=True)
class FirstWait:
    """What a subscriber's first digest waits for: every entry fetched by the time it
    subscribed (ids up to ``entries``) processed, so the digest covers the whole backlog once
    instead of a part now and the rest a minute later. Kept in the cursor's ``overflow``
    (nothing was left out yet) until the first digest replaces it."""

    entries: int
    since: datetime


def _first_wait_json(session: Session, now: datetime) -> dict[str, Any]:
    newest = session.scalar(select(func.max(EntryRow.id))) or 0
    return {"first_wait": {"entries": int(newest), "since": now.isoformat()}}


def first_wait(overflow: Mapping[str, Any] | None) -> FirstWait | None:
    """The first digest's wait kept in a cursor's ``overflow``; None for anything else."""
    found = overflow.get("first_wait") if overflow else None
    if not isinstance(found, dict):
        return None
    try:
        return FirstWait(int(found["entries"]), datetime.fromisoformat(found["since"]))
    except (KeyError, TypeError, ValueError):  # written by hand or by an older version
        return None


def oldest_unprocessed_entry(session: Session) -> int | None:
    """The lowest id of an entry still waiting to be processed (an index lookup), or None."""
    found = session.scalar(select(func.min(EntryRow.id)).where(EntryRow.processed_at.is_(None)))
    return int(found) if found is not None else None


def unsubscribe(session: Session, subscriber_id: int, topic_ids: Iterable[str]) -> list[str]:
    """Remove subscriptions; returns the topics that were removed."""
    row = session.get_one(SubscriberRow, subscriber_id, with_for_update=True)
    drop = set(topic_ids)
    subs = _subscriptions(row.subscriptions or ())
    removed = [s.topic for s in subs if s.topic in drop]
    if removed:
        row.subscriptions = _subscriptions_json(s for s in subs if s.topic not in drop)
        if not row.subscriptions:  # nothing to read: never due until it follows something
            cursor = session.get(DigestCursorRow, subscriber_id)
            if cursor is not None:
                cursor.next_due_at = None
    return removed


_UNSET: Any = object()


def update(
    session: Session,
    subscriber_id: int,
    now: datetime,
    *,
    lang: str = _UNSET,
    timezone: str = _UNSET,
    schedule: str = _UNSET,
    quiet_hours: str | None = _UNSET,
    max_items: int | None = _UNSET,
    filters: Keywords = _UNSET,
) -> None:
    """Change a subscriber's settings; a new schedule, timezone or quiet hours reschedules it."""
    row = session.get_one(SubscriberRow, subscriber_id, with_for_update=True)
    if lang is not _UNSET:
        row.lang = lang
    if max_items is not _UNSET:
        row.max_items = max_items
    if filters is not _UNSET:
        row.filters = _keywords_json(filters) if filters else {}
    timing = False
    for name, value in (
        ("timezone", timezone),
        ("schedule", schedule),
        ("quiet_hours", quiet_hours),
    ):
        if value is not _UNSET and getattr(row, name) != value:
            setattr(row, name, value)
            timing = True
    if timing:
        cursor = session.get(DigestCursorRow, subscriber_id)
        if cursor is not None and cursor.next_due_at is not None:
            cursor.next_due_at = next_digest(_record(row), now)


def resume(session: Session, subscriber_id: int) -> bool:
    """Un-pause a subscriber (it came back with /start) and requeue what was held for it."""
    row = session.get(SubscriberRow, subscriber_id)
    if row is None or not row.paused:
        return False
    row.paused, row.paused_reason = False, None
    session.execute(
        update_rows(DeliveryRow)
        .where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.status == "paused")
        .values(status="pending")
    )
    return True


def pause_chat(session: Session, platform: str, chat_id: str, reason: str) -> None:
    """The chat cannot receive (blocked the bot, gone): hold everything for it until /start."""
    session.execute(
        update_rows(SubscriberRow)
        .where(SubscriberRow.platform == platform, SubscriberRow.chat_id == chat_id)
        .values(paused=True, paused_reason=reason)
    )


def migrate_chat(session: Session, platform: str, old_chat_id: str, new_chat_id: str) -> None:
    """A group became a supergroup: its subscribers and queued messages follow it."""
    session.execute(
        update_rows(SubscriberRow)
        .where(SubscriberRow.platform == platform, SubscriberRow.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
    )
    session.execute(
        update_rows(DeliveryRow)
        .where(
            DeliveryRow.platform == platform,
            DeliveryRow.chat_id == old_chat_id,
            DeliveryRow.status.in_(("pending", "sending", "paused")),
        )
        .values(chat_id=new_chat_id)
    )


_COLUMNS = (
    SubscriberRow.id,
    SubscriberRow.platform,
    SubscriberRow.chat_id,
    SubscriberRow.thread_id,
    SubscriberRow.lang,
    SubscriberRow.timezone,
    SubscriberRow.schedule,
    # JSON as its text, decoded here: SQLAlchemy's JSON result processing (three layers of
    # Python a value) cost more than the query.
    sql_cast(SubscriberRow.subscriptions, Text),
    sql_cast(SubscriberRow.filters, Text),
    SubscriberRow.quiet_hours,
    SubscriberRow.max_items,
    DigestCursorRow.position,
    DigestCursorRow.digests_sent,
    sql_cast(DigestCursorRow.overflow, Text),
)


def claim_due(
    session: Session, now: datetime, limit: int, head: int | None = None
) -> list[tuple[Subscriber, CursorState]]:
    """Subscribers whose next digest is due, locked until the transaction ends.

    Claim, compose and the cursors' advance are one transaction (see ``Database.session``'s
    ``write_lock``): a compose that dies leaves nothing behind, and no lease has to run out.
    Plain column tuples rather than ORM objects: a tick may claim 100,000 of them. The
    cursors' ``next_due_at`` is not read (None): composing sets it anew.
    """
    query = (
        select(*_COLUMNS)
        .join(DigestCursorRow, DigestCursorRow.subscriber_id == SubscriberRow.id)
        .where(
            SubscriberRow.paused.is_(False),
            DigestCursorRow.next_due_at <= now,
            # An instant subscriber waits for news: with nothing after its cursor it costs
            # nothing; others are due at their times whether or not there is news. A first
            # digest waits for news whatever the schedule: a new subscriber (a robot set up on
            # an empty database) gets it as soon as there is something, not at the next 09:00.
            or_(
                and_(SubscriberRow.schedule != "instant", DigestCursorRow.digests_sent > 0),
                DigestCursorRow.position < (head_position(session) if head is None else head),
            ),
        )
        .order_by(DigestCursorRow.next_due_at)
        .limit(limit)
        .with_for_update(of=DigestCursorRow.__table__, skip_locked=True)
    )
    loads = orjson.loads
    claimed = []
    # Core, not ORM, execution: the ORM's result machinery cost three times the query.
    for r in session.connection().execute(query).all():
        # Positional, in Subscriber's field order (keywords cost 0.4 µs a claim, 40 ms of a
        # 100,000-subscriber pass); paused is False: the query leaves paused subscribers out.
        subscriber = Subscriber(
            r[0],
            r[1],
            r[2],
            r[3] or None,
            r[4],
            r[5],
            r[6],
            False,
            _subscriptions(loads(r[7]) or ()) if r[7] else (),
            _keywords(loads(r[8])) if r[8] else _NO_KEYWORDS,
            r[9],
            r[10],
        )
        claimed.append((subscriber, CursorState(r[11], r[12], loads(r[13]) if r[13] else None)))
    return claimed


def _cursor_row(session: Session, subscriber_id: int) -> DigestCursorRow:
    return session.get_one(DigestCursorRow, subscriber_id, with_for_update=True)


def cursor(session: Session, subscriber_id: int) -> CursorState:
    """A subscriber's cursor, locked until the transaction ends (``advance`` moves it)."""
    row = _cursor_row(session, subscriber_id)
    return CursorState(row.position, row.digests_sent, row.overflow, row.next_due_at)


def advance(
    session: Session,
    subscriber_id: int,
    position: int,
    next_due_at: datetime | None,
    now: datetime,
    *,
    sent_digest: bool,
    overflow: dict[str, Any] | None = _UNSET,
) -> None:
    row = _cursor_row(session, subscriber_id)
    row.position = max(row.position, position)
    row.next_due_at = next_due_at
    if overflow is not _UNSET:
        row.overflow = overflow
    if sent_digest:
        row.last_digest_at = now
        row.digests_sent += 1


def advance_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk cursor updates: each dict has ``subscriber_id`` and the same other keys."""
    bulk.update_by(session, cast(Table, DigestCursorRow.__table__), rows, "subscriber_id")


def count(session: Session) -> int:
    return len(session.scalars(select(SubscriberRow.id)).all())


def pause(session: Session, subscriber_id: int, reason: str) -> None:
    """Stop composing for one subscriber (``/pause``) until it resumes."""
    session.execute(
        update_rows(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id)
        .values(paused=True, paused_reason=reason)
    )


def delete(session: Session, subscriber_id: int) -> bool:
    """Forget a subscriber (``/stop``): its row, its cursor and every outbox row for it."""
    found = session.get(SubscriberRow, subscriber_id)
    if found is None:
        return False
    # Explicit rather than by cascade: SQLite connections opened elsewhere may lack foreign keys.
    for table in (DeliveryRow, DigestCursorRow):
        rows = cast(Table, table.__table__)
        session.execute(rows.delete().where(rows.c.subscriber_id == subscriber_id))
    session.delete(found)
    return True


def pause_all_but(
    session: Session, platforms: Iterable[str], keep: Iterable[tuple[str, str]], reason: str
) -> list[int]:
    """Pause every subscriber of ``platforms`` whose (platform, chat) is not in ``keep``: the
    robots that left the config. Returns their ids."""
    kept = set(keep)
    rows = session.execute(
        select(SubscriberRow.id, SubscriberRow.platform, SubscriberRow.chat_id).where(
            SubscriberRow.platform.in_(list(platforms)), SubscriberRow.paused.is_(False)
        )
    )
    gone = [row.id for row in rows if (row.platform, row.chat_id) not in kept]
    if gone:
        session.execute(
            update_rows(SubscriberRow)
            .where(SubscriberRow.id.in_(gone))
            .values(paused=True, paused_reason=reason)
        )
    return gone


def paused_reason(session: Session, subscriber_id: int) -> str | None:
    return session.scalar(
        select(SubscriberRow.paused_reason).where(SubscriberRow.id == subscriber_id)
    )
