"""The compose tick.

subscribers whose schedule is due | stories after their cursors on their topics
    | rank + group -> digest | plan the parts per channel | outbox (keyed)
    | advance the cursors: one transaction per batch of subscribers

A batch writes its digests' parts and advances their cursors in one transaction, so a crash
repeats or loses nothing (the key (subscriber, cursor range, part) makes a repeat a no-op).
``/digest`` goes through the same code for one subscriber (``compose_for``, which the runtime
hands to the command core).

A subscriber's first digest (``digests_sent`` 0) is one message: the best
``subscriber_defaults.first_digest_items`` stories of the backlog, fewer if they do not fit the
platform's message, the rest counted ("and N more", which ``/digest`` then pages through). It
waits until the entries fetched by the time the subscriber subscribed are processed, at most
``FIRST_DIGEST_WAIT``: a backlog still being processed would otherwise go out as one digest
now and another, with a different count, a minute later. A robot's digests are at least
``robots[].min_interval`` apart, what came in between merged into the next. With the LLM on, a
story waits up to ``llm.wait_seconds`` for the texts its readers need (``jobs.llm.ready_head``)
before instant and first digests take it: otherwise an instant reader would get it before the
model has written. A scheduled digest takes it at its time, waiting or not.

Telegram parts are stored by reference (language and blocks: story ids, topic ids) and rendered
when sent (``bot.render.materialize``): 100,000 digests over the same 500 stories would
otherwise write gigabytes of HTML.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter, countOf
from typing import Any

import numpy as np

from bot.parts import Block, plan, title_block
from bot.render import BY_REFERENCE, renderer_for, text_choice, topic_namer
from bot.telegram.render import HtmlBlocks
from jobs.context import JobContext
from jobs.llm import ready_head
from newsbrief.config.settings import Config
from newsbrief.digests import NO_KEYWORDS, Sections, StoryPool
from newsbrief.editions import edition_at
from newsbrief.records import (
    CursorState,
    DeliveryStatus,
    Digest,
    DigestSection,
    StoryItem,
    Subscriber,
)
from newsbrief.schedule import in_quiet, next_digest, next_due, quiet_end, subscriber_timing
from newsbrief.store import articles, digest_rest, outbox, subscribers
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database
from newsbrief.workers import WorkerPool

log = logging.getLogger(__name__)

BATCH = 1000
RETRY_AFTER_ERROR = timedelta(minutes=5)
WINDOW = 5000
"""A digest looks at most at the newest this many stories: someone back after months gets the
best of the recent news, not the archive."""
FIRST_DIGEST_WAIT = timedelta(minutes=10)
"""Longest a first digest waits for the backlog to be processed (a stuck process stage must
not keep a new subscriber waiting for ever)."""
LLM_RECHECK = timedelta(seconds=1)
"""A first digest waiting for LLM texts is looked at again this much later (at the next
tick): the wait is ``llm.wait_seconds`` at most, the stories' own."""
FIRST_DIGEST_RECHECK = timedelta(seconds=15)
"""A waiting first digest is looked at again this much later (at the next tick, in practice)."""


async def compose_tick(ctx: JobContext) -> int:
    """Compose every due digest; returns how many messages were queued.

    On PostgreSQL with worker processes, each worker runs the batches on its own connection
    (claims skip each other's locked rows) and the pass uses every core; the event loop's
    process keeps its own for the bot. SQLite has one writer: the batches run here.
    """
    if ctx.parsers is None or not ctx.db.is_postgres:
        queued = await asyncio.to_thread(compose_batch, ctx)
    else:
        queued = await compose_in_workers(ctx.parsers, ctx.db, ctx.config, ctx.clock())
    ctx.metrics.messages_queued.inc(queued)
    return queued


async def compose_in_workers(
    workers: WorkerPool, db: Database, config: Config, now: datetime, *, batch: int = BATCH
) -> int:
    """``compose_due`` in each worker process at once (PostgreSQL only)."""
    slim = _without_feeds(config)
    results = await asyncio.gather(
        *(workers.run(compose_in_worker, db.url, slim, now, batch) for _ in range(workers.workers)),
        return_exceptions=True,
    )
    queued = 0
    for result in results:
        if isinstance(result, BaseException):  # that worker's batch rolled back; next tick
            log.error("composing digests failed", exc_info=result)
        else:
            queued += result
    return queued


