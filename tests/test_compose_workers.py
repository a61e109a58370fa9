"""Composing in worker processes on PostgreSQL (what ``run`` does with parse workers): the
workers' batches together write exactly what one process composing alone writes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from jobs.compose import compose_due, compose_in_workers, compose_tick
from jobs.context import JobContext
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.records import LANGUAGES
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    DeliveryRow,
    DigestCursorRow,
    FeedRow,
    StoryRow,
    StoryTopicRow,
    SubscriberRow,
)
from newsbrief.workers import WorkerPool
from tests.conftest import postgres_database

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
TOPICS = [f"t{i}" for i in range(8)]
CONFIG = Config(
    feeds=[],
    topics=[{"id": t, "name": {"zh": f"话题{t}", "en": f"Topic {t}"}} for t in TOPICS],
    subscriber_defaults={"max_items": 6},
)
WORDS = ["比特币", "监管", "芯片", "大模型", "bitcoin", "chip", "model", "央行"]


def populate(db: Database, subscribers: int, stories: int, seed: int) -> None:
    rng = random.Random(seed)
    db.upgrade()
    with db.session() as session:
        session.execute(
            insert(FeedRow).values(
                id="wire", url="http://wire/feed", title="Wire", next_check_at=NOW
            )
        )
        for sid in range(1, stories + 1):
            topics = rng.sample(TOPICS, rng.randint(1, 3))
            session.execute(
                insert(StoryRow).values(
                    id=sid,
                    title=" ".join(rng.choices(WORDS, k=5)) + f" {sid}",
                    url=f"https://news.example/{sid}",
                    summary=" ".join(rng.choices(WORDS, k=rng.randint(5, 60))),
                    lang="zh-Hans",
                    feed_id="wire",
                    topics=topics,
                    source_count=rng.randint(1, 4),
                    created_at=NOW - timedelta(minutes=5),
                )
            )
            session.execute(
                insert(StoryTopicRow), [{"story_id": sid, "topic_id": t} for t in topics]
            )
        rows: list[dict[str, Any]] = []
        for sid in range(1, subscribers + 1):
            filters = {"include": [], "exclude": [rng.choice(WORDS)]} if sid % 7 == 0 else {}
            rows.append(
                {
                    "id": sid,
                    "platform": "telegram",
                    "chat_id": str(sid),
                    "thread_id": 0,
                    "lang": LANGUAGES[sid % len(LANGUAGES)],
                    "timezone": "Asia/Shanghai",
                    # Instant ones and daily ones due now; some with quiet hours now (held).
                    "schedule": "instant" if sid % 3 else "daily 12:00",
                    "quiet_hours": "11:00-13:00" if sid % 11 == 0 else None,
                    "paused": False,
                    "created_at": NOW - timedelta(hours=1),
                    "subscriptions": rng.sample(TOPICS, rng.randint(1, 5)),
                    "filters": filters,
                }
            )
        session.execute(insert(SubscriberRow), rows)
        session.execute(
            insert(DigestCursorRow),
            [
                {"subscriber_id": r["id"], "position": 0, "next_due_at": NOW, "digests_sent": 0}
                for r in rows
            ],
        )


def written(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The outbox and the cursors, in a comparable form."""
    with db.session() as session:
        deliveries = session.execute(
            select(
                DeliveryRow.subscriber_id,
                DeliveryRow.key,
                DeliveryRow.text,
                DeliveryRow.payload,
                DeliveryRow.status,
            ).order_by(DeliveryRow.key)
        ).all()
        cursors = session.execute(
            select(
                DigestCursorRow.subscriber_id,
                DigestCursorRow.position,
                DigestCursorRow.next_due_at,
                DigestCursorRow.digests_sent,
                DigestCursorRow.overflow,
            ).order_by(DigestCursorRow.subscriber_id)
        ).all()
    return [tuple(r) for r in deliveries], [tuple(r) for r in cursors]


@pytest.fixture
def twins() -> Iterator[tuple[Database, Database]]:
    """Two PostgreSQL databases with the same subscribers and stories."""
    made = [postgres_database(), postgres_database()]
    try:
        pair = Database(next(made[0])), Database(next(made[1]))
        for db in pair:
            populate(db, subscribers=400, stories=60, seed=5)
        yield pair
        for db in pair:
            db.dispose()
    finally:
        for gen in made:
            gen.close()


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2, "compose test")
    yield workers
    workers.close()


async def test_workers_write_what_one_process_writes(
    twins: tuple[Database, Database], pool: WorkerPool
) -> None:
    alone, spread = twins
    # Small batches, so the two workers take turns claiming and skip each other's rows.
    queued_alone = compose_due(alone, CONFIG, NOW, batch=20)
    queued_spread = await compose_in_workers(pool, spread, CONFIG, NOW, batch=20)
    assert len(pool.pids()) == 2
    deliveries, cursors = written(alone)
    # Most got a digest (not those in quiet hours, nor those with nothing matching).
    assert len({row[0] for row in deliveries}) > 300
    assert queued_spread == queued_alone == len(deliveries)
    assert written(spread) == (deliveries, cursors)
    # Nothing is due again at once: a second pass composes nothing.
    assert await compose_in_workers(pool, spread, CONFIG, NOW, batch=20) == 0


async def test_the_compose_tick_uses_the_workers_on_postgresql(
    twins: tuple[Database, Database], pool: WorkerPool
) -> None:
    alone, spread = twins
    ctx = JobContext(
        db=spread, config=CONFIG, fetcher=Fetcher(CONFIG.fetch), parsers=pool, clock=lambda: NOW
    )
    assert await compose_tick(ctx) == compose_due(alone, CONFIG, NOW)
    assert pool.pids(), "the tick ran in the workers"
    assert written(spread) == written(alone)
