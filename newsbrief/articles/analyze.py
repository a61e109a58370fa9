"""``newsbrief analyze``: the article pipeline as a filter, for batch evaluation.

JSON Lines in, each {"id", "html"?, "url"?, "title"?, "text"?, "summary_max_chars"?}
| extract (html) or take the text                                      (every line first)
| site lines: lines on several inputs of one URL host, as on a feed's first poll
| clean | language | topics | summary + keywords
| story: exact (canonical URL, normalised title) or near duplicate (MinHash) of an earlier line
JSON Lines out, one per input in order: {"id", "title", "text", "lang", "summary",
"keywords", "topics", "story"}, with "removed": [{"line", "reason"}] and "evidence":
[{"topic", "score", "terms": [{"term", "place"}]}] under ``explain``; a bad
line gets {"id", "error"} and the batch goes on.

The whole batch is read before the first line is written: a site's boilerplate shows only
across its pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsbrief.articles.canonical import canonical_url, normalized_title
from newsbrief.articles.cleaner import Removed, batch_site_lines, clean_lines, site_of
from newsbrief.articles.dedup import StoryIndex
from newsbrief.articles.extract import ExtractError, extract_page
from newsbrief.articles.keywords import keywords
from newsbrief.articles.summaries import summarize
from newsbrief.articles.topics import TopicMatcher
from newsbrief.records import TopicEvidence
from newsbrief.text.chinese import to_simplified
from newsbrief.text.html_text import html_to_text
from newsbrief.text.language import detect_language

MAX_LINE_BYTES = 30_000_000


class AnalyzeError(ValueError):
    """A line that cannot be analysed; the message goes into its ``error`` field."""


@dataclass(frozen=True, slots=True)
class Page:
    """One input line read: its title and extracted (not yet cleaned) text; its HTML is not
    kept while the rest of the batch is read."""

    id: Any
    url: str | None
    title: str
    body: str
    summary_max_chars: int | None


@dataclass(frozen=True, slots=True)
class Analysis:
    id: Any
    title: str
    text: str
    lang: str
    summary: str
    keywords: list[str]
    topics: list[str]
    story: Any
    removed: tuple[Removed, ...] = ()
    evidence: tuple[TopicEvidence, ...] = ()
    """Each topic's matched terms and their places: only when explaining."""


class Analyzer:
    """Holds what loads once (dictionaries, the topic matcher) and the stories seen so far."""

    def __init__(self, matcher: TopicMatcher) -> None:
        self.matcher = matcher
        self.index = StoryIndex()
        self.exact: dict[str, Any] = {}
        self.stories = 0

    def read(self, item: dict[str, Any]) -> Page:
        """The input's title and text, extracted from its HTML when it has some."""
        if "id" not in item:
            raise AnalyzeError("missing 'id'")
        url = item.get("url")
        title = str(item.get("title") or "")
        html, text = item.get("html"), item.get("text")
        if html is not None:
            if not isinstance(html, str):
                raise AnalyzeError("'html' must be a string")
            try:
                page = extract_page(html, url if isinstance(url, str) else None)
            except ExtractError as exc:
                raise AnalyzeError(str(exc)) from exc
            title = title or page.title or ""
            body = page.text
        elif isinstance(text, str):
            body = html_to_text(text) if "<" in text else text
        else:
            raise AnalyzeError("give 'html' or 'text'")
        limit = item.get("summary_max_chars")
        return Page(
            item["id"],
            url if isinstance(url, str) else None,
            title,
            body,
            limit if isinstance(limit, int) and limit > 0 else None,
        )

    def finish(
        self,
        page: Page,
        now: datetime,
        site_lines: frozenset[str] = frozenset(),
        *,
        explain: bool = False,
    ) -> Analysis:
        """Clean (dropping ``site_lines`` too), classify, summarise and match the story;
        ``explain`` keeps each topic's evidence."""
        title = page.title
        cleaned = clean_lines(page.body, title=title or None, site_lines=site_lines)
        body = cleaned.text
        if not body and not title:
            raise AnalyzeError("no text found")
        lang = detect_language(f"{title}\n{body}")
        simplified = (
            to_simplified(f"{title}\n{body}") if lang.startswith("zh") else f"{title}\n{body}"
        )
        if explain:
            head, _, rest = simplified.partition("\n")
            evidence = self.matcher.explain(head, rest)
            topics = [e.topic for e in evidence]
        else:
            evidence, topics = (), list(self.matcher.match(simplified))
        return Analysis(
            id=page.id,
            title=title,
            text=body,
            lang=lang,
            summary=summarize(body, lang, page.summary_max_chars),
            keywords=keywords(simplified, lang),
            topics=topics,
            story=self._story(page.url, title, body, now),
            removed=cleaned.removed,
            evidence=evidence,
        )

    def _story(self, url: str | None, title: str, body: str, now: datetime) -> Any:
        keys = []
        if url:
            keys.append("url:" + canonical_url(url))
        if len(normalized_title(title)) >= 8:
            keys.append("title:" + normalized_title(title))
        story = next((self.exact[k] for k in keys if k in self.exact), None)
        if story is None:
            match = self.index.match(body, now)
            story = match if match is not None else None
        if story is None:
            self.stories += 1
            story = self.stories
            self.index.add(story, body, now)
        for key in keys:
            self.exact.setdefault(key, story)
        return story


