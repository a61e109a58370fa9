"""Entry -> Article: main text from the entry's HTML, its language, a fingerprint for dedup.

Topics and the summary come from their own stages (``topics``, ``summaries``); ``build_article``
puts them together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from html.parser import HTMLParser

from newsbrief.records import Article, Entry
from newsbrief.summaries import summarize
from newsbrief.topics import TopicMatcher

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tr td th ul".split()
)
_SKIP_TAGS = frozenset("script style noscript template svg iframe head".split())
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text with one line per block; tolerant of any broken markup."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


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
    title = html_to_text(entry.title).replace("\n", " ").strip()
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
