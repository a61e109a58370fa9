"""Digests a reader likes: a dated header in the reader's timezone and language, a merged
story's other sources named and linked, feed names decoded (or as configured), a lead image on
WeCom, and per-feed keyword filters.

Real parts: feeds served on loopback, the poll, process, compose and deliver ticks on SQLite,
the loopback Bot API server and WeCom robot server receiving what readers would see.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from telegram import Bot

from bot.robots.render import render_wecom
from bot.robots.senders import SENDERS
from bot.telegram.sender import TelegramSender
from jobs.compose import compose_due
from jobs.context import JobContext
from jobs.deliver import Deliverer
from jobs.poll import poll_tick
from jobs.process import process_tick
from newsbrief.articles.images import public_image_url
from newsbrief.config.channels import RobotCredentials
from newsbrief.config.settings import Config, FeedConfig
from newsbrief.editions import edition_at, edition_token, parse_edition_token
from newsbrief.feeds.names import display_name
from newsbrief.feeds.parse import parse_feed
from newsbrief.fetcher import Fetcher
from newsbrief.records import Digest, DigestSection, Edition, Source, StoryItem
from newsbrief.store import feeds as feed_store
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from newsbrief.store.tables import EntryRow, StoryRow
from tests.servers.botapi import BotApiServer, SentMessage
from tests.servers.feeds import FeedServer
from tests.servers.webhooks import WebhookServer

COMPOSED = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 07:30 on Dec 2 in Shanghai
PIC_KEY, PLAIN_KEY = "robot-pics-key", "robot-plain-key"
READERS = {  # chat: (language, timezone, the header's date label)
    1001: ("zh-Hans", "Asia/Shanghai", "12月2日 早报"),
    1002: ("zh-Hant", "Asia/Shanghai", "12月2日 早報"),
    1003: ("en", "UTC", "Dec 1 evening"),
}
MERGED = "OpenAI 发布新一代大模型 GPT-6"


def item_xml(
    guid: str, title: str, link: str, description: str = "", extra: str = ""
) -> dict[str, str]:
    # A text of its own: entries with the same text would be merged into one story.
    text = description or f"{title}。这是第 {guid} 条的正文。"
    return {"guid": guid, "title": title, "link": link, "description": text, "x": extra}


def feed_xml(title: str, items: list[dict[str, str]]) -> str:
    """RSS 2.0 with Media RSS; ``title`` and item values go in as written (escape them)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>',
        f"<title>{title}</title><link>https://example.com/</link><description>d</description>",
    ]
    for item in items:
        out.append(
            f"<item><guid>{item['guid']}</guid><title>{item['title']}</title>"
            f"<link>{item['link']}</link><description>{item['description']}</description>"
            f"{item['x']}</item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out)


TOPICS = [
    {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}},
    {"id": "chain", "name": {"zh": "区块链", "en": "Blockchain"}},
    {"id": "photo", "name": {"zh": "数码产品", "en": "Gadgets"}},
    {"id": "plain", "name": {"zh": "杂项", "en": "Misc"}},
]


