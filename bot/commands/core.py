"""The channel-agnostic command core: a command comes in, a reply goes out.

Platform adapters (Telegram today) turn their updates into ``Command`` and send the ``Reply``
back; everything a command does to state happens here, so every channel behaves the same.

Who a command acts on: the chat it was sent in (a forum topic is a chat of its own). In a private
chat, a first argument ``@channel`` makes it act on that channel instead, after the adapter
checked that the sender is one of the channel's admins (``/bind @channel`` starts that).
Inline buttons carry command texts (``/tg ai``), so a button press is just another command.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.commands.admin import ADMIN_ASYNC_HANDLERS, ADMIN_HANDLERS
from bot.commands.io import ALIASES, Command, Reply, parse
from bot.hints import HintRate
from bot.i18n import LANG_NAMES, LANGS, normalize_lang, t
from bot.telegram.limits import MAX_CALLBACK_BYTES, MAX_TEXT_UTF16
from bot.telegram.render import esc, visible_len
from bot.when import local_date, local_time, zone_label
from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.secrets import redactors
from newsbrief.config.settings import Config
from newsbrief.feeds.discovery import PageFetcher
from newsbrief.records import Button, Delivery, Keywords, Subscriber, Topic, WhyPath
from newsbrief.schedule import (
    describe_schedule,
    next_digest,
    subscriber_timing,
)
from newsbrief.store import followers, lookup, subscribers
from newsbrief.store.db import Database
from newsbrief.store.rehearsal import Rehearsal
from newsbrief.text.chinese import to_simplified, to_traditional
from newsbrief.time_phrases import parse_quiet_phrase, parse_schedule_phrase
from newsbrief.timezones import describe_zone, parse_timezone, zone_names

log = logging.getLogger(__name__)

GROUP_CHATS = frozenset({"group", "supergroup"})
_CHANNEL_NAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
"""A public channel's username, as Telegram allows them (which keeps button data short)."""
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 40
SEARCH_DAYS = 14
START_TOPICS = 6
"""Topic buttons under the /start welcome (the most followed); /topics has them all."""
POPULAR_TTL = timedelta(minutes=10)
"""How long /start reuses its count of followers per topic (a scan of every subscriber)."""
SOON = timedelta(minutes=5)
"""A digest due within this is "in a few minutes": the compose tick and the outbox take that."""
_ALL_WORDS = frozenset({"all", "everything", "*", "全部", "所有", "全部话题", "全部話題"})


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    """The adapter's answer to "may this sender manage @channel?"."""

    chat_id: str | None = None
    title: str = ""
    problem: str | None = None
    """``not_found``, ``not_admin`` or ``bot_not_member``; None when allowed."""


ChannelCheck = Callable[[str], Awaitable[ChannelAccess]]


class ComposeNow(Protocol):
    """Queues one subscriber's digest now; returns how many messages it queued.

    The runtime injects the compose tick's ``compose_for``, so ``bot`` never imports ``jobs``.
    """

    def __call__(
        self,
        db: Database,
        config: Config,
        subscriber: Subscriber,
        now: datetime,
        *,
        on_demand: bool,
    ) -> int: ...


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(words: list[str]) -> str:
    """User words echoed back: escaped and kept short, whatever was typed."""
    return esc(" ".join(_short(w) for w in words[:5]) + (" …" if len(words) > 5 else ""))


