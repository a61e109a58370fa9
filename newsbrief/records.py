"""The named, immutable records handed from one stage to the next.

One record per arrow of the data flow, so each stage reads as ``Record -> Record``::

    Feed/FeedState -> FetchResult -> Entry -> Article -> Story -> Digest -> Message -> Delivery

Beside that line, what the store hands a job or a command and takes back: a poll to store
(``PollOutcome -> PollRecord``), feeds' health, entries and cursors claimed for a tick, the
path of an article for /why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal, get_args

Language = Literal["zh-Hans", "zh-Hant", "en"]
"""A reader's language: replies, digests and topic names come in each of these."""
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed as configured by the admins."""

    id: str
    url: str
    topics: tuple[str, ...] = ()
    interval_minutes: int = 30
    min_interval: int | None = None
    max_interval: int | None = None
    announce_updates: bool = False
    fulltext: str = "auto"
    name: str | None = None
    """Shown instead of the feed's own title (``feeds[].name``)."""
    include: tuple[str, ...] = ()
    """Keep only entries whose title or text holds one of these (``feeds[].include``)."""
    exclude: tuple[str, ...] = ()
    """Drop entries whose title or text holds one of these (``feeds[].exclude``)."""


@dataclass(frozen=True, slots=True)
class TopicNames:
    """A topic's name in each of ``LANGUAGES``."""

    zh_hans: str
    zh_hant: str
    en: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic subscribers follow, as the taxonomy file or the config's inline ``topics`` define
    it; the topic matcher files articles by its terms (``newsbrief.articles.topics``)."""

    id: str
    names: TopicNames
    keywords: tuple[str, ...] = ()
    """Terms that put an article under this topic."""
    aliases: tuple[str, ...] = ()
    """Other names: matched (they weigh double) and accepted in commands."""
    weak: tuple[str, ...] = ()
    """Terms common outside the topic too: each counts half, so one alone files nothing."""
    exclude: tuple[str, ...] = ()
    """Terms that veto the hits they cover."""
    regex: tuple[str, ...] = ()
    """RE2 patterns."""
    parent: str | None = None
    """For a subtopic: the topic its matches also file the text under."""
    group: str | None = None
    """Topics of one group compete for a story (see ``newsbrief.articles.topics``)."""
    priority: int = 0
    """Ranks this topic's stories higher (positive) or lower (negative) in digests."""
    line: int = 0
    """Where the topic starts in the taxonomy file; 0 for an inline topic."""

    def display(self, lang: str) -> str:
        """The name a reader of ``lang`` sees."""
        if lang == "en":
            return self.names.en
        if lang == "zh-Hant":
            return self.names.zh_hant
        return self.names.zh_hans


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers between polls of one feed."""

    feed_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    error_count: int = 0


class ErrorKind(StrEnum):
    """Why a fetch failed, for health reports and backoff decisions."""

    DNS = "dns"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    TLS = "tls"
    HTTP = "http"
    TOO_LARGE = "too_large"
    REDIRECT = "redirect"
    BLOCKED = "blocked"
    """The address is private/loopback/link-local and such addresses are not allowed."""
    NOT_A_FEED = "not_a_feed"
    PARSE = "parse_error"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP exchange with a feed or page. ``body`` is None unless the status is 200."""

    feed_id: str
    url: str
    """The URL finally answered, after redirects."""
    status: int
    """HTTP status, 0 when no answer came (DNS, connect, timeout, refused by the guard…)."""
    body: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    retry_after: float | None = None
    """Seconds the server asked us to wait (Retry-After on 429/503)."""
    max_age: float | None = None
    """Seconds the answer stays fresh (Cache-Control max-age or Expires)."""
    permanent_redirect: str | None = None
    """Where every redirect on the way was permanent (301/308), the final URL."""
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, identified stably across polls by ``key``."""

    feed_id: str
    key: str
    title: str
    link: str | None
    content_html: str
    published_at: datetime | None = None
    author: str | None = None
    image_url: str | None = None
    """The entry's picture: an image enclosure, media:content/thumbnail, else its first <img>."""


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll of one feed, fetched and parsed, ready to be stored."""

    result: FetchResult
    entries: Sequence[Entry] = ()
    title: str | None = None
    ttl_minutes: int | None = None
    error_kind: ErrorKind | None = None
    """A parse failure (``not_a_feed``, ``parse_error``); fetch failures are in ``result``."""
    error: str | None = None

    @property
    def failure(self) -> tuple[ErrorKind, str] | None:
        if self.error:
            return self.error_kind or ErrorKind.PARSE, self.error
        if self.result.error:
            return self.result.error_kind or ErrorKind.HTTP, self.result.error
        return None


@dataclass(frozen=True, slots=True)
class PollRecord:
    feed_id: str
    new: int = 0
    updated: int = 0
    disabled: str | None = None
    """Set when this poll made the feed give up: the reason, for the admins."""
    failures: int = 0
    """Failures in a row after this poll (0 after a success)."""


@dataclass(frozen=True, slots=True)
class FeedHealth:
    id: str
    url: str
    title: str | None
    status: str
    """``ok``, ``new`` (never polled), ``failing``, ``disabled`` (gave up) or ``removed``."""
    last_success_at: datetime | None
    last_checked_at: datetime | None
    last_error: str | None
    last_error_kind: str | None
    error_count: int
    next_check_at: datetime | None
    entries: int
    entries_per_week: float | None


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A stored entry claimed for processing."""

    id: int
    entry: Entry
    announce: bool = False
    """An edited entry whose feed wants edits announced as news."""


