"""Storing a batch of polls at once (``store.feeds.record_polls``): entries looked up for the
whole batch and inserted together must come out as polls stored one by one would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from newsbrief.config.settings import PollingConfig
from newsbrief.records import Entry, ErrorKind, Feed, FetchResult, PollOutcome
from newsbrief.store import feeds
from newsbrief.store.db import Database
from newsbrief.store.tables import EntryRow, FeedRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLLING = PollingConfig(jitter=0, adaptive=False)


def entry(feed: str, key: str, body: str = "v1", day: int | None = 1) -> Entry:
    published = datetime(2026, 11, day, tzinfo=UTC) if day else None
    return Entry(feed, key, f"title {key}", None, body, published_at=published)


def ok(feed: str) -> FetchResult:
    return FetchResult(feed, f"https://{feed}/x", 200, body=b"")


def test_a_batch_of_polls_stores_what_one_by_one_would(db: Database) -> None:
    names = [f"f{i}" for i in range(6)]
    with db.session() as s:
        feeds.sync_feeds(s, [Feed(n, f"https://{n}/x") for n in names], NOW)
        # Stored before: f0 and f1 hold the same guid (a repost), f2 an entry to be edited.
        feeds.record_polls(
            s,
            [
                feeds_outcome("f0", [entry("f0", "shared"), entry("f0", "old0")]),
                feeds_outcome("f1", [entry("f1", "shared")]),
                feeds_outcome("f2", [entry("f2", "edit-me")]),
            ],
            NOW,
            POLLING,
        )
    failed = FetchResult("f3", "https://f3/x", 500, error="HTTP 500", error_kind=ErrorKind.HTTP)
    batch = [
        # Newest first, as feeds list them: stored oldest first.
        feeds_outcome("f0", [entry("f0", "new0b", day=3), entry("f0", "new0a", day=2)]),
        feeds_outcome("f1", [entry("f1", "shared"), entry("f1", "new1")]),
        feeds_outcome("f2", [entry("f2", "edit-me", body="v2")]),
        PollOutcome(failed),
        # Undated: the rate counts stored entries, those of this very batch included.
        feeds_outcome("f4", [entry("f4", f"u{k}", day=None) for k in range(3)]),
        feeds_outcome("f5", [entry("f5", "shared"), entry("f5", "shared")]),
    ]
    batch.append(feeds_outcome("f5", [entry("f5", "shared"), entry("f5", "late")]))
    with db.session() as s:
        records = feeds.record_polls(s, batch, NOW, POLLING)
    assert [(r.feed_id, r.new, r.updated) for r in records] == [
        ("f0", 2, 0),
        ("f1", 1, 0),
        ("f2", 0, 1),
        ("f3", 0, 0),
        ("f4", 3, 0),
        ("f5", 1, 0),
        ("f5", 1, 0),  # the same feed twice in a batch: its first poll's entries count
    ]
    with db.session() as s:
        stored = s.execute(select(EntryRow.feed_id, EntryRow.key).order_by(EntryRow.id)).all()
        edited = s.scalars(select(EntryRow).where(EntryRow.key == "edit-me")).one()
        rate = s.scalar(select(FeedRow.entries_per_week).where(FeedRow.id == "f4"))
    assert [tuple(r) for r in stored][4:] == [
        ("f0", "new0a"),
        ("f0", "new0b"),
        ("f1", "new1"),
        ("f4", "u2"),
        ("f4", "u1"),
        ("f4", "u0"),
        ("f5", "shared"),
        ("f5", "late"),
    ]
    assert (edited.content_html, edited.revision, edited.processed_at) == ("v2", 1, None)
    assert rate == feeds.stored_per_week(3)


def feeds_outcome(feed: str, entries: list[Entry]) -> PollOutcome:
    return PollOutcome(ok(feed), entries)


def test_more_keys_than_one_lookup_holds(db: Database) -> None:
    names = [f"f{i}" for i in range(3)]
    many = feeds.LOOKUP_CHUNK // 2 + 7
    with db.session() as s:
        feeds.sync_feeds(s, [Feed(n, f"https://{n}/x") for n in names], NOW)
    first = [feeds_outcome(n, [entry(n, f"k{k}") for k in range(many)]) for n in names]
    with db.session() as s:
        assert [r.new for r in feeds.record_polls(s, first, NOW, POLLING)] == [many] * 3
    again = [feeds_outcome(n, [entry(n, f"k{k}") for k in range(many + 1)]) for n in names]
    with db.session() as s:
        records = feeds.record_polls(s, again, NOW + timedelta(hours=1), POLLING)
    assert [(r.new, r.updated) for r in records] == [(1, 0)] * 3