def publish(feeds: FeedServer) -> None:
    same = "&lt;p&gt;OpenAI 今天发布了新一代大模型。&lt;/p&gt;"
    feeds.set(
        "/36kr.xml",
        feed_xml("36Kr 最新资讯 RSS", [item_xml("k1", MERGED, "https://36kr.example/p/1", same)]),
    )
    feeds.set(
        "/huxiu.xml",
        feed_xml("虎嗅网", [item_xml("h1", MERGED, "https://huxiu.example/a/9?x=1&amp;y=2", same)]),
    )
    feeds.set(
        "/nyt.xml",
        feed_xml(
            "NYT &amp;gt;   World\n News",
            [
                item_xml("n1", MERGED, "https://nyt.example/2026/gpt6.html", same),
                item_xml("n2", "Markets steady in Asia", "https://nyt.example/markets.html"),
            ],
        ),
    )
    feeds.set(
        "/chain.xml",
        feed_xml(
            "Chain wire",
            [
                # Simplified text, kept by the Traditional include keyword 區塊鏈.
                item_xml("c1", "香港区块链新规落地", "https://chain.example/1"),
                item_xml("c2", "OPENAI 与加密交易所合作", "https://chain.example/2"),
                item_xml("c3", "区块链 广告：注册送币", "https://chain.example/3"),  # excluded
                item_xml("c4", "体育：球队夺冠", "https://chain.example/4"),  # no include word
                item_xml("c5", "區塊鏈周報：新項目上線", "https://chain.example/5"),  # Traditional
                item_xml(
                    "c6", "New AIRDROP campaign", "https://chain.example/6", "Made with Openai."
                ),
            ],
        ),
    )
    feeds.set(
        "/pics.xml",
        feed_xml(
            "Pics",
            [
                item_xml(
                    "p1",
                    "新款手机发布",
                    "https://pics.example/phone",
                    extra='<enclosure url="https://img.pics.example/phone.jpg" '
                    'type="image/jpeg" length="1000"/>',
                )
            ],
        ),
    )
    feeds.set(
        "/plain.xml",
        feed_xml(
            "Plain",
            [
                item_xml("t1", "文字新闻一则", "https://plain.example/1"),
                item_xml(
                    "t2",
                    "内网图片新闻",
                    "https://plain.example/2",
                    extra='<media:content url="http://192.168.1.20/leak.jpg" medium="image"/>',
                ),
                item_xml(
                    "t3",
                    "本机图片新闻",
                    "https://plain.example/3",
                    "&lt;img src=&quot;http://127.0.0.1:8080/x.png&quot;&gt;本机图片的正文。",
                ),
            ],
        ),
    )


def make_config(feeds: FeedServer) -> Config:
    def feed(fid: str, path: str, topic: str, **extra: Any) -> dict[str, Any]:
        return {"id": fid, "url": feeds.url(path), "topics": [topic], "fulltext": "never", **extra}

    return Config(
        database_url="sqlite://",
        fetch={"allow_private_networks": True, "timeout": 5},
        subscriber_defaults={"backlog_hours": 0, "max_items": 20},
        topics=TOPICS,
        feeds=[
            feed("k36", "/36kr.xml", "ai", name="36氪"),
            feed("huxiu", "/huxiu.xml", "ai"),
            feed("nyt", "/nyt.xml", "ai"),
            feed("chain", "/chain.xml", "chain", include=["區塊鏈", "openai"], exclude=["廣告"]),
            feed("pics", "/pics.xml", "photo"),
            feed("plain", "/plain.xml", "plain"),
        ],
    )


@dataclass
class World:
    db: Database
    ctx: JobContext
    botapi: BotApiServer
    robots: WebhookServer

    async def deliver(self) -> None:
        deliverer = Deliverer(self.ctx)
        for _ in range(20):
            if not await deliverer.tick():
                break


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = Database(f"sqlite:///{tmp_path / 'look.db'}")
    db.upgrade()
    with FeedServer() as feeds, BotApiServer() as botapi, WebhookServer("wecom") as robots:
        publish(feeds)
        config = make_config(feeds)
        robots.add_robot(PIC_KEY, None)
        robots.add_robot(PLAIN_KEY, None)
        wecom = SENDERS["wecom"](
            robots.base_url,
            {
                "pics": RobotCredentials(SecretStr(PIC_KEY)),
                "plain": RobotCredentials(SecretStr(PLAIN_KEY)),
            },
            interval=0.01,
        )
        fetcher = Fetcher(config.fetch)
        bot = Bot(botapi.token, base_url=botapi.base_url)
        ctx = JobContext(
            db=db,
            config=config,
            fetcher=fetcher,
            senders={"telegram": TelegramSender(bot, private_per_second=50), "wecom": wecom},
            clock=lambda: COMPOSED - timedelta(minutes=20),
        )
        with db.session() as session:
            feed_store.sync_feeds(session, config.feed_list(), ctx.clock())
            for chat, (lang, tz, _) in READERS.items():
                botapi.add_chat(chat)
                follow(session, "telegram", str(chat), lang, tz, ["ai", "chain"], ctx.clock())
            follow(session, "wecom", "pics", "zh-Hans", "Asia/Shanghai", ["photo"], ctx.clock())
            follow(session, "wecom", "plain", "zh-Hans", "Asia/Shanghai", ["plain"], ctx.clock())
        await poll_tick(ctx)
        while await process_tick(ctx):
            pass
        assert compose_due(db, config, COMPOSED) >= 5
        ctx.clock = lambda: COMPOSED  # the parts are due from the compose on
        world = World(db, ctx, botapi, robots)
        await world.deliver()
        try:
            yield world
        finally:
            await wecom.aclose()
            await fetcher.aclose()
            ctx.cpu.shutdown()
            db.dispose()


