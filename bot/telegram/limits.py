"""Telegram's limits, each with where it is stated; code that needs one imports it from here."""

from __future__ import annotations

# Lengths are counted in UTF-16 code units after entity parsing, so HTML tags do not count:
# https://core.telegram.org/api/entities#entity-length
MAX_TEXT_UTF16 = 4096
"""A message's text: https://core.telegram.org/bots/api#sendmessage ("1-4096 characters")."""
MAX_CAPTION_UTF16 = 1024
"""A media caption: https://core.telegram.org/bots/api#sendphoto (nothing sends media yet)."""
MAX_CALLBACK_BYTES = 64
"""An inline button's callback data: https://core.telegram.org/bots/api#inlinekeyboardbutton."""
MAX_BUTTON_TEXT = 64
"""An inline button's label, as this bot cuts it (Telegram states no limit; long ones wrap)."""
MAX_CALLBACK_ANSWER_CHARS = 200
"""The toast answering a button: https://core.telegram.org/bots/api#answercallbackquery."""

# Flood limits, https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
MAX_PER_SECOND = 30.0
"""About 30 messages a second over all chats."""
PRIVATE_PER_SECOND = 1.0
"""About one message a second to one chat."""
GROUP_PER_MINUTE = 20.0
"""20 messages a minute to one group (and, by @BotSupport, one channel)."""
