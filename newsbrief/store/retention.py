"""Retention: the daily prune of rows nothing needs any more, in short transactions.

    claim_daily:  one process of the deployment wins the day (an atomic UPDATE of its
                  ``maintenance`` row), the others skip
    prune:        outbox messages sent or failed before their window
                  | entries (with their articles) fetched before theirs, processed, and not
                    among their feed's newest ``polling.max_entries``
                  | stories made before theirs with no article left, named by no unsent
                    message, out of every digest cursor's reach, and not the newest
                  | callback replies, handled webhook updates
                  each kind in batches of ``BATCH`` rows, a transaction each, so a first prune
                  of a big database never holds the write lock (SQLite) or many row locks
                  (PostgreSQL) for long, and the ticks go on between batches

Why an old entry can stay: a poll recognises an entry by its feed and the hash of its key
(guid, else link, else title and content: ``entries (feed_id, key_hash)`` is unique) and stores
any key it does not find as new. An entry deleted while its feed still lists it would be
stored again on the next poll, processed into a new story and sent to every subscriber again.
Which entries a feed listed at its last poll is not recorded (a 304 lists nothing, and a write
per listed entry per poll would cost the poll path more than pruning saves), so the prune
keeps what a poll can still list: a poll keeps at most ``polling.max_entries`` of a feed's
entries, the newest, and stores the new ones after those it knows, so whatever a feed lists
newest first is among its newest ``max_entries`` rows by id. Those rows stay whatever their
age (200 a feed by default: bounded), and so does an entry dated inside the window (a
future-dated item a feed keeps on top). The limit: an item a feed keeps listing under an old
date (a pinned post) while more than ``max_entries`` newer ones come and go would come back
as new once older than the window.

Why a story can stay: stories are numbered in ingestion order and a subscriber's cursor is a
position in that sequence; a digest reads the newest ``digest_reach`` stories above its cursor
(``jobs.compose.WINDOW``, ``store.stories.story_window``). Stories below every cursor are never
read again; above the lowest cursor, only that many newest can be, so those stay (a subscriber
away for months keeps at most that many, not the archive). A new subscriber's cursor starts
``subscriber_defaults.backlog_hours`` back, which counts as a cursor too. The newest story
always stays: SQLite gives a new row the highest id plus one, so deleting the newest would
reuse numbers below the cursors, and every digest would skip what comes next. A story keeps
its articles' rows (and their entries') company: it goes only once they are gone, so an entry
kept above is never left pointing at a story that is not there (its edit would otherwise be
filed as a new story). And a story named in a message not yet sent (pending, sending, paused)
stays until that message is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.config.settings import Config
from newsbrief.records import DeliveryStatus
from newsbrief.store import callbacks, digest_rest, llm, updates
from newsbrief.store.articles import head_position, lock_story_matching
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    ArticleRow,
    CallbackReplyRow,
    DeliveryRow,
    DigestCursorRow,
    DigestRestRow,
    EntryRow,
    MaintenanceRow,
    StoryRow,
    StoryTopicRow,
    TelegramUpdateRow,
)

BATCH = 1000
"""Rows deleted per transaction: 0.15 s of SQLite's write lock, 0.05 s on PostgreSQL, for a
thousand entries with their articles (median, ``bench/retention.py``)."""
KINDS = (
    "deliveries",
    "entries",
    "articles",
    "stories",
    "story_topics",
    "callback_replies",
    "telegram_updates",
    "digest_rest",
)
"""The keys of ``prune``'s counts, in the order it deletes them."""
FINAL = (DeliveryStatus.SENT, DeliveryStatus.FAILED)
"""Outbox states nothing will change any more (``paused`` resumes with the subscriber)."""


