"""Outbox parts as the console shows them: Telegram's HTML subset turned into safe HTML, a
group robot's JSON body into the markdown (or text) its chat shows, plain text as it is.

Whatever a feed put in a title is escaped here again: only the tags Telegram itself renders
pass (bold, italic, underline, strike, spoiler, code, pre, blockquote, links), without any
attribute but an http(s) ``href``, and links get ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from newsbrief.records import Delivery

# Telegram's tags -> the tag shown (its synonyms shown as one).
_TAGS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "a",
    "tg-spoiler": "span",
}


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = _TAGS.get(tag)
        if tag == "span" and ("class", "tg-spoiler") in attrs:
            shown = "span"
        if shown is None:
            return  # an unknown tag goes; its text stays (escaped)
        if shown == "a":
            href = dict(attrs).get("href") or ""
            if urlsplit(href).scheme.lower() not in ("http", "https"):
                self.open.append("-a")  # a link Telegram would not open: its text alone
                return
            self.out.append(f'<a href="{html.escape(href)}" rel="noopener noreferrer">')
        elif shown == "span":
            self.out.append('<span class="spoiler">')
        else:
            self.out.append(f"<{shown}>")
        self.open.append(shown)

    def handle_endtag(self, tag: str) -> None:
        shown = "span" if tag in ("span", "tg-spoiler") else _TAGS.get(tag)
        wanted = {shown, "-a"} if shown == "a" else {shown}
        at = next((i for i in range(len(self.open) - 1, -1, -1) if self.open[i] in wanted), None)
        if at is None:
            return  # closes nothing we opened
        for opened in reversed(self.open[at:]):
            if opened != "-a":
                self.out.append(f"</{opened}>")
        del self.open[at:]

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(
            f"</{tag}>" for tag in reversed(self.open) if tag != "-a"
        )


def telegram_html(text: str) -> Markup:
    """Telegram message HTML as safe HTML for the page (see the module docstring)."""
    sanitizer = _Sanitizer()
    sanitizer.feed(text)
    return Markup(sanitizer.result())  # noqa: S704 -- built from escaped parts only


def robot_text(body: str) -> str:
    """A robot's JSON body -> what its chat shows: the markdown, a news card's title, link and
    description, or the text; the body itself when it is none of these."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    kind = data.get("msgtype") or data.get("msg_type")
    inner = data.get(kind) if isinstance(kind, str) else None
    if kind == "markdown" and isinstance(inner, dict):
        return str(inner.get("content") or inner.get("text") or "")
    if kind == "news" and isinstance(inner, dict):
        cards = [a for a in inner.get("articles") or () if isinstance(a, dict)]
        return "\n\n".join(
            "\n".join(str(a[k]) for k in ("title", "url", "description") if a.get(k)) for a in cards
        )
    if kind == "text":
        content = data.get("content") if "msg_type" in data else inner
        if isinstance(content, dict):
            return str(content.get("text") or content.get("content") or "")
    if kind == "interactive":
        card = data.get("card") or {}
        title = ((card.get("header") or {}).get("title") or {}).get("content") or ""
        blocks = [
            str(e.get("content") or "")
            for e in card.get("elements") or ()
            if isinstance(e, dict) and e.get("tag") == "markdown"
        ]
        return "\n\n".join([f"**{title}**", *blocks] if title else blocks)
    return json.dumps(data, ensure_ascii=False, indent=2)


@dataclass(frozen=True, slots=True)
class Shown:
    """One part as the page shows it: ``html`` (Telegram) or ``text`` (preformatted)."""

    html: Markup | None
    text: str | None


def shown(part: Delivery) -> Shown:
    """A materialised part (Telegram's text rendered from its blocks) as the page shows it."""
    message = part.message
    if message.parse_mode == "HTML":
        return Shown(telegram_html(message.text), None)
    if message.parse_mode == "json":
        return Shown(None, robot_text(message.text))
    return Shown(None, message.text)
