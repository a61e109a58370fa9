"""The channels' side of the outbox for the console's robots page: each group robot's state
(paused by its platform, why and since when) and messages, and Telegram's totals.

A handful of grouped queries on the outbox's status and sent indexes, whatever the number of
chats: robots are few, Telegram's chats are counted together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session

from newsbrief.records import DeliveryStatus
from newsbrief.store.outbox import chat_pauses
from newsbrief.store.tables import DeliveryRow, SubscriberRow

DAY = timedelta(hours=24)
UNSENT = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.PAUSED,
    DeliveryStatus.FAILED,
)


@dataclass(frozen=True, slots=True)
class Outbox:
    """One chat's (or platform's) messages."""

    waiting: int = 0
    """Pending or being sent."""
    paused: int = 0
    failed: int = 0
    sent_24h: int = 0
    last_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RobotState:
    known: bool
    """False until the runtime has added the robot (at its start or a config change)."""
    paused: bool
    reason: str | None
    since: datetime | None
    """When its platform refused it (None: paused otherwise, e.g. removed from the config)."""
    outbox: Outbox


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _outbox(
    session: Session, platforms: Sequence[str], now: datetime, per_chat: bool
) -> dict[tuple[str, str], Outbox]:
    """Messages per (platform, chat) — or per (platform, "") when not ``per_chat``."""
    chat = DeliveryRow.chat_id if per_chat else literal("")
    counts: dict[tuple[str, str], dict[str, int]] = {}
    keys = (DeliveryRow.platform, DeliveryRow.chat_id) if per_chat else (DeliveryRow.platform,)
    for platform, chat_id, status, n in session.execute(
        select(DeliveryRow.platform, chat, DeliveryRow.status, func.count())
        .where(DeliveryRow.status.in_(UNSENT), DeliveryRow.platform.in_(list(platforms)))
        .group_by(*keys, DeliveryRow.status)
    ):
        counts.setdefault((platform, chat_id if per_chat else ""), {})[status] = int(n)
    sent: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    for platform, chat_id, n, last in session.execute(
        select(DeliveryRow.platform, chat, func.count(), func.max(DeliveryRow.sent_at))
        .where(DeliveryRow.sent_at >= now - DAY, DeliveryRow.platform.in_(list(platforms)))
        .group_by(*keys)
    ):
        sent[(platform, chat_id if per_chat else "")] = (int(n), _aware(last))
    found = {}
    for key in {*counts, *sent}:
        by_status = counts.get(key, {})
        n, last = sent.get(key, (0, None))
        found[key] = Outbox(
            waiting=by_status.get(DeliveryStatus.PENDING, 0)
            + by_status.get(DeliveryStatus.SENDING, 0),
            paused=by_status.get(DeliveryStatus.PAUSED, 0),
            failed=by_status.get(DeliveryStatus.FAILED, 0),
            sent_24h=n,
            last_sent_at=last,
        )
    return found


def robot_states(
    session: Session, robots: Sequence[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], RobotState]:
    """The state of each robot, as (platform, robot id)."""
    if not robots:
        return {}
    subscribers = {
        (platform, chat): (bool(paused), reason)
        for platform, chat, paused, reason in session.execute(
            select(
                SubscriberRow.platform,
                SubscriberRow.chat_id,
                SubscriberRow.paused,
                SubscriberRow.paused_reason,
            ).where(
                tuple_(SubscriberRow.platform, SubscriberRow.chat_id).in_(list(robots)),
                SubscriberRow.thread_id == 0,
            )
        )
    }
    pauses = chat_pauses(session, robots)
    outboxes = _outbox(session, sorted({p for p, _ in robots}), now, per_chat=True)
    states = {}
    for robot in robots:
        paused, reason = subscribers.get(robot, (False, None))
        since = None
        if paused and (pause := pauses.get(robot)) is not None and pause[0] == reason:
            since = pause[1]  # this pause's time, not an earlier one's
        states[robot] = RobotState(
            robot in subscribers, paused, reason, since, outboxes.get(robot, Outbox())
        )
    return states


def platform_outbox(session: Session, platform: str, now: datetime) -> Outbox:
    """All of one platform's messages together (Telegram's many chats)."""
    return _outbox(session, [platform], now, per_chat=False).get((platform, ""), Outbox())


@dataclass(frozen=True, slots=True)
class Channels:
    robots: dict[tuple[str, str], RobotState]
    telegram: Outbox


def channel_health(session: Session, robots: Sequence[tuple[str, str]], now: datetime) -> Channels:
    """The robots page's figures, in one read transaction."""
    return Channels(robot_states(session, robots, now), platform_outbox(session, "telegram", now))
