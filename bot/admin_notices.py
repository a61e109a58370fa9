"""Messages to the admins about the bot itself, e.g. a feed it gave up on."""

from __future__ import annotations

from bot.i18n import t
from bot.telegram.render import esc
from newsbrief.config.secrets import redactors
from newsbrief.config.settings import Config
from newsbrief.records import Message


def feed_disabled(config: Config, feed_id: str, url: str, reason: str) -> Message:
    lang = config.subscriber_defaults.language
    # A feed URL may carry credentials (user:password@, ?token=): masked like a log line.
    mask = redactors(config)[0]
    return Message(
        t("feed_disabled", lang, feed=esc(feed_id), reason=esc(mask(reason)), url=esc(mask(url)))
    )