_slim: tuple[Config, Config] | None = None


def _without_feeds(config: Config) -> Config:
    """The config a compose worker gets every tick: without the feed list, which composing never
    reads. Pickling 10,000 feeds to each worker every second cost more CPU than composing."""
    global _slim
    if _slim is None or _slim[0] is not config:
        _slim = (config, config.model_copy(update={"feeds": ()}))
    return _slim[1]


def compose_batch(ctx: JobContext) -> int:
    try:
        return compose_due(ctx.db, ctx.config, ctx.clock(), batch=BATCH)
    except Exception:  # the batch rolled back; the next tick composes these digests again
        log.exception("composing digests failed")
        return 0


_databases: dict[str, Database] = {}
"""A worker process's connection pools, one per database, kept between ticks."""


def compose_in_worker(url: str, config: Config, now: datetime, batch: int) -> int:
    """``compose_due`` in a worker process (see ``compose_tick``)."""
    db = _databases.get(url)
    if db is None:
        db = _databases[url] = Database(url)
    return compose_due(db, config, now, batch=batch)


def compose_due(db: Database, config: Config, now: datetime, *, batch: int = 1000) -> int:
    """Compose every digest due at ``now``; returns how many messages were queued.

    Each batch is one transaction: claim, compose, write the parts, advance the cursors. A
    crash rolls the batch back whole; nothing is half written and nothing waits on a lease.
    """
    pass_ = _Pass(db, config, now, batch)
    queued = 0
    with _collector_paused():
        while (added := pass_.next_batch()) is not None:
            queued += added
    return queued


