"""The LLM's cache (``story_texts``) and its daily budget (``llm_usage``), shared by every process.

One row per (story, language, model) makes it one call per story and language however many
readers get it. A pair is claimed by writing its row before the call (``status`` ``failed``,
``retry_at`` a lease ahead), so two processes never pay for the same pair; the call's outcome
then overwrites it: ``ok``, ``rejected`` (final) or ``failed`` (tried again after ``retry_at``,
at most ``MAX_ATTEMPTS`` in all).

The budget is reserved before each call in the same transaction as the claim: an UPDATE that
adds the call's estimate only while the day's total is below the budget, for the deployment
(``*``) and for each of the story's topics that has one. Every process goes through that one
row, so a call starts only while the total, calls in flight included, is below the budget:
with estimates that bound the real cost, no call starts once it is spent. After the call the
estimate is replaced by what the server says it cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.store.tables import ArticleRow, LlmUsageRow, StoryRow, StoryTextRow, SubscriberRow

MAX_ATTEMPTS = 3
"""Calls a pair gets in all before it keeps its extractive summary for good."""
DEPLOYMENT = "*"
IN_PROGRESS = "in progress"
"""The reason a claimed row carries until its call's outcome is stored."""
USAGE_KEEP = timedelta(days=60)
"""How long daily usage rows are kept (``newsbrief status`` and the console read today's)."""


def day_of(now: datetime) -> str:
    """The UTC day a budget belongs to (``2026-12-03``): it resets at 00:00 UTC."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def topic_scope(topic_id: str) -> str:
    return f"topic:{topic_id}"


@dataclass(frozen=True, slots=True)
class RecentStory:
    id: int
    title: str
    summary: str
    lang: str
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PairState:
    status: str
    attempts: int
    retry_at: datetime | None
    written_at: datetime
    reason: str | None = None

    @property
    def in_progress(self) -> bool:
        """A first call is out for it (see ``claim``): no outcome yet."""
        return self.status == "failed" and self.attempts == 1 and self.reason == IN_PROGRESS


def reader_languages(session: Session) -> set[str]:
    """The languages of the subscribers that get digests (not paused)."""
    query = select(SubscriberRow.lang).where(SubscriberRow.paused.is_(False)).distinct()
    return set(session.scalars(query))


def recent_stories(
    session: Session, since: datetime, limit: int, before_id: int | None = None
) -> list[RecentStory]:
    """Stories created since ``since``, newest first, ``limit`` of them below ``before_id``."""
    query = select(StoryRow.id, StoryRow.title, StoryRow.summary, StoryRow.lang, StoryRow.topics)
    query = query.where(StoryRow.created_at >= since)
    if before_id is not None:
        query = query.where(StoryRow.id < before_id)
    rows = session.execute(query.order_by(StoryRow.id.desc()).limit(limit))
    return [RecentStory(i, t, s, lang, tuple(topics or ())) for i, t, s, lang, topics in rows]


def pair_states(
    session: Session, story_ids: Sequence[int], model: str
) -> dict[tuple[int, str], PairState]:
    """What is stored for these stories under ``model``, per (story, language)."""
    if not story_ids:
        return {}
    query = select(
        StoryTextRow.story_id,
        StoryTextRow.lang,
        StoryTextRow.status,
        StoryTextRow.attempts,
        StoryTextRow.retry_at,
        StoryTextRow.created_at,
        StoryTextRow.reason,
    ).where(StoryTextRow.story_id.in_(story_ids), StoryTextRow.model == model)
    rows = session.execute(query)
    return {(s, lang): PairState(st, n, r, at, why) for s, lang, st, n, r, at, why in rows}


def newest_articles(session: Session, story_ids: Sequence[int]) -> dict[int, datetime]:
    """When each story's newest article joined it."""
    if not story_ids:
        return {}
    query = (
        select(ArticleRow.story_id, func.max(ArticleRow.created_at))
        .where(ArticleRow.story_id.in_(story_ids))
        .group_by(ArticleRow.story_id)
    )
    return {s: _aware(at) for s, at in session.execute(query) if at is not None}


