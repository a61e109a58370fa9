"""Command replies go out through the outbox, like digests, and ahead of them.

A reply sent straight from the command handler would spend the bot's send budget behind the
deliverer's back: a crowd of commands then meets Telegram's 429s and the answers are lost. In
the outbox a reply is paced with everything else, retried after ``retry_after``, and sent
before any digest part; the wake call makes the deliverer look at once, so a quiet bot still
answers within a fraction of a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from newsbrief.records import Message
from newsbrief.store import outbox
from newsbrief.store.db import Database


class Replies:
    """Queues replies and edits for the deliverer and wakes it."""

    def __init__(
        self, db: Database, wake: Callable[[], None], clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.wake = wake
        """Tell the deliverer there is something to send now (nothing happens in between)."""
        self._clock = clock

    async def put(
        self,
        platform: str,
        chat_id: str,
        key: str,
        message: Message,
        *,
        thread_id: int | None = None,
        edit_of: str | None = None,
    ) -> None:
        """Queue one reply, named by ``key`` (the update it answers: queued once however often
        that update is handled), and wake the deliverer. Raises if the database fails."""

        def write() -> None:
            with self.db.session() as session:
                outbox.enqueue_reply(
                    session,
                    platform,
                    chat_id,
                    key,
                    message,
                    self._clock(),
                    thread_id=thread_id,
                    edit_of=edit_of,
                )

        await asyncio.to_thread(write)
        self.wake()
