"""Send outbox messages through the Telegram Bot API and classify what it answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.senders import Window
from bot.telegram.limits import (
    GROUP_PER_MINUTE,
    MAX_BUTTON_TEXT,
    MAX_CALLBACK_BYTES,
    MAX_PER_SECOND,
    PRIVATE_PER_SECOND,
)
from newsbrief.records import Button, Delivery, SendOutcome, SendResult
from newsbrief.redaction import Redactor

# 400 answers that mean the chat, not the message, is the problem.
_CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "have no rights to send",
    "not enough rights",
)


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard rows; a button whose data Telegram would refuse is left out."""
    kept = [
        [
            InlineKeyboardButton(b.text[:MAX_BUTTON_TEXT], callback_data=b.data)
            for b in row
            if 0 < len(b.data.encode()) <= MAX_CALLBACK_BYTES
        ]
        for row in rows
    ]
    kept = [row for row in kept if row]
    return InlineKeyboardMarkup(kept) if kept else None


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
        self.interval = 1 / private_per_second
        """Seconds between two messages to one chat ("avoid sending more than one message per
        second in a particular chat": groups too)."""
        self.group_window = Window(max(1, round(group_per_minute)), 60.0)

    def chat_interval(self, chat_id: str) -> float:
        return self.interval

    def chat_window(self, chat_id: str) -> Window | None:
        # Group, supergroup and channel ids are negative; @usernames are channels. 20 in any
        # minute, not one every 3 s: a group's replies need not wait 3 s each.
        return None if chat_id.isdigit() else self.group_window

    async def send(self, delivery: Delivery) -> SendResult:
        result = await self._send(delivery)
        if result.error:
            result = replace(result, error=self._redact(result.error))
        return result

    async def _send(self, delivery: Delivery) -> SendResult:
        message = delivery.message
        preview = LinkPreviewOptions(is_disabled=message.disable_preview)
        try:
            if delivery.edit_of is not None:
                # A pressed button's answer replaces the message that carried the button.
                await self.bot.edit_message_text(
                    chat_id=delivery.chat_id,
                    message_id=int(delivery.edit_of),
                    text=message.text,
                    parse_mode=message.parse_mode,
                    link_preview_options=preview,
                    reply_markup=keyboard(message.buttons),
                )
                return SendResult(SendOutcome.SENT, message_id=delivery.edit_of)
            sent = await self.bot.send_message(
                chat_id=delivery.chat_id,
                text=message.text,
                parse_mode=message.parse_mode,
                message_thread_id=delivery.thread_id,
                link_preview_options=preview,
                reply_markup=keyboard(message.buttons),
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
            if delivery.edit_of is not None and "not modified" in exc.message.lower():
                return SendResult(SendOutcome.SENT, message_id=delivery.edit_of)  # a double tap
            gone = any(p in exc.message.lower() for p in _CHAT_GONE)
            outcome = SendOutcome.CHAT_GONE if gone else SendOutcome.REJECTED
            return SendResult(outcome, error=f"Bad Request: {exc.message}")
        except NetworkError as exc:
            return SendResult(SendOutcome.RETRY, error=f"network: {exc.message}")
        except TelegramError as exc:
            return SendResult(SendOutcome.RETRY, error=f"telegram: {exc.message}")
        return SendResult(SendOutcome.SENT, message_id=str(sent.message_id))
