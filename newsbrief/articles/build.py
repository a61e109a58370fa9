"""Entry -> Article: clean text, language, topics, summary and keywords, ready for story matching.

    feed HTML -> text -> clean (ads, 摘要 echo, footers, site boilerplate) -> language
      -> Simplified copy for matching -> topics -> summary + keywords -> canonical URL

Story matching needs the index of recent stories, so it happens in the process stage.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from newsbrief.articles.canonical import canonical_url, normalized_title
from newsbrief.articles.cleaner import clean_text
from newsbrief.articles.dedup import fingerprint_text
from newsbrief.articles.keywords import keywords
from newsbrief.articles.summaries import summarize
from newsbrief.articles.topics import TopicMatcher
from newsbrief.records import Article, Entry
from newsbrief.text.chinese import to_simplified
from newsbrief.text.html_text import html_to_text
from newsbrief.text.language import detect_language

if TYPE_CHECKING:  # extraction's parsers are not needed to build from feed text
    from newsbrief.articles.extract import Extracted


def fingerprint(text: str) -> str:
    """Exact-duplicate key: the text as the story index compares it (case, width, script and
    punctuation ignored), hashed."""
    return hashlib.sha1(fingerprint_text(text).encode(), usedforsecurity=False).hexdigest()


def title_key(title: str) -> str:
    """Same-story key of a title: normalised as ``newsbrief analyze`` does (site suffix dropped)."""
    return hashlib.sha1(normalized_title(title).encode(), usedforsecurity=False).hexdigest()


def matching_text(title: str, text: str, lang: str) -> str:
    """What topics and stories are matched on: Simplified script for any Chinese text."""
    joined = f"{title}\n{text}"
    return to_simplified(joined) if lang == "zh-Hant" else joined


def build_article(
    entry_id: int,
    entry: Entry,
    matcher: TopicMatcher,
    feed_topics: tuple[str, ...] = (),
    site_lines: frozenset[str] = frozenset(),
    *,
    text: str | None = None,
    page: Extracted | None = None,
) -> Article:
    """``page``: what was extracted from the article page, when it was fetched; its text (or
    ``text``, already extracted) replaces the feed's, and its author, lead image and date (when
    the feed gave none) are kept."""
    title = " ".join(entry.title.split())
    if text is None and page is not None:
        text = page.text
    raw = text if text is not None else html_to_text(entry.content_html)
    text = clean_text(raw, title=title or None, site_lines=site_lines)
    lang = detect_language(f"{title}\n{text}")
    simple = matching_text(title, text, lang)
    return Article(
        entry_id=entry_id,
        feed_id=entry.feed_id,
        title=title or text[:60] or (entry.link or ""),
        url=entry.link,
        text=text,
        lang=lang,
        summary=summarize(text, lang),
        topics=matcher.match(simple, feed_topics),
        fingerprint=fingerprint(text or title),
        published_at=entry.published_at or (page.date if page else None),
        canonical_url=canonical_url(entry.link) if entry.link else None,
        keywords=tuple(keywords(simple, lang)),
        author=(page.author if page else None) or entry.author,
        image_url=page.image if page else None,
    )
