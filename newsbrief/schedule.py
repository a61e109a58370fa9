"""When a subscriber's next digest is due: pure functions over aware datetimes.

Schedules are short strings a subscriber can type: ``instant`` (batched per minute), ``hourly``,
``every 3h``, ``daily 08:30,20:00``, ``weekdays 08:00`` (Monday to Friday), ``weekly mon,thu 08:30``
(or ``weekly 周一 08:30``), ``off``. ``parse_schedule_phrase`` also reads what people type, such as
``每天早上8点和晚上8点``, ``工作日 9点``, ``每週一 9:00`` or ``every day 8am``, and ``describe_schedule``
shows a schedule back in the reader's language.
Quiet hours are a local span such as ``23:00-07:00``; nothing is due inside it, and what was held
goes out as one digest when it ends.

Local times follow the subscriber's IANA zone across DST changes: a time the clocks skip (spring
forward) fires once at the first instant after the gap, a time they repeat (fall back) fires once,
at its first occurrence.

The compose tick keeps one stored due moment per subscriber and on each tick does::

    if due is not None and due <= now:
        if in_quiet(quiet, tz, now):          # a late tick landed in quiet hours: hold
            due = quiet_end(quiet, tz, now)
        else:                                  # compose everything after the cursor
            due = next_due(schedule, tz, now, quiet)

``due_now`` is the first two conditions in one call.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsbrief.records import Subscriber

_EVERY = re.compile(r"^every\s+(\d{1,3})\s*h$")
_DAILY = re.compile(r"^daily\s+(.+)$")
_WEEKLY = re.compile(r"^weekly(?:\s+(.*))?$")
_WEEKDAYS = re.compile(r"^weekdays\s+(.+)$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_QUIET = re.compile(r"^(\S+?)\s*(?:-|–|—|~|to|至|到)\s*(\S+)$")

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS = {name: i for i, name in enumerate(_DAY_NAMES)}
_DAYS.update({name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday"))})
_DAYS.update({"friday": 4, "saturday": 5, "sunday": 6})
for _prefix in ("周", "星期", "礼拜"):
    _DAYS.update({_prefix + c: i for i, c in enumerate("一二三四五六日")})
    _DAYS[_prefix + "天"] = 6

_WORKWEEK = (0, 1, 2, 3, 4)

_HOUR = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: str
    """``instant``, ``every``, ``daily``, ``weekly`` or ``off``."""
    hours: int = 0
    times: tuple[time, ...] = ()
    weekdays: tuple[int, ...] = ()
    """For ``weekly``: 0 is Monday."""

    def __str__(self) -> str:
        if self.kind == "every":
            return "hourly" if self.hours == 1 else f"every {self.hours}h"
        clock = ",".join(t.strftime("%H:%M") for t in self.times)
        if self.kind == "daily":
            return f"daily {clock}"
        if self.kind == "weekly" and self.weekdays == _WORKWEEK:
            return f"weekdays {clock}"
        if self.kind == "weekly":
            return f"weekly {','.join(_DAY_NAMES[d] for d in self.weekdays)} {clock}"
        return self.kind


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily local span ``[start, end)``; ``start > end`` wraps past midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end, like 23:00-07:00")

    def __str__(self) -> str:
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"

    def covers(self, clock: time) -> bool:
        """Whether a local wall-clock time falls inside."""
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def _clock(text: str) -> time:
    hm = _HHMM.match(text)
    if not hm:
        raise ValueError(f"{text!r} is not a time like 08:30")
    return time(int(hm.group(1)), int(hm.group(2)))


def _clocks(parts: list[str]) -> tuple[time, ...]:
    return tuple(sorted({_clock(p) for p in parts}))


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule string; raise ValueError with a message a user can act on."""
    value = " ".join(text.strip().lower().replace("，", ",").split())
    if value in ("instant", "off"):
        return Schedule(value)
    if value == "hourly":
        return Schedule("every", hours=1)
    if m := _EVERY.match(value):
        hours = int(m.group(1))
        if not 1 <= hours <= 168:
            raise ValueError("every Nh takes N from 1 to 168")
        return Schedule("every", hours=hours)
    if m := _DAILY.match(value):
        return Schedule("daily", times=_clocks(m.group(1).replace(" ", "").split(",")))
    if m := _WEEKDAYS.match(value):
        return Schedule(
            "weekly", times=_clocks(m.group(1).replace(" ", "").split(",")), weekdays=_WORKWEEK
        )
    if m := _WEEKLY.match(value):
        days: set[int] = set()
        clocks: list[str] = []
        for part in re.split(r"[,\s]+", m.group(1) or ""):
            if part in _DAYS:
                days.add(_DAYS[part])
            elif ":" in part:
                clocks.append(part)
            elif part:
                raise ValueError(
                    f"{part!r} is neither a day (mon, tue, wed, thu, fri, sat, sun) "
                    "nor a time like 08:30"
                )
        if not days or not clocks:
            raise ValueError("weekly needs days and times, like: weekly mon,thu 08:30")
        return Schedule("weekly", times=_clocks(clocks), weekdays=tuple(sorted(days)))
    raise ValueError(
        f"unknown schedule {text!r}: use instant, hourly, every 3h, daily 08:30,20:00, "
        "weekdays 08:00, weekly mon,thu 08:30 or off"
    )


