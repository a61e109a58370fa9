"""SQLAlchemy tables. All state lives here; a restart loses nothing.

Changing a table needs an Alembic migration in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    """Where the feed is fetched: the configured URL, or where it permanently moved to."""
    config_url: Mapped[str] = mapped_column(Text, default="")
    """The URL as configured, to tell a config change from an adopted redirect."""
    title: Mapped[str | None] = mapped_column(Text)
    """The title the feed gives itself, as read."""
    name: Mapped[str | None] = mapped_column(Text)
    """``feeds[].name`` from the config: shown instead of ``title``."""
    interval_minutes: Mapped[int] = mapped_column(Integer, default=30)
    min_interval: Mapped[int | None] = mapped_column(Integer)
    max_interval: Mapped[int | None] = mapped_column(Integer)
    announce_updates: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    """False when the feed left the config, or was disabled after failing (see disabled_reason)."""
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(16))
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive failed polls."""
    gone_count: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive 404/410 answers."""
    redirect_url: Mapped[str | None] = mapped_column(Text)
    """Where the feed has permanently redirected to, not yet adopted."""
    redirect_seen: Mapped[int] = mapped_column(Integer, default=0)
    entries_per_week: Mapped[float | None] = mapped_column(Float)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntryRow(Base):
    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("feed_id", "key_hash"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    content_html: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(40), default="")
    """Of title, link and content: tells an edited entry from an unchanged one."""
    author: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    """The entry's picture from the feed (enclosure, media:content, first <img>), checked public."""
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    announce: Mapped[bool] = mapped_column(Boolean, default=False)
    """An edited entry of a feed with announce_updates: process it as news again."""
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    process_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Unprocessed entries are claimed in id order; keep that scan cheap.
Index("ix_entries_unprocessed", EntryRow.processed_at, EntryRow.id)
# Entries fetched today (the console's overview).
Index("ix_entries_fetched_at", EntryRow.fetched_at)


class StoryRow(Base):
    """One event, however many feeds reported it. ``id`` is the ingestion sequence cursors use."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(16))
    feed_id: Mapped[str] = mapped_column(String(64))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_count: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    image_url: Mapped[str | None] = mapped_column(Text)
    """Its lead image: the first article's, else the first one a later source brought."""


class StoryTopicRow(Base):
    __tablename__ = "story_topics"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, index=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    title_key: Mapped[str] = mapped_column(String(64), index=True)
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The text's MinHash, so the near-duplicate index can be rebuilt after a restart."""
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    author: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    """The lead image the article page declares (og:image and the like)."""


class SiteLineRow(Base):
    """A short line seen on recent pages of one site: repeated enough, it is boilerplate there."""

    __tablename__ = "site_lines"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    line_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    """Distinct pages of the host the line was seen on (counted as articles are processed)."""
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SubscriberRow(Base):
    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "thread_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[int] = mapped_column(BigInteger, default=0)
    """Forum topic id, 0 for none (NULLs would not be unique)."""
    lang: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    schedule: Mapped[str] = mapped_column(String(128))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subscriptions: Mapped[list[str | dict[str, Any]]] = mapped_column(JSON, default=list)
    """Topics in the order subscribed: a topic id, or with keywords
    ``{"topic": id, "include": [...], "exclude": [...]}``.

    Kept on the row rather than in a table of its own: composing for 100,000 subscribers reads
    one row each instead of thirty.
    """
    filters: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    """Keywords over all topics: ``{"include": [...], "exclude": [...]}``."""
    quiet_hours: Mapped[str | None] = mapped_column(String(16))
    """Local ``HH:MM-HH:MM`` during which nothing is sent, or None."""
    max_items: Mapped[int | None] = mapped_column(Integer)
    """Most stories in one digest; None takes ``subscriber_defaults.max_items``."""


