"""The console's Feeds page: in a real browser on a running instance, a feed added from the page
lands in the YAML (its comments intact) and is polled; a refused edit says why and leaves the
file byte for byte; remove, enable, OPML import and export work; and in-process, the page
answers in under 200 ms with 10,000 feeds and 100,000 subscribers."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bot.commands.core import CommandCore
from bot.web.app import Console, mount
from bot.web.auth import SESSION_COOKIE, Keys
from newsbrief.config.settings import load_config
from newsbrief.fetcher import Fetcher
from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from newsbrief.store.tables import EntryRow, FeedRow, SubscriberRow
from tests.console_site import Site, shoot, wait_until
from tests.servers.feeds import rss

AI_WEEKLY = [
    {
        "title": "A new language model tops the coding benchmarks",
        "link": "https://weekly.example/1",
        "guid": "weekly-1",
        "description": "The language model writes code.",
    }
]


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if "#" in line]


def site_page(feed_path: str) -> str:
    return (
        "<!doctype html><html><head><title>AI Weekly</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{feed_path}">'
        "</head><body>news</body></html>"
    )


def submit(page: Any, selector: str = "button[type=submit]") -> int:
    """Click a form's button; the status of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.click(selector)
    response = navigation.value
    return int(response.status) if response is not None else 0


def test_a_feed_added_from_the_page_is_in_the_yaml_and_polled(console: Any, site: Site) -> None:
    site.feeds.set("/weekly.xml", rss(AI_WEEKLY, title="AI Weekly"))
    site.feeds.set("/weekly.html", site_page("/weekly.xml"), "text/html")
    before = site.config.read_text(encoding="utf-8")
    console.goto(site.url("/feeds"))
    assert console.locator("#feed-zhnews").count() == 1  # the health table lists the feeds

    console.fill("#feeds-url", site.feeds.url("/weekly.html"))  # a site's page: discovery
    console.check("input[name=topics][value=ai]")
    assert submit(console, "form[action$='/feeds/add'] button") == 200
    assert "done=feed_added" in console.url
    assert "ai-weekly" in console.locator(".notice").inner_text()
    fetched = len(site.feeds.statuses("/weekly.xml"))  # discovery read it once

    after = site.config.read_text(encoding="utf-8")
    assert after.startswith(before)  # appended; every byte that was there stays
    assert comments(after) == comments(before)
    added = after[len(before) :]
    assert "id: ai-weekly" in added and site.feeds.url("/weekly.xml") in added
    assert "topics: [ai]" in added
    wait_until(lambda: "console: feed added id='ai-weekly'" in site.log_text(), what="the audit")

    # The running process put it in force: it polls the new feed, and the page says ok.
    wait_until(lambda: len(site.feeds.statuses("/weekly.xml")) > fetched, what="a poll")

    def shown_ok() -> bool:
        console.goto(site.url("/feeds?state=ok"))
        return bool(console.locator("#feed-ai-weekly .state-ok").count() == 1)

    wait_until(shown_ok, what="the new feed to show ok")
    console.goto(site.url("/feeds"))
    shoot(console, "feeds")


def test_a_refused_edit_says_why_and_changes_nothing(console: Any, site: Site) -> None:
    site.feeds.set("/plain.html", "<!doctype html><html><head></head></html>", "text/html")
    site.feeds.set("/third.xml", rss(AI_WEEKLY, title="Third"))
    before = site.config.read_bytes()
    console.goto(site.url("/feeds"))

    def attempt(url: str, name: str = "") -> tuple[int, str]:
        console.fill("#feeds-url", url)
        console.fill("#feeds-name", name)
        status = submit(console, "form[action$='/feeds/add'] button")
        assert site.config.read_bytes() == before
        return status, console.locator("#feeds-error").inner_text()

    status, error = attempt(site.feeds.url("/plain.html"))
    assert status == 422 and "no feed found" in error
    assert console.input_value("#feeds-url") == site.feeds.url("/plain.html")  # kept to fix
    status, error = attempt(site.feeds.url("/zh.xml"))
    assert status == 409 and "zhnews" in error
    # Valid until written: a display name over 200 characters fails the config's check, and
    # the edit is undone.
    status, error = attempt(site.feeds.url("/third.xml"), "x" * 201)
    assert status == 422 and "name" in error and "200" in error
    os.chmod(site.config, 0o444)
    try:
        status, error = attempt(site.feeds.url("/third.xml"))
        assert status == 409 and "只读" in error  # the browser asked for Chinese
    finally:
        os.chmod(site.config, 0o644)
    shoot(console, "feeds-error")
    with console.expect_navigation():  # the language link of a page shown at the form's address
        console.click("a[hreflang=en]")
    assert console.url == site.url("/feeds?lang=en")
    assert console.locator("h1").inner_text() == "Feeds"
    assert "console: feed added" not in site.log_text()


