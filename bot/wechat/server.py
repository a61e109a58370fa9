"""The inbound HTTP server for the WeCom app callback and the WeChat Official Account.

    POST /wecom/callback, /wechat/callback | check, decrypt (bot.wechat.protocol)
        | MsgId seen? the same reply | command core, within the 5 s budget
        | a digest? its queued parts are the reply (pull-only) | encrypted passive reply

WeChat gives a callback 5 s, then drops the connection and tries twice more. A command that
takes longer than ``budget_s`` is answered with ``success`` (no retry, no error shown) and
finishes in the background; a retry of the same MsgId then gets its reply if it is ready.

Other channels add POST routes of their own (``hooks``: Telegram's webhook), read here and
answered by them.

Every refusal is a 4xx with one log line (reason, no secret, no message text); the server goes
on answering. MsgIds are kept in the database (``newsbrief.store.callbacks``), so a retry that
WeChat sends to another process behind the same address is answered from there, not run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.commands.core import KNOWN, CommandCore
from bot.commands.io import Command, parse
from bot.console import as_plain_text
from bot.i18n import t
from bot.render import materialize
from bot.wechat.crypto import CallbackError, MsgCrypt, Reason
from bot.wechat.limits import REPLY_TIMEOUT_S
from bot.wechat.protocol import (
    MAX_REQUEST_BYTES,
    WECHAT,
    WECHAT_PATH,
    WECOM_APP,
    WECOM_PATH,
    Endpoint,
    Inbound,
    fit_parts,
    language_hint,
    plain_reply,
    refuse,
)
from newsbrief.config.settings import Config
from newsbrief.store import callbacks, outbox, subscribers
from newsbrief.store.db import Database

if TYPE_CHECKING:
    from bot.web.app import Console
    from bot.web.rest import RestPages

log = logging.getLogger(__name__)

BUDGET_S = REPLY_TIMEOUT_S - 0.5
"""Of WeChat's 5 s: what is left covers the network and sealing the reply."""
MAX_PULLED = 50
"""Queued parts looked at for one reply (a reply holds a few; the rest wait for the next)."""
PULL_LEASE = timedelta(seconds=30)
RETRY_LOOK = 0.1
"""Seconds between looks at the database for the reply of a message another process runs."""
PULL_SCHEDULE = "off"
"""A new subscriber's schedule on these channels: nothing is composed until they ask, so no
digest piles up unread (one who sets a schedule finds the scheduled digests at the next pull)."""
_STATUS = {
    Reason.BAD_SIGNATURE: 403,
    Reason.WRONG_RECEIVER: 403,
    Reason.STALE: 403,
    Reason.TOO_LARGE: 413,
}


Hook = Callable[[Mapping[str, str], bytes, str | None], Awaitable[tuple[int, str]]]
"""A POST route of another channel on this server (Telegram's webhook): headers, body and
the peer's address in; the status and text to answer with out."""
HOOK_MAX_BYTES = 1 << 20
Page = Callable[[], Awaitable[tuple[int, str, bytes]]]
"""A GET route of this process's own (health, metrics): the status, content type and body."""


def callbacks_configured(config: Config) -> bool:
    return config.wecom.callback_token is not None or config.wechat.token is not None


def build_endpoints(config: Config) -> list[Endpoint]:
    """The configured callbacks. Raises ValueError naming what is missing (never a value)."""
    endpoints: list[Endpoint] = []
    wecom = config.wecom
    if wecom.callback_token is not None:
        if not wecom.corp_id or wecom.callback_aes_key is None:
            raise ValueError(
                "the WeCom app callback needs wecom.corp_id and NEWSBRIEF_WECOM__CALLBACK_AES_KEY"
                " besides its token"
            )
        token = wecom.callback_token.get_secret_value()
        crypt = _crypt(token, wecom.callback_aes_key.get_secret_value(), wecom.corp_id, "wecom")
        endpoints.append(Endpoint(WECOM_APP, WECOM_PATH, token, crypt))
    wechat = config.wechat
    if wechat.token is not None:
        token = wechat.token.get_secret_value()
        oa_crypt: MsgCrypt | None = None
        if wechat.aes_key is not None:
            if not wechat.app_id:
                raise ValueError("the Official Account's safe mode needs wechat.app_id")
            oa_crypt = _crypt(token, wechat.aes_key.get_secret_value(), wechat.app_id, "wechat")
        endpoints.append(Endpoint(WECHAT, WECHAT_PATH, token, oa_crypt))
    return endpoints


