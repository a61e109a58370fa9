"""Compose subscribers' digests into the outbox, and render digest parts when they are sent.

The compose tick claims due subscribers in batches; each batch is one transaction that writes
the digests' parts and advances the cursors together, so a crash repeats or loses nothing (the
key (subscriber, cursor range, part) makes a repeat a no-op). ``/digest`` goes through the same
code for one subscriber.

Telegram parts are stored by reference (language and blocks: story ids, topic ids) and rendered
when sent: 100,000 digests over the same 500 stories would otherwise write gigabytes of HTML.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.parts import Block, plan
from bot.render import renderer_for
from bot.telegram_render import HtmlBlocks
from newsbrief.digests import StoryPool
from newsbrief.records import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestSection,
    StoryItem,
    Subscriber,
)
from newsbrief.schedule import in_quiet, next_due, quiet_end
from newsbrief.settings import Config
from newsbrief.store import articles, digests, subscribers
from newsbrief.store.db import Database
from newsbrief.store.subscribers import CursorState

RETRY_AFTER_ERROR = timedelta(minutes=5)
WINDOW = 5000
"""A digest looks at most at the newest this many stories: someone back after months gets the
best of the recent news, not the archive."""
log = logging.getLogger(__name__)

BY_REFERENCE = frozenset(("telegram", "console"))
"""Platforms whose parts are rendered at send time from ``HtmlBlocks``."""


def topic_namer(config: Config) -> Callable[[str, str], str]:
    topics = {t.id: t for t in config.topics}

    @functools.cache
    def name(topic_id: str, lang: str) -> str:
        topic = topics.get(topic_id)
        return topic.display(lang) if topic else topic_id

    return name


@dataclass
class Composed:
    deliveries: list[dict[str, Any]]
    cursor: dict[str, Any]
    """The cursor update: subscriber_id, position, overflow, next_due_at…"""
    sent: bool


class Composer:
    """One window of stories, ranked once and rendered once per language, for many digests."""

    def __init__(self, config: Config, stories: Iterable[StoryItem]) -> None:
        self.config = config
        self.topic_name = topic_namer(config)
        priority = {t.id: t.priority for t in config.topics if t.priority}
        self.pool = StoryPool(stories, priority)
        self._stories = {s.story_id: s for s in self.pool.ranked}
        # By rank, for StoryPool.pick: a digest's blocks without a loop over StoryItems.
        self._blocks = [f"story:{s.story_id}" for s in self.pool.ranked]
        self._ids = [s.story_id for s in self.pool.ranked]
        self._topic_blocks = _TopicBlocks()
        self._html: dict[str, HtmlBlocks] = {}

    def html(self, lang: str) -> HtmlBlocks:
        found = self._html.get(lang)
        if found is None:
            found = self._html[lang] = HtmlBlocks(lang, self.topic_name, self._stories)
        return found

    def compose(
        self,
        subscriber: Subscriber,
        state: CursorState,
        now: datetime,
        *,
        on_demand: bool = False,
    ) -> Composed:
        max_items = subscriber.max_items or self.config.subscriber_defaults.max_items
        pool, position, overflow = self.pool, state.position, state.overflow
        subs, filters = subscriber.subscriptions, subscriber.filters
        sections, kept, more = pool.select(subs, filters, position, max_items)
        head = max(pool.head, position)
        key = f"digest:{subscriber.id}:{position}-{head}"
        if sections:
            shown = pool.pick(kept, self._ids) if more else []
            overflow = {"after": position, "upto": head, "shown": shown} if more else None
        elif on_demand and overflow:
            # Nothing new: /digest shows the next page of what the last digest left out.
            shown = list(overflow["shown"])
            after = int(overflow["after"])
            sections, kept, more = pool.select(subs, filters, after, max_items, pool.ids(shown))
            key = f"more:{subscriber.id}:{after}-{overflow['upto']}:{len(shown)}"
            shown += pool.pick(kept, self._ids)
            overflow = {**overflow, "shown": shown} if more else None
        rows = self._rows(subscriber, sections, kept, more, key, now) if sections else []
        cursor: dict[str, Any] = {
            "subscriber_id": subscriber.id,
            "position": head,
            "overflow": overflow,
        }
        if sections:
            cursor["last_digest_at"] = now
            cursor["digests_sent"] = state.digests_sent + 1
        return Composed(rows, cursor, bool(sections))

    def _rows(
        self,
        subscriber: Subscriber,
        sections: list[tuple[str, int]],
        kept: int,
        more: int,
        key: str,
        now: datetime,
    ) -> list[dict[str, Any]]:
        lang = subscriber.lang
        pick = self.pool.pick
        if subscriber.platform in BY_REFERENCE:
            html = self.html(lang)
            blocks, topics = self._blocks, self._topic_blocks
            parts = plan(
                kept.bit_count(),
                [(topics[t], pick(m, blocks)) for t, m in sections],
                more,
                html.sizes.__getitem__,
                html.limit,
            )
            bodies: list[tuple[str, dict[str, Any] | None]] = [
                ("", {"lang": lang, "blocks": part}) for part in parts
            ]
            parse_mode: str | None = "HTML"
        else:
            name = self.topic_name
            digest = Digest(
                subscriber.id,
                lang,
                tuple(
                    DigestSection(t, name(t, lang), tuple(pick(m, self.pool.ranked)))
                    for t, m in sections
                ),
                cursor=self.pool.head,
                more=more,
            )
            messages = renderer_for(subscriber.platform)(digest)
            bodies = [(m.text, None) for m in messages]
            parse_mode = messages[0].parse_mode if messages else None
        return [
            {
                "key": f"{key}:{i}",
                "subscriber_id": subscriber.id,
                "platform": subscriber.platform,
                "chat_id": subscriber.chat_id,
                "thread_id": subscriber.thread_id or 0,
                "text": text,
                "payload": payload,
                "parse_mode": parse_mode,
                "disable_preview": True,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
            for i, (text, payload) in enumerate(bodies)
        ]


class _TopicBlocks(dict[str, str]):
    def __missing__(self, topic: str) -> str:
        block = self[topic] = f"topic:{topic}"
        return block


def compose_due(db: Database, config: Config, now: datetime, *, batch: int = 1000) -> int:
    """Compose every digest due at ``now``; returns how many messages were queued.

    Each batch is one transaction: claim, compose, write the parts, advance the cursors. A
    crash rolls the batch back whole; nothing is half written and nothing waits on a lease.
    """
    composers: dict[tuple[int, int], Composer] = {}
    timings: dict[tuple[str, str, str | None], Timing] = {}
    fallback = config.subscriber_defaults.schedule
    queued = 0
    while True:
        with db.session(write_lock=True) as session:
            head = articles.head_position(session)
            claimed = subscribers.claim_due(session, now, batch, head)
            if not claimed:
                return queued
            low = min(state.position for _, state in claimed)
            composer = composers.get((low, head))
            if composer is None:
                window = digests.story_window(session, low, head, WINDOW)
                composer = composers[(low, head)] = Composer(config, window)
            rows: list[dict[str, Any]] = []
            sent: list[dict[str, Any]] = []
            idle: list[dict[str, Any]] = []
            for subscriber, state in claimed:
                key = (subscriber.schedule, subscriber.timezone, subscriber.quiet_hours)
                if key not in timings:  # most subscribers share a few schedules
                    timings[key] = _timing(subscriber, now, fallback)
                hold, after_news, no_news = timings[key]
                if hold is not None:
                    # A late tick inside quiet hours: nothing now, one digest when they end.
                    idle.append(_held(subscriber, state, hold))
                    continue
                try:
                    composed = composer.compose(subscriber, state, now)
                except Exception:  # one bad subscriber must not hold up the others
                    log.exception("composing for subscriber %s failed", subscriber.id)
                    idle.append(_held(subscriber, state, now + RETRY_AFTER_ERROR))
                    continue
                # An instant subscriber with nothing new is due again at once (it is not
                # claimed until news arrives); one that just got a digest waits a minute.
                due = after_news if composed.sent else no_news
                # Nothing followed: due again when it follows something.
                composed.cursor["next_due_at"] = due if subscriber.subscriptions else None
                rows += composed.deliveries
                (sent if composed.sent else idle).append(composed.cursor)
            digests.insert_deliveries(session, rows)
            subscribers.advance_many(session, sent)
            subscribers.advance_many(session, idle)
            queued += len(rows)
        if len(claimed) < batch:
            return queued


Timing = tuple[datetime | None, datetime | None, datetime | None]
"""(held until: inside quiet hours, next due after a digest, next due after none)."""


def _timing(subscriber: Subscriber, now: datetime, fallback: str) -> Timing:
    schedule, quiet = subscribers.timing(subscriber, fallback)
    tz = subscriber.timezone
    if in_quiet(quiet, tz, now):
        return quiet_end(quiet, tz, now), None, None
    after_news = next_due(schedule, tz, now, quiet)
    return None, after_news, now if schedule.kind == "instant" else after_news


def _held(subscriber: Subscriber, state: CursorState, until: datetime) -> dict[str, Any]:
    return {
        "subscriber_id": subscriber.id,
        "position": state.position,
        "overflow": state.overflow,
        "next_due_at": until,
    }


def compose_for(
    db: Database, config: Config, subscriber: Subscriber, now: datetime, *, on_demand: bool = False
) -> int:
    """One subscriber's digest now (``/digest``); returns the number of messages queued."""
    with db.session(write_lock=True) as session:
        row = subscribers.cursor(session, subscriber.id)
        state = CursorState(row.position, row.digests_sent, row.overflow)
        head = articles.head_position(session)
        low = int(state.overflow["after"]) if state.overflow else state.position
        composer = Composer(config, digests.story_window(session, min(low, head), head, WINDOW))
        composed = composer.compose(subscriber, state, now, on_demand=on_demand)
        digests.insert_deliveries(session, composed.deliveries)
        due = row.next_due_at
        if not on_demand or due is None or due <= now:
            due = subscribers.next_digest(subscriber, now, config.subscriber_defaults.schedule)
        subscribers.advance(
            session,
            subscriber.id,
            composed.cursor["position"],
            due,
            now,
            sent_digest=composed.sent,
            overflow=composed.cursor["overflow"],
        )
        return len(composed.deliveries)


def materialize(db: Database, config: Config, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Render the parts stored by reference, with the stories as they are now."""
    wanted = [d for d in deliveries if d.payload is not None]
    if not wanted:
        return list(deliveries)
    ids = {
        int(block[6:])
        for d in wanted
        for block in (d.payload or {}).get("blocks", ())
        if block.startswith("story:")
    }
    with db.session() as session:
        stories = digests.stories_by_id(session, ids)
    name = topic_namer(config)
    renderers: dict[str, HtmlBlocks] = {}
    out: list[Delivery] = []
    for delivery in deliveries:
        if delivery.payload is None:
            out.append(delivery)
            continue
        lang = str(delivery.payload.get("lang", config.subscriber_defaults.language))
        html = renderers.get(lang)
        if html is None:
            html = renderers[lang] = HtmlBlocks(lang, name, stories)
        blocks: list[Block] = [
            b
            for b in delivery.payload.get("blocks", ())
            if not b.startswith("story:") or int(b[6:]) in stories  # a story since deleted
        ]
        text = html.message(blocks).text
        out.append(replace(delivery, message=replace(delivery.message, text=text)))
    return out
