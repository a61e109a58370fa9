"""Console page speed: every page's server time with 10,000 feeds and 100,000 subscribers.

Builds a database as a polled deployment has it: bench/compose.py's subscribers (30 of 100
topics each, 500 stories; a hundredth paused by their platform), N feeds from the config
(bench/scale.py's list, synced as ``run`` syncs them) of which 85% are fine, 10% failing and 5%
disabled, entries for each feed over the last three days, two weeks of hourly fetch counts, the
ticks' last runs, and an outbox of a day's sends plus pending, failed and paused messages. The
console is served in this process by the callback server (``newsbrief run``'s, built as
jobs/runtime.py builds it: a CommandCore on the config file) on a loopback port in a thread of
its own; a client signs in and GETs every GET route of the console's router (``{id}`` filled
with a real id) and one of each kind of link the pages carry (each sort and filter, a next
page), ``--runs`` times each.

Prints per URL the median and max server time (the ``Server-Timing`` header: the handler, from
the console's outermost middleware) and the median total response time, flags any page whose
median server time is over 200 ms, and for those names the slowest SQL statements of their
slowest run (timed at the driver).

    .venv/bin/python bench/console.py [--db sqlite,postgres] [--feeds 10000] [--subscribers 100000]
        [--entries 20] [--runs 7]

PostgreSQL runs in a database created for the run on the local server and dropped after it
(``NEWSBRIEF_TEST_POSTGRES`` names the server, as for the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from sqlalchemy import bindparam, event, insert, select, update

from bench.compose import populate
from bench.databases import database
from bench.poll import hosts
from bench.scale import config_yaml, feed_list
from bot.commands.core import CommandCore
from bot.web.app import Console
from bot.web.auth import SESSION_COOKIE
from bot.wechat.server import CallbackServer
from jobs.compose import compose_for
from newsbrief.config.settings import Config, load_config
from newsbrief.fetcher import Fetcher
from newsbrief.store import audience
from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    ChatPauseRow,
    DeliveryRow,
    EntryRow,
    FeedRow,
    FetchCountRow,
    SubscriberRow,
    TickRunRow,
)

TOKEN = "bench-console-token-0123456789"
LIMIT_MS = 200.0
VARIANTS = 40
"""At most this many link variants (one per path and set of query keys) beyond the routes."""
CHUNK = 5000


# -- the database ---------------------------------------------------------------------------------


def build(db: Database, config: Config, subscribers: int, entries: int, now: datetime) -> None:
    rng = random.Random(18)
    populate(db, subscribers, now, rng)
    with db.session() as session:
        feed_store.sync_feeds(session, config.feed_list(), now)
    ids = [feed.id for feed in config.feeds]
    feed_states(db, ids, now, rng)
    feed_entries(db, ids, entries, now, rng)
    history(db, subscribers, now, rng)


def feed_states(db: Database, ids: list[str], now: datetime, rng: random.Random) -> None:
    """85% fine, 10% failing (1-9 failures in a row), 5% disabled after failing or going."""
    rows = []
    for n, feed_id in enumerate(ids):
        checked = now - timedelta(minutes=rng.randint(1, 60))
        row: dict[str, Any] = {
            "b_id": feed_id,
            "title": f"Feed {n} · {rng.choice(['科技', '财经', 'World', 'Tech'])}",
            "last_checked_at": checked,
            "last_success_at": checked,
            "last_status": 200,
            "next_check_at": now + timedelta(minutes=rng.randint(1, 30)),
            "etag": f'"v{n}"',
            "entries_per_week": rng.uniform(0, 200),
            "error_count": 0,
            "last_error": None,
            "last_error_kind": None,
            "enabled": True,
            "disabled_reason": None,
            "disabled_at": None,
        }
        kind = n % 20
        if kind in (1, 2):  # failing
            row |= {
                "last_success_at": checked - timedelta(hours=rng.randint(1, 72)),
                "last_status": rng.choice([503, 500, None]),
                "error_count": rng.randint(1, 9),
                "last_error": rng.choice(["timed out after 20 s", "HTTP 503", "not a feed"]),
                "last_error_kind": rng.choice(["timeout", "http", "parse"]),
            }
        elif kind == 3:  # disabled
            row |= {
                "enabled": False,
                "disabled_reason": rng.choice(["failing", "gone"]),
                "disabled_at": now - timedelta(days=rng.randint(1, 30)),
                "last_status": 410,
                "error_count": 10,
                "last_error": "HTTP 410 Gone",
                "last_error_kind": "http",
            }
        rows.append(row)
    statement = (
        update(FeedRow)
        .where(FeedRow.id == bindparam("b_id"))
        .values({k: bindparam(k) for k in rows[0] if k != "b_id"})
    )
    with db.session() as session:
        for start in range(0, len(rows), CHUNK):
            session.connection().execute(statement, rows[start : start + CHUNK])


def feed_entries(
    db: Database, ids: list[str], per_feed: int, now: datetime, rng: random.Random
) -> None:
    """``per_feed`` entries each, fetched over the last three days; the newest 2% unprocessed."""
    batch: list[dict[str, Any]] = []
    total = len(ids) * per_feed
    done = 0
    with db.session() as session:
        for n, feed_id in enumerate(ids):
            for k in range(per_feed):
                key = f"https://site{n}.example/{k}"
                fetched = now - timedelta(minutes=rng.randint(0, 3 * 24 * 60))
                done += 1
                batch.append(
                    {
                        "feed_id": feed_id,
                        "key": key,
                        "key_hash": hashlib.sha256(key.encode()).hexdigest(),
                        "title": f"Feed {n} story {k}",
                        "link": key,
                        "content_html": f"<p>Story {k} of feed {n}: a paragraph of news.</p>",
                        "content_hash": hashlib.sha1(key.encode()).hexdigest(),
                        "published_at": fetched - timedelta(minutes=5),
                        "fetched_at": fetched,
                        "processed_at": None if done > total * 0.98 else fetched,
                    }
                )
                if len(batch) >= CHUNK:
                    session.execute(insert(EntryRow), batch)
                    batch = []
        if batch:
            session.execute(insert(EntryRow), batch)


def history(db: Database, subscribers: int, now: datetime, rng: random.Random) -> None:
    """Fetch counts, tick runs, paused chats and the outbox of a busy day."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    counts = [
        {"hour": hour - timedelta(hours=h), "outcome": outcome, "count": rng.randint(0, 20_000)}
        for h in range(14 * 24)
        for outcome in ("ok", "not_modified", "timeout", "http", "parse")
    ]
    ticks = [
        {
            "tick": tick,
            "finished_at": now - timedelta(seconds=rng.randint(1, 300)),
            "seconds": rng.uniform(0.1, 30),
            "ok": tick != "deliver",
            "process": f"bench-host:{1000 + n}",
            "failed_at": now - timedelta(hours=2) if tick == "deliver" else None,
            "error": "database is locked" if tick == "deliver" else None,
        }
        for n, tick in enumerate(("poll", "process", "compose", "deliver", "retention"))
    ]
    paused = list(range(1, subscribers + 1, 100))
    with db.session() as session:
        session.execute(insert(FetchCountRow), counts)
        session.execute(insert(TickRunRow), ticks)
        session.execute(
            update(SubscriberRow).where(SubscriberRow.id.in_(paused)).values(paused=True)
        )
        pauses = [
            {"platform": "telegram", "chat_id": str(sid), "reason": "blocked", "since": now}
            for sid in paused
        ]
        for start in range(0, len(pauses), CHUNK):
            session.execute(insert(ChatPauseRow), pauses[start : start + CHUNK])
        batch: list[dict[str, Any]] = []
        for sid in range(1, subscribers + 1):
            created = now - timedelta(seconds=rng.randint(60, 86_400))
            status = "sent"
            if sid % 100 == 0:
                status = "pending"
            elif sid % 500 == 1:
                status = "failed"
            elif sid % 100 == 1:
                status = "paused"
            sent = status == "sent"
            batch.append(
                {
                    "key": f"bench:{sid}",
                    "subscriber_id": sid,
                    "platform": "telegram",
                    "chat_id": str(sid),
                    "thread_id": 0,
                    "text": "",
                    "payload": {"lang": "zh-Hans", "sections": [[1, 2, 3]]},
                    "status": status,
                    "attempts": 0 if status == "pending" else 1,
                    "due_at": created,
                    "last_error": "Forbidden: bot was blocked by the user"
                    if status in ("failed", "paused")
                    else None,
                    "created_at": created,
                    "sent_at": created + timedelta(seconds=rng.uniform(0.1, 30)) if sent else None,
                }
            )
            if len(batch) >= CHUNK:
                session.execute(insert(DeliveryRow), batch)
                batch = []
        if batch:
            session.execute(insert(DeliveryRow), batch)


