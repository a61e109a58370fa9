"""The console's aiohttp sub-application (mounted at ``/admin/`` by the callback server).

Middleware, outermost first: security headers on every answer; the language (``?lang=``, a
cookie, then the browser's ``Accept-Language``); the session (no session: a GET is sent to
sign-in, anything else gets 403); CSRF on every POST. Pages register their routes and words in
``bot/web/pages/``; handlers find the console with ``console_of(request)``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web

from bot.commands.core import CommandCore
from bot.web.auth import SESSION_COOKIE, Keys, Session, SignInLimiter, same
from bot.web.text import LANGS, TEXT, Words

log = logging.getLogger("newsbrief.console")

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/admin"
LANG_COOKIE = "nb_lang"
PRE_COOKIE = "nb_signin"  # the sign-in form's CSRF value (double submit: there is no session yet)
MAX_FORM_BYTES = 2 << 20  # an OPML file is the largest thing a form sends
HERE = Path(__file__).parent
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
OPEN_PATHS = (f"{PREFIX}/login", f"{PREFIX}/static/")


class Console:
    """What the pages share: the command core (database, config, clock, fetcher, config file,
    live reload), the sign-in keys, the templates and the words."""

    def __init__(self, core: CommandCore, *, session_hours: float = 12.0) -> None:
        self.core = core
        self.session_seconds = session_hours * 3600
        self.limiter = SignInLimiter()
        self._kept: dict[str, _Kept] = {}
        self._keys: tuple[str, Keys] | None = None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        from bot.web.pages import PAGES  # the pages import this module for console_of

        self.pages = PAGES
        self.words = Words(*(page.TEXT for page in PAGES))
        self.nav = [(page.PATH, page.NAV) for page in PAGES if getattr(page, "NAV", None)]

    # -- sign-in keys ----------------------------------------------------------------------------

    def keys(self) -> Keys | None:
        """Keys for the configured token; None: the console is off."""
        secret = self.core.config().admin.token
        if secret is None:
            return None
        token = secret.get_secret_value()
        if self._keys is None or not same(self._keys[0], token):
            self._keys = (token, Keys(token))
        return self._keys[1]

    # -- helpers for the pages -------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a read transaction, off the event loop."""

        def run() -> T:
            with self.core.db.session() as session:
                return fn(session, *args)

        return await asyncio.to_thread(run)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a write transaction, off the event loop."""

        def run() -> T:
            with self.core.db.session(write_lock=True) as session:
                return fn(session, *args)

        return await asyncio.to_thread(run)

    def now(self) -> datetime:
        return self.core.clock()

    async def counted(
        self, name: str, fn: Callable[[Any], T], *, live: Callable[[Any], bool] | None = None
    ) -> tuple[T, float]:
        """``fn(session)``'s result kept between requests, and its age in seconds: counts over
        the whole database (3 million subscriptions for 100,000 subscribers) stay off the
        request path. Only a first request waits (the console counts once at start-up); later
        ones get the kept value at once, and one older than ``FRESH`` seconds is counted again
        in the background for the next request. ``live(session)`` true: count now instead
        (a small deployment, where counting is cheap and a minute-old count would puzzle)."""
        if live is not None and await self.read(live):
            return await self.read(fn), 0.0
        kept = self._kept.setdefault(name, _Kept())
        if kept.value is _MISSING:  # never counted: wait, joining a count under way
            if kept.task is None:
                kept.task = asyncio.ensure_future(self._count(kept, fn))
            await asyncio.shield(kept.task)
            if kept.value is _MISSING:
                raise RuntimeError(f"counting {name} failed (see the log)")
        elif time.monotonic() - kept.at > FRESH and kept.task is None:
            kept.task = asyncio.ensure_future(self._count(kept, fn))
        value: T = kept.value
        return value, time.monotonic() - kept.at

    async def _count(self, kept: _Kept, fn: Callable[[Any], Any]) -> None:
        try:
            kept.value, kept.at = await self.read(fn), time.monotonic()
        except Exception:  # the kept value stays; a later request counts again
            log.exception("console: counting for a page failed")
        finally:
            kept.task = None

    async def _warm(self, app: web.Application) -> None:
        """Count what the pages keep (their ``COUNTED``) as the server starts, in the
        background, so no admin waits for it."""
        for page in self.pages:
            for name, fn in getattr(page, "COUNTED", {}).items():
                kept = self._kept.setdefault(name, _Kept())
                if kept.task is None:
                    kept.task = asyncio.ensure_future(self._count(kept, fn))

    def lang(self, request: web.Request) -> str:
        lang: str = request.get(LANG, LANGS[0])
        return lang

    def t(self, request: web.Request, key: str, **values: object) -> str:
        return self.words.get(key, self.lang(request), **values)

    def audit(self, request: web.Request, action: str, **details: object) -> None:
        """One log line per change made from the console: what, to what, from where."""
        shown = " ".join(f"{k}={v!r}" for k, v in details.items())
        log.info("console: %s %s (from %s)", action, shown, request.remote or "?")

    def render(
        self, request: web.Request, template: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        lang = self.lang(request)
        session = request.get(SESSION)
        keys = self.keys()
        page = self.env.get_template(template).render(
            lang=lang,
            t=lambda key, **values: self.words.get(key, lang, **values),
            csrf=keys.csrf(session) if keys is not None and session is not None else "",
            signed_in=session is not None,
            nav=self.nav,
            path=request.path,
            prefix=PREFIX,
            other_lang=LANGS[1] if lang == LANGS[0] else LANGS[0],
            notice=_notice(request, self.words, lang),
            **context,
        )
        return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")

    def done(self, path: str, notice: str, **values: str) -> NoReturn:
        """After a change: back to ``path`` (a console path) with a notice (POST/redirect/GET)."""
        query = "&".join(f"{k}={quote(v)}" for k, v in {"done": notice, **values}.items())
        if not path.startswith(f"{PREFIX}/"):  # a page's own PATH, inside the console
            path = f"{PREFIX}{path}"
        raise web.HTTPSeeOther(f"{path}?{query}")

    # -- the application -------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[_headers, _language, _signed_in, _csrf], client_max_size=MAX_FORM_BYTES
        )
        app[CONSOLE] = self
        app.on_startup.append(self._warm)
        app.router.add_get("/login", _signin_form)
        app.router.add_post("/login", _signin)
        app.router.add_post("/logout", _signout)
        app.router.add_static("/static/", HERE / "static", append_version=True)
        for page in self.pages:
            app.router.add_routes(page.routes())
        return app


CONSOLE: web.AppKey[Console] = web.AppKey("console", Console)
FRESH = 60.0
"""Seconds a kept count (``Console.counted``) is shown before it is counted again."""
_MISSING: Any = object()


class _Kept:
    def __init__(self) -> None:
        self.value: Any = _MISSING
        self.at = 0.0
        self.task: asyncio.Future[None] | None = None


LANG: web.RequestKey[str] = web.RequestKey("lang", str)
SESSION: web.RequestKey[Session | None] = web.RequestKey("session")


def console_of(request: web.Request) -> Console:
    return request.config_dict[CONSOLE]


def session_of(request: web.Request) -> Session:
    """The signed-in session (the middleware let the request in only with one)."""
    found: Session | None = request.get(SESSION)
    assert found is not None, "console pages are reached only signed in"
    return found


def _notice(request: web.Request, words: Words, lang: str) -> str | None:
    key = request.query.get("done")
    if not key or not words.has(f"done_{key}"):
        return None
    values = {k: v[:200] for k, v in request.query.items() if k != "done"}
    return words.get(f"done_{key}", lang, **values)


# -- middleware -----------------------------------------------------------------------------------


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if exc.status == web.HTTPRequestEntityTooLarge.status_code:  # aiohttp's says bytes only
            mb = MAX_FORM_BYTES >> 20
            exc.text = TEXT["too_large"][_client_lang(request)].format(mb=mb) + "\n"
        elif not exc.text and exc.status >= 400:
            exc.text = f"{exc.status}: {exc.reason}\n"
    except Exception:  # a bug: logged, and answered with the same headers as any page
        log.exception("console: %s %s failed", request.method, request.path)
        response = web.HTTPInternalServerError(text="500: the console failed; see the log\n")
    # The server's own time for this answer, for tests and bench/console.py.
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1e3:.1f}"
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _client_lang(request: web.Request) -> str:
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGS:
        return str(asked)
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return LANGS[0]


@web.middleware
async def _language(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[LANG] = _client_lang(request)
    response = await handler(request)
    asked = request.query.get("lang")
    if asked in LANGS and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="Strict")
    return response


def secure(request: web.Request) -> bool:
    """Behind HTTPS (directly, or a proxy that says so): cookies get the Secure flag."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


