"""Stories after a subscriber's cursor -> that subscriber's digest, ranked and grouped by topic."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from newsbrief.records import Digest, DigestSection, StoryItem


def compose_digest(
    subscriber_id: int,
    lang: str,
    subscribed: Sequence[str],
    stories: Sequence[StoryItem],
    topic_name: Callable[[str, str], str],
    *,
    max_items: int = 20,
) -> Digest | None:
    """Pick the stories on the subscriber's topics, most-reported and newest first.

    Each story appears once, under the first of the subscriber's topics it carries. The digest's
    cursor is the highest sequence number seen, matched or not, so nothing is looked at twice.
    Returns None when nothing matches (the cursor still advances: see ``cursor_after``).
    """
    order = {t: i for i, t in enumerate(subscribed)}
    matched = [s for s in stories if any(t in order for t in s.topics)]
    if not matched:
        return None
    ranked = sorted(matched, key=lambda s: (-s.source_count, -s.seq))
    kept, more = ranked[:max_items], max(0, len(ranked) - max_items)
    groups: dict[str, list[StoryItem]] = {}
    for story in kept:
        home = min((t for t in story.topics if t in order), key=order.__getitem__)
        groups.setdefault(home, []).append(story)
    sections = tuple(
        DigestSection(topic_id=t, topic_name=topic_name(t, lang), items=tuple(groups[t]))
        for t in sorted(groups, key=order.__getitem__)
    )
    return Digest(
        subscriber_id=subscriber_id,
        lang=lang,
        sections=sections,
        cursor=cursor_after(stories),
        more=more,
    )


def cursor_after(stories: Sequence[StoryItem]) -> int:
    return max((s.seq for s in stories), default=0)
