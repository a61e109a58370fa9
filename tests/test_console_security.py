"""The console's security, against real ``newsbrief run`` processes over plain HTTP.

Every route comes from the console's own router, so a page added later is covered without
touching this file. Checked: no session (none, garbage, another token's, expired) never gets
in and changes nothing; a signed-in POST needs its own session's CSRF token; the admin token
never shows in a page, a header or the log; the cookies' flags; the sign-in limiter; ``next``
stays on the console; security headers on every answer; the console off without a token, and
a short token refused at start-up.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from aiohttp import web

from bot.commands.core import CommandCore
from bot.web.app import LANG_COOKIE, MAX_FORM_BYTES, Console
from bot.web.auth import SESSION_COOKIE, Keys
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from tests.console_site import (
    COMMAND,
    ROOT,
    TOKEN,
    Site,
    free_port,
    running,
    wait_until,
)

PRE_COOKIE = "nb_signin"
OTHER_TOKEN = "another-admin-token-9876543210"
WRONG_TOKEN = "wrong-admin-token-5555555555"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
FORM = {  # what a change form might carry: a bypassed CSRF check would have something to do
    "id": "zhnews",
    "feed": "zhnews",
    "topic": "ai",
    "url": "http://127.0.0.1:9/new.xml",
    "enabled": "0",
    "paused": "1",
    "lang": "en",
}


# -- a site of this module's own ------------------------------------------------------------------


@dataclass
class Live:
    site: Site
    subscriber: int
    """A real subscriber's id, for ``/subscribers/{id}``-style routes."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One site for the module (at most 4 failed sign-ins in all: the limiter allows 5)."""
    with running(tmp_path_factory.mktemp("console-security")) as site:
        db = Database(site.database_url)
        try:
            with db.session() as session:
                now = datetime.now(UTC)
                sub, _ = subscribers.ensure(
                    session,
                    "telegram",
                    "4242",
                    None,
                    lang="zh-Hans",
                    timezone="Asia/Shanghai",
                    schedule="instant",
                    now=now,
                    backlog=timedelta(hours=48),
                )
                subscribers.subscribe(session, sub.id, ["ai"], now)
        finally:
            db.dispose()
        yield Live(site, sub.id)


# -- plain HTTP -----------------------------------------------------------------------------------


@dataclass
class Answer:
    method: str
    path: str
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def cookies(self) -> dict[str, Morsel[str]]:
        found: dict[str, Morsel[str]] = {}
        for line in self.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            found.update(jar)
        return found


def call(
    site: Site,
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
) -> Answer:
    """One request, redirects not followed; ``path`` is a full path (``/admin/...``)."""
    sent = dict(headers or {})
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if form is not None:
        body = urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    if content_type is not None:
        sent["Content-Type"] = content_type
    parts = urlsplit(site.base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return Answer(method, path, response.status, response.msg, text)
    finally:
        connection.close()


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return (
        ("".join(parts) + f"--{boundary}--\r\n").encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def sign_in_form(site: Site, *, query: str = "", headers: dict[str, str] | None = None) -> Answer:
    return call(site, "GET", f"/admin/login{query}", headers=headers)


def attempt(
    site: Site, token: str, *, next_path: str = "", headers: dict[str, str] | None = None
) -> Answer:
    """The sign-in form filled in and sent, as a browser does (its nb_signin cookie and field)."""
    pre = sign_in_form(site).cookies()[PRE_COOKIE].value
    return call(
        site,
        "POST",
        "/admin/login",
        cookies={PRE_COOKIE: pre},
        form={"csrf": pre, "token": token, "next": next_path},
        headers=headers,
    )


@dataclass
class Signed:
    cookie: str
    csrf: str

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.cookie}


def sign_in(site: Site) -> Signed:
    answer = attempt(site, site.token)
    assert answer.status == 303, answer.body
    cookie = answer.cookies()[SESSION_COOKIE].value
    return Signed(cookie, page_csrf(site, cookie))


def page_csrf(site: Site, cookie: str) -> str:
    """The CSRF token a signed-in page gives its forms (the sign-out form is on every page;
    the first page that renders will do, so one broken page does not stop every test)."""
    for path in ("/admin/", *(f"/admin{r.pattern}" for r in GETS if "{" not in r.pattern)):
        page = call(site, "GET", path, cookies={SESSION_COOKIE: cookie})
        found = re.search(r'name="csrf" value="([^"]+)"', page.body)
        if page.status == 200 and found is not None:
            return found.group(1)
    raise AssertionError("no console page rendered with its CSRF token")


# -- the routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    """As registered, inside /admin (``/subscribers/{id}``)."""

    def path(self, live: Live) -> str:
        """A real URL for it: parameters filled with something that exists."""
        return "/admin" + re.sub(
            r"\{(\w+)(:[^}]*)?\}", lambda m: _value(live, self.pattern), self.pattern
        )


def _value(live: Live, pattern: str) -> str:
    for prefix, value in (
        ("/subscribers", str(live.subscriber)),
        ("/feeds", "zhnews"),
        ("/topics", "ai"),
    ):
        if pattern.startswith(prefix):
            return value
    return "1"


def console_routes() -> list[Route]:
    """Every route of the console app, from its router (static files aside)."""
    # The router is all that is needed: building the app does not touch the core.
    app = Console(cast(CommandCore, None)).app()
    found: dict[tuple[str, str], Route] = {}
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource) or route.resource is None:
            continue
        methods = ("GET", "POST") if route.method == "*" else (route.method,)
        for method in methods:
            if method != "HEAD":
                found[(method, route.resource.canonical)] = Route(method, route.resource.canonical)
    return sorted(found.values(), key=lambda r: (r.pattern, r.method))


