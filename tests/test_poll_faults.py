"""The poller against a hostile internet: every fault ends in the right feed state with a clear
message, and the healthy feeds beside them are polled all the same."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.feeds.parse import newest
from newsbrief.records import Entry, FeedHealth
from newsbrief.store import articles, feeds, outbox
from newsbrief.store.tables import EntryRow, FeedRow
from tests.servers.feeds import rss
from tests.servers.hostile import HostileServer

# The hostile servers live on loopback addresses that are allowed one by one, so the guard
# against private addresses stays on and a redirect to 127.0.0.1 is refused.
BAD_HOST, GOOD_HOST = "127.0.0.2", "127.0.0.3"
ADMIN = 999
GOOD_FEED = rss(
    [
        {"title": f"Healthy {i}", "link": f"https://ok.example/{i}", "guid": f"ok-{i}"}
        for i in range(3)
    ]
).encode()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind((BAD_HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    with HostileServer(BAD_HOST) as bad, HostileServer(GOOD_HOST) as good:
        yield bad, good


def config(database_url: str, feed_urls: dict[str, str], **polling: Any) -> Config:
    return Config(
        database_url=database_url,
        admins=[ADMIN],
        fetch={
            "allowed_networks": [f"{BAD_HOST}/32", f"{GOOD_HOST}/32"],
            "connect_timeout": 1,
            "timeout": 0.5,
            "total_timeout": 2,
            "per_host_concurrency": 20,
            "host_spacing": 0,
            "concurrency": 50,
        },
        polling={"jitter": 0, "max_errors": 3, "max_errors_gone": 2, **polling},
        feeds=[{"id": k, "url": v} for k, v in feed_urls.items()],
    )


@pytest.fixture
async def runtime_for(database_url: str) -> AsyncIterator[Any]:
    made: list[Runtime] = []

    def make(feed_urls: dict[str, str], **polling: Any) -> Runtime:
        runtime = Runtime(config(database_url, feed_urls, **polling))
        runtime.start()
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.aclose()


def health(runtime: Runtime) -> dict[str, FeedHealth]:
    with runtime.db.session() as session:
        return {h.id: h for h in feeds.feed_health(session)}


async def test_every_fault_ends_in_a_clear_state(
    servers: tuple[HostileServer, HostileServer], runtime_for: Any
) -> None:
    bad, good = servers
    for i in range(5):
        good.body(f"/ok{i}.xml", GOOD_FEED)
    bad.status("/500", 500)
    bad.status("/404", 404)
    bad.status("/410", 410)
    bad.status("/429", 429, {"Retry-After": "3600"})
    bad.slow_headers("/slow", 5)
    bad.drip("/drip", total=100_000, every=0.1)
    bad.huge("/huge", 50_000_000, declare_length=False)
    bad.huge("/huge-declared", 50_000_000, declare_length=True)
    bad.gzip_bomb("/bomb", 1 << 30)
    bad.redirect("/loop-a", "/loop-b")
    bad.redirect("/loop-b", "/loop-a")
    bad.redirect("/to-localhost", "http://127.0.0.1:9/feed.xml", status=302)
    bad.body(
        "/html",
        b"<!doctype html><html><head><title>Welcome</title></head><body>hi</body></html>",
        "text/html; charset=utf-8",
    )
    bad.body("/truncated", b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><ite')
    bad.body(
        "/wrong-charset",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>比特币行情</title><link>https://x.example/1</link></item></channel></rss>".encode(
            "gbk"
        ),
        "application/rss+xml; charset=utf-8",
    )
    urls = {f"ok{i}": good.url(f"/ok{i}.xml") for i in range(5)}
    urls |= {
        name.strip("/").replace("-", "_") or "x": bad.url(name)
        for name in (
            "/500",
            "/404",
            "/410",
            "/429",
            "/slow",
            "/drip",
            "/huge",
            "/huge-declared",
            "/bomb",
            "/loop-a",
            "/to-localhost",
            "/html",
            "/truncated",
            "/wrong-charset",
        )
    }
    urls["refused"] = f"http://{BAD_HOST}:{closed_port()}/feed.xml"
    runtime = runtime_for(urls)

    started = time.monotonic()
    summary = await runtime.poll_once()
    took = time.monotonic() - started
    h = health(runtime)

    # The healthy feeds were polled in the same round, and the round was not held up for long.
    assert all(h[f"ok{i}"].status == "ok" and h[f"ok{i}"].entries == 3 for i in range(5))
    assert took < 6, f"one slow feed must not stall the round ({took:.1f}s)"
    assert summary.feeds == len(urls)

    expected = {
        "500": ("http", "HTTP 500 Internal Server Error"),
        "404": ("http", "HTTP 404 Not Found"),
        "410": ("http", "HTTP 410 Gone"),
        "429": ("http", "HTTP 429 Too Many Requests"),
        "refused": ("connect", "cannot connect"),
        "slow": ("timeout", "timed out waiting for the server"),
        # The total limit; a starved machine may pause the dripping server past the wait for
        # the next byte first (the same kind, the other message).
        "drip": ("timeout", ("took longer than 2s in total", "timed out waiting for the server")),
        "huge": ("too_large", "body over the 10,000,000-byte limit"),
        "huge_declared": (
            "too_large",
            "body of 50,000,000 bytes is over the 10,000,000-byte limit",
        ),
        "bomb": ("too_large", "body decompresses to over 30,000,000 bytes"),
        "loop_a": ("redirect", "redirect loop at"),
        "to_localhost": ("blocked", "resolves to a non-public address (127.0.0.1)"),
        "html": ("not_a_feed", "HTML page"),
        "truncated": ("parse_error", ""),
    }
    for feed_id, (kind, message) in expected.items():
        state = h[feed_id]
        assert state.status == "failing", feed_id
        assert state.last_error_kind == kind, (feed_id, state.last_error)
        messages = (message,) if isinstance(message, str) else message
        assert any(m in (state.last_error or "") for m in messages), (feed_id, state.last_error)
        assert state.error_count == 1
    assert h["wrong_charset"].status == "ok" and h["wrong_charset"].entries == 1

    # Retry-After is honoured: no check of that feed for an hour.
    with runtime.db.session() as session:
        row = session.get_one(FeedRow, "429")
        assert row.next_check_at >= runtime.ctx.clock() + timedelta(seconds=3590)
        # Backoff: a failing feed waits longer than a healthy one would.
        assert session.get_one(FeedRow, "500").next_check_at > runtime.ctx.clock() + timedelta(
            minutes=9
        )

    # 404 and 410 give up after two answers in a row; the admins are told in chat.
    with runtime.db.session() as session:
        feeds.make_all_due(session, runtime.ctx.clock())
    await runtime.poll_once()
    h = health(runtime)
    assert h["404"].status == h["410"].status == "disabled"
    assert "HTTP 404 Not Found (2 times in a row)" in (h["404"].last_error or "")
    assert h["500"].status == "failing" and h["500"].error_count == 2
    with runtime.db.session() as session:
        notices = [r for r in outbox.listing(session) if r.chat_id == str(ADMIN)]
    assert sorted(n.text.split("</b>")[0] for n in notices) == [
        "⚠️ 订阅源 <b>404",
        "⚠️ 订阅源 <b>410",
    ]


async def test_failures_disable_a_feed_and_a_success_resets_the_count(
    servers: tuple[HostileServer, HostileServer], runtime_for: Any
) -> None:
    bad, _ = servers
    bad.status("/flaky", 503)
    runtime = runtime_for({"flaky": bad.url("/flaky")})
    for _ in range(2):
        await runtime.poll_once(all_feeds=True)
    assert health(runtime)["flaky"].error_count == 2
    bad.body("/flaky", GOOD_FEED)
    await runtime.poll_once(all_feeds=True)
    assert health(runtime)["flaky"].status == "ok" and health(runtime)["flaky"].error_count == 0
    bad.status("/flaky", 503)
    for _ in range(3):
        await runtime.poll_once(all_feeds=True)
    state = health(runtime)["flaky"]
    assert state.status == "disabled" and "(3 times in a row)" in (state.last_error or "")
    summary = await runtime.poll_once(all_feeds=True)
    assert summary.feeds == 0  # disabled feeds are not polled
    with runtime.db.session() as session:
        assert feeds.enable(session, "flaky", runtime.ctx.clock())
    assert health(runtime)["flaky"].status == "new" or health(runtime)["flaky"].error_count == 0


async def test_a_feed_that_keeps_failing_is_warned_about_once_per_run_of_failures(
    servers: tuple[HostileServer, HostileServer],
    runtime_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad, _ = servers
    bad.status("/flaky", 503)
    runtime = runtime_for({"flaky": bad.url("/flaky")}, max_errors=10)

    def warnings() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "flaky" in r.getMessage()
        ]

    with caplog.at_level(logging.INFO):
        for _ in range(2):
            await runtime.poll_once(all_feeds=True)
        assert warnings() == []  # one or two failures usually heal by themselves
        for _ in range(4):
            await runtime.poll_once(all_feeds=True)
        (warned,) = warnings()
        assert "failed 3 times in a row" in warned and "503" in warned
        bad.body("/flaky", GOOD_FEED)
        await runtime.poll_once(all_feeds=True)
        bad.status("/flaky", 503)
        for _ in range(3):
            await runtime.poll_once(all_feeds=True)
        assert len(warnings()) == 2  # a new run of failures, a new warning


async def test_a_permanent_redirect_is_adopted_after_it_is_seen_consistently(
    servers: tuple[HostileServer, HostileServer], runtime_for: Any
) -> None:
    bad, _ = servers
    bad.redirect("/old.xml", "/new.xml", status=301)
    bad.body("/new.xml", GOOD_FEED)
    bad.redirect("/temp.xml", "/new.xml", status=302)
    runtime = runtime_for({"moved": bad.url("/old.xml"), "temp": bad.url("/temp.xml")})
    for poll in range(1, 4):
        await runtime.poll_once(all_feeds=True)
        h = health(runtime)
        assert h["moved"].url == (bad.url("/new.xml") if poll == 3 else bad.url("/old.xml"))
        assert h["temp"].url == bad.url("/temp.xml")  # temporary redirects never move the feed
    assert h["moved"].entries == 3
    # The config still names the old URL; a restart keeps the adopted one.
    runtime.start()
    assert health(runtime)["moved"].url == bad.url("/new.xml")


@pytest.mark.slow
async def test_politeness_with_500_feeds_on_one_host(tmp_path: Any) -> None:
    # A property of the fetcher, so one database (SQLite) is enough.
    database_url = f"sqlite:///{tmp_path / 'polite.db'}"
    with HostileServer("127.0.0.4") as host:
        host.delay = 0.002
        for i in range(500):
            host.body(f"/f{i}.xml", GOOD_FEED)
        cfg = config(database_url, {f"f{i}": host.url(f"/f{i}.xml") for i in range(500)})
        cfg = cfg.model_copy(
            update={
                "fetch": cfg.fetch.model_copy(
                    update={
                        "allowed_networks": ("127.0.0.4/32",),
                        "per_host_concurrency": 2,
                        "host_spacing": 0.01,
                        "concurrency": 100,
                    }
                )
            }
        )
        runtime = Runtime(cfg)
        runtime.start()
        try:
            summary = await runtime.poll_once()
            failed = [(h.id, h.last_error) for h in health(runtime).values() if h.last_error]
        finally:
            await runtime.aclose()
        assert summary.feeds == 500 and summary.failed == 0, failed
        stats = host.stats
        assert len(stats.starts) == 500
        assert stats.max_in_flight <= 2
        assert stats.starts[-1] - stats.starts[0] >= 499 * 0.01 * 0.98
        # Arrivals jitter around the client's spacing (more so on a busy machine), so single
        # gaps say little; any 21 arrivals in a row still span nearly 20 spacings.
        spans = [b - a for a, b in zip(stats.starts, stats.starts[20:], strict=False)]
        assert min(spans) >= 20 * 0.01 - 0.03, sorted(spans)[:5]


async def test_a_flooding_feed_is_capped_and_cannot_hold_up_the_others(
    servers: tuple[HostileServer, HostileServer], runtime_for: Any
) -> None:
    # Issue #14 row 12: one poll stored 50,000 entries and a 2,000,000-character title, and
    # processing them took minutes while the other feeds waited.
    bad, good = servers
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        {
            "title": f"Flood {i}",
            "link": f"https://flood.example/{i}",
            "guid": f"flood-{i}",
            "pubDate": format_datetime(start + timedelta(minutes=i)),
        }
        for i in range(3_000)
    ]
    random.Random(7).shuffle(items)  # newest means by date, not by position
    newest = next(i for i, item in enumerate(items) if item["guid"] == "flood-2999")
    items[newest] |= {"title": "长" * 2_000_000, "link": "https://flood.example/" + "x" * 10_000}
    items[newest]["guid"] = "g" * 5_000
    bad.body("/flood", rss(items).encode())
    for i in range(3):
        good.body(f"/ok{i}.xml", rss([]).encode())
    urls = {"flood": bad.url("/flood")} | {f"ok{i}": good.url(f"/ok{i}.xml") for i in range(3)}
    runtime = runtime_for(urls, max_entries=40)

    assert (await runtime.poll_once()).new == 40
    with runtime.db.session() as session:
        stored = list(session.scalars(select(EntryRow).where(EntryRow.feed_id == "flood")))
    assert len(stored) == 40
    kept = sorted(int(r.link.rsplit("/", 1)[1]) for r in stored if r.link)
    assert kept == list(range(2_960, 2_999))  # the newest 40: these and the giant one
    giant = next(r for r in stored if r.link is None)
    assert len(giant.title) <= 1_000 and giant.title.endswith("…")
    assert giant.key.startswith("sha256:") and len(giant.key) < 100

    # The other feeds' entries arrive after the flood's; the next batch holds them all.
    for i in range(3):
        good.body(f"/ok{i}.xml", GOOD_FEED.replace(b"ok-", f"ok{i}-".encode()))
    assert (await runtime.poll_once(all_feeds=True)).new == 9
    with runtime.db.session() as session:
        batch = articles.claim_unprocessed(session, runtime.ctx.clock(), 12, timedelta(minutes=5))
    assert sum(p.entry.feed_id != "flood" for p in batch) == 9, [p.entry.feed_id for p in batch]
    with runtime.db.session() as session:  # hand the claims back, as an expired lease would
        session.execute(update(EntryRow).values(lease_until=None))
    assert await runtime.process_all() == 49


def test_the_newest_are_kept_dated_first_then_undated_in_feed_order() -> None:
    when = datetime(2026, 3, 1, tzinfo=UTC)

    def entry(key: str, minutes: int | None) -> Entry:
        at = None if minutes is None else when + timedelta(minutes=minutes)
        return Entry(feed_id="f", key=key, title=key, link=None, content_html="", published_at=at)

    listed = [entry("u1", None), entry("d5", 5), entry("u2", None), entry("d9", 9), entry("d1", 1)]
    assert [e.key for e in newest(listed, 2)] == ["d5", "d9"]
    assert [e.key for e in newest(listed, 4)] == ["u1", "d5", "d9", "d1"]
    assert [e.key for e in newest(listed, 5)] == [e.key for e in listed]
    undated = [entry(f"u{i}", None) for i in range(10)]
    assert [e.key for e in newest(undated, 3)] == ["u0", "u1", "u2"]
