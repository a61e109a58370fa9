"""The scheduling maths of polling: a pure function, tested on its own."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsbrief.feeds.polling import (
    IntervalPolicy,
    PollObservation,
    base_interval,
    entries_per_week,
    plan_next_check,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
POLICY = IntervalPolicy(base=30, min=5, max=24 * 60, jitter=0)


def minutes(due: datetime) -> float:
    return (due - NOW).total_seconds() / 60


def test_adaptive_interval_follows_the_feed_rhythm() -> None:
    assert base_interval(POLICY, PollObservation(ok=True)) == 30  # unknown rhythm: the base
    assert base_interval(POLICY, PollObservation(ok=True, entries_per_week=7 * 24)) == 60
    assert base_interval(POLICY, PollObservation(ok=True, entries_per_week=10_000)) == 5
    assert base_interval(POLICY, PollObservation(ok=True, entries_per_week=0)) == 24 * 60
    fixed = IntervalPolicy(base=30, min=5, max=1440, adaptive=False, jitter=0)
    assert base_interval(fixed, PollObservation(ok=True, entries_per_week=10_000)) == 30


def test_server_hints_are_a_floor_within_the_clamp() -> None:
    busy = PollObservation(ok=True, entries_per_week=10_000, ttl_minutes=60)
    assert base_interval(POLICY, busy) == 60
    cached = PollObservation(ok=True, entries_per_week=10_000, max_age_seconds=7200)
    assert base_interval(POLICY, cached) == 120
    forever = PollObservation(ok=True, ttl_minutes=100_000)
    assert base_interval(POLICY, forever) == 24 * 60


def test_failures_back_off_exponentially_and_retry_after_is_honoured() -> None:
    waits = [
        minutes(plan_next_check(NOW, POLICY, PollObservation(ok=False, error_count=n)))
        for n in range(1, 12)
    ]
    assert waits[:4] == [30, 60, 120, 240]
    assert waits == sorted(waits) and waits[-1] == 24 * 60
    told = PollObservation(ok=False, error_count=1, retry_after_seconds=5 * 3600)
    assert minutes(plan_next_check(NOW, POLICY, told)) == 300
    absurd = PollObservation(ok=False, error_count=1, retry_after_seconds=10**9)
    assert plan_next_check(NOW, POLICY, absurd) == NOW + timedelta(days=7)


@given(
    rate=st.one_of(st.none(), st.floats(0, 1e6)),
    ttl=st.one_of(st.none(), st.floats(0, 1e6)),
    errors=st.integers(0, 100),
    seed=st.integers(),
)
def test_next_check_always_lies_within_the_clamp(
    rate: float | None, ttl: float | None, errors: int, seed: int
) -> None:
    policy = IntervalPolicy(base=30, min=5, max=600, jitter=0.1)
    seen = PollObservation(
        ok=errors == 0, error_count=errors, entries_per_week=rate, ttl_minutes=ttl
    )
    wait = minutes(plan_next_check(NOW, policy, seen, random.Random(seed)))
    assert 5 * 0.9 <= wait <= 600 * 1.1


def test_jitter_spreads_checks() -> None:
    policy = IntervalPolicy(base=60, min=5, max=1440, jitter=0.1)
    rng = random.Random(1)
    waits = {
        round(minutes(plan_next_check(NOW, policy, PollObservation(ok=True), rng)), 1)
        for _ in range(50)
    }
    assert len(waits) > 30 and min(waits) >= 54 and max(waits) <= 66


def test_entries_per_week_from_the_items_a_feed_lists() -> None:
    hours = [NOW - timedelta(hours=h) for h in range(0, 48, 2)]  # 24 items over two days
    assert entries_per_week(hours, NOW) == pytest.approx(24 * 7 / (46 / 24), rel=0.01)
    sparse = [NOW - timedelta(days=d) for d in (1, 8, 15, 40, 90)]  # 3 in the last four weeks
    assert entries_per_week(sparse, NOW) == 0.75
    assert entries_per_week([None, None, NOW], NOW) is None  # mostly undated: unknown
    assert entries_per_week([], NOW) is None
    future = [NOW + timedelta(days=3), NOW - timedelta(days=7)]
    assert entries_per_week(future, NOW) == 1.0  # future-dated items are ignored
