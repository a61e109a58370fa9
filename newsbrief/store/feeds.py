"""Queries on feeds and their fetch state."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from newsbrief.records import Entry, Feed, FeedState, FetchResult
from newsbrief.store.tables import EntryRow, FeedRow

MAX_BACKOFF = timedelta(hours=24)


def sync_feeds(session: Session, feeds: Sequence[Feed], now: datetime) -> None:
    """Make the feeds table follow the config: add new feeds, update changed ones, disable gone ones."""
    rows = {row.id: row for row in session.scalars(select(FeedRow))}
    for feed in feeds:
        row = rows.pop(feed.id, None)
        if row is None:
            session.add(
                FeedRow(
                    id=feed.id,
                    url=feed.url,
                    interval_minutes=feed.interval_minutes,
                    enabled=True,
                    next_check_at=now,
                    error_count=0,
                )
            )
            continue
        if row.url != feed.url:
            # A new address starts afresh: old validators belong to the old one.
            row.url, row.etag, row.last_modified, row.next_check_at = feed.url, None, None, now
        row.interval_minutes = feed.interval_minutes
        if not row.enabled:
            row.enabled, row.next_check_at = True, now
    for row in rows.values():
        row.enabled = False


def claim_due_feeds(
    session: Session, now: datetime, limit: int, lease: timedelta
) -> list[FeedState]:
    """Feeds whose check is due, leased so another poller skips them until the lease ends."""
    query = (
        select(FeedRow)
        .where(
            FeedRow.enabled.is_(True),
            FeedRow.next_check_at <= now,
            or_(FeedRow.lease_until.is_(None), FeedRow.lease_until <= now),
        )
        .order_by(FeedRow.next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in session.scalars(query):
        row.lease_until = now + lease
        claimed.append(
            FeedState(
                feed_id=row.id,
                url=row.url,
                etag=row.etag,
                last_modified=row.last_modified,
                error_count=row.error_count,
            )
        )
    return claimed


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def record_fetch(
    session: Session,
    result: FetchResult,
    now: datetime,
    *,
    entries: Sequence[Entry] = (),
    title: str | None = None,
    error: str | None = None,
) -> int:
    """Store the outcome of one poll: new entries, validators, health, the next check.

    Returns how many entries were new. Entries already stored (same feed, same key) are left
    as they are, so a feed that re-sends its items announces nothing twice.
    """
    row = session.get(FeedRow, result.feed_id, with_for_update=True)
    if row is None:
        return 0
    error = error or result.error
    row.last_checked_at, row.last_status, row.lease_until = now, result.status, None
    if error:
        row.error_count += 1
        row.last_error = error
        backoff = timedelta(minutes=row.interval_minutes) * (2 ** min(row.error_count, 10))
        row.next_check_at = now + min(backoff, MAX_BACKOFF)
        return 0
    row.error_count, row.last_error, row.last_success_at = 0, None, now
    if result.not_modified:
        # A 304 may refresh the validators; it never clears them.
        row.etag = result.etag or row.etag
        row.last_modified = result.last_modified or row.last_modified
    else:
        row.etag, row.last_modified = result.etag, result.last_modified
    if title:
        row.title = title
    row.next_check_at = now + timedelta(minutes=row.interval_minutes)
    return _insert_new_entries(session, entries, now)


def _insert_new_entries(session: Session, entries: Sequence[Entry], now: datetime) -> int:
    if not entries:
        return 0
    by_hash: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        by_hash.setdefault((entry.feed_id, key_hash(entry.key)), entry)
    feed_ids = {feed_id for feed_id, _ in by_hash}
    query = select(EntryRow.feed_id, EntryRow.key_hash).where(
        EntryRow.feed_id.in_(feed_ids), EntryRow.key_hash.in_([h for _, h in by_hash])
    )
    existing = {(feed_id, digest) for feed_id, digest in session.execute(query)}
    new = [(k, e) for k, e in by_hash.items() if k not in existing]
    # Feeds list newest first; store oldest first so the sequence follows publication order.
    for (_, digest), entry in reversed(new):
        session.add(
            EntryRow(
                feed_id=entry.feed_id,
                key=entry.key,
                key_hash=digest,
                title=entry.title,
                link=entry.link,
                content_html=entry.content_html,
                author=entry.author,
                published_at=entry.published_at,
                fetched_at=now,
            )
        )
    return len(new)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: str
    url: str
    title: str | None
    enabled: bool
    status: str
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    next_check_at: datetime
    entries: int


def feed_health(session: Session) -> list[FeedHealth]:
    query = select(EntryRow.feed_id, func.count()).group_by(EntryRow.feed_id)
    counts = {feed_id: int(n) for feed_id, n in session.execute(query)}
    out = []
    for row in session.scalars(select(FeedRow).order_by(FeedRow.id)):
        if not row.enabled:
            status = "disabled"
        elif row.error_count:
            status = "failing"
        elif row.last_success_at is None:
            status = "new"
        else:
            status = "ok"
        out.append(
            FeedHealth(
                id=row.id,
                url=row.url,
                title=row.title,
                enabled=row.enabled,
                status=status,
                last_success_at=row.last_success_at,
                last_error=row.last_error,
                error_count=row.error_count,
                next_check_at=row.next_check_at,
                entries=counts.get(row.id, 0),
            )
        )
    return out


def feed_titles(session: Session) -> dict[str, str]:
    return {row.id: row.title or row.id for row in session.scalars(select(FeedRow))}


def make_all_due(session: Session, now: datetime) -> None:
    """``poll --once``: check every enabled feed now, whatever its schedule says."""
    session.execute(update(FeedRow).where(FeedRow.enabled.is_(True)).values(next_check_at=now))