def test_import_enable_remove_and_export(console: Any, site: Site, tmp_path: Path) -> None:
    before = site.config.read_text(encoding="utf-8")
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="AI">'
        f'<outline type="rss" text="Broken" xmlUrl="{site.feeds.url("/broken.xml")}"/>'
        f'<outline type="rss" text="Again" xmlUrl="{site.feeds.url("/zh.xml")}"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    console.goto(site.url("/feeds"))
    console.set_input_files("#feeds-opml", str(opml))
    console.check("form[action$='/feeds/import'] input[name=topics][value=crypto]")
    assert submit(console, "form[action$='/feeds/import'] button") == 200
    assert console.locator(".notice").inner_text() == "OPML 导入：添加 1 个，跳过 1 个。"
    after = site.config.read_text(encoding="utf-8")
    assert after.startswith(before) and comments(after) == comments(before)
    # The topic ticked, and the one the folder names.
    assert "id: broken" in after and "topics: [crypto, ai]" in after

    # /broken.xml answers 404: the feed fails, and the page offers to enable it again.
    def failing() -> bool:
        console.goto(site.url("/feeds?state=failing"))
        return bool(console.locator("#feed-broken").count() == 1)

    wait_until(failing, what="the imported feed to fail")
    assert console.locator("#feed-zhnews").count() == 0  # filtered out
    polls = len(site.feeds.statuses("/broken.xml"))
    assert submit(console, "#feed-broken form[action$='/feeds/enable'] button") == 200
    assert "broken" in console.locator(".notice").inner_text()
    wait_until(lambda: len(site.feeds.statuses("/broken.xml")) > polls, what="a poll again")

    with console.expect_navigation():
        console.click("#feed-ennews a[href*='/feeds/remove']")
    assert "ennews" in console.locator("h1").inner_text()  # the confirmation step
    assert submit(console, "form[action$='/feeds/remove'] button") == 200
    assert "ennews" in console.locator(".notice").inner_text()
    text = site.config.read_text(encoding="utf-8")
    assert "id: ennews" not in text and "id: zhnews" in text
    assert comments(text) == [c for c in comments(before) if "English wire" not in c]

    with console.expect_download() as download:
        console.click("form[action$='/feeds/export'] button")
    assert download.value.suggested_filename == "newsbrief-feeds.opml"
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert 'newsbriefId="zhnews"' in exported and 'newsbriefId="broken"' in exported
    assert "ennews" not in exported
    log = site.log_text()
    assert "console: feeds imported file='list.opml' ids=['broken']" in log
    assert "console: feed enabled id='broken'" in log
    assert "console: feed removed id='ennews'" in log


# -- in process: many feeds, and the refusals a running site cannot show ---------------------

TOKEN = "feeds-page-test-token-0123456789"
# The console keeps its per-request values under string keys, which aiohttp warns about in
# process (the warning is an error in the tests).
in_process = pytest.mark.filterwarnings("error")  # in-process console tests
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
FEEDS = 10_000
SUBSCRIBERS = 100_000


def fill(db: Database) -> None:
    """10,000 feeds in every state, 100,000 subscribers, and some entries."""
    feeds = []
    for i in range(FEEDS):
        state = i % 5
        feeds.append(
            {
                "id": f"feed-{i:05d}",
                "url": f"https://f{i}.example/rss",
                "config_url": f"https://f{i}.example/rss",
                "title": f"Feed {i}",
                "enabled": state != 3 and i % 10 != 4,  # 4, 14, …: removed from the config
                "disabled_reason": "gone (HTTP 410)" if state == 3 else None,
                "next_check_at": NOW,
                "last_success_at": NOW - timedelta(minutes=i) if state in (0, 2) else None,
                "error_count": 1 + i % 7 if state == 2 else 0,
                "last_error": "HTTP 500" if state == 2 else None,
                "entries_per_week": float(i % 40) if state != 1 else None,
            }
        )
    with db.session() as session:
        session.execute(insert(FeedRow), feeds)
        session.execute(
            insert(EntryRow),
            [
                {
                    "feed_id": f"feed-{i % FEEDS:05d}",
                    "key": f"k{i}",
                    "key_hash": f"{i:064x}",
                    "title": "t",
                    "content_html": "",
                    "fetched_at": NOW,
                }
                for i in range(50_000)
            ],
        )
        session.execute(
            insert(SubscriberRow),
            [
                {
                    "id": i,
                    "platform": "telegram",
                    "chat_id": str(i),
                    "thread_id": 0,
                    "lang": "en",
                    "timezone": "UTC",
                    "schedule": "instant",
                    "paused": False,
                    "created_at": NOW,
                    "subscriptions": ["ai"],
                    "filters": {},
                }
                for i in range(1, SUBSCRIBERS + 1)
            ],
        )


