"""One sender per send budget, however many processes run (PostgreSQL).

    each process running ``deliver`` or ``bot`` | every RETRY s: try each budget's lock
        | taken: active, its deliverer sends for that budget | held elsewhere: standing by
    LISTEN newsbrief_outbox | something queued to go now: wake the deliverer

A send budget is what a platform counts against one credential: a bot token's 30 messages a
second over all its chats, a group robot's 20 a minute. The pacer that keeps a budget lives in
one process's memory, so two processes sending for one budget would spend it twice; an advisory
lock (``newsbrief.store.lanes``) makes one of them its sender and the others standbys. The lock
lives as long as the holder's connection: when the holder dies, a standby takes it at its next
try, within RETRY seconds. Replies queued by any process NOTIFY the holder, which claims them at
once, so a reply still leaves within a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newsbrief.config.channels import WEBHOOK_PLATFORMS, robot_credentials
from newsbrief.config.settings import Config
from newsbrief.store.db import Database, DatabaseUnavailable
from newsbrief.store.lanes import LISTEN_POLL, LaneLocks, listen_outbox, lock_key

log = logging.getLogger(__name__)

RETRY = 2.0
"""Seconds between a standby's tries for the budgets it does not hold (and between attempts to
reconnect the lock and LISTEN connections)."""

ChatKey = tuple[str, str]
STANDING_BY = "standing by: another process sends for it"


@dataclass(frozen=True, slots=True)
class Budget:
    """One platform's limit on one credential: a whole platform's chats (``chat_id`` None, the
    bot token's), or one robot's chat."""

    platform: str
    chat_id: str | None
    key: int
    """The advisory lock: a hash of platform and credential (the credential is not kept)."""

    @property
    def name(self) -> str:
        return self.platform if self.chat_id is None else f"{self.platform} robot {self.chat_id}"


def budgets_for(config: Config, environ: Mapping[str, str] = os.environ) -> list[Budget]:
    """The send budgets of the configured senders: the bot token's, and each robot's webhook."""
    found: list[Budget] = []
    if config.telegram.token is not None:
        token = config.telegram.token.get_secret_value()
        found.append(Budget("telegram", None, lock_key("telegram", token)))
    for platform in WEBHOOK_PLATFORMS:
        for robot_id, credentials in robot_credentials(config.robots, platform, environ).items():
            key = lock_key(platform, credentials.key.get_secret_value())
            found.append(Budget(platform, robot_id, key))
    return found


class SendGate:
    """The budgets this process holds, kept by ``run``; what ``jobs.deliver.Deliverer`` asks."""

    def __init__(self, db: Database, budgets: list[Budget]) -> None:
        self._db = db
        self._locks = LaneLocks(db)
        self._budgets = {b.key: b for b in budgets}
        self._whole = {b.platform: b for b in budgets if b.chat_id is None}
        self._chats = {(b.platform, b.chat_id): b for b in budgets if b.chat_id is not None}
        self._since: dict[int, float] = {}
        """Budgets held, and when each was taken (the event loop's clock)."""
        self._told: dict[int, str] = {}
        """What the log last said of each budget, so it says each change once."""
        self._database_down = False
        self._tried = asyncio.Event()

    # -- what the deliverer asks -----------------------------------------------------------------

    def platforms(self) -> set[str]:
        return {self._budgets[key].platform for key in self._since}

    def skipped(self) -> list[ChatKey]:
        return [
            (b.platform, b.chat_id)
            for b in self._chats.values()
            if b.chat_id is not None and b.key not in self._since
        ]

    def held_since(self, platform: str, chat_id: str) -> float | None:
        budget = self._chats.get((platform, chat_id)) or self._whole.get(platform)
        return None if budget is None else self._since.get(budget.key)

    async def settled(self) -> None:
        await self._tried.wait()

    async def confirm(self) -> bool:
        if not self._since:
            return False
        if await self._locks.alive():
            return True
        self._lost("its database connection closed")
        return False

    # -- keeping them ----------------------------------------------------------------------------

    async def run(self, wake: Callable[[], None]) -> None:
        """Try for the budgets every RETRY seconds and listen for replies, until cancelled."""
        stop = asyncio.Event()
        listening = asyncio.create_task(self._listen(wake, stop))
        try:
            while True:
                await self._try(wake)
                await asyncio.sleep(RETRY)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(listening, 2 * LISTEN_POLL)
            await self._locks.close()

    async def _try(self, wake: Callable[[], None]) -> None:
        try:
            await self._take(wake)
        finally:
            self._tried.set()

    async def _take(self, wake: Callable[[], None]) -> None:
        try:
            held = await self._locks.take(self._budgets)
        except DatabaseUnavailable as exc:
            if not self._database_down:
                log.error("send budgets: %s; trying again every %.0f s", exc, RETRY)
            self._database_down = True
            self._lost("the database is not available")
            return
        self._database_down = False
        if set(self._since) - held:  # the connection was opened anew: the old locks are gone
            self._lost("its database connection closed")
        now = asyncio.get_running_loop().time()
        taken = False
        for key, budget in self._budgets.items():
            if key in held and key not in self._since:
                taken = True
                # The last holder may have spent the budget just before it died (the deliverer
                # then waits a moment). That holds at start too: a process restarted at once
                # after a crash may take the lock before the standby does.
                self._since[key] = now
                self._tell(budget, "active: this process sends for it")
            elif key not in held:
                self._tell(budget, STANDING_BY)
        if taken:
            wake()  # what the last holder left

    def _lost(self, why: str) -> None:
        for key in list(self._since):
            del self._since[key]
            self._told[key] = STANDING_BY
            name = self._budgets[key].name
            log.warning("send budget %s: lost (%s); standing by", name, why)

    def _tell(self, budget: Budget, state: str) -> None:
        if self._told.get(budget.key) != state:
            self._told[budget.key] = state
            log.info("send budget %s: %s", budget.name, state)

    async def _listen(self, wake: Callable[[], None], stop: asyncio.Event) -> None:
        def notified(platform: str) -> None:
            if not platform or platform in self.platforms():
                wake()

        first = True

        def listening() -> None:
            nonlocal first
            if not first:
                notified("")  # what was queued while the connection was down
            first = False

        while not stop.is_set():
            try:
                await listen_outbox(self._db, notified, listening, stop)
            except DatabaseUnavailable as exc:
                log.debug("outbox LISTEN: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY)