def _fit(lines: list[str], limit: int = MAX_TEXT_UTF16 - 300) -> str:
    """Lines joined, as many as fit in one Telegram message, "…" marking the cut."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += visible_len(line) + 1
        if size > limit:
            kept.append("…")
            break
        kept.append(line)
    return "\n".join(kept)


def _keyword(word: str) -> str:
    return word[:MAX_KEYWORD_CHARS]


_LANG_WORDS = {
    "zh": "zh-Hans",
    "zh-hans": "zh-Hans",
    "zh-cn": "zh-Hans",
    "cn": "zh-Hans",
    "简体": "zh-Hans",
    "简体中文": "zh-Hans",
    "中文": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "tw": "zh-Hant",
    "繁體": "zh-Hant",
    "繁体": "zh-Hant",
    "繁體中文": "zh-Hant",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英語": "en",
    "英语": "en",
}
# Schedule presets under /schedule: canonical forms, labelled in the reader's language.
_SCHEDULE_PRESETS = (
    "instant",
    "hourly",
    "daily 08:00",
    "daily 08:00,20:00",
    "weekdays 08:00",
    "off",
)


class CommandCore:
    def __init__(
        self,
        db: Database,
        config: Callable[[], Config],
        *,
        compose: ComposeNow,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        fetcher: PageFetcher | None = None,
        config_file: Path | None = None,
        on_config_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.compose = compose
        self.clock = clock
        self.fetcher = fetcher
        self.config_file = config_file
        """The YAML file admin commands edit; None when the config did not come from a file."""
        self._matcher_for: Config | None = None
        self._topic_matcher = TopicMatcher(())
        self.on_config_change = on_config_change
        self._topic_index: tuple[object, dict[str, Topic]] | None = None
        self._hints = HintRate()
        self._popular: tuple[Config, datetime, list[str]] | None = None

    async def handle(
        self,
        command: Command,
        is_chat_admin: Callable[[], Awaitable[bool]] | None = None,
        channel_admin: ChannelCheck | None = None,
    ) -> Reply | None:
        """Answer one command; None for a message that is not one. Never raises."""
        lang: str = self.config().subscriber_defaults.language
        try:
            name, args = parse(command.text, KNOWN, bare=command.chat_type == "private")
            if not name:
                # Chatter in a group is not for the bot; a private chat gets a hint, rated.
                if command.chat_type != "private" or command.from_button or not args:
                    return None
                if not self._hints.allow((command.platform, command.chat_id), self.clock()):
                    return None
                lang = await asyncio.to_thread(self._language, command)
                return self._without_secrets(
                    await asyncio.to_thread(self._hint, command, args, lang)
                )
            lang = await asyncio.to_thread(self._language, command)
            reply = await self._dispatch(name, args, command, lang, is_chat_admin, channel_admin)
            return self._without_secrets(reply)
        except Exception:
            log.exception("command failed in chat %s: %.60r", command.chat_id, command.text)
            return Reply(t("error", lang))

    def _without_secrets(self, reply: Reply) -> Reply:
        """No reply carries a secret of the config, however it got in (a robot's error
        echoing its webhook URL in /channels, a feed error in /feeds, the user's own text)."""
        mask = redactors(self.config())[1]
        text, notice = mask(reply.text), mask(reply.notice) if reply.notice else reply.notice
        if text == reply.text and notice == reply.notice:
            return reply
        return replace(reply, text=text, notice=notice)

    async def _dispatch(
        self,
        name: str,
        args: list[str],
        command: Command,
        lang: str,
        is_chat_admin: Callable[[], Awaitable[bool]] | None,
        channel_admin: ChannelCheck | None,
    ) -> Reply:
        handler = _HANDLERS.get(name)
        if handler is None and name not in _ASYNC_HANDLERS:
            return self._unknown(name, lang)
        if name in _ADMIN_COMMANDS and not self.is_admin(command):
            return Reply(t("admins_only", lang))
        if name == "bind" or (
            command.chat_type == "private"
            and name in _TARGETABLE
            and args
            and args[0].startswith("@")
        ):
            target = await self._channel(command, args, lang, channel_admin)
            if isinstance(target, Reply):
                return target
            command, args = target
            if name == "bind":
                return await asyncio.to_thread(self.bind, command, args, lang)
            verified = True  # the sender is one of the channel's admins
        else:
            verified = False
            if name in _TARGETABLE or name == "start":
                # "@name" targets a channel from a private chat only; elsewhere it is noise,
                # and must not end up in the buttons' data.
                args = [a for a in args if not a.startswith("@")]
        # Anyone reading a channel can press its buttons: those need an admin too.
        shared = not verified and (
            command.chat_type in GROUP_CHATS
            or (command.chat_type == "channel" and command.from_button)
        )
        if shared and (name == "start" or _changes(name, args)):  # noqa: SIM102
            if is_chat_admin is None or not await is_chat_admin():
                if name == "start":  # a member may read the welcome, not register the group
                    return Reply(t("welcome", lang, help=t("help", lang)))
                refusal = t("group_admins_only", lang)
                return Reply("", notice=refusal) if command.from_button else Reply(refusal)
        if handler is None:
            return await _ASYNC_HANDLERS[name](self, command, args, lang)
        return await asyncio.to_thread(handler, self, command, args, lang)

    async def _channel(
        self, command: Command, args: list[str], lang: str, channel_admin: ChannelCheck | None
    ) -> Reply | tuple[Command, list[str]]:
        """``@channel`` as the target of a command from its admin's private chat."""
        if command.chat_type != "private":
            return Reply(t("bind_private_only", lang))
        if not args or not args[0].startswith("@") or len(args[0]) < 2:
            return Reply(t("bind_usage", lang))
        ref = args[0]
        if not _CHANNEL_NAME.fullmatch(ref):
            return Reply(t("bind_not_found", lang, channel=esc(_short(ref))))
        if channel_admin is None:
            return Reply(t("bind_unsupported", lang))
        access = await channel_admin(ref)
        if access.problem is not None or access.chat_id is None:
            key = {"not_admin": "bind_not_admin", "bot_not_member": "bind_bot_missing"}.get(
                access.problem or "", "bind_not_found"
            )
            return Reply(t(key, lang, channel=esc(_short(ref))))
        target = replace(command, chat_id=access.chat_id, chat_type="channel", thread_id=None)
        return target, [ref, *args[1:]]

    def _unknown(self, name: str, lang: str) -> Reply:
        close = difflib.get_close_matches(name, [*KNOWN, *ALIASES], n=1, cutoff=0.7)
        if close:
            suggestion = "/" + ALIASES.get(close[0], close[0])
            return Reply(t("unknown_command_close", lang, command=suggestion))
        return Reply(t("unknown_command", lang))

    def _hint(self, command: Command, words: list[str], lang: str) -> Reply:
        """Free text in a private chat: the topic or command it may have meant, else where to
        start (``/start`` for a stranger, ``/help`` for a subscriber)."""
        found, unknown = self.resolve_topics(words) if len(words) <= 3 else ([], words)
        if found and not unknown:  # "AI", "比特币": a topic's name alone
            buttons = tuple(
                (Button(t("hint_follow", lang, name=topic.display(lang)), data),)
                for topic in found
                if len((data := f"/subscribe {topic.id}").encode()) <= MAX_CALLBACK_BYTES
            )
            ids = esc(" ".join(topic.id for topic in found))
            names = self._names([topic.id for topic in found], lang)
            return Reply(t("hint_topic", lang, names=names, ids=ids), buttons=buttons)
        first = words[0].casefold()
        if len(first) >= 3:  # shorter words are close to too much ("hi" and "id")
            commands = [n for n in (*KNOWN, *ALIASES) if n != "tg"]
            close = difflib.get_close_matches(first, commands, n=1, cutoff=0.75)
            if close:
                command_name = "/" + ALIASES.get(close[0], close[0])
                return Reply(t("hint_command", lang, command=command_name))
        return Reply(t("hint" if self._find(command) else "hint_new", lang))

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

    def _timezone(self, command: Command) -> str:
        found = self._find(command)
        return found.timezone if found else self.config().subscriber_defaults.timezone

    def _find(self, command: Command) -> Subscriber | None:
        with self.db.session() as session:
            return subscribers.find(session, command.platform, command.chat_id, command.thread_id)

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
                quiet_hours=defaults.quiet_hours,
            )

    def _topics_by_name(self) -> dict[str, Topic]:
        """Topic ids, names in every script and language, and aliases, case-folded."""
        config = self.config()
        if self._topic_index is not None and self._topic_index[0] is config:
            return self._topic_index[1]
        index: dict[str, Topic] = {}
        for topic in config.topics:
            n = topic.names
            names = (topic.id, n.zh_hans, n.en, n.zh_hant, *topic.aliases)
            for key in names:
                if key:
                    for form in (key, to_simplified(key), to_traditional(key)):
                        index.setdefault(form.casefold(), topic)
        self._topic_index = (config, index)
        return index

    def resolve_topics(self, names: list[str]) -> tuple[list[Topic], list[str]]:
        """Match names against topic ids, names (any script or language) and aliases."""
        index = self._topics_by_name()
        found: list[Topic] = []
        unknown: list[str] = []
        for name in names:
            key = name.casefold()
            match = index.get(key) or index.get(to_simplified(name).casefold())
            if match is None:
                unknown.append(name)
            elif match not in found:
                found.append(match)
        return found, unknown

    def _unknown_topics(self, unknown: list[str], lang: str) -> Reply:
        index = self._topics_by_name()
        close: list[str] = []
        for name in unknown[:5]:
            for key in difflib.get_close_matches(name.casefold(), list(index), n=2, cutoff=0.6):
                shown = index[key].display(lang)
                if shown not in close:
                    close.append(shown)
        names = _quote(unknown)
        if close:
            sep = t("list_sep", lang)
            suggestion = esc(sep.join(close[:3]))
            return Reply(t("unknown_topics_close", lang, names=names, close=suggestion))
        return Reply(t("unknown_topics", lang, names=names))

    def _names(self, topic_ids: list[str] | tuple[str, ...], lang: str) -> str:
        config = self.config()
        names = [esc(t_.display(lang)) if (t_ := config.topic(i)) else esc(i) for i in topic_ids]
        return t("list_sep", lang).join(names)

    def _popular_topics(self) -> list[Topic]:
        """The configured topics, the most followed first (config order among equals)."""
        config, now = self.config(), self.clock()
        cached = self._popular
        if cached is None or cached[0] is not config or abs(now - cached[1]) >= POPULAR_TTL:
            with self.db.session() as session:
                counts = followers.topic_followers(session)
            order = [topic.id for topic in sorted(config.topics, key=lambda tp: -counts[tp.id])]
            self._popular = cached = (config, now, order)
        return [found for i in cached[2] if (found := config.topic(i)) is not None]

    def _topic_buttons(
        self, subscriber: Subscriber | None, prefix: str, lang: str
    ) -> tuple[tuple[Button, ...], ...]:
        """The most followed topics as buttons that follow them, two a row, ✓ on the ones
        followed, then one to see them all."""
        mine = set(subscriber.topics if subscriber else ())
        buttons: list[Button] = []
        for topic in self._popular_topics():
            data = f"/subscribe {prefix}{topic.id}"
            if len(data.encode()) <= MAX_CALLBACK_BYTES:
                label = ("✓ " if topic.id in mine else "") + topic.display(lang)
                buttons.append(Button(label, data))
            if len(buttons) == START_TOPICS:
                break
        rows = [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
        if buttons:
            rows.append((Button(t("start_all_topics", lang), f"/topics {prefix}".rstrip()),))
        return tuple(rows)

    def _welcome(self, subscriber: Subscriber, prefix: str) -> Reply:
        """What /start answers: the three first steps, with language and topic buttons."""
        lang = subscriber.lang
        popular = self._popular_topics()
        if popular:
            names = t("list_sep", lang).join(esc(topic.display(lang)) for topic in popular[:3])
            pick = t("start_topics", lang, names=names, example=esc(popular[0].id))
        else:
            pick = t("topics_empty", lang)
        steps = t("start_steps", lang, topics=pick, next=self._first_step(subscriber, lang))
        buttons = (*_lang_buttons(prefix), *self._topic_buttons(subscriber, prefix, lang))
        return Reply(t("welcome", lang, help=steps), buttons=buttons)

    def _rhythm(self, subscriber: Subscriber, lang: str) -> str:
        """The schedule as the subscriber says it, with their zone where times are local."""
        schedule, _ = subscriber_timing(subscriber, self.config().subscriber_defaults.schedule)
        if schedule.kind == "instant":
            return t("rhythm_instant", lang)
        text = esc(describe_schedule(str(schedule), lang))
        if schedule.kind in ("daily", "weekly"):
            zone = esc(zone_label(subscriber.timezone, lang))
            return t("time_in_zone", lang, time=text, zone=zone)
        return text

    def _first_step(self, subscriber: Subscriber, lang: str) -> str:
        """What happens after /start: when the first digest comes once a topic is followed."""
        schedule, _ = subscriber_timing(subscriber, self.config().subscriber_defaults.schedule)
        if schedule.kind == "off":
            return t("start_next_off", lang)
        return t("start_next", lang, schedule=self._rhythm(subscriber, lang))

    def _next_delivery(self, found: Subscriber, lang: str) -> str:
        """One line: when this chat's next (or first) digest comes, on its own clock. The
        cursor's due moment is the compose tick's own plan, so this is what will happen."""
        if found.paused:
            return t("next_paused", lang)
        if not found.topics:
            return t("next_no_topics", lang)
        fallback = self.config().subscriber_defaults.schedule
        schedule, _ = subscriber_timing(found, fallback)
        now = self.clock()
        with self.db.session() as session:
            state = subscribers.cursor(session, found.id)
        due = state.next_due_at or next_digest(found, now, fallback)
        if schedule.kind == "off" or due is None:
            return t("next_off", lang)
        soon = due <= now + SOON
        if soon and schedule.kind == "instant" and state.digests_sent:
            return t("next_instant", lang)
        when = t("next_soon", lang) if soon else local_time(due, found.timezone, lang, now)
        key = "next_digest" if state.digests_sent else "next_first"
        return t(key, lang, when=when, schedule=self._rhythm(found, lang))

    # -- commands --------------------------------------------------------------------------

    def start(self, command: Command, args: list[str], lang: str) -> Reply:
        subscriber, created = self._ensure(command, lang)
        if not created:
            with self.db.session() as session:
                if subscribers.resume(session, subscriber.id):
                    return Reply(t("welcome_back", subscriber.lang), wake_delivery=True)
        return self._welcome(subscriber, _prefix(args))

    def help(self, command: Command, args: list[str], lang: str) -> Reply:
        if self.is_admin(command):  # their own commands too, which the menu does not show
            return Reply(t("help", lang) + "\n\n" + t("help_admin", lang))
        return Reply(t("help", lang))

    def show_id(self, command: Command, args: list[str], lang: str) -> Reply:
        """The sender's user id and the chat's id: what ``admins:`` in the config takes."""
        lines = [
            t("id_user", lang, user=esc(command.sender_id or "—")),
            t("id_chat", lang, chat=esc(command.chat_id)),
        ]
        if command.thread_id is not None:
            lines.append(t("id_thread", lang, thread=command.thread_id))
        if command.platform == "telegram" and command.sender_id:  # admins are Telegram users
            lines.append(t("id_admins", lang, user=esc(command.sender_id)))
        return Reply("\n".join(lines))

    def topics(
        self, command: Command, args: list[str], lang: str, notice: str | None = None
    ) -> Reply:
        config = self.config()
        if not config.topics:
            return Reply(t("topics_empty", lang))
        found = self._find(command)
        mine = set(found.topics if found else ())
        prefix = "/tg " + _prefix(args)
        lines = [t("topics_header", lang)]
        row: list[Button] = []
        rows: list[tuple[Button, ...]] = []
        for topic in config.topics:
            mark = " ✓" if topic.id in mine else ""
            lines.append(f"• <b>{esc(topic.display(lang))}</b> <code>{esc(topic.id)}</code>{mark}")
            data = prefix + topic.id
            if len(data.encode()) <= MAX_CALLBACK_BYTES and len(rows) < 49:
                label = ("✓ " if topic.id in mine else "") + topic.display(lang)
                row.append(Button(label, data))
                if len(row) == 2:
                    rows.append(tuple(row))
                    row = []
        if row:
            rows.append(tuple(row))
        text = _fit(lines) + "\n" + t("topics_footer", lang)
        return Reply(text, buttons=tuple(rows), notice=notice)

    def toggle(self, command: Command, args: list[str], lang: str) -> Reply:
        """A topic button: follow it, or stop following it; the keyboard is redrawn."""
        target = [a for a in args[:1] if a.startswith("@")]  # a channel managed from here
        found, _ = self.resolve_topics(args[len(target) :][:1])
        if not found:
            return self.topics(command, target, lang)
        topic = found[0]
        subscriber, _ = self._ensure(command, lang)
        with self.db.session() as session:
            # The toast is plain text, not HTML: the name goes unescaped.
            if topic.id in subscriber.topics:
                subscribers.unsubscribe(session, subscriber.id, [topic.id])
                notice = t("unsubscribed", lang, names=topic.display(lang))
            else:
                subscribers.subscribe(session, subscriber.id, [topic.id], self.clock())
                notice = t("subscribed", lang, names=topic.display(lang))
        return self.topics(command, target, lang, notice=notice)

    def _split_keywords(self, args: list[str]) -> tuple[list[str], Keywords | None]:
        names = [a for a in args if a[:1] not in "+-@"]
        plus = [_keyword(a[1:]) for a in args if a.startswith("+") and len(a) > 1]
        minus = [_keyword(a[1:]) for a in args if a.startswith("-") and len(a) > 1]
        keywords = Keywords(tuple(dict.fromkeys(plus)), tuple(dict.fromkeys(minus)))
        return names, (keywords if keywords else None)

    def subscribe(self, command: Command, args: list[str], lang: str) -> Reply:
        names, keywords = self._split_keywords(args)
        if not names:
            return Reply(t("subscribe_usage", lang))
        found, unknown = self.resolve_topics(names)
        if unknown:
            return self._unknown_topics(unknown, lang)
        subscriber, _ = self._ensure(command, lang)
        ids = [topic.id for topic in found]
        with self.db.session() as session:
            added = subscribers.subscribe(session, subscriber.id, ids, self.clock(), keywords)
        now_following = self._find(command) or subscriber
        if command.from_button:  # a topic button of /start: the keyboard stays for more
            plain = t("list_sep", lang).join(topic.display(lang) for topic in found)
            notice = t("subscribed" if added else "already_subscribed", lang, names=plain)
            mine = self._names(now_following.topics, lang)
            text = t("subscribed", lang, names=mine) + "\n" + t("start_more", lang)
            return Reply(
                text + "\n" + self._next_delivery(now_following, lang),
                buttons=self._topic_buttons(now_following, _prefix(args), lang),
                notice=notice,
            )
        if keywords:
            words = _keywords_text(keywords, lang)
            text = t("subscribed_keywords", lang, names=self._names(ids, lang), words=words)
        elif not added:
            text = t("already_subscribed", lang, names=self._names(ids, lang))
        else:
            text = t("subscribed", lang, names=self._names(added, lang))
        return Reply(text + "\n" + self._next_delivery(now_following, lang))

    def unsubscribe(self, command: Command, args: list[str], lang: str) -> Reply:
        names = [a for a in args if not a.startswith("@")]
        if not names:
            return Reply(t("unsubscribe_usage", lang))
        if len(names) == 1 and names[0].casefold() in _ALL_WORDS:
            return self._unsubscribe_all(command, lang)
        found, unknown = self.resolve_topics(names)
        if unknown:
            return self._unknown_topics(unknown, lang)
        ids = [topic.id for topic in found]
        subscriber = self._find(command)
        removed: list[str] = []
        if subscriber is not None:
            with self.db.session() as session:
                removed = subscribers.unsubscribe(session, subscriber.id, ids)
        if not removed:
            return Reply(t("not_subscribed", lang, names=self._names(ids, lang)))
        return Reply(t("unsubscribed", lang, names=self._names(removed, lang)))

    def _unsubscribe_all(self, command: Command, lang: str) -> Reply:
        """``/unsubscribe all``, ``退订 全部``: every topic goes; the reply names them, so they
        can be followed again. Settings stay (``/stop`` deletes those)."""
        subscriber = self._find(command)
        removed: list[str] = []
        if subscriber is not None and subscriber.topics:
            with self.db.session() as session:
                removed = subscribers.unsubscribe(session, subscriber.id, subscriber.topics)
        if not removed:
            return Reply(t("list_empty", lang))
        return Reply(t("unsubscribed_all", lang, names=self._names(removed, lang)))

    def show_list(self, command: Command, args: list[str], lang: str) -> Reply:
        found = self._find(command)
        if found is None or not found.topics:
            return Reply(t("list_empty", lang))
        parts: list[str] = []
        size = 0
        for sub in found.subscriptions:
            name = self._names([sub.topic], lang)
            if sub.keywords:
                name += f" ({_keywords_text(sub.keywords, lang, limit=200)})"
            size += visible_len(name) + 2
            if size > MAX_TEXT_UTF16 // 2:  # hundreds of topics: one message shows what fits
                parts.append("…")
                break
            parts.append(name)
        names = t("list_sep", lang).join(parts)
        lines = [t("list", lang, names=names, schedule=self._rhythm(found, lang))]
        if not found.paused:  # the extras say it is paused
            lines.append(self._next_delivery(found, lang))
        lines += self._extras(found, lang)
        return Reply(_fit(lines))

    def _extras(self, found: Subscriber, lang: str) -> list[str]:
        """The settings a subscriber changed from the defaults, one line each."""
        defaults = self.config().subscriber_defaults
        lines = []
        if found.timezone != defaults.timezone:
            lines.append(t("settings_timezone", lang, timezone=esc(found.timezone)))
        if found.quiet_hours:
            lines.append(t("settings_quiet", lang, quiet=esc(found.quiet_hours)))
        if found.filters:
            lines.append(t("settings_filter", lang, words=_keywords_text(found.filters, lang)))
        if found.paused:
            lines.append(t("settings_paused", lang))
        return lines

    def settings(self, command: Command, args: list[str], lang: str) -> Reply:
        found = self._find(command)
        if found is None:
            return Reply(t("list_empty", lang))
        defaults = self.config().subscriber_defaults
        quiet = found.quiet_hours or t("off", lang)
        filters = _keywords_text(found.filters, lang) if found.filters else t("none", lang)
        text = t(
            "settings",
            lang,
            lang_name=LANG_NAMES[found.lang] if found.lang in LANG_NAMES else esc(found.lang),
            schedule=self._rhythm(found, lang),
            timezone=esc(describe_zone(found.timezone, self.clock())),
            quiet=esc(quiet),
            filters=filters,
            items=found.max_items or defaults.max_items,
            state=t("state_paused" if found.paused else "state_active", lang),
        )
        return Reply(text + "\n" + self._next_delivery(found, lang))

    def digest(self, command: Command, args: list[str], lang: str) -> Reply:
        found = self._find(command)
        if found is None or not found.topics:
            return Reply(t("digest_no_topics", lang))
        # Pausing stops the scheduled digests; one asked for is still answered.
        queued = self.digest_now(found)
        if not queued:
            return Reply(t("digest_nothing", lang))
        if found.paused:  # queued ahead of the digest: why the schedule stays quiet
            return Reply(t("digest_while_paused", lang), wake_delivery=True)
        return Reply("", wake_delivery=True)

    def digest_now(self, found: Subscriber, *, rehearse: bool = False) -> list[Delivery]:
        """What ``/digest`` sends ``found`` now: the parts it queues, composed by the compose
        tick's own code. ``rehearse`` (the console's preview) rolls that transaction back:
        nothing is queued, no cursor moves, nothing counts as read."""
        now = self.clock()
        db = Rehearsal(self.db, found.id, now, keep=not rehearse)
        self.compose(db, self.config(), found, now, on_demand=True)
        return db.parts

    def topic_matcher(self) -> TopicMatcher:
        """The running taxonomy's matcher (what files articles, and what ``/why`` explains)."""
        return self._matcher()

    def schedule(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if not a.startswith("@")]
        prefix = _prefix(args)
        found = self._find(command)
        current = found.schedule if found else self.config().subscriber_defaults.schedule
        if not words:
            # Labels read in the user's language; the data stays canonical (and short enough).
            buttons = tuple(
                (Button(describe_schedule(p, lang), f"/schedule {prefix}{p}"),)
                for p in _SCHEDULE_PRESETS
            )
            current_text = esc(describe_schedule(current, lang))
            return Reply(t("schedule_help", lang, current=current_text), buttons=buttons)
        try:
            parsed = str(parse_schedule_phrase(" ".join(words)))
        except ValueError:
            return Reply(t("schedule_unreadable", lang, value=_quote(words)))
        subscriber, _ = self._ensure(command, lang)
        with self.db.session() as session:
            subscribers.update(session, subscriber.id, self.clock(), schedule=parsed)
        key = "schedule_off" if parsed == "off" else "schedule_set"
        return Reply(t(key, lang, schedule=esc(describe_schedule(parsed, lang))))

    def timezone(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if not a.startswith("@")]
        found = self._find(command)
        current = found.timezone if found else self.config().subscriber_defaults.timezone
        now = self.clock()
        if not words:
            return Reply(t("timezone_help", lang, current=esc(describe_zone(current, now))))
        zone = parse_timezone(" ".join(words))
        if zone is None:
            zones = zone_names()
            wanted = " ".join(words).casefold()
            close = difflib.get_close_matches(wanted, list(zones), n=1, cutoff=0.75)
            if close:
                return Reply(
                    t("timezone_close", lang, value=_quote(words), close=esc(zones[close[0]]))
                )
            return Reply(t("timezone_unknown", lang, value=_quote(words)))
        subscriber, _ = self._ensure(command, lang)
        with self.db.session() as session:
            subscribers.update(session, subscriber.id, now, timezone=zone)
        return Reply(t("timezone_set", lang, timezone=esc(describe_zone(zone, now))))

    def quiet(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if not a.startswith("@")]
        if not words:
            found = self._find(command)
            current = (found.quiet_hours if found else None) or t("off", lang)
            return Reply(t("quiet_help", lang, current=esc(current)))
        try:
            parsed = parse_quiet_phrase(" ".join(words))
        except ValueError:
            return Reply(t("quiet_unreadable", lang, value=_quote(words)))
        subscriber, _ = self._ensure(command, lang)
        value = str(parsed) if parsed else None
        with self.db.session() as session:
            subscribers.update(session, subscriber.id, self.clock(), quiet_hours=value)
        if value is None:
            return Reply(t("quiet_off", lang))
        return Reply(t("quiet_set", lang, quiet=esc(value)))

    def set_lang(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if not a.startswith("@")]
        buttons = _lang_buttons(_prefix(args))
        if not words:
            return Reply(t("lang_usage", lang), buttons=buttons)
        wanted = _LANG_WORDS.get(words[0].casefold()) or _LANG_WORDS.get(words[0])
        if wanted is None:
            return Reply(t("lang_invalid", lang, value=_quote(words[:1])), buttons=buttons)
        subscriber, _ = self._ensure(command, wanted)
        with self.db.session() as session:
            subscribers.update(session, subscriber.id, self.clock(), lang=wanted)
        if command.from_button:  # the /start message: redrawn in the language chosen
            welcome = self._welcome(replace(subscriber, lang=wanted), _prefix(args))
            return replace(welcome, notice=t("lang_set", wanted))
        return Reply(t("lang_set", wanted))

    def filter(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if not a.startswith("@")]
        found = self._find(command)
        current = found.filters if found else Keywords()
        action = words[0].casefold() if words else "list"
        if action in ("list", "列表", "show"):
            if not current:
                return Reply(t("filter_empty", lang))
            return Reply(t("filter_list", lang, words=_keywords_text(current, lang)))
        if action in ("clear", "清除", "清空", "off"):
            if found is not None:
                with self.db.session() as session:
                    subscribers.update(session, found.id, self.clock(), filters=Keywords())
            return Reply(t("filter_cleared", lang))
        include = list(current.include)
        exclude = list(current.exclude)
        for word in words:
            if word.startswith("-") and len(word) > 1:
                key = _keyword(word[1:])
                include = [w for w in include if w != key]
                exclude.append(key)
            else:
                key = _keyword(word[1:] if word.startswith("+") else word)
                if not key:
                    continue
                exclude = [w for w in exclude if w != key]
                include.append(key)
        include = list(dict.fromkeys(include))[-MAX_KEYWORDS:]
        exclude = list(dict.fromkeys(exclude))[-MAX_KEYWORDS:]
        keywords = Keywords(tuple(include), tuple(exclude))
        subscriber, _ = self._ensure(command, lang)
        with self.db.session() as session:
            subscribers.update(session, subscriber.id, self.clock(), filters=keywords)
        if not keywords:
            return Reply(t("filter_cleared", lang))
        return Reply(t("filter_set", lang, words=_keywords_text(keywords, lang)))

    def search(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a for a in args if a.strip()]
        if not words:
            return Reply(t("search_usage", lang))
        since = self.clock() - timedelta(days=SEARCH_DAYS)
        tz = self._timezone(command)
        with self.db.session() as session:
            hits = lookup.search(session, words[:5], since, limit=8)
        if not hits:
            return Reply(t("search_none", lang, query=_quote(words)))
        lines = [t("search_header", lang, query=_quote(words), count=len(hits))]
        for hit in hits:
            title = esc(_short(hit.title, 120))
            if hit.url and hit.url.startswith(("http://", "https://")):
                title = f'<a href="{esc(hit.url)}">{title}</a>'
            when = local_date(hit.created_at, tz)
            lines.append(f"• {title} <i>{esc(_short(hit.feed_id, 30))} {when}</i>")
        return Reply("\n".join(lines))

    def why(self, command: Command, args: list[str], lang: str) -> Reply:
        urls = [a for a in args if a.startswith(("http://", "https://"))]
        if not urls:
            return Reply(t("why_usage", lang))
        url = urls[0]
        subscriber = self._find(command)
        with self.db.session() as session:
            path = lookup.why(session, url, subscriber, self._matcher().explain)
        if path is None:
            return Reply(t("why_unknown", lang, url=esc(_short(url, 200))))
        tz = subscriber.timezone if subscriber else self.config().subscriber_defaults.timezone
        return Reply(_explain(path, lang, self._names, tz))

    def _matcher(self) -> TopicMatcher:
        """The running taxonomy's matcher, rebuilt when the config changes."""
        config = self.config()
        if self._matcher_for is not config:
            self._matcher_for, self._topic_matcher = config, TopicMatcher(config.topics)
        return self._topic_matcher

    def pause(self, command: Command, args: list[str], lang: str) -> Reply:
        found = self._find(command)
        if found is None:
            return Reply(t("list_empty", lang))
        if found.paused:
            return Reply(t("pause_already", lang))
        with self.db.session() as session:
            subscribers.pause(session, found.id, "paused by /pause")
        return Reply(t("paused", lang))

    def resume(self, command: Command, args: list[str], lang: str) -> Reply:
        found = self._find(command)
        if found is None:
            return Reply(t("list_empty", lang))
        with self.db.session() as session:
            resumed = subscribers.resume(session, found.id)
        if not resumed:
            return Reply(t("resume_not_paused", lang))
        return Reply(t("resumed", lang), wake_delivery=True)

    def stop(self, command: Command, args: list[str], lang: str) -> Reply:
        words = [a.casefold() for a in args if not a.startswith("@")]
        prefix = _prefix(args)
        found = self._find(command)
        if found is None:
            return Reply(t("stop_nothing", lang))
        if words[:1] in (["no"], ["否"], ["取消"]):
            return Reply(t("stop_cancelled", lang))
        if words[:1] not in (["yes"], ["是"], ["确认"], ["確認"]):
            yes, no = f"/stop {prefix}yes", f"/stop {prefix}no"
            buttons = ((Button(t("stop_yes", lang), yes), Button(t("stop_no", lang), no)),)
            return Reply(t("stop_confirm", lang), buttons=buttons)
        with self.db.session() as session:
            subscribers.delete(session, found.id)
        return Reply(t("stopped", lang))

    def bind(self, command: Command, args: list[str], lang: str) -> Reply:
        """``/bind @channel``: the channel becomes a subscriber its admins manage from here."""
        self._ensure(command, lang)
        return Reply(t("bind_done", lang, channel=esc(_short(args[0]))))


def _keywords_text(keywords: Keywords, lang: str, limit: int = 2000) -> str:
    words = [f"+{w}" for w in keywords.include] + [f"-{w}" for w in keywords.exclude]
    return esc(_short(" ".join(words), limit))


def _prefix(args: list[str]) -> str:
    """``"@channel "`` when the command manages a channel from a private chat, else ``""``."""
    return f"{args[0]} " if args and args[0].startswith("@") else ""


def _lang_buttons(prefix: str) -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button(LANG_NAMES[code], f"/lang {prefix}{code}") for code in LANGS),)


