"""Which renderer turns a digest into messages for each platform."""

from __future__ import annotations

from collections.abc import Callable

from bot import telegram_render
from newsbrief.records import Digest, Message

Renderer = Callable[[Digest], list[Message]]

# The console (the demo's terminal) shows what a Telegram user would see.
RENDERERS: dict[str, Renderer] = {
    "telegram": telegram_render.render_digest,
    "console": telegram_render.render_digest,
}


def renderer_for(platform: str) -> Renderer:
    try:
        return RENDERERS[platform]
    except KeyError:
        raise ValueError(f"no renderer for platform {platform!r}") from None