@dataclass(frozen=True, slots=True)
class Windows:
    """How long each kind is kept (None: forever) and what else the prune must respect."""

    entries: timedelta | None
    stories: timedelta | None
    deliveries: timedelta | None
    callback_replies: timedelta | None
    telegram_updates: timedelta | None
    entries_per_feed: int
    """A feed's newest entries kept whatever their age (``polling.max_entries``)."""
    digest_reach: int
    """Stories a digest reads above its cursor at most (``jobs.compose.WINDOW``)."""
    backlog: timedelta
    """How far back a new subscriber's first digest reaches (``subscriber_defaults``)."""

    @classmethod
    def from_config(cls, config: Config, digest_reach: int) -> Windows:
        days = config.retention

        def window(value: int) -> timedelta | None:
            return timedelta(days=value) if value > 0 else None

        return cls(
            entries=window(days.entries),
            stories=window(days.stories),
            deliveries=window(days.deliveries),
            callback_replies=window(days.callback_replies),
            telegram_updates=window(days.telegram_updates),
            entries_per_feed=config.polling.max_entries,
            digest_reach=digest_reach,
            backlog=timedelta(hours=config.subscriber_defaults.backlog_hours),
        )


def claim_daily(session: Session, task: str, now: datetime, every: timedelta) -> bool:
    """Whether the caller runs ``task`` now: True for one caller per ``every`` across every
    process sharing the database. The claim is an atomic UPDATE of the task's row guarded by
    its last run (on PostgreSQL a second caller waits for the first's row lock, then finds the
    guard false; SQLite serialises writers), so it counts only once committed: claim in a
    transaction of its own, before the work."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first = session.execute(
        insert(MaintenanceRow)
        .values(task=task, last_run_at=now)
        .on_conflict_do_nothing(index_elements=[MaintenanceRow.task])
        .returning(MaintenanceRow.task)
    ).first()
    if first is not None:
        return True
    result = session.execute(
        update(MaintenanceRow)
        .where(MaintenanceRow.task == task, MaintenanceRow.last_run_at <= now - every)
        .values(last_run_at=now)
    )
    return _count(result) == 1


def release_daily(session: Session, task: str, claimed_at: datetime, last_run: datetime) -> None:
    """Give back a claim made at ``claimed_at`` whose work failed: the task counts as last run
    at ``last_run``, so it is due again sooner. A claim taken since by another is left alone."""
    session.execute(
        update(MaintenanceRow)
        .where(MaintenanceRow.task == task, MaintenanceRow.last_run_at == claimed_at)
        .values(last_run_at=last_run)
    )


def prune(db: Database, now: datetime, windows: Windows, *, batch: int = BATCH) -> dict[str, int]:
    """Delete what the windows let go and nothing still needed (see the module docstring);
    returns the rows deleted per kind (``KINDS``). Each batch is its own transaction, so
    this takes the database, not a session; a prune cut short keeps what it deleted and
    leaves everything consistent."""
    counts = dict.fromkeys(KINDS, 0)
    if windows.deliveries is not None:
        counts["deliveries"] = _prune_deliveries(db, now - windows.deliveries, batch)
    if windows.entries is not None:
        entries, articles = _prune_entries(db, now - windows.entries, windows, batch)
        counts["entries"], counts["articles"] = entries, articles
    if windows.stories is not None:
        stories, topics = _prune_stories(db, now, now - windows.stories, windows, batch)
        counts["stories"], counts["story_topics"] = stories, topics
    if windows.callback_replies is not None:
        cutoff = now - max(windows.callback_replies, callbacks.KEEP)
        counts["callback_replies"] = _prune_callbacks(db, cutoff, batch)
    if windows.telegram_updates is not None:
        cutoff = now - max(windows.telegram_updates, updates.KEEP_HANDLED)
        counts["telegram_updates"] = _prune_updates(db, cutoff, batch)
    counts["digest_rest"] = _prune_rest(db, now - digest_rest.KEEP, batch)
    with db.session(write_lock=True) as session:  # a few rows a day: not worth a kind
        llm.prune_usage(session, now)
    return counts


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _batches(db: Database, query: Select[Any], batch: int) -> Iterator[tuple[Session, list[Any]]]:
    """``query``'s rows, ``batch`` at a time, each batch locked in a write transaction for
    the caller to delete in (the rows others hold are skipped)."""
    while True:
        with db.session(write_lock=True) as session:
            rows = list(
                session.execute(query.limit(batch).with_for_update(skip_locked=True)).scalars()
            )
            if rows:
                yield session, rows
        if len(rows) < batch:
            return


def _prune_deliveries(db: Database, cutoff: datetime, batch: int) -> int:
    """Messages sent (by when sent) or failed (by their last try) before ``cutoff``."""
    query = select(DeliveryRow.id).where(
        DeliveryRow.status.in_(FINAL),
        DeliveryRow.due_at < cutoff,  # the (status, due_at) index; a message is sent after due
        func.coalesce(DeliveryRow.sent_at, DeliveryRow.due_at) < cutoff,
    )
    deleted = 0
    for session, ids in _batches(db, query, batch):
        deleted += _count(session.execute(delete(DeliveryRow).where(DeliveryRow.id.in_(ids))))
    return deleted


def _old_entry(cutoff: datetime) -> ColumnElement[bool]:
    return (
        (EntryRow.fetched_at < cutoff)
        & or_(EntryRow.updated_at.is_(None), EntryRow.updated_at < cutoff)
        & or_(EntryRow.published_at.is_(None), EntryRow.published_at < cutoff)
        # Waiting to be processed (or being processed again after an edit): not ours.
        & EntryRow.processed_at.is_not(None)
    )


def _newest_kept(session: Session, per_feed: int) -> list[tuple[str, int]]:
    """(feed, id of its ``per_feed``-th newest entry) for each feed with that many: that row
    and those above it stay. New entries only ever get higher ids, so thresholds read once
    stay safe for the whole prune."""
    turn = func.row_number().over(partition_by=EntryRow.feed_id, order_by=EntryRow.id.desc())
    ranked = select(EntryRow.feed_id, EntryRow.id, turn.label("turn")).subquery()
    query = select(ranked.c.feed_id, ranked.c.id).where(ranked.c.turn == per_feed)
    return [(feed_id, int(entry_id)) for feed_id, entry_id in session.execute(query)]


def _prune_entries(db: Database, cutoff: datetime, windows: Windows, batch: int) -> tuple[int, int]:
    """Old entries below their feed's newest ``entries_per_feed``, and their articles."""
    with db.session() as session:
        kept_from = dict(_newest_kept(session, windows.entries_per_feed))
    if not kept_from:
        return 0, 0
    # One pass in id order (old rows come first), each feed's threshold applied here: a
    # condition per feed in the query made SQLite read every feed's rows for every batch.
    query = (
        select(EntryRow.id, EntryRow.feed_id)
        .where(_old_entry(cutoff), EntryRow.id < max(kept_from.values()))
        .order_by(EntryRow.id)
    )
    entries = articles = 0
    last = 0
    while True:
        with db.session(write_lock=True) as session:
            rows = session.execute(
                query.where(EntryRow.id > last).limit(batch).with_for_update(skip_locked=True)
            ).all()
            ids = [i for i, feed in rows if i < kept_from.get(feed, 0)]
            if ids:
                # The article first: its row points at the entry.
                articles += _count(
                    session.execute(delete(ArticleRow).where(ArticleRow.entry_id.in_(ids)))
                )
                entries += _count(session.execute(delete(EntryRow).where(EntryRow.id.in_(ids))))
        if len(rows) < batch:
            return entries, articles
        last = rows[-1][0]


