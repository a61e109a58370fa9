"""The compose tick.

subscribers whose schedule is due | stories after their cursors on their topics
    | rank + group -> digest | plan the parts per channel | outbox (keyed)
    | advance the cursors: one transaction per batch of subscribers
"""

from __future__ import annotations

import asyncio
import logging

from bot.digests import compose_due
from jobs.context import JobContext

log = logging.getLogger(__name__)

BATCH = 1000


async def compose_tick(ctx: JobContext) -> int:
    """Compose every due digest; returns how many messages were queued."""
    return await asyncio.to_thread(compose_batch, ctx)


def compose_batch(ctx: JobContext) -> int:
    try:
        return compose_due(ctx.db, ctx.config, ctx.clock(), batch=BATCH)
    except Exception:  # the batch rolled back; the next tick composes these digests again
        log.exception("composing digests failed")
        return 0