def parse_quiet(text: str) -> QuietHours | None:
    """Parse ``23:00-07:00`` (any dash) or ``off``; raise ValueError a user can act on."""
    value = " ".join(text.strip().lower().split())
    if value in ("off", "none"):
        return None
    m = _QUIET.match(value)
    if not m:
        raise ValueError(f"{text!r} is not quiet hours like 23:00-07:00 (or off)")
    return QuietHours(_clock(m.group(1)), _clock(m.group(2)))


# How a schedule reads back, per language: (instant, off, hourly, every N, daily, workweek,
# weekend, day names, weekly prefix, the day and time list separators).
_WORDS = {
    "zh-Hans": (
        "实时",
        "关闭",
        "每小时",
        "每 {n} 小时",
        "每天",
        "工作日",
        "周末",
        "一二三四五六日",
        "每",
        "、",
        "、",
    ),
    "zh-Hant": (
        "即時",
        "關閉",
        "每小時",
        "每 {n} 小時",
        "每天",
        "工作日",
        "週末",
        "一二三四五六日",
        "每",
        "、",
        "、",
    ),
    "en": (
        "instant",
        "off",
        "hourly",
        "every {n} h",
        "daily",
        "weekdays",
        "weekends",
        "",
        "weekly",
        ", ",
        ", ",
    ),
}
_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKEND = (5, 6)


def describe_schedule(schedule: str, lang: str) -> str:
    """A schedule the way a reader of ``lang`` says it: ``每天 08:30``, ``每週一 09:00``, ``every 3 h``.

    ``schedule`` is the canonical string stored for a subscriber; one that does not parse is
    shown as it is (better a raw value than nothing in /settings). Unknown languages read English.
    """
    try:
        parsed = _cached_schedule(schedule)  # /list shows one per subscriber
    except ValueError:
        return schedule
    words = _WORDS.get(lang, _WORDS["en"])
    instant, off, hourly, every, daily, workweek, weekend, days, each, day_sep, clock_sep = words
    clocks = clock_sep.join(t.strftime("%H:%M") for t in parsed.times)
    if parsed.kind == "instant":
        return instant
    if parsed.kind == "off":
        return off
    if parsed.kind == "every":
        return hourly if parsed.hours == 1 else every.format(n=parsed.hours)
    if parsed.kind == "daily":
        return f"{daily} {clocks}"
    if parsed.weekdays == _WORKWEEK:
        return f"{workweek} {clocks}"
    if parsed.weekdays == _WEEKEND:
        return f"{weekend} {clocks}"
    if days:  # Chinese: 每周一、周四 09:00
        week = "週" if lang == "zh-Hant" else "周"
        names = day_sep.join(week + days[d] for d in parsed.weekdays)
        return f"{each}{names} {clocks}"
    return f"{each} {day_sep.join(_EN_DAYS[d] for d in parsed.weekdays)} {clocks}"


