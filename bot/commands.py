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
from pathlib import Path

from bot.digests import compose_for
from bot.i18n import normalize_lang, t
from bot.telegram_render import MAX_TEXT_UTF16, esc, visible_len
from newsbrief.config_edit import add_feeds, plan_additions
from newsbrief.discovery import DiscoveryError, PageFetcher, discover_feed
from newsbrief.records import Subscriber
from newsbrief.settings import Config, ConfigError, TopicConfig, check_http_url
from newsbrief.store import feeds as feed_store
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
        fetcher: PageFetcher | None = None,
        config_file: Path | None = None,
        on_config_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.fetcher = fetcher
        self.config_file = config_file
        """The YAML file admin commands edit; None when the config did not come from a file."""
        self.on_config_change = on_config_change

    async def handle(
        self, command: Command, is_chat_admin: Callable[[], Awaitable[bool]] | None = None
    ) -> Reply | None:
        """Answer one command. Never raises: failures become an apologetic reply and a log line."""
        name, args = parse(command.text)
        if not name:
            return None
        handler = _HANDLERS.get(name)
        lang = await asyncio.to_thread(self._language, command)
        if handler is None and name not in _ASYNC_HANDLERS:
            return Reply(t("unknown_command", lang))
        if name in _ADMIN_COMMANDS and not self.is_admin(command):
            return Reply(t("admins_only", lang))
        if (
            name in _CHANGES_SUBSCRIPTIONS
            and command.chat_type in GROUP_CHATS
            and (is_chat_admin is None or not await is_chat_admin())
        ):
            return Reply(t("group_admins_only", lang))
        try:
            if handler is None:
                return await _ASYNC_HANDLERS[name](self, command, args, lang)
            return await asyncio.to_thread(handler, self, command, args, lang)
        except Exception:
            log.exception("command /%s failed in chat %s", name, command.chat_id)
            return Reply(t("error", lang))

    # -- helpers ---------------------------------------------------------------------------

    def is_admin(self, command: Command) -> bool:
        """Admins are listed by Telegram user id in the config; nobody else is one."""
        admins = {str(a) for a in self.config().admins}
        return command.platform == "telegram" and command.sender_id in admins

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

    # -- admin commands --------------------------------------------------------------------

    def feeds(self, command: Command, args: list[str], lang: str) -> Reply:
        with self.db.session() as session:
            health = feed_store.feed_health(session)
        # Trouble first: that is what an admin asking is looking for.
        order = {"disabled": 0, "failing": 1, "new": 2, "ok": 3, "removed": 4}
        health.sort(key=lambda h: (order.get(h.status, 9), h.id))
        lines = [t("feeds_header", lang, count=len(health))]
        shown = 0
        for h in health:
            icon = {"ok": "✅", "new": "🆕", "failing": "⚠️", "disabled": "⛔"}.get(h.status, "▫️")
            rate = f"{h.entries_per_week:g}" if h.entries_per_week is not None else "?"
            last = (
                h.last_success_at.strftime("%m-%d %H:%M") if h.last_success_at else t("never", lang)
            )
            block = t(
                "feeds_line",
                lang,
                icon=icon,
                feed=esc(h.id),
                status=h.status,
                entries=h.entries,
                rate=rate,
                last=last,
            )
            if h.last_error:
                block += "\n" + t(
                    "feeds_error",
                    lang,
                    kind=esc(h.last_error_kind or "error"),
                    count=h.error_count,
                    error=esc(h.last_error[:200]),
                )
            if visible_len("\n".join([*lines, block])) > MAX_TEXT_UTF16 - 200:
                break
            lines.append(block)
            shown += 1
        if shown < len(health):
            lines.append(t("feeds_more", lang, count=len(health) - shown))
        return Reply("\n".join(lines))

    async def addfeed(self, command: Command, args: list[str], lang: str) -> Reply:
        if not args:
            return Reply(t("addfeed_usage", lang))
        if self.config_file is None or self.fetcher is None:
            return Reply(t("addfeed_no_config", lang))
        url, names = args[0], args[1:]
        found, unknown = self.resolve_topics(names)
        if unknown:
            return Reply(t("unknown_topics", lang, names=esc(t("list_sep", lang).join(unknown))))
        try:
            check_http_url(url)
            feed = await discover_feed(self.fetcher, url)
        except (ValueError, DiscoveryError) as exc:
            return Reply(t("addfeed_failed", lang, reason=esc(str(exc))))
        entry = {"url": feed.url, "topics": [topic.id for topic in found]}
        existing = [(f.id, f.url) for f in self.config().feeds]
        (plan,) = plan_additions(existing, [entry])
        if plan.duplicate is not None:
            return Reply(t("addfeed_duplicate", lang, reason=esc(plan.duplicate)))
        try:
            added = await asyncio.to_thread(add_feeds, self.config_file, [entry])
        except ConfigError as exc:
            reason = "; ".join(str(p) for p in exc.problems)
            return Reply(t("addfeed_failed", lang, reason=esc(reason)))
        if self.on_config_change is not None:
            await self.on_config_change()
        feed_id = added[0] if added else plan.id
        return Reply(
            t(
                "addfeed_done",
                lang,
                feed=esc(str(feed_id)),
                title=esc(feed.title),
                url=esc(feed.url),
            )
        )


_HANDLERS: dict[str, Callable[[CommandCore, Command, list[str], str], Reply]] = {
    "start": CommandCore.start,
    "help": CommandCore.help,
    "topics": CommandCore.topics,
    "subscribe": CommandCore.subscribe,
    "unsubscribe": CommandCore.unsubscribe,
    "list": CommandCore.show_list,
    "digest": CommandCore.digest,
    "feeds": CommandCore.feeds,
}
_ASYNC_HANDLERS: dict[str, Callable[[CommandCore, Command, list[str], str], Awaitable[Reply]]] = {
    "addfeed": CommandCore.addfeed,
}
_CHANGES_SUBSCRIPTIONS = frozenset({"subscribe", "unsubscribe"})
_ADMIN_COMMANDS = frozenset({"feeds", "addfeed"})
COMMANDS = (*_HANDLERS, *_ASYNC_HANDLERS)
