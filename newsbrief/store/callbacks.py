"""Callback messages taken and their replies, by MsgId, for every process serving callbacks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.store.tables import CallbackReplyRow

KEEP = timedelta(days=1)
"""How long a message is remembered: WeChat's retries come within seconds of the first try."""


def take(session: Session, scope: str, msg_id: str, now: datetime) -> tuple[bool, str | None]:
    """Take a message: (True, None) when it is new, now held by the caller, who runs its
    command and stores the reply with ``done``; (False, reply or None while it runs) for a
    message taken before, by any process. Rows older than ``KEEP`` go on the way."""
    session.execute(delete(CallbackReplyRow).where(CallbackReplyRow.created_at < now - KEEP))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CallbackReplyRow)
        .values(scope=scope, msg_id=msg_id, reply=None, created_at=now)
        .on_conflict_do_nothing(index_elements=[CallbackReplyRow.scope, CallbackReplyRow.msg_id])
        .returning(CallbackReplyRow.msg_id)
    )
    if session.execute(statement).first() is not None:
        return True, None
    return False, reply(session, scope, msg_id)


def reply(session: Session, scope: str, msg_id: str) -> str | None:
    """The stored reply of a message taken, None while its command runs (or if unknown)."""
    return session.scalar(
        select(CallbackReplyRow.reply).where(
            CallbackReplyRow.scope == scope, CallbackReplyRow.msg_id == msg_id
        )
    )


def done(session: Session, scope: str, msg_id: str, text: str) -> None:
    """Store the reply of a message taken (``""``: none), for its retries."""
    session.execute(
        update(CallbackReplyRow)
        .where(CallbackReplyRow.scope == scope, CallbackReplyRow.msg_id == msg_id)
        .values(reply=text)
    )
