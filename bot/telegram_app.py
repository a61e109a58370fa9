"""The Telegram application: a thin adapter from updates to the command core and back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.commands import Command, CommandCore
from bot.i18n import COMMAND_DESCRIPTIONS, DEFAULT_LANG
from bot.telegram_sender import bot_base_url
from newsbrief.settings import Config

log = logging.getLogger(__name__)

_ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
# Telegram menu languages: the default list is in DEFAULT_LANG, plus one per language code.
_MENU_LANGS = {"": DEFAULT_LANG, "zh": "zh-Hans", "en": "en"}


def build_application(
    config: Config, core: CommandCore, wake_delivery: Callable[[], Awaitable[None]]
) -> Application:  # type: ignore[type-arg]
    if config.telegram.token is None:
        raise ValueError("no Telegram token: set TELEGRAM_BOT_TOKEN")
    app = (
        ApplicationBuilder()
        .token(config.telegram.token.get_secret_value())
        .base_url(bot_base_url(config.telegram.api_base_url))
        .job_queue(None)  # the APScheduler of jobs/ drives all timing
        .build()
    )

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

        async def is_chat_admin() -> bool:
            if user is None:
                return chat.type == chat.CHANNEL  # channel posts come from its admins
            try:
                member = await context.bot.get_chat_member(chat.id, user.id)
            except TelegramError as exc:
                log.warning("cannot check admin rights in chat %s: %s", chat.id, exc)
                return False
            return member.status in _ADMIN_STATUSES

        reply = await core.handle(command, is_chat_admin)
        if reply is None:
            return
        if reply.text:
            await context.bot.send_message(
                chat_id=chat.id,
                text=reply.text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        if reply.wake_delivery:
            await wake_delivery()

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed: %s", context.error, exc_info=context.error)

    app.add_handler(
        MessageHandler(
            filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST),
            on_command,
        )
    )
    app.add_error_handler(on_error)
    return app


async def publish_commands(app: Application) -> None:  # type: ignore[type-arg]
    """The command menu, in each language (``setMyCommands``)."""
    for code, lang in _MENU_LANGS.items():
        commands = [BotCommand(name, texts[lang]) for name, texts in COMMAND_DESCRIPTIONS.items()]
        await app.bot.set_my_commands(commands, language_code=code or None)
