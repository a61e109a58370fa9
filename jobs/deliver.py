"""The deliver tick.

    outbox rows due | replies first | per chat, in order, paced within the platform's limits
        | send | record message id, or hold / pause / move / fail visibly

Every message the bot sends goes through here: digest parts and command replies (``bot.replies``)
alike, so they share one send budget per platform, and a reply told "429, retry after n" is
sent again after n seconds like any message. Replies go first: they are claimed first and take
the first free slot.

Each chat is a queue: when one of its messages cannot go now, the rest wait behind it, so parts
of a digest never arrive out of order. Chats are independent: one rate-limited chat slows no
other.

A tick claims a small batch, what the senders can send in the next ``HORIZON`` seconds (the
chats with a reply waiting first, then those with the most due), sends them as their slots
come up, and claims more as the queues drain, until nothing is due. A claimed message waits
under a short lease (``HOLD``), renewed every quarter of it while it waits; a message being
sent is renewed to the delivery lease, so a slow send is not taken over by another process.
After a crash nothing waits longer than the lease it had: the claimed messages are free again
within ``HOLD`` seconds, a message in flight at most the delivery lease (one renewed while in
flight; one sent since the last renewal is free within ``HOLD``, like the rest). A claim is
never sent by a deliverer that could not renew it in time: another may hold it by then.

``wake()`` (a command queued a reply) makes a running tick claim at once, or starts one, so a
reply leaves within a fraction of a second. Ticks may overlap (the scheduler's and a woken one):
they share the chat queues and the pacing, and a chat is in at most one queue, so no tick waits
behind another's slow chat.

On PostgreSQL several processes may run a deliverer, but only one sends for each send budget
(``jobs.budgets``): with a ``gate``, this deliverer claims only for the budgets its process
holds, checks before each claim that it still holds them, drops what it queued for one it lost,
and after taking a budget over waits a moment before its first send, since the process that
held it may have spent that second's budget just before it died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.render import materialize
from bot.senders import Pacer, Sender, Window
from jobs.context import JobContext
from jobs.robot_alerts import tell_admins_robot_paused
from newsbrief.records import Delivery, Priority, SendOutcome, SendResult
from newsbrief.store import outbox, subscribers

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
HORIZON = 2.0
"""Seconds of sending claimed ahead: enough to keep the rate over a slow claim."""
HOLD = 5.0
"""Seconds a claimed message stays leased while it waits in a queue, renewed every quarter of
it: after a crash, what was claimed but not yet sent is free again this soon."""
MAX_QUEUED = 1000
CLAIM_EVERY = 0.25
"""Seconds between two claims while queues are draining."""
WAKE_CLAIM_EVERY = 0.05
"""Seconds between two claims for wake-ups: a crowd of commands makes a claim per moment, not
one per reply."""

MAX_REPLY_WAIT = 600.0
"""Seconds up to which a held reply gets its own wake-up; later, the deliver tick finds it."""

TAKEOVER_GAP = 1.0
"""Seconds a deliverer that took a budget over waits before sending for it: the window of
Telegram's overall limit (a chat's own interval, when longer, is waited for too)."""

ChatKey = tuple[str, str]
_HELD = frozenset((SendOutcome.RATE_LIMITED, SendOutcome.RETRY))


class Gate(Protocol):
    """Which send budgets this process holds (``jobs.budgets.SendGate``)."""

    def platforms(self) -> set[str]:
        """Platforms with a budget held here."""
        ...

    def skipped(self) -> list[ChatKey]:
        """Chats of those platforms whose own budget (a robot's) is held elsewhere."""
        ...

    def held_since(self, platform: str, chat_id: str) -> float | None:
        """Since when (the event loop's clock) this process holds the chat's budget (sends
        start a moment after: the last holder may just have spent it); None when it does not."""
        ...

    async def settled(self) -> None:
        """Returns once the process has tried for its budgets."""
        ...

    async def confirm(self) -> bool:
        """Whether the budgets believed held are still held (their lock connection answers)."""
        ...


def _wait(delivery: Delivery, result: SendResult) -> timedelta:
    """How long a message held by this result waits: the platform's retry_after, or backoff."""
    if result.outcome is SendOutcome.RATE_LIMITED:
        return timedelta(seconds=max(1.0, result.retry_after or 1.0))
    return min(timedelta(seconds=5 * 2**delivery.attempts), MAX_BACKOFF)


@dataclass
class _Run:
    """What one tick claimed: how many of those are still open, how many went out."""

    open: int = 0
    sent: int = 0


@dataclass
class _Chat:
    key: ChatKey
    interval: float
    window: Window | None
    due: int
    claimed_at: float
    """When its messages were claimed (the event loop's clock): their lease runs from then."""
    """Messages due for this chat when claimed, the queued ones included: its remaining work."""
    queue: deque[tuple[Delivery, _Run]] = field(default_factory=deque)
    busy: bool = False

    def priority(self) -> tuple[int, float, int]:
        # A reply first; then the longest chains (a group's 3 s spacing makes its tail the last
        # to finish), then in the order they were written.
        head = self.queue[0][0]
        return head.priority, self.due * self.interval, -head.id


@dataclass
class _Lane:
    """One sender's pacing and sends in flight."""

    sender: Sender
    pacer: Pacer
    in_flight: int = 0


class Deliverer:
    """Keeps the chat queues and pacing between ticks, so limits hold across tick boundaries.

    ``max_in_flight`` bounds the sends under way at once per sender, each recorded before its
    slot is given back: with 1, a crash (SIGKILL) can leave at most one message sent but not
    marked sent, which is then sent again once its lease runs out.
    """

    def __init__(self, ctx: JobContext, *, max_in_flight: int = 1) -> None:
        self.ctx = ctx
        self.max_in_flight = max_in_flight
        self.owner = uuid.uuid4().hex
        """Names this deliverer's claims: only it renews them or sends what they hold."""
        self._lanes = {name: _Lane(s, Pacer(s.global_interval)) for name, s in ctx.senders.items()}
        self._chats: dict[ChatKey, _Chat] = {}
        self._claim_lock = asyncio.Lock()
        self._claiming: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._last_claim = -math.inf
        self._last_renew = -math.inf
        self._renewed_at = -math.inf
        """When the last renewal that went through started: every queued claim holds till then
        plus ``HOLD``."""
        self._renewing: asyncio.Task[None] | None = None
        self._flying: set[int] = set()
        self._woken = False
        self._waking: asyncio.Task[None] | None = None
        self._drivers = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.gate: Gate | None = None
        """On PostgreSQL, the send budgets this process holds; None: it sends for all."""

    @property
    def busy(self) -> bool:
        """Whether a tick is running or about to."""
        return self._drivers > 0 or self._waking is not None

    def wake(self) -> None:
        """Something to send now was queued (a reply): claim it at once, in a running tick or
        in one started for it. Returns at once; call it on the event loop."""
        self._woken = True
        self._changed.set()
        if self._drivers == 0 and self._waking is None and self._lanes:
            self._waking = asyncio.create_task(self._woken_tick())

    async def _woken_tick(self) -> None:
        try:
            await self.tick()
        except Exception:  # the next wake or scheduled tick tries again
            log.exception("deliver tick failed")
        finally:
            self._waking = None

    # -- the tick --------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Send what is due; returns how many of the messages this tick claimed were sent."""
        if self.gate is not None:
            await self.gate.settled()
        if not self._lanes or (self.gate is not None and not self.gate.platforms()):
            return 0  # a standby: the process holding the budgets sends
        loop = asyncio.get_running_loop()
        run = _Run()
        self._drivers += 1
        try:
            while True:
                if run.open == 0:
                    await self._claim(run)
                    if run.open == 0:
                        if self._woken:  # a reply was queued while we looked: look again
                            since = loop.time() - self._last_claim
                            await asyncio.sleep(max(0.0, WAKE_CLAIM_EVERY - since))
                            continue
                        return run.sent
                elif self._claiming is None and self._claim_due(loop.time()):
                    # Claim more in the background: sends go on meanwhile.
                    self._claiming = asyncio.create_task(self._claim(run))
                    self._claiming.add_done_callback(self._claimed)
                if self._renewing is None and loop.time() - self._last_renew >= self._hold() / 4:
                    self._renewing = asyncio.create_task(self._renew())
                wait = min(self._dispatch(loop.time()), CLAIM_EVERY, self._hold() / 4)
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
        finally:
            self._drivers -= 1
            if self._drivers == 0 and self._chats:
                # Cancelled: what is still queued keeps its short lease, claimed again after it.
                self._chats.clear()

    def _claim_due(self, now: float) -> bool:
        since = now - self._last_claim
        if self._woken and since >= WAKE_CLAIM_EVERY:
            return True
        return self._room() >= self._capacity() / 2 and since >= CLAIM_EVERY

    def _claimed(self, task: asyncio.Task[None]) -> None:
        self._claiming = None
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("claiming deliveries failed", exc_info=task.exception())

    def _capacity(self) -> int:
        fastest = min(lane.sender.global_interval for lane in self._lanes.values())
        return (
            MAX_QUEUED if fastest <= 0 else max(1, min(MAX_QUEUED, int(self._horizon() / fastest)))
        )

    def _horizon(self) -> float:
        # Whatever is claimed should go out well before its short lease ends, even if a renewal
        # comes late.
        return min(HORIZON, self._hold() / 2)

    def _hold(self) -> float:
        return min(HOLD, self.ctx.config.scheduler.delivery_lease)

    def _queued(self) -> int:
        return sum(len(chat.queue) for chat in self._chats.values())

    def _room(self) -> int:
        return self._capacity() - self._queued()

    async def _renew(self) -> None:
        """Keep the leases of the messages waiting in the queues, and of those being sent
        (the delivery lease); never shortening one."""
        started = self._last_renew = asyncio.get_running_loop().time()
        queued = [d.id for chat in self._chats.values() for d, _ in chat.queue]
        flying = list(self._flying)
        now = self.ctx.clock()
        hold = now + timedelta(seconds=self._hold())
        lease = now + timedelta(seconds=self.ctx.config.scheduler.delivery_lease)

        def renew() -> None:
            with self.ctx.db.session() as session:
                outbox.renew(session, queued, self.owner, hold)
                outbox.renew(session, flying, self.owner, lease)

        try:
            if queued or flying:
                await asyncio.to_thread(renew)
            self._renewed_at = started
        except Exception:  # the database: a claim not renewed in time is not sent (_held)
            log.exception("could not renew the claims of %d deliveries", len(queued) + len(flying))
        finally:
            self._renewing = None
            self._changed.set()

    def _held(self, chat: _Chat, now: float) -> bool:
        """Whether this deliverer surely still holds the chat's claimed messages: claimed or
        renewed recently enough (a quarter of ``HOLD`` to spare for clocks and the send)."""
        return max(chat.claimed_at, self._renewed_at) + self._hold() * 0.75 > now

    def _renew_one(self, delivery: Delivery) -> bool:
        """Not renewed in time (a stalled loop, the database away): ask the database whether the
        claim is still ours, renewing it if so."""
        until = self.ctx.clock() + timedelta(seconds=self.ctx.config.scheduler.delivery_lease)
        with self.ctx.db.session() as session:
            return outbox.held(session, delivery.id, self.owner, until)

    # -- claiming ----------------------------------------------------------------------------------

    async def _claim(self, run: _Run) -> None:
        async with self._claim_lock:
            claimed_at = self._last_claim = asyncio.get_running_loop().time()
            woken, self._woken = self._woken, False
            lanes, skip = list(self._lanes), list(self._chats)
            if self.gate is not None:
                held = await self.gate.confirm()
                await self._drop_unheld()
                lanes = [name for name in lanes if held and name in self.gate.platforms()]
                if not lanes:
                    return
                skip += self.gate.skipped()
            room, least = self._room(), Priority.DIGEST
            if room <= 0 and woken:
                # A reply does not wait for the digest parts claimed before it: it may take
                # the batch's size again, replies only.
                room, least = 2 * self._capacity() - self._queued(), Priority.REPLY
            if room <= 0:
                return
            ctx = self.ctx
            now = ctx.clock()
            lease = timedelta(seconds=self._hold())
            horizon = self._horizon()

            def interval(key: ChatKey) -> float:
                return self._lanes[key[0]].sender.chat_interval(key[1])

            def claim() -> list[tuple[ChatKey, int, list[Delivery]]]:
                with ctx.db.session() as session:
                    heads = outbox.due_heads(
                        session,
                        now,
                        lanes,
                        per_chat=max(1, int(horizon)),
                        limit=4 * room,  # enough for the groups' heads left over
                        skip_chats=skip,
                        min_priority=least,
                    )
                    chats: dict[ChatKey, tuple[int, int, list[int]]] = {}
                    for head in heads:
                        key = (head.platform, head.chat_id)
                        chats.setdefault(key, (head.priority, head.chat_due, []))[2].append(head.id)
                    # The chats with a reply first, then those with the most work left; a chat
                    # claims only what it can send within the horizon at its own pace.
                    order = sorted(chats, key=lambda k: (-chats[k][0], -chats[k][1] * interval(k)))
                    picked: list[tuple[ChatKey, int, list[int]]] = []
                    left = room
                    for key in order:
                        _, due, ids = chats[key]
                        take = min(len(ids), max(1, int(horizon / max(interval(key), 1e-3))), left)
                        picked.append((key, due, ids[:take]))
                        left -= take
                        if left <= 0:
                            break
                    claimed = outbox.claim(
                        session, [i for _, _, ids in picked for i in ids], now, lease, self.owner
                    )
                    got = {d.id: d for d in claimed}
                    result: list[tuple[ChatKey, int, list[Delivery]]] = []
                    for key, due, ids in picked:
                        # Another sender took one of them: keep the part before the gap, in order.
                        n = next((i for i, x in enumerate(ids) if x not in got), len(ids))
                        outbox.release(session, [x for x in ids[n:] if x in got])
                        if n:
                            result.append((key, due, [got[x] for x in ids[:n]]))
                # Digest parts stored by reference are rendered now, with the stories as they are.
                ready = {d.id: d for d in materialize(ctx.db, ctx.config, list(got.values()))}
                return [(key, due, [ready[d.id] for d in ds]) for key, due, ds in result]

            for key, due, deliveries in await asyncio.to_thread(claim):
                sender = self._lanes[key[0]].sender
                window = sender.chat_window(key[1])
                chat = self._chats[key] = _Chat(key, interval(key), window, due, claimed_at)
                chat.queue.extend((d, run) for d in deliveries)
                run.open += len(deliveries)

    async def _drop_unheld(self) -> None:
        """Give back what is queued for budgets this process no longer holds: the process that
        holds them now sends it (a send already under way finishes)."""
        assert self.gate is not None
        ids: list[int] = []
        for key, chat in list(self._chats.items()):
            if self.gate.held_since(*key) is not None:
                continue
            for delivery, run in chat.queue:
                run.open -= 1
                ids.append(delivery.id)
            chat.queue.clear()
            if not chat.busy:
                del self._chats[key]
        if ids:
            log.info("gave back %d queued deliveries of a send budget held elsewhere", len(ids))

            def release() -> None:
                with self.ctx.db.session() as session:
                    outbox.release(session, ids)

            await asyncio.to_thread(release)

    def _start_at(self, chat: _Chat) -> float | None:
        """When this chat's messages may start going out as far as the send budgets go: None
        when another process holds its budget."""
        if self.gate is None:
            return -math.inf
        since = self.gate.held_since(*chat.key)
        return None if since is None else since + max(TAKEOVER_GAP, chat.interval)

    # -- sending -----------------------------------------------------------------------------------

    def _dispatch(self, now: float) -> float:
        """Start every send whose slot has come; returns seconds until the next slot may."""
        wait = math.inf
        for lane in self._lanes.values():
            pacer = lane.pacer
            while lane.in_flight < self.max_in_flight:
                ready = []
                for c in self._chats.values():
                    if c.key[0] != lane.sender.platform or not c.queue or c.busy:
                        continue
                    start = self._start_at(c)
                    if start is None:
                        continue  # its budget went elsewhere: given back at the next claim
                    if start > now:
                        wait = min(wait, start - now)
                        continue
                    ready.append(c)
                if not ready:
                    break
                if pacer.next_global > now:
                    wait = min(wait, pacer.next_global - now)
                    break
                eligible = [c for c in ready if pacer.chat_ready_at(c.key[1]) <= now]
                if not eligible:
                    wait = min(wait, min(pacer.chat_ready_at(c.key[1]) for c in ready) - now)
                    break
                chat = max(eligible, key=_Chat.priority)
                pacer.take(chat.key[1], chat.interval, now, chat.window)
                chat.busy = True
                lane.in_flight += 1
                task = asyncio.create_task(self._send(lane, chat))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return max(wait, 0.0)

    async def _send(self, lane: _Lane, chat: _Chat) -> None:
        delivery, run = chat.queue.popleft()
        sender = lane.sender
        go_on = answered = False
        try:
            if not self._held(chat, asyncio.get_running_loop().time()) and not (
                await asyncio.to_thread(self._renew_one, delivery)
            ):
                # Our claim lapsed and another sender took it: the chat is theirs now.
                log.warning("delivery %s: claim lapsed, left to the sender holding it", delivery.id)
                return
            self._flying.add(delivery.id)
            try:
                result = await sender.send(delivery)
            except Exception as exc:  # a sender bug must not lose the message
                log.exception("sender %s crashed on delivery %s", sender.platform, delivery.id)
                result = SendResult(SendOutcome.RETRY, error=f"{type(exc).__name__}: {exc}")
            lane.pacer.finished(chat.key[1], chat.interval, asyncio.get_running_loop().time())
            answered = True
            self.ctx.metrics.sent(sender.platform, result.outcome)
            # Recorded in its own transaction before the next send may start (see max_in_flight).
            go_on = await asyncio.to_thread(self._record, delivery, result)
            run.sent += result.outcome is SendOutcome.SENT
            if delivery.priority >= Priority.REPLY and result.outcome in _HELD:
                # Someone waits for this reply: look again when it may go, even in a process
                # whose scheduler runs no deliver tick (``--role bot``).
                wait = _wait(delivery, result).total_seconds()
                if wait <= MAX_REPLY_WAIT:
                    asyncio.get_running_loop().call_later(wait + 0.05, self.wake)
        except Exception:  # the database: the row keeps its lease and is claimed again after it
            log.exception("could not record delivery %s", delivery.id)
        finally:
            if not answered:
                lane.pacer.abandoned()
            self._flying.discard(delivery.id)
            run.open -= 1
            lane.in_flight -= 1
            chat.busy = False
            chat.due -= 1
            if not go_on:
                for _, other in chat.queue:  # put back in the outbox by _record: not ours now
                    other.open -= 1
                chat.queue.clear()
            if not chat.queue and self._chats.get(chat.key) is chat:
                del self._chats[chat.key]
            self._changed.set()

    def _record(self, delivery: Delivery, result: SendResult) -> bool:
        """Store the outcome; returns whether the chat's next message may be sent now."""
        now = self.ctx.clock()
        platform, chat = delivery.platform, delivery.chat_id
        with self.ctx.db.session() as session:
            match result.outcome:
                case SendOutcome.SENT:
                    outbox.mark_sent(session, delivery.id, result.message_id, now)
                    return True
                case SendOutcome.REJECTED:
                    log.error("delivery %s rejected: %s", delivery.id, result.error)
                    outbox.fail(session, delivery.id, result.error or "rejected")
                    return True
                case SendOutcome.RATE_LIMITED:
                    wait = _wait(delivery, result)
                    log.warning("chat %s:%s rate limited for %s", platform, chat, wait)
                    until = f"{now + wait:%Y-%m-%d %H:%M:%S}Z"
                    reason = f"rate limited: retry after {wait.total_seconds():.0f} s, at {until}"
                    reason += f" ({result.error})" if result.error else ""
                    outbox.hold_chat(session, platform, chat, now + wait, reason)
                case SendOutcome.CHAT_GONE:
                    log.warning("chat %s:%s paused: %s", platform, chat, result.error)
                    # Before the pause is stored: a robot paused already is not announced again.
                    tell_admins_robot_paused(
                        session, self.ctx.config, platform, chat, result.error or "", now
                    )
                    subscribers.pause_chat(session, platform, chat, result.error or "chat gone")
                    outbox.pause_chat(session, platform, chat, result.error or "chat gone", now)
                case SendOutcome.MIGRATED if result.migrate_to:
                    log.info("chat %s:%s moved to %s", platform, chat, result.migrate_to)
                    subscribers.migrate_chat(session, platform, chat, result.migrate_to)
                    outbox.hold_chat(
                        session, platform, result.migrate_to, now, f"moved from {chat}"
                    )
                case _:
                    backoff = _wait(delivery, result)
                    outbox.hold_chat(
                        session, platform, chat, now + backoff, "waiting behind a retry"
                    )
                    outbox.retry_later(session, delivery, result.error or "failed", now + backoff)
        return False
