"""``/d/<token>``: the stories a group robot's digest left out, for anyone in the group.

Group robots only send, so a member cannot ask for more; the digest's footer links here
instead (``server.public_url``). The page shows each story as the Telegram digest would (title
link, summary, sources), in the digest's language; the random token is the only key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.i18n import t
from bot.render import text_choice
from bot.telegram.render import render_item
from newsbrief.config.settings import Config
from newsbrief.store import digest_rest
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "private, max-age=300",
}
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


class RestPages:
    def __init__(
        self, db: Database, config: Callable[[], Config], clock: Callable[[], datetime]
    ) -> None:
        self.db, self.config, self.clock = db, config, clock

    def _load(self, token: str) -> tuple[str, list[str]] | None:
        config = self.config()
        with self.db.session() as session:
            found = digest_rest.find(session, token, self.clock())
            if found is None:
                return None
            stories = story_store.stories_by_id(session, found.story_ids, text_choice(config))
        items = [stories[i] for i in found.story_ids if i in stories]
        mark = config.llm.mark
        return found.lang, [render_item(item, found.lang, mark) for item in items]

    async def get(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        found = await asyncio.to_thread(self._load, token)
        if found is None:
            body = _env.get_template("rest.html").render(
                lang="zh-Hans", title=t("rest_gone", "zh-Hans"), items=[], gone=True
            )
            return web.Response(text=body, status=404, content_type="text/html", headers=_HEADERS)
        lang, items = found
        body = _env.get_template("rest.html").render(
            lang=lang,
            title=t("rest_title", lang, count=len(items)),
            # Telegram HTML: escaped text with b/i/a tags made by render_item, safe as it is.
            items=[Markup(item.replace("\n", "<br>")) for item in items],  # noqa: S704
            gone=False,
        )
        return web.Response(text=body, content_type="text/html", headers=_HEADERS)


def mount_rest(app: web.Application, pages: RestPages) -> None:
    app.router.add_get(digest_rest.PATH + "{token}", pages.get)
