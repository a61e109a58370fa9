"""Stories as ``StoryItem`` records, read in bulk: a window of the newest, or by id.

A merged story comes with its other sources (feed name and that feed's article link), read
in one more query for the stories that have any, so a digest can name and link them. Given a
``TextChoice`` (the LLM's model and which languages digests show), each story also comes with
that model's ``ok`` texts (``story_texts``) it shows, read in one more query; without one
(``llm`` off) that query is not made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsbrief.articles.images import public_image_url
from newsbrief.digest_text import TextChoice
from newsbrief.feeds.names import display_name
from newsbrief.records import MAX_OTHER_SOURCES, Source, StoryItem, StoryText
from newsbrief.store.tables import ArticleRow, FeedRow, StoryRow, StoryTextRow

_STORY_COLUMNS = (
    StoryRow.id,
    StoryRow.title,
    StoryRow.url,
    StoryRow.summary,
    StoryRow.feed_id,
    StoryRow.topics,
    StoryRow.source_count,
    StoryRow.published_at,
    StoryRow.image_url,
    FeedRow.title,
    FeedRow.name,
    StoryRow.lang,
)
_CHUNK = 500
"""Ids per IN list: under every driver's parameter limit."""


def _item(row: Sequence[Any]) -> StoryItem:
    (
        story_id,
        title,
        url,
        summary,
        feed_id,
        topics,
        sources,
        published,
        image,
        feed_title,
        name,
        lang,
    ) = row
    return StoryItem(
        story_id=story_id,
        seq=story_id,
        title=title,
        url=url,
        summary=summary,
        source=display_name(feed_title, name, feed_id),
        topics=tuple(topics),
        source_count=sources,
        published_at=published,
        image_url=public_image_url(image),  # checked again: rows older than the check
        lang=lang,
    )


def _with_others(
    session: Session, items: list[StoryItem], lead_feeds: dict[int, str]
) -> list[StoryItem]:
    """``items`` with the other feeds that carried each merged story, first reported first
    (``lead_feeds``: story id -> the feed it shows, which is not named again)."""
    wanted = sorted(item.story_id for item in items if item.source_count > 1)
    if not wanted:
        return items
    others: dict[int, dict[str, Source]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = (
            select(
                ArticleRow.story_id, ArticleRow.feed_id, ArticleRow.url, FeedRow.title, FeedRow.name
            )
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id, isouter=True)
            .where(ArticleRow.story_id.in_(chunk))
            .order_by(ArticleRow.id)
        )
        for story_id, feed_id, url, feed_title, name in session.execute(query):
            if feed_id == lead_feeds.get(story_id):
                continue
            found = others.setdefault(story_id, {})
            if feed_id not in found and len(found) < MAX_OTHER_SOURCES:
                found[feed_id] = Source(display_name(feed_title, name, feed_id), url)
    return [
        replace(item, others=tuple(others[item.story_id].values()))
        if item.story_id in others
        else item
        for item in items
    ]


def _with_texts(
    session: Session, items: list[StoryItem], choice: TextChoice | None, window: bool
) -> list[StoryItem]:
    """``items`` with the ``ok`` texts of ``choice.model`` that ``choice`` shows (None: none,
    no query).

    ``window``: the items are a window of consecutive ids, read in one range query over the
    table's key (story_id first) instead of IN lists."""
    if choice is None or not items:
        return items
    langs = {item.story_id: item.lang for item in items}
    wanted = set(langs)
    columns = (StoryTextRow.story_id, StoryTextRow.lang, StoryTextRow.title, StoryTextRow.summary)
    ok = (StoryTextRow.model == choice.model, StoryTextRow.status == "ok")
    if window:
        queries = [
            select(*columns).where(StoryTextRow.story_id.between(min(wanted), max(wanted)), *ok)
        ]
    else:
        ordered = sorted(wanted)
        queries = [
            select(*columns).where(StoryTextRow.story_id.in_(ordered[start : start + _CHUNK]), *ok)
            for start in range(0, len(ordered), _CHUNK)
        ]
    texts: dict[int, list[StoryText]] = {}
    for query in queries:
        for story_id, lang, title, summary in session.execute(query):
            # An ok row without a title is no text to show.
            if story_id in wanted and title and choice.shows(langs[story_id], lang):
                texts.setdefault(story_id, []).append(StoryText(lang, title, summary or ""))
    return [
        replace(item, texts=tuple(sorted(texts[item.story_id], key=lambda x: x.lang)))
        if item.story_id in texts
        else item
        for item in items
    ]


def story_window(
    session: Session, after: int, upto: int, limit: int, choice: TextChoice | None = None
) -> list[StoryItem]:
    """The newest ``limit`` stories numbered in (after, upto], on any topic (with the LLM
    texts ``choice`` shows, see the module's docstring)."""
    query = (
        select(*_STORY_COLUMNS)
        .join(FeedRow, FeedRow.id == StoryRow.feed_id, isouter=True)
        .where(StoryRow.id > after, StoryRow.id <= upto)
        .order_by(StoryRow.id.desc())
        .limit(limit)
    )
    rows = list(session.execute(query))
    items = _with_others(session, [_item(row) for row in rows], {r[0]: r[4] for r in rows})
    return _with_texts(session, items, choice, window=True)


def stories_by_id(
    session: Session, ids: Iterable[int], choice: TextChoice | None = None
) -> dict[int, StoryItem]:
    """The stories of ``ids`` that exist (with the LLM texts ``choice`` shows, see the
    module's docstring)."""
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(*_STORY_COLUMNS)
            .join(FeedRow, FeedRow.id == StoryRow.feed_id, isouter=True)
            .where(StoryRow.id.in_(wanted[start : start + _CHUNK]))
        )
        rows.extend(session.execute(query))
    items = _with_others(session, [_item(row) for row in rows], {r[0]: r[4] for r in rows})
    items = _with_texts(session, items, choice, window=False)
    return {item.story_id: item for item in items}
