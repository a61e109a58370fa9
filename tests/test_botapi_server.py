"""The loopback Bot API server, driven by python-telegram-bot's own Bot over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.servers.botapi import BotApiServer, parse_html

CHAT = 42


@pytest.fixture
def server() -> Iterator[BotApiServer]:
    with BotApiServer(max_poll_timeout=2.0) as srv:
        yield srv


@pytest.fixture
async def bot(server: BotApiServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url) as tg_bot:
        yield tg_bot


# PTB 22 reads RetryAfter.retry_after already while building the exception and warns that it
# will become a timedelta (unless PTB_TIMEDELTA is set); filterwarnings=error would turn every
# 429 into that warning instead of RetryAfter.
allow_retry_after_int = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after  # int by default, timedelta with PTB_TIMEDELTA=true
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def test_get_me(bot: Bot, server: BotApiServer) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "newsbrief_test_bot", True)
    assert me.can_join_groups is True
    assert server.calls("getMe")


async def test_send_html_with_link_emoji_and_escapes(bot: Bot, server: BotApiServer) -> None:
    html = 'Read <b>this</b> 😀 <a href="https://example.com/a?x=1&amp;y=2">link</a> 1 &lt; 2'
    msg = await bot.send_message(CHAT, html, parse_mode="HTML")

    assert msg.text == "Read this 😀 link 1 < 2"
    assert msg.chat.id == CHAT and msg.from_user is not None and msg.from_user.is_bot
    # Offsets are UTF-16: the emoji takes two units, so PTB must slice correctly.
    assert {e.type: text for e, text in msg.parse_entities().items()} == {
        MessageEntity.BOLD: "this",
        MessageEntity.TEXT_LINK: "link",
    }
    link = next(e for e in msg.entities if e.type == MessageEntity.TEXT_LINK)
    assert (link.offset, link.length, link.url) == (13, 4, "https://example.com/a?x=1&y=2")

    [recorded] = server.messages(CHAT)
    assert (recorded.raw_text, recorded.text, recorded.parse_mode) == (html, msg.text, "HTML")
    assert recorded.message_id == msg.message_id


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("AT&T", 'Unsupported HTML entity "&T" at byte offset 2'),
        ("hi <foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
    ],
)
async def test_malformed_html_is_rejected(
    bot: Bot, server: BotApiServer, html: str, error: str
) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(CHAT, html, parse_mode="HTML")
    assert error.lower() in info.value.message.lower()  # PTB re-capitalizes the description
    assert server.messages(CHAT) == []


def test_stray_gt_and_code_blocks_parse_like_telegram() -> None:
    text, entities = parse_html('x > y <pre><code class="language-py">a</code></pre>')
    assert text == "x > y a"
    assert entities == [{"type": "pre", "offset": 6, "length": 1, "language": "py"}]


async def test_length_limit_counts_utf16_units(bot: Bot) -> None:
    await bot.send_message(CHAT, "😀" * 2048)  # 4096 UTF-16 units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")


async def test_entities_outside_text_are_rejected(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="outside the text"):
        await bot.send_message(CHAT, "abc", entities=[MessageEntity("bold", 1, 5)])


async def test_blocked_chat_is_forbidden(bot: Bot, server: BotApiServer) -> None:
    server.block_chat(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")


@allow_retry_after_int
async def test_fail_next_429_then_500_then_recovers(bot: Bot, server: BotApiServer) -> None:
    server.fail_next(CHAT, 1, status=429, retry_after=5)
    server.fail_next(CHAT, 1, status=500)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(CHAT, "hi")
    assert retry_after_seconds(info.value) == 5
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")
    assert server.stats["429"] == 1
    assert len(server.messages(CHAT)) == 1


async def test_migrated_and_forgotten_chats(bot: Bot, server: BotApiServer) -> None:
    server.migrate_chat(-555, -1001234567890)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-555, "hi")
    assert info.value.new_chat_id == -1001234567890
    await bot.send_message(-1001234567890, "hi")

    server.forget_chat(-777)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-777, "hi")


async def test_get_updates_long_polls_for_injected_message(bot: Bot, server: BotApiServer) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=2))
    await asyncio.sleep(0.1)
    assert not poll.done()  # really waiting for an update
    server.send_user_message(CHAT, "/start hello", username="alice")
    [update] = await poll
    assert time.monotonic() - started < 1.5

    assert isinstance(update, Update) and update.message is not None
    message = update.message
    assert message.from_user is not None and message.from_user.username == "alice"
    assert (message.text, message.chat.type) == ("/start hello", "private")
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        (MessageEntity.BOT_COMMAND, 0, 6)
    ]
    assert server.pending_updates() == 1  # delivered, not yet confirmed
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert server.pending_updates() == 0


async def test_forum_topics_channels_and_usernames(bot: Bot, server: BotApiServer) -> None:
    server.send_user_message(
        -1001,
        "/digest@newsbrief_test_bot",
        chat_type="supergroup",
        message_thread_id=5,
        is_topic_message=True,
        chat_title="News",
    )
    server.send_channel_post(-1002, "post", title="Chan", username="chan")
    topic_update, post_update = await bot.get_updates()
    topic = topic_update.message
    assert topic is not None and topic.chat.is_forum and topic.message_thread_id == 5
    assert topic.entities[0].length == len("/digest@newsbrief_test_bot")
    assert post_update.channel_post is not None
    assert post_update.channel_post.chat.type == "channel"

    reply = await bot.send_message(
        -1001, "re", message_thread_id=5, reply_to_message_id=topic.message_id
    )
    assert reply.is_topic_message and reply.reply_to_message is not None
    await bot.send_message("@chan", "to channel")
    assert [m.text for m in server.messages(-1002)] == ["to channel"]
    assert server.messages("@chan") == server.messages(-1002)


async def test_button_press_is_a_callback_query(bot: Bot, server: BotApiServer) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Pick A", callback_data="pick:a")]])
    sent = await bot.send_message(CHAT, "Choose", reply_markup=keyboard)
    assert sent.reply_markup == keyboard

    server.press_button(CHAT, sent.message_id, "pick:a")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert isinstance(query, CallbackQuery)
    assert query.data == "pick:a" and query.message is not None
    assert query.message.message_id == sent.message_id
    await query.answer("Done")
    assert server.callback_answers[0]["text"] == "Done"
    with pytest.raises(ValueError, match="no button"):
        server.press_button(CHAT, sent.message_id, "pick:b")


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])

    await bot.send_message(CHAT, "ok", reply_markup=keyboard("é" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "bad", reply_markup=keyboard("x" * 65))


async def test_edit_message_text(bot: Bot, server: BotApiServer) -> None:
    sent = await bot.send_message(CHAT, "<b>v1</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>v1</b>", CHAT, sent.message_id, parse_mode="HTML")
    edited = await bot.edit_message_text("v2", CHAT, sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "v2"
    [recorded] = server.messages(CHAT)
    assert (recorded.text, recorded.edited, recorded.entities) == ("v2", True, [])


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ("member", ChatMemberMember),
        ("administrator", ChatMemberAdministrator),
        ("creator", ChatMemberOwner),
    ],
)
async def test_get_chat_member_statuses(
    bot: Bot, server: BotApiServer, status: str, cls: type
) -> None:
    server.set_member_status(-100, 7, status)
    member = await bot.get_chat_member(-100, 7)
    assert isinstance(member, cls) and member.status == status and member.user.id == 7


async def test_other_member_statuses_and_get_chat_parse(bot: Bot, server: BotApiServer) -> None:
    for status in ("restricted", "left", "kicked"):
        server.set_member_status(-100, 7, status)
        assert (await bot.get_chat_member(-100, 7)).status == status
    server.send_user_message(-100, "hi", chat_type="group", chat_title="Newsroom")
    chat = await bot.get_chat(-100)
    assert (chat.type, chat.title) == ("group", "Newsroom")


async def test_commands_round_trip(bot: Bot, server: BotApiServer) -> None:
    scope = BotCommandScopeChat(CHAT)
    await bot.set_my_commands([BotCommand("digest", "Send a digest")], scope=scope)
    assert await bot.get_my_commands() == ()
    [command] = await bot.get_my_commands(scope=scope)
    assert (command.command, command.description) == ("digest", "Send a digest")
    assert server.commands({"type": "chat", "chat_id": CHAT}) == [
        {"command": "digest", "description": "Send a digest"}
    ]


@allow_retry_after_int
async def test_enforced_limits_throttle_a_private_burst(bot: Bot, server: BotApiServer) -> None:
    server.enforce_limits = True
    throttled = 0
    for i in range(40):
        try:
            await bot.send_message(CHAT, f"msg {i}")
        except RetryAfter as exc:
            throttled += 1
            assert retry_after_seconds(exc) >= 1
    assert throttled >= 30
    assert server.stats["429"] == throttled
    assert len(server.messages(CHAT)) == 40 - throttled


@allow_retry_after_int
async def test_a_group_gets_20_messages_a_minute_not_a_refilling_burst(
    bot: Bot, server: BotApiServer
) -> None:
    """20 in any minute: after a burst of 20 the group waits for the minute to pass, not for
    a token to drip back in 3 s (which would let 40 through in a minute)."""
    server.enforce_limits = True
    server.add_chat(-100500, "supergroup", title="Crowd")
    for i in range(20):
        await bot.send_message(-100500, f"msg {i}")
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(-100500, "one too many")
    assert retry_after_seconds(refused.value) > 50
    await bot.send_message(CHAT, "a private chat is not held up")
    assert len(server.messages(-100500)) == 20
    assert server.stats["429"] == 1


async def test_raw_http_encodings_and_errors(server: BotApiServer) -> None:
    url = f"{server.base_url}{server.token}"
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{server.base_url}1:WRONG/getMe")
        assert (wrong.status_code, wrong.json()) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        missing = await client.post(f"{url}/noSuchMethod")
        assert missing.status_code == 404 and missing.json()["description"] == "Not Found"

        as_json = await client.post(
            f"{url}/SENDMESSAGE",  # method names are case-insensitive
            json={"chat_id": CHAT, "text": "json", "entities": json.dumps([])},
        )
        multipart = await client.post(
            f"{url}/sendMessage",
            data={"chat_id": str(CHAT), "text": "<i>multi</i>", "parse_mode": "HTML"},
            files={"unused": ("a.txt", b"x")},
        )
        assert as_json.json()["ok"] and multipart.json()["ok"], multipart.json()
    assert [m.text for m in server.messages(CHAT)] == ["json", "multi"]
    assert server.messages(CHAT)[1].entities == [{"type": "italic", "offset": 0, "length": 5}]


async def test_wrong_token_raises_invalid_token(server: BotApiServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:WRONG", base_url=server.base_url):  # initialize() calls getMe
            pass


async def test_application_polls_and_replies(server: BotApiServer) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b>")

    app = ApplicationBuilder().token(server.token).base_url(server.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        server.send_user_message(CHAT, "/start")
        [reply] = await server.wait_for_messages(CHAT, 1, timeout=3)
        await server.wait_until_consumed(timeout=3)
        await app.updater.stop()
        await app.stop()
    assert (reply.text, reply.entities[0]["type"]) == ("Welcome", "bold")
