"""Subscribers: counts by platform, topic, language and schedule; the list, 50 a page, searched
by chat id; one subscriber's settings and a preview of the digest ``/digest`` would send now.

No message contents are shown beyond that preview. The preview runs ``/digest``'s own code
(``CommandCore.digest_now``) in a transaction that is rolled back: nothing is queued or sent,
no cursor moves, nothing counts as read.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.commands.core import CommandCore
from bot.i18n import t as chat_t
from bot.render import materialize
from bot.web.app import console_of
from bot.web.preview import Shown, shown, telegram_html
from bot.web.text import Table
from bot.when import local_time
from newsbrief.records import Subscriber
from newsbrief.schedule import describe_schedule, next_digest, subscriber_timing
from newsbrief.store import audience, subscribers
from newsbrief.timezones import describe_zone

PATH = "/subscribers"
NAV = "nav_subscribers"
PAGE_SIZE = 50
MAX_SHOWN = 12
"""Rows of each count table (schedules can be many): the rest are added up in one line."""
MAX_QUERY = 64
TEXT: Table = {
    "nav_subscribers": {"zh-Hans": "订阅者", "en": "Subscribers"},
    "subscribers_total": {"zh-Hans": "订阅者", "en": "subscribers"},
    "subscribers_active": {"zh-Hans": "接收中", "en": "active"},
    "subscribers_paused": {"zh-Hans": "已暂停", "en": "paused"},
    "subscribers_by_platform": {"zh-Hans": "按平台", "en": "By platform"},
    "subscribers_by_topic": {"zh-Hans": "按话题", "en": "By topic"},
    "subscribers_by_lang": {"zh-Hans": "按语言", "en": "By language"},
    "subscribers_by_schedule": {"zh-Hans": "按推送时间", "en": "By schedule"},
    "subscribers_count": {"zh-Hans": "数量", "en": "Count"},
    "subscribers_others": {"zh-Hans": "其他 {n} 项", "en": "{n} others"},
    "subscribers_search": {"zh-Hans": "按聊天 ID 查找", "en": "Find by chat id"},
    "subscribers_search_go": {"zh-Hans": "查找", "en": "Find"},
    "subscribers_search_hint": {
        "zh-Hans": "输入聊天 ID 的开头，例如 -100。",
        "en": "The start of a chat id, e.g. -100.",
    },
    "subscribers_list": {"zh-Hans": "列表", "en": "List"},
    "subscribers_matching": {
        "zh-Hans": "共 {total} 个，第 {page}/{pages} 页",
        "en": "{total} in all, page {page} of {pages}",
    },
    "subscribers_none": {"zh-Hans": "没有订阅者。", "en": "No subscribers."},
    "subscribers_prev": {"zh-Hans": "上一页", "en": "Previous"},
    "subscribers_next": {"zh-Hans": "下一页", "en": "Next"},
    "subscribers_pages": {"zh-Hans": "翻页", "en": "Pages"},
    "subscribers_id": {"zh-Hans": "编号", "en": "#"},
    "subscribers_platform": {"zh-Hans": "平台", "en": "Platform"},
    "subscribers_chat": {"zh-Hans": "聊天 ID", "en": "Chat id"},
    "subscribers_chat_type": {"zh-Hans": "聊天类型", "en": "Chat type"},
    "subscribers_thread": {"zh-Hans": "论坛话题", "en": "Forum topic"},
    "subscribers_lang": {"zh-Hans": "语言", "en": "Language"},
    "subscribers_timezone": {"zh-Hans": "时区", "en": "Timezone"},
    "subscribers_schedule": {"zh-Hans": "推送时间", "en": "Schedule"},
    "subscribers_quiet": {"zh-Hans": "免打扰", "en": "Quiet hours"},
    "subscribers_topics": {"zh-Hans": "话题", "en": "Topics"},
    "subscribers_filters": {"zh-Hans": "过滤词", "en": "Filters"},
    "subscribers_state": {"zh-Hans": "状态", "en": "State"},
    "subscribers_sent": {"zh-Hans": "已发简报", "en": "Digests sent"},
    "subscribers_last": {"zh-Hans": "上一份", "en": "Last digest"},
    "subscribers_next_digest": {"zh-Hans": "下一份", "en": "Next digest"},
    "subscribers_max_items": {"zh-Hans": "每份条数", "en": "Stories per digest"},
    "subscribers_yes_paused": {"zh-Hans": "已暂停（{reason}）", "en": "paused ({reason})"},
    "subscribers_running": {"zh-Hans": "接收中", "en": "active"},
    "subscribers_next_paused": {"zh-Hans": "暂停中", "en": "paused"},
    "subscribers_next_none": {"zh-Hans": "未订阅话题", "en": "follows no topic"},
    "subscribers_next_off": {"zh-Hans": "仅在发 /digest 时", "en": "only on /digest"},
    "subscribers_not_found": {
        "zh-Hans": "没有编号为 {id} 的订阅者。",
        "en": "There is no subscriber #{id}.",
    },
    "subscribers_detail": {"zh-Hans": "订阅者 #{id}", "en": "Subscriber #{id}"},
    "subscribers_back": {"zh-Hans": "返回列表", "en": "Back to the list"},
    "subscribers_preview": {"zh-Hans": "简报预览", "en": "Digest preview"},
    "subscribers_preview_hint": {
        "zh-Hans": "此刻发 /digest 会收到的内容，按 {platform} 的样子显示。"
        "预览不会发送、不会排队，也不会标记为已读。",
        "en": "What /digest would send now, as {platform} shows it. The preview sends nothing, "
        "queues nothing and marks nothing as read.",
    },
    "subscribers_preview_reply": {"zh-Hans": "/digest 的回复：", "en": "/digest answers:"},
    "subscribers_part": {"zh-Hans": "第 {n}/{count} 条消息", "en": "Message {n} of {count}"},
    "subscribers_keywords": {"zh-Hans": "（{words}）", "en": " ({words})"},
    "subscribers_type_private": {"zh-Hans": "私聊", "en": "private chat"},
    "subscribers_type_group": {"zh-Hans": "群组", "en": "group"},
    "subscribers_type_channel": {"zh-Hans": "超级群组或频道", "en": "supergroup or channel"},
    "subscribers_type_topic": {"zh-Hans": "论坛话题", "en": "forum topic"},
    "subscribers_type_robot": {"zh-Hans": "群机器人", "en": "group robot"},
    "subscribers_type_pull": {
        "zh-Hans": "应用/公众号（用户拉取）",
        "en": "app or account (pulled)",
    },
}
PLATFORMS = {
    "telegram": "Telegram",
    "console": "Telegram",
    "wecom": "WeCom",
    "dingtalk": "DingTalk",
    "feishu": "Feishu",
    "wecom_app": "WeCom app",
    "wechat": "WeChat",
}


def _chat_type(subscriber: Subscriber | audience.Listed) -> str:
    """What kind of chat, from what the id says (Telegram: groups negative, supergroups and
    channels ``-100…``) and the platform."""
    if subscriber.platform in ("wecom", "dingtalk", "feishu"):
        return "subscribers_type_robot"
    if subscriber.platform in ("wecom_app", "wechat"):
        return "subscribers_type_pull"
    if subscriber.thread_id:
        return "subscribers_type_topic"
    if subscriber.chat_id.startswith("-100"):
        return "subscribers_type_channel"
    if subscriber.chat_id.startswith("-"):
        return "subscribers_type_group"
    return "subscribers_type_private"


# -- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counted:
    title: str
    rows: list[tuple[str, int]]
    others: int
    """How many more rows there were."""
    others_count: int
    """Their subscribers added up."""


def _counted(title: str, rows: list[tuple[str, int]]) -> Counted:
    rest = rows[MAX_SHOWN:]
    return Counted(title, rows[:MAX_SHOWN], len(rest), sum(n for _, n in rest))


COUNTED = {"audience": audience.audience}
"""Counted as the console starts and kept (``Console.counted``): the slow count of this page."""


def _list_data(session: Any, query: str, page: int) -> tuple[int, list[Any]]:
    return audience.listing(session, query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10**9))
    except ValueError:
        return 1


async def listing(request: web.Request) -> web.Response:
    console = console_of(request)
    lang = console.lang(request)
    config = console.core.config()
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    page = _page_number(request.query.get("page"))
    counts, age = await console.counted(
        "audience", audience.audience, live=audience.few_subscribers
    )
    total, rows = await console.read(_list_data, query, page)
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def topic_name(topic_id: str) -> str:
        topic = config.topic(topic_id)
        return topic.display(lang) if topic else topic_id

    groups = [
        _counted(
            console.t(request, "subscribers_by_platform"),
            [(PLATFORMS.get(p, p), n) for p, n in counts.platforms],
        ),
        _counted(
            console.t(request, "subscribers_by_topic"),
            [(topic_name(i), n) for i, n in counts.topics],
        ),
        _counted(console.t(request, "subscribers_by_lang"), counts.languages),
        _counted(
            console.t(request, "subscribers_by_schedule"),
            [(describe_schedule(s, lang), n) for s, n in counts.schedules],
        ),
    ]
    now = console.now()
    return console.render(
        request,
        "subscribers.html",
        counts=counts,
        counted_age=round(age),
        groups=groups,
        query=query,
        page=page,
        pages=pages,
        total=total,
        rows=[
            {
                "id": row.id,
                "platform": PLATFORMS.get(row.platform, row.platform),
                "chat": row.chat_id + (f" / {row.thread_id}" if row.thread_id else ""),
                "chat_type": console.t(request, _chat_type(row)),
                "lang": row.lang,
                "schedule": describe_schedule(row.schedule, lang),
                "topics": ", ".join(topic_name(i) for i in row.topics),
                "paused": row.paused,
                "sent": row.digests_sent,
                "next": local_time(row.next_due_at, row.timezone, lang, now)
                if row.next_due_at and not row.paused
                else "—",
            }
            for row in rows
        ],
    )


# -- one subscriber -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    reply: Any
    """The text ``/digest`` answers with (safe HTML), if it answers with one."""
    parts: list[Shown]


def _preview(core: CommandCore, subscriber: Subscriber) -> Preview:
    """What ``/digest`` would do for the subscriber now, rehearsed (see the module docstring)."""
    lang = subscriber.lang
    if not subscriber.topics:
        return Preview(telegram_html(chat_t("digest_no_topics", lang)), [])
    parts = materialize(core.db, core.config(), core.digest_now(subscriber, rehearse=True))
    if not parts:
        return Preview(telegram_html(chat_t("digest_nothing", lang)), [])
    reply = telegram_html(chat_t("digest_while_paused", lang)) if subscriber.paused else None
    return Preview(reply, [shown(part) for part in parts])


def _detail_data(
    session: Any, subscriber_id: int
) -> tuple[Subscriber | None, audience.CursorView | None, str | None]:
    found = subscribers.get(session, subscriber_id)
    if found is None:
        return None, None, None
    reason = subscribers.paused_reason(session, subscriber_id) if found.paused else None
    return found, audience.cursor_view(session, subscriber_id), reason


def _next(
    request: web.Request,
    found: Subscriber,
    cursor: audience.CursorView | None,
    now: datetime,
) -> str:
    """When the next digest comes, as ``/list`` works it out, on the subscriber's clock."""
    console = console_of(request)
    if found.paused:
        return console.t(request, "subscribers_next_paused")
    if not found.topics:
        return console.t(request, "subscribers_next_none")
    fallback = console.core.config().subscriber_defaults.schedule
    schedule, _ = subscriber_timing(found, fallback)
    due = (cursor.next_due_at if cursor else None) or next_digest(found, now, fallback)
    if schedule.kind == "off" or due is None:
        return console.t(request, "subscribers_next_off")
    return local_time(due, found.timezone, console.lang(request), now)


