"""Feeds: the health table, add (with discovery), remove, enable, OPML import and export."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/feeds"
NAV = "nav_feeds"
TEXT: Table = {
    "nav_feeds": {"zh-Hans": "订阅源", "en": "Feeds"},
}


async def page(request: web.Request) -> web.Response:
    return console_of(request).render(request, "feeds.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
