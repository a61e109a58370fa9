"""Schedules, quiet hours and DST: examples, then properties checked against a minute-by-minute
oracle written from the rules (not from the module), and tick simulations."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbrief.records import Subscriber
from newsbrief.schedule import (
    QuietHours,
    Schedule,
    describe_schedule,
    due_now,
    in_quiet,
    next_digest,
    next_due,
    parse_quiet,
    parse_schedule,
    quiet_end,
    subscriber_timing,
)

MINUTE = timedelta(minutes=1)
ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # DST moves the clock by 30 minutes
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "America/Sao_Paulo",  # DST began at midnight until 2019
    "Pacific/Chatham",  # +12:45, DST at 02:45
    "UTC",
)
PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- parsing -------------------------------------------------------------------------------------


def test_parse_schedule_forms_and_canonical_text() -> None:
    assert str(parse_schedule("daily 08:30, 20:00")) == "daily 08:30,20:00"
    assert str(parse_schedule("  Daily 8:30 ")) == "daily 08:30"
    assert str(parse_schedule("hourly")) == str(parse_schedule("every 1h")) == "hourly"
    assert str(parse_schedule("every 3h")) == "every 3h"
    assert str(parse_schedule("instant")) == "instant"
    assert parse_schedule("off") == Schedule("off")
    weekly = parse_schedule("weekly thu, mon 20:00,08:30")
    assert weekly.weekdays == (0, 3) and weekly.times == (time(8, 30), time(20))
    assert str(weekly) == "weekly mon,thu 08:30,20:00"
    assert str(parse_schedule("weekly 周一，星期四 08:30")) == "weekly mon,thu 08:30"
    assert str(parse_schedule("weekly 星期日 礼拜六 07:00")) == "weekly sat,sun 07:00"
    assert parse_schedule("weekly Monday 08:30") == parse_schedule("weekly mon 08:30")


def test_weekdays_is_monday_to_friday_and_reads_back() -> None:
    weekdays = parse_schedule("weekdays 08:00, 19:30")
    assert weekdays == Schedule("weekly", times=(time(8), time(19, 30)), weekdays=(0, 1, 2, 3, 4))
    assert str(weekdays) == "weekdays 08:00,19:30"
    assert str(parse_schedule("weekly fri,thu,wed,tue,mon 08:00")) == "weekdays 08:00"
    friday_evening = utc(2026, 3, 6, 12)  # 20:00 in Shanghai, after the last time of the week
    assert next_due(weekdays, "Asia/Shanghai", friday_evening) == utc(2026, 3, 9, 0)  # Monday
    assert next_due(weekdays, "Asia/Shanghai", utc(2026, 3, 9, 0)) == utc(2026, 3, 9, 11, 30)


@pytest.mark.parametrize(
    ("schedule", "zh_hans", "zh_hant", "en"),
    [
        ("instant", "实时", "即時", "instant"),
        ("off", "关闭", "關閉", "off"),
        ("hourly", "每小时", "每小時", "hourly"),
        ("every 3h", "每 3 小时", "每 3 小時", "every 3 h"),
        ("daily 08:30", "每天 08:30", "每天 08:30", "daily 08:30"),
        ("daily 20:00,08:30", "每天 08:30、20:00", "每天 08:30、20:00", "daily 08:30, 20:00"),
        ("weekdays 08:00", "工作日 08:00", "工作日 08:00", "weekdays 08:00"),
        ("weekly sat,sun 10:00", "周末 10:00", "週末 10:00", "weekends 10:00"),
        ("weekly mon 09:00", "每周一 09:00", "每週一 09:00", "weekly Mon 09:00"),
        (
            "weekly thu,sun 09:00",
            "每周四、周日 09:00",
            "每週四、週日 09:00",
            "weekly Thu, Sun 09:00",
        ),
    ],
)
def test_describe_schedule_in_each_language(
    schedule: str, zh_hans: str, zh_hant: str, en: str
) -> None:
    assert describe_schedule(schedule, "zh-Hans") == zh_hans
    assert describe_schedule(schedule, "zh-Hant") == zh_hant
    assert describe_schedule(schedule, "en") == describe_schedule(schedule, "ru") == en


def test_describe_schedule_shows_an_unreadable_value_as_stored() -> None:
    assert describe_schedule("fortnightly", "zh-Hans") == "fortnightly"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("weekdays 8", "'8' is not a time like 08:30"),
        ("daily 25:00", "'25:00' is not a time like 08:30"),
        ("every 0h", "every Nh takes N from 1 to 168"),
        ("weekly", "weekly needs days and times"),
        ("weekly mon", "weekly needs days and times"),
        ("weekly 08:30", "weekly needs days and times"),
        ("weekly mnday 08:30", "'mnday' is neither a day"),
        ("weekly mon 8h", "'8h' is neither a day"),
        ("", "unknown schedule"),
        ("sometimes", "use instant, hourly, every 3h"),
    ],
)
def test_parse_schedule_errors_say_what_to_type(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        parse_schedule(text)


def test_parse_quiet() -> None:
    assert parse_quiet("23:00-07:00") == QuietHours(time(23), time(7))
    assert parse_quiet("23:00–07:00") == parse_quiet(" 23:00 — 7:00 ") == parse_quiet("23:00~07:00")
    assert str(parse_quiet("1:30 - 2:45")) == "01:30-02:45"
    assert parse_quiet("off") is None
    for bad, hint in (
        ("23:00", "not quiet hours"),
        ("23:00-24:00", "not a time"),
        ("7:00-07:00", "different"),
    ):
        with pytest.raises(ValueError, match=hint):
            parse_quiet(bad)


# --- examples ------------------------------------------------------------------------------------


def test_basic_due_times() -> None:
    at = utc(2026, 3, 1, 0, 10)  # 08:10 in Shanghai
    daily = parse_schedule("daily 08:30, 20:00")
    assert next_due(daily, "Asia/Shanghai", at) == utc(2026, 3, 1, 0, 30)
    assert next_due(daily, "Asia/Shanghai", utc(2026, 3, 1, 0, 30)) == utc(2026, 3, 1, 12)
    assert next_due(parse_schedule("every 3h"), "UTC", at) == utc(2026, 3, 1, 3)
    # The grid is fixed, so computing from a later moment keeps the rhythm.
    assert next_due(parse_schedule("every 5h"), "UTC", utc(2026, 3, 1, 2, 59)) == utc(2026, 3, 1, 3)
    assert next_due(parse_schedule("instant"), "UTC", at) == utc(2026, 3, 1, 0, 11)
    assert next_due(parse_schedule("instant"), "UTC", at + timedelta(seconds=59)) == utc(
        2026, 3, 1, 0, 11
    )
    assert next_due(parse_schedule("off"), "UTC", at) is None
    weekly = parse_schedule("weekly mon,thu 08:30")  # 2026-03-01 is a Sunday
    assert next_due(weekly, "Asia/Shanghai", at) == utc(2026, 3, 2, 0, 30)
    assert next_due(weekly, "Asia/Shanghai", utc(2026, 3, 2, 0, 30)) == utc(2026, 3, 5, 0, 30)
    with pytest.raises(ValueError, match="aware"):
        next_due(daily, "UTC", datetime(2026, 3, 1))


def test_dst_gap_fires_once_at_the_end_of_the_gap() -> None:
    ny = "America/New_York"  # 2026-03-08 02:00 EST becomes 03:00 EDT (07:00 UTC)
    s = parse_schedule("daily 02:30,03:00")
    assert next_due(s, ny, utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 7)
    assert next_due(s, ny, utc(2026, 3, 8, 7)) == utc(2026, 3, 9, 6, 30)  # 02:30 EDT next day
    # Lord Howe: 02:00 becomes 02:30 on 2026-10-04 (15:30 UTC the day before); 02:15 fires then.
    lord_howe = parse_schedule("daily 02:15")
    assert next_due(lord_howe, "Australia/Lord_Howe", utc(2026, 10, 3, 12)) == utc(
        2026, 10, 3, 15, 30
    )
    # São Paulo began DST at midnight: 00:30 on 2018-11-04 became 01:00 (03:00 UTC).
    midnight = parse_schedule("weekly sun 00:30")
    assert next_due(midnight, "America/Sao_Paulo", utc(2018, 11, 3, 12)) == utc(2018, 11, 4, 3)
    # Apia skipped 2011-12-30: its 08:30 goes out when the day it skipped to begins.
    apia = parse_schedule("daily 08:30")
    assert next_due(apia, "Pacific/Apia", utc(2011, 12, 29, 20)) == utc(2011, 12, 30, 10)
    assert next_due(apia, "Pacific/Apia", utc(2011, 12, 30, 10)) == utc(2011, 12, 30, 18, 30)


def test_dst_repeat_fires_once_at_the_first_occurrence() -> None:
    ny = "America/New_York"  # 2026-11-01 02:00 EDT becomes 01:00 EST (06:00 UTC)
    s = parse_schedule("daily 01:30")
    assert next_due(s, ny, utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5, 30)
    assert next_due(s, ny, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30)
    # London repeats 01:00-02:00 on 2026-10-25; the first 01:30 is BST (00:30 UTC).
    assert next_due(s, "Europe/London", utc(2026, 10, 25)) == utc(2026, 10, 25, 0, 30)
    assert next_due(s, "Europe/London", utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


def test_quiet_hours() -> None:
    q = parse_quiet("23:00-07:00")
    sh = "Asia/Shanghai"
    assert in_quiet(q, sh, utc(2026, 3, 1, 15)) and not in_quiet(q, sh, utc(2026, 3, 1, 23))
    assert not in_quiet(None, sh, utc(2026, 3, 1, 15))
    assert quiet_end(q, sh, utc(2026, 3, 1, 15, 30)) == utc(2026, 3, 1, 23)
    assert quiet_end(q, sh, utc(2026, 3, 1, 22, 59)) == utc(2026, 3, 1, 23)
    assert quiet_end(q, sh, utc(2026, 3, 1, 23)) == utc(2026, 3, 1, 23)  # already over
    # Both times fall in quiet hours: one digest when they end.
    s = parse_schedule("daily 23:30,06:00")
    assert next_due(s, sh, utc(2026, 3, 1), q) == utc(2026, 3, 1, 23)
    assert next_due(s, sh, utc(2026, 3, 1, 23), q) == utc(2026, 3, 2, 23)
    assert next_due(parse_schedule("instant"), sh, utc(2026, 3, 1, 14, 59, 30), q) == utc(
        2026, 3, 1, 23
    )
    ny = "America/New_York"
    # The end (02:30) does not exist that night: quiet ends when the clock jumps to 03:00.
    assert quiet_end(parse_quiet("01:00-02:30"), ny, utc(2026, 3, 8, 6, 30)) == utc(2026, 3, 8, 7)
    # Falling back from 02:00 to 01:00 takes the clock out of 01:15-03:00 for a while.
    late = parse_quiet("01:15-03:00")
    assert quiet_end(late, ny, utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 1, 6)
    assert in_quiet(late, ny, utc(2026, 11, 1, 6, 15))  # 01:15 again, EST
    assert quiet_end(late, ny, utc(2026, 11, 1, 6, 15)) == utc(2026, 11, 1, 8)


def test_due_now() -> None:
    q = parse_quiet("23:00-07:00")
    daily = parse_schedule("daily 22:30")
    due = utc(2026, 3, 1, 14, 30)  # 22:30 Shanghai
    assert due_now(daily, "Asia/Shanghai", due, due, q)
    assert not due_now(daily, "Asia/Shanghai", due, due - MINUTE, q)
    assert not due_now(daily, "Asia/Shanghai", due, utc(2026, 3, 1, 15, 10), q)  # late, in quiet
    assert due_now(daily, "Asia/Shanghai", due, utc(2026, 3, 1, 23), q)
    assert not due_now(daily, "Asia/Shanghai", None, due, q)
    assert not due_now(parse_schedule("off"), "Asia/Shanghai", due, due, q)


def reader(schedule: str, quiet: str | None = None) -> Subscriber:
    return Subscriber(1, "telegram", "1", None, "en", "Asia/Shanghai", schedule, quiet_hours=quiet)


def test_a_subscriber_timing_falls_back_on_a_schedule_that_no_longer_parses() -> None:
    assert subscriber_timing(reader("daily 08:30")) == (parse_schedule("daily 08:30"), None)
    night = parse_quiet("23:00-07:00")
    assert subscriber_timing(reader("daily 8:30", "23:00-07:00"))[1] == night
    assert subscriber_timing(reader("fortnightly"))[0] == parse_schedule("instant")
    assert subscriber_timing(reader("fortnightly"), "hourly")[0] == parse_schedule("hourly")


def test_next_digest_in_the_subscriber_zone_and_outside_quiet_hours() -> None:
    at = utc(2026, 3, 1, 0, 10)  # 08:10 in Shanghai
    assert next_digest(reader("daily 08:30"), at) == utc(2026, 3, 1, 0, 30)
    held = reader("instant", "08:00-09:00")
    assert next_digest(held, at) == utc(2026, 3, 1, 1)  # 09:00 local, when quiet hours end
    assert next_digest(reader("off"), at) is None
    assert next_digest(reader("nonsense"), at, "every 3h") == utc(2026, 3, 1, 3)


# --- oracle: the rules read minute by minute -----------------------------------------------------


def quiet_clock(quiet: QuietHours | None, clock: time) -> bool:
    if quiet is None:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= clock < quiet.end
    return not quiet.end <= clock < quiet.start


def oracle_quiet(quiet: QuietHours | None, zone: ZoneInfo, at: datetime) -> bool:
    return quiet_clock(quiet, at.astimezone(zone).time())


def oracle_fires(schedule: Schedule, u: datetime, local: datetime, before: datetime) -> bool:
    """Whether a digest is due at whole minute ``u`` (read ``local``; the minute before read
    ``before``), before quiet hours apply."""
    if schedule.kind == "instant":
        return True
    if schedule.kind == "every":
        hours = int(u.timestamp()) // 3600
        return u.minute == 0 and hours % schedule.hours == 0

    def scheduled(day: date) -> bool:
        return schedule.kind == "daily" or day.weekday() in schedule.weekdays

    wall = local.replace(tzinfo=None)
    if local.fold == 0 and wall.time() in schedule.times and scheduled(wall.date()):
        return True
    before = before.replace(tzinfo=None)
    if wall - before <= MINUTE:
        return False
    # The clock jumped forward: everything it skipped fires now.
    day = before.date()
    while day <= wall.date():
        if scheduled(day) and any(before < datetime.combine(day, t) < wall for t in schedule.times):
            return True
        day += timedelta(days=1)
    return False


def oracle_next_due(
    schedule: Schedule, zone: ZoneInfo, after: datetime, quiet: QuietHours | None
) -> datetime:
    u = after.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
    before = (u - MINUTE).astimezone(zone)
    held = False
    for _ in range(12 * 24 * 60):
        local = u.astimezone(zone)
        held = held or oracle_fires(schedule, u, local, before)
        if held and not quiet_clock(quiet, local.time()):
            return u
        u, before = u + MINUTE, local
    raise AssertionError("nothing due within twelve days")


@cache
def transitions(tz: str) -> tuple[datetime, ...]:
    """The zone's UTC offset changes from 1995 to 2035, to the second."""
    zone = ZoneInfo(tz)
    found = []
    day = utc(1995, 1, 1)
    while day < utc(2035, 1, 1):
        nxt = day + timedelta(days=7)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        day = nxt
    return tuple(found)


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[str, datetime]:
    tz = draw(st.sampled_from(ZONES))
    near = transitions(tz)
    toward_change: bool = draw(st.booleans())
    if near and toward_change:
        base = draw(st.sampled_from(near))
        at = base + timedelta(minutes=draw(st.integers(-2 * 24 * 60, 6 * 60)))
    else:
        at = draw(st.datetimes(datetime(1995, 1, 1), datetime(2035, 1, 1))).replace(tzinfo=UTC)
    return tz, at + timedelta(seconds=draw(st.integers(0, 59)))


