"""How a digest becomes messages on each platform: a renderer per platform, and the Telegram
parts stored by reference (``BY_REFERENCE``) rendered when they are sent (``materialize``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from bot.parts import Block
from bot.robots import render as robots_render
from bot.telegram import render as telegram_render
from bot.telegram.render import HtmlBlocks
from bot.wechat.protocol import WECHAT, WECOM_APP, render_pull
from newsbrief.config.settings import Config
from newsbrief.digest_text import TextChoice
from newsbrief.records import Delivery, Digest, Message
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database


class Renderer(Protocol):
    """A digest as one platform's messages; ``mark``: LLM-written summaries say so."""

    def __call__(self, digest: Digest, *, mark: bool = False) -> list[Message]: ...


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


def text_choice(config: Config) -> TextChoice | None:
    """The stored LLM texts (``story_texts``) digests show; None with the LLM off or showing
    none, when none are loaded (and no query is made for them)."""
    llm = config.llm
    own, other = llm.summaries == "stories", llm.translate
    return TextChoice(llm.model, own, other) if llm.enabled and (own or other) else None


def topic_namer(config: Config) -> Callable[[str, str], str]:
    """A topic's name in a language, by id (the id itself for a topic no longer configured)."""
    topics = {t.id: t for t in config.topics}

    @functools.cache
    def name(topic_id: str, lang: str) -> str:
        topic = topics.get(topic_id)
        return topic.display(lang) if topic else topic_id

    return name


def materialize(db: Database, config: Config, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Render the parts stored by reference, with the stories as they are now.

    LLM texts written after a part was planned can make it longer than the platform takes: such
    a part goes without them, as it was planned."""
    wanted = [d for d in deliveries if d.payload is not None]
    if not wanted:
        return list(deliveries)
    ids = {
        int(block[6:])
        for d in wanted
        for block in (d.payload or {}).get("blocks", ())
        if block.startswith("story:")
    }
    texts = text_choice(config)
    with db.session() as session:
        stories = story_store.stories_by_id(session, ids, texts)
    name = topic_namer(config)
    renderers: dict[str, HtmlBlocks] = {}
    planned: dict[str, HtmlBlocks] = {}  # without LLM texts, for the parts they would overflow
    out: list[Delivery] = []
    for delivery in deliveries:
        if delivery.payload is None:
            out.append(delivery)
            continue
        lang = str(delivery.payload.get("lang", config.subscriber_defaults.language))
        html = renderers.get(lang)
        if html is None:
            html = renderers[lang] = HtmlBlocks(lang, name, stories, mark=config.llm.mark)
        blocks: list[Block] = [
            b
            for b in delivery.payload.get("blocks", ())
            if not b.startswith("story:") or int(b[6:]) in stories  # a story since deleted
        ]
        if texts is not None and sum(map(html.sizes.__getitem__, blocks)) - 2 > html.limit:
            if lang not in planned:
                bare = {i: replace(s, texts=()) for i, s in stories.items()}
                planned[lang] = HtmlBlocks(lang, name, bare, mark=config.llm.mark)
            html = planned[lang]
        text = html.message(blocks).text
        out.append(replace(delivery, message=replace(delivery.message, text=text)))
    return out