def analyze_lines(
    lines: Iterable[str], analyzer: Analyzer, *, explain: bool = False
) -> Iterator[str]:
    """One output line per input line, in order; never raises for a bad line.

    Every line is read (and its page extracted) before any is cleaned, so that lines standing
    on several inputs of one URL host (``MIN_PAGES``) are dropped as that site's boilerplate.
    ``explain`` adds what cleaning removed, each line with its reason, and each topic's
    matched terms with where they were found (title, lead, body)."""
    now = datetime.now(UTC)
    read = [
        _read_line(number, line, analyzer)
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    learned = batch_site_lines((one.url, one.body) for one in read if isinstance(one, Page))
    for one in read:
        out = one
        if isinstance(one, Page):
            site = learned.get(site_of(one.url) or "", frozenset())
            try:
                out = _output(analyzer.finish(one, now, site, explain=explain), explain)
            except Exception as exc:  # a pipeline bug on one line must not end the batch
                out = _error(one.id, exc)
        yield json.dumps(out, ensure_ascii=False)


def _read_line(number: int, line: str, analyzer: Analyzer) -> Page | dict[str, Any]:
    """The line's page, or its error output."""
    item_id: Any = None
    try:
        if len(line) > MAX_LINE_BYTES:
            raise AnalyzeError(f"line {number} is over {MAX_LINE_BYTES:,} characters")
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnalyzeError(f"line {number} is not JSON: {exc.msg}") from exc
        if not isinstance(item, dict):
            raise AnalyzeError(f"line {number} is not a JSON object")
        item_id = item.get("id")
        return analyzer.read(item)
    except Exception as exc:  # a pipeline bug on one line must not end the batch
        return _error(item_id, exc)


def _error(item_id: Any, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, AnalyzeError):
        return {"id": item_id, "error": str(exc)}
    return {"id": item_id, "error": f"internal error: {type(exc).__name__}: {exc}"}


def _output(result: Analysis, explain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": result.id,
        "title": result.title,
        "text": result.text,
        "lang": result.lang,
        "summary": result.summary,
        "keywords": result.keywords,
        "topics": result.topics,
        "story": result.story,
    }
    if explain:
        out["removed"] = [{"line": r.line, "reason": r.reason} for r in result.removed]
        out["evidence"] = [
            {
                "topic": e.topic,
                "score": e.score,
                "terms": [{"term": t.term, "place": t.place} for t in e.terms],
            }
            for e in result.evidence
        ]
    return out
