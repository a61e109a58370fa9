"""Delivery within Telegram's flood limits, against a Bot API server that enforces them.

The scenario of ``bench/deliver.py`` made small: private chats, groups and channels, digests of
1-5 parts, with the server's limits and ours both tripled so it runs in seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools

from bench.deliver import Limits, deliver, plan
from bot.senders import Pacer, Window
from bot.telegram.sender import TelegramSender
from jobs.deliver import Deliverer
from newsbrief.records import Message
from newsbrief.store import outbox
from tests.harness import Harness, telegram_chat

SCALE = 3.0


async def test_a_crowd_of_chats_gets_everything_in_order_with_no_429(database_url: str) -> None:
    layout = plan(100, 180)
    assert max(parts for _, parts in layout) == 5
    result = await deliver(database_url, layout, Limits(SCALE))
    assert result.messages == 180
    assert result.too_many == 0
    assert result.in_order
    # Our own spacing, as the server saw it (less the jitter of a busy machine).
    assert result.min_private_gap > 0.8 / SCALE
    assert result.min_group_gap > 0.8 / SCALE  # a second apart in a group too (20/min: below)
    # 90 (30 scaled) in any second, as the server received them.
    assert result.busiest_second <= 30 * SCALE
    # Not much slower than the limits allow: the longest chain is a 5-part group at 1 s.
    assert result.wall < 3 * max(180 / (30 * SCALE), 4 * 3 / SCALE), result


def test_the_pacer_keeps_the_global_and_per_chat_intervals() -> None:
    pacer = Pacer(1 / 30)
    starts: list[tuple[float, str]] = []
    now = 0.0
    chats = [f"c{i}" for i in range(50)]
    while now < 20:
        ready = [c for c in chats if max(pacer.next_global, pacer.chat_ready_at(c)) <= now]
        if ready:
            chat = ready[len(starts) % len(ready)]
            pacer.take(chat, 1.0, now)
            pacer.finished(chat, 1.0, now + 0.002)
            starts.append((now, chat))
        # Wake-ups up to 12 ms late, and twice the sender stalls for 0.3 s and 2 s.
        now = (
            max(now, min(max(pacer.next_global, pacer.chat_ready_at(c)) for c in chats))
            + (len(starts) % 7) * 0.002
        )
        now += {100: 0.3, 400: 2.0}.get(len(starts), 0.0) if ready else 0.0
    times = [t for t, _ in starts]
    # Never over 30 in any second, so a stall is not made up for (the grid's catch-up stays
    # inside the window); little else is lost to late wake-ups.
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= 30
    assert len(times) >= 30 * (20 - 2.0 - 0.3) * 0.98
    assert len(times) <= 30 * 20 + 1
    last: dict[str, float] = {}
    for t, chat in starts:
        assert t - last.get(chat, -9) >= 1.0
        last[chat] = t


def test_a_group_gets_20_a_minute_a_second_apart() -> None:
    """Telegram's group limit is 20 in any minute: the first 20 go a second apart (a group's
    replies need not wait 3 s each), then the group waits for its minute; never 21 in 60 s."""
    pacer = Pacer(1 / 30)
    window = Window(20, 60.0)
    starts: list[float] = []
    now = 0.0
    while now < 200:
        ready = max(pacer.next_global, pacer.chat_ready_at("-100"))
        now = max(now, ready) + (len(starts) % 5) * 0.003  # wake-ups a little late
        pacer.take("-100", 1.0, now, window)
        pacer.finished("-100", 1.0, now + 0.01)
        starts.append(now)
    assert starts[19] < 21  # the first 20 in about 20 s
    for i, t in enumerate(starts):
        assert bisect.bisect_left(starts, t + 60.0) - i <= 20
    assert len(starts) >= 3 * 20  # and the minutes after are used in full
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1.0


async def test_a_slow_chat_does_not_hold_up_a_tick_started_later(harness: Harness) -> None:
    h, api = harness, harness.botapi
    api.enforce_limits = True
    assert h.runtime.bot is not None
    # Every chat 3 s apart: a chat that keeps its tick busy for a while.
    h.runtime.ctx.senders["telegram"] = TelegramSender(h.runtime.bot, private_per_second=1 / 3)
    h.runtime.deliverer = Deliverer(h.runtime.ctx)
    now = h.runtime.ctx.clock()

    def queue(chat: str, texts: list[str]) -> None:
        with h.runtime.db.session() as session:
            sub = telegram_chat(session, chat, now)
            outbox.enqueue(session, sub, f"d:{chat}", [Message(t) for t in texts], now)

    queue("-500", ["g1", "g2"])  # 3 s apart
    slow = asyncio.create_task(h.runtime.deliverer.tick())
    await api.wait_for_messages(-500, 1)
    queue("501", ["welcome"])
    woken = await h.runtime.deliverer.tick()  # a command's wake-up, while the group waits
    assert [m.text for m in api.messages(501)] == ["welcome"]
    # It went out while the group's second message waited for its turn: it did not queue
    # behind that chat. (Either tick may send it: they share the queues; together they sent
    # each message once.)
    assert woken + await slow == 3
    group = api.messages(-500)
    assert [m.text for m in group] == ["g1", "g2"]
    assert api.messages(501)[0].received < group[1].received
    assert group[1].received - group[0].received >= 2.95
    assert api.stats["429"] == 0
