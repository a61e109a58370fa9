"""The outbox against a Bot API server that rate-limits, blocks and migrates chats."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.telegram.sender import TelegramSender
from jobs.deliver import Deliverer
from newsbrief.cli.commands import build_parser, run
from newsbrief.records import Delivery, DeliveryStatus, Message, SendOutcome
from newsbrief.store import outbox, subscribers
from tests.harness import Harness, eventually, telegram_chat


def queue(h: Harness, chat: int, texts: list[str], key: str = "k") -> int:
    db, now = h.runtime.db, h.runtime.ctx.clock()
    with db.session() as session:
        sub = telegram_chat(session, str(chat), now)
        outbox.enqueue(session, sub, f"{key}:{chat}", [Message(t) for t in texts], now)
    return sub.id


def just_after(real: Callable[[], datetime], moment: datetime) -> Callable[[], datetime]:
    """A clock that has jumped past ``moment`` (and goes on from there)."""
    return lambda: max(real(), moment + timedelta(seconds=1))


def quick_retries(h: Harness) -> None:
    """Pacing is not under test: let a chat's retries follow each other in real time quickly."""
    assert h.runtime.bot is not None
    h.runtime.ctx.senders["telegram"] = TelegramSender(h.runtime.bot, private_per_second=50)
    h.runtime.deliverer = Deliverer(h.runtime.ctx)


def statuses(h: Harness) -> dict[str, str]:
    """The digest parts' states (command replies go through the outbox too: not these)."""
    with h.runtime.db.session() as session:
        rows = outbox.listing(session)
        return {row.key: row.status for row in rows if not row.key.startswith("reply:")}


async def test_rate_limited_chat_waits_alone(harness: Harness) -> None:
    h, api = harness, harness.botapi
    queue(h, 1, ["one", "two"])
    queue(h, 2, ["other"])
    api.fail_next(1, 1, status=429, retry_after=5)
    sent = await h.runtime.deliverer.tick()
    assert sent == 1
    assert [m.text for m in api.messages(2)] == ["other"]
    assert api.messages(1) == []
    held = statuses(h)
    assert held["k:1:0"] == held["k:1:1"] == "pending"
    with h.runtime.db.session() as session:
        rows = {r.key: r for r in outbox.listing(session)}
    assert rows["k:1:0"].last_error and "retry" in rows["k:1:0"].last_error.lower()
    wait = rows["k:1:0"].due_at - h.runtime.ctx.clock()
    assert timedelta(seconds=3) < wait <= timedelta(seconds=5)
    # When the wait is over, both go out, in order.
    h.runtime.ctx.clock = lambda: rows["k:1:0"].due_at + timedelta(seconds=1)
    assert await h.runtime.deliverer.tick() == 2
    assert [m.text for m in api.messages(1)] == ["one", "two"]


async def test_blocked_chat_is_paused_until_start(harness: Harness) -> None:
    h, api = harness, harness.botapi
    sub_id = queue(h, 5, ["digest"])
    api.block_chat(5)
    assert await h.runtime.deliverer.tick() == 0
    assert statuses(h) == {"k:5:0": "paused"}
    with h.runtime.db.session() as session:
        assert subscribers.get(session, sub_id).paused  # type: ignore[union-attr]
    api.unblock_chat(5)
    reply = await h.say("/start", expect=1, chat=5)
    assert reply.startswith("👋 Welcome back")
    messages = await api.wait_for_messages(5, 2)
    assert messages[1].text == "digest"
    await eventually(lambda: statuses(h) == {"k:5:0": "sent"})


async def test_migrated_group_moves_the_subscriber(harness: Harness) -> None:
    h, api = harness, harness.botapi
    sub_id = queue(h, -40, ["to the group"])
    api.migrate_chat(-40, -1000040)
    await h.runtime.deliverer.tick()
    await h.runtime.deliverer.tick()
    assert [m.text for m in api.messages(-1000040)] == ["to the group"]
    with h.runtime.db.session() as session:
        assert subscribers.get(session, sub_id).chat_id == "-1000040"  # type: ignore[union-attr]


async def test_a_message_telegram_refuses_fails_visibly_and_the_next_goes_on(
    harness: Harness,
) -> None:
    h, api = harness, harness.botapi
    queue(h, 9, ["<b>broken", "fine"])
    assert await h.runtime.deliverer.tick() == 1
    assert [m.text for m in api.messages(9)] == ["fine"]
    with h.runtime.db.session() as session:
        failed = outbox.listing(session, "failed")
    assert [r.key for r in failed] == ["k:9:0"]
    assert "can't parse entities" in (failed[0].last_error or "").lower()


