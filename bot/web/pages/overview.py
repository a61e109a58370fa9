"""Overview: is everything flowing? Feeds by state, today's entries and stories, the outbox,
sends per platform, the ticks' last runs, and charts of fetches and delivery lag."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/"
NAV = "nav_overview"
TEXT: Table = {
    "nav_overview": {"zh-Hans": "概览", "en": "Overview"},
}


async def overview(request: web.Request) -> web.Response:
    console = console_of(request)
    return console.render(request, "overview.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, overview)]
