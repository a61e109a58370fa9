"""Queries on entries waiting to be processed, articles, and the stories they belong to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from newsbrief.records import Article, Entry, PendingEntry
from newsbrief.store.tables import ArticleRow, EntryRow, StoryRow, StoryTopicRow

STORY_WINDOW = timedelta(hours=72)


def claim_unprocessed(
    session: Session, now: datetime, limit: int, lease: timedelta
) -> list[PendingEntry]:
    """Up to ``limit`` waiting entries, leased, taken from every feed in turn: the oldest of
    each feed first, then the second of each… so a feed that just added thousands of entries
    delays the others by one batch at most."""
    waiting = (EntryRow.processed_at.is_(None)) & or_(
        EntryRow.lease_until.is_(None), EntryRow.lease_until <= now
    )
    turn = func.row_number().over(partition_by=EntryRow.feed_id, order_by=EntryRow.id)
    ranked = select(EntryRow.id, turn.label("turn")).where(waiting).subquery()
    ids = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.id).limit(limit)
    # Window functions cannot be locked (PostgreSQL): choose first, then lock what is still free.
    query = (
        select(EntryRow)
        .where(EntryRow.id.in_(ids), waiting)
        .order_by(EntryRow.id)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.lease_until = now + lease
    return [
        PendingEntry(
            id=row.id,
            entry=Entry(
                feed_id=row.feed_id,
                key=row.key,
                title=row.title,
                link=row.link,
                content_html=row.content_html,
                published_at=row.published_at,
                author=row.author,
                image_url=row.image_url,
            ),
            announce=row.announce,
        )
        for row in rows
    ]


def mark_failed(session: Session, entry_id: int, error: str, now: datetime) -> None:
    """An entry that could not be processed is set aside with its reason, never retried blindly."""
    row = session.get(EntryRow, entry_id)
    if row is not None:
        row.processed_at, row.process_error, row.lease_until = now, error[:2000], None


def mark_filtered(session: Session, entry_id: int, reason: str, now: datetime) -> None:
    """An entry its feed's keyword filter leaves out: done with, and the reason kept."""
    row = session.get(EntryRow, entry_id)
    if row is not None:
        row.processed_at, row.lease_until = now, None
        row.process_error = f"filtered out by the feed's keywords ({reason})"[:2000]


def save_article(
    session: Session,
    article: Article,
    title_key: str,
    now: datetime,
    *,
    announce: bool = False,
    near_story: int | None = None,
    signature: bytes | None = None,
) -> tuple[int, int]:
    """Store an article under its story: an existing one if it is the same event, else a new one.

    Same event: the same canonical link, normalised title or normalised text within the story
    window, else ``near_story`` (a near duplicate found by the caller's MinHash index). An edited
    entry updates its article in place and stays in its story, unless ``announce`` asks for it
    to be news again. ``signature`` is kept to rebuild that index.
    Returns (article id, story id).
    """
    previous = session.scalar(select(ArticleRow).where(ArticleRow.entry_id == article.entry_id))
    row = previous
    if previous is not None and not announce:
        _update_article(session, previous, article, title_key)
        story_id = previous.story_id
    else:
        match = None
        if previous is None:
            match = _matching_story(session, article, title_key, now)
            if match is None and near_story is not None:
                still_there = session.get(StoryRow, near_story)
                match = near_story if still_there is not None else None
        story_id = _attach(session, match, article, now)
        if previous is not None:
            _update_article(session, previous, article, title_key)
            previous.story_id = story_id
        else:
            row = ArticleRow(
                entry_id=article.entry_id,
                story_id=story_id,
                feed_id=article.feed_id,
                title=article.title,
                url=article.url,
                text=article.text,
                lang=article.lang,
                summary=article.summary,
                topics=list(article.topics),
                fingerprint=article.fingerprint,
                title_key=title_key,
                canonical_url=article.canonical_url,
                keywords=list(article.keywords),
                signature=signature,
                published_at=article.published_at,
                created_at=now,
                author=article.author,
                image_url=article.image_url,
            )
            session.add(row)
            session.flush()
    entry = session.get_one(EntryRow, article.entry_id)
    entry.processed_at, entry.lease_until, entry.process_error = now, None, None
    entry.announce = False
    assert row is not None
    return row.id, story_id


