"""Admin commands (admins are listed in the config): feed health, edits of config/, counts,
broadcasts.

Each handler takes the command core, the command, its arguments and the reply language. The
core checks that the sender is an admin before any of these run (every name in the two tables
at the end, Chinese aliases included). Edits go to the YAML files with their comments kept
(``newsbrief.config.edit``) and take effect at once through ``core.on_config_change``.
"""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot import feed_admin
from bot.commands.io import Command, Reply
from bot.feed_admin import FeedRefused
from bot.i18n import t
from bot.telegram.limits import MAX_TEXT_UTF16
from bot.telegram.render import esc, visible_len
from newsbrief.config.base import ID_PATTERN
from newsbrief.config.edit import (
    ConfigEditError,
    add_topic,
    add_topic_aliases,
    remove_topic,
)
from newsbrief.config.settings import ConfigError, Problem, load_config
from newsbrief.records import Message
from newsbrief.store import feeds as feed_store
from newsbrief.store import llm as llm_store
from newsbrief.store import outbox, stats

if TYPE_CHECKING:
    from bot.commands.core import CommandCore


def feeds(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    with core.db.session() as session:
        health = feed_store.feed_health(session)
    # Trouble first: that is what an admin asking is looking for.
    order = {"disabled": 0, "failing": 1, "new": 2, "ok": 3, "removed": 4}
    health.sort(key=lambda h: (order.get(h.status, 9), h.id))
    lines = [t("feeds_header", lang, count=len(health))]
    shown = 0
    for h in health:
        icon = {"ok": "✅", "new": "🆕", "failing": "⚠️", "disabled": "⛔"}.get(h.status, "▫️")
        rate = f"{h.entries_per_week:g}" if h.entries_per_week is not None else "?"
        last = h.last_success_at.strftime("%m-%d %H:%M") if h.last_success_at else t("never", lang)
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


async def addfeed(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    if not args:
        return Reply(t("addfeed_usage", lang))
    if core.config_file is None or core.fetcher is None:
        return Reply(t("addfeed_no_config", lang))
    url, names = args[0], args[1:]
    found, unknown = core.resolve_topics(names)
    if unknown:
        return Reply(t("unknown_topics", lang, names=esc(t("list_sep", lang).join(unknown))))
    try:
        added = await feed_admin.add_feed(core, url, [topic.id for topic in found])
    except FeedRefused as exc:
        key = "addfeed_duplicate" if exc.kind == "duplicate" else "addfeed_failed"
        return Reply(t(key, lang, reason=esc(exc.reason)))
    except ConfigEditError as exc:
        return Reply(edit_refused(exc, lang))
    except ConfigError as exc:
        reason = "; ".join(str(p) for p in exc.problems)
        return Reply(t("addfeed_failed", lang, reason=esc(reason)))
    return Reply(
        t("addfeed_done", lang, feed=esc(added.id), title=esc(added.title), url=esc(added.url))
        + (
            t("addfeed_id_taken", lang, wanted=esc(added.passed_over), feed=esc(added.id))
            if added.passed_over
            else ""
        )
    )


async def rmfeed(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    if not args:
        return Reply(t("rmfeed_usage", lang))
    if core.config_file is None:
        return Reply(t("no_config_file", lang))
    feed_id = args[0]
    try:
        removed = await feed_admin.remove(core, feed_id)
    except ConfigEditError as exc:
        return Reply(edit_refused(exc, lang))
    except ConfigError as exc:
        return Reply(t("config_edit_failed", lang, reason=_problems(exc.problems, lang)))
    if not removed:
        return Reply(t("rmfeed_unknown", lang, feed=esc(feed_id)))
    entries = await asyncio.to_thread(_entries_of, core, feed_id)
    return Reply(t("rmfeed_done", lang, feed=esc(feed_id), entries=entries))


def _entries_of(core: CommandCore, feed_id: str) -> int:
    with core.db.session() as session:
        return stats.entries_of(session, feed_id)


_SUBCOMMANDS = {
    "add": "add",
    "new": "add",
    "添加": "add",
    "新增": "add",
    "rm": "rm",
    "remove": "rm",
    "del": "rm",
    "delete": "rm",
    "删除": "rm",
    "刪除": "rm",
    "alias": "alias",
    "aliases": "alias",
    "别名": "alias",
    "別名": "alias",
}


async def topic(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    action = _SUBCOMMANDS.get(args[0].casefold()) if args else None
    if action is None or len(args) < {"add": 4, "rm": 2, "alias": 3}[action]:
        return Reply(t("topic_usage", lang))
    if core.config_file is None:
        return Reply(t("no_config_file", lang))
    file = core.config_file
    try:
        if action == "add":
            # Quoted words arrive whole (``"United Nations"``: ``bot.commands.io.split_words``).
            topic_id, zh, en, keywords = args[1], args[2], args[3], args[4:]
            if _han(en) and not _han(zh):  # "AI 人工智能": the names came English first
                zh, en = en, zh
            if not ID_PATTERN.match(topic_id):
                return Reply(t("topic_bad_id", lang, id=esc(topic_id)))
            if (existing := core.config().topic(topic_id)) is not None:
                name = esc(existing.display(lang))
                return Reply(t("topic_exists", lang, id=esc(topic_id), name=name))
            written = await asyncio.to_thread(add_topic, file, topic_id, zh, en, keywords)
            await _changed(core)
            values = {"id": esc(topic_id), "zh": esc(zh), "en": esc(en)}
            return Reply(t("topic_added", lang, file=_file(written), **values))
        found, unknown = core.resolve_topics(args[1:2])
        if unknown:
            return Reply(t("unknown_topics", lang, names=esc(unknown[0])))
        target = found[0]
        values = {"id": esc(target.id), "name": esc(target.display(lang))}
        if action == "rm":
            home = await asyncio.to_thread(remove_topic, file, target.id)
            if home is None:
                return Reply(t("topic_not_in_files", lang, id=values["id"]))
            await _changed(core)
            return Reply(t("topic_removed", lang, file=_file(home), **values))
        result = await asyncio.to_thread(add_topic_aliases, file, target.id, args[2:])
        if result is None:
            return Reply(t("topic_not_in_files", lang, id=values["id"]))
        home, added = result
        if not added:
            return Reply(t("topic_aliases_known", lang, id=values["id"]))
        await _changed(core)
        aliases = esc(t("list_sep", lang).join(added))
        return Reply(t("topic_aliases_added", lang, file=_file(home), aliases=aliases, **values))
    except ConfigEditError as exc:
        return Reply(edit_refused(exc, lang))
    except ConfigError as exc:
        return Reply(t("config_edit_failed", lang, reason=_problems(exc.problems, lang)))
    except ValueError as exc:
        return Reply(t("config_edit_failed", lang, reason=esc(str(exc))))


def show_stats(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    config = core.config()
    with core.db.session() as session:
        counts = stats.collect(session, core.clock())
        spent = llm_store.usage(session, core.clock()) if config.llm.enabled else None
    sep = t("list_sep", lang)
    top = [
        f"{esc(found.display(lang)) if (found := config.topic(i)) else esc(i)} {n}"
        for i, n in counts.topics[:TOP_TOPICS]
    ]
    feeds = {s: counts.feeds.get(s, 0) for s in ("ok", "failing", "disabled", "new", "removed")}
    lines = [
        t("stats_header", lang),
        t(
            "stats_subscribers",
            lang,
            total=counts.subscribers,
            active=counts.subscribers - counts.paused,
            paused=counts.paused,
        ),
        t("stats_topics", lang, topics=sep.join(top)) if top else t("stats_no_topics", lang),
        t("stats_feeds", lang, **feeds),
        t("stats_content", lang, stories=counts.stories_24h, articles=counts.articles_24h),
        t(
            "stats_outbox",
            lang,
            pending=counts.outbox_pending,
            failed=counts.outbox_failed_24h,
            sent=counts.outbox_sent_24h,
        ),
    ]
    if spent is not None:
        budget = config.llm.daily_token_budget
        left = t("stats_llm_left", lang, left=max(0, budget - spent.tokens)) if budget else ""
        texts = spent.texts
        lines.append(
            t(
                "stats_llm",
                lang,
                calls=spent.calls,
                tokens=spent.tokens,
                left=left,
                ok=texts.get("ok", 0),
                rejected=texts.get("rejected", 0),
                failed=texts.get("failed", 0),
            )
        )
    return Reply("\n".join(lines))


TOP_TOPICS = 10
BROADCAST_LIMIT = MAX_TEXT_UTF16 - 96
"""Room left in one Telegram message for what escaping adds."""


def broadcast(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    text = broadcast_text(command.text)
    if not text:
        return Reply(t("broadcast_usage", lang))
    body = esc(text)
    if len(body.encode("utf-16-le")) // 2 > BROADCAST_LIMIT:
        return Reply(t("broadcast_too_long", lang, length=len(text), limit=BROADCAST_LIMIT))
    now = core.clock()
    # The same text on the same day goes out once, however often it is sent (a double tap, a
    # retried update): the outbox keys are unique.
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    key = f"broadcast:{now:%Y%m%d}:{digest}"
    message = Message(body)
    with core.db.session() as session:
        chats = stats.active_chats(session)
        added = sum(
            outbox.enqueue_to(
                session,
                chat.platform,
                chat.chat_id,
                f"{key}:{chat.subscriber_id}",
                [message],
                now,
                thread_id=chat.thread_id,
                subscriber_id=chat.subscriber_id,
            )
            for chat in chats
        )
    if chats and not added:
        return Reply(t("broadcast_repeat", lang, total=len(chats)))
    return Reply(t("broadcast_done", lang, count=added), wake_delivery=added > 0)


def broadcast_text(text: str) -> str:
    """What follows the command word, line breaks kept, control characters out."""
    parts = text.strip().split(maxsplit=1)
    rest = parts[1] if len(parts) > 1 else ""
    kept = "".join(c for c in rest if c == "\n" or unicodedata.category(c)[0] != "C")
    return kept.strip()


async def reload(core: CommandCore, command: Command, args: list[str], lang: str) -> Reply:
    if core.config_file is None or core.on_config_change is None:
        return Reply(t("no_config_file", lang))
    try:
        await asyncio.to_thread(load_config, core.config_file)
    except ConfigError as exc:
        # Nothing to put in force; the watcher tells the other admins on its next look.
        return Reply(t("reload_refused", lang, reason=_problems(exc.problems, lang)))
    if await core.on_config_change() is False:  # edited again in between, and broken
        return Reply(t("reload_refused", lang, reason=""))
    config = core.config()
    return Reply(t("reload_done", lang, feeds=len(config.feeds), topics=len(config.topics)))


async def _changed(core: CommandCore) -> None:
    if core.on_config_change is not None:
        await core.on_config_change()


def edit_refused(exc: ConfigEditError, lang: str) -> str:
    """Why an edit of config/ was not made, in the admin's language."""
    file = esc(str(exc.file))
    if exc.kind == "read_only":
        return t("config_read_only", lang, file=file)
    if exc.kind == "unwritable":
        return t("config_unwritable", lang, file=file, reason=esc(exc.detail))
    return t("config_layout", lang, file=file, reason=esc(exc.detail))


def _han(text: str) -> bool:
    """Whether ``text`` has a Chinese character: which of two names is the Chinese one."""
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


def _file(path: Path) -> str:
    return f"<code>{esc(path.name)}</code>"


def _problems(problems: Sequence[Problem], lang: str, limit: int = 5) -> str:
    lines = [f"<code>{esc(str(p)[:300])}</code>" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(t("problems_more", lang, count=len(problems) - limit))
    return "\n".join(lines)


_Handler = Callable[["CommandCore", Command, list[str], str], Reply]
_AsyncHandler = Callable[["CommandCore", Command, list[str], str], Awaitable[Reply]]
H = TypeVar("H", _Handler, _AsyncHandler)


def _with_aliases(handlers: dict[str, H]) -> dict[str, H]:
    """Chinese names as extra keys: the core dispatches on the name and checks the admin for
    every key."""
    out = dict(handlers)
    for name, extra in ALIASES.items():
        if name in handlers:
            out.update(dict.fromkeys(extra, handlers[name]))
    return out


ALIASES: dict[str, tuple[str, ...]] = {
    "feeds": ("订阅源", "訂閱源"),
    "addfeed": ("添加源",),
    "rmfeed": ("删除源", "刪除源"),
    "topic": ("话题管理", "話題管理"),
    "stats": ("统计", "統計"),
    "broadcast": ("广播", "廣播"),
    "reload": ("重载", "重載"),
}
"""Chinese names of the admin commands (Simplified, Traditional)."""

ADMIN_HANDLERS: dict[str, _Handler] = _with_aliases(
    {"feeds": feeds, "stats": show_stats, "broadcast": broadcast}
)
ADMIN_ASYNC_HANDLERS: dict[str, _AsyncHandler] = _with_aliases(
    {"addfeed": addfeed, "rmfeed": rmfeed, "topic": topic, "reload": reload}
)
