"""The process tick.

unprocessed entries | article page when the feed gives a teaser (fulltext) -> main text
    | clean, with the lines repeating across the site's recent pages (stored per host)
    -> article (language, topics, summary, keywords; author, lead image, date from the page)
    | story: same canonical URL / title / text, else a near duplicate (MinHash index)
    | store, with the text's signature so the index survives restarts
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from jobs.context import JobContext
from newsbrief.articles.build import build_article, matching_text, title_key
from newsbrief.articles.dedup import StoryIndex, StorySignature
from newsbrief.articles.extract import Extracted, ExtractError, extract_page
from newsbrief.articles.topics import TopicMatcher
from newsbrief.feeds.filters import FeedFilter
from newsbrief.records import Article, Entry, PendingEntry
from newsbrief.store import articles, sites
from newsbrief.text.html_text import html_to_text

log = logging.getLogger(__name__)

BATCH = 100
PARTIAL_CHARS = 400
"""Feed text shorter than this is taken for a teaser (fulltext: auto)."""
_CUT_MARKS = ("...", "…", "[…]", "[...]", "阅读全文", "Read more", "Continue reading")


def matcher_for(ctx: JobContext) -> TopicMatcher:
    """One matcher per config: compiling the taxonomy's rules is not free."""
    cached = ctx.extras.get("matcher")
    if cached is None or cached[0] is not ctx.config:
        cached = ctx.extras["matcher"] = (ctx.config, TopicMatcher(ctx.config.topics))
    matcher: TopicMatcher = cached[1]
    return matcher


@dataclass
class StoryMemory:
    """The near-duplicate index of this process, kept in step with the database.

    Each batch, holding the story-matching lock while it saves, first adds what other processes
    saved since the last look: several process workers see each other's stories, even those
    saved a moment ago (an original and its repost processed at once become one story).
    """

    index: StoryIndex = field(default_factory=StoryIndex)
    last_article: int = 0

    def add(self, rows: Iterable[tuple[int, int, bytes, datetime]]) -> None:
        """Take in the signatures of articles saved since the last look (by any process)."""
        for article_id, story_id, data, when in rows:
            try:
                self.index.add_signature(story_id, StorySignature.from_bytes(data), when)
            except ValueError:
                log.warning("article %s has an unreadable signature; skipped", article_id)
            self.last_article = max(self.last_article, article_id)


def needs_page(entry: Entry, mode: str) -> bool:
    """Whether to fetch the article page: the feed's text is missing or looks cut short."""
    if not entry.link or mode == "never":
        return False
    if mode == "always":
        return True
    if len(entry.content_html) > 20 * PARTIAL_CHARS:
        return False  # that much HTML is an article, not a teaser: spare the loop the parse
    text = html_to_text(entry.content_html).rstrip()
    return len(text) < PARTIAL_CHARS or text.endswith(_CUT_MARKS)


async def fetch_pages(ctx: JobContext, pending: list[PendingEntry]) -> dict[int, bytes]:
    """Article pages for the entries that need them, fetched with the feed fetcher's guards."""
    modes = {f.id: f.fulltext for f in ctx.config.feeds}
    wanted = [p for p in pending if needs_page(p.entry, modes.get(p.entry.feed_id, "auto"))]
    results = await asyncio.gather(*(ctx.fetcher.fetch_url(p.entry.link or "") for p in wanted))
    pages = {}
    for item, result in zip(wanted, results, strict=True):
        if result.body is not None:
            pages[item.id] = result.body
        else:
            # DEBUG: the feed's own text is used instead; one line per article drowned the log.
            log.debug("entry %s: no full text from %s: %s", item.id, result.url, result.error)
    return pages


async def process_tick(ctx: JobContext) -> int:
    """Turn waiting entries into articles under stories; returns how many were processed."""

    def claim() -> list[PendingEntry]:
        with ctx.db.session() as session:
            return articles.claim_unprocessed(
                session, ctx.clock(), BATCH, timedelta(seconds=ctx.config.scheduler.process_lease)
            )

    claimed = await asyncio.to_thread(claim)
    if not claimed:
        return 0
    pending, dropped = split_by_filters(ctx, claimed)
    if dropped:
        await asyncio.to_thread(_mark_filtered, ctx, dropped)
    pages = await fetch_pages(ctx, pending)
    started = time.perf_counter()
    done = await ctx.run_cpu(process_batch, ctx, pending, pages)
    ctx.metrics.processing_seconds.inc(time.perf_counter() - started)
    ctx.metrics.entries_processed.inc(len(claimed))
    return done + len(dropped)