class DigestCursorRow(Base):
    """Where a subscriber's digests have got to in the story sequence, and when the next is due."""

    __tablename__ = "digest_cursors"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digests_sent: Mapped[int] = mapped_column(Integer, default=0)
    overflow: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the last digest left out ("and N more"), for ``/digest`` to show next:
    ``{"after": position, "upto": position, "shown": [story ids]}``."""


class DeliveryRow(Base):
    """The outbox: one rendered message for one chat, keyed so it is written once."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    subscriber_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """No foreign key: its check locked the subscriber's row for every part a compose pass
    wrote (0.23 s of a 2.9 s pass on PostgreSQL). ``subscribers.delete`` deletes a
    subscriber's messages itself; one composed meanwhile keeps the id and is sent, as it was
    with the id set to NULL."""
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[int] = mapped_column(BigInteger, default=0)
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A digest part by reference (language, story ids per section), rendered when sent; then
    ``text`` is empty. Stories are rendered once per tick, not once per subscriber."""
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    disable_preview: Mapped[bool] = mapped_column(Boolean, default=True)
    buttons: Mapped[list[list[list[str]]] | None] = mapped_column(JSON)
    """Inline keyboard rows of [label, command] pairs (a reply's), or none."""
    edit_of: Mapped[str | None] = mapped_column(String(64))
    """The platform message this one replaces (a pressed button's answer edits its message)."""
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Higher goes first: a command's reply before digest parts (``records.Priority``)."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    """The sender holding the lease: only it may renew the lease or send the message."""
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_deliveries_due", DeliveryRow.status, DeliveryRow.due_at)
# The console's last 24 hours of sends and their lag: a range of this index, never the table.
Index("ix_deliveries_sent", DeliveryRow.sent_at, DeliveryRow.platform, DeliveryRow.created_at)


class CallbackReplyRow(Base):
    """A WeCom/WeChat callback message taken, and its reply once ready: WeChat sends a message
    again when it got no answer in time, maybe to another process, which must answer the retry
    without running the command again."""

    __tablename__ = "callback_replies"

    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The endpoint and account (``platform:account``) the message came to."""
    msg_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """Its MsgId (an event's sender, time and kind: events have none)."""
    reply: Mapped[str | None] = mapped_column(Text)
    """None while the command runs."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TelegramUpdateRow(Base):
    """A Telegram update received by the webhook: stored before Telegram hears 200, so a
    crash between receipt and reply loses none; handled (and kept a day against resends)."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """While a bot process handles it; after a crash, any bot process takes it once this passes."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class MaintenanceRow(Base):
    """When a deployment-wide chore (``task``) last ran: one row each, claimed by an atomic
    update, so of all processes only one runs it per period (``store.retention.claim_daily``)."""

    __tablename__ = "maintenance"

    task: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestRestRow(Base):
    """The stories a group robot's digest left out, behind the link in its footer
    (``server.public_url`` + ``/d/<token>``): group members read the rest there. The token is
    the only key (random, 128 bits); rows go after ``digest_rest.KEEP``."""

    __tablename__ = "digest_rest"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(Integer)
    lang: Mapped[str] = mapped_column(String(16))
    story_ids: Mapped[list[int]] = mapped_column(JSON)
    """Best first, as the digest ranked them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FetchCountRow(Base):
    """Feed fetches per hour and outcome (``ok``, ``not_modified`` or the error kind), for the
    console's chart: added to once per stored batch of polls, kept two weeks."""

    __tablename__ = "fetch_counts"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class TickRunRow(Base):
    """The last run of each tick by any process (the metrics are per process, in memory)."""

    __tablename__ = "tick_runs"

    tick: Mapped[str] = mapped_column(String(32), primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    process: Mapped[str] = mapped_column(String(128))
    """``host:pid`` of the process that ran it."""
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    """The last failure's one line (kept after the tick recovers, with ``failed_at``)."""


class ChatPauseRow(Base):
    """When a platform last refused a chat (a robot's key removed, a user who blocked the
    bot) and why: the subscriber row says *that* it is paused, this says *since when*."""

    __tablename__ = "chat_pauses"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryTextRow(Base):
    """A story's title and summary written by the LLM in one language (``llm``): the cache that
    makes it one call per story, language and model however many readers get it. ``status`` is
    ``ok`` (shown), ``rejected`` (failed the checks: the extractive one goes, never retried) or
    ``failed`` (timeout, 429, 5xx, malformed: tried again after ``retry_at``)."""

    __tablename__ = "story_texts"

    story_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it was rejected or failed (for the logs and the console)."""
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LlmUsageRow(Base):
    """Tokens and calls spent on the LLM per UTC day and scope (``*`` the deployment, ``topic:ID``
    one topic): the daily budgets are checked against it before each call, by every process."""

    __tablename__ = "llm_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the admins were told this budget was spent (once a day)."""