def _story_ids(payloads: Iterable[Any]) -> set[int]:
    """Story ids named by digest parts stored by reference (``story:<id>`` blocks)."""
    found: set[int] = set()
    for payload in payloads:
        if isinstance(payload, dict):
            for block in payload.get("blocks", ()):
                if isinstance(block, str) and block.startswith("story:"):
                    found.add(int(block[6:]))
    return found


def _reach_bound(session: Session, now: datetime, windows: Windows) -> int:
    """The lowest story id a digest may still read: stories below it are out of every
    cursor's reach. The floor is the lowest cursor (or ``/digest``'s "and N more" range),
    and where a subscriber joining now would start."""
    floor = session.scalar(select(func.min(DigestCursorRow.position)))
    starts = [head_position(session, before=now - windows.backlog)]
    if floor is not None:
        starts.append(int(floor))
    overflow = session.scalars(select(DigestCursorRow.overflow))
    starts += [int(o["after"]) for o in overflow if isinstance(o, dict) and "after" in o]
    low = min(starts)
    # The newest ``digest_reach`` stories above the floor are all a digest can read.
    reach = session.scalar(
        select(StoryRow.id)
        .where(StoryRow.id > low)
        .order_by(StoryRow.id.desc())
        .offset(windows.digest_reach - 1)
        .limit(1)
    )
    return int(reach) if reach is not None else low + 1


