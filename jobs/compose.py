"""The compose tick.

subscribers whose schedule is due | stories after cursor on their topics
    | rank + group -> digest | render per channel -> messages | outbox (keyed)
    | advance cursor, one transaction per subscriber
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.digests import compose_for
from jobs.context import JobContext
from newsbrief.store import subscribers

log = logging.getLogger(__name__)

BATCH = 200
LEASE = timedelta(minutes=2)


async def compose_tick(ctx: JobContext) -> int:
    """Compose every due digest; returns how many messages were queued."""
    return await asyncio.to_thread(compose_batch, ctx)


def compose_batch(ctx: JobContext) -> int:
    now = ctx.clock()
    with ctx.db.session() as session:
        due = subscribers.claim_due(session, now, BATCH, LEASE)
    queued = 0
    for subscriber in due:
        try:
            queued += compose_for(ctx.db, ctx.config, subscriber, now)
        except Exception:  # the lease runs out and the next tick tries this subscriber again
            log.exception("composing for subscriber %s failed", subscriber.id)
    return queued
