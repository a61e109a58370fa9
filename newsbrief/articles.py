"""Entry -> Article: main text from the entry's HTML, its language, a fingerprint for dedup.

Topics and the summary come from their own stages (``topics``, ``summaries``); ``build_article``
puts them together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from newsbrief.html_text import html_to_text
from newsbrief.records import Article, Entry
from newsbrief.summaries import summarize
from newsbrief.topics import TopicMatcher

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """zh-Hans when CJK characters carry the text, en when Latin letters do, else other."""
    sample = text[:4000]
    cjk = len(_CJK.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cjk and cjk * 3 >= latin:
        return "zh-Hans"
    if latin:
        return "en"
    return "other"


def normalize_for_match(text: str) -> str:
    """Case-, width- and punctuation-insensitive form used to recognise the same text."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def fingerprint(text: str) -> str:
    return hashlib.sha1(normalize_for_match(text).encode(), usedforsecurity=False).hexdigest()


def build_article(
    entry_id: int, entry: Entry, matcher: TopicMatcher, feed_topics: tuple[str, ...] = ()
) -> Article:
    title = " ".join(entry.title.split())
    text = html_to_text(entry.content_html)
    lang = detect_language(f"{title}\n{text}")
    return Article(
        entry_id=entry_id,
        feed_id=entry.feed_id,
        title=title or text[:60] or (entry.link or ""),
        url=entry.link,
        text=text,
        lang=lang,
        summary=summarize(text, lang),
        topics=matcher.match(f"{title}\n{text}", feed_topics),
        fingerprint=fingerprint(text or title),
        published_at=entry.published_at,
    )