ROUTES = console_routes()
GETS = [r for r in ROUTES if r.method == "GET"]
CHANGES = [r for r in ROUTES if r.method != "GET"]
OPEN = {"/login"}
"""Reached without a session: the sign-in form (its POST has a CSRF check of its own)."""


def state(site: Site) -> tuple[bytes, object]:
    """What a change from the console would change: the config file and the rows it edits."""
    path = site.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = (
            db.execute("SELECT id, url, enabled FROM feeds ORDER BY id").fetchall(),
            db.execute(
                "SELECT id, paused, lang, schedule, timezone, subscriptions, filters "
                "FROM subscribers ORDER BY id"
            ).fetchall(),
        )
    return site.config.read_bytes(), rows


def test_the_routes_include_every_page() -> None:
    paths = {r.pattern for r in GETS}
    assert {"/", "/feeds", "/topics", "/subscribers", "/outbox", "/robots", "/login"} <= paths
    assert {("POST", "/login"), ("POST", "/logout")} <= {(r.method, r.pattern) for r in CHANGES}


# -- no session -----------------------------------------------------------------------------------


def _no_session_cookies() -> dict[str, dict[str, str]]:
    now = time.time()
    return {
        "none": {},
        "garbage": {SESSION_COOKIE: "garbage.garbage"},
        "another-token": {SESSION_COOKIE: Keys(OTHER_TOKEN).new_session(now, 3600)[1]},
        "expired": {SESSION_COOKIE: Keys(TOKEN).new_session(now - 7200, 3600)[1]},
    }


@pytest.mark.parametrize("kind", list(_no_session_cookies()))
def test_without_a_session_nothing_is_reached_or_changed(live: Live, kind: str) -> None:
    site, cookies = live.site, _no_session_cookies()[kind]
    before = state(site)
    for route in ROUTES:
        path = route.path(live)
        if route.method == "GET":
            answer = call(site, "GET", path, cookies=cookies)
            if route.pattern in OPEN:
                assert answer.status == 200, (path, answer.status)
                continue
            assert answer.status in (303, 401, 403), (kind, path, answer.status)
            if answer.status == 303:
                where = urlsplit(answer.location)
                assert where.path == "/admin/login" and not where.netloc, (path, answer.location)
                assert parse_qs(where.query)["next"] == [path], answer.location
                assert SESSION_COOKIE not in answer.cookies()
        else:
            for body in (dict(FORM), {**FORM, "csrf": "x" * 43, "token": WRONG_TOKEN}):
                answer = call(site, route.method, path, cookies=cookies, form=body)
                assert answer.status == 403, (kind, route, answer.status, answer.body[:200])
                assert SESSION_COOKIE not in answer.cookies(), (kind, route)
    assert state(site) == before


# -- CSRF -----------------------------------------------------------------------------------------


