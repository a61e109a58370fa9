"""The process tick.

unprocessed entries | extract + clean -> article | topics | summary | match story | store
"""

from __future__ import annotations

import logging
from datetime import timedelta

from jobs.context import JobContext
from newsbrief.articles import build_article, fingerprint
from newsbrief.records import Article
from newsbrief.store import articles
from newsbrief.topics import TopicMatcher, TopicRule

log = logging.getLogger(__name__)

BATCH = 100
LEASE = timedelta(minutes=5)


def matcher_for(ctx: JobContext) -> TopicMatcher:
    rules = [TopicRule(t.id, (t.name.zh, t.name.en, *t.keywords)) for t in ctx.config.topics]
    return TopicMatcher(rules)


async def process_tick(ctx: JobContext) -> int:
    """Turn waiting entries into articles under stories; returns how many were processed."""
    return await ctx.run_cpu(process_batch, ctx)


def process_batch(ctx: JobContext) -> int:
    now = ctx.clock()
    with ctx.db.session() as session:
        pending = articles.claim_unprocessed(session, now, BATCH, LEASE)
    if not pending:
        return 0
    matcher = matcher_for(ctx)
    feed_topics = {f.id: f.topics for f in ctx.config.feeds}
    built: list[tuple[int, Article | None, str | None]] = []
    announce = {item.id for item in pending if item.announce}
    for item in pending:
        try:
            article = build_article(
                item.id, item.entry, matcher, feed_topics.get(item.entry.feed_id, ())
            )
            built.append((item.id, article, None))
        except Exception as exc:  # one bad entry must not stop the batch
            log.exception("entry %s could not be processed", item.id)
            built.append((item.id, None, f"{type(exc).__name__}: {exc}"))
    with ctx.db.session() as session:
        for entry_id, done, error in built:
            if done is None:
                articles.mark_failed(session, entry_id, error or "unknown error", now)
            else:
                articles.save_article(
                    session, done, fingerprint(done.title), now, announce=entry_id in announce
                )
    return len(pending)
