"""The LLM tick: story summaries and translations written ahead of the digests.

    the readers' languages (one query): zh-Hans for both Chinese scripts (zh-Hant is OpenCC
    at render time, no call), en
    | the newest stories of the last ``llm.max_age_hours``, pairs (story, language) with no
      row yet, a failed one due again, or an ok one written before another source joined
      the story (its text stays until a better one passes), at most ``llm.batch``
    | per pair, ``llm.max_concurrency`` at once: claim it and reserve its tokens against the
      day's budgets (one transaction; spent: no call, the admins told once a day)
      | one call (``newsbrief.llm.client``) | the checks (``newsbrief.llm.checks``)
      | its row: ``ok``, ``rejected`` or ``failed`` (tried again later), the usage corrected

Digests never wait for this: compose reads the ``ok`` rows there are when it runs, and a
story without one goes out with its extractive summary. So a slow, failing or lying model
costs a reader nothing but the nicer text.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from jobs.context import JobContext
from newsbrief.config.llm import LlmConfig
from newsbrief.llm.checks import Verdict, check, language_family
from newsbrief.llm.client import BACKOFF, CallFailed, Completion, LlmClient
from newsbrief.llm.prompt import MAX_TOKENS, Mode, Source, estimate_tokens, messages
from newsbrief.records import Message
from newsbrief.store import llm as store
from newsbrief.store import outbox, subscribers
from newsbrief.text.chinese import to_traditional

log = logging.getLogger(__name__)

TARGETS = ("zh-Hans", "en")
"""The languages texts are written in; zh-Hant readers get zh-Hans converted by OpenCC."""
PAGE = 200
"""Stories read at a time while looking for pairs to call."""
FACT_CHARS = 20_000
"""Characters of a story's sources its answer's numbers and names are checked against."""
_CLIENT = "llm_client"


@dataclass(frozen=True, slots=True)
class Pair:
    """One call to make: a story in one target language."""

    story: store.RecentStory
    target: str
    mode: Mode
    chat: list[dict[str, str]]
    facts: tuple[str, ...]
    budgets: dict[str, int]
    attempt: int
    newest_article: datetime | None = None
    refresh: bool = False
    """The story has an ok text, written before another source joined it: the new one must
    pass the checks to replace it, else the old one stays."""

    @property
    def same_language(self) -> bool:
        return language_family(self.story.lang) == self.target


@dataclass
class _Tick:
    """What one tick learns as it goes: the budgets found spent stop the calls still waiting."""

    spent: set[str] = field(default_factory=set)
    written: int = 0


def mode_for(config: LlmConfig, story_lang: str, target: str) -> Mode | None:
    """Whether a story gets a call for ``target`` readers, and which: a summary (which also
    translates), a translation of its title and extractive summary, or none."""
    same = language_family(story_lang) == target
    if config.summaries == "stories" and (same or config.translate):
        return "summarize"
    if config.translate and not same:
        return "translate"
    return None


def targets_for(reader_langs: set[str]) -> list[str]:
    families = {language_family(lang) for lang in reader_langs}
    return [t for t in TARGETS if t in families]


def ready_head(session: Any, config: LlmConfig, now: datetime, head: int) -> int:
    """The highest story number digests may include now: below the oldest story of the last
    ``llm.wait_seconds`` that still waits for a text a reader needs (no call yet, or its first
    still out). A failed or refused call waits for nothing, nor does a spent budget."""
    if not config.enabled or config.wait_seconds <= 0 or head <= 0:
        return head
    targets = targets_for(store.reader_languages(session))
    if not targets or store.spent_today(session, now, config.daily_token_budget):
        return head
    stories = store.recent_stories(session, now - timedelta(seconds=config.wait_seconds), PAGE)
    states = store.pair_states(session, [s.id for s in stories], config.model)
    waiting = [
        story.id
        for story in stories
        for target in targets
        if story.id <= head
        and mode_for(config, story.lang, target) is not None
        and ((state := states.get((story.id, target))) is None or state.in_progress)
    ]
    return min(waiting) - 1 if waiting else head


def client_for(ctx: JobContext) -> LlmClient:
    """One client per ``llm`` config (a reload with other settings gets a new one)."""
    cached = ctx.extras.get(_CLIENT)
    if cached is None or cached.config != ctx.config.llm:
        if cached is not None:
            ctx.extras.setdefault("llm_closing", []).append(cached)
        cached = ctx.extras[_CLIENT] = LlmClient(ctx.config.llm)
    client: LlmClient = cached
    return client


async def close_llm(ctx: JobContext) -> None:
    """Close this process's LLM clients (the runtime's shutdown)."""
    clients = [ctx.extras.pop(_CLIENT, None), *ctx.extras.pop("llm_closing", [])]
    for client in clients:
        if client is not None:
            await client.aclose()


async def llm_tick(ctx: JobContext) -> int:
    """Write the LLM texts due now; returns how many passed the checks. Never raises for a
    model's failure (those are rows and metrics); a database error fails the tick as any."""
    config = ctx.config.llm
    for old in ctx.extras.pop("llm_closing", []):
        await old.aclose()
    if not config.enabled:
        return 0
    client = client_for(ctx)
    pairs = await asyncio.to_thread(plan, ctx, config, ctx.clock())
    if not pairs:
        return 0
    tick = _Tick()
    results = await asyncio.gather(
        *(_run(ctx, client, config, pair, tick) for pair in pairs), return_exceptions=True
    )
    # Every pair runs to its end first; then a database that went away fails the tick as
    # in any other (its claims are free again after their lease).
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return tick.written