def test_a_post_without_its_sessions_csrf_token_is_refused(live: Live) -> None:
    site = live.site
    mine, theirs = sign_in(site), sign_in(site)
    assert mine.csrf != theirs.csrf
    session = Keys(TOKEN).session(mine.cookie, time.time())
    assert session is not None
    forged = Keys(OTHER_TOKEN).csrf(session)  # right session, wrong key
    before = state(site)
    for route in CHANGES:
        path = route.path(live)
        body, kind = multipart(FORM)
        attempts: dict[str, dict[str, Any]] = {
            "no field, no header": {"form": FORM},
            "multipart, no field": {"body": body, "content_type": kind},
            "json, no header": {
                "body": json.dumps(FORM).encode(),
                "content_type": "application/json",
            },
            "empty header": {"form": FORM, "headers": {"X-CSRF-Token": ""}},
            "empty field": {"form": {**FORM, "csrf": ""}},
            "another session's field": {"form": {**FORM, "csrf": theirs.csrf}},
            "another session's header": {"form": FORM, "headers": {"X-CSRF-Token": theirs.csrf}},
            "another key's field": {"form": {**FORM, "csrf": forged}},
            "the session cookie as token": {"form": {**FORM, "csrf": mine.cookie}},
        }
        for what, request in attempts.items():
            answer = call(site, route.method, path, cookies=mine.cookies, **request)
            assert answer.status == 403, (route, what, answer.status, answer.body[:200])
    assert state(site) == before
    # The right token does get through (so the 403s above were the CSRF check), by field and by
    # header: signing out is harmless to repeat.
    right: list[dict[str, Any]] = [
        {"form": {"csrf": mine.csrf}},
        {"headers": {"X-CSRF-Token": mine.csrf}},
    ]
    for request in right:
        answer = call(site, "POST", "/admin/logout", cookies=mine.cookies, **request)
        assert answer.status == 303 and answer.location.endswith("/admin/login"), answer.status
        assert answer.cookies()[SESSION_COOKIE].value == ""


def test_the_sign_in_form_is_csrf_protected(live: Live) -> None:
    site = live.site
    pre = sign_in_form(site).cookies()[PRE_COOKIE].value
    other = sign_in_form(site).cookies()[PRE_COOKIE].value
    token = {"token": site.token, "next": "/admin/"}
    for cookies, form in (
        ({}, token),  # neither
        ({PRE_COOKIE: pre}, token),  # cookie, no field
        ({}, {**token, "csrf": pre}),  # field, no cookie
        ({PRE_COOKIE: pre}, {**token, "csrf": other}),  # not the pair
        ({PRE_COOKIE: pre}, {**token, "csrf": ""}),
    ):
        answer = call(site, "POST", "/admin/login", cookies=cookies, form=form)
        assert answer.status == 403, (cookies, form, answer.status)
        assert SESSION_COOKIE not in answer.cookies()


def test_a_non_ascii_csrf_token_is_a_403_not_a_500(live: Live) -> None:
    site = live.site
    signed = sign_in(site)
    pre = sign_in_form(site).cookies()[PRE_COOKIE].value
    for answer in (
        call(site, "POST", "/admin/logout", cookies=signed.cookies, form={"csrf": "\u00e9"}),
        call(site, "POST", "/admin/login", cookies={PRE_COOKIE: pre}, form={"csrf": "\u00e9"}),
    ):
        assert answer.status == 403, (answer.path, answer.status)
        assert answer.headers.get("X-Frame-Options") == "DENY", answer.path


# -- the token stays secret -----------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "link": "href", "img": "src", "script": "src"}.get(tag)
        values = dict(attrs)
        if wanted and values.get(wanted):
            self.links.append(str(values[wanted]))
        if tag == "form" and (values.get("method") or "get").lower() == "get":
            self.links.append(values.get("action") or "")


def crawl(
    site: Site, start: list[str], signed: Signed, lang: str, limit: int = 150
) -> list[Answer]:
    """Every console page reachable by GET from ``start`` (links, GET forms), in ``lang``."""
    queue, seen, answers = list(start), set(start), list[Answer]()
    while queue and len(answers) < limit:
        path = queue.pop(0)
        answer = call(site, "GET", path, cookies=signed.cookies, headers={"Accept-Language": lang})
        answers.append(answer)
        parser = _Links()
        parser.feed(answer.body)
        for link in [*parser.links, answer.location]:
            target = urlsplit(urljoin(path, link))
            if target.netloc or not target.path.startswith("/admin/"):
                continue
            found = target.path + (f"?{target.query}" if target.query else "")
            if found not in seen and not target.path.startswith("/admin/logout"):
                seen.add(found)
                queue.append(found)
    return answers