def _changes(name: str, args: list[str]) -> bool:
    """Whether the command changes the chat's subscriptions or settings (admins only in groups)."""
    if name in ("schedule", "timezone", "quiet", "lang"):
        return bool(args)
    if name == "filter":
        return bool(args) and args[0].casefold() not in ("list", "列表", "show")
    return name in _CHANGES_SUBSCRIPTIONS


MAX_WHY_TERMS = 6


def _explain(path: WhyPath, lang: str, names: Callable[[list[str], str], str], tz: str) -> str:
    """The path of one article, a line per stage, in the reader's language and timezone."""
    lines = [
        t(
            "why_fetched",
            lang,
            title=esc(_short(path.title, 120)),
            feed=esc(path.feed_id),
            fetched=local_time(path.fetched_at, tz, lang),
        )
    ]
    if path.merged_into is not None:
        lines.append(
            t(
                "why_merged",
                lang,
                story=path.story_id,
                title=esc(_short(path.story_title, 120)),
                feed=esc(path.story_feed_id),
            )
        )
    else:
        lines.append(t("why_story", lang, story=path.story_id, sources=path.sources))
    if path.topics:
        lines.append(t("why_topics", lang, names=names(list(path.topics), lang)))
        for found in path.evidence:
            if found.terms:
                terms = ", ".join(
                    f"{esc(_short(h.term, 40))} ({t('why_place_' + h.place, lang)})"
                    for h in found.terms[:MAX_WHY_TERMS]
                )
                name = names([found.topic], lang)
                lines.append(t("why_evidence", lang, name=name, terms=terms))
    else:
        lines.append(t("why_no_topics", lang))
    verdict = path.verdict
    if verdict.kind == "sent" and verdict.at is not None:
        lines.append(t("why_sent", lang, at=local_time(verdict.at, tz, lang)))
    elif verdict.kind == "queued":
        lines.append(t("why_queued", lang))
    elif verdict.kind == "no_subscriber":
        lines.append(t("why_no_subscriber", lang))
    elif verdict.kind == "not_following":
        lines.append(t("why_not_following", lang))
    elif verdict.kind == "topic_keywords":
        lines.append(
            t(
                "why_topic_keywords",
                lang,
                topic=names([verdict.topic or ""], lang),
                rule=esc(_short(verdict.rule, 60)),
            )
        )
    elif verdict.kind == "filter":
        lines.append(t("why_filter", lang, rule=esc(_short(verdict.rule, 60))))
    elif verdict.kind == "pending":
        lines.append(t("why_pending", lang))
    else:
        lines.append(t("why_not_sent", lang))
    return "\n".join(lines)


