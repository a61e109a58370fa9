"""Admin commands from chat: /feeds shows feed health, /addfeed finds a site's feed and writes
it into the YAML config (comments kept), taking effect at once. Nobody else may use them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbrief.store import feeds as feed_store
from tests.harness import Harness, running_harness
from tests.servers.feeds import rss

ADMIN, STRANGER = 4242, 5151
SITE = """<!doctype html><html><head><title>Chain News</title>
<link rel="alternate" type="application/rss+xml" title="Chain News" href="/rss/chain.xml">
</head><body>news</body></html>"""


@pytest.fixture
async def admin_harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async for running in running_harness(database_url, tmp_path / "newsbrief.yaml", admin=ADMIN):
        yield running


def snapshot(h: Harness) -> tuple[str, list[str]]:
    assert h.runtime.config_file is not None
    with h.runtime.db.session() as session:
        ids = [f.id for f in feed_store.feed_health(session)]
    return h.runtime.config_file.read_text(encoding="utf-8"), ids


async def test_strangers_get_a_refusal_and_change_nothing(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/site.html", SITE, "text/html")
    before = snapshot(h)
    refusal = "That is an admin command; you are not an admin."
    assert await h.say("/feeds", expect=1, chat=STRANGER) == refusal
    assert await h.say(f"/addfeed {h.feeds.url('/site.html')}", expect=2, chat=STRANGER) == refusal
    assert snapshot(h) == before
    assert h.feeds.statuses("/site.html") == []  # not even fetched


async def test_addfeed_discovers_writes_the_yaml_and_takes_effect(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/site.html", SITE, "text/html")
    h.feeds.set(
        "/rss/chain.xml",
        rss(
            [{"title": "Bitcoin ETF flows", "link": "https://c.example/1", "guid": "c1"}],
            title="Chain News",
        ),
    )
    original, _ = snapshot(h)
    reply = await h.say(f"/addfeed {h.feeds.url('/site.html')} crypto", expect=1, chat=ADMIN)
    assert reply == f"✅ Added 127-0-0-1: Chain News\n{h.feeds.url('/rss/chain.xml')}"
    text, ids = snapshot(h)
    assert text.startswith(original)  # everything that was there, comments included, is kept
    added = text[len(original) :]
    assert h.feeds.url("/rss/chain.xml") in added and "crypto" in added
    assert len(ids) == 2  # the running bot synced the new feed at once
    assert any(f.url == h.feeds.url("/rss/chain.xml") for f in h.runtime.ctx.config.feeds)

    again = await h.say(f"/addfeed {h.feeds.url('/rss/chain.xml')}", expect=2, chat=ADMIN)
    assert again.startswith("That feed is in the config already")

    status = await h.say("/feeds", expect=3, chat=ADMIN)
    assert status.startswith("Feeds (2)")
    assert "wire" in status and "new" in status


async def test_addfeed_explains_what_went_wrong(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/plain.html", "<html><head><title>No feeds</title></head></html>", "text/html")
    before = snapshot(h)
    reply = await h.say(f"/addfeed {h.feeds.url('/plain.html')}", expect=1, chat=ADMIN)
    assert reply.startswith("Could not add it: no feed found at")
    assert (await h.say("/addfeed ftp://nowhere", expect=2, chat=ADMIN)).startswith(
        "Could not add it: not an http(s) URL"
    )
    assert (await h.say("/addfeed https://x.example sports", expect=3, chat=ADMIN)) == (
        "No such topic: sports. Send /topics to see them all."
    )
    assert await h.say("/addfeed", expect=4, chat=ADMIN) == (
        "Usage: /addfeed URL [topic…]; the URL may be a feed or a site's page."
    )
    assert snapshot(h) == before


async def test_feeds_shows_trouble_first(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/wire.xml", "<html>gone</html>", "text/html")
    await h.runtime.poll_once(all_feeds=True)
    status = await h.say("/feeds", expect=1, chat=ADMIN)
    assert "⚠️ wire failing" in status
    assert "not_a_feed (1× in a row): not a feed: got an HTML page" in status