# DST changes happen in the small hours, so clock times lean there.
clocks = st.builds(
    time,
    st.one_of(st.integers(0, 3), st.integers(0, 23)),
    st.one_of(st.sampled_from([0, 15, 30, 45, 59]), st.integers(0, 59)),
)


def quiets_from(clock: st.SearchStrategy[time]) -> st.SearchStrategy[QuietHours | None]:
    pairs = st.tuples(clock, clock).filter(lambda p: p[0] != p[1])
    return st.one_of(st.none(), pairs.map(lambda p: QuietHours(*p)))


def schedules_from(clock: st.SearchStrategy[time]) -> st.SearchStrategy[Schedule]:
    return st.one_of(
        st.just(Schedule("instant")),
        st.integers(1, 30).map(lambda h: Schedule("every", hours=h)),
        st.lists(clock, min_size=1, max_size=3).map(
            lambda ts: Schedule("daily", times=tuple(sorted(set(ts))))
        ),
        st.tuples(
            st.lists(st.integers(0, 6), min_size=1, max_size=3),
            st.lists(clock, min_size=1, max_size=2),
        ).map(
            lambda p: Schedule(
                "weekly", times=tuple(sorted(set(p[1]))), weekdays=tuple(sorted(set(p[0])))
            )
        ),
    )


