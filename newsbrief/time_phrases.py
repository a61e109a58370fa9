"""Schedules and quiet hours the way people type them, read into ``newsbrief.schedule`` values.

``parse_schedule_phrase`` takes the canonical forms (``daily 08:30``) and also phrases such as
``每天早上8点和晚上8点``, ``工作日 9点``, ``每週一、週四 9:00``, ``每3小时``, ``下午三点半``,
``８：３０`` or ``every day 8am``; ``parse_quiet_phrase`` reads ``晚上11点到早上7点`` or
``11pm-7am``. Traditional script and full-width characters are folded first, so each rule below
is written once, in Simplified.

A phrase is read by taking out the parts it knows (day words, clock times, filler such as 和 or
"at") and refusing it when anything is left over: an unknown word fails loudly instead of being
dropped, so ``每天 8点 blah`` is an error rather than ``daily 08:00``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import time

from newsbrief.schedule import QuietHours, Schedule, parse_quiet, parse_schedule
from newsbrief.text.chinese import to_simplified

# Chinese numbers up to 59 (hours and minutes): 八, 十二, 二十三, 零五, 两.
_CN_NUM = r"(?:[一二两三四五]?十[一二三四五六七八九]?|[零〇]?[一二两三四五六七八九]|[零〇])"
_NUM = rf"(?:\d{{1,2}}|{_CN_NUM})"
_CN_DIGITS = dict(
    zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)

# Words before a clock time that say which half of the day it is in, by how they shift it.
_PERIODS = {
    **dict.fromkeys(("凌晨", "早上", "早晨", "清晨", "上午", "早", "am"), "am"),
    **dict.fromkeys(("中午", "午间", "正午"), "noon"),
    **dict.fromkeys(("下午", "午后", "傍晚", "pm"), "pm"),
    **dict.fromkeys(("晚上", "晚间", "今晚", "晚"), "evening"),
    **dict.fromkeys(("半夜", "深夜", "夜里", "夜间", "午夜"), "night"),
}
_CN_PERIOD = "|".join(sorted((p for p in _PERIODS if p.isascii() is False), key=len, reverse=True))
_CLOCK = re.compile(
    rf"""
    (?:(?P<period>{_CN_PERIOD})\s*)?  # no leading \s*: a run of spaces would be rescanned
    (?:
        (?P<hh>\d{{1,2}})\s*[:.]\s*(?P<mm>\d{{2}})                      # 08:30, 8.30
      | (?P<h>{_NUM})\s*(?:点钟?|时)(?:整)?                               # 8点, 八点钟, 8时
        (?:(?P<half>半)|(?P<quarter>[一三])刻|(?P<m>{_NUM})(?!\s*[点时]|[:\d])分?)?
      | (?P<ha>\d{{1,2}})(?=\s*[ap]\.?m\b)                              # 8am
      | (?P<word>noon|midnight|午夜|正午|中午)(?!\s*[\d零〇一二两三四五六七八九十])  # 中午 alone
    )
    (?:\s*(?P<ampm>[ap])\.?m\.?(?![a-z]))?
    """,
    re.VERBOSE,
)

# A day character that is really an hour (周三点 is no day list) is left for the clock reader.
_DAY = r"[一二三四五六日天1-7](?!\s*[点时]|[:.\d])"
_CN_DAY = r"[一二三四五六日天](?!\s*[点时]|[:.\d])"
_WEEK = r"(?:周|星期|礼拜)"
_SEP = r"\s*(?:[、,/&~-]|和|及|与|跟|到|至|and|to)\s*"
_CN_DAYS = re.compile(
    rf"(?:每个?)?{_WEEK}(?P<days>{_DAY}(?:(?:{_SEP}{_WEEK}?|\s*{_WEEK}){_DAY}|{_CN_DAY})*)"
)
_EN_DAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)s?"
)
_EN_DAYS = re.compile(
    rf"\b(?:on\s+|every\s+)?(?P<days>{_EN_DAY}(?:\s*(?:[,&/-]|and|to|through|thru)\s*{_EN_DAY})*)\b"
)
_EN_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WORKWEEK = re.compile(
    r"(?:每个?)?工作日|\b(?:every\s+)?(?:weekdays?|workdays?|working\s+days?|business\s+days?)\b"
)
_WEEKEND = re.compile(r"(?:每个?)?(?:周末|双休日)|\b(?:every\s+)?weekends?\b")
_DAILY = re.compile(r"每一?天|每日|天天|\bdaily\b|\b(?:every|each)\s*day\b")
_WEEKLY = re.compile(r"每个?(?:周|星期|礼拜)|\bweekly\b|\bevery\s+week\b")
_EVERY = re.compile(
    rf"^(?:每隔?|every)\s*(?P<n>{_NUM}|\d{{1,3}})?\s*个?\s*(?:小时|钟头|hours?|hrs?|h)(?:\s*一次)?$"
    rf"|^(?P<m>{_NUM}|\d{{1,3}})\s*个?\s*小时\s*一次$"
)
_FILLER = re.compile(
    r"[、,;&+/]|以及|还有|并且|和|及|与|跟|的|在|各|推送|发送|提醒|一次"
    r"|\b(?:and|at|on|every|each|from|send|me|o'?clock)\b"
)
_INSTANT = {
    "实时",
    "即时",
    "立即",
    "立刻",
    "马上",
    "随时",
    "instant",
    "instantly",
    "realtime",
    "real-time",
    "real time",
    "immediately",
    "asap",
}
_OFF = {
    "关闭",
    "关",
    "关掉",
    "停",
    "停止",
    "不推送",
    "不要推送",
    "不要",
    "取消",
    "无",
    "off",
    "none",
    "never",
    "stop",
    "disable",
    "disabled",
}
_HOURLY = {
    "每小时",
    "每个小时",
    "每一小时",
    "每钟头",
    "每个钟头",
    "hourly",
    "every hour",
    "each hour",
}
_RANGE = re.compile(r"\s*(?:到|至|-|–|—|~|\bto\b|\buntil\b|\btill\b)\s*")


@dataclass(frozen=True, slots=True)
class _Written:
    """A clock time as written, before its period word is applied."""

    hour: int
    minute: int
    period: str | None
    colon: bool = False
    """Written ``08:30``: a 24-hour time, which no earlier period word shifts."""


def _normalise(text: str) -> str:
    """Full-width to ASCII (NFKC), lower case, Traditional to Simplified, single spaces."""
    value = to_simplified(unicodedata.normalize("NFKC", text).casefold())
    return " ".join(value.replace("：", ":").split())


def _number(text: str) -> int:
    if text.isascii():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for char in text:
        value = value * 10 + _CN_DIGITS[char]
    return value


def _read_clocks(text: str) -> tuple[list[_Written], str]:
    """Every clock time in ``text`` in order, and the text with them taken out."""
    found: list[_Written] = []

    def take(m: re.Match[str]) -> str:
        period = _PERIODS[m["period"]] if m["period"] else None
        if m["ampm"]:
            period = m["ampm"] + "m"
        if m["word"]:
            found.append(_Written(12 if m["word"] in ("noon", "正午", "中午") else 0, 0, None))
        elif m["hh"]:
            found.append(_Written(int(m["hh"]), int(m["mm"]), period, colon=True))
        elif m["ha"]:
            found.append(_Written(int(m["ha"]), 0, period))
        else:
            minute = 30 if m["half"] else 0
            if m["quarter"]:
                minute = 15 if m["quarter"] == "一" else 45
            elif m["m"]:
                minute = _number(m["m"])
            found.append(_Written(_number(m["h"]), minute, period))
        return " "

    return found, _CLOCK.sub(take, text)


def _clock(written: _Written, period: str | None) -> time:
    """The 24-hour time a written clock means in a period; ValueError when there is none."""
    hour, minute = written.hour, written.minute
    if hour == 24 and minute == 0:
        hour = 0
    elif hour <= 12:
        if period == "am":
            hour %= 12  # 凌晨12点, 12am: midnight
        elif period == "noon" and hour < 6:
            hour += 12  # 中午1点
        elif period == "pm" and hour < 12:
            hour += 12
        elif period in ("evening", "night"):
            # 晚上12点 is midnight; 晚上1点 and 半夜2点 are after it; 晚上8点 is 20:00.
            late = 5 if period == "evening" else 6
            hour = 0 if hour == 12 else hour if hour < late else hour + 12
    if hour > 23 or minute > 59:
        raise ValueError(f"{written.hour}:{written.minute:02d} is not a time of day")
    return time(hour, minute)


def _leftover(text: str) -> str:
    return " ".join(_FILLER.sub(" ", text).split())


def _cn_days(spec: str) -> set[int]:
    """``一、四`` → {0, 3}; ``一到五`` → 0..4 (a range may wrap past Sunday)."""
    days: set[int] = set()
    start: int | None = None
    ranging = False
    for m in re.finditer(r"(到|至|-|~|to)|([一二三四五六日天1-7])", spec):
        if m[1]:
            ranging = True
            continue
        char = m[2]
        day = (
            6
            if char in "日天7"
            else ("一二三四五六".find(char) if not char.isdigit() else int(char) - 1)
        )
        if ranging and start is not None:
            days.update((start + i) % 7 for i in range((day - start) % 7 + 1))
        days.add(day)
        start, ranging = day, False
    return days


def _en_days(spec: str) -> set[int]:
    days: set[int] = set()
    start: int | None = None
    ranging = False
    for m in re.finditer(rf"(-|\bto\b|\bthrough\b|\bthru\b)|({_EN_DAY})", spec):
        if m[1]:
            ranging = True
            continue
        day = _EN_DAY_NAMES.index(m[2][:3])
        if ranging and start is not None:
            days.update((start + i) % 7 for i in range((day - start) % 7 + 1))
        days.add(day)
        start, ranging = day, False
    return days


def _days(value: str) -> tuple[set[int], bool, str]:
    """The weekdays a phrase names, whether it said weekly, and the phrase without them."""
    days: set[int] = set()

    def take(found: set[int]) -> str:
        days.update(found)
        return " "

    value = _WORKWEEK.sub(lambda m: take(set(range(5))), value)
    value = _WEEKEND.sub(lambda m: take({5, 6}), value)
    value = _CN_DAYS.sub(lambda m: take(_cn_days(m["days"])), value)
    value = _EN_DAYS.sub(lambda m: take(_en_days(m["days"])), value)
    weekly = bool(_WEEKLY.search(value))
    value = _WEEKLY.sub(" ", _DAILY.sub(" ", value))
    return days, weekly, value


def parse_schedule_phrase(text: str) -> Schedule:
    """A schedule from a canonical form or a phrase; ValueError (in English) when unreadable."""
    value = _normalise(text)
    try:
        return parse_schedule(value)
    except ValueError:
        pass
    bare = value.replace(" ", "")
    if value in _INSTANT or bare in _INSTANT:
        return Schedule("instant")
    if value in _OFF or bare in _OFF:
        return Schedule("off")
    if value in _HOURLY or bare in _HOURLY:
        return Schedule("every", hours=1)
    if m := _EVERY.match(value):
        hours = m["n"] or m["m"]
        return parse_schedule(f"every {_number(hours) if hours else 1}h")
    days, weekly, rest = _days(value)
    written, rest = _read_clocks(rest)
    if left := _leftover(rest):
        raise ValueError(f"cannot read {left!r} in the schedule {text!r}")
    if not written:
        raise ValueError(f"the schedule {text!r} needs a time, like 每天 8点 or daily 08:00")
    if weekly and not days:
        raise ValueError(f"the schedule {text!r} needs days, like 每周一 9点 or weekly mon 09:00")
    times: set[time] = set()
    period: str | None = None
    for clock in written:
        # 下午3点和5点: the afternoon carries on to 5点. A morning word does not carry (in
        # 早上8点和12点, 12点 is noon: a time without one reads as morning anyway), nor does any
        # word carry to a 24-hour time such as 09:00.
        if clock.period is not None:
            period = clock.period
        carried = period if period in ("pm", "evening") and not clock.colon else None
        times.add(_clock(clock, clock.period or carried))
    if days:
        return Schedule("weekly", times=tuple(sorted(times)), weekdays=tuple(sorted(days)))
    return Schedule("daily", times=tuple(sorted(times)))


def _one_clock(text: str) -> _Written:
    cleaned = re.sub(r"^(?:从|由|from|between)\s*", "", text.strip())
    written, rest = _read_clocks(cleaned)
    if len(written) != 1 or _leftover(rest):
        raise ValueError(f"{text!r} is not one time of day")
    return written[0]


def _minutes(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def parse_quiet_phrase(text: str) -> QuietHours | None:
    """Quiet hours from ``23:00-07:00``, ``23点到7点`` or ``晚上11点到早上7点``; None for off."""
    value = _normalise(text)
    if value in _OFF or value.replace(" ", "") in _OFF:
        return None
    try:
        return parse_quiet(value)
    except ValueError:
        pass
    sides = _RANGE.split(value)
    if len(sides) != 2:
        raise ValueError(f"{text!r} is not quiet hours like 23:00-07:00 (or off)")
    start_written, end_written = _one_clock(sides[0]), _one_clock(sides[1])
    start = _clock(start_written, start_written.period)
    end = _clock(end_written, end_written.period)
    if end_written.period is None and start_written.period is not None:
        # 下午1点到3点 ends at 15:00, 晚上11点到7点 at 07:00: of the end read with and without
        # the start's period, take the one that makes the shorter span.
        carried = _clock(end_written, start_written.period)
        span = {c: (_minutes(c) - _minutes(start)) % 1440 or 1440 for c in (end, carried)}
        end = min(span, key=lambda c: span[c])
    return QuietHours(start, end)
