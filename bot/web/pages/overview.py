"""Overview: is everything flowing? Feeds by state, today's entries and stories, the outbox,
sends per platform, the ticks' last runs, and charts of fetches and delivery lag.

"Today" starts at midnight in ``subscriber_defaults.timezone``, and every time on the page is
shown in that zone, named. The figures come from ``newsbrief.store.activity`` in one read
transaction; the charts are SVG drawn here (``bot.web.charts``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from bot.web import charts
from bot.web.app import console_of
from bot.web.text import Table, Words
from newsbrief.store import activity

PATH = "/"
NAV = "nav_overview"
TICKS = ("poll", "process", "compose", "deliver", "retention")
"""The ticks shown, in pipeline order (others recorded, e.g. a webhook sweep, follow)."""
FEED_STATES = ("ok", "new", "failing", "disabled", "removed")
FETCH_SERIES = (
    charts.Series("ok", "ok", "#1b7a3d"),
    charts.Series("not_modified", "not_modified", "#7fb08f"),
)
ERROR_COLOURS = ("#b3261e", "#a35c00", "#6b4fa0", "#d4776f", "#5b6475", "#c99a3b")
TEXT: Table = {
    "nav_overview": {"zh-Hans": "概览", "en": "Overview"},
    "overview_feeds": {"zh-Hans": "订阅源", "en": "Feeds"},
    "overview_feed_ok": {"zh-Hans": "正常", "en": "ok"},
    "overview_feed_new": {"zh-Hans": "新加入", "en": "new"},
    "overview_feed_failing": {"zh-Hans": "出错中", "en": "failing"},
    "overview_feed_disabled": {"zh-Hans": "已停用", "en": "disabled"},
    "overview_feed_removed": {"zh-Hans": "已移除", "en": "removed"},
    "overview_today": {
        "zh-Hans": "今天（{zone} 时间 0 点起）",
        "en": "Today (since midnight, {zone})",
    },
    "overview_entries_today": {"zh-Hans": "新条目", "en": "entries fetched"},
    "overview_stories_today": {"zh-Hans": "新报道", "en": "stories"},
    "overview_outbox": {"zh-Hans": "发件箱", "en": "Outbox"},
    "overview_waiting": {"zh-Hans": "待发送", "en": "waiting"},
    "overview_oldest": {"zh-Hans": "最早一条已等待", "en": "oldest waiting for"},
    "overview_paused": {"zh-Hans": "已暂停", "en": "paused"},
    "overview_failed": {"zh-Hans": "已失败", "en": "failed"},
    "overview_sent": {"zh-Hans": "近 24 小时发送", "en": "Sent in the last 24 h"},
    "overview_nothing_sent": {"zh-Hans": "近 24 小时未发送任何消息。", "en": "Nothing sent."},
    "overview_ticks": {"zh-Hans": "定时任务", "en": "Ticks"},
    "overview_tick": {"zh-Hans": "任务", "en": "tick"},
    "overview_last_run": {"zh-Hans": "上次完成", "en": "last finished"},
    "overview_took": {"zh-Hans": "耗时", "en": "took"},
    "overview_by": {"zh-Hans": "进程", "en": "process"},
    "overview_last_failure": {"zh-Hans": "上次失败", "en": "last failure"},
    "overview_no_runs": {
        "zh-Hans": "还没有任务运行过（newsbrief run 启动后几秒内出现）。",
        "en": "No tick has run yet (they appear seconds after newsbrief run starts).",
    },
    "overview_tick_ok": {"zh-Hans": "正常", "en": "ok"},
    "overview_tick_failed": {"zh-Hans": "失败", "en": "failed"},
    "overview_fetch_chart": {"zh-Hans": "每小时抓取结果", "en": "Fetches per hour, by outcome"},
    "overview_lag_chart": {
        "zh-Hans": "投递延迟（入队到发出，每小时中位数与 P95）",
        "en": "Delivery lag (queued to sent): median and 95th percentile per hour",
    },
    "overview_median": {"zh-Hans": "中位数", "en": "median"},
    "overview_p95": {"zh-Hans": "P95", "en": "p95"},
    "overview_chart_hours": {
        "zh-Hans": "近 24 小时，横轴为 {zone} 时间。",
        "en": "Last 24 hours; hours in {zone}.",
    },
    "overview_ago": {"zh-Hans": "{age}前", "en": "{age} ago"},
    "overview_unit_s": {"zh-Hans": "{n} 秒", "en": "{n} s"},
    "overview_unit_min": {"zh-Hans": "{n} 分钟", "en": "{n} min"},
    "overview_unit_h": {"zh-Hans": "{n} 小时", "en": "{n} h"},
    "overview_unit_d": {"zh-Hans": "{n} 天", "en": "{n} d"},
}


# -- formatting shared by the outbox and robots pages -------------------------------------------


def zone_of(request: web.Request) -> ZoneInfo:
    """The zone the console shows times in: ``subscriber_defaults.timezone``."""
    name = console_of(request).core.config().subscriber_defaults.timezone
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    """``2026-12-03 16:30`` in ``zone`` (the page names the zone once)."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment is not None else ""