def _aware(value: datetime) -> datetime:
    # max() over a UTC column comes back as the driver gives it: naive on SQLite.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def due(state: PairState | None, now: datetime, newest_article: datetime | None = None) -> bool:
    """Whether a pair is to be called now: never tried; failed and due again; or written
    before another source joined its story (a merged story's summary combines them all).
    ``MAX_ATTEMPTS`` calls at most in all."""
    if state is None:
        return True
    if state.attempts >= MAX_ATTEMPTS or (state.retry_at is not None and state.retry_at > now):
        return False
    if state.status == "failed":
        return True
    return state.status == "ok" and newest_article is not None and newest_article > state.written_at


def story_sources(session: Session, story_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """(title, cleaned text) of each story's articles, first reported first."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not story_ids:
        return found
    query = (
        select(ArticleRow.story_id, ArticleRow.title, ArticleRow.text)
        .where(ArticleRow.story_id.in_(story_ids))
        .order_by(ArticleRow.id)
    )
    for story_id, title, text in session.execute(query):
        found.setdefault(story_id, []).append((title, text))
    return found


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def claim(
    session: Session,
    story_id: int,
    lang: str,
    model: str,
    now: datetime,
    lease: timedelta,
    newest_article: datetime | None = None,
) -> bool:
    """Take a pair for one call: its row written, or a due one taken (failed, or ok but older
    than ``newest_article``: its text stays shown meanwhile), with ``retry_at`` a lease ahead,
    so no other process calls for it meanwhile. False: another has it."""
    inserted = session.execute(
        _insert(session, StoryTextRow)
        .values(
            story_id=story_id,
            lang=lang,
            model=model,
            status="failed",
            reason=IN_PROGRESS,
            tokens=0,
            attempts=1,
            retry_at=now + lease,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(StoryTextRow.story_id)
    ).first()
    if inserted is not None:
        return True
    taken = session.execute(
        update(StoryTextRow)
        .where(
            StoryTextRow.story_id == story_id,
            StoryTextRow.lang == lang,
            StoryTextRow.model == model,
            StoryTextRow.attempts < MAX_ATTEMPTS,
            or_(StoryTextRow.retry_at.is_(None), StoryTextRow.retry_at <= now),
            or_(
                StoryTextRow.status == "failed",
                (StoryTextRow.status == "ok") & (StoryTextRow.created_at < newest_article)
                if newest_article is not None
                else false(),
            ),
        )
        .values(attempts=StoryTextRow.attempts + 1, retry_at=now + lease)
    )
    return _count(taken) == 1


def keep(
    session: Session, story_id: int, lang: str, model: str, now: datetime, tokens: int
) -> None:
    """A refresh that brought nothing better: the text shown stays, marked as considered now
    (so only another source joining the story asks again)."""
    session.execute(
        update(StoryTextRow)
        .where(
            StoryTextRow.story_id == story_id,
            StoryTextRow.lang == lang,
            StoryTextRow.model == model,
        )
        .values(retry_at=None, created_at=now, tokens=StoryTextRow.tokens + tokens)
    )


def finish(
    session: Session,
    story_id: int,
    lang: str,
    model: str,
    *,
    status: str,
    now: datetime,
    title: str | None = None,
    summary: str | None = None,
    reason: str | None = None,
    tokens: int = 0,
    retry_at: datetime | None = None,
) -> None:
    """Store a call's outcome on its claimed row."""
    session.execute(
        update(StoryTextRow)
        .where(
            StoryTextRow.story_id == story_id,
            StoryTextRow.lang == lang,
            StoryTextRow.model == model,
        )
        .values(
            status=status,
            title=title,
            summary=summary,
            reason=reason,
            tokens=StoryTextRow.tokens + tokens,
            retry_at=retry_at if status == "failed" else None,
            created_at=now,
        )
    )


def ok_texts(
    session: Session, story_ids: Iterable[int], model: str
) -> dict[int, list[tuple[str, str, str]]]:
    """(lang, title, summary) of each story's texts that passed the checks, under ``model``."""
    ids = list(story_ids)
    found: dict[int, list[tuple[str, str, str]]] = {}
    if not ids:
        return found
    query = select(
        StoryTextRow.story_id, StoryTextRow.lang, StoryTextRow.title, StoryTextRow.summary
    ).where(
        StoryTextRow.story_id.in_(ids),
        StoryTextRow.model == model,
        StoryTextRow.status == "ok",
    )
    for story_id, lang, title, summary in session.execute(query):
        found.setdefault(story_id, []).append((lang, title or "", summary or ""))
    return found


# -- the budget ----------------------------------------------------------------------------


def reserve(session: Session, day: str, budgets: Mapping[str, int], tokens: int) -> str | None:
    """Add ``tokens`` and a call to each scope's usage of ``day`` if every one of them is below
    its budget (0: no limit); None when done, else the first scope found spent (and nothing
    added anywhere). Scopes are taken in a fixed order, so processes never deadlock."""
    scopes = sorted(budgets)
    session.execute(
        _insert(session, LlmUsageRow)
        .values([{"day": day, "scope": s, "tokens": 0, "calls": 0} for s in scopes])
        .on_conflict_do_nothing()
    )
    done: list[str] = []
    for scope in scopes:
        query = update(LlmUsageRow).where(LlmUsageRow.day == day, LlmUsageRow.scope == scope)
        if budgets[scope] > 0:
            query = query.where(LlmUsageRow.tokens < budgets[scope])
        result = session.execute(
            query.values(tokens=LlmUsageRow.tokens + tokens, calls=LlmUsageRow.calls + 1)
        )
        if _count(result) != 1:
            for back in done:  # the scopes already charged give it back
                settle(session, day, [back], -tokens, calls=-1)
            return scope
        done.append(scope)
    return None


def settle(
    session: Session, day: str, scopes: Iterable[str], tokens: int, *, calls: int = 0
) -> None:
    """Correct the usage of ``scopes`` by ``tokens`` (the real cost less the estimate)."""
    for scope in scopes:
        session.execute(
            update(LlmUsageRow)
            .where(LlmUsageRow.day == day, LlmUsageRow.scope == scope)
            .values(tokens=LlmUsageRow.tokens + tokens, calls=LlmUsageRow.calls + calls)
        )


def claim_notice(session: Session, day: str, scope: str, now: datetime) -> bool:
    """True once a day per scope: the caller tells the admins that this budget is spent."""
    result = session.execute(
        update(LlmUsageRow)
        .where(LlmUsageRow.day == day, LlmUsageRow.scope == scope, LlmUsageRow.told_at.is_(None))
        .values(told_at=now)
    )
    return _count(result) == 1


@dataclass(frozen=True, slots=True)
class Usage:
    """Today's LLM figures, for ``newsbrief status`` and ``/metrics``."""

    day: str
    tokens: int
    calls: int
    texts: dict[str, int]
    """Stored (story, language) texts written today, by status (``ok``, ``rejected``,
    ``failed``)."""


def spent_today(session: Session, now: datetime, budget: int) -> bool:
    """Whether the deployment's budget for today is used up (0: no limit, never)."""
    if budget <= 0:
        return False
    tokens = session.scalar(
        select(LlmUsageRow.tokens).where(
            LlmUsageRow.day == day_of(now), LlmUsageRow.scope == DEPLOYMENT
        )
    )
    return tokens is not None and tokens >= budget


def usage(session: Session, now: datetime) -> Usage:
    day = day_of(now)
    row = session.execute(
        select(LlmUsageRow.tokens, LlmUsageRow.calls).where(
            LlmUsageRow.day == day, LlmUsageRow.scope == DEPLOYMENT
        )
    ).first()
    midnight = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    texts = dict(
        session.execute(
            select(StoryTextRow.status, func.count())
            .where(StoryTextRow.created_at >= midnight)
            .group_by(StoryTextRow.status)
        ).all()
    )
    tokens, calls = (int(row[0]), int(row[1])) if row is not None else (0, 0)
    return Usage(day, tokens, calls, {str(k): int(v) for k, v in texts.items()})


# -- retention -----------------------------------------------------------------------------


def forget_stories(session: Session, story_ids: Sequence[int]) -> int:
    """The texts of stories being deleted (retention)."""
    if not story_ids:
        return 0
    return _count(session.execute(delete(StoryTextRow).where(StoryTextRow.story_id.in_(story_ids))))


def prune_usage(session: Session, now: datetime) -> int:
    """Usage rows older than ``USAGE_KEEP``."""
    oldest = day_of(now - USAGE_KEEP)
    return _count(session.execute(delete(LlmUsageRow).where(LlmUsageRow.day < oldest)))


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