def _crypt(token: str, aes_key: str, receive_id: str, section: str) -> MsgCrypt:
    try:
        return MsgCrypt(token, aes_key, receive_id, max_body_bytes=MAX_REQUEST_BYTES)
    except CallbackError as exc:
        raise ValueError(f"{section}: the EncodingAESKey is not usable ({exc.detail})") from None


def _command(inbound: Inbound) -> Command | None:
    """The command a message or event stands for; None for anything else (images, menus…)."""
    if inbound.msg_type == "text":
        text = inbound.content
    elif inbound.msg_type == "event" and inbound.event == "subscribe":
        text = "/start"  # following the account: the welcome, as /start on Telegram
    else:
        return None
    return Command(
        platform=inbound.platform,
        chat_id=inbound.user,
        chat_type="private",
        sender_id=inbound.user,
        text=text,
        language_hint=language_hint(text),
    )


class CallbackServer:
    """An aiohttp server for the configured callback endpoints on ``server.host:server.port``."""

    def __init__(
        self,
        config: Callable[[], Config],
        core: CommandCore,
        db: Database,
        *,
        budget_s: float = BUDGET_S,
        clock: Callable[[], float] = time.time,
        callbacks: bool = True,
        hooks: Mapping[str, Hook] | None = None,
        pages: Mapping[str, Page] | None = None,
        console: Console | None = None,
        rest: RestPages | None = None,
    ) -> None:
        self.config = config
        self.core = core
        self.db = db
        self.budget_s = budget_s
        self.clock = clock
        self.endpoints = {e.path: e for e in build_endpoints(config())} if callbacks else {}
        self.hooks = dict(hooks or {})
        self.pages = dict(pages or {})
        self.console = console
        self.rest = rest
        self._running: dict[str, asyncio.Task[str]] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        for path in self.endpoints:
            app.router.add_get(path, self._get)
            app.router.add_post(path, self._post)
        for path, hook in self.hooks.items():
            app.router.add_post(path, _hooked(hook))
        for path, page in self.pages.items():
            app.router.add_get(path, _paged(page))
        if self.console is not None:
            from bot.web.app import mount  # jinja2 and the pages: only where the console runs

            mount(app, self.console)
        if self.rest is not None:
            from bot.web.rest import mount_rest

            mount_rest(app, self.rest)
        return app

    async def start(self) -> None:
        server = self.config().server
        # Malformed requests (a request line over 8 KB, bad chunking) are refused by aiohttp
        # before any handler runs; its logger would report each as an ERROR with a traceback.
        self._runner = web.AppRunner(self.app(), access_log=None, logger=_protocol_log)
        await self._runner.setup()
        site = web.TCPSite(self._runner, server.host, server.port)
        await site.start()
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else server.port
        log.debug(  # `run`'s banner names the server and its paths
            "callback server on %s:%s: %s",
            server.host,
            self.port,
            ", ".join([*(repr(e) for e in self.endpoints.values()), *self.hooks, *self.pages]),
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._running.values()):
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, self.budget_s)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _get(self, request: web.Request) -> web.Response:
        endpoint = self.endpoints[request.path]
        try:
            answer = endpoint.verify(_query(request), self.clock())
        except CallbackError as exc:
            return _refused(exc)
        log.info("%s: callback URL verified", endpoint.platform)
        return web.Response(text=answer, content_type="text/plain")

    async def _post(self, request: web.Request) -> web.Response:
        endpoint = self.endpoints[request.path]
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # WeChat never compresses a callback, and aiohttp inflates as the body arrives (a
            # truncated deflate stream waits forever): refuse unread, and close the connection
            # so the rest of that body cannot spoil the next request on it.
            reason = f"Content-Encoding {encoding[:40]!r} is not accepted"
            response = _refused(refuse(Reason.MALFORMED, reason))
            response.force_close()
            return response
        try:
            if (request.content_length or 0) > MAX_REQUEST_BYTES:
                raise refuse(Reason.TOO_LARGE, f"body is {request.content_length} bytes")
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise refuse(Reason.TOO_LARGE, f"body is over {MAX_REQUEST_BYTES} bytes") from None
            except web.RequestPayloadError as exc:  # e.g. Content-Encoding: gzip on a plain body
                raise refuse(Reason.MALFORMED, f"unreadable body ({_cause(exc)})") from None
            now = self.clock()
            inbound = endpoint.open(_query(request), body, now)
        except CallbackError as exc:
            return _refused(exc)
        text = await self._answer(inbound)
        sealed = endpoint.seal(inbound, text, int(self.clock()))
        kind = "text/plain" if not text else "application/xml"
        return web.Response(text=sealed, content_type=kind)

    # -- commands --------------------------------------------------------------------------------

    async def _answer(self, inbound: Inbound) -> str:
        """The reply text ("" for none), at most ``budget_s`` after the request came in."""
        deadline = asyncio.get_running_loop().time() + self.budget_s
        key = inbound.dedup_key
        running = self._running.get(key)
        if running is not None:  # a retry while this process runs the command
            log.info("%s: repeated message %s answered once", inbound.platform, key)
            return await self._within_budget(running)
        scope = f"{inbound.platform}:{inbound.account}"
        msg_id = key.removeprefix(scope + ":")
        try:
            new, reply = await asyncio.to_thread(self._take, scope, msg_id)
        except Exception:  # the database is away: answer it, at the risk of running it twice
            log.exception("%s: could not look up message %s", inbound.platform, key)
            new, reply = True, None
        if not new:
            log.info("%s: repeated message %s answered once", inbound.platform, key)
            while reply is None and asyncio.get_running_loop().time() < deadline - RETRY_LOOK:
                await asyncio.sleep(RETRY_LOOK)  # another process runs it
                reply = await asyncio.to_thread(self._reply, scope, msg_id)
            return reply or ""
        task = asyncio.create_task(self._run_kept(inbound, scope, msg_id))
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))
        return await self._within_budget(task)

    def _take(self, scope: str, msg_id: str) -> tuple[bool, str | None]:
        with self.db.session() as session:
            return callbacks.take(session, scope, msg_id, datetime.now(UTC))

    def _reply(self, scope: str, msg_id: str) -> str | None:
        with self.db.session() as session:
            return callbacks.reply(session, scope, msg_id)

    async def _run_kept(self, inbound: Inbound, scope: str, msg_id: str) -> str:
        """The command's reply, stored for the message's retries before it is returned."""
        text = await self._run(inbound)

        def keep() -> None:
            with self.db.session() as session:
                callbacks.done(session, scope, msg_id, text)

        try:
            await asyncio.to_thread(keep)
        except Exception:  # the reply still goes out; a retry then gets "success"
            log.exception("%s: could not keep the reply to %s", inbound.platform, msg_id)
        return text

    async def _within_budget(self, task: asyncio.Task[str]) -> str:
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.budget_s)
        except TimeoutError:
            log.warning("command took over %.1f s: answered 'success', finishing", self.budget_s)
            return ""

    async def _run(self, inbound: Inbound) -> str:
        command = _command(inbound)
        if command is None:
            return ""
        try:
            return await self._execute(command)
        except Exception:  # the database is away: say so, as the core does, not a 500
            log.exception("%s: command failed for %s", inbound.platform, inbound.user)
            return plain_reply(t("error", self.config().subscriber_defaults.language), "HTML")

    async def _execute(self, command: Command) -> str:
        known = await asyncio.to_thread(self._known, command)
        reply = await self.core.handle(command)
        if reply is None:
            return ""
        if not known:
            await asyncio.to_thread(self._pull_only, command)
        text = plain_reply(reply.text, reply.parse_mode) if reply.text else ""
        name, _ = parse(command.text, KNOWN, bare=True)
        if reply.wake_delivery or name == "digest":
            try:
                pulled = await asyncio.to_thread(self._pull, command)
            except Exception:  # the command's own reply still goes out
                log.exception("%s: could not take the queued digest", command.platform)
                pulled = None
            if pulled:
                return pulled
        return text

    def _known(self, command: Command) -> bool:
        with self.db.session() as session:
            return subscribers.find(session, command.platform, command.chat_id, None) is not None

    def _pull_only(self, command: Command) -> None:
        with self.db.session() as session:
            found = subscribers.find(session, command.platform, command.chat_id, None)
            if found is not None:
                subscribers.update(session, found.id, datetime.now(UTC), schedule=PULL_SCHEDULE)

    def _pull(self, command: Command) -> str | None:
        """The chat's queued messages as one reply: marked sent if they are in it, given
        back otherwise (the next ``摘要`` shows them)."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            ids = outbox.pending_ids(session, command.platform, command.chat_id, now, MAX_PULLED)
            claimed = outbox.claim(session, ids, now, PULL_LEASE)
            found = subscribers.find(session, command.platform, command.chat_id, None)
        if not claimed:
            return None
        config = self.config()
        lang = found.lang if found is not None else config.subscriber_defaults.language
        rendered = materialize(self.db, config, claimed)
        texts = [
            as_plain_text(d.message.text) if d.message.parse_mode == "HTML" else d.message.text
            for d in rendered
        ]
        text, used = fit_parts(texts, lang)
        with self.db.session() as session:
            for delivery in claimed[:used]:
                outbox.mark_sent(session, delivery.id, None, now)
            outbox.release(session, [d.id for d in claimed[used:]])
        return text


def _paged(page: Page) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def get(request: web.Request) -> web.Response:
        status, content_type, body = await page()
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    return get


def _hooked(hook: Hook) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def post(request: web.Request) -> web.Response:
        # Read here, not with request.read(): the app's size limit is the callbacks' 64 KB.
        if (request.content_length or 0) > HOOK_MAX_BYTES:
            return web.Response(status=413, text="too large\n")
        body = bytearray()
        try:
            async for chunk in request.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > HOOK_MAX_BYTES:
                    return web.Response(status=413, text="too large\n")
        except web.RequestPayloadError as exc:
            log.warning("refused an unreadable body at %s: %s", request.path, _cause(exc))
            return web.Response(status=400, text="unreadable body\n")
        status, text = await hook(request.headers, bytes(body), request.remote)
        return web.Response(status=status, text=text)

    return post


def _query(request: web.Request) -> dict[str, list[str]]:
    query = request.query
    return {name: query.getall(name) for name in set(query.keys())}


def _cause(exc: BaseException) -> str:
    """The innermost message of an aiohttp error, on one line and short."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class _MalformedRequests(logging.Filter):
    """Turns aiohttp's report of a request it could not parse into one WARNING line.

    Those are the client's fault (4xx already sent), so they are no error of ours and a
    traceback says nothing; anything else aiohttp logs passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, web.RequestPayloadError):
            return False  # the handler reading that body refuses it and says so once
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused a malformed HTTP request: %s", (_cause(exc),)
            record.exc_info = record.exc_text = None
        return True


_protocol_log = logging.getLogger("newsbrief.http")
_protocol_log.addFilter(_MalformedRequests())


def _refused(exc: CallbackError) -> web.Response:
    status = _STATUS.get(exc.reason, 400)
    return web.Response(status=status, text=f"refused: {exc.reason.value}\n")
