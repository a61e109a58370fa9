"""Queries on feeds: their config, their fetch state and health, and the entries polls bring."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from newsbrief.config.settings import PollingConfig
from newsbrief.feeds.polling import (
    RATE_WINDOW,
    IntervalPolicy,
    PollObservation,
    entries_per_week,
    plan_next_check,
)
from newsbrief.records import Entry, ErrorKind, Feed, FeedState, FetchResult
from newsbrief.store.tables import EntryRow, FeedRow

_GONE = (404, 410)


def sync_feeds(session: Session, feeds: Sequence[Feed], now: datetime) -> None:
    """Make the feeds table follow the config: add new feeds, update changed ones, retire gone ones.

    A feed disabled after failing stays disabled until its URL changes in the config or an
    admin enables it again; a feed that left the config is kept (its entries and stories stay).
    """
    rows = {row.id: row for row in session.scalars(select(FeedRow))}
    for feed in feeds:
        row = rows.pop(feed.id, None)
        if row is None:
            row = FeedRow(
                id=feed.id,
                url=feed.url,
                config_url=feed.url,
                enabled=True,
                next_check_at=now,
                error_count=0,
                gone_count=0,
                redirect_seen=0,
            )
            session.add(row)
        elif row.config_url != feed.url:
            # A new address starts afresh: old validators and failures belong to the old one.
            row.url = row.config_url = feed.url
            row.etag = row.last_modified = row.redirect_url = None
            row.error_count = row.gone_count = row.redirect_seen = 0
            row.enabled, row.disabled_reason, row.next_check_at = True, None, now
        elif not row.enabled and row.disabled_reason is None:
            row.enabled, row.next_check_at = True, now  # back in the config
        row.interval_minutes = feed.interval_minutes
        row.min_interval, row.max_interval = feed.min_interval, feed.max_interval
        row.announce_updates = feed.announce_updates
    for row in rows.values():
        if row.disabled_reason is None:
            row.enabled = False


def enable(session: Session, feed_id: str, now: datetime) -> bool:
    """An admin gives a disabled feed another chance."""
    row = session.get(FeedRow, feed_id)
    if row is None:
        return False
    row.enabled, row.disabled_reason, row.disabled_at = True, None, None
    row.error_count = row.gone_count = 0
    row.next_check_at = now
    return True


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


def content_hash(entry: Entry) -> str:
    text = f"{entry.title}\x00{entry.link or ''}\x00{entry.content_html}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll of one feed, fetched and parsed, ready to be stored."""

    result: FetchResult
    entries: Sequence[Entry] = ()
    title: str | None = None
    ttl_minutes: int | None = None
    error_kind: ErrorKind | None = None
    """A parse failure (``not_a_feed``, ``parse_error``); fetch failures are in ``result``."""
    error: str | None = None

    @property
    def failure(self) -> tuple[ErrorKind, str] | None:
        if self.error:
            return self.error_kind or ErrorKind.PARSE, self.error
        if self.result.error:
            return self.result.error_kind or ErrorKind.HTTP, self.result.error
        return None


@dataclass(frozen=True, slots=True)
class PollRecord:
    feed_id: str
    new: int = 0
    updated: int = 0
    disabled: str | None = None
    """Set when this poll made the feed give up: the reason, for the admins."""


def policy_for(row: FeedRow, polling: PollingConfig) -> IntervalPolicy:
    low = max(polling.min_interval, row.min_interval or 0)
    high = min(polling.max_interval, row.max_interval or polling.max_interval)
    return IntervalPolicy(
        base=row.interval_minutes,
        min=low,
        max=max(low, high),
        adaptive=polling.adaptive,
        jitter=polling.jitter,
    )