@dataclass(frozen=True, slots=True)
class Article:
    """An entry turned into clean text with language, topics and a summary."""

    entry_id: int
    feed_id: str
    title: str
    url: str | None
    text: str
    lang: str
    summary: str
    topics: tuple[str, ...]
    fingerprint: str
    published_at: datetime | None = None
    canonical_url: str | None = None
    keywords: tuple[str, ...] = ()
    author: str | None = None
    image_url: str | None = None
    """The lead image the article page declares, when the page was fetched."""


@dataclass(frozen=True, slots=True)
class TopicTerm:
    """One hit that filed a text under a topic: the term as the taxonomy writes it (a regex
    rule: the text it matched), where it was found, and what it weighed."""

    term: str
    place: str
    """``title``, ``lead`` (the first lines after the title) or ``body``."""
    weight: float
    """2 an alias, 1 a keyword or regex, 0.5 a weak term or a common word out of context."""


@dataclass(frozen=True, slots=True)
class TopicEvidence:
    """Why a text is under a topic: its hits, their score and their strength."""

    topic: str
    score: float
    """The hits' weights added up: what files the text and decides between sections."""
    strength: float
    """The weights scaled by place (title 3, lead 2, body 1): what orders a text's topics and
    picks the digest section it goes under. A parent has its strongest subtopic's."""
    terms: tuple[TopicTerm, ...] = ()
    """Empty for a parent filed only through a subtopic, or a feed's own topic."""


@dataclass(frozen=True, slots=True)
class StoryItem:
    """A story as a digest sees it: its lead article plus how many sources carried it."""

    story_id: int
    seq: int
    title: str
    url: str | None
    summary: str
    source: str
    """The name of the feed that reported it first."""
    topics: tuple[str, ...]
    source_count: int = 1
    published_at: datetime | None = None
    others: tuple[Source, ...] = ()
    """The other feeds that carried it, first reported first (at most ``MAX_OTHER_SOURCES``)."""
    image_url: str | None = None
    """Its lead image: a public http(s) URL, or None."""
    lang: str | None = None
    """The language its source wrote in (None: not known)."""
    texts: tuple[StoryText, ...] = ()
    """Its title and summary as the LLM wrote them, per language (``llm``; empty without it)."""


@dataclass(frozen=True, slots=True)
class StoryText:
    """A story's title and summary written by the LLM in ``lang`` (checked: see newsbrief/llm)."""

    lang: str
    title: str
    summary: str


MAX_OTHER_SOURCES = 5
"""Other sources a story names; the rest are only counted."""


@dataclass(frozen=True, slots=True)
class Source:
    """Another feed's report of a story: the feed's display name and that article's link."""

    name: str
    url: str | None


Period = Literal["morning", "midday", "evening"]


@dataclass(frozen=True, slots=True)
class Edition:
    """A digest's date and part of day, in its reader's timezone ("12月2日 晚报")."""

    month: int
    day: int
    period: Period


