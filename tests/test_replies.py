"""Command replies share the bot's one send budget with digests: queued in the outbox ahead of
digest parts, paced with them, sent again after a 429's ``retry_after``; never dropped.

The burst runs a real ``newsbrief run`` (``bench/replies.py`` prints its figures).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.replies import measure_burst, newsbrief_run
from bot.i18n import t
from newsbrief.records import Message, Priority
from newsbrief.store import outbox
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow
from tests.harness import CHAT, Harness, eventually, telegram_chat
from tests.servers.botapi import BotApiServer


def replies(h: Harness) -> list[DeliveryRow]:
    with h.runtime.db.session() as session:
        return list(
            session.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.priority >= Priority.REPLY)
                .order_by(DeliveryRow.id)
            )
        )


async def test_a_reply_answered_429_is_sent_after_retry_after(harness: Harness) -> None:
    h, api = harness, harness.botapi
    api.fail_next(CHAT, 1, status=429, retry_after=1)
    api.send_user_message(CHAT, "/help", language_code="en")
    [answer] = await api.wait_for_messages(CHAT, 1, timeout=20)
    assert answer.raw_text == t("help", "en")
    assert api.stats["429"] == 1
    await eventually(lambda: [r.status for r in replies(h)] == ["sent"])
    [row] = replies(h)
    assert row.key.startswith(f"reply:telegram:{CHAT}:")
    assert row.last_error is None


async def test_replies_go_before_queued_digest_parts(harness: Harness) -> None:
    """A reply does not wait behind the digests already due: it takes the next free slot."""
    h, api = harness, harness.botapi
    api.enforce_limits = True
    now = h.runtime.ctx.clock()
    digests = 300  # 10 s at 30/s
    with h.runtime.db.session() as session:
        for n in range(digests):
            sub = telegram_chat(session, str(30_000 + n), now)
            outbox.enqueue(session, sub, f"digest:{n}", [Message(f"digest {n}")], now)
    h.runtime.deliverer.wake()  # the deliverer is busy with the digests
    await eventually(lambda: len(api.all_messages()) >= 15)
    api.send_user_message(CHAT, "/help", language_code="en")
    [answer] = await api.wait_for_messages(CHAT, 1, timeout=30)
    ahead = [m for m in api.all_messages() if m.received < answer.received]
    assert len(ahead) < digests - 100, "the reply waited for the digests due before it"
    await eventually(lambda: len(api.all_messages()) == digests + 1, timeout=40)
    assert api.stats["429"] == 0


async def test_a_blocked_chats_reply_fails_visibly_and_is_not_sent_later(
    harness: Harness,
) -> None:
    """A reply answers a moment: once the chat has blocked the bot it fails (``newsbrief
    deliveries`` shows why), it does not wait to surprise the user after they come back."""
    h, api = harness, harness.botapi
    chat = 5151
    api.send_user_message(chat, "/start", language_code="en")
    await api.wait_for_messages(chat, 1)
    api.block_chat(chat)
    api.send_user_message(chat, "/help", language_code="en")
    await eventually(lambda: [r.status for r in replies(h)][-1:] == ["failed"])
    assert "blocked" in (replies(h)[-1].last_error or "")
    api.unblock_chat(chat)
    api.send_user_message(chat, "/start", language_code="en")
    await eventually(lambda: len(api.messages(chat)) == 2)
    assert api.messages(chat)[1].raw_text.startswith("👋")
    await eventually(lambda: replies(h)[-1].status == "sent")
    assert len(api.messages(chat)) == 2  # not the old /help answer


async def test_a_pressed_button_is_answered_at_once_and_its_edit_queued(harness: Harness) -> None:
    h, api = harness, harness.botapi
    api.send_user_message(CHAT, "/topics", language_code="en")
    [topics] = await api.wait_for_messages(CHAT, 1)
    api.press_button(CHAT, topics.message_id, "/tg ai", user_id=CHAT, language_code="en")
    await eventually(lambda: len(api.callback_answers) == 1)
    await eventually(lambda: api.messages(CHAT)[0].edit_count == 1)
    edit = replies(h)[-1]
    assert edit.edit_of == str(topics.message_id)
    assert edit.buttons == [[["✓ AI", "/tg ai"], ["Crypto", "/tg crypto"]]]
    assert [b["text"] for b in api.messages(CHAT)[0].buttons] == ["✓ AI", "Crypto"]


def test_a_command_handled_twice_is_answered_once(db: Database) -> None:
    """After a crash Telegram hands out the same update again: the reply's key is the message
    it answers, so it is queued once."""
    now = datetime.now(UTC)
    with db.session() as session:
        first = outbox.enqueue_reply(
            session, "telegram", "7", "reply:telegram:7:12", Message("a"), now
        )
        again = outbox.enqueue_reply(
            session, "telegram", "7", "reply:telegram:7:12", Message("b"), now
        )
        rows = outbox.listing(session)
    assert (first, again) == (True, False)
    assert [(r.text, r.priority) for r in rows] == [("a", Priority.REPLY)]


@pytest.mark.slow
def test_a_burst_of_300_chats_gets_every_answer_without_a_429(database_url: str) -> None:
    """300 private chats each send /start and /subscribe at once to one ``newsbrief run``
    behind a Bot API server enforcing Telegram's limits: both answers each, in order, no 429.
    (The rate and latency figures: ``bench/replies.py``.)"""
    chats = 300
    with tempfile.TemporaryDirectory() as tmp, BotApiServer() as api:
        api.enforce_limits = True
        with newsbrief_run(api, database_url, Path(tmp)):
            result = measure_burst(api, chats, timeout=180)
            answers = {
                chat: [m.raw_text for m in api.messages(chat)]
                for chat in range(610_000, 610_000 + chats)
            }
    print(f"\n{result.answers} answers at {result.rate:.1f}/s, 429s: {result.too_many}")
    assert result.answered == chats, f"{chats - result.answered} chats lacked an answer"
    assert result.answers == 2 * chats  # none twice
    assert result.too_many == 0
    welcome = t("welcome", "en", help="").rstrip()  # then the first steps
    assert all(texts[0].startswith(welcome) for texts in answers.values())
    assert all(not texts[1].startswith(welcome) for texts in answers.values())


def test_a_lapsed_claim_taken_by_another_sender_is_not_its_old_holders(db: Database) -> None:
    """Claims carry their sender: a sender whose short lease lapsed (a stalled process) finds
    out before sending, and its renewals do not steal the message back."""
    now = datetime.now(UTC)
    hold = timedelta(seconds=5)
    with db.session() as session:
        sub = telegram_chat(session, "77", now)
        outbox.enqueue(session, sub, "digest:77", [Message("news")], now)
        [row] = outbox.listing(session)
        assert [d.id for d in outbox.claim(session, [row.id], now, hold, "a")] == [row.id]
        later = now + timedelta(seconds=6)  # a's lease is over
        assert outbox.claim(session, [row.id], later, hold, "b") != []
        assert outbox.renew(session, [row.id], "a", later + hold) == 0
        assert not outbox.held(session, row.id, "a", later + timedelta(minutes=10))
        assert outbox.held(session, row.id, "b", later + timedelta(minutes=10))
        # A renewal never shortens a lease: the message being sent keeps the long one.
        assert outbox.renew(session, [row.id], "b", later + hold) == 0
