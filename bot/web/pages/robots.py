"""Robots and channels: each robot's state and the platform's pause reason."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/robots"
NAV = "nav_robots"
TEXT: Table = {
    "nav_robots": {"zh-Hans": "群机器人", "en": "Robots"},
}


async def page(request: web.Request) -> web.Response:
    return console_of(request).render(request, "robots.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