@web.middleware
async def _signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    console = console_of(request)
    keys = console.keys()
    if keys is None:
        raise web.HTTPNotFound(text="the admin console is off: set NEWSBRIEF_ADMIN__TOKEN\n")
    session = keys.session(request.cookies.get(SESSION_COOKIE), time.time())
    request[SESSION] = session
    if session is None and not request.path.startswith(OPEN_PATHS):
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther(f"{PREFIX}/login?next={quote(request.path_qs)}")
        raise web.HTTPForbidden(text="sign in first\n")
    return await handler(request)


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        session = request.get(SESSION)
        keys = console_of(request).keys()
        if session is not None and keys is not None:  # a signed-in form
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type in _FORMS:
                given = _field((await request.post()).get("csrf"))
            if not keys.csrf_matches(session, given):
                log.warning(
                    "console: refused a %s to %s without its CSRF token",
                    request.method,
                    request.path,
                )
                raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page\n")
    return await handler(request)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _field(value: object) -> str | None:
    return value if isinstance(value, str) else None


# -- sign-in --------------------------------------------------------------------------------------


def _next_path(value: str | None) -> str:
    """Where to go after sign-in: only a console path (never another site)."""
    if not value:
        return f"{PREFIX}/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/") or "\\" in value:
        return f"{PREFIX}/"
    return value