def plan(ctx: JobContext, config: LlmConfig, now: datetime) -> list[Pair]:
    """The pairs to call this tick, newest stories first, at most ``llm.batch``."""
    with ctx.db.session() as session:
        targets = targets_for(store.reader_languages(session))
        if not targets:
            return []
        since = now - timedelta(hours=config.max_age_hours)
        pairs: list[Pair] = []
        before: int | None = None
        while len(pairs) < config.batch:
            stories = store.recent_stories(session, since, PAGE, before)
            if not stories:
                break
            before = stories[-1].id
            ids = [s.id for s in stories]
            states = store.pair_states(session, ids, config.model)
            newest = store.newest_articles(session, ids)
            wanted = [
                (story, target, mode)
                for story in stories
                for target in targets
                if (mode := mode_for(config, story.lang, target)) is not None
                and store.due(states.get((story.id, target)), now, newest.get(story.id))
            ][: config.batch - len(pairs)]
            sources = store.story_sources(session, list({s.id for s, _, _ in wanted}))
            for story, target, mode in wanted:
                state = states.get((story.id, target))
                pair = _pair(config, story, target, mode, sources.get(story.id, []))
                pairs.append(
                    replace(
                        pair,
                        attempt=state.attempts + 1 if state is not None else 1,
                        newest_article=newest.get(story.id),
                        refresh=state is not None and state.status == "ok",
                    )
                )
    return pairs