def same_states(db: Database) -> None:
    """The page's states, worked out in SQL, are those of ``feeds list`` (``feed_status``)."""
    with db.session() as session:
        listed = {h.id: h for h in feed_store.feed_health(session)}
        paged = feed_store.feed_health_page(session, sort="id", limit=FEEDS)
    assert {h.id: h for h in paged.feeds} == listed
    assert paged.states == dict(Counter(h.status for h in listed.values()))
    assert set(paged.states) == {"ok", "new", "failing", "disabled", "removed"}


async def _compose(*args: Any, **kwargs: Any) -> int:
    return 0


@asynccontextmanager
async def client_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, config_file: bool, feeds: int = 0
) -> AsyncIterator[tuple[TestClient[Any, Any], Database, str]]:
    """The console in process, signed in: (client, database, csrf)."""
    monkeypatch.setenv("NEWSBRIEF_ADMIN__TOKEN", TOKEN)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    listed = "".join(
        f"  - {{id: feed-{i:05d}, url: 'https://f{i}.example/rss'}}\n" for i in range(feeds)
    )
    path = tmp_path / "newsbrief.yaml"
    path.write_text(f"database_url: {url}\nfeeds:\n{listed or '  []'}\n", encoding="utf-8")
    config = load_config(path)
    db = Database(url)
    db.upgrade()
    fetcher = Fetcher(config.fetch)  # private addresses refused: the default
    core = CommandCore(
        db,
        lambda: config,
        compose=_compose,  # type: ignore[arg-type]  # never called by the console
        clock=lambda: NOW,
        fetcher=fetcher,
        config_file=path if config_file else None,
    )
    root = web.Application()
    mount(root, Console(core))
    keys = Keys(TOKEN)
    session, cookie = keys.new_session(time.time(), 3600)
    client = TestClient(TestServer(root))
    await client.start_server()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})
    try:
        yield client, db, keys.csrf(session)
    finally:
        await client.close()
        await fetcher.aclose()
        db.dispose()


def in_thread(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """An in-process test on an event loop of its own: Playwright's sync API (the browser
    tests of this module) keeps a loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@in_process
def test_the_page_reads_one_page_of_10000_feeds(  # its speed: bench/console.py
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_thread(lambda: _many_feeds(tmp_path, monkeypatch))


async def _many_feeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with client_for(tmp_path, monkeypatch, config_file=True, feeds=FEEDS) as (client, db, _):
        await asyncio.to_thread(fill, db)
        cases = {
            "": "feed-00003",  # trouble first: the disabled ones
            "?state=failing&sort=errors&dir=desc&page=2": "feed-",
            "?sort=last_ok&dir=desc&page=100": "feed-",
            "?sort=entries&dir=desc": "feed-",
            "?state=ok&sort=rate": "feed-",
        }
        for query, expect in cases.items():
            answer = await client.get(f"/admin/feeds{query}")
            text = await answer.text()
            assert answer.status == 200 and expect in text
            assert text.count('<tr id="feed-') == 100  # a page, not everything
        await asyncio.to_thread(same_states, db)
        answer = await client.get("/admin/feeds?state=failing&page=999")
        text = await answer.text()
        assert "2000 feeds" in text or "共 2000 个订阅源" in text
        assert "20/20" in text or "20 of 20" in text  # past the end: the last page


@in_process
def test_refusals_without_a_file_or_for_a_private_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_thread(lambda: _refusals(tmp_path, monkeypatch))


async def _refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with client_for(tmp_path, monkeypatch, config_file=True) as (client, _, csrf):
        path = tmp_path / "newsbrief.yaml"
        before = path.read_bytes()
        form = {"csrf": csrf, "url": "http://127.0.0.1:9/feed.xml"}
        answer = await client.post("/admin/feeds/add?lang=en", data=form)
        text = await answer.text()
        assert answer.status == 422 and "Not added: cannot fetch" in text
        assert "allow_private_networks" in text
        answer = await client.post("/admin/feeds/add", data={**form, "topics": "nope"})
        assert answer.status == 400
        answer = await client.post("/admin/feeds/add", data={"url": form["url"]})
        assert answer.status == 403  # no CSRF token
        answer = await client.post("/admin/feeds/enable", data={"csrf": csrf, "id": "nope"})
        assert answer.status == 404
        assert path.read_bytes() == before
    (tmp_path / "x").mkdir()
    async with client_for(tmp_path / "x", monkeypatch, config_file=False) as (client, _, csrf):
        answer = await client.post(
            "/admin/feeds/add?lang=en", data={"csrf": csrf, "url": "https://a.example/"}
        )
        assert answer.status == 409 and "not started from a config file" in await answer.text()
