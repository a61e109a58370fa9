"""The Telegram application: a thin adapter from updates to the command core and back.

Replies, and the edits answering a pressed button, go through the outbox (``bot.replies``):
they share the bot's send budget with digests, ahead of them. Only ``answerCallbackQuery`` is
called here: Telegram does not count it as a message, and the client waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, BotCommand, Chat, LinkPreviewOptions, Message, Update, User
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.commands.core import ChannelAccess, ChannelCheck, CommandCore
from bot.commands.io import Command, Reply
from bot.i18n import COMMAND_DESCRIPTIONS, DEFAULT_LANG
from bot.replies import Replies
from bot.telegram.limits import MAX_CALLBACK_ANSWER_CHARS
from bot.telegram.sender import bot_base_url, keyboard
from bot.telegram.updates import PerChatUpdates
from newsbrief import records
from newsbrief.config.settings import Config

log = logging.getLogger(__name__)

_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
# Telegram menu languages: the default list is in DEFAULT_LANG, plus one per language code.
_MENU_LANGS = {"": DEFAULT_LANG, "zh": "zh-Hans", "en": "en"}


def build_application(
    config: Config, core: CommandCore, replies: Replies, *, polling: bool = True
) -> Application:  # type: ignore[type-arg]
    """The bot; without ``polling`` it has no updater: updates come from the webhook
    (``bot.telegram.webhook``)."""
    if config.telegram.token is None:
        raise ValueError("no Telegram token: set TELEGRAM_BOT_TOKEN")
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token.get_secret_value())
        .base_url(bot_base_url(config.telegram.api_base_url))
        .job_queue(None)  # the APScheduler of jobs/ drives all timing
        .concurrent_updates(PerChatUpdates())
    )
    app = builder.build() if polling else builder.updater(None).build()

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or not message.text:
            return
        thread_id = message.message_thread_id if message.is_topic_message else None
        command = Command(
            platform="telegram",
            chat_id=str(chat.id),
            chat_type=chat.type,
            sender_id=str(user.id) if user else "",
            text=message.text,
            thread_id=thread_id,
            language_hint=user.language_code if user else None,
        )
        reply = await core.handle(
            command, _admin_check(context, chat, user), _channel_check(context, user)
        )
        if reply is None:
            return
        if reply.text:
            # Named by the message it answers: handled twice (redelivered after a crash), it is
            # answered once.
            key = f"reply:telegram:{chat.id}:{message.message_id}"
            await _queue(replies, context.bot, str(chat.id), key, reply, thread_id=thread_id)
        if reply.wake_delivery:
            replies.wake()

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: its data is a command; the answer edits the message."""
        query, user = update.callback_query, update.effective_user
        if query is None:
            return
        message = query.message
        chat = message.chat if message is not None else None
        if chat is None or not isinstance(message, Message) or not query.data:
            await query.answer()
            return
        thread_id = message.message_thread_id if message.is_topic_message else None
        command = Command(
            platform="telegram",
            chat_id=str(chat.id),
            chat_type=chat.type,
            sender_id=str(user.id) if user else "",
            text=query.data,
            thread_id=thread_id,
            language_hint=user.language_code if user else None,
            from_button=True,
        )
        reply = await core.handle(
            command, _admin_check(context, chat, user), _channel_check(context, user)
        )
        notice = reply.notice if reply is not None else None
        await query.answer(
            text=notice[:MAX_CALLBACK_ANSWER_CHARS] if notice else None, show_alert=False
        )
        if reply is None:
            return
        if reply.text and reply.text != message.text_html:
            key = f"edit:telegram:{query.id}"
            edit_of = str(message.message_id)
            await _queue(replies, context.bot, str(chat.id), key, reply, thread_id, edit_of)
        if reply.wake_delivery:
            replies.wake()

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed: %s", context.error, exc_info=context.error)

    app.add_handler(
        MessageHandler(
            filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST),
            on_command,
        )
    )
    # Chinese aliases: without "/" in private chats (订阅 AI), with it anywhere (/订阅 AI is no
    # bot_command entity to Telegram). The core ignores other chatter.
    app.add_handler(
        MessageHandler(
            filters.TEXT
            & ~filters.COMMAND
            & (filters.ChatType.PRIVATE | filters.Regex(r"^[/／]\S"))
            & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST),
            on_command,
        )
    )
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    return app


async def _queue(
    replies: Replies,
    bot: Bot,
    chat_id: str,
    key: str,
    reply: Reply,
    thread_id: int | None = None,
    edit_of: str | None = None,
) -> None:
    message = records.Message(reply.text, parse_mode=ParseMode.HTML, buttons=reply.buttons)
    try:
        await replies.put("telegram", chat_id, key, message, thread_id=thread_id, edit_of=edit_of)
        return
    except Exception as exc:  # the database: answer anyway, outside the budget (rare)
        log.warning("reply in chat %s not queued (%s): sent directly", chat_id, type(exc).__name__)
    preview = LinkPreviewOptions(is_disabled=True)
    try:
        if edit_of is None:
            await bot.send_message(
                chat_id=chat_id,
                text=message.text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                link_preview_options=preview,
                reply_markup=keyboard(message.buttons),
            )
        else:
            await bot.edit_message_text(
                chat_id=chat_id,
                message_id=int(edit_of),
                text=message.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=preview,
                reply_markup=keyboard(message.buttons),
            )
    except TelegramError as exc:
        log.warning("reply in chat %s not sent: %s", chat_id, exc)


def _admin_check(
    context: ContextTypes.DEFAULT_TYPE, chat: Chat, user: User | None
) -> Callable[[], Awaitable[bool]]:
    async def is_chat_admin() -> bool:
        if user is None:
            return chat.type == chat.CHANNEL  # channel posts come from its admins
        try:
            member = await context.bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("cannot check admin rights in chat %s: %s", chat.id, exc)
            return False
        return member.status in _ADMIN_STATUSES

    return is_chat_admin


def _channel_check(context: ContextTypes.DEFAULT_TYPE, user: User | None) -> ChannelCheck:
    """May ``user`` manage the channel ``@name``? Asked of Telegram each time, so a demoted
    admin loses the right at once."""

    async def check(ref: str) -> ChannelAccess:
        if user is None:
            return ChannelAccess(problem="not_admin")
        try:
            channel = await context.bot.get_chat(ref)
            if channel.type != channel.CHANNEL:
                return ChannelAccess(problem="not_found")
            member = await context.bot.get_chat_member(channel.id, user.id)
            if member.status not in _ADMIN_STATUSES:
                return ChannelAccess(problem="not_admin")
            me = await context.bot.get_chat_member(channel.id, context.bot.id)
        except TelegramError as exc:
            log.info("channel %.64s not reachable: %s", ref, exc)
            return ChannelAccess(problem="not_found")
        if me.status not in _ADMIN_STATUSES:
            return ChannelAccess(problem="bot_not_member")
        return ChannelAccess(str(channel.id), channel.title or ref)

    return check


async def publish_commands(app: Application) -> None:  # type: ignore[type-arg]
    """The command menu, in each language (``setMyCommands``)."""
    for code, lang in _MENU_LANGS.items():
        commands = [
            BotCommand(name, texts.get(lang) or texts[DEFAULT_LANG])
            for name, texts in COMMAND_DESCRIPTIONS.items()
        ]
        await app.bot.set_my_commands(commands, language_code=code or None)
