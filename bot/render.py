"""How a digest becomes messages on each platform: a renderer per platform, and the Telegram
parts stored by reference (``BY_REFERENCE``) rendered when they are sent (``materialize``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.parts import Block
from bot.robots import render as robots_render
from bot.telegram import render as telegram_render
from bot.telegram.render import HtmlBlocks
from bot.wechat.protocol import WECHAT, WECOM_APP, render_pull
from newsbrief.config.settings import Config
from newsbrief.records import Delivery, Digest, Message
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database

Renderer = Callable[[Digest], list[Message]]

RENDERERS: dict[str, Renderer] = {
    # The console (the demo's terminal) shows what a Telegram user would see.
    "telegram": telegram_render.render_digest,
    "console": telegram_render.render_digest,
    # Pull-only channels: plain text, answered as the reply to a command.
    WECOM_APP: render_pull,
    WECHAT: render_pull,
    **robots_render.RENDERERS,
}


BY_REFERENCE = frozenset(("telegram", "console"))
"""Platforms whose parts are rendered at send time from ``HtmlBlocks``."""


def renderer_for(platform: str) -> Renderer:
    try:
        return RENDERERS[platform]
    except KeyError:
        raise ValueError(f"no renderer for platform {platform!r}") from None


def topic_namer(config: Config) -> Callable[[str, str], str]:
    """A topic's name in a language, by id (the id itself for a topic no longer configured)."""
    topics = {t.id: t for t in config.topics}

    @functools.cache
    def name(topic_id: str, lang: str) -> str:
        topic = topics.get(topic_id)
        return topic.display(lang) if topic else topic_id

    return name


def materialize(db: Database, config: Config, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Render the parts stored by reference, with the stories as they are now."""
    wanted = [d for d in deliveries if d.payload is not None]
    if not wanted:
        return list(deliveries)
    ids = {
        int(block[6:])
        for d in wanted
        for block in (d.payload or {}).get("blocks", ())
        if block.startswith("story:")
    }
    with db.session() as session:
        stories = story_store.stories_by_id(session, ids)
    name = topic_namer(config)
    renderers: dict[str, HtmlBlocks] = {}
    out: list[Delivery] = []
    for delivery in deliveries:
        if delivery.payload is None:
            out.append(delivery)
            continue
        lang = str(delivery.payload.get("lang", config.subscriber_defaults.language))
        html = renderers.get(lang)
        if html is None:
            html = renderers[lang] = HtmlBlocks(lang, name, stories)
        blocks: list[Block] = [
            b
            for b in delivery.payload.get("blocks", ())
            if not b.startswith("story:") or int(b[6:]) in stories  # a story since deleted
        ]
        text = html.message(blocks).text
        out.append(replace(delivery, message=replace(delivery.message, text=text)))
    return out