def feed_filters(ctx: JobContext) -> dict[str, FeedFilter]:
    """The feeds that filter their entries (``feeds[].include/exclude``), once per config."""
    cached = ctx.extras.get("feed_filters")
    if cached is None or cached[0] is not ctx.config:
        filters = {f.id: FeedFilter(f.include, f.exclude) for f in ctx.config.feeds}
        cached = ctx.extras["feed_filters"] = (ctx.config, {k: v for k, v in filters.items() if v})
    found: dict[str, FeedFilter] = cached[1]
    return found


def split_by_filters(
    ctx: JobContext, pending: list[PendingEntry]
) -> tuple[list[PendingEntry], list[tuple[int, str]]]:
    """Entries their feed's keyword filters keep, and (entry id, reason) of the others: those
    are set aside before any page is fetched, and never become articles or stories."""
    filters = feed_filters(ctx)
    if not filters:
        return pending, []
    kept: list[PendingEntry] = []
    dropped: list[tuple[int, str]] = []
    for item in pending:
        check = filters.get(item.entry.feed_id)
        reason = check.verdict(item.entry) if check else None
        if reason is None:
            kept.append(item)
        else:
            dropped.append((item.id, reason))
    return kept, dropped


def _mark_filtered(ctx: JobContext, dropped: list[tuple[int, str]]) -> None:
    with ctx.db.session() as session:
        for entry_id, reason in dropped:
            articles.mark_filtered(session, entry_id, reason, ctx.clock())


def read_page(body: bytes, url: str | None) -> Extracted | None:
    try:
        page = extract_page(body, url)
    except ExtractError as exc:
        log.debug("article page %s: %s", url, exc)
        return None
    return page if page.text else None


@dataclass
class _Input:
    item: PendingEntry
    page: Extracted | None
    raw: str
    """The text before cleaning: the article page's, else the feed's."""
    host: str | None


def process_batch(ctx: JobContext, pending: list[PendingEntry], pages: dict[int, bytes]) -> int:
    now = ctx.clock()
    memory: StoryMemory = ctx.extras.setdefault("stories", StoryMemory())
    matcher = matcher_for(ctx)
    feed_topics = {f.id: f.topics for f in ctx.config.feeds}
    built: list[tuple[int, Article | None, str | None]] = []
    announce = {item.id for item in pending if item.announce}
    inputs: list[_Input] = []
    for item in pending:
        try:
            body = pages.get(item.id)
            page = read_page(body, item.entry.link) if body else None
            raw = page.text if page else html_to_text(item.entry.content_html)
            inputs.append(_Input(item, page, raw, sites.site_of(item.entry.link)))
        except Exception as exc:  # one bad entry must not stop the batch
            log.exception("entry %s could not be read", item.id)
            built.append((item.id, None, f"{type(exc).__name__}: {exc}"))
    # Lines repeating across a site's pages, this batch's included: its learned boilerplate.
    by_host: dict[str, list[str]] = defaultdict(list)
    for one in inputs:
        if one.host is not None:
            by_host[one.host].append(one.raw)
    sightings = {host: sites.page_lines(texts) for host, texts in by_host.items()}
    with ctx.db.session() as session:
        learned = sites.boilerplate(session, sightings)
    for one in inputs:
        try:
            article = build_article(
                one.item.id,
                one.item.entry,
                matcher,
                feed_topics.get(one.item.entry.feed_id, ()),
                learned.get(one.host or "", frozenset()),
                text=one.raw,
                page=one.page,
            )
            if article.image_url is None and one.item.entry.image_url:
                # No picture on the page (or no page): the feed's own is the lead image.
                article = replace(article, image_url=one.item.entry.image_url)
            built.append((one.item.id, article, None))
        except Exception as exc:  # one bad entry must not stop the batch
            log.exception("entry %s could not be processed", one.item.id)
            built.append((one.item.id, None, f"{type(exc).__name__}: {exc}"))
    with ctx.db.session(write_lock=True) as session:
        articles.lock_story_matching(session)
        # What other processes saved, up to this moment.
        since = now - memory.index.window
        memory.add(articles.recent_signatures(session, since, memory.last_article))
        for entry_id, done, error in built:
            if done is None:
                articles.mark_failed(session, entry_id, error or "unknown error", now)
                continue
            signature = StorySignature.of(matching_text(done.title, done.text, done.lang))
            near = memory.index.match_signature(signature, now)
            article_id, story_id = articles.save_article(
                session,
                done,
                title_key(done.title),
                now,
                announce=entry_id in announce,
                near_story=near,
                signature=signature.to_bytes(),
            )
            # Later articles of this batch must find this one too; the next sync skips it.
            memory.index.add_signature(story_id, signature, now)
            memory.last_article = max(memory.last_article, article_id)
        sites.record(session, sightings, now)
    return len(pending)