def span(words: Words, lang: str, seconds: float) -> str:
    """A duration in its largest whole unit: ``42 s``, ``5 min``, ``3 h``, ``2 d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return words.get(f"overview_unit_{unit}", lang, n=int(seconds // size))
    return words.get("overview_unit_s", lang, n=int(max(seconds, 0)))


def age(words: Words, lang: str, now: datetime, moment: datetime | None) -> str:
    if moment is None:
        return words.get("never", lang)
    return words.get("overview_ago", lang, age=span(words, lang, (now - moment).total_seconds()))


def seconds_text(value: float) -> str:
    """A tick's duration or a lag: ``0.04 s``, ``1.2 s``, ``95 s``."""
    if value < 1:
        return f"{value:.2f} s"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


# -- the page -----------------------------------------------------------------------------------


def midnight(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC)


async def overview(request: web.Request) -> web.Response:
    console = console_of(request)
    lang = console.lang(request)
    zone = zone_of(request)
    now = console.now()
    figures = await console.read(activity.dashboard, now, midnight(now, zone))
    words = console.words
    hours = list(figures.fetches)
    labels = [f"{hour.astimezone(zone):%H}" for hour in hours]
    outcomes = sorted({o for counts in figures.fetches.values() for o in counts})
    errors = [o for o in outcomes if o not in ("ok", "not_modified")]
    series = [*FETCH_SERIES] + [
        charts.Series(o, o, ERROR_COLOURS[i % len(ERROR_COLOURS)]) for i, o in enumerate(errors)
    ]
    fetch_chart = charts.stacked_bars(
        words.get("overview_fetch_chart", lang), labels, list(figures.fetches.values()), series
    )
    lag = figures.overview.lag
    lag_series = [
        charts.Series("median", words.get("overview_median", lang), "#1f5fbf"),
        charts.Series("p95", words.get("overview_p95", lang), "#a35c00"),
    ]
    lag_chart = charts.lines(
        words.get("overview_lag_chart", lang),
        [f"{hour.astimezone(zone):%H}" for hour in lag],
        [{"median": v.median, "p95": v.p95} if v is not None else {} for v in lag.values()],
        lag_series,
        unit=" s",
    )
    known = {run.tick: run for run in figures.ticks}
    ticks = [known[name] for name in TICKS if name in known]
    ticks += [run for run in figures.ticks if run.tick not in TICKS]
    oldest = figures.overview.oldest_pending
    return console.render(
        request,
        "overview.html",
        o=figures.overview,
        feed_states=FEED_STATES,
        zone=zone.key,
        ticks=ticks,
        now=now,
        oldest_age=span(words, lang, (now - oldest).total_seconds()) if oldest else None,
        age=lambda moment: age(words, lang, now, moment),
        when=lambda moment: when(moment, zone),
        seconds=seconds_text,
        fetch_chart=Markup(fetch_chart),  # noqa: S704 - built from escaped parts in charts
        lag_chart=Markup(lag_chart),  # noqa: S704
        legend=[(s.label, s.colour) for s in series if s.key in outcomes or s.key == "ok"],
        lag_legend=[(s.label, s.colour) for s in lag_series],
    )


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, overview)]
