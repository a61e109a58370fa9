"""Updates of different chats handled at once, each chat's in the order they came.

Handled one after another, every chat waits behind the slowest command: an admin's
``/addfeed`` fetching a slow site holds up everyone's ``/start`` for its whole timeout. Handled
all at once, a chat's ``/start`` and ``/subscribe`` could be answered in the wrong order. So: one queue per
chat (per user for button presses without a chat), all queues at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT = 16
"""Updates handled at once (each needs a database connection for its round trips)."""
UNBOUNDED = 1 << 30
"""PTB's own bound, which counts updates waiting for their chat: a flood from one chat would
fill it and stall every other chat. This class bounds the updates actually handled instead."""


class PerChatUpdates(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(UNBOUNDED)
        self._working = asyncio.Semaphore(max_concurrent_updates)
        self._chats: dict[object, tuple[asyncio.Lock, int]] = {}
        """Each chat's lock and how many of its updates hold or wait for it."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts the updates' tasks in the order they came and asyncio's locks are fair,
        # so a chat's updates take its lock in that order.
        key = _chat_of(update)
        lock, users = self._chats.get(key, (asyncio.Lock(), 0))
        self._chats[key] = (lock, users + 1)
        try:
            async with lock, self._working:
                await coroutine
        finally:
            lock, users = self._chats[key]
            if users == 1:
                del self._chats[key]
            else:
                self._chats[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the updates under way finish with the application."""


def _chat_of(update: object) -> object:
    if isinstance(update, Update):
        if (chat := update.effective_chat) is not None:
            return ("chat", chat.id)
        if (user := update.effective_user) is not None:
            return ("user", user.id)
    return None  # anything else: one shared queue, as before