def follow(
    session: Any, platform: str, chat: str, lang: str, tz: str, topics: list[str], now: datetime
) -> None:
    sub, _ = subscribers.ensure(
        session,
        platform,
        chat,
        None,
        lang=lang,
        timezone=tz,
        schedule="instant",
        now=now,
        backlog=timedelta(hours=1),
    )
    subscribers.subscribe(session, sub.id, topics, now)


def digest_of(world: World, chat: int) -> SentMessage:
    (message,) = world.botapi.messages(chat)
    return message


def links(message: SentMessage) -> dict[str, str]:
    """Link text -> URL, as Telegram parsed the message."""
    units = message.text.encode("utf-16-le")
    found = {}
    for entity in message.entities:
        if entity["type"] == "text_link":
            start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
            found[units[start:end].decode("utf-16-le")] = entity["url"]
    return found


# -- the header -----------------------------------------------------------------------------


async def test_the_header_is_dated_in_each_readers_timezone_and_language(world: World) -> None:
    for chat, (_, _, label) in READERS.items():
        header = digest_of(world, chat).text.split("\n")[0]
        assert header.startswith(f"📰 {label} · "), header
    # 23:30 UTC is already the next morning in Shanghai.
    assert "12月2日" in digest_of(world, 1001).text and "Dec 1" in digest_of(world, 1003).text


@pytest.mark.parametrize(
    ("when", "tz", "edition"),
    [
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), "Asia/Shanghai", Edition(12, 2, "morning")),
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), "UTC", Edition(12, 1, "evening")),
        (datetime(2026, 12, 2, 4, 59, tzinfo=UTC), "Asia/Shanghai", Edition(12, 2, "midday")),
        (datetime(2026, 12, 2, 2, 59, tzinfo=UTC), "Asia/Shanghai", Edition(12, 2, "morning")),
        (datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "Asia/Shanghai", Edition(12, 2, "evening")),
        (datetime(2026, 12, 31, 21, 0, tzinfo=UTC), "Asia/Shanghai", Edition(1, 1, "morning")),
        (datetime(2026, 12, 31, 20, 59, tzinfo=UTC), "Asia/Shanghai", Edition(1, 1, "evening")),
        (datetime(2026, 12, 2, 3, 0, tzinfo=UTC), "America/New_York", Edition(12, 1, "evening")),
        (datetime(2026, 12, 2, 3, 0, tzinfo=UTC), "No/Such_Zone", Edition(12, 2, "evening")),
    ],
)
def test_editions_follow_the_local_clock(when: datetime, tz: str, edition: Edition) -> None:
    assert edition_at(when, tz) == edition
    assert parse_edition_token(edition_token(edition)) == edition


@pytest.mark.parametrize("token", ["", "1302e", "1200m", "12x2e", "1202z", "120212e", "../..."])
def test_a_stored_block_with_a_bad_edition_token_reads_as_undated(token: str) -> None:
    assert parse_edition_token(token) is None


# -- other sources, feed names ----------------------------------------------------------------


async def test_a_merged_story_names_and_links_its_other_sources(world: World) -> None:
    with world.db.session() as session:
        merged = session.scalars(select(StoryRow).where(StoryRow.title == MERGED)).all()
    assert len(merged) == 1 and merged[0].source_count == 3
    urls = {
        "36氪": "https://36kr.example/p/1",
        "虎嗅网": "https://huxiu.example/a/9?x=1&y=2",
        "NYT > World News": "https://nyt.example/2026/gpt6.html",
    }
    lead = {"k36": "36氪", "huxiu": "虎嗅网", "nyt": "NYT > World News"}[merged[0].feed_id]
    others = [name for name in urls if name != lead]
    text = digest_of(world, 1001).text
    line = next(line for line in text.split("\n") if line.startswith(lead + " · "))
    assert line == f"{lead} · 另有 2 个来源：{others[0]}、{others[1]}"
    found = links(digest_of(world, 1001))
    assert {name: found[name] for name in others} == {name: urls[name] for name in others}
    # English and Traditional readers get the same sources in their words.
    assert f"Also: {others[0]}, {others[1]}" in digest_of(world, 1003).text
    assert "另有 2 個來源：" in digest_of(world, 1002).text


