"""/why tells the path of one article: fetched from which feed and when, its story (or the story
it was merged into), its topics, and what became of it for the asker: sent, and when, or which
keyword kept it out. Real pipeline: two feeds on loopback, the ticks, the Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.i18n import t
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.store.tables import ArticleRow, DeliveryRow, EntryRow
from tests.harness import Harness
from tests.servers.botapi import BotApiServer
from tests.servers.feeds import FeedServer, rss

CHAT = 6100
LED = {"title": "OpenAI ships a new language model", "link": "https://wire.example/a", "guid": "a"}
ECHO = {"title": "OpenAI ships a new language model", "link": "https://echo.example/b", "guid": "b"}
SCAM = {
    "title": "Scam language model apps flood stores",
    "link": "https://wire.example/c",
    "guid": "c",
}
SLIDE = {"title": "Bitcoin slides below 60k", "link": "https://wire.example/d", "guid": "d"}


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    with BotApiServer() as botapi, FeedServer() as feeds:
        feeds.set("/wire.xml", rss([], title="Wire"))
        feeds.set("/echo.xml", rss([], title="Echo"))
        config = Config(
            database_url=database_url,
            telegram={
                "token": botapi.token,
                "api_base_url": f"http://127.0.0.1:{botapi.port}",
                "poll_timeout": 1,
            },
            fetch={"allow_private_networks": True, "timeout": 5},
            subscriber_defaults={"backlog_hours": 0, "language": "en"},
            topics=[
                {
                    "id": "ai",
                    "name": {"zh": "人工智能", "en": "AI"},
                    "keywords": ["language model"],
                },
                {
                    "id": "crypto",
                    "name": {"zh": "加密货币", "en": "Crypto"},
                    "keywords": ["bitcoin"],
                },
            ],
            feeds=[
                {"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"},
                {"id": "echo", "url": feeds.url("/echo.xml"), "fulltext": "never"},
            ],
        )
        runtime = Runtime(config)
        runtime.start()
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(("bot",), stop))
        try:
            yield Harness(runtime, botapi, feeds)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await runtime.aclose()


def article(h: Harness, link: str) -> tuple[ArticleRow, EntryRow]:
    with h.runtime.db.session() as session:
        row = session.scalars(select(ArticleRow).where(ArticleRow.url == link)).one()
        entry = session.get_one(EntryRow, row.entry_id)
        session.expunge_all()
        return row, entry


def stamp(at: datetime | None) -> str:
    """On the subscriber's clock (the default zone): 2026-01-01 20:00 (Beijing time)."""
    assert at is not None
    return at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M (Beijing time)")


async def test_why_explains_a_delivered_a_merged_and_two_dropped_articles(h: Harness) -> None:
    subscribed = await h.say("/subscribe ai", expect=1, chat=CHAT)
    assert subscribed.splitlines()[0] == "✅ Following: AI"
    await h.say("/subscribe crypto +etf", expect=2, chat=CHAT)
    await h.say("/filter -scam", expect=3, chat=CHAT)

    h.feeds.set("/wire.xml", rss([LED, SCAM, SLIDE], title="Wire"))
    await h.round()
    digest = (await h.botapi.wait_for_messages(CHAT, 4))[3].text
    assert LED["title"] in digest
    assert SCAM["title"] not in digest and SLIDE["title"] not in digest
    h.feeds.set("/echo.xml", rss([ECHO], title="Echo"))  # the same story, from a second feed
    await h.round()
    await asyncio.sleep(0.3)
    assert len(h.botapi.messages(CHAT)) == 4  # the merged report is not news again

    led, led_entry = article(h, LED["link"])
    echo, echo_entry = article(h, ECHO["link"])
    assert echo.story_id == led.story_id
    with h.runtime.db.session() as session:
        sent = session.scalars(
            select(DeliveryRow).where(
                DeliveryRow.chat_id == str(CHAT), DeliveryRow.payload.is_not(None)
            )
        ).one()
    assert sent.sent_at is not None and f"story:{led.story_id}" in (sent.payload or {})["blocks"]
    story = led.story_id

    # Delivered: fetched from wire, led its story (now two sources), sent at the outbox's time.
    why = await h.say(f"/why {LED['link']}", expect=5, chat=CHAT)
    assert why.splitlines() == [
        f"📄 {LED['title']}",
        f"📥 fetched {stamp(led_entry.fetched_at)} from feed wire",
        f"🧩 story #{story}, 2 source(s)",
        "🏷 topics: AI",
        "   · AI: language model (title)",  # the matched terms, and where
        f"✅ sent to you {stamp(sent.sent_at)}",
    ]
    # Merged: fetched from echo, joined the story wire reported first; that story was sent.
    why = await h.say(f"/why {ECHO['link']}", expect=6, chat=CHAT)
    assert why.splitlines() == [
        f"📄 {ECHO['title']}",
        f"📥 fetched {stamp(echo_entry.fetched_at)} from feed echo",
        f"🔗 merged into story #{story} (first reported by wire: {LED['title']}); it is sent once",
        "🏷 topics: AI",
        "   · AI: language model (title)",
        f"✅ sent to you {stamp(sent.sent_at)}",
    ]
    # Dropped by the subscriber's own filter, and by one subscription's keywords.
    why = await h.say(f"/why {SCAM['link']}", expect=7, chat=CHAT)
    assert why.splitlines()[-1] == "🚫 not sent: your filter -scam kept it out (/filter)"
    why = await h.say(f"/why {SLIDE['link']}#comments", expect=8, chat=CHAT)
    assert why.splitlines()[-3:] == [
        "🏷 topics: Crypto",
        "   · Crypto: Bitcoin (title)",
        "🚫 not sent: the keywords +etf of your topic Crypto kept it out",
    ]
    # In the reader's language, and for a URL never fetched.
    await h.say("/lang zh", expect=9, chat=CHAT)
    why = await h.say(f"/why {SCAM['link']}", expect=10, chat=CHAT)
    assert why.splitlines()[-1] == "🚫 没发给你：你的过滤词 -scam 把它挡住了（/filter）"
    why = await h.say("/why https://nowhere.example/x", expect=11, chat=CHAT)
    assert why.startswith(
        t("why_unknown", "zh-Hans", url="https://nowhere.example/x").split("\n")[0]
    )
    # Another chat, following nothing, hears that too.
    why = await h.say(f"/why {LED['link']}", expect=1, chat=CHAT + 1)
    assert why.splitlines()[-1] == "ℹ️ this chat follows nothing yet: send /topics"
