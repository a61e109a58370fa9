"""Read-only questions subscribers ask: recent stories by words (/search), and the path one
article took to them or not (/why)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from newsbrief.digests import keywords_pass, match_text
from newsbrief.records import Keywords, Subscriber, TopicEvidence, Verdict, WhyPath
from newsbrief.store.tables import (
    ArticleRow,
    DeliveryRow,
    DigestCursorRow,
    EntryRow,
    StoryRow,
)
from newsbrief.text.chinese import to_simplified, to_traditional

MAX_DELIVERIES_SCANNED = 2000


@dataclass(frozen=True, slots=True)
class Hit:
    story_id: int
    title: str
    url: str | None
    feed_id: str
    created_at: datetime


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _word_clause(word: str) -> ColumnElement[bool]:
    """The word in a story's title or summary, in either Chinese script, in any case."""
    forms = {word, to_simplified(word), to_traditional(word)}
    return or_(
        *(
            column.ilike(_like(form), escape="\\")
            for form in sorted(forms)
            for column in (StoryRow.title, StoryRow.summary)
        )
    )


def search(session: Session, words: list[str], since: datetime, limit: int = 10) -> list[Hit]:
    """Stories since ``since`` whose title or summary holds every word, newest first."""
    words = [w for w in words if w.strip()]
    if not words:
        return []
    query = (
        select(StoryRow.id, StoryRow.title, StoryRow.url, StoryRow.feed_id, StoryRow.created_at)
        .where(StoryRow.created_at >= since, and_(*(_word_clause(w) for w in words)))
        .order_by(StoryRow.id.desc())
        .limit(limit)
    )
    return [Hit(*row) for row in session.execute(query)]


def _url_forms(url: str) -> list[str]:
    base = url.split("#", 1)[0]
    forms = [url, base, base.rstrip("/"), base.rstrip("/") + "/"]
    return list(dict.fromkeys(f for f in forms if f))


def find_article(session: Session, url: str) -> ArticleRow | None:
    """The article stored for ``url``: by its link, its canonical URL or its entry's link."""
    forms = _url_forms(url)
    row = session.scalar(
        select(ArticleRow)
        .where(or_(ArticleRow.url.in_(forms), ArticleRow.canonical_url.in_(forms)))
        .order_by(ArticleRow.id)
        .limit(1)
    )
    if row is None:
        row = session.scalar(
            select(ArticleRow)
            .join(EntryRow, EntryRow.id == ArticleRow.entry_id)
            .where(EntryRow.link.in_(forms))
            .order_by(ArticleRow.id)
            .limit(1)
        )
    return row


def _rule(keywords: Keywords, text: str) -> str:
    """Which keyword of ``keywords`` keeps ``text`` out."""
    for word in keywords.exclude:
        if match_text(word) in text:
            return f"-{word}"
    return " ".join(f"+{w}" for w in keywords.include)


def delivery_of(session: Session, subscriber_id: int, story_id: int) -> DeliveryRow | None:
    """The newest outbox row of the subscriber that carries the story (digests store story ids
    in ``payload["blocks"]`` as ``story:<id>``)."""
    block = f"story:{story_id}"
    rows = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.subscriber_id == subscriber_id, DeliveryRow.payload.is_not(None))
        .order_by(DeliveryRow.id.desc())
        .limit(MAX_DELIVERIES_SCANNED)
    )
    for row in rows:
        if block in (row.payload or {}).get("blocks", ()):
            return row
    return None


def _verdict(
    session: Session, story: StoryRow, topics: tuple[str, ...], subscriber: Subscriber | None
) -> Verdict:
    if subscriber is None:
        return Verdict("no_subscriber")
    delivered = delivery_of(session, subscriber.id, story.id)
    if delivered is not None:
        if delivered.status == "sent":
            return Verdict("sent", at=delivered.sent_at)
        return Verdict("queued")
    mine = [s for s in subscriber.subscriptions if s.topic in topics]
    if not mine:
        return Verdict("not_following")
    text = match_text(f"{story.title}\n{story.summary}")
    passing = [s for s in mine if not s.keywords or keywords_pass(text, s.keywords)]
    if not passing:
        sub = mine[0]
        return Verdict("topic_keywords", topic=sub.topic, rule=_rule(sub.keywords, text))
    if subscriber.filters and not keywords_pass(text, subscriber.filters):
        return Verdict("filter", rule=_rule(subscriber.filters, text))
    cursor = session.get(DigestCursorRow, subscriber.id)
    if cursor is None or story.id > cursor.position:
        return Verdict("pending")
    return Verdict("not_sent")


Explain = Callable[[str, str], tuple[TopicEvidence, ...]]
"""(title, text) -> topic evidence: ``TopicMatcher.explain`` of the running taxonomy."""


def why(
    session: Session, url: str, subscriber: Subscriber | None, explain: Explain | None = None
) -> WhyPath | None:
    """Where the article at ``url`` went: fetched, filed under a story and topics, and what
    became of it for ``subscriber``. None when no article was stored for the URL.

    ``explain`` recomputes the topic hits from the stored article text (nothing extra is
    stored); the taxonomy may have changed since, which the hits then show."""
    article = find_article(session, url)
    if article is None:
        return None
    entry = session.get_one(EntryRow, article.entry_id)
    story = session.get_one(StoryRow, article.story_id)
    lead = session.scalar(
        select(ArticleRow.id)
        .where(ArticleRow.story_id == story.id)
        .order_by(ArticleRow.id)
        .limit(1)
    )
    topics = tuple(story.topics or ())
    return WhyPath(
        title=article.title,
        feed_id=article.feed_id,
        fetched_at=entry.fetched_at,
        story_id=story.id,
        story_title=story.title,
        story_feed_id=story.feed_id,
        sources=story.source_count,
        merged_into=story.id if lead != article.id else None,
        topics=topics,
        verdict=_verdict(session, story, topics, subscriber),
        evidence=_evidence(article, explain) if explain else (),
    )


def _evidence(article: ArticleRow, explain: Explain) -> tuple[TopicEvidence, ...]:
    title, text = article.title, article.text or ""
    if article.lang == "zh-Hant":  # the matcher reads Simplified, as when it was filed
        title, text = to_simplified(title), to_simplified(text)
    return explain(title, text)