async def test_a_429_for_one_chat_does_not_slow_the_others(harness: Harness) -> None:
    h, api = harness, harness.botapi
    queue(h, 1, ["held"])
    for chat in (2, 3, 4):
        queue(h, chat, ["a", "b", "c"])
    api.fail_next(1, 1, status=429, retry_after=5)
    start = time.monotonic()
    assert await h.runtime.deliverer.tick() == 9
    took = time.monotonic() - start
    # The others go at their own pace (1 s apart per chat), not after the 5 s wait.
    for chat in (2, 3, 4):
        got = api.messages(chat)
        assert [m.text for m in got] == ["a", "b", "c"]
        assert got[-1].received - start < 3.5
        gaps = [b.received - a.received for a, b in itertools.pairwise(got)]
        assert all(gap > 0.8 for gap in gaps), gaps  # 1 s, less a busy machine's jitter
    assert took < 4, took
    assert api.messages(1) == []


async def test_a_24_hour_retry_after_keeps_the_messages_queued_visibly(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h, api = harness, harness.botapi
    queue(h, 7, ["first", "second"])
    queue(h, 8, ["unaffected"])
    api.fail_next(7, 1, status=429, retry_after=86400)
    assert await h.runtime.deliverer.tick() == 1
    assert [m.text for m in api.messages(8)] == ["unaffected"]

    config = tmp_path / "newsbrief.yaml"
    config.write_text(f"database_url: {h.runtime.config.database_url}\n", encoding="utf-8")
    capsys.readouterr()
    assert run(build_parser()[0], ["--config", str(config), "deliveries", "--json"]) == 0
    shown = {d["key"]: d for d in json.loads(capsys.readouterr().out)}
    now = h.runtime.ctx.clock()
    for key in ("k:7:0", "k:7:1"):
        assert shown[key]["status"] == "pending"
        assert "rate limited: retry after 86400 s" in shown[key]["last_error"]
        due = datetime.fromisoformat(shown[key]["due_at"])
        assert timedelta(hours=23, minutes=59) < due - now <= timedelta(hours=24)
    assert shown["k:8:0"]["status"] == "sent"

    # Nothing goes out before the day is over, everything does after it, in order.
    real = h.runtime.ctx.clock
    h.runtime.ctx.clock = lambda: real() + timedelta(hours=23)
    assert await h.runtime.deliverer.tick() == 0
    h.runtime.ctx.clock = lambda: real() + timedelta(hours=24, seconds=1)
    assert await h.runtime.deliverer.tick() == 2
    assert [m.text for m in api.messages(7)] == ["first", "second"]
    assert statuses(h)["k:7:1"] == "sent"


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retried_with_backoff(harness: Harness, status: int) -> None:
    h, api = harness, harness.botapi
    quick_retries(h)
    queue(h, 11, ["one", "two"])
    api.fail_next(11, 2, status=status)
    real = h.runtime.ctx.clock
    waits = []
    for attempt in (1, 2):
        assert await h.runtime.deliverer.tick() == 0
        with h.runtime.db.session() as session:
            rows = {r.key: r for r in outbox.listing(session)}
        first = rows["k:11:0"]
        assert first.status == rows["k:11:1"].status == "pending"  # not failed
        assert first.attempts == attempt
        assert (first.last_error or "").startswith("network:"), first.last_error
        waits.append(first.due_at - h.runtime.ctx.clock())
        due = first.due_at
        h.runtime.ctx.clock = just_after(real, due)
    assert timedelta(seconds=4) < waits[0] <= timedelta(seconds=5)
    assert timedelta(seconds=9) < waits[1] <= timedelta(seconds=10)  # doubled
    assert await h.runtime.deliverer.tick() == 2
    assert [m.text for m in api.messages(11)] == ["one", "two"]


async def test_a_message_that_keeps_failing_ends_failed_visibly(harness: Harness) -> None:
    h, api = harness, harness.botapi
    quick_retries(h)
    queue(h, 12, ["doomed", "next"])
    api.fail_next(12, outbox.MAX_ATTEMPTS, status=500)
    real = h.runtime.ctx.clock
    for _ in range(outbox.MAX_ATTEMPTS):
        await h.runtime.deliverer.tick()
        with h.runtime.db.session() as session:
            row = next(r for r in outbox.listing(session) if r.key == "k:12:0")
        due = row.due_at
        h.runtime.ctx.clock = just_after(real, due)
    await h.runtime.deliverer.tick()
    with h.runtime.db.session() as session:
        rows = {r.key: r for r in outbox.listing(session)}
    assert rows["k:12:0"].status == "failed"
    assert rows["k:12:0"].attempts == outbox.MAX_ATTEMPTS
    assert "Internal Server Error" in (rows["k:12:0"].last_error or "")
    assert rows["k:12:1"].status == "sent"  # the chat goes on once the message is given up
    assert [m.text for m in api.messages(12)] == ["next"]


async def test_network_errors_are_retried_not_failed() -> None:
    # Nothing listens on this port: the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = Bot("123:T", base_url=f"http://127.0.0.1:{port}/bot")
    delivery = Delivery(1, "k", 0, "telegram", "5", None, Message("hi"), DeliveryStatus.SENDING)
    result = await TelegramSender(bot).send(delivery)
    assert result.outcome is SendOutcome.RETRY
    assert result.error and result.error.startswith("network:")
