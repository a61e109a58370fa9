"""Digest -> Telegram messages: HTML with everything from feeds escaped, split within 4096.

Telegram counts a message's length in UTF-16 code units after entity parsing, so parts are
measured on their visible text; a part never ends inside a tag because it is cut between items.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from bot.i18n import t
from newsbrief.records import Digest, Message, StoryItem

MAX_TEXT_UTF16 = 4096
MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 600
_TAG = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_len(fragment: str) -> int:
    """Length of an HTML fragment we rendered ourselves, as Telegram will count it."""
    return utf16_len(html.unescape(_TAG.sub("", fragment)))


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_item(item: StoryItem, lang: str) -> str:
    title = esc(_clip(item.title, MAX_TITLE_CHARS))
    head = f'• <a href="{esc(item.url)}">{title}</a>' if item.url else f"• <b>{title}</b>"
    lines = [head]
    if item.summary:
        lines.append(esc(_clip(item.summary, MAX_SUMMARY_CHARS)))
    source = f"<i>{esc(_clip(item.source, 80))}</i>"
    if item.source_count > 1:
        source += " · " + esc(t("also_reported", lang, count=item.source_count - 1))
    lines.append(source)
    return "\n".join(lines)


def render_digest(digest: Digest, limit: int = MAX_TEXT_UTF16) -> list[Message]:
    lang = digest.lang
    blocks: list[tuple[str, bool]] = [(t("digest_title", lang, count=digest.item_count), True)]
    for section in digest.sections:
        blocks.append((f"🔹 <b>{esc(section.topic_name)}</b>", True))
        blocks.extend((render_item(item, lang), False) for item in section.items)
    if digest.more:
        blocks.append((esc(t("more_items", lang, count=digest.more)), False))
    return [Message(text=text) for text in pack(blocks, limit, t("continued", lang))]


def pack(blocks: Iterable[tuple[str, bool]], limit: int, continued: str) -> list[str]:
    """Greedy packing of blocks (html, is_heading) into parts of at most ``limit`` visible units.

    A heading is never left alone at the end of a part: it moves to the next one.
    """
    parts: list[list[str]] = [[]]
    size = 0
    pending_headings: list[str] = []
    for fragment, heading in blocks:
        if heading:
            pending_headings.append(fragment)
            continue
        group = [*pending_headings, fragment]
        pending_headings = []
        cost = sum(visible_len(g) for g in group) + 2 * len(group)
        if parts[-1] and size + cost > limit:
            parts.append([esc(continued)])
            size = visible_len(continued)
        parts[-1].extend(group)
        size += cost
    if pending_headings and not any(parts):
        parts[-1].extend(pending_headings)
    return ["\n\n".join(p) for p in parts if p]
