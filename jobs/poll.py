"""The poll tick.

due feeds (next_check_at <= now) | fetch (conditional GET) | parse -> entries
    | store new | plan next check
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from jobs.context import JobContext
from newsbrief.feeds import FeedParseError, ParsedFeed, parse_feed
from newsbrief.records import FeedState, FetchResult
from newsbrief.store import feeds

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(minutes=5)


async def poll_tick(ctx: JobContext) -> int:
    """Check every due feed once; returns how many new entries were stored."""
    now = ctx.clock()

    def claim() -> list[FeedState]:
        with ctx.db.session() as session:
            return feeds.claim_due_feeds(session, now, BATCH, LEASE)

    due = await asyncio.to_thread(claim)
    if not due:
        return 0
    limit = asyncio.Semaphore(ctx.config.fetch.concurrency)

    async def one(state: FeedState) -> int:
        async with limit:
            result = await ctx.fetcher.fetch_feed(state)
        return await asyncio.to_thread(_store, ctx, result)

    counts = await asyncio.gather(*(one(state) for state in due))
    return sum(counts)


def _store(ctx: JobContext, result: FetchResult) -> int:
    parsed: ParsedFeed | None = None
    error = None
    if result.body is not None:
        try:
            parsed = parse_feed(result.feed_id, result.body, content_type=result.content_type)
        except FeedParseError as exc:
            error = str(exc)
    if result.error or error:
        log.warning("feed %s: %s", result.feed_id, result.error or error)
    with ctx.db.session() as session:
        new = feeds.record_fetch(
            session,
            result,
            ctx.clock(),
            entries=parsed.entries if parsed else (),
            title=parsed.title if parsed else None,
            error=error,
        )
    if new:
        log.info("feed %s: %d new entries", result.feed_id, new)
    return new
