"""Delivery at Telegram's flood limits: 2,000 subscribers, 3,000 messages, zero 429s.

The loopback Bot API server enforces Telegram's limits (30 messages/s overall, ~1/s per private
chat with a burst of 3, 20 in any minute per group or channel) and answers 429 with retry_after past them.
The subscribers are 80% private chats, 15% groups, 5% channels; every one gets a digest of 1-5
parts (3,000 messages in all), written to the outbox in a shuffled order, all due at once. One
deliver tick sends them all, paced by the deliverer.

Prints messages/s against the 30/s limit, the 429 count, wall time, the busiest second and the
tightest spacing seen per chat, and a baseline: the same messages sent through the same sender without
pacing, counting the 429s Telegram would answer.

    .venv/bin/python bench/deliver.py [--subscribers 2000] [--messages 3000] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.databases import database
from bot.telegram.sender import TelegramSender, bot_base_url
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.records import Delivery, DeliveryStatus, Message, SendOutcome
from newsbrief.store import outbox
from tests.harness import telegram_chat
from tests.servers.botapi import BotApiServer

LIMIT = 30.0
MAX_PARTS = 5


@dataclass(frozen=True)
class Limits:
    """Telegram's limits times ``scale``, for the server and our sender alike."""

    scale: float = 1.0

    def server(self, api: BotApiServer) -> None:
        api.enforce_limits = True
        api.limit_global_per_s = round(LIMIT * self.scale)
        api.limit_private_per_s = 1.0 * self.scale
        api.limit_group_per_min = round(20 * self.scale)

    def sender(self, bot: Bot) -> TelegramSender:
        return TelegramSender(
            bot,
            max_per_second=LIMIT * self.scale,
            private_per_second=1.0 * self.scale,
            group_per_minute=20 * self.scale,
        )


def chats(count: int) -> list[str]:
    """80% private chats, 15% groups (negative ids), 5% channels (@usernames)."""
    out = []
    for i in range(count):
        kind = i % 20
        if kind < 16:
            out.append(str(100_000 + i))
        elif kind < 19:
            out.append(str(-(100_000 + i)))
        else:
            out.append(f"@bench_channel_{i}")
    return out


