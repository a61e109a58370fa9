"""A sender that prints messages to a terminal as a chat would show them (the offline demo)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bot.senders import Window
from newsbrief.records import Delivery, SendOutcome, SendResult

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]*>")


def as_plain_text(message_html: str) -> str:
    """Telegram HTML -> terminal text, links shown as ``title <url>``."""
    text = _LINK.sub(lambda m: f"{m.group(2)} <{m.group(1)}>", message_html)
    # Unescape only after tags are gone, so escaped "<" in titles is never taken for a tag.
    parts = re.split(r"(<[^>]*>)", text)
    out = []
    for part in parts:
        if _TAG.fullmatch(part) and not part.startswith("<http"):
            continue
        out.append(part)
    return html.unescape("".join(out))


class ConsoleSender:
    platform = "console"
    global_interval = 0.0

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.write = write
        self.count = 0

    def chat_interval(self, chat_id: str) -> float:
        return 0.0

    def chat_window(self, chat_id: str) -> Window | None:
        return None

    async def send(self, delivery: Delivery) -> SendResult:
        self.count += 1
        self.write(f"─── message {self.count} to {delivery.chat_id} ───")
        self.write(as_plain_text(delivery.message.text))
        return SendResult(SendOutcome.SENT, message_id=str(self.count))
