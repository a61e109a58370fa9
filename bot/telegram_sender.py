"""Send outbox messages through the Telegram Bot API and classify what it answers."""

from __future__ import annotations

import os
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from newsbrief.records import Delivery, SendOutcome, SendResult

# Opt in to PTB's timedelta durations now (the int form is deprecated and warns).
os.environ.setdefault("PTB_TIMEDELTA", "true")

# 400 answers that mean the chat, not the message, is the problem.
_CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "have no rights to send",
    "not enough rights",
)


def bot_base_url(api_base_url: str) -> str:
    """PTB wants the method prefix: ``https://api.telegram.org/bot`` (it appends the token)."""
    return api_base_url.rstrip("/") + "/bot"


def seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Telegram's flood limits (its FAQ and constants): ~30 messages/s overall, ~1/s per chat,
# 20/min per group or channel.
GLOBAL_INTERVAL = 1 / 30
PRIVATE_CHAT_INTERVAL = 1.0
GROUP_CHAT_INTERVAL = 60 / 20


class TelegramSender:
    platform = "telegram"
    global_interval = GLOBAL_INTERVAL

    def chat_interval(self, chat_id: str) -> float:
        # Group, supergroup and channel ids are negative; @usernames are channels.
        private = chat_id.lstrip("-").isdigit() and not chat_id.startswith("-")
        return PRIVATE_CHAT_INTERVAL if private else GROUP_CHAT_INTERVAL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, delivery: Delivery) -> SendResult:
        message = delivery.message
        try:
            sent = await self.bot.send_message(
                chat_id=delivery.chat_id,
                text=message.text,
                parse_mode=message.parse_mode,
                message_thread_id=delivery.thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=message.disable_preview),
            )
        except RetryAfter as exc:
            return SendResult(
                SendOutcome.RATE_LIMITED, retry_after=seconds(exc.retry_after), error=str(exc)
            )
        except ChatMigrated as exc:
            return SendResult(SendOutcome.MIGRATED, migrate_to=str(exc.new_chat_id), error=str(exc))
        except Forbidden as exc:
            return SendResult(SendOutcome.CHAT_GONE, error=f"Forbidden: {exc.message}")
        except BadRequest as exc:
            gone = any(p in exc.message.lower() for p in _CHAT_GONE)
            outcome = SendOutcome.CHAT_GONE if gone else SendOutcome.REJECTED
            return SendResult(outcome, error=f"Bad Request: {exc.message}")
        except NetworkError as exc:
            return SendResult(SendOutcome.RETRY, error=f"network: {exc.message}")
        except TelegramError as exc:
            return SendResult(SendOutcome.RETRY, error=f"telegram: {exc.message}")
        return SendResult(SendOutcome.SENT, message_id=str(sent.message_id))
