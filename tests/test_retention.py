"""Retention: the daily prune deletes what its windows let go and nothing still needed; one
process a day runs it; a feed polled after a prune does not bring pruned entries back."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from jobs.compose import WINDOW, compose_for
from jobs.context import JobContext
from jobs.retention import EVERY, retention_tick, run_retention
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.store import articles, digest_rest, retention, subscribers
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database
from newsbrief.store.retention import KINDS, Windows
from newsbrief.store.tables import (
    ArticleRow,
    CallbackReplyRow,
    DeliveryRow,
    DigestCursorRow,
    DigestRestRow,
    EntryRow,
    FeedRow,
    MaintenanceRow,
    StoryRow,
    StoryTopicRow,
    TelegramUpdateRow,
)
from tests.servers.feeds import FeedServer, rss

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAYS = 90
KEEP = {"entries": 30, "stories": 60, "deliveries": 14, "callback_replies": 2, "updates": 2}
PER_FEED = 5
WINDOWS = Windows(
    entries=timedelta(days=KEEP["entries"]),
    stories=timedelta(days=KEEP["stories"]),
    deliveries=timedelta(days=KEEP["deliveries"]),
    callback_replies=timedelta(days=KEEP["callback_replies"]),
    telegram_updates=timedelta(days=KEEP["updates"]),
    entries_per_feed=PER_FEED,
    digest_reach=WINDOW,
    backlog=timedelta(hours=24),
)
CONFIG = Config(
    feeds=[],
    retention={"entries": 30, "stories": 60, "deliveries": 14},
    polling={"max_entries": PER_FEED},
)


def at(days: int, hours: float = 1) -> datetime:
    """``days`` whole days and ``hours`` before NOW."""
    return NOW - timedelta(days=days, hours=hours)


class World:
    """90 days of a small deployment, written as the ticks would have: each day, on feeds a, b
    and c, two entries each, each with its article; a and b report the same event (one story
    of two sources), c its own; every story in two topics. Three subscribers get a digest a
    day (sent), one also a failed one. Plus the cases a prune must leave alone."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.story_age: dict[int, int] = {}
        self.entry_age: dict[int, int] = {}
        with db.session() as session:
            for feed in ("a", "b", "c", "q"):
                session.add(FeedRow(id=feed, url=f"http://feeds.test/{feed}", next_check_at=NOW))
            session.flush()
            for age in range(DAYS - 1, -1, -1):
                for i in range(2):
                    self._day(session, age, i)
            # A quiet feed with fewer entries than PER_FEED: all of them stay, however old.
            for i in range(3):
                self._entry(session, "q", f"q{i}", 80 - i)
            # Old, but waiting to be processed: not the prune's to take.
            self.unprocessed = self._entry(session, "c", "waiting", 50, processed=False)
            # Fetched long ago, dated in the future: a feed may keep it on top for weeks.
            self.future = self._entry(session, "a", "future", 70, published=NOW + timedelta(3))
            self.subscribers = [self._subscriber(session, n) for n in range(3)]
            head = articles.head_position(session)
            for sub in self.subscribers:
                session.execute(
                    update(DigestCursorRow)
                    .where(DigestCursorRow.subscriber_id == sub)
                    .values(position=head)
                )
            for age in range(DAYS):
                for n, sub in enumerate(self.subscribers):
                    self._delivery(session, sub, f"d{age}-{n}", "sent", at(age, 0.5))
                self._delivery(session, self.subscribers[0], f"f{age}", "failed", at(age, 2))
            # Digest parts not sent yet name two old stories: those stay.
            by_age = {a: s for s, a in sorted(self.story_age.items(), reverse=True)}
            self.queued = [by_age[75], by_age[80]]
            for story, status in zip(self.queued, ("pending", "paused"), strict=True):
                self._delivery(
                    session,
                    self.subscribers[1],
                    f"q{story}",
                    status,
                    at(self.story_age[story]),
                    {"lang": "en", "blocks": ["topic:ai", f"story:{story}"]},
                )
            for age in range(5):
                session.add(
                    CallbackReplyRow(
                        scope="wecom:x", msg_id=f"m{age}", reply="", created_at=at(age)
                    )
                )
                session.add(
                    TelegramUpdateRow(
                        update_id=age, payload={}, received_at=at(age), handled_at=at(age)
                    )
                )
            # An update never handled stays, however old.
            session.add(TelegramUpdateRow(update_id=99, payload={}, received_at=at(9)))

    def _entry(
        self,
        session: Any,
        feed: str,
        key: str,
        age: int,
        *,
        processed: bool = True,
        published: datetime | None = None,
    ) -> int:
        when = at(age)
        entry_id = session.execute(
            insert(EntryRow)
            .values(
                feed_id=feed,
                key=key,
                key_hash=f"{feed}:{key}",
                title=key,
                content_html="<p>text</p>",
                fetched_at=when,
                published_at=published or when - timedelta(hours=1),
                processed_at=when if processed else None,
            )
            .returning(EntryRow.id)
        ).scalar_one()
        self.entry_age[entry_id] = age
        return int(entry_id)

    def _day(self, session: Any, age: int, i: int) -> None:
        when = at(age)
        pair = self._story(session, "a", age)
        alone = self._story(session, "c", age)
        for feed, story in (("a", pair), ("b", pair), ("c", alone)):
            entry = self._entry(session, feed, f"{feed}{age}-{i}", age)
            session.execute(
                insert(ArticleRow).values(
                    entry_id=entry,
                    story_id=story,
                    feed_id=feed,
                    title=f"{feed}{age}",
                    text="body " * 50,
                    lang="en",
                    summary="s",
                    topics=["ai"],
                    fingerprint=f"{entry}",
                    title_key=f"{entry}",
                    keywords=[],
                    created_at=when,
                )
            )

    def _story(self, session: Any, feed: str, age: int) -> int:
        story = session.execute(
            insert(StoryRow)
            .values(
                title=f"story {feed}{age}",
                summary="s",
                lang="en",
                feed_id=feed,
                topics=["ai", "tech"],
                source_count=1,
                created_at=at(age),
            )
            .returning(StoryRow.id)
        ).scalar_one()
        for topic in ("ai", "tech"):
            session.execute(insert(StoryTopicRow).values(story_id=story, topic_id=topic))
        self.story_age[story] = age
        return int(story)

    def _subscriber(self, session: Any, n: int) -> int:
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            str(100 + n),
            None,
            lang="en",
            timezone="UTC",
            schedule="daily 08:00",
            now=at(DAYS),
            backlog=timedelta(hours=24),
        )
        subscribers.subscribe(session, sub.id, ["ai"], at(DAYS))
        return sub.id

    def _delivery(
        self,
        session: Any,
        sub: int,
        key: str,
        status: str,
        when: datetime,
        payload: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            DeliveryRow(
                key=key,
                subscriber_id=sub,
                platform="telegram",
                chat_id=str(sub),
                text="" if payload else "digest",
                payload=payload,
                status=status,
                attempts=1,
                due_at=when,
                created_at=when,
                sent_at=when if status == "sent" else None,
            )
        )


