"""Two processes matching a story and its repost at the same moment make one story (PostgreSQL).

Each ``process`` process keeps its own story index and reads what the others saved just
before it matches. Without a lock around read, match and save, two processes taking the
original and a repost at once would each miss the other's new story and make two. The test
holds the story-matching lock itself, lets both "processes" (two job contexts with their own
database connections and indexes, in two threads) queue up behind it, then lets go.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from jobs.context import JobContext
from jobs.process import process_batch
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.records import Entry, Feed, FetchResult, PendingEntry, PollOutcome
from newsbrief.store import articles, feeds
from newsbrief.store.db import Database
from newsbrief.store.tables import ArticleRow
from tests.conftest import postgres_database

pytestmark = pytest.mark.postgres

STORY = (
    "The harbour authority said on Tuesday that the new container terminal will open in May, "
    "two years after work began on the reclaimed land north of the old docks. Ships of up to "
    "twenty thousand containers will be able to berth there, and the authority expects the "
    "terminal to handle a third of the port's traffic within five years. Local fishermen, "
    "who lost their moorings to the works, will get a new pier at the eastern breakwater, "
    "the authority added, and a fund for those whose catch fell while the dredging went on."
)


def waiting_for_the_lock(db: Database) -> int:
    with db.session() as session:
        return (
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted AND objid = :low"
                ),
                {"low": articles.STORY_MATCHING_LOCK & 0xFFFFFFFF},
            )
            or 0
        )


def run(ctx: JobContext, pending: list[PendingEntry], errors: list[BaseException]) -> None:
    try:
        process_batch(ctx, pending, {})
    except BaseException as exc:
        errors.append(exc)


def test_a_story_and_its_repost_matched_at_once_are_one_story() -> None:
    for url in postgres_database():
        db = Database(url)
        db.upgrade()
        now = datetime.now(UTC)
        config = Config(
            database_url=url,
            feeds=[
                {"id": "a", "url": "https://a.example/f"},
                {"id": "b", "url": "https://b.example/f"},
            ],
        )
        with db.session() as session:
            feeds.sync_feeds(
                session, [Feed("a", "https://a.example/f"), Feed("b", "https://b.example/f")], now
            )
            for feed, link, extra in (
                ("a", "https://a.example/port", ""),
                ("b", "https://b.example/copy", "<p>Follow us for more news every day.</p>"),
            ):
                entry = Entry(
                    feed_id=feed,
                    key=link,
                    title="New container terminal to open in May",
                    link=link,
                    content_html=f"<p>{STORY}</p>{extra}",
                )
                ok = FetchResult(feed, f"https://{feed}.example/f", 200, body=b"")
                feeds.record_polls(session, [PollOutcome(ok, [entry])], now, config.polling)
        with db.session() as session:
            first = articles.claim_unprocessed(session, now, 1, timedelta(minutes=5))
        with db.session() as session:
            second = articles.claim_unprocessed(session, now, 1, timedelta(minutes=5))
        assert len(first) == len(second) == 1

        contexts = [
            JobContext(db=Database(url), config=config, fetcher=Fetcher(config.fetch))
            for _ in range(2)
        ]
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=run, args=(ctx, batch, errors))
            for ctx, batch in zip(contexts, (first, second), strict=True)
        ]
        holder = db.engine.connect()
        try:
            holder.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": articles.STORY_MATCHING_LOCK}
            )
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while waiting_for_the_lock(db) < 2:
                assert time.monotonic() < deadline, "the two did not both wait for the lock"
                assert not errors, errors
                time.sleep(0.05)
            assert all(t.is_alive() for t in threads)
        finally:
            holder.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": articles.STORY_MATCHING_LOCK}
            )
            holder.close()
            for thread in threads:
                thread.join(60)
        assert not errors, errors
        with db.session() as session:
            stories = session.scalar(select(func.count(func.distinct(ArticleRow.story_id))))
            saved = session.scalar(select(func.count()).select_from(ArticleRow))
        assert (saved, stories) == (2, 1)
        for ctx in contexts:
            ctx.db.dispose()
        db.dispose()
