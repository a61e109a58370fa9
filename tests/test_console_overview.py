"""The console's overview: its figures from the store (SQLite and PostgreSQL), and the page of a
running instance showing the real counts in a browser."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from newsbrief.config.settings import PollingConfig
from newsbrief.records import Entry, ErrorKind, Feed, FetchResult, Message, PollOutcome
from newsbrief.store import activity, feeds, outbox, stats
from newsbrief.store.db import Database
from tests.console_site import Site, shoot, wait_until

NOW = datetime(2026, 12, 16, 10, 30, tzinfo=UTC)
POLLING = PollingConfig(jitter=0, adaptive=False)


def test_fetch_counts_add_up_per_hour_and_old_hours_go(db: Database) -> None:
    with db.session() as s:
        activity.record_fetches(s, NOW - timedelta(days=15), {"ok": 9})
        activity.record_fetches(s, NOW - timedelta(hours=2), {"ok": 3, "timeout": 1})
    with db.session() as s:
        activity.record_fetches(s, NOW, {"ok": 2, "not_modified": 5})
        activity.record_fetches(s, NOW + timedelta(minutes=10), {"ok": 1, "http": 0})
    with db.session() as s:
        history = activity.fetch_history(s, NOW)
        kept = s.scalar(activity.select(activity.func.count()).select_from(activity.FetchCountRow))
    assert len(history) == 24
    assert list(history)[-1] == NOW.replace(minute=0)
    assert history[NOW.replace(minute=0)] == {"ok": 3, "not_modified": 5}
    assert history[NOW.replace(minute=0) - timedelta(hours=2)] == {"ok": 3, "timeout": 1}
    assert kept == 4  # the 15-day-old hour was pruned; no row for a zero count


def test_a_tick_run_is_one_row_that_keeps_the_last_failure(db: Database) -> None:
    with db.session() as s:
        activity.record_tick(s, "poll", NOW, 0.5, "host:1", "DatabaseError: boom")
    with db.session() as s:
        activity.record_tick(s, "poll", NOW + timedelta(seconds=30), 0.25, "host:2")
        activity.record_tick(s, "deliver", NOW, 0.01, "host:2")
    with db.session() as s:
        runs = {run.tick: run for run in activity.tick_runs(s)}
    assert set(runs) == {"deliver", "poll"}
    poll = runs["poll"]
    assert (poll.finished_at, poll.seconds, poll.ok, poll.process) == (
        NOW + timedelta(seconds=30),
        0.25,
        True,
        "host:2",
    )
    assert (poll.failed_at, poll.error) == (NOW, "DatabaseError: boom")
    assert runs["deliver"].failed_at is None


def _sent(db: Database, platform: str, key: str, queued: datetime, lag: float) -> None:
    with db.session() as s:
        outbox.enqueue_to(s, platform, "chat-1", key, [Message(text="hi")], queued)
        delivery_id = outbox.listing(s, limit=1)[0].id
        outbox.mark_sent(s, delivery_id, "1", queued + timedelta(seconds=lag))


def test_overview_counts_feeds_today_outbox_sends_and_lag(db: Database) -> None:
    with db.session() as s:
        feeds.sync_feeds(
            s, [Feed("a", "https://a/x"), Feed("b", "https://b/x"), Feed("c", "https://c/x")], NOW
        )
        ok = FetchResult("a", "https://a/x", 200, body=b"")
        entries = [
            Entry(feed_id="a", key=f"k{i}", title="t", link=None, content_html="v")
            for i in range(3)
        ]
        feeds.record_polls(s, [PollOutcome(ok, entries)], NOW - timedelta(days=1), POLLING)
        feeds.record_polls(
            s,
            [
                PollOutcome(
                    ok, [Entry(feed_id="a", key="k9", title="t", link=None, content_html="v")]
                ),
                PollOutcome(
                    FetchResult("b", "https://b/x", None, error="timed out"),
                    error_kind=ErrorKind.TIMEOUT,
                    error="timed out",
                ),
            ],
            NOW,
            POLLING,
        )
    # This hour: lags 1, 2, 3, 100 s (telegram) and 4 s (wecom); two hours ago: 0.5 s.
    for i, lag in enumerate((1.0, 2.0, 3.0, 100.0)):
        _sent(db, "telegram", f"t{i}", NOW - timedelta(minutes=20), lag)
    _sent(db, "wecom", "w", NOW - timedelta(minutes=5), 4.0)
    _sent(db, "telegram", "old", NOW - timedelta(hours=2), 0.5)
    _sent(db, "telegram", "older", NOW - timedelta(days=2), 1.0)  # not in the last 24 h
    with db.session() as s:
        outbox.enqueue_to(
            s, "telegram", "chat-2", "waiting", [Message(text="x")], NOW - timedelta(minutes=7)
        )
        outbox.enqueue_to(s, "dingtalk", "bot", "waiting-too", [Message(text="y")], NOW)
    with db.session() as s:
        found = activity.overview(s, NOW, NOW.replace(hour=0, minute=0))
        assert found.feeds == stats.feeds_by_status(s)
    assert found.feeds == {"ok": 1, "failing": 1, "new": 1}
    assert (found.entries_today, found.stories_today) == (1, 0)
    assert found.outbox == {"telegram": 1, "dingtalk": 1}
    assert found.oldest_pending == NOW - timedelta(minutes=7)
    assert found.sent_24h == {"telegram": 5, "wecom": 1}
    assert len(found.lag) == 24
    this_hour = found.lag[NOW.replace(minute=0)]
    assert this_hour == activity.Lag(5, 3.0, 100.0)
    assert found.lag[NOW.replace(minute=0) - timedelta(hours=2)] == activity.Lag(1, 0.5, 0.5)
    assert found.lag[NOW.replace(minute=0) - timedelta(hours=1)] is None


def _database_counts(site: Site) -> dict[str, Any]:
    path = site.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        entries = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
        stories = connection.execute("SELECT count(*) FROM stories").fetchone()[0]
        feeds_ok = connection.execute(
            "SELECT count(*) FROM feeds WHERE enabled AND error_count = 0 "
            "AND last_success_at IS NOT NULL"
        ).fetchone()[0]
        ticks = {row[0] for row in connection.execute("SELECT tick FROM tick_runs")}
        fetches = connection.execute("SELECT sum(count) FROM fetch_counts").fetchone()[0]
    return {
        "entries": entries,
        "stories": stories,
        "ok": feeds_ok,
        "ticks": ticks,
        "fetches": fetches,
    }


def _figure(page: Any, selector: str) -> int:
    return int(page.locator(f"{selector} b").inner_text())


def test_the_overview_shows_the_running_instance(console: Any, site: Site) -> None:
    # Both feeds polled, their three entries made into stories, the ticks recorded.
    wait_until(
        lambda: (
            (c := _database_counts(site))["stories"] >= 2
            and c["ok"] == 2
            and {"poll", "process", "compose", "deliver", "config"} <= c["ticks"]
        ),
        what="the instance to poll and process its feeds",
    )
    started = time.monotonic()
    console.goto(site.url("/"))
    assert time.monotonic() - started < 2
    counts = _database_counts(site)
    assert _figure(console, "#feeds-ok") == counts["ok"] == 2
    assert _figure(console, "#feeds-failing") == 0
    # Everything in this fresh database was fetched today, whatever the zone.
    assert _figure(console, "#entries-today") == counts["entries"] == 3
    assert _figure(console, "#stories-today") == counts["stories"]
    assert "Asia/Shanghai" in console.locator("#today").inner_text()
    for tick in ("poll", "process", "compose", "deliver"):
        row = console.locator(f"#tick-{tick}")
        assert row.is_visible()
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.inner_text())
    # The fetch chart: a bar for this hour's fetches (at least one per feed), with a tooltip.
    chart = console.locator("svg.chart").first
    assert chart.get_attribute("role") == "img"
    tooltips = chart.locator("rect title").all_text_contents()
    assert any(re.search(r"ok: \d+", tip) for tip in tooltips), tooltips
    assert sum(int(tip.rsplit(": ", 1)[1]) for tip in tooltips) <= counts["fetches"]
    shoot(console, "overview")
    console.goto(site.url("/?lang=en"))
    assert console.locator("h1").inner_text() == "Overview"
    assert "Today (since midnight, Asia/Shanghai)" in console.content()
