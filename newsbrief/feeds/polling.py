"""When to check a feed next: a pure function of what the last poll saw.

interval = base interval, or one check per expected new entry (adaptive)
         ≥ what the server says stays fresh (RSS <ttl>, Cache-Control max-age, Expires)
         clamped to [max(global min, feed min), min(global max, feed max)]
on failure: × 2^(consecutive errors - 1), capped at the maximum; Retry-After is a floor
± jitter, so feeds added together do not stay in lockstep
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTES_PER_WEEK = 7 * 24 * 60
MAX_RETRY_AFTER = timedelta(days=7)
"""A Retry-After beyond this is taken as a server mistake, not an instruction."""


@dataclass(frozen=True, slots=True)
class IntervalPolicy:
    """Minutes, from the global polling settings and the feed's own."""

    base: float
    min: float
    max: float
    adaptive: bool = True
    jitter: float = 0.1


@dataclass(frozen=True, slots=True)
class PollObservation:
    """What the last poll of one feed saw."""

    ok: bool
    error_count: int = 0
    """Consecutive failures, this one included."""
    entries_per_week: float | None = None
    ttl_minutes: float | None = None
    max_age_seconds: float | None = None
    retry_after_seconds: float | None = None


RATE_WINDOW = timedelta(days=28)


def entries_per_week(published: Sequence[datetime | None], now: datetime) -> float | None:
    """A feed's rhythm from the dates of the items it lists now, or None if it gives no dates.

    The window is the last four weeks, or less when the listed items span less (a feed showing
    its last 40 items of two days posts ~140 a week, not 10).
    """
    dates = [d for d in published if d is not None and d <= now]
    if len(dates) < len(published) / 2 or not dates:
        return None
    oldest = max(min(dates), now - RATE_WINDOW)
    span = max(now - oldest, timedelta(hours=1))
    recent = sum(1 for d in dates if d >= oldest)
    return round(recent * (timedelta(weeks=1) / span), 2)


def base_interval(policy: IntervalPolicy, seen: PollObservation) -> float:
    """Minutes until the next check of a healthy feed, before jitter."""
    interval = policy.base
    if policy.adaptive and seen.entries_per_week is not None:
        rate = seen.entries_per_week
        interval = MINUTES_PER_WEEK / rate if rate > 0 else policy.max
    hints = [h for h in (seen.ttl_minutes, (seen.max_age_seconds or 0) / 60) if h]
    if hints:
        interval = max(interval, *hints)
    return min(max(interval, policy.min), policy.max)


def plan_next_check(
    now: datetime, policy: IntervalPolicy, seen: PollObservation, rng: random.Random | None = None
) -> datetime:
    interval = base_interval(policy, seen)
    if not seen.ok:
        interval = min(interval * 2 ** min(max(seen.error_count - 1, 0), 16), policy.max)
    if policy.jitter:
        interval *= 1 + (rng or random).uniform(-policy.jitter, policy.jitter)
    due = now + timedelta(minutes=max(interval, 0.5))
    if seen.retry_after_seconds:
        floor = now + min(timedelta(seconds=seen.retry_after_seconds), MAX_RETRY_AFTER)
        due = max(due, floor)
    return due