def _assert_secret_kept(answer: Answer, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in answer.body, (answer.path, "body")
        for name, value in answer.headers.items():
            assert secret not in value, (answer.path, name)


def test_the_token_is_in_no_page_link_or_header(live: Live) -> None:
    site = live.site
    signed = sign_in(site)
    start = [r.path(live) for r in GETS]
    pages = 0
    for lang in ("en", "zh-CN"):
        for answer in crawl(site, start, signed, lang):
            pages += 1
            assert answer.status < 500, (answer.path, answer.status, answer.body[:300])
            # The HttpOnly cookie's value is not in the page either, nor the admin token.
            _assert_secret_kept(answer, site.token, signed.cookie)
    assert pages >= 2 * len(start)
    # Signed out, and the answers to wrong attempts.
    for answer in (
        sign_in_form(site),
        sign_in_form(site, query="?next=/admin/feeds&lang=en"),
        call(site, "GET", "/admin/feeds", cookies={SESSION_COOKIE: "x.y"}),
        call(site, "POST", "/admin/logout", cookies=signed.cookies, form={"csrf": "no"}),
        call(site, "GET", "/admin/no-such-page", cookies=signed.cookies),
    ):
        _assert_secret_kept(answer, site.token)


def test_the_token_is_not_logged(live: Live) -> None:
    site = live.site
    failed = attempt(site, WRONG_TOKEN)
    assert failed.status == 403
    assert WRONG_TOKEN not in failed.body  # not echoed back into the form either
    good = attempt(site, site.token, next_path="/admin/feeds")
    assert good.status == 303
    _assert_secret_kept(good, site.token)
    wait_until(lambda: "console: signed in" in site.log_text(), 10, "the sign-in line")
    log = site.log_text()
    assert "console: failed sign-in" in log
    assert site.token not in log
    assert WRONG_TOKEN not in log  # a near miss may be a typo of the real one


# -- cookies --------------------------------------------------------------------------------------


def _flags(cookie: Morsel[str]) -> tuple[bool, str, str, bool]:
    return bool(cookie["httponly"]), cookie["samesite"], cookie["path"], bool(cookie["secure"])


@pytest.mark.parametrize("https", [False, True], ids=["http", "behind-https"])
def test_the_cookies_carry_their_flags(live: Live, https: bool) -> None:
    site = live.site
    headers = {"X-Forwarded-Proto": "https"} if https else {}
    pre = sign_in_form(site, headers=headers).cookies()[PRE_COOKIE]
    assert _flags(pre) == (True, "Strict", "/admin", https)
    answer = attempt(site, site.token, headers=headers)
    assert answer.status == 303
    session = answer.cookies()[SESSION_COOKIE]
    assert _flags(session) == (True, "Strict", "/admin", https)
    assert 0 < int(session["max-age"]) <= 30 * 86400
    signed_out = call(
        site,
        "POST",
        "/admin/logout",
        cookies={SESSION_COOKIE: session.value},
        form={"csrf": page_csrf(site, session.value)},
    )
    assert signed_out.cookies()[SESSION_COOKIE]["path"] == "/admin"  # the cookie it set, gone


# -- where sign-in leads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "/admin@evil.example",
        "evil.example/admin/",
    ],
)
def test_next_never_leads_off_the_console(live: Live, wanted: str) -> None:
    site = live.site
    form = sign_in_form(site, query="?" + urlencode({"next": wanted}))
    hidden = re.search(r'name="next" value="([^"]*)"', form.body)
    assert hidden is not None and hidden.group(1) == "/admin/", hidden
    answer = attempt(site, site.token, next_path=wanted)
    assert answer.status == 303
    assert answer.location == "/admin/", answer.location


def test_next_within_the_console_is_kept(live: Live) -> None:
    answer = attempt(live.site, live.site.token, next_path="/admin/feeds?sort=errors")
    assert answer.status == 303 and answer.location == "/admin/feeds?sort=errors"


# -- headers --------------------------------------------------------------------------------------