async def detail(request: web.Request) -> web.Response:
    console = console_of(request)
    lang = console.lang(request)
    subscriber_id = int(request.match_info["id"])
    found, cursor, reason = await console.read(_detail_data, subscriber_id)
    if found is None:
        return console.render(
            request,
            "subscriber.html",
            status=404,
            found=None,
            missing=console.t(request, "subscribers_not_found", id=subscriber_id),
        )
    config = console.core.config()
    now = console.now()
    preview = await asyncio.to_thread(_preview, console.core, found)

    def named(topic_id: str) -> str:
        topic = config.topic(topic_id)
        return f"{topic.display(lang)} ({topic_id})" if topic else topic_id

    def words(include: tuple[str, ...], exclude: tuple[str, ...]) -> str:
        return " ".join([*(f"+{w}" for w in include), *(f"-{w}" for w in exclude)])

    topics = [
        named(sub.topic)
        + (
            console.t(
                request,
                "subscribers_keywords",
                words=words(sub.keywords.include, sub.keywords.exclude),
            )
            if sub.keywords
            else ""
        )
        for sub in found.subscriptions
    ]
    schedule = subscriber_timing(found, config.subscriber_defaults.schedule)[0]
    none = console.t(request, "none")
    settings = [
        ("subscribers_platform", PLATFORMS.get(found.platform, found.platform)),
        ("subscribers_chat_type", console.t(request, _chat_type(found))),
        ("subscribers_chat", found.chat_id),
        *([("subscribers_thread", str(found.thread_id))] if found.thread_id else []),
        ("subscribers_lang", found.lang),
        ("subscribers_timezone", describe_zone(found.timezone, now)),
        ("subscribers_schedule", describe_schedule(str(schedule), lang)),
        ("subscribers_quiet", found.quiet_hours or none),
        ("subscribers_topics", "; ".join(topics) or none),
        (
            "subscribers_filters",
            words(found.filters.include, found.filters.exclude) if found.filters else none,
        ),
        (
            "subscribers_max_items",
            str(found.max_items or config.subscriber_defaults.max_items),
        ),
        (
            "subscribers_state",
            console.t(request, "subscribers_yes_paused", reason=reason or "—")
            if found.paused
            else console.t(request, "subscribers_running"),
        ),
        ("subscribers_sent", str(cursor.digests_sent if cursor else 0)),
        (
            "subscribers_last",
            local_time(cursor.last_digest_at, found.timezone, lang, now)
            if cursor and cursor.last_digest_at
            else console.t(request, "never"),
        ),
        ("subscribers_next_digest", _next(request, found, cursor, now)),
    ]
    return console.render(
        request,
        "subscriber.html",
        found=found,
        settings=settings,
        preview=preview,
        platform=PLATFORMS.get(found.platform, found.platform),
        telegram=found.platform in ("telegram", "console"),
    )


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, listing), web.get(PATH + r"/{id:\d{1,12}}", detail)]
