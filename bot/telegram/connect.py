"""Reaching the Bot API at start-up, with one clear line when it cannot be reached.

python-telegram-bot checks the token with ``getMe`` when a bot is initialised and, when the
server refuses it, raises ``InvalidToken`` quoting the token. Here that becomes a
``TelegramUnavailable`` whose text says what to fix and holds no secret; the caller keeps
everything that does not need Telegram running (robots, the other ticks) and tries again later.
"""

from __future__ import annotations

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

REJECTED_401 = "Telegram rejected the bot token (401); check TELEGRAM_BOT_TOKEN"


class TelegramUnavailable(Exception):
    """The Bot API cannot be used now. ``str()`` is one line without the token;
    ``permanent`` when only a change of token or ``telegram.api_base_url`` helps."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _answer(error: TelegramError) -> str:
    """What the server said, before PTB wrapped it (its wrapper quotes the token)."""
    cause = error.__cause__
    return cause.message if isinstance(cause, TelegramError) else error.message


def explain(error: TelegramError, api_base_url: str) -> TelegramUnavailable:
    """``error`` from a Bot API call as one line saying what to do."""
    if isinstance(error, InvalidToken):
        answer = _answer(error)
        # PTB raises InvalidToken for 401 and 404; Telegram answers 404 "Not Found" to a URL
        # that is not a Bot API method: a base URL with a path, or a malformed token.
        if "404" in answer or "not found" in answer.lower():
            return TelegramUnavailable(
                f"Telegram at {api_base_url} answered 404: is telegram.api_base_url the "
                "server's root URL? (a malformed TELEGRAM_BOT_TOKEN gets 404 too)",
                permanent=True,
            )
        return TelegramUnavailable(REJECTED_401, permanent=True)
    reason = error.message if isinstance(error, NetworkError) else type(error).__name__
    return TelegramUnavailable(
        f"Telegram at {api_base_url} is unreachable ({reason}); Telegram messages wait and "
        "everything else goes on",
        permanent=False,
    )


async def connect(bot: Bot, api_base_url: str) -> None:
    """Initialise ``bot`` (checks the token); raises TelegramUnavailable."""
    try:
        await bot.initialize()
    except TelegramError as exc:
        raise explain(exc, api_base_url) from None