def _aware(at: datetime, name: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _offset(zone: ZoneInfo, at: datetime) -> timedelta | None:
    return at.astimezone(zone).utcoffset()


def _offset_change(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime | None:
    """The first instant in ``(lo, hi]`` with a UTC offset other than at ``lo``, if any.

    Scans by the hour and bisects to the second (transitions fall on whole seconds); two
    transitions within one hour of each other are not seen, which tz data does not have.
    """
    before = _offset(zone, lo)
    prev = lo
    while prev < hi:
        step = min(prev + _HOUR, hi)
        if _offset(zone, step) != before:
            a = prev.replace(microsecond=0)  # same offset as prev: transitions are on seconds
            b = step if step.microsecond == 0 else step.replace(microsecond=0) + _SECOND
            while b - a > _SECOND:
                mid = a + (b - a) // 2
                mid = mid.replace(microsecond=0)
                if _offset(zone, mid) == before:
                    a = mid
                else:
                    b = mid
            return b.astimezone(UTC)
        prev = step
    return None


def _resolve(zone: ZoneInfo, day: date, clock: time) -> datetime:
    """The UTC instant a local date and time first happens; in a gap, the gap's end."""
    early = datetime.combine(day, clock, zone)
    late = datetime.combine(day, clock.replace(fold=1), zone)
    before, after = early.utcoffset(), late.utcoffset()
    assert before is not None and after is not None
    if before >= after:
        # Ordinary, or repeated (fall back): fold=0 is the first occurrence.
        return early.astimezone(UTC)
    # In a gap fold=0 reads the wall with the offset before it, landing after the gap;
    # fold=1 with the offset after it, landing before. The jump lies between.
    first, last = late.astimezone(UTC), early.astimezone(UTC)
    jump = _offset_change(zone, first, last)
    return jump if jump is not None else last


def in_quiet(quiet: QuietHours | None, tz: str, at: datetime) -> bool:
    """Whether ``at`` falls inside the quiet hours, read on the local wall clock of ``tz``."""
    _aware(at, "at")
    return quiet is not None and quiet.covers(at.astimezone(ZoneInfo(tz)).time())


def quiet_end(quiet: QuietHours | None, tz: str, at: datetime) -> datetime:
    """The UTC moment the quiet period containing ``at`` ends (``at`` itself when not quiet).

    This is the first instant from ``at`` on whose local wall time is outside the quiet hours,
    so a DST jump that carries the clock past the end (or back before the start) ends it there.
    """
    _aware(at, "at")
    cur = at.astimezone(UTC)
    if quiet is None:
        return cur
    zone = ZoneInfo(tz)
    for _ in range(8):  # each pass moves to a later DST transition; a day has at most a few
        local = cur.astimezone(zone)
        if not quiet.covers(local.time()):
            return cur
        day = local.date()
        if quiet.start > quiet.end and local.time() >= quiet.start:
            day += timedelta(days=1)
        offset = local.utcoffset()
        assert offset is not None
        # Where the wall clock reads the end if the offset holds until then.
        end = datetime.combine(day, quiet.end) - offset
        end_utc = end.replace(tzinfo=UTC)
        change = _offset_change(zone, cur, end_utc)
        if change is None:
            return end_utc
        cur = change
    raise AssertionError("quiet hours did not end within eight DST transitions")


def _candidates(schedule: Schedule, zone: ZoneInfo, after: datetime) -> datetime:
    """The first local schedule time strictly after ``after`` (daily and weekly)."""
    # An earlier local date than after's has all its times first happen before it.
    first = after.astimezone(zone).date()
    # Nine days cover a week and a day a zone skipped (Pacific/Apia, 2011-12-30).
    for n in range(9):
        day = first + timedelta(days=n)
        if schedule.kind == "weekly" and day.weekday() not in schedule.weekdays:
            continue
        for clock in sorted(schedule.times):  # a later wall time never happens earlier
            due = _resolve(zone, day, clock)
            if due > after:
                return due
    raise AssertionError("a daily or weekly schedule has a time within nine days")


def next_due(
    schedule: Schedule, tz: str, after: datetime, quiet: QuietHours | None = None
) -> datetime | None:
    """The first moment strictly after ``after`` when a digest is due (UTC), or None for off.

    ``instant`` is the next whole minute; ``every Nh`` the next UTC hour on a grid of N hours
    counted from the Unix epoch (a restart keeps the rhythm); daily and weekly times are local
    to ``tz``. A moment inside quiet hours moves to their end, so never lands inside them.
    """
    _aware(after, "after")
    after = after.astimezone(UTC)
    if schedule.kind == "off":
        return None
    if schedule.kind == "instant":
        due = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    elif schedule.kind == "every":
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        hours = (after - epoch) // _HOUR
        due = epoch + _HOUR * (hours - hours % schedule.hours + schedule.hours)
    elif schedule.kind in ("daily", "weekly"):
        due = _candidates(schedule, ZoneInfo(tz), after)
    else:
        raise ValueError(f"unknown schedule kind {schedule.kind!r}")
    return quiet_end(quiet, tz, due)


def due_now(
    schedule: Schedule,
    tz: str,
    last_due: datetime | None,
    now: datetime,
    quiet: QuietHours | None = None,
) -> bool:
    """Whether to compose at ``now`` given the stored due moment ``last_due``.

    False inside quiet hours even when overdue (a tick that came late); the caller then stores
    ``quiet_end(quiet, tz, now)`` as the due moment so the held items go out when they end.
    """
    _aware(now, "now")
    if schedule.kind == "off" or last_due is None or last_due > now:
        return False
    return not in_quiet(quiet, tz, now)


# A compose pass asks for the same few schedule strings 100,000 times.
_cached_schedule = functools.lru_cache(maxsize=1024)(parse_schedule)
_cached_quiet = functools.lru_cache(maxsize=1024)(parse_quiet)


def subscriber_timing(
    subscriber: Subscriber, fallback: str = "instant"
) -> tuple[Schedule, QuietHours | None]:
    """The subscriber's schedule and quiet hours, parsed (an invalid schedule falls back)."""
    quiet = _cached_quiet(subscriber.quiet_hours) if subscriber.quiet_hours else None
    try:
        return _cached_schedule(subscriber.schedule), quiet
    except ValueError:
        return _cached_schedule(fallback), quiet


def next_digest(
    subscriber: Subscriber, now: datetime, fallback: str = "instant"
) -> datetime | None:
    """When this subscriber's next digest is due after ``now``."""
    schedule, quiet = subscriber_timing(subscriber, fallback)
    return next_due(schedule, subscriber.timezone, now, quiet)
