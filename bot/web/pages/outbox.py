"""Outbox: pending, failed and paused messages with their last error; retry a failed one."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/outbox"
NAV = "nav_outbox"
TEXT: Table = {
    "nav_outbox": {"zh-Hans": "发件箱", "en": "Outbox"},
}


async def page(request: web.Request) -> web.Response:
    return console_of(request).render(request, "outbox.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
