"""Schedules, timezones and quiet hours typed the way people say them, in both Chinese scripts and
English: each phrase is read into its canonical value, and the reply through the real command
core (a real SQLite database) shows it back in the user's language. Generated phrasings cover
what the tables do not list; bad phrases leave the subscriber's settings as they were."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.core import CommandCore
from bot.commands.io import Command, Reply
from bot.i18n import t
from bot.telegram.render import esc
from jobs.compose import compose_for
from newsbrief.config.settings import Config
from newsbrief.records import Subscriber
from newsbrief.schedule import Schedule, describe_schedule, next_due, parse_schedule
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from newsbrief.time_phrases import parse_quiet_phrase, parse_schedule_phrase
from newsbrief.timezones import describe_zone, offset_zone, parse_timezone

NOW = datetime(2026, 1, 15, 4, tzinfo=UTC)  # winter in the north: New York is UTC-5
HINT = {"zh-Hans": "zh-hans", "zh-Hant": "zh-hant", "en": "en"}
PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None)

# phrase, the user's language, the canonical schedule, and how the reply shows it (literally).
SCHEDULES = [
    ("每天 8点", "zh-Hans", "daily 08:00", "每天 08:00"),
    ("每天8点半", "zh-Hans", "daily 08:30", "每天 08:30"),
    ("每天 08:30 和 20:00", "zh-Hans", "daily 08:30,20:00", "每天 08:30、20:00"),
    ("每天早上8点和晚上8点", "zh-Hans", "daily 08:00,20:00", "每天 08:00、20:00"),
    ("工作日 早上8点", "zh-Hans", "weekdays 08:00", "工作日 08:00"),
    ("周一到周五 9点", "zh-Hans", "weekdays 09:00", "工作日 09:00"),
    ("每周一 9点", "zh-Hans", "weekly mon 09:00", "每周一 09:00"),
    ("每周一、周四 9:00", "zh-Hans", "weekly mon,thu 09:00", "每周一、周四 09:00"),
    ("每周一三五 早上七点", "zh-Hans", "weekly mon,wed,fri 07:00", "每周一、周三、周五 07:00"),
    ("每星期天 晚上十点", "zh-Hans", "weekly sun 22:00", "每周日 22:00"),
    ("周末 10点", "zh-Hans", "weekly sat,sun 10:00", "周末 10:00"),
    ("每小时", "zh-Hans", "hourly", "每小时"),
    ("每3小时", "zh-Hans", "every 3h", "每 3 小时"),
    ("每 3 小时", "zh-Hans", "every 3h", "每 3 小时"),
    ("每隔两个小时", "zh-Hans", "every 2h", "每 2 小时"),
    ("实时", "zh-Hans", "instant", "实时"),
    ("即时", "zh-Hans", "instant", "实时"),
    ("下午3点", "zh-Hans", "daily 15:00", "每天 15:00"),
    ("晚上9点", "zh-Hans", "daily 21:00", "每天 21:00"),
    ("中午12点", "zh-Hans", "daily 12:00", "每天 12:00"),
    ("凌晨1点", "zh-Hans", "daily 01:00", "每天 01:00"),
    ("八点", "zh-Hans", "daily 08:00", "每天 08:00"),
    ("十二点半", "zh-Hans", "daily 12:30", "每天 12:30"),
    ("８：３０", "zh-Hans", "daily 08:30", "每天 08:30"),
    ("每天早上八点一刻", "zh-Hans", "daily 08:15", "每天 08:15"),
    ("每天 7点45分", "zh-Hans", "daily 07:45", "每天 07:45"),
    ("下午3点和5点", "zh-Hans", "daily 15:00,17:00", "每天 15:00、17:00"),
    ("每天 9点，21:00", "zh-Hans", "daily 09:00,21:00", "每天 09:00、21:00"),
    ("daily 08:30", "zh-Hans", "daily 08:30", "每天 08:30"),
    ("每週一 9點", "zh-Hant", "weekly mon 09:00", "每週一 09:00"),
    ("每週二、週四 下午兩點半", "zh-Hant", "weekly tue,thu 14:30", "每週二、週四 14:30"),
    ("每天 8點", "zh-Hant", "daily 08:00", "每天 08:00"),
    ("每日 晚上８點", "zh-Hant", "daily 20:00", "每天 20:00"),
    ("工作日 早上8點", "zh-Hant", "weekdays 08:00", "工作日 08:00"),
    ("禮拜六 上午十點", "zh-Hant", "weekly sat 10:00", "每週六 10:00"),
    ("每小時", "zh-Hant", "hourly", "每小時"),
    ("每3小時", "zh-Hant", "every 3h", "每 3 小時"),
    ("每 六 個小時", "zh-Hant", "every 6h", "每 6 小時"),
    ("即時", "zh-Hant", "instant", "即時"),
    ("實時", "zh-Hant", "instant", "即時"),
    ("中午十二點", "zh-Hant", "daily 12:00", "每天 12:00"),
    ("凌晨一點", "zh-Hant", "daily 01:00", "每天 01:00"),
    ("every day 8am", "en", "daily 08:00", "daily 08:00"),
    ("8:30pm", "en", "daily 20:30", "daily 20:30"),
    ("weekdays 9am", "en", "weekdays 09:00", "weekdays 09:00"),
    ("every 3 hours", "en", "every 3h", "every 3 h"),
    ("every hour", "en", "hourly", "hourly"),
    ("every monday and thursday at 9am", "en", "weekly mon,thu 09:00", "weekly Mon, Thu 09:00"),
    ("mon-fri 7:15", "en", "weekdays 07:15", "weekdays 07:15"),
    ("daily 08:30, 20:00", "en", "daily 08:30,20:00", "daily 08:30, 20:00"),
    ("noon", "en", "daily 12:00", "daily 12:00"),
    ("12am", "en", "daily 00:00", "daily 00:00"),
    ("instant", "en", "instant", "instant"),
]
OFF = [("关闭", "zh-Hans"), ("關閉", "zh-Hant"), ("off", "en"), ("關", "zh-Hant")]
BAD_SCHEDULES = [
    ("每天", "zh-Hans"),  # no time
    ("每周 9点", "zh-Hans"),  # no day
    ("每天 8", "zh-Hans"),
    ("每天 25点", "zh-Hans"),
    ("每天 8点 吃饭", "zh-Hans"),
    ("每半小时", "zh-Hans"),
    ("每週 9點", "zh-Hant"),
    ("有空的時候", "zh-Hant"),
    ("every 200 hours", "en"),
    ("sometimes", "en"),
    ("daily 8:61", "en"),
]
# phrase, the user's language, the zone stored, and how the reply shows it.
ZONES = [
    ("UTC+8", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("UTC+08:00", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("GMT+8", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("+08:00", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("+8", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("ＵＴＣ＋８", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("东八区", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("東八區", "zh-Hant", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("东九区", "zh-Hans", "Etc/GMT-9", "UTC+9"),
    ("西五区", "zh-Hans", "Etc/GMT+5", "UTC-5"),
    ("西五區", "zh-Hant", "Etc/GMT+5", "UTC-5"),
    ("UTC-5", "en", "Etc/GMT+5", "UTC-5"),
    ("GMT-3", "en", "Etc/GMT+3", "UTC-3"),
    ("UTC+5:30", "en", "Asia/Kolkata", "Asia/Kolkata (UTC+5:30)"),
    ("UTC", "en", "UTC", "UTC"),
    ("北京时间", "zh-Hans", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("北京時間", "zh-Hant", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("香港时间", "zh-Hans", "Asia/Hong_Kong", "Asia/Hong_Kong (UTC+8)"),
    ("香港時間", "zh-Hant", "Asia/Hong_Kong", "Asia/Hong_Kong (UTC+8)"),
    ("东京时间", "zh-Hans", "Asia/Tokyo", "Asia/Tokyo (UTC+9)"),
    ("纽约时间", "zh-Hans", "America/New_York", "America/New_York (UTC-5)"),
    ("紐約時間", "zh-Hant", "America/New_York", "America/New_York (UTC-5)"),
    ("伦敦时间", "zh-Hans", "Europe/London", "Europe/London (UTC+0)"),
    ("东京", "zh-Hans", "Asia/Tokyo", "Asia/Tokyo (UTC+9)"),
    ("東京", "zh-Hant", "Asia/Tokyo", "Asia/Tokyo (UTC+9)"),
    ("臺北", "zh-Hant", "Asia/Taipei", "Asia/Taipei (UTC+8)"),
    ("台灣", "zh-Hant", "Asia/Taipei", "Asia/Taipei (UTC+8)"),
    ("新加坡", "zh-Hans", "Asia/Singapore", "Asia/Singapore (UTC+8)"),
    ("首爾", "zh-Hant", "Asia/Seoul", "Asia/Seoul (UTC+9)"),
    ("Asia/Shanghai", "en", "Asia/Shanghai", "Asia/Shanghai (UTC+8)"),
    ("europe/paris", "en", "Europe/Paris", "Europe/Paris (UTC+1)"),
    ("new york", "en", "America/New_York", "America/New_York (UTC-5)"),
    ("Tokyo time", "en", "Asia/Tokyo", "Asia/Tokyo (UTC+9)"),
]
BAD_ZONES = [("火星时间", "zh-Hans"), ("UTC+15", "en"), ("东十三区", "zh-Hans"), ("UTC-3:30", "en")]
# phrase, the user's language, the quiet hours stored.
QUIET = [
    ("23点到7点", "zh-Hans", "23:00-07:00"),
    ("晚上11点到早上7点", "zh-Hans", "23:00-07:00"),
    ("晚上11点到7点", "zh-Hans", "23:00-07:00"),
    ("23:00-07:00", "zh-Hans", "23:00-07:00"),
    ("下午1点至3点", "zh-Hans", "13:00-15:00"),
    ("从晚上十点到早上六点半", "zh-Hans", "22:00-06:30"),
    ("晚上11點到早上7點", "zh-Hant", "23:00-07:00"),
    ("２３：００～０７：００", "zh-Hant", "23:00-07:00"),
    ("11pm-7am", "en", "23:00-07:00"),
    ("from 10pm to 6am", "en", "22:00-06:00"),
]
BAD_QUIET = [("23点", "zh-Hans"), ("晚上11点到晚上11点", "zh-Hans"), ("睡觉的时候", "zh-Hant")]


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CommandCore]:
    path: Path = tmp_path_factory.mktemp("phrases") / "newsbrief.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    config = Config(
        database_url="sqlite://", topics=[{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}]
    )
    yield CommandCore(db, lambda: config, compose=compose_for, clock=lambda: NOW)
    db.dispose()


_chats = itertools.count(1000)


class Chat:
    """One private chat with the bot, in one language."""

    def __init__(self, core: CommandCore, lang: str) -> None:
        self.core, self.lang, self.chat_id = core, lang, str(next(_chats))

    async def say(self, text: str) -> Reply:
        command = Command(
            platform="telegram",
            chat_id=self.chat_id,
            chat_type="private",
            sender_id=self.chat_id,
            text=text,
            language_hint=HINT[self.lang],
        )
        reply = await self.core.handle(command)
        assert reply is not None
        return reply

    def subscriber(self) -> Subscriber:
        with self.core.db.session() as session:
            found = subscribers.find(session, "telegram", self.chat_id, None)
        assert found is not None
        return found


def test_the_tables_hold_at_least_forty_phrases_in_both_scripts() -> None:
    phrases = [(p, lang) for p, lang, *_ in SCHEDULES + ZONES] + OFF
    assert len(phrases) >= 80
    assert len({p for p, lang in phrases if lang == "zh-Hant"}) >= 20
    assert len({p for p, lang in phrases if lang == "zh-Hans"}) >= 40


@pytest.mark.parametrize(("phrase", "lang", "canonical", "shown"), SCHEDULES)
async def test_a_schedule_phrase_is_stored_canonical_and_shown_in_the_user_language(
    core: CommandCore, phrase: str, lang: str, canonical: str, shown: str
) -> None:
    assert str(parse_schedule_phrase(phrase)) == canonical
    chat = Chat(core, lang)
    reply = await chat.say(f"/schedule {phrase}")
    assert reply.text == t("schedule_set", lang, schedule=shown)
    assert chat.subscriber().schedule == canonical
    assert describe_schedule(canonical, lang) == shown


@pytest.mark.parametrize(("phrase", "lang"), OFF)
async def test_off_in_any_script(core: CommandCore, phrase: str, lang: str) -> None:
    chat = Chat(core, lang)
    await chat.say("/schedule 每天 8点")
    assert await chat.say(f"/schedule {phrase}") == Reply(t("schedule_off", lang))
    assert chat.subscriber().schedule == "off"


@pytest.mark.parametrize(("phrase", "lang"), BAD_SCHEDULES)
async def test_a_bad_schedule_gets_examples_and_changes_nothing(
    core: CommandCore, phrase: str, lang: str
) -> None:
    with pytest.raises(ValueError):
        parse_schedule_phrase(phrase)
    chat = Chat(core, lang)
    await chat.say("/schedule every 2h")
    reply = await chat.say(f"/schedule {phrase}")
    assert reply.text == t("schedule_unreadable", lang, value=esc(phrase))
    example = {"zh-Hans": "每天 8点", "zh-Hant": "每天 8點", "en": "daily 8am"}[lang]
    assert example in reply.text
    assert chat.subscriber().schedule == "every 2h"


@pytest.mark.parametrize(("phrase", "lang", "zone", "shown"), ZONES)
async def test_a_timezone_phrase_is_stored_as_an_iana_zone_and_shown_with_its_offset(
    core: CommandCore, phrase: str, lang: str, zone: str, shown: str
) -> None:
    assert parse_timezone(phrase) == zone
    chat = Chat(core, lang)
    reply = await chat.say(f"/timezone {phrase}")
    assert reply.text == t("timezone_set", lang, timezone=shown)
    assert chat.subscriber().timezone == zone


@pytest.mark.parametrize(("phrase", "lang"), BAD_ZONES)
async def test_a_bad_timezone_changes_nothing(core: CommandCore, phrase: str, lang: str) -> None:
    assert parse_timezone(phrase) is None
    chat = Chat(core, lang)
    await chat.say("/timezone Asia/Tokyo")
    reply = await chat.say(f"/timezone {phrase}")
    assert reply.text in (
        t("timezone_unknown", lang, value=esc(phrase)),
        *(t("timezone_close", lang, value=esc(phrase), close=z) for z in ("UTC", "Etc/UTC")),
    )
    assert chat.subscriber().timezone == "Asia/Tokyo"


@pytest.mark.parametrize(("phrase", "lang", "quiet"), QUIET)
async def test_quiet_hours_phrases(core: CommandCore, phrase: str, lang: str, quiet: str) -> None:
    assert str(parse_quiet_phrase(phrase)) == quiet
    chat = Chat(core, lang)
    assert (await chat.say(f"/quiet {phrase}")).text == t("quiet_set", lang, quiet=quiet)
    assert chat.subscriber().quiet_hours == quiet


@pytest.mark.parametrize(("phrase", "lang"), BAD_QUIET)
async def test_bad_quiet_hours_change_nothing(core: CommandCore, phrase: str, lang: str) -> None:
    chat = Chat(core, lang)
    await chat.say("/quiet 22:00-06:00")
    reply = await chat.say(f"/quiet {phrase}")
    assert reply.text == t("quiet_unreadable", lang, value=esc(phrase))
    assert chat.subscriber().quiet_hours == "22:00-06:00"
    assert await chat.say("/quiet 關閉") == Reply(t("quiet_off", lang))
    assert chat.subscriber().quiet_hours is None


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant", "en"])
async def test_schedule_buttons_read_in_the_user_language_and_send_the_canonical_form(
    core: CommandCore, lang: str
) -> None:
    chat = Chat(core, lang)
    await chat.say("/schedule 工作日 9点")
    reply = await chat.say("/schedule")
    current = {"zh-Hans": "工作日 09:00", "zh-Hant": "工作日 09:00", "en": "weekdays 09:00"}
    assert reply.text == t("schedule_help", lang, current=current[lang])
    labels = {
        "zh-Hans": ["实时", "每小时", "每天 08:00", "每天 08:00、20:00", "工作日 08:00", "关闭"],
        "zh-Hant": ["即時", "每小時", "每天 08:00", "每天 08:00、20:00", "工作日 08:00", "關閉"],
        "en": ["instant", "hourly", "daily 08:00", "daily 08:00, 20:00", "weekdays 08:00", "off"],
    }
    buttons = [b for row in reply.buttons for b in row]
    assert [b.text for b in buttons] == labels[lang]
    for button in buttons:  # each one's data is a command the parser takes as it is
        form = button.data.removeprefix("/schedule ")
        assert str(parse_schedule(form)) == form
    pressed = await chat.say(buttons[3].data)
    assert pressed.text == t("schedule_set", lang, schedule=labels[lang][3])
    assert chat.subscriber().schedule == "daily 08:00,20:00"


# --- generated phrasings -------------------------------------------------------------------------

TRADITIONAL = str.maketrans("点时周个两里钟礼间区东", "點時週個兩裡鐘禮間區東")
FULL_WIDTH = str.maketrans("0123456789:", "０１２３４５６７８９：")
CN_DIGITS = "零一二三四五六七八九"
DAY_CHARS = "一二三四五六日"


def cn_number(n: int, *, two: str = "二") -> str:
    """0-59 in Chinese numerals, as people write hours and minutes (十二, 二十三, 两)."""
    if n < 10:
        return two if n == 2 else CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


@st.composite
def numbers(draw: st.DrawFn, n: int) -> str:
    style = draw(st.sampled_from(["arabic", "chinese", "full"]))
    if style == "chinese":
        return cn_number(n, two=draw(st.sampled_from(["二", "两"])))
    text = draw(st.sampled_from([str(n), f"{n:02d}"]))
    return text.translate(FULL_WIDTH) if style == "full" else text


@st.composite
def spoken_clock(draw: st.DrawFn, clock: time, after_pm: bool) -> str:
    """One time of day as Chinese speakers write it. ``after_pm``: an earlier time in the same
    phrase used an afternoon or evening word, which carries on to a bare ``N点``."""
    hour, minute = clock.hour, clock.minute
    if draw(st.booleans()):  # 24-hour 08:30
        text = f"{hour:02d}:{minute:02d}" if draw(st.booleans()) else f"{hour}:{minute:02d}"
        return text.translate(FULL_WIDTH) if draw(st.booleans()) else text
    if hour == 0:
        period, shown = draw(st.sampled_from(["凌晨", "半夜", "晚上"])), 12
    elif hour < 6:
        period, shown = draw(st.sampled_from(["凌晨", "半夜", "深夜"])), hour
    elif hour < 12:
        choices = ["早上", "上午", "早晨"] + ([] if after_pm else [""])
        period, shown = draw(st.sampled_from(choices)), hour
    elif hour == 12:  # a bare 12点 after 晚上 would be midnight
        period, shown = draw(st.sampled_from(["中午"] + ([] if after_pm else [""]))), 12
    elif hour < 18:
        period, shown = draw(st.sampled_from(["下午", "", ""])), hour - 12
    else:
        period, shown = (
            draw(st.sampled_from(["晚上", "傍晚" if hour < 20 else "晚上", ""])),
            hour - 12,
        )
    if not period and hour >= 12:
        shown = hour  # no period word: a 24-hour number such as 20点
    marker = draw(st.sampled_from(["点", "点", "时", "点钟"])) if minute == 0 else "点"
    text = period + draw(numbers(shown)) + marker
    if minute == 30 and draw(st.booleans()):
        return text + "半"
    if minute == 15 and draw(st.booleans()):
        return text + "一刻"
    if minute:
        if minute >= 10:
            text += draw(numbers(minute))
        else:  # 8点05, 八点零五
            text += draw(st.sampled_from([f"0{minute}", "零" + CN_DIGITS[minute]]))
        text += draw(st.sampled_from(["", "分"]))
    return text


@st.composite
def spoken_days(draw: st.DrawFn, days: tuple[int, ...]) -> str:
    if not days:
        return draw(st.sampled_from(["每天", "每日", "天天", "每天 ", ""]))
    if days == (0, 1, 2, 3, 4) and draw(st.booleans()):
        return draw(st.sampled_from(["工作日", "每个工作日", "周一到周五", "星期一至星期五"]))
    week = draw(st.sampled_from(["周", "星期", "礼拜"]))
    names = [DAY_CHARS[d] if d < 6 else draw(st.sampled_from("日天")) for d in days]
    if draw(st.booleans()):  # 每周一三五
        listed = week + "".join(names)
    else:
        sep = draw(st.sampled_from(["、", ",", "和", " 和 ", "，"]))
        listed = sep.join(week + n for n in names)
    return draw(st.sampled_from(["每", ""])) + listed + " "


@st.composite
def spoken_schedules(draw: st.DrawFn) -> tuple[str, Schedule]:
    clocks = draw(
        st.lists(
            st.builds(
                time, st.integers(0, 23), st.sampled_from([0, 5, 15, 30, 45]) | st.integers(0, 59)
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    days = tuple(sorted(set(draw(st.lists(st.integers(0, 6), max_size=4)))))
    spoken: list[str] = []
    after_pm = False
    for clock in clocks:
        text = draw(spoken_clock(clock, after_pm))
        after_pm = after_pm or any(w in text for w in ("下午", "晚上", "傍晚"))
        spoken.append(text)
    sep = draw(st.sampled_from(["和", "、", " 和 ", ",", " ", "，"]))
    phrase = draw(spoken_days(days)) + sep.join(spoken)
    if draw(st.booleans()):
        phrase = phrase.translate(TRADITIONAL)
    kind = "weekly" if days else "daily"
    return phrase, Schedule(kind, times=tuple(sorted(clocks)), weekdays=days)


@PROPERTY
@given(spoken_schedules())
def test_generated_chinese_schedules_read_back_to_the_same_schedule(
    case: tuple[str, Schedule],
) -> None:
    phrase, expected = case
    assert parse_schedule_phrase(phrase) == expected, phrase


@PROPERTY
@given(
    st.integers(1, 168),
    st.sampled_from(["每{}小时", "每 {} 小时", "每隔{}个小时", "every {} hours"]),
    st.booleans(),
)
def test_generated_every_n_hours(hours: int, template: str, traditional: bool) -> None:
    number = str(hours) if hours > 59 or hours % 2 else cn_number(hours)
    phrase = template.format(number)
    phrase = phrase.translate(TRADITIONAL) if traditional else phrase
    assert parse_schedule_phrase(phrase) == Schedule("every", hours=hours)


@PROPERTY
@given(
    st.integers(-12, 14),
    st.sampled_from(["UTC{s}{h}", "GMT{s}{h}", "UTC{s}{h:02d}:00", "{s}{h:02d}:00", "{s}{h}"]),
    st.booleans(),
)
def test_generated_offsets_keep_the_offset_typed_all_year(
    hours: int, template: str, spoken: bool
) -> None:
    if spoken and hours:
        side = "东" if hours > 0 else "西"
        phrase = f"{side}{cn_number(abs(hours))}区"
    else:
        phrase = template.format(s="-" if hours < 0 else "+", h=abs(hours))
    zone = parse_timezone(phrase)
    if spoken and abs(hours) > 12:
        assert zone is None  # 东十三区 is no zone
        return
    assert zone is not None, phrase
    for month in (1, 7):  # the same offset in winter and summer: no DST nobody asked for
        offset = datetime(2026, month, 1, tzinfo=UTC).astimezone(ZoneInfo(zone)).utcoffset()
        assert offset is not None and offset.total_seconds() == hours * 3600, (phrase, zone)
    shown = describe_zone(zone, NOW)
    assert shown == "UTC" if hours == 0 else f"UTC{hours:+d}" in shown


def test_named_offset_zones_keep_their_offset_without_dst() -> None:
    for minutes in (8 * 60, 5 * 60 + 30, 5 * 60 + 45, 3 * 60 + 30, 6 * 60 + 30, 9 * 60 + 30, -570):
        zone = offset_zone(minutes)
        assert zone is not None and not zone.startswith("Etc/")
        for year, month in itertools.product((2024, 2025, 2026), (1, 4, 7, 10)):
            at = datetime(year, month, 1, tzinfo=UTC).astimezone(ZoneInfo(zone))
            offset = at.utcoffset()
            assert offset is not None and offset.total_seconds() == minutes * 60, zone
    assert offset_zone(-210) is None  # -3:30 is Newfoundland, which keeps DST


def test_a_weekdays_phrase_skips_the_weekend() -> None:
    schedule = parse_schedule_phrase("工作日 早上8点")
    friday = datetime(2026, 1, 16, 1, tzinfo=UTC)  # 09:00 Friday in Shanghai
    assert next_due(schedule, "Asia/Shanghai", friday) == datetime(2026, 1, 19, 0, tzinfo=UTC)
