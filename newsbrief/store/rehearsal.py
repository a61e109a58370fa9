"""A view of the database that hands back the outbox parts a piece of code queues for one
subscriber, and can undo everything that code wrote.

``/digest`` runs the compose tick's own ``compose_for`` through it: kept, the parts are what it
queued; rehearsed (the console's preview), the same transaction is rolled back at its end, so
nothing is queued, no cursor moves and nothing counts as read. One code path for both, so the
preview cannot drift from what ``/digest`` sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsbrief.records import Delivery, DeliveryStatus, Message
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow


class _Undo(Exception):
    """Raised at the end of a rehearsed transaction to roll it back."""


class Rehearsal(Database):
    """``db``'s engine and sessions (no second pool); ``parts`` collects, in each transaction
    before it ends, the outbox rows written for ``subscriber_id`` at ``now``; with ``keep``
    False every transaction is then rolled back."""

    def __init__(self, db: Database, subscriber_id: int, now: datetime, *, keep: bool) -> None:
        # Not Database.__init__, which would open a second engine on the same database.
        self.url, self.engine = db.url, db.engine
        self._db, self._subscriber_id, self._now, self._keep = db, subscriber_id, now, keep
        self.parts: list[Delivery] = []

    @contextmanager
    def session(self, *, write_lock: bool = False, redoable: bool = False) -> Iterator[Session]:
        try:
            with self._db.session(write_lock=write_lock, redoable=redoable) as session:
                before = session.scalar(select(func.max(DeliveryRow.id))) or 0
                yield session
                self.parts += _written(session, self._subscriber_id, before)
                if not self._keep:
                    raise _Undo
        except _Undo:
            pass


def _written(session: Session, subscriber_id: int, before: int) -> list[Delivery]:
    """The outbox rows this transaction queued for the subscriber: ids past the newest one at
    its start (not rows of the same ``created_at``: an earlier /digest page at the same clock
    reading would count as new, and a paging loop would never end)."""
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.id > before)
        .order_by(DeliveryRow.id)
    )
    return [
        Delivery(
            id=row.id,
            key=row.key,
            subscriber_id=subscriber_id,
            platform=row.platform,
            chat_id=row.chat_id,
            thread_id=row.thread_id or None,
            message=Message(row.text, row.parse_mode, row.disable_preview),
            status=DeliveryStatus(row.status),
            payload=row.payload,
            priority=row.priority,
        )
        for row in session.scalars(query)
    ]
