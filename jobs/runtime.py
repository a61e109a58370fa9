"""One process: the ticks on an APScheduler ``AsyncIOScheduler`` and the Telegram bot, one loop.

APScheduler only says when; every tick claims its due rows from the database, so a restart or a
second process loses and repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import Application

from bot.commands.core import CommandCore
from bot.replies import Replies
from bot.robots.senders import WebhookSender
from bot.senders import Sender
from bot.telegram.app import build_application, publish_commands
from bot.telegram.connect import TelegramUnavailable, connect, explain
from bot.telegram.sender import TelegramSender, bot_base_url
from bot.telegram.webhook import SWEEP_SECONDS, WEBHOOK_PATH, WebhookUpdates, register
from bot.wechat.server import CallbackServer, callbacks_configured
from jobs.budgets import SendGate, budgets_for
from jobs.compose import compose_for, compose_tick
from jobs.config_watch import WATCH_SECONDS, ConfigWatch
from jobs.context import JobContext
from jobs.deliver import Deliverer
from jobs.llm import close_llm, llm_tick
from jobs.metrics import Metrics, Readiness, health_pages, record_tick
from jobs.poll import PollSummary, poll_tick
from jobs.process import process_tick
from jobs.retention import retention_tick
from jobs.robots import robot_senders, sync_robots
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.logs import redact
from newsbrief.store import activity, feeds
from newsbrief.store.db import Database, DatabaseUnavailable
from newsbrief.store.urls import redacted
from newsbrief.workers import WorkerPool, auto_workers

if TYPE_CHECKING:
    from bot.web.app import Console
    from bot.web.rest import RestPages

log = logging.getLogger(__name__)

ROLES = ("poll", "process", "compose", "deliver", "bot", "callbacks", "web")
RETENTION_SECONDS = 3600
RETENTION_DELAY = 60
"""Seconds after start before the first retention run: the ticks that matter go first."""
LLM_ROUNDS = 10
"""Most llm ticks a one-off digest run waits for (``llm_once``)."""
FIRST_RETRY = 2.0
MAX_RETRY = 60.0
"""Seconds between attempts to reach the database or Telegram: doubling from FIRST_RETRY."""


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
        workers = config.polling.parse_workers
        workers = auto_workers() if workers is None else workers
        self.ctx = JobContext(
            db=self.db,
            config=config,
            fetcher=Fetcher(config.fetch),
            parsers=WorkerPool(workers, "feed parser") if workers else None,
        )
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
        self._background: set[asyncio.Task[Any]] = set()
        self.telegram_problem: TelegramUnavailable | None = None
        """Why the last attempt to reach Telegram failed; None once it worked."""

    def start(self) -> None:
        """Migrate the database and make the feeds table follow the config. Raises
        DatabaseUnavailable (one line, no password) when the database cannot be reached."""
        try:
            self.db.upgrade()
            with self.db.session() as session:
                feeds.sync_feeds(session, self.config.feed_list(), self.ctx.clock())
            sync_robots(self.db, self.config, self.ctx.clock())
        except Exception as exc:
            if (problem := self.db.problem(exc)) is not None:
                raise problem from None
            raise

    async def start_when_ready(self, stop: asyncio.Event) -> bool:
        """``start``, retried with backoff while the database cannot be reached, a line each
        attempt; False when ``stop`` is set first. A URL that can never work raises."""
        delay = FIRST_RETRY
        while True:
            try:
                await asyncio.to_thread(self.start)
                return True
            except DatabaseUnavailable as exc:
                if exc.permanent:
                    raise
                log.error("%s; trying again in %.0f s", exc, delay)
            if await _stopped(stop, delay):
                return False
            delay = min(delay * 2, MAX_RETRY)

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
        await close_llm(self.ctx)
        for sender in self.ctx.senders.values():
            if isinstance(sender, WebhookSender):
                await sender.aclose()
        self.ctx.cpu.shutdown(wait=True)
        if self.ctx.parsers is not None:
            await asyncio.to_thread(self.ctx.parsers.close)
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

    async def llm_once(self) -> int:
        """The LLM texts due now, a few ticks' worth (``llm.batch`` calls each) while they
        write; returns how many passed the checks."""
        written = 0
        for _ in range(LLM_ROUNDS):
            done = await llm_tick(self.ctx)
            written += done
            if not done:
                break
        return written

    async def digest_once(self) -> tuple[int, int]:
        """Process what was fetched, write the LLM texts (when on), compose due digests,
        deliver; returns (queued, sent).

        When Telegram cannot be reached (``telegram_problem`` says why), its messages wait in
        the outbox and the robots' go out all the same."""
        await self.process_all()
        await self.llm_once()
        # What the model has written is there now; a story still without a text has nothing
        # to wait for in a one-off run (nothing runs until the next).
        llm = self.config.llm.model_copy(update={"wait_seconds": 0})
        now_only = dataclasses.replace(self.ctx, config=self.config.model_copy(update={"llm": llm}))
        queued = await compose_tick(now_only)
        deliverer = self.deliverer
        if not await self._connect_sender():
            others = {k: v for k, v in self.ctx.senders.items() if k != "telegram"}
            deliverer = Deliverer(dataclasses.replace(self.ctx, senders=others))
        sent = 0
        while batch := await deliverer.tick():
            sent += batch
        return queued, sent

    async def _connect_sender(self) -> bool:
        """Check the token of the bot that sends digests; False (and a line) when Telegram
        cannot be used now."""
        if self.bot is None:
            return True
        try:
            await connect(self.bot, self.config.telegram.api_base_url)
        except TelegramUnavailable as exc:
            self.telegram_problem = exc
            log.error("%s", exc)
            return False
        self.telegram_problem = None
        return True

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
        gating: asyncio.Task[None] | None = None
        if self.db.is_postgres and self.ctx.senders and {"deliver", "bot"} & set(roles):
            # One sender per send budget across processes; whichever role it runs, the process
            # holding a budget sends everything due for it, digests included.
            gate = SendGate(self.db, budgets_for(self.config))
            self.deliverer.gate = gate
            gating = asyncio.create_task(gate.run(self.deliverer.wake))
        scheduled = {*roles, "deliver"} if gating is not None else set(roles)
        metrics = self.ctx.metrics
        journal = TickJournal(self.db, self.ctx.clock)
        readiness = Readiness(
            self.db,
            {name: seconds for name, (_, seconds) in ticks.items() if name in scheduled},
            asyncio.get_running_loop().time,
        )
        for name, (tick, seconds) in ticks.items():
            if name in scheduled:
                scheduler.add_job(
                    _Guarded(name, tick, self.db.problem, metrics, readiness, journal).run,
                    "interval",
                    seconds=seconds,
                    id=name,
                    next_run_time=_now_for(scheduler),
                    # A deliver tick runs while there is work; overlapping ones share its queues.
                    max_instances=3 if name == "deliver" else 1,
                )
        if {"poll", "process", "compose", "deliver"} & set(roles):
            # Hourly: the first process of the day to get there prunes, the rest find it done.
            scheduler.add_job(
                _Guarded("retention", self._retention, self.db.problem, metrics, None, journal).run,
                "interval",
                seconds=RETENTION_SECONDS,
                id="retention",
                next_run_time=_now_for(scheduler) + timedelta(seconds=RETENTION_DELAY),
            )
        if "process" in roles:
            # Summaries and translations written ahead of the digests (nothing to do without
            # llm.base_url). Not in the readiness set: a slow model must not make a process
            # unready, nor a digest late.
            scheduler.add_job(
                _Guarded(
                    "llm", lambda: llm_tick(self.ctx), self.db.problem, metrics, None, journal
                ).run,
                "interval",
                seconds=intervals.llm,
                id="llm",
                next_run_time=_now_for(scheduler),
            )
        if self.config_watch is not None:  # hand edits of config/, in every process
            scheduler.add_job(
                _Guarded(
                    "config", self.config_watch.tick, self.db.problem, metrics, None, journal
                ).run,
                "interval",
                seconds=WATCH_SECONDS,
                id="config",
            )
        app = starting = webhook = None
        if "bot" in roles and self.config.telegram.token is not None:
            polling = self.config.telegram.webhook_url is None
            app = build_application(self.config, self.core, self.replies, polling=polling)
            if not polling:
                webhook = WebhookUpdates(app, self.db, lambda: self.ctx.config, self.ctx.clock)
                scheduler.add_job(
                    _Guarded("updates", webhook.sweep, self.db.problem, metrics, None, journal).run,
                    "interval",
                    # Often enough to renew a claim well before its lease runs out.
                    seconds=min(SWEEP_SECONDS, intervals.update_lease / 3),
                    id="updates",
                )
            # Telegram down or refusing the token must not hold up the other roles.
            starting = asyncio.create_task(self._keep_starting(app, stop, webhook))
        elif "bot" in roles:
            log.warning("no TELEGRAM_BOT_TOKEN: running without the Telegram bot")
        elif self.bot is not None:
            self._in_background(self._connect_sender())
        serve_callbacks = "callbacks" in roles and callbacks_configured(self.config)
        # One server for whichever of the routes this process serves; health and metrics in
        # every process.
        metrics.watch_database(
            self.db, self.ctx.clock, lambda: self.ctx.config.llm.daily_token_budget
        )
        console = self._console(roles)
        server = CallbackServer(
            lambda: self.ctx.config,
            self.core,
            self.db,
            callbacks=serve_callbacks,
            hooks={WEBHOOK_PATH: webhook.receive} if webhook is not None else {},
            pages=health_pages(metrics, readiness),
            console=console,
            rest=self._rest_pages(roles),
        )
        listening: CallbackServer | None = server
        try:
            await server.start()
        except OSError as exc:
            if serve_callbacks or webhook is not None or console is not None:
                raise
            # Health and metrics only: not worth stopping the ticks for (several processes on
            # one host each need a server.port of their own).
            where = f"{self.config.server.host}:{self.config.server.port}"
            log.warning("no health or metrics server: cannot listen on %s: %s", where, exc)
            listening = None
        scheduler.start()
        log.info("newsbrief running: %s", self._banner(roles, app, serve_callbacks, listening))
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            if gating is not None:
                gating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gating
            if listening is not None:
                await listening.stop()
            if webhook is not None:
                await webhook.stop()
            if starting is not None:
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            if app is not None:
                await _stop_application(app)

    async def _retention(self) -> None:
        """The retention tick, counted in the metrics (it logs its own line)."""
        deleted = await retention_tick(self.ctx)
        if deleted:  # this process pruned today
            for kind, rows in deleted.items():
                self.ctx.metrics.retention_deleted.labels(kind).inc(rows)
            self.ctx.metrics.retention_last.set(time.time())

    def _console(self, roles: tuple[str, ...]) -> Console | None:
        """The admin console, served by ``callbacks`` and ``web`` processes when a token is set."""
        if not {"callbacks", "web"} & set(roles) or self.config.admin.token is None:
            return None
        from bot.web.app import Console  # jinja2 and the pages: only where the console runs

        return Console(self.core, session_hours=self.config.admin.session_hours)

    def _rest_pages(self, roles: tuple[str, ...]) -> RestPages | None:
        """``/d/<token>``: what robots' digests left out, when ``server.public_url`` is set."""
        if not {"callbacks", "web"} & set(roles) or self.config.server.public_url is None:
            return None
        from bot.web.rest import RestPages

        return RestPages(self.db, lambda: self.ctx.config, self.ctx.clock)

    def _banner(
        self,
        roles: tuple[str, ...],
        app: object,
        serve_callbacks: bool,
        server: CallbackServer | None,
    ) -> str:
        """What this process does, as the first line an operator reads: the roles that run
        (``bot`` without a token and ``callbacks`` with none configured do not), what it serves
        and where, and the size of the config."""
        running = [
            role
            for role in roles
            if (role != "bot" or app is not None)
            and (role != "callbacks" or serve_callbacks)
            and (role != "web" or (server is not None and server.console is not None))
        ]
        config = self.config
        where = str(self.config_file) if self.config_file else "none (defaults and environment)"
        listening = "no server"
        if server is not None:
            paths = [*server.endpoints, *server.hooks, *server.pages]
            if server.console is not None:
                paths.append("/admin/")
            if server.rest is not None:
                paths.append("/d/")
            listening = f"server {config.server.host}:{server.port} {' '.join(paths)}"
        if {"callbacks", "web"} & set(roles) and config.admin.token is None:
            listening += " (admin console off: no NEWSBRIEF_ADMIN__TOKEN)"
        return (
            f"{', '.join(running) or 'nothing'}; {listening}; config {where}; "
            f"database {redacted(config.database_url)}; {len(config.feeds)} feeds, "
            f"{len(config.topics)} topics, {len(config.robots)} robots"
        )

    async def _keep_starting(
        self,
        app: Application,  # type: ignore[type-arg]
        stop: asyncio.Event,
        webhook: WebhookUpdates | None = None,
    ) -> None:
        """Start the bot, a line and a longer wait after each failure, until it runs: long
        polling, or with ``webhook`` handling the stored updates and ``setWebhook``."""
        delay = FIRST_RETRY
        url = self.config.telegram.api_base_url
        while not stop.is_set():
            try:
                await connect(app.bot, url)
                await app.initialize()
                await publish_commands(app)
                if not app.running:
                    await app.start()
                if webhook is None:
                    assert app.updater is not None
                    await app.updater.start_polling(
                        timeout=self.config.telegram.poll_timeout, drop_pending_updates=False
                    )
                else:
                    await webhook.start()  # what was stored meanwhile is handled from now on
                    await register(app.bot, self.config)
                self.telegram_problem = None
                mode = "long polling" if webhook is None else "webhook"
                log.info("Telegram bot started (%s)", mode)
                if self.bot is not None:
                    await self._connect_sender()
                return
            except (TelegramUnavailable, TelegramError) as exc:
                problem = exc if isinstance(exc, TelegramUnavailable) else explain(exc, url)
                self.telegram_problem = problem
                log.error("%s; trying again in %.0f s", problem, delay)
            if await _stopped(stop, delay):
                return
            delay = min(delay * 2, MAX_RETRY)

    def _in_background(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _now_for(scheduler: AsyncIOScheduler) -> datetime:
    return datetime.now(scheduler.timezone)


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop`` is set; whether it was."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _stop_application(app: Application) -> None:  # type: ignore[type-arg]
    """Stop what of the bot got started (it may never have reached Telegram)."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


_TICK_UNITS = {
    "process": "{} entries processed",
    "compose": "{} messages queued",
    "deliver": "{} messages sent",
    "llm": "{} LLM summaries written",
}
"""How a tick's count reads in its INFO line (poll and retention say it themselves)."""


class TickJournal:
    """Each tick's last run, kept in the database for the console (``tick_runs``; the metrics
    are this process's alone): one small upsert per tick at most every EVERY seconds, and at
    once when a tick fails or recovers."""

    EVERY = 10.0

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._last: dict[str, tuple[float, bool]] = {}

    async def record(self, tick: str, seconds: float, error: str | None) -> None:
        now, ok = time.monotonic(), error is None
        last = self._last.get(tick)
        if last is not None and ok and last[1] and now - last[0] < self.EVERY:
            return
        self._last[tick] = (now, ok)
        try:
            await asyncio.to_thread(self._write, tick, seconds, error)
        except Exception as exc:  # the tick itself reports a database that is down
            log.debug("tick %s: its run not recorded: %s", tick, exc)

    def _write(self, tick: str, seconds: float, error: str | None) -> None:
        with self.db.session() as session:
            activity.record_tick(
                session, tick, self.clock(), seconds, self.process, redact(error) if error else None
            )


class _Guarded:
    """A tick as the scheduler runs it (``run``, a coroutine function, as APScheduler must
    see): it never raises. While the database cannot be reached,
    one line per failure and runs skipped for a doubling wait (FIRST_RETRY to MAX_RETRY), not a
    traceback every few seconds."""

    def __init__(
        self,
        name: str,
        tick: Callable[[], Awaitable[Any]],
        db_problem: Callable[[BaseException], DatabaseUnavailable | None],
        metrics: Metrics | None = None,
        readiness: Readiness | None = None,
        journal: TickJournal | None = None,
    ) -> None:
        self.name = name
        self.tick = tick
        self.db_problem = db_problem
        self.metrics = metrics
        self.readiness = readiness
        self.journal = journal
        self.delay = 0.0
        self.resume_at = 0.0

    async def _record(self, journal: TickJournal, seconds: float, error: str | None) -> None:
        try:
            await journal.record(self.name, seconds, error)
        except asyncio.CancelledError:
            # The process is stopping just after the tick: the run goes unrecorded, and the
            # scheduler would print the cancellation as a traceback.
            log.debug("%s tick cancelled while recorded: stopping", self.name)

    async def run(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self.resume_at:
            return
        ok = False
        error: str | None = None
        journal = False  # not when cancelled, nor when the database is out of reach
        try:
            result = await self.tick()
            ok = journal = True
        except asyncio.CancelledError:
            # The process is stopping mid-tick: what it claimed is claimed again after the
            # lease. The scheduler would print the cancellation as a traceback.
            log.debug("%s tick cancelled: stopping", self.name)
            return
        except Exception as exc:  # the scheduler keeps going; the next tick retries
            problem = self.db_problem(exc)
            if problem is None:
                error, journal = f"{type(exc).__name__}: {exc}".splitlines()[0], True
                log.exception("%s tick failed", self.name)
                return
            self.delay = min(max(self.delay * 2, FIRST_RETRY), MAX_RETRY)
            self.resume_at = now + self.delay
            log.error("%s tick: %s; trying again in %.0f s", self.name, problem, self.delay)
            return
        finally:
            seconds = asyncio.get_running_loop().time() - now
            if self.metrics is not None:
                record_tick(self.metrics, self.readiness, self.name, seconds, ok)
            if self.journal is not None and journal:
                await self._record(self.journal, seconds, error)
        if self.delay:
            log.info("%s tick: the database is back", self.name)
            self.delay = 0.0
        if result:
            log.info("%s tick: %s", self.name, _TICK_UNITS.get(self.name, "{}").format(result))