def counts(db: Database) -> dict[str, int]:
    tables = {
        "deliveries": DeliveryRow,
        "entries": EntryRow,
        "articles": ArticleRow,
        "stories": StoryRow,
        "story_topics": StoryTopicRow,
        "callback_replies": CallbackReplyRow,
        "telegram_updates": TelegramUpdateRow,
        "digest_rest": DigestRestRow,
    }
    with db.session() as session:
        return {
            kind: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for kind, table in tables.items()
        }


def test_a_prune_keeps_exactly_what_the_windows_and_the_rules_say(db: Database) -> None:
    world = World(db)
    with db.session() as session:  # robots' "the rest" links: two expired, one still good
        digest_rest.insert_many(
            session,
            [
                digest_rest.row(f"t{age}", 1, "zh-Hans", [1, 2], NOW - timedelta(days=age))
                for age in (8, 30, 6)
            ],
        )
    before = counts(db)
    assert before["entries"] == DAYS * 2 * 3 + 3 + 2 and before["stories"] == DAYS * 2 * 2

    deleted = retention.prune(db, NOW, WINDOWS, batch=7)  # many batches, as a big prune has

    old_entries = DAYS - KEEP["entries"]  # days whose entries all go
    old_stories = DAYS - KEEP["stories"]
    assert deleted == {
        # Sent and failed messages of the days beyond the window; the two unsent stay.
        "deliveries": (DAYS - KEEP["deliveries"]) * 4,
        "entries": old_entries * 2 * 3,
        "articles": old_entries * 2 * 3,
        # Stories of the days beyond their window, but the two that unsent parts name.
        "stories": old_stories * 2 * 2 - 2,
        "story_topics": (old_stories * 2 * 2 - 2) * 2,
        "callback_replies": 5 - KEEP["callback_replies"],
        "telegram_updates": 5 - KEEP["updates"],
        "digest_rest": 2,
    }
    after = counts(db)
    assert after == {kind: before[kind] - deleted[kind] for kind in KINDS}

    with db.session() as session:
        entries = {row.id: row for row in session.scalars(select(EntryRow)).all()}
        story_ids = set(session.scalars(select(StoryRow.id)))
        queued = Counter(session.scalars(select(DeliveryRow.status)))
        article_stories = set(session.scalars(select(ArticleRow.story_id)))
        topic_stories = set(session.scalars(select(StoryTopicRow.story_id)))
    # Entries: the window's, the quiet feed's (fewer than PER_FEED), the one waiting to be
    # processed and the future-dated one.
    assert {world.entry_age[i] for i in entries if entries[i].feed_id != "q"} == set(
        range(KEEP["entries"])
    ) | {50, 70}
    assert world.unprocessed in entries and world.future in entries
    assert sum(e.feed_id == "q" for e in entries.values()) == 3
    # Stories: the window's, and the queued ones, whatever their age.
    assert {world.story_age[s] for s in story_ids} == set(range(KEEP["stories"])) | {75, 80}
    assert set(world.queued) <= story_ids
    # Every article's story and every topic row's story is there.
    assert article_stories <= story_ids and topic_stories == story_ids
    assert queued == {"sent": 3 * KEEP["deliveries"], "failed": KEEP["deliveries"]} | {
        "pending": 1,
        "paused": 1,
    }

    # Nothing more to delete the same day.
    assert retention.prune(db, NOW, WINDOWS) == dict.fromkeys(KINDS, 0)
    assert counts(db) == after


