"""What the deliver tick needs from a channel: send one outbox message, report what happened."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from newsbrief.records import Delivery, SendResult


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``count`` sends to one chat in any ``span`` seconds."""

    count: int
    span: float


class Sender(Protocol):
    platform: str
    global_interval: float
    """Seconds between any two sends through this sender."""

    def chat_interval(self, chat_id: str) -> float:
        """Seconds between two sends to one chat."""
        ...

    def chat_window(self, chat_id: str) -> Window | None:
        """A limit per chat over a longer span, on top of the interval (Telegram's 20 a minute
        per group), or None."""
        ...

    async def send(self, delivery: Delivery) -> SendResult: ...


CATCH_UP = 0.5
"""Seconds of missed slots a late sender may make up for, in a short burst."""


class Pacer:
    """When the next send may start: one slot per ``global_interval`` for the whole sender, one
    per chat interval for each chat. Waiting for a slot rather than answering 429s keeps us
    inside the platform's flood limits.

    Times are the event loop's clock (seconds). The global slots stay on a grid: a send that
    starts late (a late wake-up, a slow previous send, a busy CPU) does not push every later
    slot back; up to ``CATCH_UP`` seconds of missed slots are made up for in a short burst, so
    the sender keeps its full rate on average. Like a token bucket holding ``CATCH_UP`` seconds
    of sends (PTB's own rate limiter holds a whole second's); a chat's slots have no such credit.

    On top of the grid, a sliding window: at most ``n`` sends in any ``n * global_interval``
    seconds (``n``: a second's worth, 30 for Telegram), counted from their answers. A send
    reaches the platform before its answer comes back, so however the network delays them the
    platform never sees more than ``n`` arrive within that span, a catch-up burst included.
    """

    def __init__(self, global_interval: float) -> None:
        self.global_interval = global_interval
        self._next_global = 0.0
        self._next_chat: dict[str, float] = {}
        self._windows: dict[str, tuple[deque[float], float]] = {}
        """Per chat with a window: its last ``count`` send times, and the span."""
        # Whole slots only: a sender allowed one message per minute gets no credit at all.
        slots = int(CATCH_UP / global_interval) if global_interval > 0 else 0
        self._credit = slots * global_interval
        count = max(1, round(1 / global_interval)) if global_interval > 0 else 0
        self._span = count * global_interval
        self._answers: deque[float] = deque(maxlen=max(1, count))
        """When the last sends were answered (only with a global interval)."""
        self._pending = 0
        """Sends started and not answered yet: they count in the window from their start."""
        self._count = count

    def hold(self, until: float) -> None:
        """No send before ``until`` (another process may have spent the budget just now)."""
        self._next_global = max(self._next_global, until)

    @property
    def next_global(self) -> float:
        if not self._count:
            return self._next_global
        need = self._count - self._pending
        if need <= 0:
            return math.inf
        if len(self._answers) < need:
            return self._next_global
        return max(self._next_global, self._answers[-need] + self._span)

    def chat_ready_at(self, chat_key: str) -> float:
        ready = self._next_chat.get(chat_key, 0.0)
        window = self._windows.get(chat_key)
        if window is not None:
            stamps, span = window
            if len(stamps) == stamps.maxlen:  # full: the oldest must leave the span first
                ready = max(ready, stamps[0] + span)
        return ready

    def take(
        self, chat_key: str, chat_interval: float, now: float, window: Window | None = None
    ) -> None:
        """Record a send to ``chat_key`` starting at ``now`` (no earlier than ``next_global`` and
        ``chat_ready_at``)."""
        # Slots missed more than CATCH_UP ago are gone (after idling, too).
        slot = max(self._next_global, now - self._credit)
        self._next_global = slot + self.global_interval
        self._pending += 1
        self._next_chat[chat_key] = now + chat_interval
        if window is not None:
            stamps, _ = self._windows.setdefault(
                chat_key, (deque(maxlen=max(1, window.count)), window.span)
            )
            stamps.append(now)
        if len(self._next_chat) > 10_000:  # forget chats whose interval is long over
            self._next_chat = {k: t for k, t in self._next_chat.items() if t > now}
            self._windows = {k: w for k, w in self._windows.items() if w[0][-1] + w[1] > now}

    def finished(self, chat_key: str, chat_interval: float, now: float) -> None:
        """A send to ``chat_key`` got its answer at ``now``. The platform counts a chat's
        messages as they arrive, and a request delayed on the way (a busy CPU, the network)
        arrives late: spacing from the answer keeps the next one a full interval behind it."""
        self._pending = max(0, self._pending - 1)
        if self._count:
            self._answers.append(now)
        self._next_chat[chat_key] = max(self._next_chat.get(chat_key, 0.0), now + chat_interval)
        window = self._windows.get(chat_key)
        if window is not None and window[0]:  # counted in its window as of its answer, too
            window[0][-1] = max(window[0][-1], now)

    def abandoned(self) -> None:
        """A send taken (``take``) did not happen: it no longer counts as under way."""
        self._pending = max(0, self._pending - 1)
