"""When a subscriber's next digest is due: pure functions over aware datetimes.

Schedules are short strings a subscriber can type:
``instant`` (every compose tick), ``hourly``, ``every 3h``, ``daily 08:30,20:00``, ``off``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_EVERY = re.compile(r"^every\s+(\d{1,3})\s*h$")
_DAILY = re.compile(r"^daily\s+(.+)$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: str
    """``instant``, ``every``, ``daily`` or ``off``."""
    hours: int = 0
    times: tuple[time, ...] = ()

    def __str__(self) -> str:
        if self.kind == "every":
            return "hourly" if self.hours == 1 else f"every {self.hours}h"
        if self.kind == "daily":
            return "daily " + ",".join(t.strftime("%H:%M") for t in self.times)
        return self.kind


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule string; raise ValueError with a message a user can act on."""
    value = " ".join(text.strip().lower().split())
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
        times = []
        for part in m.group(1).replace(" ", "").split(","):
            hm = _HHMM.match(part)
            if not hm:
                raise ValueError(f"{part!r} is not a time like 08:30")
            times.append(time(int(hm.group(1)), int(hm.group(2))))
        return Schedule("daily", times=tuple(sorted(set(times))))
    raise ValueError(
        f"unknown schedule {text!r}: use instant, hourly, every 3h, daily 08:30,20:00 or off"
    )


def next_due(schedule: Schedule, tz: str, after: datetime) -> datetime | None:
    """The first moment strictly after ``after`` when a digest is due (UTC), or None for off."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if schedule.kind == "off":
        return None
    if schedule.kind == "instant":
        return after
    if schedule.kind == "every":
        step = timedelta(hours=schedule.hours)
        # Align to whole hours so a restart does not shift the rhythm.
        base = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        due = base + step
        while due <= after:
            due += step
        return due
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    for day in range(0, 3):
        date = local.date() + timedelta(days=day)
        for t in schedule.times:
            due = datetime.combine(date, t, tzinfo=zone).astimezone(UTC)
            if due > after:
                return due
    raise AssertionError("a daily schedule always has a time within three days")
