"""Robots and channels: ``newsbrief channels list`` as a page. One row per configured group
robot (platform, id, schedule, topics, state, the platform's pause reason and since when, its
messages), and Telegram as a channel (token set or not, webhook or long polling). No key,
token or webhook URL is ever shown: only whether the variable holding it is set."""

from __future__ import annotations

import os
from dataclasses import dataclass

from aiohttp import web

from bot.web.app import console_of
from bot.web.pages.overview import age, when, zone_of
from bot.web.text import Table
from newsbrief.config.channels import ROBOT_SCHEDULE
from newsbrief.store import channels

PATH = "/robots"
NAV = "nav_robots"
TEXT: Table = {
    "nav_robots": {"zh-Hans": "群机器人", "en": "Robots"},
    "robots_telegram": {"zh-Hans": "Telegram", "en": "Telegram"},
    "robots_token": {"zh-Hans": "机器人令牌", "en": "bot token"},
    "robots_set": {"zh-Hans": "已设置", "en": "set"},
    "robots_missing": {"zh-Hans": "未设置（{name}）", "en": "not set ({name})"},
    "robots_mode": {"zh-Hans": "接收方式", "en": "updates by"},
    "robots_webhook": {"zh-Hans": "Webhook", "en": "webhook"},
    "robots_polling": {"zh-Hans": "长轮询", "en": "long polling"},
    "robots_none": {
        "zh-Hans": "配置中没有群机器人（见 README 中的 robots[]）。",
        "en": "No group robots in the config (see robots[] in the README).",
    },
    "robots_col_robot": {"zh-Hans": "机器人", "en": "robot"},
    "robots_col_schedule": {"zh-Hans": "推送时间", "en": "schedule"},
    "robots_col_topics": {"zh-Hans": "话题", "en": "topics"},
    "robots_col_state": {"zh-Hans": "状态", "en": "state"},
    "robots_col_key": {"zh-Hans": "密钥", "en": "key"},
    "robots_col_messages": {"zh-Hans": "消息", "en": "messages"},
    "robots_state_ok": {"zh-Hans": "正常", "en": "ok"},
    "robots_state_paused": {"zh-Hans": "已暂停", "en": "paused"},
    "robots_state_new": {"zh-Hans": "尚未同步", "en": "not synced yet"},
    "robots_since": {"zh-Hans": "自 {when} 起", "en": "since {when}"},
    "robots_counts": {
        "zh-Hans": "待发 {waiting} · 暂停 {paused} · 失败 {failed} · 24 小时内已发 {sent}",
        "en": "waiting {waiting} · paused {paused} · failed {failed} · sent in 24 h {sent}",
    },
    "robots_last_sent": {"zh-Hans": "上次发送：{when}", "en": "last sent: {when}"},
    "robots_times": {"zh-Hans": "时间为 {zone} 时间。", "en": "Times in {zone}."},
    "robots_default_schedule": {"zh-Hans": "（默认）", "en": "(default)"},
}


@dataclass(frozen=True, slots=True)
class Robot:
    platform: str
    id: str
    schedule: str
    default_schedule: bool
    topics: tuple[str, ...]
    key_env: str
    key_set: bool
    state: channels.RobotState


@dataclass(frozen=True, slots=True)
class Telegram:
    token_set: bool
    webhook: bool
    outbox: channels.Outbox


async def page(request: web.Request) -> web.Response:
    console = console_of(request)
    config = console.core.config()
    now = console.now()
    configured = [(robot.platform, robot.id) for robot in config.robots]
    found = await console.read(channels.channel_health, configured, now)
    robots = [
        Robot(
            platform=robot.platform,
            id=robot.id,
            schedule=robot.schedule or ROBOT_SCHEDULE,
            default_schedule=robot.schedule is None,
            topics=robot.topics,
            key_env=robot.key_env,
            key_set=bool(os.environ.get(robot.key_env, "").strip()),
            state=found.robots[(robot.platform, robot.id)],
        )
        for robot in config.robots
    ]
    zone = zone_of(request)
    lang = console.lang(request)
    return console.render(
        request,
        "robots.html",
        robots=robots,
        telegram=Telegram(
            config.telegram.token is not None,
            config.telegram.webhook_url is not None,
            found.telegram,
        ),
        zone=zone.key,
        when=lambda moment: when(moment, zone),
        age=lambda moment: age(console.words, lang, now, moment),
    )


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