async def test_feed_names_are_decoded_trimmed_and_overridden(world: World) -> None:
    text = digest_of(world, 1003).text
    assert "NYT > World News" in text  # "NYT &gt;   World\n News" as the feed wrote it
    assert "&gt;" not in text and "36Kr 最新资讯" not in text  # feeds[].name wins
    with world.db.session() as session:
        health = {h.id: h.title for h in feed_store.feed_health(session)}
    assert health["k36"] == "36氪" and health["nyt"] == "NYT > World News"


@pytest.mark.parametrize(
    ("title", "name", "shown"),
    [
        ("NYT &gt; World News", None, "NYT > World News"),
        ("AT&amp;amp;T", None, "AT&amp;T"),  # decoded once, not until nothing is left
        ("  Tabs\tand\u2028lines\n ", None, "Tabs and lines"),
        ("Own title", "  配置的名字 ", "配置的名字"),
        ("", None, "feed-id"),
        (None, "", "feed-id"),
        ("x" * 500, None, "x" * 59 + "…"),
        ("\x00\x1b[31m", None, "[31m"),
    ],
)
def test_display_names(title: str | None, name: str | None, shown: str) -> None:
    assert display_name(title, name, "feed-id") == shown


# -- lead images on WeCom ------------------------------------------------------------------


async def test_a_wecom_digest_opens_with_a_news_card_when_its_story_has_an_image(
    world: World,
) -> None:
    (card, *rest) = [r.payload for r in world.robots.received(PIC_KEY)]
    assert card["msgtype"] == "news"
    (article,) = card["news"]["articles"]
    assert article["picurl"] == "https://img.pics.example/phone.jpg"
    assert article["url"] == "https://pics.example/phone"
    assert article["title"] == "新款手机发布"
    assert rest == []  # the card was the whole digest: no empty markdown after it


async def test_no_news_card_without_an_image_or_with_a_private_one(world: World) -> None:
    received = [r.payload for r in world.robots.received(PLAIN_KEY)]
    assert [p["msgtype"] for p in received] == ["markdown"]
    content = received[0]["markdown"]["content"]
    assert content.startswith("## 📰 12月2日 早报 · 3 条")
    for title in ("文字新闻一则", "内网图片新闻", "本机图片新闻"):
        assert title in content
    assert "192.168" not in json.dumps(received) and "127.0.0.1" not in json.dumps(received)
    with world.db.session() as session:
        images = session.scalars(select(StoryRow.image_url).where(StoryRow.feed_id == "plain"))
        assert list(images) == [None, None, None]


def test_the_cover_is_taken_out_of_the_markdown_and_the_header_counts_it() -> None:
    def story(i: int, image: str | None) -> StoryItem:
        return StoryItem(
            i, i, f"标题{i}", f"https://s.example/{i}", "摘要。", "源", ("ai",), image_url=image
        )

    digest = Digest(
        1,
        "zh-Hans",
        (DigestSection("ai", "人工智能", (story(1, None), story(2, "https://i.example/2.png"))),),
        2,
        more=4,
        edition=Edition(12, 2, "evening"),
    )
    news, markdown = (json.loads(m.text) for m in render_wecom(digest))
    assert news["news"]["articles"][0]["picurl"] == "https://i.example/2.png"
    content = markdown["markdown"]["content"]
    assert content.startswith("## 📰 12月2日 晚报 · 2 条") and "标题1" in content
    assert "标题2" not in content and content.endswith("……还有 4 条未列出")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://img.example.cn/a b.jpg", "https://img.example.cn/a%20b.jpg"),
        ("//cdn.example.com/i.png", "https://cdn.example.com/i.png"),
        ("/i.png", "https://site.example/i.png"),
        ("http://8.8.8.8/x.jpg", "http://8.8.8.8/x.jpg"),
        ("http://127.0.0.1/x.jpg", None),
        ("http://10.1.2.3/x.jpg", None),
        ("http://[::1]/x.jpg", None),
        ("http://[::ffff:192.168.0.1]/x.jpg", None),
        ("http://169.254.169.254/latest/meta-data", None),
        ("http://2130706433/x.jpg", None),
        ("http://0x7f.1/x.jpg", None),
        ("http://localhost/x.jpg", None),
        ("http://printer.local/x.jpg", None),
        ("http://intranet/x.jpg", None),
        ("http://user:pw@example.com/x.jpg", None),
        ("javascript:alert(1)", None),
        ("data:image/png;base64,AAAA", None),
        ("https://example.com:99999/x.jpg", None),
        ("https://example.com/" + "a" * 3000, None),
        ("", None),
    ],
)
def test_only_public_http_images_are_kept(url: str, kept: str | None) -> None:
    assert public_image_url(url, "https://site.example/post/1") == kept


