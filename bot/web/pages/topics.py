"""Topics: the taxonomy with story counts, and a box to try a title and text against it.

The box runs what ``newsbrief analyze --explain`` runs (``Analyzer``: extract, clean, detect
the language, match with the running taxonomy's matcher), on pasted text or on a page fetched
with the bot's own fetcher under the fetch rules; it stores nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.web.app import console_of
from bot.web.text import Table
from newsbrief.articles.analyze import Analysis, AnalyzeError, Analyzer
from newsbrief.articles.extract import decode_html
from newsbrief.articles.topics import TopicMatcher
from newsbrief.store import audience

log = logging.getLogger("newsbrief.console")

PATH = "/topics"
NAV = "nav_topics"
MAX_TEXT_CHARS = 200_000
"""Pasted text beyond this is cut: matching reads the first 1,500 characters anyway."""
MAX_TERMS = 8
TEXT: Table = {
    "nav_topics": {"zh-Hans": "话题", "en": "Topics"},
    "topics_taxonomy": {"zh-Hans": "话题分类", "en": "Taxonomy"},
    "topics_hint": {
        "zh-Hans": "话题在配置文件（或其 topics_file）中定义；报道数来自已入库的新闻。",
        "en": "Topics are defined in the config file (or its topics_file); story counts are "
        "of the stories stored.",
    },
    "topics_name": {"zh-Hans": "名称", "en": "Name"},
    "topics_id": {"zh-Hans": "ID", "en": "ID"},
    "topics_parent": {"zh-Hans": "上级", "en": "Parent"},
    "topics_terms": {"zh-Hans": "关键词", "en": "Keywords"},
    "topics_stories": {"zh-Hans": "报道", "en": "Stories"},
    "topics_followers": {"zh-Hans": "订阅者", "en": "Followers"},
    "topics_gone": {"zh-Hans": "（已不在配置中）", "en": "(no longer configured)"},
    "topics_empty": {"zh-Hans": "还没有配置话题。", "en": "No topics are configured."},
    "topics_try": {"zh-Hans": "试一试", "en": "Try it"},
    "topics_try_hint": {
        "zh-Hans": "粘贴标题和正文，或填一个网址：看它会归入哪些话题、命中了哪些词。什么也不会保存。",
        "en": "Paste a title and text, or give a URL: see the topics it would get and the "
        "terms that matched. Nothing is stored.",
    },
    "topics_try_title": {"zh-Hans": "标题", "en": "Title"},
    "topics_try_text": {"zh-Hans": "正文", "en": "Text"},
    "topics_try_url": {
        "zh-Hans": "或网址（抓取后提取正文）",
        "en": "Or a URL (fetched, main text extracted)",
    },
    "topics_try_go": {"zh-Hans": "归类", "en": "Classify"},
    "topics_try_result": {"zh-Hans": "结果", "en": "Result"},
    "topics_try_lang": {"zh-Hans": "语言：{language}", "en": "Language: {language}"},
    "topics_try_read": {"zh-Hans": "读到的正文（开头）", "en": "Text read (start)"},
    "topics_try_none": {
        "zh-Hans": "没有命中任何话题。",
        "en": "No topic matched.",
    },
    "topics_try_score": {"zh-Hans": "得分 {score}", "en": "score {score}"},
    "topics_try_via": {
        "zh-Hans": "（经由子话题或模型判断，无直接命中词）",
        "en": "(through a subtopic or the section model: no term of its own)",
    },
    "topics_try_empty": {
        "zh-Hans": "请填写标题、正文或网址。",
        "en": "Give a title, a text or a URL.",
    },
    "topics_try_bad_url": {
        "zh-Hans": "网址须以 http:// 或 https:// 开头。",
        "en": "The URL must start with http:// or https://.",
    },
    "topics_try_no_fetcher": {
        "zh-Hans": "这个进程不抓取网页：请粘贴正文。",
        "en": "This process fetches no pages: paste the text instead.",
    },
    "topics_try_fetch_failed": {
        "zh-Hans": "抓取失败：{error}",
        "en": "The fetch failed: {error}",
    },
    "topics_try_unreadable": {
        "zh-Hans": "读不出正文：{error}",
        "en": "No text could be read: {error}",
    },
    "topics_place_title": {"zh-Hans": "标题", "en": "title"},
    "topics_place_lead": {"zh-Hans": "导语", "en": "lead"},
    "topics_place_body": {"zh-Hans": "正文", "en": "body"},
}


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    name: str
    parent: str | None
    terms: str
    stories: int
    followers: int
    configured: bool


def _rows(request: web.Request, stories: dict[str, int], followers: dict[str, int]) -> list[Row]:
    console = console_of(request)
    lang = console.lang(request)
    rows = []
    for topic in console.core.config().topics:
        terms = (*topic.aliases, *topic.keywords)
        shown = ", ".join(terms[:MAX_TERMS]) + (" …" if len(terms) > MAX_TERMS else "")
        rows.append(
            Row(
                topic.id,
                topic.display(lang),
                topic.parent,
                shown,
                stories.get(topic.id, 0),
                followers.get(topic.id, 0),
                True,
            )
        )
    known = {row.id for row in rows}
    # Stories still filed under a topic the config dropped: shown, so the counts add up.
    for topic_id in sorted(set(stories) - known):
        rows.append(
            Row(topic_id, topic_id, None, "", stories[topic_id], followers.get(topic_id, 0), False)
        )
    return rows


COUNTED = {"topic_followers": audience.topic_followers}
"""Counted as the console starts and kept (``Console.counted``): the slow count of this page."""


@dataclass(frozen=True, slots=True)
class Found:
    """A topic the text would get, with the terms that filed it."""

    id: str
    name: str
    score: float
    terms: list[tuple[str, str]]
    """(term, where: title, lead or body)."""


def _analyze(matcher: TopicMatcher, item: dict[str, Any], now: datetime) -> Analysis:
    """The article pipeline on one input, as ``newsbrief analyze --explain`` runs it."""
    if isinstance(item.get("html"), bytes):
        item = {**item, "html": decode_html(item["html"])}
    analyzer = Analyzer(matcher)
    return analyzer.finish(analyzer.read(item), now, explain=True)


async def _try(request: web.Request, title: str, text: str, url: str) -> Analysis | str:
    """The analysis of what the form gave, or the error to show."""
    console = console_of(request)
    item: dict[str, Any] = {"id": 1, "title": title}
    if url:
        fetcher = console.core.fetcher
        if not url.startswith(("http://", "https://")):
            return console.t(request, "topics_try_bad_url")
        if fetcher is None:
            return console.t(request, "topics_try_no_fetcher")
        # The feed fetcher's guards: private addresses, size, time and per-host limits.
        log.info("console: fetching %s to try the topics (from %s)", url, request.remote or "?")
        fetched = await fetcher.fetch_url(url)
        if fetched.body is None:
            error = fetched.error or f"HTTP {fetched.status}"
            return console.t(request, "topics_try_fetch_failed", error=error)
        item.update(html=fetched.body, url=fetched.url)
    elif text or title:
        item["text"] = text[:MAX_TEXT_CHARS]
    else:
        return console.t(request, "topics_try_empty")
    matcher = console.core.topic_matcher()
    try:
        return await asyncio.to_thread(_analyze, matcher, item, console.now())
    except AnalyzeError as exc:
        return console.t(request, "topics_try_unreadable", error=str(exc))


def _found(request: web.Request, analysis: Analysis) -> list[Found]:
    console = console_of(request)
    lang = console.lang(request)
    config = console.core.config()
    out = []
    for evidence in analysis.evidence:
        topic = config.topic(evidence.topic)
        terms = [
            (hit.term, console.t(request, f"topics_place_{hit.place}")) for hit in evidence.terms
        ]
        name = topic.display(lang) if topic else evidence.topic
        out.append(Found(evidence.topic, name, round(evidence.score, 2), terms))
    return out


async def _page(request: web.Request, form: dict[str, str], status: int = 200) -> web.Response:
    console = console_of(request)
    stories = await console.read(audience.story_counts)
    followers, age = await console.counted(
        "topic_followers", audience.topic_followers, live=audience.few_subscribers
    )
    result: Analysis | str | None = None
    if form:
        result = await _try(request, form["title"], form["text"], form["url"])
    return console.render(
        request,
        "topics.html",
        status=status,
        rows=_rows(request, stories, followers),
        counted_age=round(age),
        form=form or {"title": "", "text": "", "url": ""},
        error=result if isinstance(result, str) else None,
        analysis=result if isinstance(result, Analysis) else None,
        found=_found(request, result) if isinstance(result, Analysis) else [],
        excerpt=_excerpt(result) if isinstance(result, Analysis) and form.get("url") else "",
    )


def _excerpt(analysis: Analysis, limit: int = 400) -> str:
    text = " ".join(analysis.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def page(request: web.Request) -> web.Response:
    return await _page(request, {})


async def try_it(request: web.Request) -> web.Response:
    """POST, not GET, though it changes nothing: pasted article text is too long for a URL and
    would land in logs and history, and a URL makes this server fetch a page, which no link
    from another site should be able to trigger (the CSRF token sees to that)."""
    posted = await request.post()
    form = {
        name: value.strip() if isinstance(value := posted.get(name), str) else ""
        for name in ("title", "text", "url")
    }
    return await _page(request, form)


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, page), web.post(PATH, try_it)]
