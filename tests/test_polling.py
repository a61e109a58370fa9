"""The decisions of polling: pure functions, tested on their own."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsbrief.config.settings import PollingConfig
from newsbrief.feeds.polling import (
    Address,
    Failures,
    IntervalPolicy,
    PollObservation,
    base_interval,
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
from newsbrief.records import FetchResult

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


def test_a_feed_bounds_its_interval_within_the_global_ones() -> None:
    polling = PollingConfig(min_interval=5, max_interval=600, jitter=0.2, adaptive=False)
    assert interval_policy(polling, 30, None, None) == IntervalPolicy(30, 5, 600, False, 0.2)
    assert interval_policy(polling, 30, 60, 120) == IntervalPolicy(30, 60, 120, False, 0.2)
    assert interval_policy(polling, 30, 1, 10_000) == IntervalPolicy(30, 5, 600, False, 0.2)
    # A feed minimum above its maximum wins: the interval never goes below it.
    assert interval_policy(polling, 30, 90, 60) == IntervalPolicy(30, 90, 90, False, 0.2)


def test_an_undated_feed_rhythm_counts_what_was_stored_over_four_weeks() -> None:
    assert stored_per_week(0) == 0
    assert stored_per_week(4) == 1.0
    assert stored_per_week(10) == 2.5


OLD, NEW = "http://a.example/feed", "https://b.example/feed"


def test_a_permanent_redirect_is_followed_after_exactly_n_polls_in_a_row() -> None:
    address = Address(OLD)
    for seen in (1, 2):
        address = follow_redirect(address, NEW, 3)
        assert address == Address(OLD, NEW, seen)
    assert follow_redirect(address, NEW, 3) == Address(NEW)
    assert follow_redirect(Address(OLD), NEW, 1) == Address(NEW)


def test_a_changed_or_missing_redirect_starts_the_count_again() -> None:
    pending = Address(OLD, NEW, 2)
    elsewhere = "https://c.example/feed"
    assert follow_redirect(pending, elsewhere, 3) == Address(OLD, elsewhere, 1)
    assert follow_redirect(pending, None, 3) == Address(OLD)
    assert follow_redirect(pending, OLD, 3) == Address(OLD)  # back where it is polled


def test_failures_count_in_a_row_and_404_410_separately() -> None:
    failures = Failures()
    for status in (404, 410):
        failures = count_failure(failures, status)
    assert failures == Failures(errors=2, gone=2)
    assert count_failure(failures, 500) == Failures(errors=3, gone=0)
    assert count_failure(failures, 0) == Failures(errors=3, gone=0)  # nothing answered


def test_a_feed_is_given_up_on_after_max_errors() -> None:
    polling = PollingConfig(max_errors=3, max_errors_gone=2)
    failures, reasons = Failures(), []
    for _ in range(3):
        failures = count_failure(failures, 503)
        reasons.append(give_up(failures, "HTTP 503", polling))
    assert reasons == [None, None, "HTTP 503 (3 times in a row)"]


def test_a_gone_feed_is_given_up_on_after_max_errors_gone() -> None:
    polling = PollingConfig(max_errors=10, max_errors_gone=2)
    failures = count_failure(Failures(errors=5), 404)
    assert give_up(failures, "HTTP 404", polling) is None
    failures = count_failure(failures, 410)
    assert failures == Failures(errors=7, gone=2)
    assert give_up(failures, "HTTP 410", polling) == "HTTP 410 (2 times in a row)"
    # A run that meets both limits counts its 404/410s.
    both = PollingConfig(max_errors=2, max_errors_gone=2)
    assert give_up(Failures(errors=4, gone=2), "HTTP 404", both) == "HTTP 404 (2 times in a row)"


def test_a_304_refreshes_the_validators_and_never_clears_them() -> None:
    def answer(status: int, etag: str | None, modified: str | None) -> FetchResult:
        return FetchResult("f", OLD, status, etag=etag, last_modified=modified)

    assert validators_after(answer(304, None, None), '"v1"', "Mon") == ('"v1"', "Mon")
    assert validators_after(answer(304, '"v2"', None), '"v1"', "Mon") == ('"v2"', "Mon")
    assert validators_after(answer(200, None, "Tue"), '"v1"', "Mon") == (None, "Tue")


def test_a_feed_status_from_its_health() -> None:
    assert feed_status(False, "HTTP 410 (3 times in a row)", 3, True) == "disabled"
    assert feed_status(False, None, 0, True) == "removed"
    assert feed_status(True, None, 1, True) == "failing"
    assert feed_status(True, None, 0, True) == "ok"
    assert feed_status(True, None, 0, False) == "new"