def test_the_feed_gives_the_lead_image_in_order_of_preference() -> None:
    items = [
        item_xml(
            "a",
            "A",
            "https://s.example/a",
            extra='<media:thumbnail url="https://i.example/t.jpg"/>'
            '<enclosure url="https://i.example/e.jpg" type="image/jpeg" length="1"/>',
        ),
        item_xml(
            "b",
            "B",
            "https://s.example/b",
            extra='<enclosure url="https://i.example/a.mp3" '
            'type="audio/mpeg" length="1"/><media:content url="https://i.example/m.jpg" medium="image"/>',
        ),
        item_xml(
            "c",
            "C",
            "https://s.example/c",
            "&lt;img src=&quot;https://t.example/px.gif&quot; width=&quot;1&quot; height=&quot;1&quot;&gt;"
            "&lt;img src='/pics/first.jpg'&gt;",
        ),
        item_xml(
            "d", "D", "https://s.example/d", "&lt;img src=&quot;http://10.0.0.1/a.jpg&quot;&gt;"
        ),
    ]
    parsed = parse_feed("f", feed_xml("F", items).encode())
    assert [e.image_url for e in parsed.entries] == [
        "https://i.example/e.jpg",
        "https://i.example/m.jpg",
        "https://s.example/pics/first.jpg",
        None,
    ]


# -- per-feed keyword filters ----------------------------------------------------------------


async def test_feed_filters_keep_only_matching_entries_in_either_script(world: World) -> None:
    with world.db.session() as session:
        stories = set(session.scalars(select(StoryRow.title).where(StoryRow.feed_id == "chain")))
        entries = {
            e.title: e for e in session.scalars(select(EntryRow).where(EntryRow.feed_id == "chain"))
        }
    assert stories == {
        "香港区块链新规落地",  # Simplified text, Traditional include 區塊鏈
        "OPENAI 与加密交易所合作",  # any case
        "區塊鏈周報：新項目上線",
        "New AIRDROP campaign",  # the include word is in its text
    }
    dropped = entries["区块链 广告：注册送币"]  # Simplified text, Traditional exclude 廣告
    assert dropped.processed_at is not None and "exclude" in (dropped.process_error or "")
    assert "include" in (entries["体育：球队夺冠"].process_error or "")
    text = digest_of(world, 1001).text
    assert "香港区块链新规落地" in text and "注册送币" not in text and "球队夺冠" not in text


def test_config_check_rejects_empty_filter_keywords() -> None:
    for bad in ({"include": ["AI", " "]}, {"exclude": [""]}, {"include": "AI"}):
        with pytest.raises(ValidationError):
            FeedConfig(id="f", url="https://f.example/rss", **bad)
    ok = FeedConfig(id="f", url="https://f.example/rss", include=[" AI  chips ", "AI  chips"])
    assert ok.include == ("AI chips",)


# -- Telegram sizes stay within the limit with sources ----------------------------------------


def test_sources_count_in_the_part_sizes() -> None:
    from bot.telegram.render import render_digest, visible_len

    others = tuple(Source(f"来源{i}" * 5, f"https://s{i}.example/" + "p" * 300) for i in range(5))
    items = tuple(
        StoryItem(
            i,
            i,
            f"标题{i}" * 20,
            f"https://x.example/{i}",
            "摘" * 500,
            "主源",
            ("ai",),
            source_count=9,
            others=others,
        )
        for i in range(30)
    )
    digest = Digest(1, "zh-Hans", (DigestSection("ai", "AI", items),), 30)
    parts = render_digest(digest)
    assert len(parts) > 1
    assert all(visible_len(p.text) <= 4096 for p in parts)
    assert "另有 8 个来源：" in parts[0].text and " 等" in parts[0].text
