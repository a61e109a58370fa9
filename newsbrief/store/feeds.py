"""Queries on feeds: their config, their fetch state and health, and the entries polls bring."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    Table,
    and_,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from newsbrief.config.settings import PollingConfig
from newsbrief.feeds.names import display_name
from newsbrief.feeds.polling import (
    RATE_WINDOW,
    Address,
    Failures,
    IntervalPolicy,
    PollObservation,
    count_failure,
    entries_per_week,
    feed_status,
    follow_redirect,
    give_up,
    interval_policy,
    plan_next_check,
    stored_per_week,
    validators_after,
)
from newsbrief.records import (
    Entry,
    ErrorKind,
    Feed,
    FeedHealth,
    FeedState,
    FetchResult,
    PollOutcome,
    PollRecord,
)
from newsbrief.store.tables import EntryRow, FeedRow


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
        row.name = feed.name
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
    writes = _EntryWrites(session, [o for o in outcomes if o.result.feed_id in rows])
    # The feed rows' changes are written together at commit, not flushed before every query.
    with session.no_autoflush:
        records = [
            _record_poll(writes, rows[o.result.feed_id], o, now, polling, rng)
            if o.result.feed_id in rows
            else PollRecord(o.result.feed_id)
            for o in outcomes
        ]
    writes.flush()
    return records


_ENTRIES = cast(Table, EntryRow.__table__)
LOOKUP_CHUNK = 2000
"""Entry hashes per lookup query (SQLite allows 32,766 parameters)."""


class _EntryWrites:
    """A batch of polls' entry reads and inserts: which entries are stored already, looked up
    for the whole batch at once, and the new ones inserted together (in poll order, each
    feed's oldest first). A query per feed cost more than the database's own work."""

    def __init__(self, session: Session, outcomes: Sequence[PollOutcome]) -> None:
        self.session = session
        self.pending: list[dict[str, object]] = []
        self._hashes = {id(o): _hashed(o.entries) for o in outcomes if not o.failure}
        self._looked_up: set[str] = set()
        self.known: dict[tuple[str, str], tuple[int, str]] = {}
        self._look_up([o for o in outcomes if self._hashes.get(id(o))])

    def _look_up(self, outcomes: Sequence[PollOutcome]) -> None:
        # One query for many feeds, one index probe per (feed, key): an OR of per-feed terms.
        # (feed IN … AND key IN … would probe every feed for every key.)
        wanted: dict[str, set[str]] = {}
        for outcome in outcomes:
            wanted.setdefault(outcome.result.feed_id, set()).update(self._hashes[id(outcome)])
        table = _ENTRIES
        terms: list[ColumnElement[bool]] = []
        size = 0
        for i, (feed_id, digests) in enumerate(wanted.items()):
            terms.append(and_(table.c.feed_id == feed_id, table.c.key_hash.in_(list(digests))))
            size += len(digests)
            if size < LOOKUP_CHUNK and i < len(wanted) - 1:
                continue
            query = select(
                table.c.feed_id, table.c.key_hash, table.c.id, table.c.content_hash
            ).where(or_(*terms))
            for feed_id_, digest, entry_id, fingerprint in self.session.connection().execute(query):
                self.known[(feed_id_, digest)] = (entry_id, fingerprint)
            terms, size = [], 0

    def entries(self, outcome: PollOutcome) -> dict[str, Entry]:
        """This poll's entries by key hash (the first of each key). The same feed polled twice
        in one batch is looked up again, after the first poll's entries are written."""
        by_hash = self._hashes.get(id(outcome)) or {}
        feed_id = outcome.result.feed_id
        if by_hash and feed_id in self._looked_up:
            self.flush()
            self._look_up([outcome])
        self._looked_up.add(feed_id)
        return by_hash

    def flush(self) -> None:
        """Insert the new entries collected so far (before anything counts stored entries)."""
        if self.pending:
            self.session.connection().execute(insert(_ENTRIES), self.pending)
            self.pending = []


def _hashed(entries: Sequence[Entry]) -> dict[str, Entry]:
    by_hash: dict[str, Entry] = {}
    for entry in entries:
        by_hash.setdefault(key_hash(entry.key), entry)
    return by_hash


def _record_poll(
    writes: _EntryWrites,
    row: FeedRow,
    outcome: PollOutcome,
    now: datetime,
    polling: PollingConfig,
    rng: random.Random | None,
) -> PollRecord:
    result = outcome.result
    row.last_checked_at, row.last_status, row.lease_until = now, result.status, None
    policy = interval_policy(polling, row.interval_minutes, row.min_interval, row.max_interval)
    failure = outcome.failure
    if failure is not None:
        return _record_failure(row, failure, result, now, polling, policy, rng)
    _set_failures(row, Failures())  # a success ends the run
    row.last_error = row.last_error_kind = None
    row.last_success_at = now
    row.etag, row.last_modified = validators_after(result, row.etag, row.last_modified)
    if outcome.title:
        row.title = outcome.title
    before = Address(row.url, row.redirect_url, row.redirect_seen)
    addr = follow_redirect(before, result.permanent_redirect, polling.redirect_confirmations)
    row.url, row.redirect_url, row.redirect_seen = addr.url, addr.redirect_url, addr.redirect_seen
    new, updated = _store_entries(writes, row, outcome, now)
    if outcome.entries:
        rate = entries_per_week([e.published_at for e in outcome.entries], now)
        if rate is None:  # undated feeds: count what we stored over the window instead
            writes.flush()
            rate = _stored_per_week(writes.session, row.id, now)
        row.entries_per_week = rate
    seen = PollObservation(
        ok=True,
        entries_per_week=row.entries_per_week,
        ttl_minutes=outcome.ttl_minutes,
        max_age_seconds=result.max_age,
    )
    row.next_check_at = plan_next_check(now, policy, seen, rng)
    return PollRecord(row.id, new=new, updated=updated)


def _set_failures(row: FeedRow, failures: Failures) -> None:
    row.error_count, row.gone_count = failures.errors, failures.gone


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
    failures = count_failure(Failures(row.error_count, row.gone_count), result.status)
    _set_failures(row, failures)
    row.last_error, row.last_error_kind = message[:2000], kind
    seen = PollObservation(
        ok=False,
        error_count=failures.errors,
        entries_per_week=row.entries_per_week,
        retry_after_seconds=result.retry_after,
    )
    row.next_check_at = plan_next_check(now, policy, seen, rng)
    reason = give_up(failures, message, polling)
    if reason is not None:
        row.enabled, row.disabled_at, row.disabled_reason = False, now, reason
    return PollRecord(row.id, disabled=reason, failures=failures.errors)


def _store_entries(
    writes: _EntryWrites, feed: FeedRow, outcome: PollOutcome, now: datetime
) -> tuple[int, int]:
    """Queue entries not seen before; update the ones whose content changed. (new, updated)

    Only the hashes of stored entries are read: their content would cost more than the poll.
    """
    by_hash = writes.entries(outcome)
    if not by_hash:
        return 0, 0
    session, known = writes.session, writes.known
    rows = writes.pending
    added = len(rows)
    updated = 0
    # Feeds list newest first; store oldest first so the sequence follows publication order.
    for digest, entry in reversed(by_hash.items()):
        fingerprint = content_hash(entry)
        stored = known.get((feed.id, digest))
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
                    "image_url": entry.image_url,
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
            row.image_url = entry.image_url
            row.revision += 1
            # Processed again so its article follows the edit; announced only if the feed asks.
            row.processed_at, row.announce = None, feed.announce_updates
            updated += 1
    return len(rows) - added, updated


def _stored_per_week(session: Session, feed_id: str, now: datetime) -> float:
    since = now - RATE_WINDOW
    when = func.coalesce(EntryRow.published_at, EntryRow.fetched_at)
    count = session.scalar(
        select(func.count()).where(EntryRow.feed_id == feed_id, when >= since, when <= now)
    )
    return stored_per_week(int(count or 0))


def feed_health(session: Session) -> list[FeedHealth]:
    query = select(EntryRow.feed_id, func.count()).group_by(EntryRow.feed_id)
    counts = {feed_id: int(n) for feed_id, n in session.execute(query)}
    return [
        _health(row, counts.get(row.id, 0))
        for row in session.scalars(select(FeedRow).order_by(FeedRow.id))
    ]


def _health(row: FeedRow, entries: int) -> FeedHealth:
    return FeedHealth(
        id=row.id,
        url=row.url,
        title=display_name(row.title, row.name) or None,
        status=feed_status(
            row.enabled, row.disabled_reason, row.error_count, row.last_success_at is not None
        ),
        last_success_at=row.last_success_at,
        last_checked_at=row.last_checked_at,
        last_error=row.disabled_reason or row.last_error,
        last_error_kind=row.last_error_kind,
        error_count=row.error_count,
        next_check_at=row.next_check_at if row.enabled else None,
        entries=entries,
        entries_per_week=row.entries_per_week,
    )


HEALTH_STATES = ("disabled", "failing", "new", "ok", "removed")
"""Trouble first: the order of the state column when sorted by it."""
HEALTH_SORTS = ("id", "state", "entries", "rate", "last_ok", "errors")


@dataclass(frozen=True, slots=True)
class HealthPage:
    feeds: list[FeedHealth]
    states: dict[str, int]
    """Feeds per state, over every feed (the filter's choices)."""
    total: int
    """Feeds in the chosen state (all of them without one)."""


def _status_column() -> ColumnElement[str]:
    """``feed_status`` in SQL, so that a page of thousands of feeds filters and sorts there."""
    return case(
        (
            FeedRow.enabled.is_(False),
            case((FeedRow.disabled_reason.is_not(None), "disabled"), else_="removed"),
        ),
        (FeedRow.error_count > 0, "failing"),
        (FeedRow.last_success_at.is_not(None), "ok"),
        else_="new",
    )


def feed_health_page(
    session: Session,
    *,
    state: str | None = None,
    sort: str = "state",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> HealthPage:
    """One page of ``feed_health``: the feeds in ``state`` (any: None), ordered by one of
    ``HEALTH_SORTS`` then id. A few queries whatever the number of feeds: the states counted,
    the page's rows, and their entries counted on the (feed_id, key_hash) index."""
    status = _status_column()
    states = dict.fromkeys(HEALTH_STATES, 0)
    for name, n in session.execute(select(status, func.count()).group_by(status)):
        states[str(name)] = int(n)
    query = select(FeedRow)
    if state is not None:
        query = query.where(status == state)
    key: SQLColumnExpression[Any]
    if sort == "entries":  # the one order that needs every feed's count
        counted = (
            select(EntryRow.feed_id, func.count().label("n")).group_by(EntryRow.feed_id).subquery()
        )
        query = query.outerjoin(counted, counted.c.feed_id == FeedRow.id)
        key = func.coalesce(counted.c.n, 0)
    else:
        key = {
            "id": FeedRow.id,
            "state": case({s: i for i, s in enumerate(HEALTH_STATES)}, value=status),
            "rate": FeedRow.entries_per_week,
            "last_ok": FeedRow.last_success_at,
            "errors": FeedRow.error_count,
        }.get(sort, FeedRow.id)
    order = key.desc() if descending else key.asc()
    rows = list(
        session.scalars(query.order_by(order.nulls_last(), FeedRow.id).offset(offset).limit(limit))
    )
    counts: dict[str, int] = {}
    if rows:
        per_feed = (
            select(EntryRow.feed_id, func.count())
            .where(EntryRow.feed_id.in_([row.id for row in rows]))
            .group_by(EntryRow.feed_id)
        )
        counts = {feed_id: int(n) for feed_id, n in session.execute(per_feed)}
    total = states.get(state, 0) if state is not None else sum(states.values())
    return HealthPage([_health(row, counts.get(row.id, 0)) for row in rows], states, total)


def make_all_due(session: Session, now: datetime) -> None:
    """``poll --once --all``: check every enabled feed now, whatever its schedule says."""
    session.execute(update(FeedRow).where(FeedRow.enabled.is_(True)).values(next_check_at=now))