@dataclass(frozen=True, slots=True)
class DigestSection:
    topic_id: str
    topic_name: str
    items: tuple[StoryItem, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """A subscriber's ranked items, grouped by topic, in the subscriber's language."""

    subscriber_id: int
    lang: str
    sections: tuple[DigestSection, ...]
    cursor: int
    """The highest story sequence number this digest covers."""
    more: int = 0
    """Matching stories left out because of the per-digest item limit."""
    edition: Edition | None = None
    """When it was composed, for its header; None shows an undated header."""
    more_url: str | None = None
    """Where a group robot's readers find the ``more`` stories left out; None: only counted."""

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)


@dataclass(frozen=True, slots=True)
class CursorState:
    """Where a subscriber's digests have got to, as claimed for one compose."""

    position: int
    digests_sent: int
    overflow: dict[str, Any] | None = None
    next_due_at: datetime | None = None
    """None: never due (it follows nothing, or its schedule is off)."""


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str
    """A command text, sent back as if typed when the button is pressed (≤ 64 bytes)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered part of a digest (or a reply) for one channel."""

    text: str
    parse_mode: str | None = "HTML"
    disable_preview: bool = True
    buttons: tuple[tuple[Button, ...], ...] = ()
    """Inline keyboard rows (a reply's)."""


class Priority(IntEnum):
    """Which outbox messages go first when the send budget is short: someone waits for a reply."""

    DIGEST = 0
    REPLY = 10


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    """Gave up: permanent error or too many attempts. Visible in ``newsbrief deliveries``."""
    PAUSED = "paused"
    """The chat cannot receive right now (blocked the bot, not found); resumes with /start."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A row of the outbox: one message for one chat, sent at most once."""

    id: int
    key: str
    subscriber_id: int
    platform: str
    chat_id: str
    thread_id: int | None
    message: Message
    status: DeliveryStatus
    attempts: int = 0
    last_error: str | None = None
    platform_message_id: str | None = None
    payload: dict[str, Any] | None = None
    """A digest part stored by reference; ``message.text`` is rendered from it when sent."""
    priority: int = Priority.DIGEST
    edit_of: str | None = None
    """Replace this platform message's text instead of sending a new one."""


@dataclass(frozen=True, slots=True)
class Keywords:
    """Include/exclude keywords: a story must contain one ``include`` (if any) and no ``exclude``."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    keywords: Keywords = field(default=Keywords())


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    platform: str
    chat_id: str
    thread_id: int | None
    lang: str
    timezone: str
    schedule: str
    paused: bool = False
    subscriptions: tuple[Subscription, ...] = ()
    """In the order subscribed: the first is the subscriber's most important topic."""
    filters: Keywords = field(default=Keywords())
    """Over all of the subscriber's topics."""
    quiet_hours: str | None = None
    max_items: int | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(s.topic for s in self.subscriptions)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one story for one subscriber, as /why tells it."""

    kind: str
    """``sent``, ``queued`` (in the outbox), ``no_subscriber``, ``not_following``,
    ``topic_keywords`` (a subscription's keywords dropped it), ``filter`` (the subscriber's own
    filter dropped it), ``pending`` (newer than the last digest), or ``not_sent`` (older than
    the subscription, or beyond a digest's item limit)."""
    at: datetime | None = None
    topic: str | None = None
    rule: str = ""
    """The keyword that decided: ``-word`` matched, or ``+a +b`` none of which matched."""


@dataclass(frozen=True, slots=True)
class WhyPath:
    """The path one article took: fetched, filed under a story and topics, and its verdict."""

    title: str
    feed_id: str
    fetched_at: datetime
    story_id: int
    story_title: str
    story_feed_id: str
    sources: int
    merged_into: int | None
    """The story this article joined when another feed reported it first; None if it led."""
    topics: tuple[str, ...]
    verdict: Verdict
    evidence: tuple[TopicEvidence, ...] = ()
    """The topic matcher's hits, recomputed from the stored article text when asked."""


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    """A passing failure (network, 5xx): try again later with backoff."""
    RATE_LIMITED = "rate_limited"
    """The platform asked this chat to wait ``retry_after`` seconds."""
    CHAT_GONE = "chat_gone"
    """The chat cannot receive (blocked, kicked, not found): pause its subscriber."""
    MIGRATED = "migrated"
    """The chat moved to ``migrate_to`` (group upgraded to a supergroup)."""
    REJECTED = "rejected"
    """The platform refused this message itself: fail it, keep the chat."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel sender reports back for one message."""

    outcome: SendOutcome
    message_id: str | None = None
    retry_after: float | None = None
    migrate_to: str | None = None
    error: str | None = None
