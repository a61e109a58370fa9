"""Times as a subscriber reads them: in their timezone, their language, with the zone named.

Every time a command shows (the next digest in ``/subscribe``, ``/list`` and ``/settings``, the
fetch and send times in ``/why``) goes through ``local_time``, so no reply shows UTC to someone
in Beijing. Near times read relative to now (``今天 08:30``, ``tomorrow 08:30``), others by date.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from bot.i18n import CATALOGUE, t
from newsbrief.timezones import format_offset

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""English month names, whatever the host's locale (``%b`` follows it)."""


def _zone(tz: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # a stored zone the host lacks
        return zoneinfo.ZoneInfo("UTC")


def zone_label(tz: str, lang: str, at: datetime | None = None) -> str:
    """``北京时间`` for Asia/Shanghai, ``UTC-5`` for the fixed ``Etc/GMT+5`` (whose sign reads
    backwards), the IANA name for other zones without a common name."""
    names = CATALOGUE.get(f"zone_name_{tz}")
    if names:
        return t(f"zone_name_{tz}", lang)
    if tz.startswith("Etc/"):
        return format_offset(tz, at or datetime.now(UTC))
    return tz


def local_time(at: datetime, tz: str, lang: str, now: datetime | None = None) -> str:
    """``at`` on the clock of ``tz``: ``明天 08:30（北京时间）``, ``Dec 2 20:30 (Asia/Tokyo)``.

    With ``now``, yesterday, today and tomorrow are named and the year only shown when it is not
    this one; without it the full date is shown (``2025-12-02 20:30``).
    """
    zone = _zone(tz)
    local = at.astimezone(zone)
    clock = local.strftime("%H:%M")
    if now is None:
        day = local.strftime("%Y-%m-%d")
    else:
        today = now.astimezone(zone).date()
        days = (local.date() - today).days
        if days in (-1, 0, 1):
            day = t(("time_yesterday", "time_today", "time_tomorrow")[days + 1], lang)
        elif local.year == today.year:
            mon = _MONTHS[local.month - 1]
            day = t("time_date", lang, month=local.month, day=local.day, mon=mon)
        else:
            day = local.strftime("%Y-%m-%d")
    return t("time_in_zone", lang, time=f"{day} {clock}", zone=zone_label(tz, lang, at))


def local_date(at: datetime, tz: str) -> str:
    """The month and day of ``at`` in ``tz`` (``12-02``), for lists where the hour is noise."""
    return at.astimezone(_zone(tz)).strftime("%m-%d")
