"""The channel-agnostic command core: a command comes in, a reply goes out.

Platform adapters (Telegram today) turn their updates into ``Command`` and send the ``Reply``
back; everything a command does to state happens here, so every channel behaves the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.digests import compose_for
from bot.i18n import normalize_lang, t
from bot.telegram_render import esc
from newsbrief.records import Subscriber
from newsbrief.settings import Config, TopicConfig
from newsbrief.store import subscribers
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

GROUP_CHATS = frozenset({"group", "supergroup"})
MAX_ARGS = 20


@dataclass(frozen=True, slots=True)
class Command:
    platform: str
    chat_id: str
    chat_type: str
    """``private``, ``group``, ``supergroup`` or ``channel``."""
    sender_id: str
    text: str
    thread_id: int | None = None
    language_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    parse_mode: str = "HTML"
    wake_delivery: bool = False
    """The command queued messages in the outbox; the deliverer should look now."""


def parse(text: str) -> tuple[str, list[str]]:
    """``/subscribe@bot ai, crypto`` -> ("subscribe", ["ai", "crypto"])."""
    words = text.replace("，", " ").replace(",", " ").split()
    if not words or not words[0].startswith("/"):
        return "", words
    name = words[0][1:].split("@", 1)[0].lower()
    return name, words[1 : 1 + MAX_ARGS]


class CommandCore:
    def __init__(
        self,
        db: Database,
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    async def handle(
        self, command: Command, is_chat_admin: Callable[[], Awaitable[bool]] | None = None
    ) -> Reply | None:
        """Answer one command. Never raises: failures become an apologetic reply and a log line."""
        name, args = parse(command.text)
        if not name:
            return None
        handler = _HANDLERS.get(name)
        lang = await asyncio.to_thread(self._language, command)
        if handler is None:
            return Reply(t("unknown_command", lang))
        if (
            name in _CHANGES_SUBSCRIPTIONS
            and command.chat_type in GROUP_CHATS
            and (is_chat_admin is None or not await is_chat_admin())
        ):
            return Reply(t("group_admins_only", lang))
        try:
            return await asyncio.to_thread(handler, self, command, args, lang)
        except Exception:
            log.exception("command /%s failed in chat %s", name, command.chat_id)
            return Reply(t("error", lang))

    # -- helpers ---------------------------------------------------------------------------

    def _language(self, command: Command) -> str:
        with self.db.session() as session:
            found = subscribers.find(session, command.platform, command.chat_id, command.thread_id)
        if found is not None:
            return found.lang
        return normalize_lang(command.language_hint, self.config().subscriber_defaults.language)

    def _ensure(self, command: Command, lang: str) -> tuple[Subscriber, bool]:
        defaults = self.config().subscriber_defaults
        with self.db.session() as session:
            return subscribers.ensure(
                session,
                command.platform,
                command.chat_id,
                command.thread_id,
                lang=lang,
                timezone=defaults.timezone,
                schedule=defaults.schedule,
                now=self.clock(),
                backlog=timedelta(hours=defaults.backlog_hours),
            )

    def resolve_topics(self, names: list[str]) -> tuple[list[TopicConfig], list[str]]:
        """Match names against topic ids and their Chinese and English names, in any case."""
        index: dict[str, TopicConfig] = {}
        for topic in self.config().topics:
            for key in (topic.id, topic.name.zh, topic.name.en):
                index.setdefault(key.casefold(), topic)
        found: list[TopicConfig] = []
        unknown: list[str] = []
        for name in names:
            match = index.get(name.casefold())
            if match is None:
                unknown.append(name)
            elif match not in found:
                found.append(match)
        return found, unknown

    def _names(self, topic_ids: list[str], lang: str) -> str:
        config = self.config()
        names = [esc(t_.display(lang)) if (t_ := config.topic(i)) else esc(i) for i in topic_ids]
        return t("list_sep", lang).join(names)

    # -- commands --------------------------------------------------------------------------

    def start(self, command: Command, args: list[str], lang: str) -> Reply:
        subscriber, created = self._ensure(command, lang)
        if not created:
            with self.db.session() as session:
                if subscribers.resume(session, subscriber.id):
                    return Reply(t("welcome_back", subscriber.lang), wake_delivery=True)
        return Reply(t("welcome", subscriber.lang, help=t("help", subscriber.lang)))

    def help(self, command: Command, args: list[str], lang: str) -> Reply:
        return Reply(t("help", lang))

    def topics(self, command: Command, args: list[str], lang: str) -> Reply:
        config = self.config()
        if not config.topics:
            return Reply(t("topics_empty", lang))
        with self.db.session() as session:
            found = subscribers.find(session, command.platform, command.chat_id, command.thread_id)
        mine = set(found.topics if found else ())
        lines = [t("topics_header", lang)]
        for topic in config.topics:
            mark = " ✓" if topic.id in mine else ""
            lines.append(f"• <b>{esc(topic.display(lang))}</b> <code>{esc(topic.id)}</code>{mark}")
        lines.append(t("topics_footer", lang))
        return Reply("\n".join(lines))

    def subscribe(self, command: Command, args: list[str], lang: str) -> Reply:
        if not args:
            return Reply(t("subscribe_usage", lang))
        found, unknown = self.resolve_topics(args)
        if unknown:
            return Reply(t("unknown_topics", lang, names=esc(t("list_sep", lang).join(unknown))))
        subscriber, _ = self._ensure(command, lang)
        ids = [topic.id for topic in found]
        with self.db.session() as session:
            added = subscribers.subscribe(session, subscriber.id, ids, self.clock())
        if not added:
            return Reply(t("already_subscribed", lang, names=self._names(ids, lang)))
        return Reply(t("subscribed", lang, names=self._names(added, lang)))

    def unsubscribe(self, command: Command, args: list[str], lang: str) -> Reply:
        if not args:
            return Reply(t("unsubscribe_usage", lang))
        found, unknown = self.resolve_topics(args)
        if unknown:
            return Reply(t("unknown_topics", lang, names=esc(t("list_sep", lang).join(unknown))))
        ids = [topic.id for topic in found]
        with self.db.session() as session:
            subscriber = subscribers.find(
                session, command.platform, command.chat_id, command.thread_id
            )
            removed = subscribers.unsubscribe(session, subscriber.id, ids) if subscriber else []
        if not removed:
            return Reply(t("not_subscribed", lang, names=self._names(ids, lang)))
        return Reply(t("unsubscribed", lang, names=self._names(removed, lang)))

    def show_list(self, command: Command, args: list[str], lang: str) -> Reply:
        with self.db.session() as session:
            found = subscribers.find(session, command.platform, command.chat_id, command.thread_id)
        if found is None or not found.topics:
            return Reply(t("list_empty", lang))
        names = self._names(list(found.topics), lang)
        return Reply(t("list", lang, names=names, schedule=esc(found.schedule)))

    def digest(self, command: Command, args: list[str], lang: str) -> Reply:
        with self.db.session() as session:
            found = subscribers.find(session, command.platform, command.chat_id, command.thread_id)
        if found is None or not found.topics:
            return Reply(t("digest_no_topics", lang))
        queued = compose_for(self.db, self.config(), found, self.clock(), on_demand=True)
        if not queued:
            return Reply(t("digest_nothing", lang))
        return Reply("", wake_delivery=True)


_HANDLERS: dict[str, Callable[[CommandCore, Command, list[str], str], Reply]] = {
    "start": CommandCore.start,
    "help": CommandCore.help,
    "topics": CommandCore.topics,
    "subscribe": CommandCore.subscribe,
    "unsubscribe": CommandCore.unsubscribe,
    "list": CommandCore.show_list,
    "digest": CommandCore.digest,
}
_CHANGES_SUBSCRIPTIONS = frozenset({"subscribe", "unsubscribe"})
COMMANDS = tuple(_HANDLERS)
