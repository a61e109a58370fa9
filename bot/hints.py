"""How often a private chat's free text ("你好", "hello") gets the hint that points to /help.

A person who greets the bot deserves an answer; one who pastes 50 lines does not deserve 50. Each
chat gets at most ``LIMIT`` hints in any ``WINDOW`` (two in five minutes): the first words and a
second try are answered, the rest of a burst is not. The count is kept in memory, per process:
a restart or a second bot process may answer one burst twice, which costs a message, not a
flood, and needs no table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta

LIMIT = 2
WINDOW = timedelta(minutes=5)
MAX_CHATS = 10_000
"""Chats remembered at once; beyond it the ones quiet for longest are forgotten first."""


class HintRate:
    """A sliding window of hint times per chat."""

    def __init__(
        self, limit: int = LIMIT, window: timedelta = WINDOW, max_chats: int = MAX_CHATS
    ) -> None:
        self.limit, self.window, self.max_chats = limit, window, max_chats
        self._sent: dict[Hashable, deque[datetime]] = {}

    def allow(self, chat: Hashable, now: datetime) -> bool:
        """Whether ``chat`` may get a hint at ``now``; a yes counts as one sent."""
        times = self._sent.pop(chat, None) or deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        if times:
            self._sent[chat] = times  # re-inserted: the dict's order is least recent first
            if len(self._sent) > self.max_chats:
                del self._sent[next(iter(self._sent))]
        return allowed
