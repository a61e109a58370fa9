"""Subscribers: counts by platform, topic, language and schedule; one subscriber's settings and a preview of their digest."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/subscribers"
NAV = "nav_subscribers"
TEXT: Table = {
    "nav_subscribers": {"zh-Hans": "订阅者", "en": "Subscribers"},
}


async def page(request: web.Request) -> web.Response:
    return console_of(request).render(request, "subscribers.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