# -- the server -----------------------------------------------------------------------------------


@dataclass
class Statements:
    """SQL statements and their time at the driver, for the request running now."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    timed: list[tuple[float, str]] = field(default_factory=list)

    def attach(self, db: Database) -> None:
        started: dict[int, float] = {}

        @event.listens_for(db.engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            started[id(cursor)] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seconds = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            with self.lock:
                self.timed.append((seconds * 1e3, " ".join(statement.split())))

    def take(self) -> list[tuple[float, str]]:
        with self.lock:
            taken, self.timed = self.timed, []
        return taken


@contextmanager
def serving(config_file: Path, statements: Statements) -> Iterator[tuple[int, Console]]:
    """The callback server with the console, as ``newsbrief run --role web`` has it, in a
    thread with its own loop; yields its port and the console."""
    config = load_config(config_file)
    db = Database(config.database_url)
    statements.attach(db)
    core = CommandCore(
        db,
        lambda: config,
        compose=compose_for,
        fetcher=Fetcher(config.fetch),
        config_file=config_file,
    )
    console = Console(core, session_hours=config.admin.session_hours)
    server = CallbackServer(lambda: config, core, db, callbacks=False, console=console)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def run() -> None:
        await server.start()
        ready.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the console did not start")
    try:
        assert server.port is not None
        yield server.port, console
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        db.dispose()


# -- the client -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str
    seconds: float

    @property
    def server_ms(self) -> float:
        found = re.search(r"app;dur=([\d.]+)", self.headers.get("Server-Timing", ""))
        return float(found.group(1)) if found else float("nan")


class Client:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Accept-Language": "zh-CN"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t0 = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        seconds = time.perf_counter() - t0
        for line in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return Answer(response.status, response.msg, text, seconds)

    def sign_in(self) -> None:
        form = self.call("GET", "/admin/login")
        pre = re.search(r'name="csrf" value="([^"]+)"', form.body)
        assert pre is not None, form.body[:300]
        answer = self.call("POST", "/admin/login", {"csrf": pre.group(1), "token": TOKEN})
        assert answer.status == 303 and SESSION_COOKIE in self.cookies, answer.body[:300]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and (href := dict(attrs).get("href")):
            self.links.append(href)


def pages(console: Console, client: Client, ids: dict[str, str]) -> list[str]:
    """Every GET route (``{id}`` filled) and one link of each kind found on them (see
    ``_kind``), within the console."""
    routes = []
    for route in console.app().router.routes():
        resource = route.resource
        if route.method != "GET" or resource is None or isinstance(resource, web.StaticResource):
            continue
        pattern = resource.canonical
        if pattern == "/login":
            continue
        value = next((v for prefix, v in ids.items() if pattern.startswith(prefix)), "1")
        routes.append("/admin" + re.sub(r"\{\w+(:[^}]*)?\}", value, pattern))
    urls = list(dict.fromkeys(routes))
    kinds = {_kind(u) for u in urls}
    for url in routes:
        parser = _Links()
        parser.feed(client.call("GET", url).body)
        for link in parser.links:
            target = urlsplit(urljoin(url, link))
            found = target.path + (f"?{target.query}" if target.query else "")
            kind = _kind(found)
            if target.netloc or not target.path.startswith("/admin/") or kind in kinds:
                continue
            if "logout" in target.path or len(urls) >= len(routes) + VARIANTS:
                continue
            kinds.add(kind)
            urls.append(found)
    return urls


def _kind(url: str) -> tuple[str, frozenset[tuple[str, str]]]:
    """What makes a page a variant worth timing: its path (one subscriber stands for all) and its
    query, except which page, which row, or the language."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/{n}", parts.path)
    query = frozenset(
        (k, "" if k in ("page", "id") else v) for k, v in parse_qsl(parts.query) if k != "lang"
    )
    return path, query


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Row:
    url: str
    status: int
    kb: float
    server: list[float]
    total: list[float]
    slowest: list[tuple[float, str]]

    @property
    def median(self) -> float:
        return statistics.median(self.server)


