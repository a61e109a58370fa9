"""Retention: one daily prune of a database holding 90 days of a busy deployment.

Builds 200 feeds × 20 entries a day for 90 days (an article each, about 2 KB of feed content
and 3 KB of text in Chinese; three stories for every four articles, reposts merged, two topics
each), 1,000 subscribers with their cursors at the head, four digests a day each sent by
reference (about ten stories a part), the last digest still pending, and some callback replies
and webhook updates. Then runs one prune with the default ``retention`` windows, as the
retention tick would, and prints the rows per table before and after, the database's size,
the prune's duration and its longest transaction (how long it held SQLite's write lock, or
its row locks, at a time).

    .venv/bin/python bench/retention.py [--database sqlite|postgres] [--days 90] [--feeds 200]
        [--per-day 20] [--subscribers 1000]

PostgreSQL runs in a database created for the run on the local server and dropped after it
(``NEWSBRIEF_TEST_POSTGRES`` names the server, as for the tests).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.databases import database
from jobs.compose import WINDOW
from newsbrief.config.settings import Config
from newsbrief.store import retention
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    ArticleRow,
    Base,
    CallbackReplyRow,
    DeliveryRow,
    DigestCursorRow,
    EntryRow,
    FeedRow,
    StoryRow,
    StoryTopicRow,
    SubscriberRow,
    TelegramUpdateRow,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHUNK = 5000
WORDS = [
    "比特币",
    "以太坊",
    "监管",
    "大模型",
    "芯片",
    "央行",
    "降息",
    "发布",
    "市场",
    "交易所",
    "开源",
    "算力",
    "融资",
    "用户",
    "平台",
    "数据",
    "安全",
    "政策",
    "投资",
    "增长",
    "手机",
    "智能",
    "汽车",
    "电池",
    "出口",
    "公司",
    "财报",
    "季度",
    "利润",
    "分析师",
]
TOPICS = ("ai", "crypto", "tech", "finance", "policy", "stocks")


def prose(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = "".join(rng.choices(WORDS, k=rng.randint(8, 16))) + "。"
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:chars]


def insert_rows(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        with db.session() as session:
            session.execute(insert(table), rows[start : start + CHUNK])


def populate(db: Database, args: argparse.Namespace, rng: random.Random) -> None:
    # Distinct texts, reused: generating 2 GB of prose would take longer than the bench.
    contents = [f"<p>{prose(rng, 650)}</p>" for _ in range(500)]
    texts = [prose(rng, 1000) for _ in range(500)]
    feeds = [f"feed{i:03d}" for i in range(args.feeds)]
    insert_rows(
        db,
        FeedRow,
        [{"id": f, "url": f"https://{f}.example/rss", "next_check_at": NOW} for f in feeds],
    )
    entry_id = story_id = 0
    story_of_day: list[int] = []
    stories_by_day: dict[int, list[int]] = {}
    for age in range(args.days - 1, -1, -1):
        day = NOW - timedelta(days=age)
        entries, articles, stories, topics = [], [], [], []
        story_of_day = []
        per_day = args.feeds * args.per_day
        for j in range(per_day):
            entry_id += 1
            feed = feeds[j % args.feeds]
            when = day - timedelta(seconds=(per_day - j) * 86_400 // per_day)
            if j % 4 != 3 or not story_of_day:  # every fourth article is a repost
                story_id += 1
                story_of_day.append(story_id)
                pair = rng.sample(TOPICS, 2)
                stories.append(
                    {
                        "id": story_id,
                        "title": prose(rng, 30),
                        "url": f"https://{feed}.example/{entry_id}",
                        "summary": prose(rng, 120),
                        "lang": "zh-Hans",
                        "feed_id": feed,
                        "topics": pair,
                        "source_count": 1,
                        "created_at": when,
                    }
                )
                topics += [{"story_id": story_id, "topic_id": t} for t in pair]
                story = story_id
            else:
                story = rng.choice(story_of_day[-20:])
            entries.append(
                {
                    "id": entry_id,
                    "feed_id": feed,
                    "key": f"https://{feed}.example/{entry_id}",
                    "key_hash": f"{entry_id:064x}",
                    "title": f"entry {entry_id}",
                    "link": f"https://{feed}.example/{entry_id}",
                    "content_html": contents[entry_id % len(contents)],
                    "content_hash": f"{entry_id:040x}",
                    "published_at": when - timedelta(minutes=10),
                    "fetched_at": when,
                    "processed_at": when + timedelta(minutes=1),
                    "revision": 0,
                    "announce": False,
                }
            )
            articles.append(
                {
                    "id": entry_id,
                    "entry_id": entry_id,
                    "story_id": story,
                    "feed_id": feed,
                    "title": f"entry {entry_id}",
                    "url": f"https://{feed}.example/{entry_id}",
                    "text": texts[entry_id % len(texts)],
                    "lang": "zh-Hans",
                    "summary": prose(rng, 120),
                    "topics": [],
                    "fingerprint": f"{entry_id:064x}",
                    "title_key": f"{entry_id:064x}",
                    "keywords": [],
                    "created_at": when + timedelta(minutes=1),
                }
            )
        insert_rows(db, StoryRow, stories)
        insert_rows(db, StoryTopicRow, topics)
        insert_rows(db, EntryRow, entries)
        insert_rows(db, ArticleRow, articles)
        stories_by_day[age] = story_of_day
    subscribers(db, args, rng, stories_by_day, story_id)
    side_tables(db)
    if db.is_postgres:  # ids were given: move the sequences past them
        with db.session() as session:
            for table in ("entries", "articles", "stories", "deliveries", "subscribers"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def subscribers(
    db: Database,
    args: argparse.Namespace,
    rng: random.Random,
    stories_by_day: dict[int, list[int]],
    head: int,
) -> None:
    count = args.subscribers
    insert_rows(
        db,
        SubscriberRow,
        [
            {
                "id": s,
                "platform": "telegram",
                "chat_id": str(s),
                "thread_id": 0,
                "lang": "zh-Hans",
                "timezone": "Asia/Shanghai",
                "schedule": "every 6h",
                "paused": False,
                "created_at": NOW - timedelta(days=args.days),
                "subscriptions": rng.sample(TOPICS, 3),
                "filters": {},
            }
            for s in range(1, count + 1)
        ],
    )
    insert_rows(
        db,
        DigestCursorRow,
        [
            {"subscriber_id": s, "position": head, "next_due_at": NOW, "digests_sent": 0}
            for s in range(1, count + 1)
        ],
    )
    rows: list[dict[str, Any]] = []
    for age in range(args.days - 1, -1, -1):
        for hour in (2, 8, 14, 20):
            when = NOW - timedelta(days=age) + timedelta(hours=hour - 24)
            pending = age == 0 and hour == 20  # the last digest waits to be sent
            for s in range(1, count + 1):
                picked = rng.sample(stories_by_day[age], 10)
                rows.append(
                    {
                        "key": f"digest:{s}:{age}-{hour}:0",
                        "subscriber_id": s,
                        "platform": "telegram",
                        "chat_id": str(s),
                        "thread_id": 0,
                        "text": "",
                        "payload": {
                            "lang": "zh-Hans",
                            "blocks": ["topic:ai", *(f"story:{i}" for i in picked)],
                        },
                        "parse_mode": "HTML",
                        "disable_preview": True,
                        "priority": 0,
                        "status": "pending" if pending else "sent",
                        "attempts": 0 if pending else 1,
                        "due_at": when,
                        "created_at": when,
                        "sent_at": None if pending else when + timedelta(seconds=30),
                        "platform_message_id": None if pending else str(s * 1000 + hour),
                    }
                )
        if len(rows) >= 50_000:
            insert_rows(db, DeliveryRow, rows)
            rows = []
    insert_rows(db, DeliveryRow, rows)


def side_tables(db: Database) -> None:
    """WeCom/WeChat MsgIds and webhook updates of the last two weeks (a few hundred a day)."""
    replies, updates = [], []
    for n in range(14 * 300):
        when = NOW - timedelta(minutes=n * 4.8)
        replies.append({"scope": "wecom:corp", "msg_id": str(n), "reply": "ok", "created_at": when})
        updates.append(
            {"update_id": n, "payload": {"update_id": n}, "received_at": when, "handled_at": when}
        )
    insert_rows(db, CallbackReplyRow, replies)
    insert_rows(db, TelegramUpdateRow, updates)


def row_counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in sorted(Base.metadata.tables.items())
            if isinstance(table, Table)
        }


def size_mb(db: Database, url: str) -> float:
    if db.is_postgres:
        with db.session() as session:
            return float(session.scalar(text("SELECT pg_database_size(current_database())"))) / 1e6
    with db.engine.connect() as connection:  # the WAL's pages into the file first
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return Path(url.removeprefix("sqlite:///")).stat().st_size / 1e6


class TimedSessions:
    """``db.session`` that records how long each transaction lasted."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.inner = db.session
        self.writes: list[float] = []
        """Seconds of each transaction that deleted (under SQLite's write lock)."""
        self.reads: list[float] = []
        """Seconds of each that only read (what to keep); they block no writer."""

    @contextmanager
    def session(self, *, write_lock: bool = False) -> Iterator[Session]:
        started = time.perf_counter()
        with self.inner(write_lock=write_lock) as session:
            yield session
        (self.writes if write_lock else self.reads).append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--per-day", type=int, default=20, help="entries per feed and day")
    parser.add_argument("--subscribers", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(5)
    config = Config(feeds=[])
    windows = retention.Windows.from_config(config, WINDOW)

    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        db = Database(url)
        db.upgrade()
        t0 = time.perf_counter()
        populate(db, args, rng)
        if db.is_postgres:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        print(
            f"database: {db.engine.dialect.name}; set-up {time.perf_counter() - t0:.0f} s: "
            f"{args.days} days of {args.feeds} feeds x {args.per_day} entries a day, "
            f"{args.subscribers:,} subscribers x 4 digests a day"
        )
        print(
            f"windows (the defaults): entries {config.retention.entries} days, stories "
            f"{config.retention.stories}, deliveries {config.retention.deliveries}, callback "
            f"replies {config.retention.callback_replies}, telegram updates "
            f"{config.retention.telegram_updates}; a feed's newest {windows.entries_per_feed} "
            f"entries kept"
        )
        before, mb_before = row_counts(db), size_mb(db, url)
        timed = TimedSessions(db)
        db.session = timed.session  # type: ignore[method-assign]
        t0 = time.perf_counter()
        deleted = retention.prune(db, NOW, windows)
        seconds = time.perf_counter() - t0
        db.session = timed.inner  # type: ignore[method-assign]
        after, mb_after = row_counts(db), size_mb(db, url)
        print(f"{'table':<18} {'before':>10} {'after':>10} {'deleted':>10}")
        for name in before:
            gone = before[name] - after[name]
            print(f"{name:<18} {before[name]:>10,} {after[name]:>10,} {gone:>10,}")
        total = sum(deleted.values())
        writes = sorted(timed.writes)
        print(
            f"prune: {seconds:.1f} s, {total:,} rows deleted ({total / seconds:,.0f}/s) in "
            f"{len(writes)} write transactions: longest {writes[-1] * 1000:.0f} ms, median "
            f"{writes[len(writes) // 2] * 1000:.0f} ms; {len(timed.reads)} reads of what to "
            f"keep, {sum(timed.reads):.1f} s in all"
        )
        print(
            f"size: {mb_before:,.0f} MB before, {mb_after:,.0f} MB after "
            "(freed pages are reused, not returned: SQLite keeps its file, PostgreSQL its "
            "tables until VACUUM FULL)"
        )
        t0 = time.perf_counter()
        again = retention.prune(db, NOW, windows)
        print(f"a second prune: {sum(again.values())} rows in {time.perf_counter() - t0:.1f} s")
        db.dispose()


if __name__ == "__main__":
    main()
