"""Feed bytes -> entries. The only module that imports feedparser.

body | empty? -> not a feed
     | JSON? -> the JSON Feed adapter (``jsonfeed``)
     | decode (``encodings``: BOM, header, XML declaration, and the fixes they need)
     | HTML page? -> not a feed
     | feedparser on UTF-8 (its strict XML parser; its lenient one if the XML is broken)
     | entries (ids: guid, else link, else a content hash)
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import json
import logging
import re
import xml.sax
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser

from newsbrief.articles.images import public_image_url
from newsbrief.feeds.jsonfeed import NotAJsonFeed, looks_like_json, read_json_feed
from newsbrief.records import Entry, ErrorKind, FetchResult, PollOutcome
from newsbrief.text.encodings import Decoded, canonical, decode_document, xml_declared_encoding
from newsbrief.text.html_text import html_to_text

# feedparser first tries the libxml2 SAX driver, which is seldom installed: a failed import,
# searched along sys.path, on every parse (2-3% of a poll cycle). The standard library's expat
# parser is what parses feeds anyway.
feedparser.api.PREFERRED_XML_PARSERS = []

log = logging.getLogger(__name__)

FeedParseErrorKind = Literal["not_a_feed", "parse_error"]

_PREFIX: dict[FeedParseErrorKind, str] = {"not_a_feed": "not a feed", "parse_error": "parse error"}
_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_DECLARATION = re.compile(r"<\?xml\b[^>]*>")
_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_HTML_ROOTS = frozenset({"html", "head", "body"})
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})  # local names
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(
    r"""\b(src|width|height)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE
)
_TINY_PX = 50
"""An <img> declared narrower or lower than this is a tracking pixel or an emoji, not a picture."""
# How far into a document to look for its root element and an HTML page's title.
_SNIFF = 65_536


class FeedParseError(ValueError):
    """The bytes are not a feed we can read anything from.

    ``kind`` is ``not_a_feed`` (an HTML page, JSON that is no JSON Feed, an empty body, any other
    document) or ``parse_error`` (a feed so broken that no entry could be read from it).
    """

    def __init__(self, kind: FeedParseErrorKind, detail: str) -> None:
        super().__init__(f"{_PREFIX[kind]}: {detail}")
        self.kind: FeedParseErrorKind = kind


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None
    """Set when the feed had a recoverable error (its usable entries are kept): broken XML, or a
    charset declaration that did not fit the bytes."""
    format: str = ""
    """feedparser's ``version`` (``rss20``, ``rss10`` for RDF, ``rss090``, ``rss091u``,
    ``atom10``, ``atom03``…), ``json10``/``json11`` for JSON Feed, ``unknown`` if unrecognised."""
    ttl_minutes: int | None = None
    """RSS ``<ttl>``: minutes the publisher says the feed may be cached."""


MAX_TITLE_CHARS = 1_000
MAX_AUTHOR_CHARS = 300
MAX_LINK_CHARS = 4_096
"""A longer link is no link a reader can open: it is dropped (the entry keeps its key)."""
MAX_KEY_CHARS = 1_000
"""A longer guid is kept as its hash, which is as stable across polls as the guid itself."""
MAX_CONTENT_CHARS = 1_000_000


