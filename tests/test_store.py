"""Migrations, and the claims that let several processes share the work."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from newsbrief.config.settings import PollingConfig
from newsbrief.records import Entry, ErrorKind, Feed, FetchResult, PollOutcome
from newsbrief.store import feeds
from newsbrief.store.db import MIGRATIONS, Database
from newsbrief.store.tables import Base
from tests.conftest import postgres_database

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLLING = PollingConfig(jitter=0, adaptive=False)


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def test_migrations_match_the_tables(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    db.upgrade()  # idempotent
    assert db.current_revision() == head_revision()


def test_claimed_feeds_are_leased(db: Database) -> None:
    with db.session() as s:
        feeds.sync_feeds(s, [Feed("a", "https://a/x"), Feed("b", "https://b/x")], NOW)
    with db.session() as s:
        first = feeds.claim_due_feeds(s, NOW, 10, timedelta(minutes=5))
    with db.session() as s:
        again = feeds.claim_due_feeds(s, NOW, 10, timedelta(minutes=5))
    assert sorted(f.feed_id for f in first) == ["a", "b"] and again == []
    with db.session() as s:  # a crashed poller's lease runs out
        later = feeds.claim_due_feeds(s, NOW + timedelta(minutes=6), 10, timedelta(minutes=5))
    assert len(later) == 2


def test_entries_are_stored_once_and_errors_back_off(db: Database) -> None:
    with db.session() as s:
        feeds.sync_feeds(s, [Feed("a", "https://a/x", interval_minutes=10)], NOW)
    entry = Entry(feed_id="a", key="guid-1", title="t", link=None, content_html="v1")
    ok = FetchResult("a", "https://a/x", 200, body=b"", etag='"1"')
    with db.session() as s:
        assert feeds.record_polls(s, [PollOutcome(ok, [entry, entry])], NOW, POLLING)[0].new == 1
    with db.session() as s:
        again = feeds.record_polls(s, [PollOutcome(ok, [entry])], NOW, POLLING)[0]
        assert (again.new, again.updated) == (0, 0)
    edited = Entry(feed_id="a", key="guid-1", title="t", link=None, content_html="v2")
    with db.session() as s:
        assert feeds.record_polls(s, [PollOutcome(ok, [edited])], NOW, POLLING)[0].updated == 1
    failed = FetchResult(
        "a", "https://a/x", 500, error="HTTP 500 Internal Server Error", error_kind=ErrorKind.HTTP
    )
    with db.session() as s:
        feeds.record_polls(s, [PollOutcome(failed)], NOW, POLLING)
        feeds.record_polls(s, [PollOutcome(failed)], NOW, POLLING)
    with db.session() as s:
        (health,) = feeds.feed_health(s)
    assert health.status == "failing" and health.error_count == 2 and health.entries == 1
    assert health.next_check_at == NOW + timedelta(minutes=20)  # 10 min, doubled once
    assert health.last_error == "HTTP 500 Internal Server Error"
    assert health.last_error_kind == "http"
    not_modified = FetchResult("a", "https://a/x", 304)
    with db.session() as s:
        feeds.record_polls(s, [PollOutcome(not_modified)], NOW, POLLING)
        (health,) = feeds.feed_health(s)
    assert health.status == "ok" and health.error_count == 0


def test_an_edit_stays_in_its_story_unless_announced(db: Database) -> None:
    from newsbrief.articles.build import build_article
    from newsbrief.articles.topics import TopicMatcher
    from newsbrief.store import articles

    with db.session() as s:
        feeds.sync_feeds(s, [Feed("a", "https://a/x")], NOW)
    entry = Entry(
        feed_id="a", key="k", title="Title", link="https://a/1", content_html="<p>One.</p>"
    )
    ok = FetchResult("a", "https://a/x", 200, body=b"")
    with db.session() as s:
        feeds.record_polls(s, [PollOutcome(ok, [entry])], NOW, POLLING)
        (pending,) = articles.claim_unprocessed(s, NOW, 10, timedelta(minutes=1))
    matcher = TopicMatcher([])

    def save(content: str, announce: bool) -> int:
        article = build_article(pending.id, replace(entry, content_html=content), matcher)
        with db.session() as s:
            return articles.save_article(s, article, article.title, NOW, announce=announce)[1]

    first = save("<p>One.</p>", announce=False)
    assert save("<p>One, corrected.</p>", announce=False) == first
    announced = save("<p>One, corrected again.</p>", announce=True)
    assert announced > first
    with db.session() as s:
        assert articles.head_position(s) == announced


def test_subscriptions_move_onto_their_subscribers_in_order(database_url: str) -> None:
    from sqlalchemy import text

    from newsbrief.store import subscribers

    database = Database(database_url)
    try:
        database.upgrade("0003")
        with database.engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO subscribers (id, platform, chat_id, thread_id, lang, timezone,"
                    " schedule, paused, created_at) VALUES (1, 'telegram', '5', 0, 'en', 'UTC',"
                    " 'instant', false, :now)"
                ),
                {"now": NOW.replace(tzinfo=None)},
            )
            for minute, topic in ((3, "ai"), (1, "crypto"), (2, "sports")):
                c.execute(
                    text("INSERT INTO subscriptions VALUES (1, :topic, :at)"),
                    {"topic": topic, "at": NOW.replace(tzinfo=None, minute=minute)},
                )
        database.upgrade()
        with database.session() as s:
            assert list(subscribers.get(s, 1).topics) == ["crypto", "sports", "ai"]
    finally:
        database.dispose()


@pytest.mark.postgres
def test_processes_starting_at_once_migrate_a_new_database_once() -> None:
    """Six processes starting together on an empty PostgreSQL database: one migrates, the
    others wait for it and find nothing to do (without the lock, five failed on pg_type)."""
    made = postgres_database()
    url = next(made)
    try:
        databases = [Database(url) for _ in range(6)]
        start = threading.Barrier(len(databases))
        errors: list[BaseException] = []

        def upgrade(db: Database) -> None:
            start.wait()
            try:
                db.upgrade()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=upgrade, args=(db,), daemon=True) for db in databases]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "the migrations are stuck on each other"
        assert errors == []
        assert {db.current_revision() for db in databases} == {databases[0].current_revision()}
        for db in databases:
            db.dispose()
    finally:
        made.close()


def test_a_redoable_transaction_skips_the_disk_wait_and_only_it() -> None:
    """Compose batches commit without waiting for PostgreSQL's WAL flush; the setting is the
    transaction's own (SET LOCAL), so the pooled connection's next user waits as usual."""
    made = postgres_database()
    db = Database(next(made))
    try:
        db.upgrade()
        with db.session(redoable=True) as session:
            assert session.scalar(text("SHOW synchronous_commit")) == "off"
        for _ in range(3):  # whichever pooled connection comes next
            with db.session() as session:
                assert session.scalar(text("SHOW synchronous_commit")) == "on"
    finally:
        db.dispose()
        made.close()


def test_the_outbox_migration_keeps_messages_and_downgrades(database_url: str) -> None:
    """0014 drops the outbox's foreign key to subscribers, keeping every message; going back
    sets the id of a message whose subscriber is gone to NULL, as ON DELETE SET NULL did."""
    db = Database(database_url)
    try:
        db.upgrade("0013")
        insert = (
            "INSERT INTO deliveries (key, subscriber_id, platform, chat_id, thread_id, text, "
            "disable_preview, status, attempts, due_at, created_at, priority) VALUES "
            "(:key, :sid, 'telegram', '1', 0, 'hi', true, 'pending', 0, :now, :now, 0)"
        )
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO subscribers (id, platform, chat_id, thread_id, lang, timezone, "
                    "schedule, paused, created_at, subscriptions, filters) VALUES (7, 'telegram', "
                    "'1', 0, 'en', 'UTC', 'instant', false, :now, '[]', '{}')"
                ),
                {"now": NOW.replace(tzinfo=None)},
            )
            connection.execute(
                text(insert), {"key": "a", "sid": 7, "now": NOW.replace(tzinfo=None)}
            )
        db.upgrade()
        with db.engine.begin() as connection:  # no key now: a subscriber that is not there
            connection.execute(
                text(insert), {"key": "b", "sid": 99, "now": NOW.replace(tzinfo=None)}
            )
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0013")
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT key, subscriber_id FROM deliveries ORDER BY key")
            )
            assert [tuple(r) for r in rows] == [("a", 7), ("b", None)]
        db.upgrade()
        assert db.current_revision() == head_revision()
    finally:
        db.dispose()
