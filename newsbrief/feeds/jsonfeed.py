"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser does not read.

Only what newsbrief keeps is read: the feed's title and home page, and per item its id, title,
link, HTML content, date and authors. ``newsbrief.feeds.parse`` turns the items into entries.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION_PREFIX = "https://jsonfeed.org/version/"
JSON_TYPES = ("application/feed+json", "application/json")

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class NotAJsonFeed(ValueError):
    """Valid JSON, but not a JSON Feed."""


@dataclass(frozen=True, slots=True)
class JsonFeedItem:
    id: str | None
    title: str
    url: str | None
    content_html: str
    published_at: datetime | None
    author: str | None


@dataclass(frozen=True, slots=True)
class JsonFeed:
    format: str
    """``json10``, ``json11``, or ``json`` for a version this adapter does not know."""
    title: str | None
    home_page_url: str | None
    items: tuple[JsonFeedItem, ...]


def looks_like_json(body: bytes, content_type: str | None = None) -> bool:
    """JSON by its media type or its first character (XML always starts with ``<``)."""
    start = body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if start == b"{":
        return True
    mime = (content_type or "").split(";")[0].strip().lower()
    return start == b"[" and (mime in JSON_TYPES or mime.endswith("+json"))


def read_json_feed(body: bytes) -> JsonFeed:
    """Parse a JSON Feed. Raises ``json.JSONDecodeError`` for broken JSON and ``NotAJsonFeed``."""
    data = json.loads(body)  # bytes: UTF-8/16/32 are detected, a UTF-8 BOM is allowed
    if not isinstance(data, dict):
        raise NotAJsonFeed(f"got a JSON {type(data).__name__}, not a JSON Feed object")
    version = data.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise NotAJsonFeed(f"got JSON without a JSON Feed version (version: {version!r:.60})")
    number = version.removeprefix(VERSION_PREFIX).strip("/")
    feed_authors = _authors(data)
    items = data.get("items")
    return JsonFeed(
        format={"1": "json10", "1.1": "json11"}.get(number, "json"),
        title=_text(data.get("title")),
        home_page_url=_text(data.get("home_page_url")),
        items=tuple(
            _item(item, feed_authors)
            for item in (items if isinstance(items, list) else ())
            if isinstance(item, dict)
        ),
    )


def _item(item: Mapping[str, Any], feed_authors: str | None) -> JsonFeedItem:
    raw_id = item.get("id")
    # The spec says string, and that numbers should be taken as their string form.
    item_id = (
        str(raw_id)
        if isinstance(raw_id, str | int | float) and not isinstance(raw_id, bool)
        else None
    )
    content = _text(item.get("content_html"))
    if content is None:
        plain = _text(item.get("content_text")) or _text(item.get("summary"))
        content = text_to_html(plain) if plain else ""
    return JsonFeedItem(
        id=item_id,
        title=" ".join((_text(item.get("title")) or "").split()),
        url=_text(item.get("url")) or _text(item.get("external_url")),
        content_html=content,
        published_at=_date(item.get("date_published")) or _date(item.get("date_modified")),
        # 1.1: items without authors have the feed's.
        author=_authors(item) or feed_authors,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines between paragraphs, single newlines as <br>."""
    return "".join(
        "<p>" + html.escape(part.strip()).replace("\n", "<br>") + "</p>"
        for part in _PARAGRAPH_BREAK.split(text)
        if part.strip()
    )


def _authors(obj: Mapping[str, Any]) -> str | None:
    """1.1's ``authors`` list, else 1.0's ``author`` object: the names, comma-separated."""
    found = obj.get("authors")
    people = found if isinstance(found, list) else [obj.get("author")]
    names = [p["name"].strip() for p in people if isinstance(p, dict) and _text(p.get("name"))]
    return ", ".join(names) or None


def _date(value: Any) -> datetime | None:
    """RFC 3339 (``2024-05-01T08:00:00Z``, ``…+08:00``, lower-case ``t``/``z``) as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().upper().replace(" ", "T", 1)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A date without an offset is not RFC 3339; UTC is the least surprising reading.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