_HANDLERS: dict[str, Callable[[CommandCore, Command, list[str], str], Reply]] = {
    "start": CommandCore.start,
    "help": CommandCore.help,
    "topics": CommandCore.topics,
    "subscribe": CommandCore.subscribe,
    "unsubscribe": CommandCore.unsubscribe,
    "list": CommandCore.show_list,
    "digest": CommandCore.digest,
    "settings": CommandCore.settings,
    "schedule": CommandCore.schedule,
    "timezone": CommandCore.timezone,
    "quiet": CommandCore.quiet,
    "lang": CommandCore.set_lang,
    "filter": CommandCore.filter,
    "search": CommandCore.search,
    "why": CommandCore.why,
    "pause": CommandCore.pause,
    "resume": CommandCore.resume,
    "stop": CommandCore.stop,
    "bind": CommandCore.bind,
    "id": CommandCore.show_id,
    "tg": CommandCore.toggle,
    **ADMIN_HANDLERS,
}
_ASYNC_HANDLERS: dict[str, Callable[[CommandCore, Command, list[str], str], Awaitable[Reply]]] = {
    **ADMIN_ASYNC_HANDLERS,
}
_CHANGES_SUBSCRIPTIONS = frozenset(
    {"subscribe", "unsubscribe", "tg", "digest", "pause", "resume", "stop"}
)
_TARGETABLE = frozenset(
    {
        "topics",
        "subscribe",
        "unsubscribe",
        "list",
        "digest",
        "settings",
        "schedule",
        "timezone",
        "quiet",
        "lang",
        "filter",
        "why",
        "pause",
        "resume",
        "stop",
        "tg",
    }
)
"""Commands a channel's admin may send from a private chat with ``@channel`` first."""
_ADMIN_COMMANDS = frozenset({*ADMIN_HANDLERS, *ADMIN_ASYNC_HANDLERS})
COMMANDS = tuple(name for name in (*_HANDLERS, *_ASYNC_HANDLERS) if name != "tg")
"""The commands people type (``/tg`` is what topic buttons send)."""
KNOWN = frozenset((*_HANDLERS, *_ASYNC_HANDLERS))
"""Command names the core answers: what ``parse`` recognises as a bare word."""
