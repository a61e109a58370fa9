"""What a poll does to a feed: when to check it next, and how its health and address change.
Pure functions of what the store remembers and what the last poll saw; the store applies them.

interval = base interval, or one check per expected new entry (adaptive)
         ≥ what the server says stays fresh (RSS <ttl>, Cache-Control max-age, Expires)
         clamped to [max(global min, feed min), min(global max, feed max)]
on failure: × 2^(consecutive errors - 1), capped at the maximum; Retry-After is a floor
± jitter, so feeds added together do not stay in lockstep

A run of ``max_errors`` failures (``max_errors_gone`` for 404/410) disables the feed; a success
ends the run. A permanent redirect moves the feed once ``redirect_confirmations`` polls in a row
saw it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsbrief.config.settings import PollingConfig
from newsbrief.records import FetchResult

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


def interval_policy(
    polling: PollingConfig, base: float, feed_min: int | None, feed_max: int | None
) -> IntervalPolicy:
    """A feed's bounds within the global ones: the tighter of the two on each side."""
    low = max(polling.min_interval, feed_min or 0)
    high = min(polling.max_interval, feed_max or polling.max_interval)
    return IntervalPolicy(
        base=base, min=low, max=max(low, high), adaptive=polling.adaptive, jitter=polling.jitter
    )


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


def stored_per_week(count: int) -> float:
    """The rhythm of a feed that dates nothing: ``count`` entries stored over ``RATE_WINDOW``."""
    return round(count * timedelta(weeks=1) / RATE_WINDOW, 2)


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


GONE = (404, 410)


@dataclass(frozen=True, slots=True)
class Failures:
    """A feed's current run of failed polls; a success ends it."""

    errors: int = 0
    gone: int = 0
    """Of the last failures, how many in a row answered 404 or 410."""


def count_failure(before: Failures, status: int) -> Failures:
    """The run after one more failure that answered ``status`` (0 when nothing answered)."""
    return Failures(before.errors + 1, before.gone + 1 if status in GONE else 0)


def give_up(failures: Failures, message: str, polling: PollingConfig) -> str | None:
    """Why to disable the feed after this run of failures, for the admins; None to keep trying."""
    if failures.gone >= polling.max_errors_gone:
        times = failures.gone
    elif failures.errors >= polling.max_errors:
        times = failures.errors
    else:
        return None
    return f"{message} ({times} times in a row)"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a feed is polled, and a permanent redirect seen there but not followed yet."""

    url: str
    redirect_url: str | None = None
    redirect_seen: int = 0
    """Polls in a row that were sent on to ``redirect_url``."""


def follow_redirect(address: Address, target: str | None, confirmations: int) -> Address:
    """After a successful poll that was redirected permanently to ``target`` (None: it was not).

    The feed moves only once ``confirmations`` polls in a row saw the same target: a
    misconfigured server for an afternoon must not move it for good.
    """
    if not target or target == address.url:
        return Address(address.url)
    seen = address.redirect_seen + 1 if address.redirect_url == target else 1
    if seen >= confirmations:
        return Address(target)
    return Address(address.url, target, seen)


def validators_after(
    result: FetchResult, etag: str | None, last_modified: str | None
) -> tuple[str | None, str | None]:
    """(etag, last_modified) to send on the next poll, after a successful one.

    A 304 may refresh them but never clears them; a full answer replaces them.
    """
    if result.not_modified:
        return result.etag or etag, result.last_modified or last_modified
    return result.etag, result.last_modified


def feed_status(enabled: bool, disabled_reason: str | None, errors: int, ok: bool) -> str:
    """``ok``, ``new`` (never polled successfully), ``failing``, ``disabled`` (given up on) or
    ``removed`` (left the config)."""
    if not enabled:
        return "disabled" if disabled_reason else "removed"
    if errors:
        return "failing"
    return "ok" if ok else "new"
