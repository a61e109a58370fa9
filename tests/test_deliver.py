"""The outbox against a Bot API server that rate-limits, blocks and migrates chats."""

from __future__ import annotations

from datetime import timedelta

from newsbrief.records import Message
from newsbrief.store import outbox, subscribers
from tests.harness import Harness, eventually


def queue(h: Harness, chat: int, texts: list[str], key: str = "k") -> int:
    db, now = h.runtime.db, h.runtime.ctx.clock()
    with db.session() as session:
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            str(chat),
            None,
            lang="en",
            timezone="UTC",
            schedule="instant",
            now=now,
            backlog=timedelta(0),
        )
        outbox.enqueue(session, sub, f"{key}:{chat}", [Message(t) for t in texts], now)
    return sub.id


def statuses(h: Harness) -> dict[str, str]:
    with h.runtime.db.session() as session:
        return {row.key: row.status for row in outbox.listing(session)}


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