def test_a_stale_cursor_keeps_only_what_its_next_digest_can_read(db: Database) -> None:
    """A subscriber away for long keeps the newest ``digest_reach`` stories above its cursor,
    not the archive; below every cursor all old stories go but the newest, and compose reads
    its window as before."""
    with db.session() as session:
        session.add(FeedRow(id="w", url="http://w.test/f", next_check_at=NOW))
        session.flush()
        for age in range(40, 0, -1):
            session.add(
                StoryRow(
                    title=f"s{age}",
                    summary=f"story {age}",
                    lang="en",
                    feed_id="w",
                    topics=["ai"],
                    source_count=1,
                    created_at=at(age),
                )
            )
        session.flush()
        ids = list(session.scalars(select(StoryRow.id).order_by(StoryRow.id)))
        for story in ids:
            session.add(StoryTopicRow(story_id=story, topic_id="ai"))
        away = subscribers.ensure(
            session,
            "telegram",
            "1",
            None,
            lang="en",
            timezone="UTC",
            schedule="instant",
            now=at(50),
            backlog=timedelta(0),
        )[0]
        subscribers.subscribe(session, away.id, ["ai"], at(50))
    assert [c.position for c in cursors(db)] == [0]

    everything_old = Windows(
        **{**vars_of(WINDOWS), "stories": timedelta(days=1), "digest_reach": 10}
    )
    retention.prune(db, NOW, everything_old)
    with db.session() as session:
        left = list(session.scalars(select(StoryRow.id).order_by(StoryRow.id)))
    assert left == ids[-10:]  # the newest ten above the stale cursor

    # The subscriber reads them: its digest is the newest of what is left.
    with db.session() as session:
        found = subscribers.get(session, away.id)
    assert found is not None
    assert compose_for(db, CONFIG, found, NOW, on_demand=True) == 1
    with db.session() as session:
        (part,) = session.scalars(select(DeliveryRow.payload))
    assert [b for b in part["blocks"] if b.startswith("story:")] == [
        f"story:{i}" for i in reversed(ids[-10:])
    ]
    assert cursors(db)[0].position == ids[-1]

    # Unsent, the digest keeps its stories.
    assert retention.prune(db, NOW, everything_old)["stories"] == 0
    # Sent, and the cursor past them: everything old goes but the newest story (the head).
    with db.session() as session:
        session.execute(update(DeliveryRow).values(status="sent", sent_at=NOW))
    assert retention.prune(db, NOW, everything_old)["stories"] == 9
    with db.session() as session:
        assert list(session.scalars(select(StoryRow.id))) == [ids[-1]]
        window = story_store.story_window(session, 0, articles.head_position(session), WINDOW)
    assert [s.story_id for s in window] == [ids[-1]]

    # The next story still comes after every cursor (SQLite would reuse a deleted head's id).
    with db.session() as session:
        session.add(
            StoryRow(
                title="new",
                summary="n",
                lang="en",
                feed_id="w",
                topics=["ai"],
                source_count=1,
                created_at=NOW,
            )
        )
    with db.session() as session:
        assert articles.head_position(session) > ids[-1]