def measure(client: Client, statements: Statements, url: str, runs: int) -> Row:
    server, total, worst, slowest = [], [], -1.0, []
    answer = client.call("GET", url)  # once unmeasured: templates compiled, caches as in use
    for _ in range(runs):
        statements.take()
        answer = client.call("GET", url)
        timed = statements.take()
        server.append(answer.server_ms)
        total.append(answer.seconds * 1e3)
        if answer.server_ms > worst:
            worst, slowest = answer.server_ms, sorted(timed, reverse=True)[:3]
    return Row(url, answer.status, len(answer.body.encode()) / 1024, server, total, slowest)


def run_one(kind: str, args: argparse.Namespace, tmp: Path) -> list[Row]:
    now = datetime.now(UTC)
    with database(kind, tmp) as url:
        feeds = feed_list(hosts(500), args.feeds)
        config_file = tmp / f"console-{kind}.yaml"
        config_file.write_text(
            f"database_url: {url}\nserver: {{host: 127.0.0.1, port: 0}}\n" + config_yaml(feeds),
            encoding="utf-8",
        )
        os.environ["NEWSBRIEF_ADMIN__TOKEN"] = TOKEN
        config = load_config(config_file)
        db = Database(url)
        db.upgrade()
        t0 = time.perf_counter()
        build(db, config, args.subscribers, args.entries, now)
        with db.session() as session:
            some = session.scalar(select(SubscriberRow.id).order_by(SubscriberRow.id.desc()))
        kept = []  # what the console counts at start-up and then each minute in the background
        for name, fn in (
            ("audience", audience.audience),
            ("topic followers", audience.topic_followers),
        ):
            started = time.perf_counter()
            with db.session() as session:
                fn(session)
            kept.append(f"{name} {(time.perf_counter() - started) * 1e3:.0f} ms")
        db.dispose()
        print(
            f"[{kind}] set-up {time.perf_counter() - t0:.0f} s: {args.feeds:,} feeds "
            f"({args.feeds * args.entries:,} entries), {args.subscribers:,} subscribers, "
            f"{len(config.topics)} topics; kept counts, counted off the request path: "
            f"{', '.join(kept)}",
            flush=True,
        )
        statements = Statements()
        ids = {"/subscribers": str(some), "/feeds": config.feeds[1].id, "/topics": "t1"}
        with serving(config_file, statements) as (port, console):
            client = Client(port)
            client.sign_in()
            urls = pages(console, client, ids)
            rows = [measure(client, statements, u, args.runs) for u in urls]
        client.connection.close()
        return rows


