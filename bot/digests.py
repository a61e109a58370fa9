"""Compose one subscriber's digest and put its rendered parts in the outbox, in one transaction.

Used by the compose tick for every due subscriber and by ``/digest`` on demand, so both write
the same rows: the key (subscriber, cursor range) makes a repeat a no-op.
"""

from __future__ import annotations

from datetime import datetime

from bot.render import renderer_for
from newsbrief.digests import compose_digest
from newsbrief.records import Subscriber
from newsbrief.schedule import next_due, parse_schedule
from newsbrief.settings import Config
from newsbrief.store import articles, outbox, subscribers
from newsbrief.store.db import Database


def compose_for(
    db: Database, config: Config, subscriber: Subscriber, now: datetime, *, on_demand: bool = False
) -> int:
    """Returns the number of messages queued (0 when nothing new matched)."""
    with db.session() as session:
        cursor = subscribers.cursor(session, subscriber.id)
        head = articles.head_position(session)
        topics = subscribers.topics_of(session, subscriber.id)
        stories = articles.stories_after(session, cursor.position, head, topics)
        digest = compose_digest(
            subscriber.id,
            subscriber.lang,
            topics,
            stories,
            lambda topic_id, lang: t.display(lang) if (t := config.topic(topic_id)) else topic_id,
            max_items=config.subscriber_defaults.max_items,
        )
        queued = 0
        if digest is not None:
            messages = renderer_for(subscriber.platform)(digest)
            key = f"digest:{subscriber.id}:{cursor.position}-{digest.cursor}"
            queued = outbox.enqueue(session, subscriber, key, messages, now)
        # With fewer stories than the page size, everything up to head has been looked at.
        position = digest.cursor if digest and len(stories) >= articles.PAGE else head
        due = cursor.next_due_at
        if not on_demand or due is None or due <= now:
            try:
                due = next_due(parse_schedule(subscriber.schedule), subscriber.timezone, now)
            except ValueError:
                due = next_due(
                    parse_schedule(config.subscriber_defaults.schedule), subscriber.timezone, now
                )
        subscribers.advance(
            session, subscriber.id, position, due, now, sent_digest=digest is not None
        )
        return queued
