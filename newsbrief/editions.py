"""A digest's edition: the reader's local date and part of day when it was composed.

Parts of day, local time: 05:00-10:59 morning (早报), 11:00-16:59 midday (午报), 17:00-04:59
evening (晚报). The date is the local calendar date, so a digest composed at 23:30 UTC is dated
the next day in Asia/Shanghai (07:30 there); one composed after midnight is that night's
late evening edition, dated by the calendar.
"""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsbrief.records import Edition, Period

MORNING_FROM = 5
MIDDAY_FROM = 11
EVENING_FROM = 17


def period_of(hour: int) -> Period:
    if MORNING_FROM <= hour < MIDDAY_FROM:
        return "morning"
    if MIDDAY_FROM <= hour < EVENING_FROM:
        return "midday"
    return "evening"


@functools.lru_cache(maxsize=4096)
def edition_at(when: datetime, timezone: str) -> Edition:
    """The edition of a digest composed at ``when`` (aware) for a reader in ``timezone``
    (an unknown zone reads as UTC). Cached: a compose pass asks once per reader, with one
    ``when`` and a handful of zones."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = when.astimezone(zone)
    return Edition(local.month, local.day, period_of(local.hour))


_CODES: dict[Period, str] = {"morning": "m", "midday": "n", "evening": "e"}
_PERIODS: dict[str, Period] = {code: period for period, code in _CODES.items()}


def edition_token(edition: Edition) -> str:
    """A compact form for digest blocks stored by reference: ``1202e``."""
    return f"{edition.month:02d}{edition.day:02d}{_CODES[edition.period]}"


def parse_edition_token(token: str) -> Edition | None:
    """``edition_token`` read back; None for anything else (a block from a newer version)."""
    if len(token) != 5 or not token[:4].isdigit() or token[4] not in _PERIODS:
        return None
    month, day = int(token[:2]), int(token[2:4])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return Edition(month, day, _PERIODS[token[4]])
