"""The deliver tick.

    outbox rows due | per chat, in order, paced within the platform's limits | send
        | record message id, or hold / pause / move / fail visibly

Each chat is a queue: when one of its messages cannot go now, the rest wait behind it, so parts
of a digest never arrive out of order. Chats are independent: one rate-limited chat slows no
other.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from bot.senders import Pacer, Sender
from jobs.context import JobContext
from newsbrief.records import Delivery, SendOutcome, SendResult
from newsbrief.store import outbox, subscribers

log = logging.getLogger(__name__)

BATCH = 200
MAX_BACKOFF = timedelta(hours=1)


class Deliverer:
    """Keeps the pacing state between ticks, so limits hold across tick boundaries."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.pacers = {name: Pacer(s.global_interval) for name, s in ctx.senders.items()}
        self._lock = asyncio.Lock()

    async def tick(self) -> int:
        """Send what is due; returns how many messages were sent. One tick at a time."""
        async with self._lock:
            ctx = self.ctx
            if not ctx.senders:
                return 0
            now = ctx.clock()
            lease = timedelta(seconds=ctx.config.scheduler.delivery_lease)

            def claim() -> list[Delivery]:
                with ctx.db.session() as session:
                    return outbox.claim_due(session, now, BATCH, lease, list(ctx.senders))

            due = await asyncio.to_thread(claim)
            chats: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
            for delivery in due:
                chats[(delivery.platform, delivery.chat_id)].append(delivery)
            sent = await asyncio.gather(*(self._chat(queue) for queue in chats.values()))
            return sum(sent)

    async def _chat(self, queue: list[Delivery]) -> int:
        sender = self.ctx.senders[queue[0].platform]
        pacer = self.pacers[sender.platform]
        sent = 0
        for delivery in queue:
            await pacer.wait(delivery.chat_id, sender.chat_interval(delivery.chat_id))
            try:
                result = await sender.send(delivery)
            except Exception as exc:  # a sender bug must not lose the message
                log.exception("sender %s crashed on delivery %s", sender.platform, delivery.id)
                result = SendResult(SendOutcome.RETRY, error=f"{type(exc).__name__}: {exc}")
            go_on = await asyncio.to_thread(self._record, sender, delivery, result)
            sent += result.outcome is SendOutcome.SENT
            if not go_on:
                break
        return sent

    def _record(self, sender: Sender, delivery: Delivery, result: SendResult) -> bool:
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
                    wait = timedelta(seconds=max(1.0, result.retry_after or 1.0))
                    log.warning("chat %s:%s rate limited for %s", platform, chat, wait)
                    outbox.hold_chat(session, platform, chat, now + wait, result.error or "429")
                case SendOutcome.CHAT_GONE:
                    log.warning("chat %s:%s paused: %s", platform, chat, result.error)
                    subscribers.pause_chat(session, platform, chat, result.error or "chat gone")
                    outbox.pause_chat(session, platform, chat, result.error or "chat gone")
                case SendOutcome.MIGRATED if result.migrate_to:
                    log.info("chat %s:%s moved to %s", platform, chat, result.migrate_to)
                    subscribers.migrate_chat(session, platform, chat, result.migrate_to)
                    outbox.hold_chat(
                        session, platform, result.migrate_to, now, f"moved from {chat}"
                    )
                case _:
                    backoff = min(timedelta(seconds=5 * 2**delivery.attempts), MAX_BACKOFF)
                    outbox.hold_chat(
                        session, platform, chat, now + backoff, "waiting behind a retry"
                    )
                    outbox.retry_later(session, delivery, result.error or "failed", now + backoff)
        return False
