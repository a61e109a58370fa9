"""Telegram updates received by the webhook: stored, claimed under a lease, marked handled.

    receive:  insert if absent (Telegram resends) | claimed by the receiver | 200
    handle:   the bot's handlers | mark handled
    sweep:    renew the leases of updates being handled | claim those whose lease ran out
              (a process died between receipt and reply) | prune handled ones after a day

Any bot process may take over another's updates; a reply is keyed by the update it answers,
so an update handled twice is answered once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.store.tables import TelegramUpdateRow

MAX_ATTEMPTS = 5
"""Claims of one update before it is given up: one that kills its handler each time must not
take down every replica in turn, forever."""
KEEP_HANDLED = timedelta(days=1)
"""Handled updates kept to recognise Telegram's resends (it gives up well within a day)."""


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    update_id: int
    payload: dict[str, Any]
    attempts: int


def store(
    session: Session, update_id: int, payload: dict[str, Any], now: datetime, lease: timedelta
) -> bool:
    """Insert the update unless it is there already; True when it was new, and then it is
    claimed until ``now + lease`` (or free at once, ``lease`` zero, for any process to take)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TelegramUpdateRow)
        .values(
            update_id=update_id,
            payload=payload,
            received_at=now,
            lease_until=now + lease if lease else None,
            attempts=1 if lease else 0,
        )
        .on_conflict_do_nothing(index_elements=[TelegramUpdateRow.update_id])
        .returning(TelegramUpdateRow.update_id)
    )
    return session.execute(statement).first() is not None


def claim(
    session: Session,
    now: datetime,
    lease: timedelta,
    limit: int,
    ids: Sequence[int] | None = None,
) -> tuple[list[StoredUpdate], list[int]]:
    """Unhandled updates whose lease ran out (of ``ids``, if given), oldest first, leased to
    the caller; and the ids given up after MAX_ATTEMPTS claims (marked handled)."""
    free = TelegramUpdateRow.handled_at.is_(None) & or_(
        TelegramUpdateRow.lease_until.is_(None), TelegramUpdateRow.lease_until <= now
    )
    query = select(TelegramUpdateRow).where(free)
    if ids is not None:
        query = query.where(TelegramUpdateRow.update_id.in_(list(ids)))
    rows = session.scalars(
        query.order_by(TelegramUpdateRow.update_id).limit(limit).with_for_update(skip_locked=True)
    )
    claimed, given_up = [], []
    for row in rows:
        if row.attempts >= MAX_ATTEMPTS:
            row.handled_at, row.lease_until = now, None
            given_up.append(row.update_id)
            continue
        row.attempts += 1
        row.lease_until = now + lease
        claimed.append(StoredUpdate(row.update_id, row.payload, row.attempts))
    return claimed, given_up


def renew(session: Session, ids: Sequence[int], until: datetime) -> None:
    """Keep the claims on updates still being handled."""
    if ids:
        session.execute(
            update(TelegramUpdateRow)
            .where(
                TelegramUpdateRow.update_id.in_(list(ids)), TelegramUpdateRow.handled_at.is_(None)
            )
            .values(lease_until=until)
        )


def mark_handled(session: Session, update_id: int, now: datetime) -> None:
    session.execute(
        update(TelegramUpdateRow)
        .where(TelegramUpdateRow.update_id == update_id)
        .values(handled_at=now, lease_until=None)
    )


def prune(session: Session, now: datetime) -> int:
    """Forget updates handled over KEEP_HANDLED ago; how many."""
    result = session.execute(
        delete(TelegramUpdateRow).where(TelegramUpdateRow.handled_at < now - KEEP_HANDLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def unhandled(session: Session) -> list[int]:
    """Ids of the updates not handled yet (for status and tests)."""
    return list(
        session.scalars(
            select(TelegramUpdateRow.update_id)
            .where(TelegramUpdateRow.handled_at.is_(None))
            .order_by(TelegramUpdateRow.update_id)
        )
    )