def _prune_stories(
    db: Database, now: datetime, cutoff: datetime, windows: Windows, batch: int
) -> tuple[int, int]:
    """Old stories no article, unsent message or cursor needs, with their topic rows."""
    with db.session() as session:
        head = head_position(session)
        bound = min(head, _reach_bound(session, now, windows))
        waiting = session.scalars(
            select(DeliveryRow.payload).where(DeliveryRow.status.not_in(FINAL))
        )
        queued = _story_ids(waiting)
    stories = topics = 0
    last = 0
    while True:
        with db.session(write_lock=True) as session:
            # Articles are matched to stories under this lock: none can join one being deleted.
            lock_story_matching(session)
            ids: Sequence[int] = session.scalars(
                select(StoryRow.id)
                .where(
                    StoryRow.id > last,
                    StoryRow.id < bound,
                    StoryRow.created_at < cutoff,
                    ~exists().where(ArticleRow.story_id == StoryRow.id),
                )
                .order_by(StoryRow.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            gone = [i for i in ids if i not in queued]
            if gone:
                topics += _count(
                    session.execute(delete(StoryTopicRow).where(StoryTopicRow.story_id.in_(gone)))
                )
                llm.forget_stories(session, gone)  # their LLM texts (``story_texts``) go too
                stories += _count(session.execute(delete(StoryRow).where(StoryRow.id.in_(gone))))
        if len(ids) < batch:
            return stories, topics
        last = ids[-1]


def _prune_callbacks(db: Database, cutoff: datetime, batch: int) -> int:
    # A two-column key: chosen and deleted in one statement (a list of 1,000 pairs as
    # parameters cost PostgreSQL more to plan than to delete).
    key = tuple_(CallbackReplyRow.scope, CallbackReplyRow.msg_id)
    chosen = (
        select(CallbackReplyRow.scope, CallbackReplyRow.msg_id)
        .where(CallbackReplyRow.created_at < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    deleted = 0
    while True:
        with db.session(write_lock=True) as session:
            count = _count(session.execute(delete(CallbackReplyRow).where(key.in_(chosen))))
        deleted += count
        if count < batch:
            return deleted


def _prune_updates(db: Database, cutoff: datetime, batch: int) -> int:
    """Handled webhook updates (one never handled stays: a bot process still owes it)."""
    query = select(TelegramUpdateRow.update_id).where(TelegramUpdateRow.handled_at < cutoff)
    deleted = 0
    for session, ids in _batches(db, query, batch):
        deleted += _count(
            session.execute(delete(TelegramUpdateRow).where(TelegramUpdateRow.update_id.in_(ids)))
        )
    return deleted


def _prune_rest(db: Database, cutoff: datetime, batch: int) -> int:
    """Robots' "the rest" pages whose links have expired (``digest_rest.KEEP``)."""
    query = select(DigestRestRow.token).where(DigestRestRow.created_at < cutoff)
    deleted = 0
    for session, tokens in _batches(db, query, batch):
        deleted += _count(
            session.execute(delete(DigestRestRow).where(DigestRestRow.token.in_(tokens)))
        )
    return deleted