class _Pass:
    """One compose pass: its batches share the composers (one per story window) and the
    schedule timings (most subscribers share a few schedules)."""

    def __init__(self, db: Database, config: Config, now: datetime, batch: int) -> None:
        self.db, self.config, self.now, self.batch = db, config, now, batch
        self.composers: dict[tuple[int, int], Composer] = {}
        self.timings: dict[tuple[str, str, str | None], Timing] = {}
        self.robot_gaps: dict[tuple[str, str], timedelta] = {
            (robot.platform, robot.id): timedelta(minutes=robot.min_interval)
            for robot in config.robots
            if robot.min_interval
        }
        self._unprocessed: tuple[int | None] | None = None  # looked up once a pass, when needed
        self._ready: int | None = None  # the head digests may reach, looked up once a pass
        self._head = 0  # the newest story
        self.done = False

    def _timing(self, subscriber: Subscriber) -> Timing:
        key = (subscriber.schedule, subscriber.timezone, subscriber.quiet_hours)
        found = self.timings.get(key)
        if found is None:
            found = self.timings[key] = _timing(
                subscriber, self.now, self.config.subscriber_defaults.schedule
            )
        return found

    def _first_hold(self, session: Any, state: CursorState) -> datetime | None:
        """Until when a first digest waits for the backlog it was subscribed to, or for the
        LLM texts of its newest stories (one digest of all, not one now and the rest in a
        minute); None: now."""
        if self._ready is not None and self._ready < self._head:
            return self.now + LLM_RECHECK
        wait = subscribers.first_wait(state.overflow)
        if wait is None or state.digests_sent:
            return None
        deadline = wait.since + FIRST_DIGEST_WAIT
        if self.now >= deadline:
            return None
        if self._unprocessed is None:
            self._unprocessed = (subscribers.oldest_unprocessed_entry(session),)
        oldest = self._unprocessed[0]
        if oldest is None or oldest > wait.entries:
            return None
        return min(self.now + FIRST_DIGEST_RECHECK, deadline)

    def _after_digest(self, subscriber: Subscriber, due: datetime | None) -> datetime | None:
        """When a subscriber that just got a digest is due again: a robot not before its
        ``min_interval`` (an instant one would otherwise post every minute of a busy hour)."""
        gap = self.robot_gaps.get((subscriber.platform, subscriber.chat_id))
        if gap is None or due is None:
            return due
        return max(due, self.now + gap)

    def _composer(self, session: Any, low: int, head: int) -> Composer:
        composer = self.composers.get((low, head))
        if composer is None:
            texts = text_choice(self.config)
            window = story_store.story_window(session, low, head, WINDOW, texts)
            composer = self.composers[(low, head)] = Composer(self.config, window)
        return composer

    def _compose(
        self, session: Any, composer: Composer, due: list[tuple[Subscriber, CursorState]]
    ) -> Iterator[tuple[Subscriber, CursorState, Composed | None]]:
        """``compose_many`` over ``due``: a scheduled digest (not a first) takes every story
        there is, those still waiting for LLM texts too (held, they would miss today's 09:00
        for tomorrow's); instant and first digests only the ready ones (``ready_head``)."""
        waiting = self._ready is not None and self._ready < self._head
        # Only while stories wait: a pass over 100,000 subscribers need not look otherwise.
        scheduled = (
            [x for x in due if x[1].digests_sent and not self._instant(x[0])] if waiting else []
        )
        if not scheduled:
            yield from composer.compose_many(due, self.now)
            return
        ids = {s.id for s, _ in scheduled}
        yield from composer.compose_many([x for x in due if x[0].id not in ids], self.now)
        low = min(state.position for _, state in scheduled)
        yield from self._composer(session, low, self._head).compose_many(scheduled, self.now)

    def _instant(self, subscriber: Subscriber) -> bool:
        schedule, _ = subscriber_timing(subscriber, self.config.subscriber_defaults.schedule)
        return schedule.kind == "instant"

    def next_batch(self) -> int | None:
        """Compose one batch; returns the messages it queued, None when nothing was due."""
        if self.done:
            return None
        now = self.now
        with self.db.session(write_lock=True, redoable=True) as session:
            if self._ready is None:
                self._head = articles.head_position(session)
                self._ready = ready_head(session, self.config.llm, now, self._head)
            head = self._ready
            claimed = subscribers.claim_due(session, now, self.batch, head)
            if not claimed:
                return None
            low = min(state.position for _, state in claimed)
            composer = self._composer(session, low, head)
            rows: list[dict[str, Any]] = []
            rest: list[dict[str, Any]] = []
            sent: list[dict[str, Any]] = []
            idle: list[dict[str, Any]] = []
            held: dict[int, dict[str, Any]] = {}
            for subscriber, state in claimed:
                hold = self._timing(subscriber)[0]
                if hold is None and not state.digests_sent:
                    hold = self._first_hold(session, state)
                if hold is not None:
                    # A late tick inside quiet hours: nothing now, one digest when they end.
                    held[subscriber.id] = _held(subscriber, state, hold)
            due_now = [(s, st) for s, st in claimed if s.id not in held] if held else claimed
            idle.extend(held.values())
            for subscriber, state, composed in self._compose(session, composer, due_now):
                if composed is None:
                    idle.append(_held(subscriber, state, now + RETRY_AFTER_ERROR))
                    continue
                _, after_news, no_news = self._timing(subscriber)
                # An instant subscriber with nothing new is due again at once (it is not
                # claimed until news arrives); one that just got a digest waits a minute. So
                # does any subscriber still without a first digest (see claim_due).
                if composed.sent:
                    due = self._after_digest(subscriber, after_news)
                elif not state.digests_sent and after_news is not None:
                    due = now
                else:
                    due = no_news
                # Nothing followed: due again when it follows something.
                composed.cursor["next_due_at"] = due if subscriber.subscriptions else None
                rows += composed.deliveries
                rest += composed.rest
                (sent if composed.sent else idle).append(composed.cursor)
            outbox.insert_deliveries(session, rows)
            digest_rest.insert_many(session, rest)
            subscribers.advance_many(session, sent)
            subscribers.advance_many(session, idle)
        self.done = len(claimed) < self.batch
        return len(rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a compose pass: its short-lived records (acyclic,
    freed by reference counting) triggered full collections of the whole heap, an eighth of a
    pass; paused per batch only, each batch's end still paid one (a tenth). Collection resumes
    after the pass, as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Timing = tuple[datetime | None, datetime | None, datetime | None]
"""(held until: inside quiet hours, next due after a digest, next due after none)."""


def _timing(subscriber: Subscriber, now: datetime, fallback: str) -> Timing:
    schedule, quiet = subscriber_timing(subscriber, fallback)
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
        state = subscribers.cursor(session, subscriber.id)
        head = articles.head_position(session)
        paging = _paging(state.overflow)
        low = int(paging["after"]) if paging else state.position
        window = story_store.story_window(
            session, min(low, head), head, WINDOW, text_choice(config)
        )
        composer = Composer(config, window)
        composed = composer.compose(subscriber, state, now, on_demand=on_demand)
        outbox.insert_deliveries(session, composed.deliveries)
        due = state.next_due_at
        if not on_demand or due is None or due <= now:
            due = next_digest(subscriber, now, config.subscriber_defaults.schedule)
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


@dataclass
class Composed:
    deliveries: list[dict[str, Any]]
    cursor: dict[str, Any]
    """The cursor update: subscriber_id, position, overflow, next_due_at…"""
    sent: bool
    rest: list[dict[str, Any]] = field(default_factory=list)
    """``digest_rest`` rows: what a robot's digest left out, behind the link in its footer."""


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
        self._ranks = range(len(self.pool.ranked))
        self.block_array = np.array(self._blocks, dtype=object)
        self.id_array = np.array(self._ids, dtype=np.int64)
        self._story_sizes: dict[str, list[int]] = {}
        self._topic_blocks = _TopicBlocks()
        self._html: dict[str, HtmlBlocks] = {}
        self._robots = {(robot.platform, robot.id) for robot in config.robots}
        self.mark = config.llm.mark
        """LLM-written summaries say so (``llm.mark``; they exist only with ``llm`` on)."""

    def html(self, lang: str) -> HtmlBlocks:
        found = self._html.get(lang)
        if found is None:
            found = self._html[lang] = HtmlBlocks(
                lang, self.topic_name, self._stories, mark=self.mark
            )
        return found

    def story_sizes(self, lang: str) -> list[int]:
        """Each story's block size in ``lang``, by rank."""
        found = self._story_sizes.get(lang)
        if found is None:
            sizes = self.html(lang).sizes
            found = self._story_sizes[lang] = [sizes[b] for b in self._blocks]
        return found

    def compose(
        self,
        subscriber: Subscriber,
        state: CursorState,
        now: datetime,
        *,
        on_demand: bool = False,
    ) -> Composed:
        max_items = self._items(subscriber, state)
        pool, position, overflow = self.pool, state.position, state.overflow
        head = max(pool.head, position)
        key = f"digest:{subscriber.id}:{position}-{head}"
        if self.is_first(state) and (first := self._first(subscriber, state, key, now)):
            return first
        subs, filters = subscriber.subscriptions, subscriber.filters
        masks, kept, more = pool.select(subs, filters, position, max_items)
        paging = _paging(overflow)
        rest: dict[str, Any] | None = None
        if masks:
            shown = pool.pick(kept, self._ids) if more else []
            overflow = {"after": position, "upto": head, "shown": shown} if more else None
            if more and self._robot_link(subscriber):
                rest = self._rest(subscriber, digest_rest.new_token(), position, kept, now)
        elif on_demand and paging:
            # Nothing new: /digest shows the next page of what the last digest left out.
            shown = list(paging["shown"])
            after = int(paging["after"])
            masks, kept, more = pool.select(subs, filters, after, max_items, pool.ids(shown))
            key = f"more:{subscriber.id}:{after}-{paging['upto']}:{len(shown)}"
            shown += pool.pick(kept, self._ids)
            overflow = {**paging, "shown": shown} if more else None
        sections = [(t, pool.pick(m, self._ranks)) for t, m in masks]
        return self._composed(
            subscriber, state, sections, kept.bit_count(), more, key, now, overflow, rest
        )

    def _robot_link(self, subscriber: Subscriber) -> bool:
        """A robot's digest links to what it leaves out, when ``server.public_url`` is set."""
        robot = (subscriber.platform, subscriber.chat_id) in self._robots
        return robot and self.config.server.public_url is not None

    def _link(self, token: str | None) -> str | None:
        public = self.config.server.public_url
        return digest_rest.url_of(public, token) if token and public else None

    def _rest(
        self, subscriber: Subscriber, token: str, position: int, kept: int, now: datetime
    ) -> dict[str, Any]:
        """The ``digest_rest`` row of what a digest showing ``kept`` leaves out, best first."""
        _, left, _ = self.pool.select(
            subscriber.subscriptions, subscriber.filters, position, digest_rest.MAX_STORIES, kept
        )
        ids = self.pool.pick(left, self._ids)
        return digest_rest.row(token, subscriber.id, subscriber.lang, ids, now)

    def _first(
        self, subscriber: Subscriber, state: CursorState, key: str, now: datetime
    ) -> Composed | None:
        """A first digest: the best ``_items`` stories after the cursor that fit in one message
        (the most that do, found by bisection when all of them do not), the rest counted and
        left for ``/digest`` to page through. None when no story matches."""
        pool, position, items = self.pool, state.position, self._items(subscriber, state)
        subs, filters = subscriber.subscriptions, subscriber.filters

        token = digest_rest.new_token() if self._robot_link(subscriber) else None

        def attempt(count: int) -> tuple[int, int, list[dict[str, Any]]]:
            masks, kept, more = pool.select(subs, filters, position, count)
            sections = [(t, pool.pick(m, self._ranks)) for t, m in masks]
            link = self._link(token) if more else None
            rows = self._rows(subscriber, sections, kept.bit_count(), more, key, now, link)
            return kept, more, rows

        best = attempt(items)
        if not best[0]:
            return None
        if len(best[2]) > 1:
            fits = None
            low, high = 1, best[0].bit_count() - 1
            while low <= high:
                middle = (low + high) // 2
                tried = attempt(middle)
                if len(tried[2]) == 1:
                    fits, low = tried, middle + 1
                else:
                    high = middle - 1
            # None: not even one story fits alone (a huge one); it goes as it comes.
            best = fits or attempt(1)
        kept, more, rows = best
        head = max(pool.head, position)
        shown = pool.pick(kept, self._ids)
        overflow = {"after": position, "upto": head, "shown": shown} if more else None
        rest = [self._rest(subscriber, token, position, kept, now)] if more and token else []
        return Composed(rows, self.cursor(subscriber, state, overflow, now, True), True, rest)

    def compose_many(
        self, claimed: Sequence[tuple[Subscriber, CursorState]], now: datetime
    ) -> Iterator[tuple[Subscriber, CursorState, Composed | None]]:
        """``compose`` for each claimed subscriber, in order (None where composing failed).

        Subscribers rendered by reference whose subscriptions carry no keywords of their own
        (nearly all; filters are fine) are composed together (``_PlainBatch``); the rest one by one.
        """
        plain = [
            (subscriber, state)
            for subscriber, state in claimed
            if subscriber.platform in BY_REFERENCE
            and subscriber.subscriptions
            and countOf(map(_keywords_of, subscriber.subscriptions), NO_KEYWORDS)
            == len(subscriber.subscriptions)
        ]
        try:
            batch = _PlainBatch(self, plain) if plain else None
        except Exception:  # the one-by-one path still serves everybody, only slower
            log.exception("batch selection failed; composing one subscriber at a time")
            batch = None
        for subscriber, state in claimed:
            try:
                if batch is not None and subscriber.id in batch.row_of:
                    composed = batch.compose(subscriber, state, now)
                else:
                    composed = self.compose(subscriber, state, now)
            except Exception:  # one bad subscriber must not hold up the others
                log.exception("composing for subscriber %s failed", subscriber.id)
                yield subscriber, state, None
                continue
            yield subscriber, state, composed

    def _max_items(self, subscriber: Subscriber) -> int:
        return subscriber.max_items or self.config.subscriber_defaults.max_items

    def _items(self, subscriber: Subscriber, state: CursorState) -> int:
        """Most stories in this digest: fewer in a first one (``first_digest_items``)."""
        items = self._max_items(subscriber)
        if not self.is_first(state):
            return items
        return min(items, self.config.subscriber_defaults.first_digest_items)

    def is_first(self, state: CursorState) -> bool:
        """A first digest, kept to one message (unless ``first_digest_items`` is 0: off)."""
        return not state.digests_sent and self.config.subscriber_defaults.first_digest_items > 0

    def _composed(
        self,
        subscriber: Subscriber,
        state: CursorState,
        sections: Sections,
        count: int,
        more: int,
        key: str,
        now: datetime,
        overflow: dict[str, Any] | None,
        rest: dict[str, Any] | None = None,
    ) -> Composed:
        link = self._link(rest["token"]) if rest else None
        rows = self._rows(subscriber, sections, count, more, key, now, link) if sections else []
        return Composed(
            rows,
            self.cursor(subscriber, state, overflow, now, bool(sections)),
            bool(sections),
            [rest] if rest and sections else [],
        )

    def cursor(
        self,
        subscriber: Subscriber,
        state: CursorState,
        overflow: dict[str, Any] | None,
        now: datetime,
        sent: bool,
    ) -> dict[str, Any]:
        """The cursor update after composing: past the window, and counted if a digest went."""
        cursor: dict[str, Any] = {
            "subscriber_id": subscriber.id,
            "position": max(self.pool.head, state.position),
            "overflow": overflow,
        }
        if sent:
            cursor["last_digest_at"] = now
            cursor["digests_sent"] = state.digests_sent + 1
        return cursor

    def _rows(
        self,
        subscriber: Subscriber,
        sections: Sections,
        count: int,
        more: int,
        key: str,
        now: datetime,
        more_url: str | None = None,
    ) -> list[dict[str, Any]]:
        lang = subscriber.lang
        if subscriber.platform in BY_REFERENCE:
            html = self.html(lang)
            blocks, topics = self._blocks, self._topic_blocks
            parts = plan(
                count,
                [(topics[t], [blocks[r] for r in ranks]) for t, ranks in sections],
                more,
                html.sizes.__getitem__,
                html.limit,
                title_block(count, edition_at(now, subscriber.timezone)),
            )
            return self.by_reference(subscriber, parts, key, now)
        name, ranked = self.topic_name, self.pool.ranked
        digest = Digest(
            subscriber.id,
            lang,
            tuple(
                DigestSection(t, name(t, lang), tuple(ranked[r] for r in ranks))
                for t, ranks in sections
            ),
            cursor=self.pool.head,
            more=more,
            edition=edition_at(now, subscriber.timezone),
            more_url=more_url,
        )
        messages = renderer_for(subscriber.platform)(digest, mark=self.mark)
        parse_mode = messages[0].parse_mode if messages else None
        return _deliveries(subscriber, [(m.text, None) for m in messages], parse_mode, key, now)

    def by_reference(
        self, subscriber: Subscriber, parts: list[list[Block]], key: str, now: datetime
    ) -> list[dict[str, Any]]:
        lang = subscriber.lang
        bodies = [("", {"lang": lang, "blocks": part}) for part in parts]
        return _deliveries(subscriber, bodies, "HTML", key, now)


def _paging(overflow: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the last digest left out, for ``/digest`` to page through; None when the cursor's
    ``overflow`` holds nothing of the kind (nothing left out, or a first digest's wait)."""
    return overflow if overflow and "after" in overflow else None


def _deliveries(
    subscriber: Subscriber,
    bodies: Sequence[tuple[str, dict[str, Any] | None]],
    parse_mode: str | None,
    key: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Outbox rows of one digest's parts: (text, payload) each."""
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
            "status": _PENDING,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }
        for i, (text, payload) in enumerate(bodies)
    ]


_keywords_of = attrgetter("keywords")
_PENDING = DeliveryStatus.PENDING.value


class _PlainBatch:
    """Telegram digests for a batch of plain subscribers, built from one ``select_plain``.

    Each digest's blocks come out of one object array (stories and headings in digest order)
    and its size from per-language size tables, so the usual digest (one message) costs a
    slice per subscriber; a digest over the limit goes through ``plan`` as ``compose`` does.
    """

    def __init__(self, composer: Composer, plain: Sequence[tuple[Subscriber, CursorState]]):
        self.composer = composer
        pool = composer.pool
        langs = [subscriber.lang for subscriber, _ in plain]
        sel = self.selection = pool.select_plain(
            [subscriber.subscriptions for subscriber, _ in plain],
            [state.position for _, state in plain],
            [composer._items(subscriber, state) for subscriber, state in plain],
            [subscriber.filters for subscriber, _ in plain],
        )
        self.row_of = {subscriber.id: row for row, (subscriber, _) in enumerate(plain)}
        count = len(plain)
        heads = np.flatnonzero(sel.opens)
        # Blocks in digest order: each story after its section's heading, if it opens one.
        at = np.arange(len(sel.rows)) + np.cumsum(sel.opens)
        topic_blocks = np.array([f"topic:{t}" for t in sel.topic_ids], dtype=object)
        tokens = np.empty(len(sel.rows) + len(heads), dtype=object)
        tokens[at] = composer.block_array[sel.ranks]
        tokens[at[heads] - 1] = topic_blocks[sel.topics[heads]]
        self.tokens = tokens
        sections = np.bincount(sel.rows[heads], minlength=count)
        self.bounds = np.concatenate(([0], np.cumsum(sel.counts + sections))).tolist()
        self.entries = np.concatenate(([0], np.cumsum(sel.counts))).tolist()
        self.counts = sel.counts.tolist()
        # Each digest's story ids in rank order (for "and N more").
        self.shown = composer.id_array[sel.by_rank]
        self.more = sel.more.tolist()
        # Each digest's size without its title and "more" line, in its reader's language.
        codes = {lang: i for i, lang in enumerate(dict.fromkeys(langs))}
        lang_of = np.fromiter(map(codes.__getitem__, langs), np.int64, count)
        story_sizes = np.array([composer.story_sizes(lang) for lang in codes], np.int64)
        topic_sizes = np.array(
            [[composer.html(lang).sizes[b] for b in topic_blocks] for lang in codes], np.int64
        ).reshape(len(codes), len(topic_blocks))
        rows, head_rows = sel.rows, sel.rows[heads]
        body = np.bincount(
            rows, story_sizes[lang_of[rows], sel.ranks], minlength=count
        ) + np.bincount(
            head_rows, topic_sizes[lang_of[head_rows], sel.topics[heads]], minlength=count
        )
        self.body = body.astype(np.int64).tolist()
        self.titles: dict[tuple[int, str], str] = {}  # (stories, timezone) -> title block

    def compose(self, subscriber: Subscriber, state: CursorState, now: datetime) -> Composed:
        composer, row = self.composer, self.row_of[subscriber.id]
        count, more = self.counts[row], self.more[row]
        position = state.position
        upto = max(composer.pool.head, position)
        key = f"digest:{subscriber.id}:{position}-{upto}"
        if not count:  # nothing new: the cursor moves on, what was left out stays pageable
            return Composed(
                [], composer.cursor(subscriber, state, state.overflow, now, False), False
            )
        overflow = None
        if more:
            lo, hi = self.entries[row], self.entries[row + 1]
            shown = self.shown[lo:hi].tolist()
            overflow = {"after": position, "upto": upto, "shown": shown}
        cursor = composer.cursor(subscriber, state, overflow, now, True)
        html = composer.html(subscriber.lang)
        title = self.titles.get((count, subscriber.timezone))
        if title is None:
            title = title_block(count, edition_at(now, subscriber.timezone))
            self.titles[count, subscriber.timezone] = title
        tail = [f"more:{more}"] if more else []
        size = self.body[row] + html.sizes[title] + (html.sizes[tail[0]] if more else 0)
        if size <= html.limit:
            blocks = self.tokens[self.bounds[row] : self.bounds[row + 1]].tolist()
            rows = composer.by_reference(subscriber, [[title, *blocks, *tail]], key, now)
        elif composer.is_first(state):  # a first digest is one message: fewer stories
            return composer.compose(subscriber, state, now)
        else:
            rows = composer._rows(subscriber, self.selection.sections(row), count, more, key, now)
        return Composed(rows, cursor, True)


class _TopicBlocks(dict[str, str]):
    def __missing__(self, topic: str) -> str:
        block = self[topic] = f"topic:{topic}"
        return block
