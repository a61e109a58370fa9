"""The first digest does not flood: one message, the best stories of the backlog, a count that
``/digest`` then bears out, sent once the backlog is processed; robots are calm by default."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from bot.commands.io import Command
from bot.render import materialize
from jobs.compose import FIRST_DIGEST_WAIT, compose_due, compose_for, compose_tick
from jobs.process import process_tick
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.digests import StoryPool
from newsbrief.records import Keywords, Subscription
from newsbrief.store import outbox, subscribers
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    DeliveryRow,
    DigestCursorRow,
    EntryRow,
    FeedRow,
    StoryRow,
    StoryTopicRow,
)
from tests.servers.botapi import BotApiServer, parse_html, utf16_len
from tests.servers.feeds import FeedServer, rss
from tests.servers.webhooks import WebhookServer

CHAT = 515151
ZONE = ZoneInfo("Asia/Shanghai")
WECOM_KEY = "3f2b6c1e-1111-4a2b-9c3d-0123456789ab"
KEY_ENV = "NB_TEST_FIRST_DIGEST_WECOM_KEY"
TOPICS = [
    {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["大模型"]},
    {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}, "keywords": ["比特币"]},
]
# Common characters, none of them in a topic keyword: each entry's text is its own, so the
# process stage keeps 200 stories apart rather than merging them as reposts.
CHARS = "的一是在不了有和人这中为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由过"


def text(rng: random.Random, sentences: int = 6) -> str:
    return "。".join(
        "，".join("".join(rng.choices(CHARS, k=16)) for _ in range(4)) for _ in range(sentences)
    )


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def entry(i: int, at: datetime, rng: random.Random) -> dict[str, str]:
    """Entry ``i`` of the wire: an AI story every third, a Bitcoin one, then one on no topic."""
    kind = i % 3
    subject = ("大模型", "比特币", "球队")[kind]
    title = f"{subject}快讯第{i}号：{('模型发布', '价格波动', '赛季战报')[kind]}{i * 7919 % 1000}"
    body = f"{subject}消息{i}。{text(rng)}。"
    return {
        "title": title,
        "link": f"https://news.example/{i}",
        "guid": f"wire-{i}",
        "pubDate": format_datetime(at),
        "description": body,
    }


def make_config(
    database_url: str,
    botapi: BotApiServer,
    feeds: FeedServer,
    wecom: WebhookServer,
    robots: list[dict[str, Any]] | None = None,
) -> Config:
    return Config(
        database_url=database_url,
        telegram={
            "token": botapi.token,
            "api_base_url": f"http://127.0.0.1:{botapi.port}",
            "poll_timeout": 1,
        },
        fetch={"allow_private_networks": True, "timeout": 5, "host_spacing": 0},
        scheduler={"deliver": 3600},
        subscriber_defaults={"backlog_hours": 24, "language": "zh-Hans"},
        topics=TOPICS,
        feeds=[
            {"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"},
            {"id": "mirror", "url": feeds.url("/mirror.xml"), "fulltext": "never"},
        ],
        wecom={"api_base_url": wecom.base_url},
        robots=robots or [],
    )


def runtime(config: Config, clock: Clock) -> Runtime:
    running = Runtime(config)
    running.ctx.clock = clock
    running.core.clock = clock
    running.start()
    return running


async def command(running: Runtime, text: str) -> str:
    chat = str(CHAT)
    reply = await running.core.handle(Command("telegram", chat, "private", chat, text))
    assert reply is not None
    return reply.text


def unprocessed(db: Database) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(EntryRow).where(EntryRow.processed_at.is_(None))
            )
            or 0
        )


def digests(botapi: BotApiServer) -> list[str]:
    return [m.text for m in botapi.messages(CHAT)]


def outbox_stories(db: Database, prefix: str) -> list[list[int]]:
    """The story ids of each Telegram part whose key starts with ``prefix``, in order."""
    with db.session() as session:
        rows = session.execute(
            select(DeliveryRow.key, DeliveryRow.payload)
            .where(DeliveryRow.key.startswith(prefix), DeliveryRow.platform == "telegram")
            .order_by(DeliveryRow.id)
        ).all()
    return [
        [int(b[6:]) for b in (payload or {})["blocks"] if b.startswith("story:")]
        for _, payload in rows
    ]


def best_ai_stories(db: Database) -> list[int]:
    """Every AI story of the window by the digests' ranking, best first."""
    with db.session() as session:
        window = story_store.story_window(session, 0, 10**9, 5000)
    pool = StoryPool(window)
    _, kept, _ = pool.select([Subscription("ai")], Keywords(), 0, len(pool))
    return [s.story_id for s in pool.pick(kept, pool.ranked)]


