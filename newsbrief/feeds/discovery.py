"""Find the feed of a site: the URL itself, a feed its page links to, or a feed at a common path.

```
discover_feed(url):
    fetch url | a feed?  -> it
              | HTML?    -> <link rel=alternate type=rss/atom/json> in page order, comment feeds
                            only when nothing else is linked | first that fetches and parses
              | nothing  -> /feed, /rss, /rss.xml, /atom.xml, /feed.xml, /index.xml on the host
```

Sniffing comes before ``parse_feed``: feedparser's loose mode "parses" any HTML page into an
empty feed, so a page must be recognised as a page before it is tried as a feed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

from newsbrief.feeds import FEED_ACCEPT
from newsbrief.feeds.parse import FeedParseError, parse_feed
from newsbrief.records import FetchResult

FeedFormat = Literal["rss", "atom", "rdf", "json"]

# The first request may get a page or a feed; sites that negotiate content then answer with
# the feed directly.
DISCOVERY_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, text/html;q=0.9, "
    "application/xhtml+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, "
    "application/json;q=0.7, */*;q=0.5"
)
COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")
# Link types by preference. Plain application/json comes last: WordPress also links its REST
# API with rel=alternate and that type.
_LINK_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 0,
    "application/feed+json": 0,
    "application/json": 1,
}
_COMMENTS = re.compile(r"\bcomments?\b|评论", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# The first element of an XML document, after the prolog (declaration, comments, doctype, PIs).
_PROLOG = re.compile(
    r"\s*(?:(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)\s*)*", re.S | re.I
)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


class PageFetcher(Protocol):
    """What discovery needs from ``newsbrief.fetcher.Fetcher``."""

    async def fetch_url(self, url: str, *, accept: str = ...) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str
    """The feed's URL; the final one when every redirect on the way was permanent."""
    title: str
    format: FeedFormat


class DiscoveryError(Exception):
    """No feed could be found; the message says what was tried."""


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    type: str
    title: str
    rank: int


def sniff(body: bytes) -> FeedFormat | Literal["html"] | None:
    """What the bytes are, from their first element (or JSON Feed's ``version``)."""
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        # Tag names are ASCII in every encoding a feed uses besides UTF-16.
        text = head.decode("latin-1").removeprefix("\xef\xbb\xbf")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "json" if _is_json_feed(body) else None
    if re.match(r"<!doctype\s+html", stripped, re.I):
        return "html"
    prolog = _PROLOG.match(text)
    root = _ROOT.match(text, prolog.end() if prolog else 0)
    if root is None:
        return None
    name = root.group(1).lower()
    local = name.rsplit(":", 1)[-1]
    if local == "rss":
        return "rss"
    if local == "feed":
        return "atom"
    if local == "rdf":
        return "rdf"
    if local in ("html", "head", "body", "meta", "title", "link"):
        return "html"
    return None


def _is_json_feed(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    version = data.get("version") if isinstance(data, dict) else None
    return isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")


class FeedLinkParser(HTMLParser):
    """Collects ``<base href>`` and ``<link>`` attributes; tolerant of any HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and self.base is None and values.get("href", "").strip():
            self.base = values["href"].strip()  # only the first <base href> counts
        elif tag == "link":
            self.links.append(values)

    handle_startendtag = handle_starttag


def _decode_html(body: bytes, content_type: str | None) -> str:
    charset = None
    if content_type:
        match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
        charset = match.group(1) if match else None
    if charset is None:
        meta = _META_CHARSET.search(body[:4096])
        charset = meta.group(1).decode("ascii") if meta else None
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def feed_links(html: str, page_url: str) -> list[FeedLink]:
    """The page's feed links, best first: preferred types, then page order; comments last."""
    parser = FeedLinkParser()
    parser.feed(html)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    found: list[FeedLink] = []
    seen: set[str] = set()
    for attrs in parser.links:
        rels = attrs.get("rel", "").lower().split()
        kind = attrs.get("type", "").split(";")[0].strip().lower()
        href = attrs.get("href", "").strip()
        if "alternate" not in rels or kind not in _LINK_TYPES or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        found.append(FeedLink(url, kind, attrs.get("title", "").strip(), _LINK_TYPES[kind]))
    found.sort(key=lambda link: link.rank)  # stable: page order within a rank
    main = [link for link in found if not _is_comments(link)]
    return main or found


def _is_comments(link: FeedLink) -> bool:
    segments = urlsplit(link.url).path.lower().split("/")
    return "comments" in segments or bool(_COMMENTS.search(link.title))


def _readable(requested: str, result: FetchResult, hint: str = "") -> DiscoveredFeed | str:
    """The feed in ``result``, or why it is not one."""
    if result.body is None:
        return result.error or f"HTTP {result.status}"
    kind = sniff(result.body)
    if kind == "html":
        return "an HTML page, not a feed"
    if kind is None:
        return f"not a feed ({result.content_type or 'no content type'})"
    try:
        parsed = parse_feed("", result.body, content_type=result.content_type)
    except FeedParseError as exc:
        return str(exc)
    # A temporary redirect may point anywhere (a CDN, a signed URL): keep the URL asked for.
    url = result.permanent_redirect or requested
    title = " ".join(parsed.title.split()) or hint or urlsplit(url).hostname or url
    return DiscoveredFeed(url=url, title=title, format=kind)


async def discover_feed(fetcher: PageFetcher, url: str) -> DiscoveredFeed:
    """The feed for ``url`` (a feed URL or a site's page); DiscoveryError says why not."""
    first = await fetcher.fetch_url(url, accept=DISCOVERY_ACCEPT)
    if first.body is None:
        raise DiscoveryError(f"cannot fetch {url}: {first.error or f'HTTP {first.status}'}")
    kind = sniff(first.body)
    if kind is not None and kind != "html":
        found = _readable(url, first)
        if isinstance(found, DiscoveredFeed):
            return found
        raise DiscoveryError(f"{url} looks like a feed ({kind}) but cannot be read: {found}")
    if kind is None and "html" in (first.content_type or "").lower():
        kind = "html"  # a page without a doctype that starts with some other element

    tried: set[str] = {url, first.url}
    failures: list[str] = []
    links = feed_links(_decode_html(first.body, first.content_type), first.url) if kind else []
    for link in links:
        tried.add(link.url)
        result = await fetcher.fetch_url(link.url, accept=FEED_ACCEPT)
        found = _readable(link.url, result, link.title)
        if isinstance(found, DiscoveredFeed):
            return found
        failures.append(f"{link.url}: {found}")

    parts = urlsplit(first.url)
    for path in COMMON_PATHS:
        probe = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        if probe in tried:
            continue
        tried.add(probe)
        found = _readable(probe, await fetcher.fetch_url(probe, accept=FEED_ACCEPT))
        if isinstance(found, DiscoveredFeed):
            return found

    if failures:
        what = f"no feed the page links to could be read ({'; '.join(failures)})"
    elif kind == "html":
        what = "the page links no RSS/Atom/JSON feed"
    else:
        what = f"it is neither a feed nor an HTML page ({first.content_type or 'no content type'})"
    raise DiscoveryError(
        f"no feed found at {url}: {what} and none of {', '.join(COMMON_PATHS)} answered with one"
    )
