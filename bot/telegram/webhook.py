"""Webhook mode: Telegram posts each update to ``/telegram/webhook``; it is stored, then answered.

    POST /telegram/webhook | secret token? (else 403, one line) | an update? (else 400)
        | stored, insert if absent (newsbrief.store.updates) | 200
        | the bot's handlers (the same Application as long polling) | marked handled

Telegram hears 200 only once the update is in the database, so a process killed between
receipt and reply loses nothing: the sweep of any bot process takes the update once its lease
runs out (and at start). Handling twice answers once: a reply is keyed by the message it
answers (``bot.telegram.app``). Several bot processes may serve one URL behind a proxy.

Switching back to long polling needs nothing here: python-telegram-bot's ``start_polling``
calls ``deleteWebhook`` (keeping the pending updates) before its first ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import Application

from bot.telegram.connect import TelegramUnavailable, explain
from bot.telegram.sender import seconds
from newsbrief.config.settings import Config
from newsbrief.store import updates
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "channel_post", "callback_query")
"""What the handlers of ``bot.telegram.app`` answer; Telegram sends nothing else."""
MAX_BODY_BYTES = 1 << 20
"""An update is a few KB (a 4096-character message quoting another); more is no update."""
SWEEP_SECONDS = 2.0
"""How often a bot process renews its claims and takes the updates a dead process left."""
MAX_HANDLING = 64
"""Stored updates one process takes at a time in a sweep (fresh ones are always taken)."""
PRUNE_SECONDS = 600.0
STOP_WAIT_S = 5.0
"""On a clean stop, how long updates being handled may finish (the rest are taken again)."""


class WebhookUpdates:
    """Receives Telegram's POSTs for one Application and sees every stored update handled."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        db: Database,
        config: Callable[[], Config],
        clock: Callable[[], datetime],
    ) -> None:
        secret = config().telegram.webhook_secret
        if secret is None:
            raise ValueError("webhook mode needs NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET")
        self.app = app
        self.db = db
        self.config = config
        self.clock = clock
        self._secret = secret.get_secret_value().encode()
        self._ready = False
        self._handling: dict[int, asyncio.Task[None]] = {}
        self._pruned_at = -PRUNE_SECONDS

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.config().scheduler.update_lease)

    # -- receiving --------------------------------------------------------------------------

    async def receive(
        self, headers: Mapping[str, str], body: bytes, peer: str | None
    ) -> tuple[int, str]:
        """One POST: the HTTP status and body to answer with."""
        given = headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), self._secret):
            what = "without the secret token" if given is None else "with a wrong secret token"
            log.warning("telegram webhook: refused a request from %s %s", peer or "?", what)
            return 403, "forbidden\n"
        payload = self._update(body)
        if payload is None:
            log.warning("telegram webhook: refused a request from %s: not an update", peer or "?")
            return 400, "not a Telegram update\n"
        update_id = int(payload["update_id"])
        # Taken by this process only once its bot can handle it; until then any may take it.
        lease = self._lease() if self._ready else timedelta(0)
        try:
            new = await asyncio.to_thread(self._store, update_id, payload, lease)
        except Exception as exc:  # not acknowledged: Telegram sends it again
            problem = self.db.problem(exc) or exc
            log.error("telegram webhook: update %s not stored (%s)", update_id, problem)
            return 503, "not stored, send it again\n"
        if new and self._ready:
            self._start(updates.StoredUpdate(update_id, payload, 1))
        elif not new:
            log.info("telegram webhook: update %s again (already stored)", update_id)
        return 200, ""

    def _update(self, body: bytes) -> dict[str, Any] | None:
        """The body as an update's JSON, or None when it is not one."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict):
            return None
        update_id = payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            return None
        try:
            Update.de_json(payload, self.app.bot)
        except Exception:  # a field of the wrong shape: python-telegram-bot cannot read it
            return None
        return payload

    def _store(self, update_id: int, payload: dict[str, Any], lease: timedelta) -> bool:
        with self.db.session() as session:
            return updates.store(session, update_id, payload, self.clock(), lease)

    # -- handling ---------------------------------------------------------------------------

    def _start(self, stored: updates.StoredUpdate) -> None:
        update_id = stored.update_id
        task = asyncio.create_task(self._handle(stored), name=f"telegram update {update_id}")
        self._handling[update_id] = task
        task.add_done_callback(lambda _: self._handling.pop(update_id, None))

    async def _handle(self, stored: updates.StoredUpdate) -> None:
        try:
            update = Update.de_json(stored.payload, self.app.bot)
            # Through the update processor, as long polling does: each chat's in order.
            await self.app.update_processor.process_update(update, self.app.process_update(update))
        except Exception:  # left unhandled: taken again after its lease
            log.exception("telegram update %s failed", stored.update_id)
            return
        try:
            await asyncio.to_thread(self._mark, stored.update_id)
        except Exception as exc:  # handled again later; its reply is not queued twice
            log.error("telegram update %s not marked handled: %s", stored.update_id, exc)

    def _mark(self, update_id: int) -> None:
        with self.db.session() as session:
            updates.mark_handled(session, update_id, self.clock())

    async def start(self) -> None:
        """The bot can handle updates now: take what is stored and waiting."""
        self._ready = True
        try:
            await self.sweep()
        except Exception as exc:  # the periodic sweep tries again
            log.error("telegram webhook: could not read stored updates: %s", exc)

    async def sweep(self) -> int:
        """Renew this process's claims; take stored updates whose lease ran out. How many."""
        if not self._ready:
            return 0
        flying = list(self._handling)
        room = MAX_HANDLING - len(flying)
        lease = self._lease()
        loop = asyncio.get_running_loop()
        prune = loop.time() - self._pruned_at >= PRUNE_SECONDS

        def work() -> tuple[list[updates.StoredUpdate], list[int]]:
            now = self.clock()
            # SQLite has no row locks: its write lock keeps two claims apart.
            with self.db.session(write_lock=True) as session:
                updates.renew(session, flying, now + lease)
                taken = updates.claim(session, now, lease, room) if room > 0 else ([], [])
                if prune:
                    updates.prune(session, now)
                return taken

        claimed, given_up = await asyncio.to_thread(work)
        if prune:
            self._pruned_at = loop.time()
        for update_id in given_up:
            log.error(
                "telegram update %s given up after %d attempts", update_id, updates.MAX_ATTEMPTS
            )
        for stored in claimed:
            if stored.update_id in self._handling:
                continue  # ours, still going: the lease was only late
            log.info("telegram update %s: taking it up (not handled yet)", stored.update_id)
            self._start(stored)
        return len(claimed)

    async def stop(self) -> None:
        """Let the updates being handled finish (for a while); the rest are taken again."""
        self._ready = False
        tasks = list(self._handling.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def register(bot: Bot, config: Config) -> None:
    """``setWebhook`` with the secret token; raises TelegramUnavailable, one line, when
    Telegram refuses it or cannot be reached."""
    telegram = config.telegram
    assert telegram.webhook_url is not None and telegram.webhook_secret is not None
    for _ in range(3):  # replicas starting together may meet the flood limit
        try:
            await bot.set_webhook(
                telegram.webhook_url,
                allowed_updates=ALLOWED_UPDATES,
                secret_token=telegram.webhook_secret.get_secret_value(),
                drop_pending_updates=False,
            )
            return
        except RetryAfter as exc:
            await asyncio.sleep(min(60.0, seconds(exc.retry_after)))
        except BadRequest as exc:
            raise TelegramUnavailable(
                f"Telegram refused the webhook {telegram.webhook_url}: {exc.message}; check "
                f"telegram.webhook_url (HTTPS on port 443, 80, 88 or 8443, reaching "
                f"{WEBHOOK_PATH} on server.host:server.port)",
                permanent=True,
            ) from None
        except TelegramError as exc:
            raise explain(exc, telegram.api_base_url) from None
    raise TelegramUnavailable("Telegram kept answering setWebhook with 429", permanent=False)
