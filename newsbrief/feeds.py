"""Feed bytes -> entries. The only module that imports feedparser."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from newsbrief.html_text import html_to_text
from newsbrief.records import Entry


class FeedParseError(ValueError):
    """The bytes are not a feed we can read anything from."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None
    """Set when the feed had a recoverable error (its usable entries are kept)."""


def parse_feed(feed_id: str, body: bytes, *, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS/Atom/RDF bytes. Raw HTML is kept as is: it is cleaned once, later."""
    headers = {"content-type": content_type} if content_type else None
    parsed: Any = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
        if not parsed.entries and not parsed.feed:
            raise FeedParseError(f"not a feed ({warning})")
    entries = tuple(_entry(feed_id, e) for e in parsed.entries)
    meta = parsed.feed
    return ParsedFeed(
        title=str(meta.get("title") or feed_id),
        link=meta.get("link"),
        entries=entries,
        warning=warning,
    )


def entry_key(guid: str | None, link: str | None, title: str, content: str) -> str:
    """Stable identity across polls: the guid, else the link, else a hash of the content."""
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return link.strip()
    digest = hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()
    return f"sha256:{digest}"


def _entry(feed_id: str, e: Any) -> Entry:
    title = str(e.get("title") or "")
    if "html" in str(e.get("title_detail", {}).get("type", "")):
        title = html_to_text(title)
    title = " ".join(title.split())
    link = e.get("link") or None
    content = ""
    if e.get("content"):
        # Atom may carry several representations; prefer HTML, the fullest one.
        parts = sorted(e.content, key=lambda c: "html" not in str(c.get("type", "")))
        content = str(parts[0].get("value") or "")
    if not content:
        content = str(e.get("summary") or "")
    return Entry(
        feed_id=feed_id,
        key=entry_key(e.get("id"), link, title, content),
        title=title,
        link=link,
        content_html=content,
        published_at=_when(e.get("published_parsed") or e.get("updated_parsed")),
        author=e.get("author") or None,
    )


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None
