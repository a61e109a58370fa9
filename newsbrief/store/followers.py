"""How many subscribers follow each topic: what ``/start`` orders its topic buttons by."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsbrief.store.tables import SubscriberRow


def topic_followers(session: Session) -> Counter[str]:
    """Subscribers per topic id (paused ones too: they chose the topic)."""
    counts: Counter[str] = Counter()
    for (subscriptions,) in session.execute(select(SubscriberRow.subscriptions)):
        # A subscription is stored as its topic id, or as {"topic": id, ...} with keywords.
        for item in subscriptions or ():
            topic = item.get("topic") if isinstance(item, dict) else item
            if isinstance(topic, str):
                counts[topic] += 1
    return counts
