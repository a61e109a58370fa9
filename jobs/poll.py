"""The poll tick.

due feeds (next_check_at <= now), claimed in batches with a lease
    | fetch (conditional GET; per-host and global limits in the fetcher)
    | parse -> entries (in a worker process: polling.parse_workers)
    | store new and edited entries, validators, health; plan the next check (batched writes)
    | tell the admins about feeds given up on
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.admin_notices import feed_disabled
from jobs.context import JobContext
from jobs.metrics import fetch_outcome
from newsbrief.feeds.parse import parse_fetched
from newsbrief.records import ErrorKind, FeedState, PollOutcome, PollRecord
from newsbrief.store import activity, feeds, outbox
from newsbrief.workers import WorkerCrashed

log = logging.getLogger(__name__)

CLAIM = 500
"""Feeds claimed at once; their fetches queue behind the fetcher's limits."""
WRITE_BATCH = 100
"""Polls stored per transaction."""


@dataclass
class PollSummary:
    feeds: int = 0
    new: int = 0
    updated: int = 0
    failed: int = 0
    disabled: int = 0

    def __bool__(self) -> bool:
        return self.feeds > 0

    def __str__(self) -> str:
        return (
            f"{self.feeds} feeds polled, {self.new} new entries, {self.updated} updated, "
            f"{self.failed} failed, {self.disabled} disabled"
        )


async def poll_tick(ctx: JobContext, *, feedparser_defaults: bool = False) -> PollSummary:
    """Poll every due feed once, batch after batch, until none is due."""
    summary = PollSummary()
    while due := await asyncio.to_thread(_claim, ctx):
        await _poll_batch(ctx, due, summary, feedparser_defaults)
        if len(due) < CLAIM:
            break
    return summary


def _claim(ctx: JobContext) -> list[FeedState]:
    with ctx.db.session() as session:
        return feeds.claim_due_feeds(
            session, ctx.clock(), CLAIM, timedelta(seconds=ctx.config.scheduler.poll_lease)
        )


async def _poll_batch(
    ctx: JobContext, due: list[FeedState], summary: PollSummary, feedparser_defaults: bool
) -> None:
    queue: asyncio.Queue[PollOutcome | None] = asyncio.Queue()
    writer = asyncio.create_task(_write(ctx, queue, summary))

    async def one(state: FeedState) -> None:
        result = await ctx.fetcher.fetch_feed(state)
        if result.body is None:
            await queue.put(PollOutcome(result))
        else:
            try:
                outcome = await ctx.run_parse(
                    parse_fetched,
                    result,
                    feedparser_defaults=feedparser_defaults,
                    max_entries=ctx.config.polling.max_entries,
                )
            except WorkerCrashed as exc:
                outcome = PollOutcome(
                    result, error_kind=ErrorKind.PARSE, error=f"parse error: {exc}"
                )
            await queue.put(outcome)

    try:
        await asyncio.gather(*(one(state) for state in due))
    finally:
        await queue.put(None)
        await writer


async def _write(
    ctx: JobContext, queue: asyncio.Queue[PollOutcome | None], summary: PollSummary
) -> None:
    """Store outcomes as they arrive, many per transaction."""
    done = False
    while not done:
        batch: list[PollOutcome] = []
        item = await queue.get()
        while item is not None:
            batch.append(item)
            if len(batch) >= WRITE_BATCH or queue.empty():
                break
            item = queue.get_nowait()
        done = item is None
        if batch:
            records = await asyncio.to_thread(_store, ctx, batch)
            for outcome, record in zip(batch, records, strict=True):
                ctx.metrics.fetched(outcome)
                ctx.metrics.entries_new.inc(record.new)
                summary.feeds += 1
                summary.new += record.new
                summary.updated += record.updated
                summary.failed += outcome.failure is not None
                summary.disabled += record.disabled is not None


FAILING_WARNING = 3
"""Failures in a row after which a feed gets its one warning."""


def _store(ctx: JobContext, batch: Sequence[PollOutcome]) -> list[PollRecord]:
    now = ctx.clock()
    with ctx.db.session() as session:
        records = feeds.record_polls(session, batch, now, ctx.config.polling)
        for outcome, record in zip(batch, records, strict=True):
            if failure := outcome.failure:
                # Each attempt at DEBUG: the tick's summary counts them and `feeds list` names
                # them. A feed that keeps failing is worth one warning (then one error when it
                # is disabled); a single failure usually heals at the next poll.
                log.debug("feed %s: %s", record.feed_id, failure[1])
                if record.failures == FAILING_WARNING and not record.disabled:
                    log.warning(
                        "feed %s failed %d times in a row (still trying): %s",
                        record.feed_id,
                        record.failures,
                        failure[1],
                    )
            if record.disabled:
                log.error("feed %s disabled: %s", record.feed_id, record.disabled)
                message = feed_disabled(
                    ctx.config, record.feed_id, outcome.result.url, record.disabled
                )
                for admin in ctx.config.admins:
                    outbox.enqueue_to(
                        session,
                        "telegram",
                        str(admin),
                        f"admin:feed-disabled:{record.feed_id}:{now:%Y%m%dT%H%M%S}:{admin}",
                        [message],
                        now,
                    )
            elif record.new or record.updated:
                log.debug("feed %s: %d new, %d updated", record.feed_id, record.new, record.updated)
        # The console's hourly chart: one statement per batch, in the batch's transaction.
        activity.record_fetches(session, now, Counter(map(fetch_outcome, batch)))
    return records