def _matching_story(
    session: Session, article: Article, title_key: str, now: datetime
) -> int | None:
    clauses = [ArticleRow.fingerprint == article.fingerprint, ArticleRow.title_key == title_key]
    if article.canonical_url:
        clauses.append(ArticleRow.canonical_url == article.canonical_url)
    return session.scalar(
        select(ArticleRow.story_id)
        .where(or_(*clauses), ArticleRow.created_at >= now - STORY_WINDOW)
        .order_by(ArticleRow.id)
        .limit(1)
    )


def _attach(session: Session, story_id: int | None, article: Article, now: datetime) -> int:
    """Add the article's source and topics to a story, or start a new story with it."""
    if story_id is None:
        story = StoryRow(
            title=article.title,
            url=article.url,
            summary=article.summary,
            lang=article.lang,
            feed_id=article.feed_id,
            topics=list(article.topics),
            source_count=1,
            published_at=article.published_at,
            created_at=now,
            image_url=article.image_url,
        )
        session.add(story)
        session.flush()
        new_topics = set(article.topics)
    else:
        story = session.get_one(StoryRow, story_id, with_for_update=True)
        same_feed = session.scalar(
            select(func.count()).where(
                ArticleRow.story_id == story_id, ArticleRow.feed_id == article.feed_id
            )
        )
        if not same_feed:
            story.source_count += 1
        if story.image_url is None:  # a picture from a later source beats none
            story.image_url = article.image_url
        new_topics = set(article.topics) - set(story.topics)
        story.topics = [*story.topics, *sorted(new_topics)]
    for topic_id in sorted(new_topics):
        session.add(StoryTopicRow(story_id=story.id, topic_id=topic_id))
    return story.id


def _update_article(session: Session, row: ArticleRow, article: Article, title_key: str) -> None:
    row.title, row.url, row.text, row.lang = article.title, article.url, article.text, article.lang
    row.summary, row.topics, row.fingerprint = (
        article.summary,
        list(article.topics),
        article.fingerprint,
    )
    row.title_key = title_key
    row.author, row.image_url = article.author, article.image_url
    row.published_at = article.published_at or row.published_at
    story = session.get_one(StoryRow, row.story_id)
    if story.feed_id == row.feed_id and story.url == row.url:
        # The story shows its first article: keep what it shows in step with the edit.
        story.title, story.summary = article.title, article.summary
        story.image_url = article.image_url or story.image_url


STORY_MATCHING_LOCK = 0x6E657773_73746F72
"""The PostgreSQL advisory lock under which an article is matched to a story and saved."""


def lock_story_matching(session: Session) -> None:
    """Hold the story-matching lock until this transaction ends. Two processes matching the
    original and a repost at once would each miss the other's new story and make two; under
    the lock each first reads what the other saved. (SQLite runs one process, and a
    ``write_lock`` session serializes its threads.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_MATCHING_LOCK})


def recent_signatures(
    session: Session, since: datetime, after_article: int = 0
) -> list[tuple[int, int, bytes, datetime]]:
    """(article id, story id, signature, created) of articles since ``since``, for the index."""
    query = (
        select(ArticleRow.id, ArticleRow.story_id, ArticleRow.signature, ArticleRow.created_at)
        .where(
            ArticleRow.created_at >= since,
            ArticleRow.id > after_article,
            ArticleRow.signature.is_not(None),
        )
        .order_by(ArticleRow.id)
    )
    return [(a, s, sig, when) for a, s, sig, when in session.execute(query) if sig is not None]


def head_position(session: Session, before: datetime | None = None) -> int:
    """The highest story sequence number (created before ``before``, if given)."""
    query = select(func.max(StoryRow.id))
    if before is not None:
        query = query.where(StoryRow.created_at < before)
    return int(session.scalar(query) or 0)