def record_polls(
    session: Session,
    outcomes: Sequence[PollOutcome],
    now: datetime,
    polling: PollingConfig,
    rng: random.Random | None = None,
) -> list[PollRecord]:
    """Store polls: new and edited entries, validators, health, the next check of each feed.

    The feed rows are locked and loaded in one query, not one per poll.
    """
    ids = [o.result.feed_id for o in outcomes]
    rows = {
        row.id: row
        for row in session.scalars(select(FeedRow).where(FeedRow.id.in_(ids)).with_for_update())
    }
    # The feed rows' changes are written together at commit, not flushed before every query.
    with session.no_autoflush:
        return [
            _record_poll(session, rows[o.result.feed_id], o, now, polling, rng)
            if o.result.feed_id in rows
            else PollRecord(o.result.feed_id)
            for o in outcomes
        ]


def _record_poll(
    session: Session,
    row: FeedRow,
    outcome: PollOutcome,
    now: datetime,
    polling: PollingConfig,
    rng: random.Random | None,
) -> PollRecord:
    result = outcome.result
    row.last_checked_at, row.last_status, row.lease_until = now, result.status, None
    policy = policy_for(row, polling)
    failure = outcome.failure
    if failure is not None:
        return _record_failure(row, failure, result, now, polling, policy, rng)
    row.error_count = row.gone_count = 0
    row.last_error = row.last_error_kind = None
    row.last_success_at = now
    if result.not_modified:
        # A 304 may refresh the validators; it never clears them.
        row.etag = result.etag or row.etag
        row.last_modified = result.last_modified or row.last_modified
    else:
        row.etag, row.last_modified = result.etag, result.last_modified
    if outcome.title:
        row.title = outcome.title
    _follow_redirect(row, result.permanent_redirect, polling.redirect_confirmations)
    new, updated = _store_entries(session, row, outcome.entries, now)
    if outcome.entries:
        rate = entries_per_week([e.published_at for e in outcome.entries], now)
        # Undated feeds: count what we stored over the window instead.
        row.entries_per_week = rate if rate is not None else _stored_per_week(session, row.id, now)
    seen = PollObservation(
        ok=True,
        entries_per_week=row.entries_per_week,
        ttl_minutes=outcome.ttl_minutes,
        max_age_seconds=result.max_age,
    )
    row.next_check_at = plan_next_check(now, policy, seen, rng)
    return PollRecord(row.id, new=new, updated=updated)


def _record_failure(
    row: FeedRow,
    failure: tuple[ErrorKind, str],
    result: FetchResult,
    now: datetime,
    polling: PollingConfig,
    policy: IntervalPolicy,
    rng: random.Random | None,
) -> PollRecord:
    kind, message = failure
    row.error_count += 1
    row.gone_count = row.gone_count + 1 if result.status in _GONE else 0
    row.last_error, row.last_error_kind = message[:2000], kind
    seen = PollObservation(
        ok=False,
        error_count=row.error_count,
        entries_per_week=row.entries_per_week,
        retry_after_seconds=result.retry_after,
    )
    row.next_check_at = plan_next_check(now, policy, seen, rng)
    if row.gone_count >= polling.max_errors_gone or row.error_count >= polling.max_errors:
        times = row.gone_count if row.gone_count >= polling.max_errors_gone else row.error_count
        row.enabled, row.disabled_at = False, now
        row.disabled_reason = f"{message} ({times} times in a row)"
        return PollRecord(row.id, disabled=row.disabled_reason)
    return PollRecord(row.id)


def _follow_redirect(row: FeedRow, target: str | None, confirmations: int) -> None:
    """Adopt a permanent redirect only once it has been seen on several polls in a row."""
    if not target or target == row.url:
        row.redirect_url, row.redirect_seen = None, 0
        return
    if row.redirect_url == target:
        row.redirect_seen += 1
    else:
        row.redirect_url, row.redirect_seen = target, 1
    if row.redirect_seen >= confirmations:
        row.url, row.redirect_url, row.redirect_seen = target, None, 0


