"""Timezones the way people name them, read into IANA names, and shown with their offset.

``parse_timezone`` accepts IANA names in any case (``asia/shanghai``), their cities (``new
york``), Chinese city names in either script (``北京``, ``東京``), ``北京时间``-style names,
offsets (``UTC+8``, ``GMT+08:00``, ``+8``, ``UTC-5``) and zone words (``东八区``, ``西五区``).

An offset is stored as an IANA zone, chosen to keep the offset the user typed all year:

- ``UTC+8`` (and ``东八区``) is ``Asia/Shanghai``: the zone most users of this bot mean, and China,
  Hong Kong, Taiwan and Singapore all keep +8 without daylight saving, so it is the same clock;
- other whole hours are the fixed ``Etc/GMT`` zones, whose sign POSIX inverts (``UTC-5`` is
  ``Etc/GMT+5``). A user in New York who types ``UTC-5`` gets -5 in summer too, as typed;
  ``/timezone 纽约`` follows DST. Guessing a city for ``UTC+1`` would add DST nobody asked for;
- ``Etc`` has no half hours, so ``UTC+5:30`` and the like are the zone that keeps that offset
  without DST (``Asia/Kolkata``); one no such zone keeps (``UTC-3:30``) is refused.

``describe_zone`` shows a zone the way replies do: ``Asia/Shanghai (UTC+8)``, and an ``Etc/GMT``
zone as the offset alone (``UTC-5``), so nobody has to read the inverted sign.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from datetime import datetime, timedelta

from newsbrief.text.chinese import to_simplified

# Offsets (minutes east of UTC) stored as a named zone that keeps them without DST (see above);
# tests/test_time_phrases.py checks each still does.
_OFFSET_ZONES = {
    0: "UTC",
    8 * 60: "Asia/Shanghai",
    3 * 60 + 30: "Asia/Tehran",
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    6 * 60 + 30: "Asia/Yangon",
    9 * 60 + 30: "Australia/Darwin",
    -9 * 60 - 30: "Pacific/Marquesas",
}

# Chinese names of places, Simplified (Traditional input is converted first).
CITIES = {
    "北京": "Asia/Shanghai",
    "上海": "Asia/Shanghai",
    "深圳": "Asia/Shanghai",
    "广州": "Asia/Shanghai",
    "杭州": "Asia/Shanghai",
    "成都": "Asia/Shanghai",
    "中国": "Asia/Shanghai",
    "香港": "Asia/Hong_Kong",
    "澳门": "Asia/Macau",
    "台北": "Asia/Taipei",
    "台湾": "Asia/Taipei",
    "新加坡": "Asia/Singapore",
    "吉隆坡": "Asia/Kuala_Lumpur",
    "东京": "Asia/Tokyo",
    "日本": "Asia/Tokyo",
    "首尔": "Asia/Seoul",
    "韩国": "Asia/Seoul",
    "曼谷": "Asia/Bangkok",
    "悉尼": "Australia/Sydney",
    "墨尔本": "Australia/Melbourne",
    "迪拜": "Asia/Dubai",
    "莫斯科": "Europe/Moscow",
    "伦敦": "Europe/London",
    "英国": "Europe/London",
    "巴黎": "Europe/Paris",
    "柏林": "Europe/Berlin",
    "纽约": "America/New_York",
    "美东": "America/New_York",
    "华盛顿": "America/New_York",
    "多伦多": "America/Toronto",
    "温哥华": "America/Vancouver",
    "芝加哥": "America/Chicago",
    "美中": "America/Chicago",
    "洛杉矶": "America/Los_Angeles",
    "旧金山": "America/Los_Angeles",
    "西雅图": "America/Los_Angeles",
    "美西": "America/Los_Angeles",
    "太平洋": "America/Los_Angeles",
    "格林尼治": "UTC",
    "格林威治": "UTC",
    "协调世界时": "UTC",
    "世界标准时间": "UTC",
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
}

_OFFSET = re.compile(r"^(?:utc|gmt|z)?\s*([+-])\s*(\d{1,2})(?:\s*:?\s*(\d{2}))?$")
_CN_ZONE = re.compile(r"^(东|西)\s*([一二三四五六七八九十]{1,3}|\d{1,2})\s*区$")
_SUFFIX = re.compile(r"\s*(?:标准时间|时间|时区|time(?:\s*zone)?)$")
_CN_DIGITS = dict(zip("一二三四五六七八九", range(1, 10), strict=True))


@functools.cache
def zone_names() -> dict[str, str]:
    """Every IANA zone by its case-folded name and city (``new york`` too), and ``CITIES``."""
    zones: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        zones.setdefault(name.casefold(), name)
        if name.startswith("Etc/"):
            continue  # "gmt+8" as a city would be Etc/GMT+8, which is UTC-8
        city = name.rsplit("/", 1)[-1].casefold()
        zones.setdefault(city, name)
        zones.setdefault(city.replace("_", " "), name)
    zones.update(CITIES)
    return zones


def offset_zone(minutes: int) -> str | None:
    """The zone stored for a fixed offset east of UTC (see the module notes), or None."""
    if minutes in _OFFSET_ZONES:
        return _OFFSET_ZONES[minutes]
    hours, rest = divmod(minutes, 60)
    if rest or not -12 <= hours <= 14:
        return None  # Etc zones are whole hours from -12 to +14
    return f"Etc/GMT{-hours:+d}"  # POSIX sign: east of UTC is minus


def _cn_number(text: str) -> int:
    if text.isascii():
        return int(text)
    tens, ten, ones = text.partition("十")
    if not ten:
        return _CN_DIGITS.get(tens, 0) if len(tens) == 1 else 0
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def parse_timezone(text: str) -> str | None:
    """The IANA zone a user means by ``text``, or None when it names none."""
    value = " ".join(to_simplified(unicodedata.normalize("NFKC", text).casefold()).split())
    value = value.replace("：", ":")
    if m := _OFFSET.match(value):
        hours, minutes = int(m[2]), int(m[3] or 0)
        if hours > 14 or minutes > 59:
            return None
        sign = -1 if m[1] == "-" else 1
        return offset_zone(sign * (hours * 60 + minutes))
    zones = zone_names()
    if value in zones:
        return zones[value]
    if m := _CN_ZONE.match(value):
        hours = _cn_number(m[2])
        if not 1 <= hours <= 12:
            return None
        return offset_zone((hours if m[1] == "东" else -hours) * 60)
    if value in ("零时区", "中时区"):
        return "UTC"
    bare = _SUFFIX.sub("", value)
    if bare != value and bare:
        return parse_timezone(bare)
    return None


def format_offset(zone: str, at: datetime) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC+0``: the zone's offset at the moment ``at``."""
    offset = at.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def describe_zone(zone: str, at: datetime) -> str:
    """A zone as replies show it: ``Asia/Shanghai (UTC+8)``; ``UTC-5`` for ``Etc/GMT+5``."""
    if zone == "UTC" or zone.startswith("Etc/"):
        return format_offset(zone, at) if zone != "UTC" else "UTC"
    return f"{zone} ({format_offset(zone, at)})"