quiets = quiets_from(clocks)
schedules = schedules_from(clocks)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, datetime, Schedule, QuietHours | None]:
    """A zone and instant, with schedule and quiet times often right at the nearest DST change
    (the wall clock just before and just after it), where gaps and repeats matter."""
    tz, at = draw(zone_and_instant())
    zone = ZoneInfo(tz)
    walls = [at.astimezone(zone)]
    if near := transitions(tz):
        change = min(near, key=lambda t: abs(t - at))
        walls = [(change - timedelta(seconds=1)).astimezone(zone), change.astimezone(zone)]
    naive = sorted(w.replace(tzinfo=None, second=0, microsecond=0) for w in walls)
    lo, hi = naive[0], naive[-1]
    # Inside the skipped or repeated span, or near either end of it.
    inside = st.integers(0, max(0, (hi - lo) // MINUTE)).map(lambda k: (lo + k * MINUTE).time())
    around = st.tuples(st.sampled_from(walls), st.integers(-90, 90)).map(
        lambda p: (p[0] + timedelta(minutes=p[1])).time().replace(second=0, microsecond=0)
    )
    clock = st.one_of(inside, around, clocks)
    quiet = draw(quiets_from(clock))
    if near and draw(st.integers(0, 2)) == 0:
        # A day or less before the change, with a local time inside the span it skips or
        # repeats: the next due moment is often exactly the case the DST rules are about.
        at = change - timedelta(seconds=draw(st.integers(1, 24 * 3600)))
        times = {draw(inside), *draw(st.lists(clock, max_size=2))}
        return tz, at, Schedule("daily", times=tuple(sorted(times))), quiet
    return tz, at, draw(schedules_from(clock)), quiet


@PROPERTY
@given(schedules)
def test_schedule_text_round_trips(schedule: Schedule) -> None:
    assert parse_schedule(str(schedule)) == schedule


@settings(PROPERTY, max_examples=150)
@given(scenarios())
def test_next_due_is_the_first_allowed_moment(
    case: tuple[str, datetime, Schedule, QuietHours | None],
) -> None:
    tz, after, schedule, quiet = case
    zone = ZoneInfo(tz)
    due = next_due(schedule, tz, after, quiet)
    assert due is not None and due.tzinfo is UTC
    assert due > after
    assert not in_quiet(quiet, tz, due) and not oracle_quiet(quiet, zone, due)
    # Every minute between is checked by the oracle: nothing earlier was allowed.
    assert due == oracle_next_due(schedule, zone, after, quiet)


@settings(PROPERTY, max_examples=150)
@given(scenarios())
def test_quiet_end_is_where_quiet_stops(
    case: tuple[str, datetime, Schedule, QuietHours | None],
) -> None:
    tz, at, _, quiet = case
    zone = ZoneInfo(tz)
    assert in_quiet(quiet, tz, at) == oracle_quiet(quiet, zone, at)
    end = quiet_end(quiet, tz, at)
    assert end >= at and not oracle_quiet(quiet, zone, end)
    if end > at:
        u = at.replace(second=0, microsecond=0) + MINUTE
        while u < end:
            assert oracle_quiet(quiet, zone, u), u
            u += MINUTE


# --- simulations of the compose tick -------------------------------------------------------------


def irregular_ticks(
    start: datetime, end: datetime, gaps: random.Random, skip_chance: float
) -> list[datetime]:
    """Ticks 30 s to 5 min apart, sometimes hours apart (the scheduler was down)."""
    now, ticks = start, []
    while now < end:
        if gaps.random() < skip_chance:
            now += timedelta(seconds=gaps.uniform(3600, 10 * 3600))
        else:
            now += timedelta(seconds=gaps.uniform(30, 300))
        ticks.append(now)
    return ticks


def simulate(
    schedule: Schedule, tz: str, quiet: QuietHours | None, start: datetime, ticks: list[datetime]
) -> list[datetime]:
    """The compose tick as the module docstring gives it; returns when digests were composed."""
    due = next_due(schedule, tz, start, quiet)
    composed = []
    for now in ticks:
        if due is not None and due <= now:
            if due_now(schedule, tz, due, now, quiet):
                composed.append(now)
                due = next_due(schedule, tz, now, quiet)
            else:
                due = quiet_end(quiet, tz, now)
    return composed


def test_a_late_tick_in_quiet_hours_holds_the_digest_until_they_end() -> None:
    tz, quiet = "Asia/Shanghai", parse_quiet("23:00-07:00")
    start = utc(2026, 3, 1, 14)  # 22:00 local; the 22:30 digest is due
    ticks = [utc(2026, 3, 1, 15, 30)]  # down until 23:30, inside quiet hours
    ticks += [ticks[0] + n * timedelta(minutes=3) for n in range(1, 20 * 24)]  # a day
    composed = simulate(parse_schedule("daily 22:30"), tz, quiet, start, ticks)
    # Not at 23:30 (quiet), not held until 22:30 the next day: at the first tick from 07:00.
    assert composed == [utc(2026, 3, 1, 23, 0), utc(2026, 3, 2, 14, 30)]


SIMULATION = settings(PROPERTY, max_examples=30)


@SIMULATION
@given(
    st.integers(0, 2**32),
    st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1)),
    st.integers(2, 40),
    quiets,
)
def test_shanghai_daily_0830_once_per_local_day(
    seed: int, start_naive: datetime, days: int, quiet: QuietHours | None
) -> None:
    tz, zone = "Asia/Shanghai", ZoneInfo("Asia/Shanghai")
    start = start_naive.replace(tzinfo=UTC)
    end = start + timedelta(days=days)
    ticks = irregular_ticks(start, end, random.Random(seed), skip_chance=0)
    composed = simulate(parse_schedule("daily 08:30"), tz, quiet, start, ticks)

    # Expected, from the rule alone: 08:30 each local day (UTC+8, no DST since 1991), moved to
    # the end of quiet hours when they cover it.
    expected = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date() + timedelta(days=1):
        at = datetime.combine(day, time(8, 30), zone)
        moment = at
        if quiet is not None and oracle_quiet(quiet, zone, at):
            wraps = quiet.start > quiet.end and time(8, 30) >= quiet.start
            moment = datetime.combine(day + timedelta(days=wraps), quiet.end, zone)
        if start < at and moment <= ticks[-1]:
            expected.append(moment.astimezone(UTC))
        day += timedelta(days=1)
    assert len(composed) == len(expected) >= days - 1
    for want, got in zip(expected, composed, strict=True):
        assert timedelta(0) <= got - want <= timedelta(minutes=5), (want, got)
    if quiet is None:
        local_days = [c.astimezone(zone).date() for c in composed]
        assert len(set(local_days)) == len(local_days)