def _store_entries(
    session: Session, feed: FeedRow, entries: Sequence[Entry], now: datetime
) -> tuple[int, int]:
    """Insert entries not seen before; update the ones whose content changed. (new, updated)"""
    if not entries:
        return 0, 0
    by_hash: dict[str, Entry] = {}
    for entry in entries:
        by_hash.setdefault(key_hash(entry.key), entry)
    # Only the hashes: reading every stored entry's content back would cost more than the poll.
    known = select(EntryRow.key_hash, EntryRow.id, EntryRow.content_hash).where(
        EntryRow.feed_id == feed.id, EntryRow.key_hash.in_(list(by_hash))
    )
    existing = {
        digest: (entry_id, fingerprint) for digest, entry_id, fingerprint in session.execute(known)
    }
    rows: list[dict[str, object]] = []
    updated = 0
    # Feeds list newest first; store oldest first so the sequence follows publication order.
    for digest, entry in reversed(by_hash.items()):
        fingerprint = content_hash(entry)
        stored = existing.get(digest)
        if stored is None:
            rows.append(
                {
                    "feed_id": feed.id,
                    "key": entry.key,
                    "key_hash": digest,
                    "title": entry.title,
                    "link": entry.link,
                    "content_html": entry.content_html,
                    "content_hash": fingerprint,
                    "author": entry.author,
                    "published_at": entry.published_at,
                    "fetched_at": now,
                    "revision": 0,
                    "announce": False,
                }
            )
        elif stored[1] != fingerprint:
            row = session.get_one(EntryRow, stored[0])
            row.title, row.link, row.content_html = entry.title, entry.link, entry.content_html
            row.content_hash, row.author, row.updated_at = fingerprint, entry.author, now
            row.revision += 1
            # Processed again so its article follows the edit; announced only if the feed asks.
            row.processed_at, row.announce = None, feed.announce_updates
            updated += 1
    if rows:
        # One executemany instead of the unit of work's per-object bookkeeping.
        session.execute(insert(EntryRow), rows)
    return len(rows), updated


def _stored_per_week(session: Session, feed_id: str, now: datetime) -> float:
    since = now - RATE_WINDOW
    when = func.coalesce(EntryRow.published_at, EntryRow.fetched_at)
    count = session.scalar(
        select(func.count()).where(EntryRow.feed_id == feed_id, when >= since, when <= now)
    )
    return round(int(count or 0) * timedelta(weeks=1) / RATE_WINDOW, 2)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: str
    url: str
    title: str | None
    status: str
    """``ok``, ``new`` (never polled), ``failing``, ``disabled`` (gave up) or ``removed``."""
    last_success_at: datetime | None
    last_checked_at: datetime | None
    last_error: str | None
    last_error_kind: str | None
    error_count: int
    next_check_at: datetime | None
    entries: int
    entries_per_week: float | None


def _status(row: FeedRow) -> str:
    if not row.enabled:
        return "disabled" if row.disabled_reason else "removed"
    if row.error_count:
        return "failing"
    return "ok" if row.last_success_at else "new"


def feed_health(session: Session) -> list[FeedHealth]:
    query = select(EntryRow.feed_id, func.count()).group_by(EntryRow.feed_id)
    counts = {feed_id: int(n) for feed_id, n in session.execute(query)}
    return [
        FeedHealth(
            id=row.id,
            url=row.url,
            title=row.title,
            status=_status(row),
            last_success_at=row.last_success_at,
            last_checked_at=row.last_checked_at,
            last_error=row.disabled_reason or row.last_error,
            last_error_kind=row.last_error_kind,
            error_count=row.error_count,
            next_check_at=row.next_check_at if row.enabled else None,
            entries=counts.get(row.id, 0),
            entries_per_week=row.entries_per_week,
        )
        for row in session.scalars(select(FeedRow).order_by(FeedRow.id))
    ]


def make_all_due(session: Session, now: datetime) -> None:
    """``poll --once --all``: check every enabled feed now, whatever its schedule says."""
    session.execute(update(FeedRow).where(FeedRow.enabled.is_(True)).values(next_check_at=now))
