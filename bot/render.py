"""Which renderer turns a digest into messages for each platform."""

from __future__ import annotations

from collections.abc import Callable

from bot.robots import render as robots_render
from bot.telegram import render as telegram_render
from bot.wechat.protocol import WECHAT, WECOM_APP, render_pull
from newsbrief.records import Digest, Message

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


def renderer_for(platform: str) -> Renderer:
    try:
        return RENDERERS[platform]
    except KeyError:
        raise ValueError(f"no renderer for platform {platform!r}") from None