async def _signin_form(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    console = console_of(request)
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)
    response = console.render(
        request,
        "signin.html",
        status=status,
        pre=pre,
        next=_next_path(request.query.get("next")),
        error=error,
    )
    response.set_cookie(
        PRE_COOKIE, pre, httponly=True, samesite="Strict", secure=secure(request), path=PREFIX
    )
    return response


async def _signin(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    keys = console.keys()
    assert keys is not None  # _signed_in answered 404 otherwise
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE)
    if not pre or not same(pre, _field(form.get("csrf")) or ""):
        raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page\n")
    client = request.remote or "?"
    now = time.monotonic()
    wait = console.limiter.retry_after(client, now)
    if wait > 0:
        log.warning("console: sign-in from %s refused: too many failed attempts", client)
        response = await _signin_form(
            request, error=console.t(request, "signin_wait", seconds=int(wait) + 1), status=429
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if not keys.token_matches(_field(form.get("token")) or ""):
        console.limiter.failed(client, now)
        log.warning("console: failed sign-in from %s", client)
        return await _signin_form(request, error=console.t(request, "signin_wrong"), status=403)
    _, cookie = keys.new_session(time.time(), console.session_seconds)
    log.info("console: signed in from %s", client)
    response = web.HTTPSeeOther(_next_path(_field(form.get("next"))))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(console.session_seconds),
        httponly=True,
        samesite="Strict",
        secure=secure(request),
        path=PREFIX,
    )
    raise response


async def _signout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther(f"{PREFIX}/login")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    raise response


def mount(root: web.Application, console: Console) -> None:
    """Serve the console under ``/admin/`` on ``root`` (the callback server's application)."""
    root.add_subapp(PREFIX, console.app())
    root.router.add_get(PREFIX, _to_slash)


async def _to_slash(request: web.Request) -> web.StreamResponse:
    # Outside the console's application, so outside its middleware: its headers here.
    raise web.HTTPMovedPermanently(f"{PREFIX}/", headers=_HEADERS)