def vars_of(windows: Windows) -> dict[str, Any]:
    return {name: getattr(windows, name) for name in Windows.__dataclass_fields__}


def cursors(db: Database) -> list[DigestCursorRow]:
    with db.session() as session:
        return list(session.scalars(select(DigestCursorRow)))


def test_the_day_is_claimed_once(db: Database) -> None:
    def claim(when: datetime) -> bool:
        with db.session(write_lock=True) as session:
            return retention.claim_daily(session, "chore", when, EVERY)

    assert claim(NOW)
    assert not claim(NOW)
    assert not claim(NOW + timedelta(hours=23))
    assert claim(NOW + timedelta(hours=24))
    assert claim(NOW + timedelta(hours=48, seconds=1))
    assert not claim(NOW + timedelta(hours=49))


def at_once(dbs: list[Database], now: datetime) -> list[dict[str, int]]:
    """``run_retention`` on each database handle in a thread of its own, released together."""
    results: list[dict[str, int]] = []
    start = threading.Barrier(len(dbs))

    def tick(db: Database) -> None:
        start.wait()
        results.append(run_retention(db, CONFIG, now))

    threads = [threading.Thread(target=tick, args=(db,)) for db in dbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_of_two_processes_at_once_one_prunes(database_url: str) -> None:
    """Two processes' retention ticks at the same moment (two engines on one database): one
    prunes, the other returns at once, on the first day and on the next."""
    setup = Database(database_url)
    setup.upgrade()
    World(setup)
    setup.dispose()
    dbs = [Database(database_url) for _ in range(2)]
    try:
        for day in (0, 1):
            results = at_once(dbs, NOW + timedelta(days=day))
            assert sorted(map(len, results)) == [0, len(KINDS)], results
        with dbs[0].session() as session:
            (row,) = session.scalars(select(MaintenanceRow))
        assert (row.task, row.last_run_at) == ("retention", NOW + timedelta(days=1))
    finally:
        for db in dbs:
            db.dispose()


async def test_the_tick_logs_one_line_and_returns_the_counts(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    World(db)
    ctx = JobContext(db=db, config=CONFIG, fetcher=Fetcher(CONFIG.fetch), clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="jobs.retention"):
        first, second = await asyncio.gather(retention_tick(ctx), retention_tick(ctx))
    ran = first or second
    assert not (first and second) and set(ran) == set(KINDS)
    assert ran["entries"] == (DAYS - 30) * 6 and ran["deliveries"] == (DAYS - 14) * 4
    lines = [r.getMessage() for r in caplog.records if r.name == "jobs.retention"]
    assert len(lines) == 1 and lines[0].startswith("retention: deleted ")
    assert f"{ran['entries']} entries" in lines[0]


async def test_a_prune_that_fails_gives_its_day_back(db: Database) -> None:
    World(db)
    ctx = JobContext(db=db, config=CONFIG, fetcher=Fetcher(CONFIG.fetch), clock=lambda: NOW)
    with db.session() as session:  # a schema gone wrong: the prune fails at the stories
        session.execute(text("DROP TABLE story_topics"))
    with pytest.raises(DBAPIError):
        await retention_tick(ctx)
    with db.session() as session:
        assert session.scalar(select(MaintenanceRow.last_run_at)) == NOW - timedelta(hours=23)
    assert await retention_tick(ctx) == {}  # within the hour: still not due
    later = JobContext(
        db=db, config=CONFIG, fetcher=ctx.fetcher, clock=lambda: NOW + timedelta(hours=1)
    )
    with pytest.raises(DBAPIError):  # tried again an hour later
        await retention_tick(later)


def items(numbers: range) -> str:
    return rss(
        [
            {"title": f"Item {n}", "link": f"https://news.example/{n}", "guid": f"item-{n}"}
            for n in reversed(numbers)  # newest first, as feeds list
        ]
    )


async def test_a_feed_polled_after_a_prune_brings_nothing_back(database_url: str) -> None:
    """A feed lists its five newest items; eight were seen over time. The prune deletes the
    three the feed no longer lists and keeps the five it does, so polling it again finds
    nothing new. Pruning by age alone would have made the listed ones news again."""
    with FeedServer(conditional=False) as server:  # a 200 every time: every item is looked at
        server.set("/f.xml", items(range(1, 6)))
        config = Config(
            database_url=database_url,
            fetch={"allow_private_networks": True},
            polling={"max_entries": PER_FEED, "jitter": 0},
            feeds=[{"id": "f", "url": server.url("/f.xml"), "fulltext": "never"}],
        )
        runtime = Runtime(config)
        runtime.start()
        try:
            assert (await runtime.poll_once(all_feeds=True)).new == 5
            server.set("/f.xml", items(range(4, 9)))
            assert (await runtime.poll_once(all_feeds=True)).new == 3
            db = runtime.db
            with db.session() as session:  # processed, and fetched two months ago
                session.execute(update(EntryRow).values(processed_at=at(60), fetched_at=at(60)))
            windows = Windows(**{**vars_of(WINDOWS), "entries_per_feed": PER_FEED})
            assert retention.prune(db, NOW, windows)["entries"] == 3
            assert stored_keys(db) == [f"item-{n}" for n in range(4, 9)]

            summary = await runtime.poll_once(all_feeds=True)
            assert (summary.feeds, summary.new, summary.updated) == (1, 0, 0)
            assert stored_keys(db) == [f"item-{n}" for n in range(4, 9)]

            # The rule is what saves them: kept by age alone (two a feed), three come back.
            by_age = Windows(**{**vars_of(WINDOWS), "entries_per_feed": 2})
            assert retention.prune(db, NOW, by_age)["entries"] == 3
            assert (await runtime.poll_once(all_feeds=True)).new == 3
        finally:
            await runtime.aclose()


def stored_keys(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(EntryRow.key)), key=lambda k: int(k.split("-")[1]))


def test_windows_follow_the_config() -> None:
    windows = Windows.from_config(Config(feeds=[], retention={"stories": 0, "entries": 7}), WINDOW)
    assert windows.entries == timedelta(days=7) and windows.stories is None  # 0: forever
    assert windows.deliveries == timedelta(days=30) and windows.entries_per_feed == 200
    assert windows.digest_reach == WINDOW and windows.backlog == timedelta(hours=24)
    forever = Windows(**{**vars_of(windows), "entries": None, "deliveries": None})
    assert forever.entries is None