def parse_feed(
    feed_id: str,
    body: bytes,
    *,
    content_type: str | None = None,
    feedparser_defaults: bool = False,
) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF or JSON Feed bytes.

    ``content_type`` is the HTTP header (its charset counts). Raw HTML content is kept as is: it
    is cleaned once, later. ``feedparser_defaults`` runs feedparser with its default options
    (sanitising and relative-URI resolution on): the baseline of the benchmarks.
    """
    if not body.strip():
        raise FeedParseError("not_a_feed", "the response body is empty")
    if looks_like_json(body, content_type):
        return _json_feed(feed_id, body)
    decoded = decode_document(body, content_type=content_type)
    text = decoded.text.lstrip()
    root = _root_element(text)
    root_name = root.lower() if root else None
    if root_name in _HTML_ROOTS:
        raise FeedParseError("not_a_feed", f"got an HTML page{_page_title(text)}")
    document, lines_dropped = _utf8_document(body, decoded, text)
    options: dict[str, bool] = (
        {} if feedparser_defaults else {"sanitize_html": False, "resolve_relative_uris": False}
    )
    # A stream, not bytes: feedparser opens bytes that name an existing file as that file.
    parsed: Any = feedparser.parse(io.BytesIO(document), **options)
    version = str(parsed.get("version") or "")
    problem = _describe(parsed.get("bozo_exception"), lines_dropped) if parsed.get("bozo") else None
    if not parsed.entries:
        if version or (root_name or "").rpartition(":")[2] in _FEED_ROOTS:
            if problem:
                raise FeedParseError("parse_error", f"{problem}; no entry could be read")
        else:
            detail = (
                f"got XML whose root element is <{root}>, not RSS, Atom or RDF"
                if root
                else f"got a document that is neither XML nor JSON (it starts {text[:40]!r})"
            )
            raise FeedParseError("not_a_feed", detail)
    meta = parsed.feed
    warnings = [w for w in (decoded.warning, problem) if w]
    if problem:
        warnings[-1] += f"; kept {len(parsed.entries)} entries read by the lenient parser"
    return ParsedFeed(
        title=plain_title(str(meta.get("title") or ""), _type(meta)) or feed_id,
        link=meta.get("link") or None,
        entries=tuple(capped(_entry(feed_id, e)) for e in parsed.entries),
        warning="; ".join(warnings) or None,
        format=version or "unknown",
        ttl_minutes=_ttl(meta.get("ttl")),
    )


def resolve_links(entries: tuple[Entry, ...], base_url: str) -> tuple[Entry, ...]:
    """Relative entry links made absolute against the feed's URL (identity keys stay as read)."""
    return tuple(
        replace(e, link=urljoin(base_url, e.link)) if e.link and not urlsplit(e.link).scheme else e
        for e in entries
    )


def capped(entry: Entry) -> Entry:
    """An entry within the field caps: a hostile feed cannot store a 2 MB title."""
    key, link = entry.key, entry.link
    if len(key) > MAX_KEY_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    if link is not None and len(link) > MAX_LINK_CHARS:
        link = None
    fits = (
        key is entry.key
        and link is entry.link
        and len(entry.title) <= MAX_TITLE_CHARS
        and len(entry.author or "") <= MAX_AUTHOR_CHARS
        and len(entry.content_html) <= MAX_CONTENT_CHARS
    )
    if fits:
        return entry
    return replace(
        entry,
        key=key,
        link=link,
        title=_shortened(entry.title, MAX_TITLE_CHARS),
        author=_shortened(entry.author, MAX_AUTHOR_CHARS) if entry.author else entry.author,
        content_html=entry.content_html[:MAX_CONTENT_CHARS],
    )


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def newest(entries: Sequence[Entry], limit: int) -> tuple[Entry, ...]:
    """At most ``limit`` entries: the newest by date, then undated ones in feed order (feeds
    list newest first by convention). The kept entries stay in feed order."""
    if len(entries) <= limit:
        return tuple(entries)
    floor = datetime.min.replace(tzinfo=UTC)
    dated = sorted(
        (i for i, e in enumerate(entries) if e.published_at is not None),
        key=lambda i: (entries[i].published_at or floor, -i),
        reverse=True,
    )
    undated = [i for i, e in enumerate(entries) if e.published_at is None]
    return tuple(entries[i] for i in sorted((dated + undated)[:limit]))


