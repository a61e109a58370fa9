"""What the deployment has been doing, for the console's overview: fetch outcomes per hour and
each tick's last run (recorded here, since the Prometheus counters live in each process's
memory), and the figures read from the pipeline's own tables.

Every read is an aggregate over an index range (feeds grouped in SQL, today's entries and
stories, the open outbox, the last day's sends), so it stays fast with 10,000 feeds and
100,000 subscribers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.feeds.polling import feed_status
from newsbrief.records import DeliveryStatus
from newsbrief.store.tables import (
    DeliveryRow,
    EntryRow,
    FeedRow,
    FetchCountRow,
    StoryRow,
    TickRunRow,
    UTCDateTime,
)

KEEP_HOURS = timedelta(days=14)
"""How long the hourly fetch counts are kept (pruned as new ones are written)."""
DAY = timedelta(hours=24)
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def _utc(value: datetime | None) -> datetime | None:
    """min()/max() of a UTC column come back naive on SQLite; they are UTC all the same."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _upsert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


# -- recording ------------------------------------------------------------------------------------


def record_fetches(session: Session, now: datetime, outcomes: Mapping[str, int]) -> None:
    """Add a batch of fetches to this hour's counts: one statement, whatever the batch's size
    (rows in outcome order, so concurrent pollers lock them in the same order); counts older
    than KEEP_HOURS go."""
    rows = [
        {"hour": hour_of(now), "outcome": outcome[:32], "count": n}
        for outcome, n in sorted(outcomes.items())
        if n
    ]
    if not rows:
        return
    insert = _upsert(session, FetchCountRow)
    session.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=[FetchCountRow.hour, FetchCountRow.outcome],
            set_={"count": FetchCountRow.count + insert.excluded["count"]},
        )
    )
    session.execute(delete(FetchCountRow).where(FetchCountRow.hour < hour_of(now) - KEEP_HOURS))


def record_tick(
    session: Session,
    tick: str,
    finished_at: datetime,
    seconds: float,
    process: str,
    error: str | None = None,
) -> None:
    """A tick's run (``error``: it failed, in one line): one upsert of the tick's row. A
    success keeps the last failure (``failed_at``, ``error``) for the overview to show."""
    values: dict[str, Any] = {
        "tick": tick[:32],
        "finished_at": finished_at,
        "seconds": seconds,
        "ok": error is None,
        "process": process[:128],
    }
    if error is not None:
        values |= {"failed_at": finished_at, "error": error[:500]}
    insert = _upsert(session, TickRunRow)
    session.execute(
        insert.values(values).on_conflict_do_update(
            index_elements=[TickRunRow.tick],
            set_={k: insert.excluded[k] for k in values if k != "tick"},
        )
    )


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TickRun:
    tick: str
    finished_at: datetime
    seconds: float
    ok: bool
    process: str
    failed_at: datetime | None
    error: str | None


def tick_runs(session: Session) -> list[TickRun]:
    rows = session.execute(
        select(
            TickRunRow.tick,
            TickRunRow.finished_at,
            TickRunRow.seconds,
            TickRunRow.ok,
            TickRunRow.process,
            TickRunRow.failed_at,
            TickRunRow.error,
        ).order_by(TickRunRow.tick)
    )
    return [TickRun(*row) for row in rows]


def fetch_history(
    session: Session, now: datetime, hours: int = 24
) -> dict[datetime, dict[str, int]]:
    """Fetches per outcome for each of the last ``hours`` hours (this one included), oldest
    first; an hour without any is there, empty."""
    first = hour_of(now) - timedelta(hours=hours - 1)
    history: dict[datetime, dict[str, int]] = {first + timedelta(hours=i): {} for i in range(hours)}
    for hour, outcome, count in session.execute(
        select(FetchCountRow.hour, FetchCountRow.outcome, FetchCountRow.count).where(
            FetchCountRow.hour >= first
        )
    ):
        slot = history.get(hour_of(hour))
        if slot is not None:
            slot[outcome] = slot.get(outcome, 0) + int(count)
    return history


def feeds_by_state(session: Session) -> dict[str, int]:
    """Feeds per state (``ok``, ``new``, ``failing``, ``disabled``, ``removed``), grouped in
    SQL: a handful of rows back, whatever the number of feeds."""
    failing = case((FeedRow.error_count > 0, 1), else_=0)
    reason = case((FeedRow.disabled_reason.is_not(None), 1), else_=0)
    succeeded = case((FeedRow.last_success_at.is_not(None), 1), else_=0)
    found: Counter[str] = Counter()
    for enabled, has_reason, errors, ok, count in session.execute(
        select(FeedRow.enabled, reason, failing, succeeded, func.count()).group_by(
            FeedRow.enabled, reason, failing, succeeded
        )
    ):
        found[feed_status(bool(enabled), "x" if has_reason else None, errors, bool(ok))] += count
    return dict(found)


@dataclass(frozen=True, slots=True)
class Lag:
    """Delivery lag (queued to sent) of the messages sent in one hour."""

    sent: int
    median: float
    p95: float