def test_every_console_answer_has_the_security_headers(live: Live) -> None:
    site = live.site
    signed = sign_in(site)
    answers = [
        sign_in_form(site),
        call(site, "GET", "/admin/static/console.css"),
        call(site, "GET", "/admin/no-such-page"),
        call(site, "GET", "/admin/no-such-page", cookies=signed.cookies),
        call(site, "POST", "/admin/login", form={"token": "x"}),
    ]
    for route in ROUTES:
        for cookies in ({}, signed.cookies):
            form = {"csrf": "wrong"} if route.method != "GET" else None
            answers.append(call(site, route.method, route.path(live), cookies=cookies, form=form))
    # A page that crashes is test_the_token_is_in_no_page_link_or_header's to report (and see
    # the non-ASCII CSRF test: an unexpected error's 500 comes from aiohttp, past _headers).
    for answer in [a for a in answers if a.status < 500]:
        where = (answer.method, answer.path, answer.status)
        policy = answer.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, where
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (where, name)
        timing = re.fullmatch(r"app;dur=(\d+(\.\d+)?)", answer.headers.get("Server-Timing", ""))
        assert timing is not None, (where, answer.headers.get("Server-Timing"))


def test_the_console_without_its_slash_is_redirected_with_the_headers(live: Live) -> None:
    answer = call(live.site, "GET", "/admin")
    assert answer.status in (301, 303) and "/admin/" in answer.location
    assert "frame-ancestors 'none'" in answer.headers.get("Content-Security-Policy", "")
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, name


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_an_upload_over_the_limit_is_told_so_and_changes_nothing(live: Live, lang: str) -> None:
    site = live.site
    signed = sign_in(site)
    before = site.config.read_bytes()
    form = {"csrf": signed.csrf, "opml": "<opml>" + "x" * (MAX_FORM_BYTES + 10) + "</opml>"}
    answer = call(
        site,
        "POST",
        "/admin/feeds/import",
        cookies={**signed.cookies, LANG_COOKIE: lang},
        form=form,
        headers={"Accept-Language": "zh-CN" if lang == "zh-Hans" else "en-GB"},
    )
    assert answer.status == 413
    assert ("超过 2 MB" if lang == "zh-Hans" else "larger than 2 MB") in answer.body
    assert site.config.read_bytes() == before
    assert answer.headers.get("X-Frame-Options") == "DENY"


# -- processes of their own -----------------------------------------------------------------------


def test_sign_in_is_rate_limited(tmp_path: Path) -> None:
    with running(tmp_path) as site:
        for n in range(5):
            answer = attempt(site, f"{WRONG_TOKEN}{n}")
            assert answer.status == 403, (n, answer.status)
        refused = attempt(site, WRONG_TOKEN)
        assert refused.status == 429
        wait = int(refused.headers["Retry-After"])
        assert 0 < wait <= 301
        # Even the right token waits: a guesser cannot tell a hit from a refusal.
        right = attempt(site, site.token)
        assert right.status == 429 and int(right.headers["Retry-After"]) > 0
        assert SESSION_COOKIE not in right.cookies()
        _assert_secret_kept(right, site.token)
        wait_until(lambda: "too many failed attempts" in site.log_text(), 10, "the refusal line")
        assert site.token not in site.log_text()


def test_without_a_token_the_console_is_off(tmp_path: Path) -> None:
    with running(tmp_path, token=None, roles=("web",)) as site:
        for path in ("/admin/", "/admin/login", "/admin/feeds"):
            assert call(site, "GET", path).status == 404, path
        assert call(site, "POST", "/admin/login", form={"token": TOKEN}).status == 404
        wait_until(lambda: "newsbrief running:" in site.log_text(), 10, "the banner")
        banner = next(ln for ln in site.log_text().splitlines() if "newsbrief running:" in ln)
        assert " INFO " in banner
        assert "admin console off" in banner and "NEWSBRIEF_ADMIN__TOKEN" in banner, banner
        assert "/admin/" not in banner.split("(admin console off")[0]  # not listed as served


def test_a_short_token_is_refused_at_start(tmp_path: Path) -> None:
    short = "short-tok-15chr"
    assert len(short) == 15
    config = tmp_path / "newsbrief.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'nb.db'}\nserver: {{port: {free_port()}}}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSBRIEF_ADMIN__TOKEN": short}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    done = subprocess.run(
        [str(COMMAND), "--config", str(config), "run", "--role", "web"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "NEWSBRIEF_ADMIN__TOKEN" in said and "16" in said, said
    assert short not in said


async def test_the_callback_servers_redirect_to_the_console_has_the_headers() -> None:
    """Where the console is mounted on the callback server, ``/admin`` is outside its
    middleware; its redirect still carries the headers."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from bot.web.app import _to_slash

    with pytest.raises(web.HTTPMovedPermanently) as raised:
        await _to_slash(make_mocked_request("GET", "/admin"))
    assert raised.value.location == "/admin/"
    for name, value in SECURITY_HEADERS.items():
        assert raised.value.headers.get(name) == value, name
