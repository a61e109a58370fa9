"""One process: the ticks on an APScheduler ``AsyncIOScheduler`` and the Telegram bot, one loop.

APScheduler only says when; every tick claims its due rows from the database, so a restart or a
second process loses and repeats nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Bot

from bot.commands.core import CommandCore
from bot.replies import Replies
from bot.robots.senders import WebhookSender
from bot.senders import Sender
from bot.telegram.app import build_application, publish_commands
from bot.telegram.sender import TelegramSender, bot_base_url
from bot.wechat.server import CallbackServer, callbacks_configured
from jobs.compose import compose_for, compose_tick
from jobs.config_watch import WATCH_SECONDS, ConfigWatch
from jobs.context import JobContext
from jobs.deliver import Deliverer
from jobs.poll import PollSummary, poll_tick
from jobs.process import process_tick
from jobs.robots import robot_senders, sync_robots
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.store import feeds
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

ROLES = ("poll", "process", "compose", "deliver", "bot", "callbacks")


class Runtime:
    def __init__(
        self,
        config: Config,
        *,
        senders: dict[str, Sender] | None = None,
        config_file: Path | None = None,
    ) -> None:
        # PTB 22 warns whenever it reads a duration as a number, RetryAfter already while it is
        # built; opt in to the timedelta form it moves to (``sender.seconds`` reads both).
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.config = config
        self.config_file = config_file
        self.db = Database(config.database_url)
        self.ctx = JobContext(db=self.db, config=config, fetcher=Fetcher(config.fetch))
        self.bot: Bot | None = None
        if senders is None:
            senders = {}
            if config.telegram.token is not None:
                self.bot = Bot(
                    config.telegram.token.get_secret_value(),
                    base_url=bot_base_url(config.telegram.api_base_url),
                )
                senders["telegram"] = TelegramSender(self.bot)
            senders.update(robot_senders(config))
        self.ctx.senders = senders
        self.deliverer = Deliverer(self.ctx)
        self.replies = Replies(self.db, self.deliverer.wake, lambda: self.ctx.clock())
        self.config_watch = (
            ConfigWatch(self.ctx, config_file, self._use_config) if config_file else None
        )
        self.core = CommandCore(
            self.db,
            lambda: self.ctx.config,
            compose=compose_for,
            fetcher=self.ctx.fetcher,
            config_file=config_file,
            on_config_change=self.reload_config,
        )

    def start(self) -> None:
        """Migrate the database and make the feeds table follow the config."""
        self.db.upgrade()
        with self.db.session() as session:
            feeds.sync_feeds(session, self.config.feed_list(), self.ctx.clock())
        sync_robots(self.db, self.config, self.ctx.clock())

    async def reload_config(self) -> bool:
        """Read the config files again; a bad edit is refused (the admins are told) and the
        last good config stays."""
        if self.config_watch is None:
            return False
        return await self.config_watch.reload()

    def _use_config(self, config: Config) -> None:
        self.config = self.ctx.config = config
        with self.db.session() as session:
            feeds.sync_feeds(session, config.feed_list(), self.ctx.clock())
        sync_robots(self.db, config, self.ctx.clock())
        log.info("config reloaded from %s", self.config_file)

    async def aclose(self) -> None:
        await self.ctx.fetcher.aclose()
        for sender in self.ctx.senders.values():
            if isinstance(sender, WebhookSender):
                await sender.aclose()
        self.ctx.cpu.shutdown(wait=True)
        if self.bot is not None:
            await self.bot.shutdown()
        self.db.dispose()

    # -- one round of each tick, for cron-style use and tests --------------------------------

    async def poll_once(self, *, all_feeds: bool = False) -> PollSummary:
        if all_feeds:
            with self.db.session() as session:
                feeds.make_all_due(session, self.ctx.clock())
        return await poll_tick(self.ctx)

    async def process_all(self) -> int:
        total = 0
        while done := await process_tick(self.ctx):
            total += done
        return total

    async def digest_once(self) -> tuple[int, int]:
        """Process what was fetched, compose due digests, deliver; returns (queued, sent)."""
        await self.process_all()
        queued = await compose_tick(self.ctx)
        if self.bot is not None:
            await self.bot.initialize()
        sent = 0
        while batch := await self.deliverer.tick():
            sent += batch
        return queued, sent

    async def round(self) -> tuple[int, int]:
        await self.poll_once()
        return await self.digest_once()

    # -- the long-running process ------------------------------------------------------------

    async def run(self, roles: tuple[str, ...] = ROLES, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        intervals = self.config.scheduler
        ticks: dict[str, tuple[Callable[[], Awaitable[Any]], float]] = {
            "poll": (lambda: poll_tick(self.ctx), intervals.poll),
            "process": (lambda: process_tick(self.ctx), intervals.process),
            "compose": (lambda: compose_tick(self.ctx), intervals.compose),
            "deliver": (self.deliverer.tick, intervals.deliver),
        }
        for name, (tick, seconds) in ticks.items():
            if name in roles:
                scheduler.add_job(
                    _logged(name, tick),
                    "interval",
                    seconds=seconds,
                    id=name,
                    next_run_time=_now_for(scheduler),
                    # A deliver tick runs while there is work; overlapping ones share its queues.
                    max_instances=3 if name == "deliver" else 1,
                )
        if self.config_watch is not None:  # hand edits of config/, in every process
            scheduler.add_job(
                _logged("config", self.config_watch.tick),
                "interval",
                seconds=WATCH_SECONDS,
                id="config",
            )
        app = None
        if "bot" in roles and self.config.telegram.token is not None:
            app = build_application(self.config, self.core, self.replies)
            await app.initialize()
            await publish_commands(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=self.config.telegram.poll_timeout, drop_pending_updates=False
            )
        elif "bot" in roles:
            log.warning("no TELEGRAM_BOT_TOKEN: running without the Telegram bot")
        callbacks = None
        if "callbacks" in roles and callbacks_configured(self.config):
            callbacks = CallbackServer(lambda: self.ctx.config, self.core, self.db)
            await callbacks.start()
        if self.bot is not None:
            await self.bot.initialize()
        scheduler.start()
        log.info("newsbrief running: %s", ", ".join(roles))
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if callbacks is not None:
                await callbacks.stop()
            if app is not None:
                assert app.updater is not None
                await app.updater.stop()
                await app.stop()
                await app.shutdown()


def _now_for(scheduler: AsyncIOScheduler) -> datetime:
    return datetime.now(scheduler.timezone)


def _logged(name: str, tick: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await tick()
            if result:
                log.info("%s tick: %s", name, result)
        except Exception:  # the scheduler keeps going; the next tick retries
            log.exception("%s tick failed", name)

    return run