@dataclass(frozen=True, slots=True)
class Overview:
    feeds: dict[str, int]
    entries_today: int
    stories_today: int
    outbox: dict[str, int]
    """Messages waiting or being sent, per platform."""
    oldest_pending: datetime | None
    """When the oldest of them was queued."""
    paused: int
    failed: int
    sent_24h: dict[str, int]
    """Messages sent in the last 24 hours, per platform."""
    lag: dict[datetime, Lag | None] = field(default_factory=dict)
    """Per hour of the last 24 (oldest first); None: nothing sent that hour."""


def overview(session: Session, now: datetime, day_start: datetime) -> Overview:
    """The overview's figures; "today" is from ``day_start`` (midnight, in the zone the
    caller chose)."""
    outbox: dict[str, int] = {}
    oldest: datetime | None = None
    for platform, count, queued in session.execute(
        select(DeliveryRow.platform, func.count(), func.min(DeliveryRow.created_at))
        .where(DeliveryRow.status.in_(OPEN))
        .group_by(DeliveryRow.platform)
    ):
        outbox[platform] = int(count)
        first = _utc(queued)
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    held = {
        str(status): int(count)
        for status, count in session.execute(
            select(DeliveryRow.status, func.count())
            .where(DeliveryRow.status.in_((DeliveryStatus.PAUSED, DeliveryStatus.FAILED)))
            .group_by(DeliveryRow.status)
        )
    }
    sent, lag = _sends(session, now)
    return Overview(
        feeds=feeds_by_state(session),
        entries_today=int(
            session.scalar(select(func.count()).where(EntryRow.fetched_at >= day_start)) or 0
        ),
        stories_today=int(
            session.scalar(select(func.count()).where(StoryRow.created_at >= day_start)) or 0
        ),
        outbox=outbox,
        oldest_pending=oldest,
        paused=int(held.get(DeliveryStatus.PAUSED, 0)),
        failed=int(held.get(DeliveryStatus.FAILED, 0)),
        sent_24h=sent,
        lag=lag,
    )


# Sends of the last day grouped by (hour, platform, lag): the lag rounded to 0.1 s below 10 s,
# to the second below 10 min, to the minute above, so the groups stay few (a few thousand at
# most) and the median and 95th percentile come out exact to that resolution. Hours are counted
# from the Unix epoch; the columns hold naive UTC on both backends.
_SENDS = {
    "sqlite": """
        SELECT CAST(strftime('%s', sent_at) AS INTEGER) / 3600 AS hour, platform,
               CASE WHEN lag < 10 THEN CAST(lag * 10 AS INTEGER) / 10.0
                    WHEN lag < 600 THEN CAST(lag AS INTEGER)
                    ELSE CAST(lag / 60 AS INTEGER) * 60 END AS lag, count(*)
        FROM (SELECT sent_at, platform,
                     max(0, (julianday(sent_at) - julianday(created_at)) * 86400.0) AS lag
              FROM deliveries WHERE sent_at >= :since) AS sends
        GROUP BY 1, 2, 3
    """,
    "postgresql": """
        SELECT floor(extract(epoch FROM sent_at) / 3600)::bigint AS hour, platform,
               CASE WHEN lag < 10 THEN floor(lag * 10) / 10.0
                    WHEN lag < 600 THEN floor(lag)
                    ELSE floor(lag / 60) * 60 END AS lag, count(*)
        FROM (SELECT sent_at, platform,
                     greatest(0, extract(epoch FROM sent_at - created_at)) AS lag
              FROM deliveries WHERE sent_at >= :since) AS sends
        GROUP BY 1, 2, 3
    """,
}


def _sends(session: Session, now: datetime) -> tuple[dict[str, int], dict[datetime, Lag | None]]:
    """Sends per platform in the last 24 hours, and the lag per clock hour of the last 24."""
    first = hour_of(now) - timedelta(hours=23)
    dialect = session.get_bind().dialect.name
    query = text(_SENDS["postgresql" if dialect == "postgresql" else "sqlite"]).bindparams(
        bindparam("since", type_=UTCDateTime())
    )
    sent: Counter[str] = Counter()
    per_hour: dict[int, Counter[float]] = {}
    for hour, platform, lag, count in session.execute(query, {"since": now - DAY}):
        per_hour.setdefault(int(hour), Counter())[float(lag)] += int(count)
        sent[platform] += int(count)
    lag_by_hour: dict[datetime, Lag | None] = {}
    for i in range(24):
        moment = first + timedelta(hours=i)
        found = per_hour.get(int(moment.timestamp()) // 3600)
        lag_by_hour[moment] = _percentiles(found) if found else None
    return dict(sent), lag_by_hour


def _percentiles(lags: Counter[float]) -> Lag:
    total = sum(lags.values())
    median = p95 = 0.0
    seen = 0
    for value in sorted(lags):
        before = seen
        seen += lags[value]
        if before < total * 0.5 <= seen:
            median = value
        if before < total * 0.95 <= seen:
            p95 = value
            break
    return Lag(total, median, p95)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the console's overview shows, read in one transaction."""

    overview: Overview
    fetches: dict[datetime, dict[str, int]]
    ticks: list[TickRun]


def dashboard(session: Session, now: datetime, day_start: datetime) -> Dashboard:
    return Dashboard(
        overview(session, now, day_start), fetch_history(session, now), tick_runs(session)
    )
