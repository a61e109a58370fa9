"""The retention tick: old rows pruned once a day across the whole deployment.

claim the day (one process of all that share the database wins; the others return at once)
    | prune what the ``retention`` windows let go, in short transactions
      (``newsbrief.store.retention``: what is still needed stays)
    | one INFO line with the rows deleted per kind

The tick may run as often as the scheduler likes (hourly is plenty): all but one call a day
return ``{}`` after one small UPDATE. A prune that fails gives its day back, to be tried again
an hour later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from datetime import datetime, timedelta

from jobs.compose import WINDOW
from jobs.context import JobContext
from newsbrief.config.settings import Config
from newsbrief.store import retention
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

TASK = "retention"
EVERY = timedelta(days=1)
RETRY_AFTER_FAILURE = timedelta(hours=1)


async def retention_tick(ctx: JobContext) -> dict[str, int]:
    """Prune if this process wins today's run: rows deleted per kind
    (``newsbrief.store.retention.KINDS``, zeros included), or ``{}`` when another run had
    the day."""
    return await asyncio.to_thread(run_retention, ctx.db, ctx.config, ctx.clock())


def run_retention(db: Database, config: Config, now: datetime) -> dict[str, int]:
    """``retention_tick``'s body, blocking (the tick runs it in a thread)."""
    with db.session(write_lock=True) as session:
        if not retention.claim_daily(session, TASK, now, EVERY):
            log.debug("retention: already ran in the last %s", EVERY)
            return {}
    started = time.monotonic()
    try:
        counts = retention.prune(db, now, retention.Windows.from_config(config, WINDOW))
    except Exception:
        # The day back, less an hour: the next tick after that tries again. Best effort:
        # when the database is gone this fails too, and the day stays taken.
        with suppress(Exception), db.session(write_lock=True) as session:
            retention.release_daily(session, TASK, now, now - EVERY + RETRY_AFTER_FAILURE)
        raise
    deleted = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    log.info("retention: deleted %s in %.1f s", deleted, time.monotonic() - started)
    return counts
