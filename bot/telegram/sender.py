"""Send outbox messages through the Telegram Bot API and classify what it answers."""

from __future__ import annotations

from dataclasses import replace
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

from bot.telegram.limits import GROUP_PER_MINUTE, MAX_PER_SECOND, PRIVATE_PER_SECOND
from newsbrief.records import Delivery, SendOutcome, SendResult
from newsbrief.redaction import Redactor

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
    """A PTB duration in seconds: PTB 22 gives a number, or a ``timedelta`` when ``PTB_TIMEDELTA``
    is set (the only form in a later major version)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        max_per_second: float = MAX_PER_SECOND,
        private_per_second: float = PRIVATE_PER_SECOND,
        group_per_minute: float = GROUP_PER_MINUTE,
    ) -> None:
        self.bot = bot
        # What the API answers is stored and shown (/why, deliveries): a proxy's error page may
        # quote the request URL, token and all.
        self._redact = Redactor([bot.token])
        self.global_interval = 1 / max_per_second
        self._private_interval = 1 / private_per_second
        self._group_interval = 60 / group_per_minute

    def chat_interval(self, chat_id: str) -> float:
        # Group, supergroup and channel ids are negative; @usernames are channels.
        private = chat_id.isdigit()
        return self._private_interval if private else self._group_interval

    async def send(self, delivery: Delivery) -> SendResult:
        result = await self._send(delivery)
        if result.error:
            result = replace(result, error=self._redact(result.error))
        return result

    async def _send(self, delivery: Delivery) -> SendResult:
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