def parse_fetched(
    result: FetchResult, *, feedparser_defaults: bool = False, max_entries: int | None = None
) -> PollOutcome:
    """Fetch result -> what to store, at most ``max_entries`` (the newest). CPU-bound and pure:
    the poll runs it in a worker process (``newsbrief.workers``)."""
    if result.body is None:
        return PollOutcome(result)
    try:
        parsed = parse_feed(
            result.feed_id,
            result.body,
            content_type=result.content_type,
            feedparser_defaults=feedparser_defaults,
        )
    except FeedParseError as exc:
        kind = ErrorKind.NOT_A_FEED if exc.kind == "not_a_feed" else ErrorKind.PARSE
        return PollOutcome(result, error_kind=kind, error=str(exc))
    if parsed.warning:
        log.debug("feed %s: recoverable problem: %s", result.feed_id, parsed.warning)
    entries = parsed.entries
    if max_entries is not None and len(entries) > max_entries:
        log.warning(
            "feed %s lists %d entries: kept the newest %d (polling.max_entries)",
            result.feed_id,
            len(entries),
            max_entries,
        )
        entries = newest(entries, max_entries)
    return PollOutcome(
        result,
        entries=resolve_links(entries, result.url),
        title=parsed.title,
        ttl_minutes=parsed.ttl_minutes,
    )


def entry_key(guid: str | None, link: str | None, title: str, content: str) -> str:
    """Stable identity across polls: the guid, else the link, else a hash of the content."""
    if guid and guid.strip():
        return guid.strip()
    if link and link.strip():
        return link.strip()
    digest = hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()
    return f"sha256:{digest}"


def plain_title(title: str, content_type: str = "text/plain") -> str:
    """A title as newsbrief keeps it: HTML-typed titles turned into text, whitespace collapsed."""
    if "html" in content_type:
        title = html_to_text(title)
    return " ".join(title.split())


def entry_content(item: Mapping[str, Any]) -> str:
    """The HTML kept of a feedparser entry: its content (HTML preferred), else its summary."""
    content = ""
    if item.get("content"):
        # Atom may carry several representations; prefer HTML, the fullest one.
        parts = sorted(item["content"], key=lambda c: "html" not in str(c.get("type", "")))
        content = str(parts[0].get("value") or "")
    return content or str(item.get("summary") or "")


def _entry(feed_id: str, e: Any) -> Entry:
    title = plain_title(str(e.get("title") or ""), _type(e))
    link = e.get("link") or None
    content = entry_content(e)
    return Entry(
        feed_id=feed_id,
        key=entry_key(e.get("id"), link, title, content),
        title=title,
        link=link,
        content_html=content,
        published_at=_when(e.get("published_parsed") or e.get("updated_parsed")),
        author=e.get("author") or None,
        image_url=entry_image(e, content, link),
    )


def entry_image(item: Mapping[str, Any], content: str, link: str | None) -> str | None:
    """The entry's picture, if it is a public http(s) URL: an image enclosure, then
    media:content, then media:thumbnail, then the first <img> of its content."""
    candidates: list[str] = []
    for enclosure in item.get("enclosures") or ():
        if str(enclosure.get("type") or "").startswith("image/"):
            candidates.append(str(enclosure.get("href") or ""))
    for media in item.get("media_content") or ():
        kind = f"{media.get('medium') or ''} {media.get('type') or ''}"
        if "image" in kind:
            candidates.append(str(media.get("url") or ""))
    candidates.extend(str(t.get("url") or "") for t in item.get("media_thumbnail") or ())
    for url in candidates:
        if (found := public_image_url(url, link)) is not None:
            return found
    return first_content_image(content, link)


def first_content_image(content: str, base: str | None) -> str | None:
    for tag in _IMG.finditer(content[:200_000]):
        attrs = {
            m.group(1).lower(): m.group(2) or m.group(3) or m.group(4)
            for m in _ATTR.finditer(tag.group())
        }
        sizes = [attrs.get("width", ""), attrs.get("height", "")]
        if any(size.isdigit() and int(size) < _TINY_PX for size in sizes):
            continue
        src = html.unescape(attrs.get("src") or "")
        if (found := public_image_url(src, base)) is not None:
            return found
    return None


def _type(node: Any) -> str:
    return str(node.get("title_detail", {}).get("type", ""))


