"""Updates of different chats run at once; one chat's run one at a time, in arrival order."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.telegram.updates import MAX_CONCURRENT, PerChatUpdates


def message(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    sent = Message(message_id=update_id, date=datetime.now(UTC), chat=chat, text="/help")
    return Update(update_id=update_id, message=sent)


def button(update_id: int, user_id: int) -> Update:
    user = User(id=user_id, first_name="u", is_bot=False)
    query = CallbackQuery(id=str(update_id), from_user=user, chat_instance="x", data="topics")
    return Update(update_id=update_id, callback_query=query)


async def feed(processor: PerChatUpdates, updates: list[Update], pause: float) -> list[tuple]:
    """Hand ``updates`` over as PTB does (a task each, in order); what each did, when."""
    events: list[tuple] = []
    rng = random.Random(7)

    async def handle(update: Update) -> None:
        key = update.effective_chat.id if update.effective_chat else update.effective_user.id
        events.append(("start", key, update.update_id))
        await asyncio.sleep(pause * rng.random())
        events.append(("end", key, update.update_id))

    tasks = [
        asyncio.create_task(processor.process_update(update, handle(update))) for update in updates
    ]
    await asyncio.gather(*tasks)
    return events


async def test_one_chats_updates_keep_their_order_and_never_overlap() -> None:
    processor = PerChatUpdates()
    chats = [1, 2, 3, 4, 5]
    updates = [message(i, chats[i % len(chats)]) for i in range(60)]
    updates += [button(100 + i, 9) for i in range(5)]  # a button press has a user, no chat here
    events = await feed(processor, updates, 0.01)

    for chat in [*chats, 9]:
        mine = [(kind, uid) for kind, key, uid in events if key == chat]
        # start, end, start, end, ... in update order: never two at once, never reordered
        assert [kind for kind, _ in mine] == ["start", "end"] * (len(mine) // 2)
        ids = [uid for kind, uid in mine if kind == "start"]
        assert ids == sorted(ids)
    assert processor._chats == {}  # nothing kept once a chat is idle


async def test_different_chats_run_at_once() -> None:
    processor = PerChatUpdates()
    updates = [message(i, 1000 + i) for i in range(20)]
    started = asyncio.get_running_loop().time()
    events = await feed(processor, updates, 0.2)
    elapsed = asyncio.get_running_loop().time() - started
    running = peak = 0
    for kind, _, _ in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == MAX_CONCURRENT  # 20 chats, 16 handled at once
    assert elapsed < 1.0  # one after another: about 2 s


async def test_a_busy_chat_does_not_hold_up_the_others() -> None:
    """A flood from one chat fills no more than its own queue: another chat's update that came
    after it is handled long before the flood is through."""
    processor = PerChatUpdates(max_concurrent_updates=2)
    updates = [message(i, 1) for i in range(40)] + [message(99, 2)]
    events = await feed(processor, updates, 0.02)
    other_done = events.index(("end", 2, 99))
    flood_done = max(i for i, e in enumerate(events) if e[1] == 1)
    assert other_done < flood_done
