"""What the deliver tick needs from a channel: send one outbox message, report what happened."""

from __future__ import annotations

import asyncio
from typing import Protocol

from newsbrief.records import Delivery, SendResult


class Sender(Protocol):
    platform: str
    global_interval: float
    """Seconds between any two sends through this sender."""

    def chat_interval(self, chat_id: str) -> float:
        """Seconds between two sends to one chat."""
        ...

    async def send(self, delivery: Delivery) -> SendResult: ...


class Pacer:
    """Spaces sends: a minimum interval per chat and one for the whole sender.

    Waiting here rather than answering 429s keeps us inside the platform's flood limits.
    """

    def __init__(self, global_interval: float) -> None:
        self.global_interval = global_interval
        self._next_global = 0.0
        self._next_chat: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_key: str, chat_interval: float) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next_global, self._next_chat.get(chat_key, 0.0))
            self._next_global = start + self.global_interval
            self._next_chat[chat_key] = start + chat_interval
        if start > now:
            await asyncio.sleep(start - now)