def _pair(
    config: LlmConfig,
    story: store.RecentStory,
    target: str,
    mode: Mode,
    sources: Sequence[tuple[str, str]],
) -> Pair:
    if mode == "translate" or not sources:
        # A translation works from what the digest shows: the title and extractive summary.
        shown = [Source(story.title, story.summary)]
    else:
        shown = [Source(title, text) for title, text in sources]
    chat = messages(mode, target, story.title, shown)
    facts = [story.title, story.summary]
    for title, text in sources:
        facts += [title, text[: FACT_CHARS // max(1, len(sources))]]
    budgets = {store.DEPLOYMENT: config.daily_token_budget}
    for topic_id in story.topics:
        if topic_id in config.topic_budgets:
            budgets[store.topic_scope(topic_id)] = config.topic_budgets[topic_id]
    return Pair(story, target, mode, chat, tuple(facts), budgets, attempt=1)


class _Refused(Exception):
    def __init__(self, scope: str) -> None:
        self.scope = scope


def _start(ctx: JobContext, config: LlmConfig, pair: Pair, estimate: int, now: datetime) -> str:
    """Claim the pair and reserve its tokens, together or not at all: ``started``, ``taken``
    (another process has it) or the budget scope found spent."""
    lease = timedelta(seconds=config.timeout * 2 + 60)
    try:
        with ctx.db.session(write_lock=True) as session:
            story, newest = pair.story.id, pair.newest_article
            if not store.claim(session, story, pair.target, config.model, now, lease, newest):
                return "taken"
            refused = store.reserve(session, store.day_of(now), pair.budgets, estimate)
            if refused is not None:
                raise _Refused(refused)  # the claim is rolled back with the transaction
    except _Refused as exc:
        return exc.scope
    return "started"


async def _run(
    ctx: JobContext, client: LlmClient, config: LlmConfig, pair: Pair, tick: _Tick
) -> None:
    metrics = ctx.metrics
    if tick.spent & set(pair.budgets):
        metrics.llm_calls.labels("budget").inc()
        return
    estimate = estimate_tokens(pair.chat, MAX_TOKENS)
    async with client.slots:
        if tick.spent & set(pair.budgets):  # found spent while this one waited
            metrics.llm_calls.labels("budget").inc()
            return
        now = ctx.clock()
        started = await asyncio.to_thread(_start, ctx, config, pair, estimate, now)
        if started == "taken":
            return
        if started != "started":
            tick.spent.add(started)
            metrics.llm_calls.labels("budget").inc()
            await asyncio.to_thread(_budget_spent, ctx, config, started, now)
            return
        try:
            answer: Completion | CallFailed = await client.complete(pair.chat, MAX_TOKENS)
        except CallFailed as exc:
            answer = exc
    if isinstance(answer, CallFailed):
        await asyncio.to_thread(_failed, ctx, config, pair, answer, estimate)
        return
    verdict = await ctx.run_cpu(check, answer.text, pair.target, pair.facts, cut_off=answer.cut_off)
    # The prompt is a fair stand-in for the cost when the server does not say (a stream
    # without usage): about one token per two characters, the answer's included.
    prompt_chars = sum(len(m["content"]) for m in pair.chat)
    tokens = answer.tokens if answer.tokens is not None else (prompt_chars + len(answer.text)) // 2
    metrics.llm_tokens.inc(tokens)
    await asyncio.to_thread(_answered, ctx, config, pair, verdict, tokens, estimate)
    if verdict.ok:
        tick.written += 1


def _answered(
    ctx: JobContext, config: LlmConfig, pair: Pair, verdict: Verdict, tokens: int, estimate: int
) -> None:
    now = ctx.clock()
    story = pair.story
    metrics = ctx.metrics
    with ctx.db.session() as session:
        store.settle(session, store.day_of(now), pair.budgets, tokens - estimate)
        if verdict.ok:
            # A reader of the story's own language keeps its title: the model only rewrites
            # the summary there (an English reader's English headline stays untouched).
            title = story.title if pair.same_language else verdict.title
            store.finish(
                session,
                story.id,
                pair.target,
                config.model,
                status="ok",
                now=now,
                title=title,
                summary=verdict.summary,
                tokens=tokens,
            )
            metrics.llm_calls.labels("ok").inc()
            return
        reason = f"{verdict.reason}: {verdict.detail}"
        metrics.llm_rejected.labels(verdict.reason or "malformed").inc()
        if pair.refresh:  # the text shown stays
            metrics.llm_calls.labels("rejected").inc()
            store.keep(session, story.id, pair.target, config.model, now, tokens)
        else:
            # Malformed is not an answer at all, as a 5xx is not: tried again later, like one.
            malformed = verdict.reason == "malformed"
            status = "failed" if malformed else "rejected"
            metrics.llm_calls.labels(status).inc()
            store.finish(
                session,
                story.id,
                pair.target,
                config.model,
                status=status,
                now=now,
                reason=reason,
                tokens=tokens,
                retry_at=now + timedelta(seconds=BACKOFF * 2 ** (pair.attempt - 1))
                if malformed
                else None,
            )
    log.info("llm: story %s %s rejected (%s)", story.id, pair.target, reason)


def _failed(
    ctx: JobContext, config: LlmConfig, pair: Pair, failure: CallFailed, estimate: int
) -> None:
    now = ctx.clock()
    wait = failure.retry_after
    if wait is None:
        wait = BACKOFF * 2 ** (pair.attempt - 1)
    # A timed-out call may have been worked on: its prompt stays counted; the others cost
    # nothing (the server refused before any work).
    spent = estimate - MAX_TOKENS if failure.kind == "timeout" else 0
    ctx.metrics.llm_calls.labels("failed").inc()
    if failure.kind == "malformed":
        ctx.metrics.llm_rejected.labels("malformed").inc()
    ctx.metrics.llm_tokens.inc(spent)
    with ctx.db.session() as session:
        store.settle(session, store.day_of(now), pair.budgets, spent - estimate)
        if pair.refresh:  # the text shown stays; only another new source asks again
            store.keep(session, pair.story.id, pair.target, config.model, now, spent)
            return
        store.finish(
            session,
            pair.story.id,
            pair.target,
            config.model,
            status="failed",
            now=now,
            reason=str(failure),
            tokens=spent,
            retry_at=now + timedelta(seconds=wait),
        )
    log.info(
        "llm: story %s %s failed (%s), attempt %d",
        pair.story.id,
        pair.target,
        failure,
        pair.attempt,
    )


# -- the budget spent: the admins told once a day ------------------------------------------

_SPENT = {
    "zh-Hans": "LLM 今日 token 预算已用完（{scope}：{budget}）。在 UTC 0 点之前，摘要和翻译改用抽取式摘要，不再调用模型。",
    "en": "Today's LLM token budget is spent ({scope}: {budget}). Until 00:00 UTC digests carry extractive summaries and no model is called.",
}


def budget_notice(lang: str, scope: str, budget: int) -> Message:
    """The admins' message, in their language (zh-Hant by OpenCC)."""
    what = scope
    if scope == store.DEPLOYMENT:
        what = "deployment" if lang == "en" else "全部"
    text = _SPENT["en" if lang == "en" else "zh-Hans"].format(
        scope=html.escape(what), budget=f"{budget:,}"
    )
    return Message(to_traditional(text) if lang == "zh-Hant" else text)


def _budget_spent(ctx: JobContext, config: LlmConfig, scope: str, now: datetime) -> None:
    day = store.day_of(now)
    budget = (
        config.daily_token_budget
        if scope == store.DEPLOYMENT
        else config.topic_budgets.get(scope.removeprefix("topic:"), 0)
    )
    with ctx.db.session() as session:
        if not store.claim_notice(session, day, scope, now):
            return
        for admin in ctx.config.admins:
            own = subscribers.find(session, "telegram", str(admin), None)
            lang = own.lang if own is not None else ctx.config.subscriber_defaults.language
            outbox.enqueue_to(
                session,
                "telegram",
                str(admin),
                f"admin:llm-budget:{day}:{scope}:{admin}",
                [budget_notice(lang, scope, budget)],
                now,
            )
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 00:00 UTC")
    log.warning(
        "llm: the daily token budget %s (%s) is spent; extractive summaries until %s",
        scope,
        f"{budget:,}",
        tomorrow,
    )