@SIMULATION
@given(scenarios(), st.integers(0, 2**32), st.integers(1, 9))
def test_every_story_goes_out_once_and_never_in_quiet_hours(
    case: tuple[str, datetime, Schedule, QuietHours | None], seed: int, days: int
) -> None:
    tz, start, schedule, quiet = case
    zone = ZoneInfo(tz)
    rng = random.Random(seed)
    end = start + timedelta(days=days)
    ticks = irregular_ticks(start, end, rng, skip_chance=0.01)
    composed = simulate(schedule, tz, quiet, start, ticks)
    stories = sorted(start + (end - start) * rng.random() for _ in range(40))

    for at in composed:
        assert not oracle_quiet(quiet, zone, at), at
    for a, b in itertools.pairwise(composed):
        # A second digest needs a new due moment in between: nothing is sent twice for one.
        due = next_due(schedule, tz, a, quiet)
        assert due is not None and due <= b
    # The digest cursor: each digest holds the stories that arrived since the previous one.
    previous = start
    sent: list[datetime] = []
    for at in composed:
        sent.extend(s for s in stories if previous < s <= at)
        previous = at
    held = [s for s in stories if s > previous]
    assert sorted(sent + held) == stories and len(set(sent)) == len(sent)
    # Liveness: a story goes out no later than the first tick outside quiet hours at or after
    # its next due moment, however long the scheduler was down or the quiet period lasted.
    for story in stories:
        due = next_due(schedule, tz, story, quiet)
        assert due is not None
        deadline = next((t for t in ticks if t >= due and not oracle_quiet(quiet, zone, t)), None)
        if deadline is not None:
            assert story in sent and any(story <= c <= deadline for c in composed), story
