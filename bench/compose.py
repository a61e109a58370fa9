"""Compose speed: digests for many subscribers over one batch of new stories, database included.

Builds a database with N subscribers (each following a random set of 30 of 100 topics, in
zh-Hans, zh-Hant or English, a tenth with keyword filters) and 500 new stories (1-3 topics
each, Chinese and English) for returning readers (a first digest is a shorter, one-message
digest), then times one compose pass: claim, match, rank, group, plan the
parts within Telegram's limit, write the outbox and advance every cursor. As a baseline in
the same process it times the one-subscriber path (``/digest``) on a sample.

    .venv/bin/python bench/compose.py [--subscribers 100000] [--database sqlite|postgres]
        [--workers N]

``--workers N`` composes in N worker processes, as ``newsbrief run`` does on PostgreSQL
(``polling.parse_workers``: by default one per core, up to 4, which is also this bench's
default there; ``--workers 0`` composes in-process); CPU then includes theirs. SQLite composes
in-process, as ``run`` does.

PostgreSQL runs in a database created for the run on the local server and dropped after it
(``NEWSBRIEF_TEST_POSTGRES`` names the server, as for the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.databases import database
from jobs.compose import BATCH, compose_due, compose_for, compose_in_workers
from newsbrief.config.settings import Config
from newsbrief.records import LANGUAGES
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    DeliveryRow,
    DigestCursorRow,
    FeedRow,
    StoryRow,
    StoryTopicRow,
    SubscriberRow,
)
from newsbrief.workers import WorkerPool, auto_workers

TOPICS = 100
STORIES = 500
WORDS_ZH = [
    "比特币",
    "以太坊",
    "监管",
    "大模型",
    "芯片",
    "央行",
    "降息",
    "球队",
    "夺冠",
    "电影",
    "票房",
    "高考",
    "房价",
    "政策",
    "发布",
]
WORDS_EN = [
    "bitcoin",
    "model",
    "chip",
    "bank",
    "rates",
    "team",
    "wins",
    "film",
    "policy",
    "launch",
    "market",
]


def config() -> Config:
    topics = [
        {"id": f"t{i}", "name": {"zh": f"话题{i}", "en": f"Topic {i}"}, "priority": i % 3 - 1}
        for i in range(TOPICS)
    ]
    return Config(topics=topics, feeds=[], subscriber_defaults={"max_items": 20})


def populate(db: Database, count: int, now: datetime, rng: random.Random) -> None:
    with db.session() as session:
        session.execute(
            insert(FeedRow),
            [
                {
                    "id": "wire",
                    "url": "http://wire.example/feed",
                    "title": "Wire",
                    "next_check_at": now,
                }
            ],
        )
        for start in range(0, count, 5000):
            subs, cursors = [], []
            for sid in range(start + 1, min(count, start + 5000) + 1):
                filters = {}
                if sid % 10 == 0:
                    filters = {"include": [], "exclude": [rng.choice(WORDS_ZH + WORDS_EN)]}
                subs.append(
                    {
                        "id": sid,
                        "platform": "telegram",
                        "chat_id": str(sid),
                        "thread_id": 0,
                        "lang": LANGUAGES[sid % len(LANGUAGES)],
                        "timezone": "Asia/Shanghai",
                        "schedule": "instant",
                        "paused": False,
                        "created_at": now,
                        "subscriptions": [f"t{t}" for t in rng.sample(range(TOPICS), 30)],
                        "filters": filters,
                    }
                )
                cursors.append(
                    {"subscriber_id": sid, "position": 0, "next_due_at": now, "digests_sent": 1}
                )
            session.execute(insert(SubscriberRow), subs)
            session.execute(insert(DigestCursorRow), cursors)
        stories, links = [], []
        for sid in range(1, STORIES + 1):
            zh = sid % 3 != 0
            words = WORDS_ZH if zh else WORDS_EN
            sep = "" if zh else " "
            title = sep.join(rng.choices(words, k=6)) + f" {sid}"
            summary = sep.join(rng.choices(words, k=40 if zh else 25)) + ("。" if zh else ".")
            topics = [f"t{t}" for t in rng.sample(range(TOPICS), rng.randint(1, 3))]
            stories.append(
                {
                    "id": sid,
                    "title": title,
                    "url": f"https://news.example/{sid}?a=1&b=2",
                    "summary": summary,
                    "lang": "zh-Hans" if zh else "en",
                    "feed_id": "wire",
                    "topics": topics,
                    "source_count": rng.choice((1, 1, 1, 2, 3, 8)),
                    "created_at": now,
                }
            )
            links += [{"story_id": sid, "topic_id": t} for t in topics]
        session.execute(insert(StoryRow), stories)
        session.execute(insert(StoryTopicRow), links)


def worker_peak_mb(pid: int) -> float:
    """A worker process's peak RSS so far (VmHWM in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--baseline-sample", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=BATCH, help="subscribers per transaction")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="compose in this many worker processes (0: in-process); default: as `run` does, "
        "one per core up to 4 on PostgreSQL, in-process on SQLite",
    )
    args = parser.parse_args()
    if args.workers is None:
        args.workers = auto_workers() if args.database == "postgres" else 0
    rng = random.Random(11)
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    cfg = config()

    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        db = Database(url)
        db.upgrade()
        t0 = time.perf_counter()
        populate(db, args.subscribers, now, rng)
        print(
            f"database: {db.engine.dialect.name}; set-up {time.perf_counter() - t0:.1f} s "
            f"({args.subscribers:,} subscribers, {STORIES} stories, {TOPICS} topics)"
        )
        before = peak_mb()

        # Baseline: the one-subscriber path (what /digest runs), on a sample.
        sample = rng.sample(
            range(1, args.subscribers + 1), min(args.baseline_sample, args.subscribers)
        )
        with db.session() as session:
            picked = [subscribers.get(session, sid) for sid in sample]
        timings = []
        t0 = time.perf_counter()
        for sub in picked:
            assert sub is not None
            t1 = time.perf_counter()
            compose_for(db, cfg, sub, now)
            timings.append(time.perf_counter() - t1)
        baseline_rate = len(picked) / (time.perf_counter() - t0)
        # Those subscribers are composed already; put them back to be composed again.
        with db.session() as session:
            session.execute(
                DigestCursorRow.__table__.update()
                .where(DigestCursorRow.subscriber_id.in_(sample))
                .values(position=0, next_due_at=now, digests_sent=1, overflow=None)
            )
            session.execute(DeliveryRow.__table__.delete())

        pool = WorkerPool(args.workers, "compose") if args.workers else None
        if pool is not None:  # started and warm, as in `run`: nothing is due a day earlier
            asyncio.run(compose_in_workers(pool, db, cfg, now - timedelta(days=1)))
        t0, c0, w0 = (
            time.perf_counter(),
            time.process_time(),
            pool.cpu_seconds() if pool else 0.0,
        )
        if pool is None:
            queued = compose_due(db, cfg, now + timedelta(seconds=1), batch=args.batch)
        else:
            queued = asyncio.run(compose_in_workers(pool, db, cfg, now + timedelta(seconds=1)))
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0 + (pool.cpu_seconds() if pool else 0.0) - w0
        workers_mb = [worker_peak_mb(pid) for pid in pool.pids()] if pool else []
        if pool is not None:
            pool.close()
        with db.session() as session:
            digests = session.scalar(
                select(func.count())
                .select_from(DigestCursorRow)
                .where(DigestCursorRow.digests_sent > 1)
            )
            payload_bytes = session.scalar(
                select(
                    func.sum(
                        func.length(DeliveryRow.text)
                        + func.length(func.cast(DeliveryRow.payload, StoryRow.title.type))
                    )
                )
            )
        rate = args.subscribers / seconds
        where = f"{args.workers} worker processes" if args.workers else "in-process"
        print(
            f"compose pass ({where}): {seconds:.2f} s for {args.subscribers:,} subscribers "
            f"= {rate:,.0f} subscribers/s (target: 100,000 in <= 10 s); "
            f"CPU {cpu:.2f} s = {args.subscribers / cpu:,.0f} subscribers per CPU second"
        )
        print(
            f"  digests {digests:,}, outbox messages {queued:,}, "
            f"outbox bytes {int(payload_bytes or 0) / 1e6:.1f} MB"
        )
        print(
            f"baseline (one subscriber at a time, /digest path, {len(picked):,} sampled): "
            f"{baseline_rate:,.0f} subscribers/s, median {statistics.median(timings) * 1e3:.1f} ms"
            f" -> ratio {rate / baseline_rate:.1f}x"
        )
        print(f"peak RSS: {peak_mb():.0f} MB (after set-up {before:.0f} MB; target < 500 MB)")
        if workers_mb:
            print(f"  workers' peak RSS: {', '.join(f'{mb:.0f}' for mb in workers_mb)} MB")
        db.dispose()


if __name__ == "__main__":
    main()