def count_in(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text[:300]!r}"
    return int(found.group(1))


async def test_a_24h_backlog_still_being_processed_gives_one_first_message_and_one_robot_post(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, WECOM_KEY)
    rng = random.Random(17)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    start = clock.now
    wire = [
        entry(i, start - timedelta(hours=24) + timedelta(minutes=7 * i), rng) for i in range(195)
    ]
    # Five AI stories that a second feed carries too: two sources each, so they rank first.
    reposts = [dict(e, guid=f"mirror-{e['guid']}") for e in wire[150:165:3]]
    robot = {"id": "team", "platform": "wecom", "key_env": KEY_ENV, "topics": ["ai"]}
    with BotApiServer() as botapi, FeedServer() as feeds, WebhookServer("wecom") as wecom:
        botapi.add_chat(CHAT)
        wecom.add_robot(WECOM_KEY)
        feeds.set("/wire.xml", rss(wire, title="Wire"))
        feeds.set("/mirror.xml", rss(reposts, title="Mirror"))
        first = runtime(make_config(database_url, botapi, feeds, wecom), clock)
        try:
            await first.poll_once(all_feeds=True)
            assert unprocessed(first.db) == 200
            assert await process_tick(first.ctx) == 100  # the process stage is half way
            # A reader joins while the rest of the backlog waits to be processed.
            await command(first, "/start")
            await command(first, "/subscribe ai")
            clock.advance(seconds=30)
            assert await compose_tick(first.ctx) == 0  # waits for the backlog
        finally:
            await first.aclose()
        # The admin adds a WeCom robot to the config and restarts: a new robot, same backlog.
        second = runtime(make_config(database_url, botapi, feeds, wecom, robots=[robot]), clock)
        try:
            clock.advance(seconds=30)
            assert await compose_tick(second.ctx) == 0
            assert unprocessed(second.db) == 100
            await second.process_all()
            clock.advance(seconds=30)
            assert await second.digest_once() == (2, 2)  # one message each, not parts

            (message,) = digests(botapi)
            assert utf16_len(message) <= 4096
            (shown,) = outbox_stories(second.db, "digest:")
            assert count_in(r"· (\d+) 条", message) == len(shown) <= 10
            rest = count_in(r"还有 (\d+) 条", message)
            ranked = best_ai_stories(second.db)
            assert shown == ranked[: len(shown)]  # the best of the backlog, by the ranking
            assert len(ranked) == len(shown) + rest  # every AI story of the 24 h: shown or counted
            with second.db.session() as session:
                merged = set(session.scalars(select(StoryRow.id).where(StoryRow.source_count == 2)))
            assert len(merged) == 5 and merged <= set(shown)  # the reposted five rank first

            (post,) = wecom.received(WECOM_KEY)
            assert post.size <= 4096
            content = post.payload["markdown"]["content"]
            robot_rest = count_in(r"还有 (\d+) 条未列出", content)
            with second.db.session() as session:
                titles = {
                    s.story_id: s.title for s in story_store.story_window(session, 0, 10**9, 500)
                }
            robot_shown = [sid for sid in ranked if titles[sid] in content]
            assert robot_shown == ranked[: len(robot_shown)]
            assert len(robot_shown) + robot_rest == len(ranked)

            # Nothing more goes out while no news comes: the counts stand.
            for _ in range(3):
                clock.advance(minutes=2)
                assert await second.digest_once() == (0, 0)
            # The count was true: /digest pages through exactly the stories it counted.
            pages = 0
            while not await command(second, "/digest"):
                pages += 1
            assert pages == -(-rest // 20)  # max_items 20 a page
            paged = [sid for part in outbox_stories(second.db, "more:") for sid in part]
            assert len(paged) == len(set(paged)) == rest
            assert sorted(paged + shown) == sorted(ranked)
            await second.digest_once()  # the pages go out
            sent = len(digests(botapi))

            # News arrives: the next digest has only it, and counts only it.
            news = [entry(i, clock.now, rng) for i in (300, 303)]
            feeds.set("/wire.xml", rss(wire + news, title="Wire"))
            clock.advance(minutes=2)
            await second.poll_once(all_feeds=True)
            await second.digest_once()
            (later,) = digests(botapi)[sent:]
            assert count_in(r"· (\d+) 条", later) == 2 and "还有" not in later
            assert len(wecom.received(WECOM_KEY)) == 1  # the robot's next digest is at 09:00
            with second.db.session() as session:
                team = subscribers.find(session, "wecom", "team", None)
                assert team is not None and team.schedule == "daily 09:00"
                due = session.get_one(DigestCursorRow, team.id).next_due_at
            assert due is not None and due > clock.now
            assert due.astimezone(ZONE).strftime("%H:%M") == "09:00"
        finally:
            await second.aclose()


async def test_an_instant_robot_posts_at_most_once_per_interval_merging_what_came_between(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, WECOM_KEY)
    rng = random.Random(5)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    robot = {
        "id": "live",
        "platform": "wecom",
        "key_env": KEY_ENV,
        "topics": ["ai"],
        "schedule": "instant",
    }
    with BotApiServer() as botapi, FeedServer() as feeds, WebhookServer("wecom") as wecom:
        wecom.add_robot(WECOM_KEY)
        items = [entry(i, clock.now, rng) for i in (0, 3, 6)]
        feeds.set("/wire.xml", rss(items, title="Wire"))
        feeds.set("/mirror.xml", rss([], title="Mirror"))
        config = make_config(database_url, botapi, feeds, wecom, robots=[robot])
        running = runtime(config, clock)
        try:
            await running.poll_once(all_feeds=True)
            clock.advance(seconds=30)
            await running.digest_once()
            assert len(wecom.received(WECOM_KEY)) == 1  # the first post
            # A story a minute for four minutes: none goes out alone.
            for i in (9, 12, 15, 18):
                items.append(entry(i, clock.now, rng))
                feeds.set("/wire.xml", rss(items, title="Wire"))
                clock.advance(minutes=1)
                await running.poll_once(all_feeds=True)
                await running.digest_once()
                assert len(wecom.received(WECOM_KEY)) == 1
            clock.advance(minutes=1)  # five minutes after the first post
            await running.digest_once()
            posts = wecom.received(WECOM_KEY)
            assert len(posts) == 2
            merged = posts[1].payload["markdown"]["content"]
            assert all(f"快讯第{i}号" in merged for i in (9, 12, 15, 18))
            assert "快讯第0号" not in merged
        finally:
            await running.aclose()


# -- the first digest at the store level ----------------------------------------------------

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
STORE_CONFIG = Config(
    feeds=[],
    topics=TOPICS,
    subscriber_defaults={"backlog_hours": 24, "first_digest_items": 10},
)


def add_stories(db: Database, count: int, summary: str) -> None:
    with db.session() as session:
        if session.get(FeedRow, "wire") is None:
            session.add(FeedRow(id="wire", url="http://wire/feed", title="Wire", next_check_at=NOW))
            session.flush()
        for story_id in range(1, count + 1):
            session.execute(
                insert(StoryRow).values(
                    id=story_id,
                    title=f"大模型新闻{story_id}",
                    url=f"https://news.example/{story_id}",
                    summary=summary,
                    lang="zh-Hans",
                    feed_id="wire",
                    topics=["ai"],
                    source_count=1 + story_id % 3,
                    created_at=NOW - timedelta(hours=1),
                )
            )
            session.execute(insert(StoryTopicRow).values(story_id=story_id, topic_id="ai"))


def add_entries(db: Database, count: int) -> list[int]:
    """Entries fetched and not processed yet."""
    with db.session() as session:
        if session.get(FeedRow, "wire") is None:
            session.add(FeedRow(id="wire", url="http://wire/feed", title="Wire", next_check_at=NOW))
            session.flush()
        rows = [
            EntryRow(
                feed_id="wire",
                key=f"e{i}",
                key_hash=f"{i:064d}",
                title=f"条目{i}",
                link=None,
                content_html="<p>x</p>",
                fetched_at=NOW - timedelta(minutes=5),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def join(
    db: Database, chat: str, *, keywords: Keywords | None = None, platform: str = "telegram"
) -> int:
    with db.session() as session:
        sub, _ = subscribers.ensure(
            session,
            platform,
            chat,
            None,
            lang="zh-Hans",
            timezone="Asia/Shanghai",
            schedule="instant",
            now=NOW,
            backlog=timedelta(hours=24),
        )
        subscribers.subscribe(session, sub.id, ["ai"], NOW, keywords)
        return sub.id


def texts(db: Database, subscriber_id: int) -> list[str]:
    with db.session() as session:
        ids = sorted(r.id for r in outbox.listing(session) if r.subscriber_id == subscriber_id)
        mine = outbox.claim(session, ids, NOW + timedelta(days=1), timedelta(minutes=2))
    return [d.message.text for d in materialize(db, STORE_CONFIG, mine)]


@pytest.mark.parametrize("path", ["batch", "one by one", "/digest", "robot"])
def test_a_first_digest_that_does_not_fit_takes_fewer_stories_and_counts_the_rest(
    db: Database, path: str
) -> None:
    add_stories(db, 30, "长" * 470)  # ten of them do not fit one message of any platform
    # Keywords on the subscription take the one-by-one path; plain ones the batched path.
    keywords = Keywords(include=("大模型",)) if path == "one by one" else None
    sub = join(db, "1", keywords=keywords, platform="wecom" if path == "robot" else "telegram")
    if path == "/digest":
        with db.session() as session:
            found = subscribers.get(session, sub)
        assert found is not None
        assert compose_for(db, STORE_CONFIG, found, NOW, on_demand=True) == 1
    else:
        assert compose_due(db, STORE_CONFIG, NOW) == 1
    (text,) = texts(db, sub)
    if path == "robot":  # the JSON body WeCom gets, within its 4096 bytes
        assert len(text.encode()) <= 4096
        links = text.count("](https://news.example/")
    else:
        assert utf16_len(parse_html(text)[0]) <= 4096
        links = text.count("<a href")
    shown = count_in(r"· (\d+) 条", text)
    assert 1 <= shown < 10 and links == shown
    assert count_in(r"还有 (\d+) 条", text) == 30 - shown
    with db.session() as session:
        cursor = session.get_one(DigestCursorRow, sub)
        assert cursor.digests_sent == 1 and len(cursor.overflow["shown"]) == shown


def test_the_first_digest_waits_for_the_backlog_at_most_the_bounded_wait(db: Database) -> None:
    add_stories(db, 5, "模型。")
    pending = add_entries(db, 3)
    waits = join(db, "1")
    assert compose_due(db, STORE_CONFIG, NOW + timedelta(minutes=1)) == 0
    assert compose_due(db, STORE_CONFIG, NOW + FIRST_DIGEST_WAIT - timedelta(seconds=1)) == 0
    assert compose_due(db, STORE_CONFIG, NOW + FIRST_DIGEST_WAIT) == 1  # no longer than that
    assert len(texts(db, waits)) == 1
    # A later reader on a daily schedule waits while the backlog's entries are unprocessed…
    later = NOW + timedelta(minutes=20)
    with db.session() as session:
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            "2",
            None,
            lang="zh-Hans",
            timezone="Asia/Shanghai",
            schedule="daily 20:00",
            now=later,
            backlog=timedelta(hours=24),
        )
        subscribers.subscribe(session, sub.id, ["ai"], later)
    assert compose_due(db, STORE_CONFIG, later + timedelta(seconds=30)) == 0
    with db.session() as session:
        for entry_id in pending:
            session.get_one(EntryRow, entry_id).processed_at = later
    # …and gets its first digest once they are, not at 20:00. Entries fetched after it
    # subscribed are not its backlog: it does not wait for them.
    with db.session() as session:
        session.add(
            EntryRow(
                feed_id="wire",
                key="late",
                key_hash="f" * 64,
                title="late",
                link=None,
                content_html="<p>x</p>",
                fetched_at=later + timedelta(minutes=1),
            )
        )
    assert compose_due(db, STORE_CONFIG, later + timedelta(minutes=1)) == 1
    (text,) = texts(db, sub.id)
    assert count_in(r"· (\d+) 条", text) == 5
