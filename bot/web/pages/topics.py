"""Topics: the taxonomy with story counts, and a box to try a title and text against it."""

from __future__ import annotations

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table

PATH = "/topics"
NAV = "nav_topics"
TEXT: Table = {
    "nav_topics": {"zh-Hans": "话题", "en": "Topics"},
}


async def page(request: web.Request) -> web.Response:
    return console_of(request).render(request, "topics.html")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page)]