def report(kind: str, rows: list[Row], runs: int, limit: float) -> list[Row]:
    print(f"\n[{kind}] server time per page ({runs} runs; ms; * = median over {limit:.0f} ms)")
    print(f"{'page':<58} {'status':>6} {'KB':>7} {'median':>8} {'max':>8} {'total':>8}")
    over = []
    for row in rows:
        flag = " *" if row.median > limit else ""
        print(
            f"{row.url[:58]:<58} {row.status:>6} {row.kb:>7.1f} {row.median:>8.1f} "
            f"{max(row.server):>8.1f} {statistics.median(row.total):>8.1f}{flag}"
        )
        if row.median > limit or row.status >= 500:
            over.append(row)
    for row in over:
        print(
            f"\n[{kind}] {row.url}: status {row.status}, median {row.median:.0f} ms; slowest SQL:"
        )
        for ms, sql in row.slowest:
            print(f"  {ms:8.1f} ms  {sql[:400]}")
    return over


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=20, help="entries stored per feed")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--limit", type=float, default=LIMIT_MS, help="ms a page may take")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            rows = run_one(kind, args, Path(tmp))
            failed |= bool(report(kind, rows, args.runs, args.limit))
    if failed:
        print(f"\nsome pages are over {args.limit:.0f} ms (or failed): see above")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