def _json_feed(feed_id: str, body: bytes) -> ParsedFeed:
    try:
        try:
            feed = read_json_feed(body)
        except UnicodeDecodeError:
            # JSON must be UTF-8; keep what is readable of a feed that is not quite.
            feed = read_json_feed(body.decode("utf-8", errors="replace").encode())
    except NotAJsonFeed as exc:
        raise FeedParseError("not_a_feed", str(exc)) from None
    except json.JSONDecodeError as exc:
        where = f"at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        if b"jsonfeed.org/version/" in body[:4096]:
            raise FeedParseError("parse_error", f"JSON Feed is not valid JSON {where}") from None
        raise FeedParseError(
            "not_a_feed", f"got a document that is not valid JSON {where}"
        ) from None
    entries = tuple(
        capped(
            Entry(
                feed_id=feed_id,
                key=entry_key(item.id, item.url, item.title, item.content_html),
                title=item.title,
                link=item.url,
                content_html=item.content_html,
                published_at=item.published_at,
                author=item.author,
            )
        )
        for item in feed.items
    )
    return ParsedFeed(
        title=" ".join((feed.title or "").split()) or feed_id,
        link=feed.home_page_url,
        entries=entries,
        format=feed.format,
    )


def _utf8_document(body: bytes, decoded: Decoded, text: str) -> tuple[bytes, int]:
    """The document as UTF-8 that declares itself so, and how many lines were dropped before it.

    feedparser would decode again from the declared charset, which we have just corrected, and
    expat rejects anything (even blank lines) before the XML declaration.
    """
    declared = xml_declared_encoding(body[:512])
    if (
        body.startswith(b"<?xml")
        and decoded.encoding in ("utf-8", "ascii")
        and not decoded.warning
        and (declared is None or canonical(declared) == "utf-8")
    ):
        return body, 0  # the common case: already what expat wants
    dropped = decoded.text.count("\n", 0, len(decoded.text) - len(text))
    declaration = _DECLARATION.match(text)
    if declaration:
        dropped += declaration.group().count("\n")
        text = text[declaration.end() :]
    # No newline after it: line numbers in parse errors stay those of the original.
    return (_UTF8_DECLARATION + text).encode("utf-8"), dropped


def _describe(exc: Any, lines_dropped: int) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        line = (exc.getLineNumber() or 0) + lines_dropped
        return f"XML not well-formed at line {line}, column {exc.getColumnNumber()}: {exc.getMessage()}"
    return f"{type(exc).__name__}: {exc}" if exc else "malformed feed"


def _root_element(text: str) -> str | None:
    """The name of the first element, past declarations, comments and the doctype (a scan, not
    a regular expression: those backtrack badly on pages full of comments)."""
    at, end = 0, min(len(text), _SNIFF)
    while at < end:
        if text[at].isspace():
            at += 1
            continue
        if text.startswith("<!--", at):
            close = text.find("-->", at + 4, end)
            skip = 3
        elif text.startswith(("<?", "<!"), at):
            close = text.find(">", at, end)
            # A doctype's internal subset ([...]) may hold ">" itself.
            subset = text.find("[", at, close)
            if close != -1 and subset != -1:
                close = text.find("]", subset, end)
                close = text.find(">", close, end) if close != -1 else -1
            skip = 1
        else:
            name = _NAME.match(text, at + 1, end) if text[at] == "<" else None
            return name.group() if name else None
        if close == -1:  # unclosed
            return None
        at = close + skip
    return None


def _page_title(text: str) -> str:
    head = text[:_SNIFF]
    lower = head.lower()
    start = lower.find("<title")
    opened = lower.find(">", start) + 1 if start != -1 else 0
    close = lower.find("</title", opened) if opened else -1
    title = " ".join(html_to_text(head[opened:close]).split()) if close != -1 else ""
    if len(title) > 80:
        title = title[:79] + "…"
    return f" (<title>{title}</title>)" if title else ""


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes if minutes > 0 else None


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None