def plan(subscriber_count: int, message_count: int, seed: int = 5) -> list[tuple[str, int]]:
    """(chat, parts) for every subscriber, in the shuffled order they are written."""
    assert subscriber_count <= message_count <= subscriber_count * MAX_PARTS
    rng = random.Random(seed)
    parts = dict.fromkeys(chats(subscriber_count), 1)
    names = list(parts)
    extra = message_count - subscriber_count
    # The longest chains: a group and a channel with a 5-part digest (12 s at 20/min).
    for chat in [next(c for c in names if c.startswith(p)) for p in ("-", "@")][: extra // 4]:
        parts[chat] = MAX_PARTS
        extra -= MAX_PARTS - 1
    while extra:
        chat = rng.choice(names)
        if parts[chat] < MAX_PARTS:
            parts[chat] += 1
            extra -= 1
    rng.shuffle(names)
    return [(chat, parts[chat]) for chat in names]


def text(chat: str, part: int) -> str:
    return f"<b>Digest</b> for {chat}, part {part + 1}: <a href='https://news.example/{part}'>story</a>"


def fill_outbox(runtime: Runtime, layout: list[tuple[str, int]]) -> None:
    now = runtime.ctx.clock()
    with runtime.db.session() as session:
        for chat, count in layout:
            sub = telegram_chat(session, chat, now)
            messages = [Message(text(chat, i), parse_mode="HTML") for i in range(count)]
            outbox.enqueue(session, sub, f"digest:{chat}", messages, now)


@dataclass
class Result:
    messages: int
    wall: float
    rate: float
    too_many: int
    busiest_second: int
    """Most arrivals within any one second: the limit at most."""
    min_private_gap: float
    min_group_gap: float
    in_order: bool


def check(api: BotApiServer, layout: list[tuple[str, int]], limits: Limits) -> Result:
    """What the server received: every message once, in order per chat, and its spacing."""
    received = sorted(api.all_messages(), key=lambda m: m.received)
    by_chat: dict[int, list[float]] = defaultdict(list)
    in_order = True
    for chat, count in layout:
        got = api.messages(chat)
        in_order &= [m.raw_text for m in got] == [text(chat, i) for i in range(count)]
        by_chat[got[0].chat_id if got else 0] = [m.received for m in got]
    private: list[float] = []
    group: list[float] = []
    for chat_id, times in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        (private if chat_id > 0 else group).extend(gaps)
    stamps = [m.received for m in received]
    busiest = max(
        (bisect.bisect_left(stamps, t + 1.0) - i for i, t in enumerate(stamps)), default=0
    )
    return Result(
        messages=len(received),
        wall=0.0,
        rate=0.0,
        too_many=api.stats["429"],
        busiest_second=busiest,
        min_private_gap=min(private, default=float("inf")),
        min_group_gap=min(group, default=float("inf")),
        in_order=in_order,
    )


async def deliver(
    database_url: str, layout: list[tuple[str, int]], limits: Limits = Limits()
) -> Result:
    """Fill the outbox, then time one tick that sends everything within the limits."""
    with BotApiServer() as api:
        limits.server(api)
        config = Config(
            database_url=database_url,
            telegram={"token": api.token, "api_base_url": f"http://127.0.0.1:{api.port}"},
        )
        bot = Bot(api.token, base_url=bot_base_url(config.telegram.api_base_url))
        runtime = Runtime(config, senders={"telegram": limits.sender(bot)})
        runtime.start()
        try:
            await bot.initialize()
            fill_outbox(runtime, layout)
            t0 = time.perf_counter()
            sent = 0
            while batch := await runtime.deliverer.tick():
                sent += batch
            wall = time.perf_counter() - t0
            with runtime.db.session() as session:
                left = [r for r in outbox.listing(session, limit=10**6) if r.status != "sent"]
            assert not left, f"{len(left)} not sent, e.g. {left[0].key} {left[0].status}"
            assert not api.errors, api.errors[0]
        finally:
            await bot.shutdown()
            await runtime.aclose()
        result = check(api, layout, limits)
    result.wall, result.rate = wall, sent / wall
    return result


async def unpaced(layout: list[tuple[str, int]], limits: Limits = Limits()) -> tuple[int, int]:
    """Baseline: the same messages through the same sender with no pacing; (429s, messages)."""
    with BotApiServer() as api:
        limits.server(api)
        async with Bot(api.token, base_url=f"http://127.0.0.1:{api.port}/bot") as bot:
            sender = limits.sender(bot)
            n = 0
            for chat, count in layout:
                for i in range(count):
                    n += 1
                    message = Message(text(chat, i), parse_mode="HTML")
                    delivery = Delivery(
                        n, "k", 0, "telegram", chat, None, message, DeliveryStatus.PENDING
                    )
                    result = await sender.send(delivery)
                    assert result.outcome in (SendOutcome.SENT, SendOutcome.RATE_LIMITED), result
        return api.stats["429"], n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    layout = plan(args.subscribers, args.messages)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    groups = sum(1 for chat, _ in layout if not chat.isdigit())
    print(
        f"{args.subscribers} subscribers ({groups} groups/channels), {args.messages} messages, "
        f"limit {LIMIT:.0f}/s: at best {args.messages / LIMIT:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            with database(kind, Path(tmp)) as url:
                r = asyncio.run(deliver(url, layout))
            print(
                f"{kind:>8}: {r.messages} delivered in {r.wall:.1f} s = {r.rate:.2f} msg/s "
                f"= {r.rate / LIMIT:.1%} of {LIMIT:.0f}/s; 429 answers: {r.too_many}; "
                f"in order per chat: {r.in_order}"
            )
            print(
                f"          busiest second: {r.busiest_second} messages; tightest gap in a "
                f"private chat {r.min_private_gap:.3f} s, in a group/channel {r.min_group_gap:.3f} s"
            )
    too_many, n = asyncio.run(unpaced(layout))
    print(f"baseline, same sender unpaced: {too_many} of {n} sends answered 429")


if __name__ == "__main__":
    main()
