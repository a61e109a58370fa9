"""Admin commands from chat: /feeds shows feed health, /addfeed finds a site's feed and writes
it into the YAML config (comments kept), taking effect at once; /rmfeed, /topic add|rm|alias edit
the config and taxonomy files the same way; /stats counts; /broadcast reaches every active
subscriber once. Nobody else may use any of them, under any of their names."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.commands.admin import ADMIN_ASYNC_HANDLERS, ADMIN_HANDLERS
from bot.commands.io import Command
from bot.i18n import t
from newsbrief.records import DeliveryStatus, Message, Priority
from newsbrief.store import feeds as feed_store
from newsbrief.store import outbox, subscribers
from newsbrief.store.tables import (
    ArticleRow,
    Base,
    DeliveryRow,
    EntryRow,
    FeedRow,
    StoryRow,
    SubscriberRow,
)
from tests.harness import Harness, running_harness
from tests.servers.feeds import rss

ADMIN, STRANGER = 4242, 5151
OLD_AI = {"title": "A language model for bitcoin", "link": "https://n.example/1", "guid": "1"}
NEW_AI = {"title": "Another language model", "link": "https://n.example/2", "guid": "2"}
SITE = """<!doctype html><html><head><title>Chain News</title>
<link rel="alternate" type="application/rss+xml" title="Chain News" href="/rss/chain.xml">
</head><body>news</body></html>"""


@pytest.fixture
async def admin_harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async for running in running_harness(database_url, tmp_path / "newsbrief.yaml", admin=ADMIN):
        yield running


def snapshot(h: Harness) -> tuple[str, list[str]]:
    assert h.runtime.config_file is not None
    with h.runtime.db.session() as session:
        ids = [f.id for f in feed_store.feed_health(session)]
    return h.runtime.config_file.read_text(encoding="utf-8"), ids


async def test_strangers_get_a_refusal_and_change_nothing(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/site.html", SITE, "text/html")
    before = snapshot(h)
    refusal = "That is an admin command; you are not an admin."
    assert await h.say("/feeds", expect=1, chat=STRANGER) == refusal
    assert await h.say(f"/addfeed {h.feeds.url('/site.html')}", expect=2, chat=STRANGER) == refusal
    assert snapshot(h) == before
    assert h.feeds.statuses("/site.html") == []  # not even fetched


async def test_addfeed_discovers_writes_the_yaml_and_takes_effect(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/site.html", SITE, "text/html")
    h.feeds.set(
        "/rss/chain.xml",
        rss(
            [{"title": "Bitcoin ETF flows", "link": "https://c.example/1", "guid": "c1"}],
            title="Chain News",
        ),
    )
    original, _ = snapshot(h)
    reply = await h.say(f"/addfeed {h.feeds.url('/site.html')} crypto", expect=1, chat=ADMIN)
    assert reply == f"✅ Added chain-news: Chain News\n{h.feeds.url('/rss/chain.xml')}"
    text, ids = snapshot(h)
    assert text.startswith(original)  # everything that was there, comments included, is kept
    added = text[len(original) :]
    assert h.feeds.url("/rss/chain.xml") in added and "crypto" in added
    assert len(ids) == 2  # the running bot synced the new feed at once
    assert any(f.url == h.feeds.url("/rss/chain.xml") for f in h.runtime.ctx.config.feeds)

    again = await h.say(f"/addfeed {h.feeds.url('/rss/chain.xml')}", expect=2, chat=ADMIN)
    assert again.startswith("That feed is in the config already")

    status = await h.say("/feeds", expect=3, chat=ADMIN)
    assert status.startswith("Feeds (2)")
    assert "wire" in status and "new" in status


async def test_addfeed_explains_what_went_wrong(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/plain.html", "<html><head><title>No feeds</title></head></html>", "text/html")
    before = snapshot(h)
    reply = await h.say(f"/addfeed {h.feeds.url('/plain.html')}", expect=1, chat=ADMIN)
    assert reply.startswith("Could not add it: no feed found at")
    assert (await h.say("/addfeed ftp://nowhere", expect=2, chat=ADMIN)).startswith(
        "Could not add it: not an http(s) URL"
    )
    assert (await h.say("/addfeed https://x.example sports", expect=3, chat=ADMIN)) == (
        "No such topic: sports. Send /topics to see them all."
    )
    assert await h.say("/addfeed", expect=4, chat=ADMIN) == (
        "Usage: /addfeed URL [topic…]; the URL may be a feed or a site's page."
    )
    assert snapshot(h) == before


async def test_feeds_shows_trouble_first(admin_harness: Harness) -> None:
    h = admin_harness
    h.feeds.set("/wire.xml", "<html>gone</html>", "text/html")
    await h.runtime.poll_once(all_feeds=True)
    status = await h.say("/feeds", expect=1, chat=ADMIN)
    assert "⚠️ wire failing" in status
    assert "not_a_feed (1× in a row): not a feed: got an HTML page" in status


# -- a taxonomy file next to the config, as the shipped config has -----------------------------

TAXONOMY = """\
# Test taxonomy: its comments must survive admin edits.
topics:
  # ---- science ----
  - id: space
    names: {zh-Hans: 航天, zh-Hant: 航天, en: Space}
    aliases: [航天, Space]   # names that identify it
    keywords: [火箭, rocket]

  - id: games
    names: {zh-Hans: 游戏, zh-Hant: 遊戲, en: Games}
    aliases: [游戏, games]
# trailing note
"""


async def add_taxonomy(h: Harness) -> tuple[Path, Path]:
    """Hand-edit the harness's config to name a taxonomy file; reload. (config, taxonomy)"""
    config = h.runtime.config_file
    assert config is not None
    taxonomy = config.parent / "topics.yaml"
    taxonomy.write_text(TAXONOMY, encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("telegram:\n", "topics_file: topics.yaml\ntelegram:\n", 1))
    assert await h.runtime.reload_config()
    assert h.runtime.ctx.config.topic("space") is not None
    return config, taxonomy


def dump(h: Harness) -> dict[str, Any]:
    """Every row of every table, and every config file: what "nothing changed" compares. Of the
    outbox, what is not a command's own reply (replies go out through it too); not the ticks'
    own record of when they ran (the config watch runs every second meanwhile)."""
    with h.runtime.db.session() as session:
        rows = {}
        for table in Base.metadata.sorted_tables:
            if table.name == "tick_runs":
                continue
            query = select(table)
            if table.name == DeliveryRow.__tablename__:
                query = query.where(table.c.priority < Priority.REPLY)
            rows[table.name] = sorted(map(repr, session.execute(query).all()))
    assert h.runtime.config_file is not None
    files = {p.name: p.read_bytes() for p in sorted(h.runtime.config_file.parent.glob("*.yaml"))}
    return {"rows": rows, "files": files}


def diff(before: str, after: str) -> list[str]:
    """The changed lines, as ``-old`` and ``+new``."""
    return [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"
    ]


async def subscribe(h: Harness, chat: int, topics: str) -> None:
    """Subscribe a private chat by command (whatever the reply's wording)."""
    await h.say(f"/subscribe {topics}", expect=1, chat=chat)
    with h.runtime.db.session() as session:
        found = subscribers.find(session, "telegram", str(chat), None)
    assert found is not None and set(found.topics) == set(topics.split())


def private(chat: int, text: str) -> Command:
    return Command("telegram", str(chat), "private", str(chat), text)


async def test_every_admin_command_refuses_strangers_under_every_name(
    admin_harness: Harness,
) -> None:
    h = admin_harness
    await add_taxonomy(h)
    h.feeds.set("/site.html", SITE, "text/html")
    # The stranger is a subscriber: a broadcast or a /stats that slipped through would show.
    await subscribe(h, STRANGER, "ai")
    before = dump(h)
    refusal = "That is an admin command; you are not an admin."
    names = sorted({*ADMIN_HANDLERS, *ADMIN_ASYNC_HANDLERS})
    assert {"rmfeed", "topic", "stats", "broadcast", "reload", "删除源", "广播"} <= set(names)
    core = h.runtime.core
    for name in names:
        for args in ("", " wire", " add robots 机器人 Robots", " rm space", " alias ai x"):
            reply = await core.handle(private(STRANGER, f"/{name}{args}"))
            assert reply is not None and reply.text == refusal, (name, args)
    # A bare Chinese name in a private chat is a command too; and the same through Telegram.
    reply = await core.handle(private(STRANGER, "广播 大家好"))
    assert reply is not None and reply.text == refusal
    for n, text in enumerate(["/rmfeed wire", "/topic alias space 太空", "/broadcast hi"]):
        assert await h.say(text, expect=2 + n, chat=STRANGER) == refusal
    assert dump(h) == before
    assert h.feeds.statuses("/site.html") == []


async def test_admin_edits_round_trip_with_comments_kept(admin_harness: Harness) -> None:
    h = admin_harness
    config, taxonomy = await add_taxonomy(h)
    await h.runtime.poll_once(all_feeds=True)  # the wire feed brings in one entry
    h.feeds.set("/site.html", SITE, "text/html")
    h.feeds.set("/rss/chain.xml", rss([], title="Chain News"))
    main0, tax0 = config.read_text("utf-8"), taxonomy.read_text("utf-8")

    reply = await h.say(f"/addfeed {h.feeds.url('/site.html')} space", expect=1, chat=ADMIN)
    assert reply.startswith("✅ Added chain-news: Chain News")
    main1 = config.read_text("utf-8")
    assert main1.startswith(main0) and "topics: [space]" in main1[len(main0) :]

    reply = await h.say("/topic alias space 太空 Raumfahrt", expect=2, chat=ADMIN)
    assert reply == (
        "✅ Topic space (Space) has new aliases: 太空, Raumfahrt; written to topics.yaml, "
        "in force now."
    )
    assert diff(tax0, taxonomy.read_text("utf-8")) == [
        "-     aliases: [航天, Space]   # names that identify it",
        "+     aliases: [航天, Space, 太空, Raumfahrt]   # names that identify it",
    ]
    tax1 = taxonomy.read_text("utf-8")
    # An inline topic: the alias line goes into the config, under the topic's name.
    reply = await h.say("/话题管理 别名 ai 机器学习", expect=3, chat=ADMIN)
    assert "机器学习" in reply and "newsbrief.yaml" in reply
    assert diff(main1, config.read_text("utf-8")) == ["+     aliases: [人工智能, AI, 机器学习]"]
    assert "    keywords: [language model]   # keep this comment\n" in config.read_text("utf-8")
    # In force at once: the new names are topic names now.
    found, _ = h.runtime.core.resolve_topics(["太空", "机器学习"])
    assert [t.id for t in found] == ["space", "ai"]
    await h.say("/subscribe 太空", expect=1, chat=5050)  # the new alias names the topic
    with h.runtime.db.session() as session:
        follower = subscribers.find(session, "telegram", "5050", None)
    assert follower is not None and list(follower.topics) == ["space"]

    reply = await h.say("/topic add robots 机器人 Robots robot 机器人", expect=4, chat=ADMIN)
    assert reply == (
        "✅ Added topic robots: 机器人 / Robots, written to topics.yaml, in force now."
    )
    assert h.runtime.ctx.config.topic("robots") is not None
    assert diff(tax1, taxonomy.read_text("utf-8")) == [
        "+ ",
        "+   - id: robots",
        "+     names: {zh-Hans: 机器人, zh-Hant: 機器人, en: Robots}",
        "+     aliases: [机器人, Robots]",
        "+     keywords: [robot, 机器人]",
    ]
    assert await h.say("/topic add robots 机器人 Robots", expect=5, chat=ADMIN) == (
        "Topic robots exists already (Robots)."
    )
    assert await h.say("/topic rm robots", expect=6, chat=ADMIN) == (
        "🗑 Deleted topic robots (Robots) from topics.yaml; in force now."
    )
    assert taxonomy.read_text("utf-8") == tax1
    assert h.runtime.ctx.config.topic("robots") is None
    # A topic a feed still names stays, and says why.
    reply = await h.say("/topic rm space", expect=7, chat=ADMIN)
    assert reply.startswith("Nothing changed, the config stays as it was:\n")
    assert "newsbrief.yaml:" in reply and "unknown topic 'space'" in reply
    assert taxonomy.read_text("utf-8") == tax1

    main2 = config.read_text("utf-8")
    assert await h.say("/rmfeed wire", expect=8, chat=ADMIN) == (
        "🗑 Removed feed wire: no longer polled; its 1 entries are kept."
    )
    assert [line[2:] for line in diff(main2, config.read_text("utf-8"))] == [
        "  - id: wire",
        f"    url: {h.feeds.url('/wire.xml')}",
        "    fulltext: never",
    ]
    with h.runtime.db.session() as session:
        row = session.get(FeedRow, "wire")
        assert row is not None and not row.enabled
        assert session.scalar(select(func.count()).where(EntryRow.feed_id == "wire")) == 1
    assert await h.say("/rmfeed wire", expect=9, chat=ADMIN) == (
        "The config has no feed wire. Send /feeds to see them all."
    )
    assert "#" in config.read_text("utf-8")
    assert config.read_text("utf-8").startswith("# Hand-written notes that admin edits must keep.")


async def test_topic_and_rmfeed_explain_their_usage(admin_harness: Harness) -> None:
    h = admin_harness
    before = dump(h)
    usage = await h.say("/topic", expect=1, chat=ADMIN)
    assert usage.startswith("Usage:\n/topic add ID zh-name en-name [keyword…]")
    assert await h.say("/topic add x", expect=2, chat=ADMIN) == usage
    assert await h.say("/topic add Bad! 坏 Bad", expect=3, chat=ADMIN) == (
        "Bad! is not a topic id: a lowercase letter or digit first, then lowercase letters, "
        "digits, - and _, at most 64."
    )
    assert await h.say("/topic alias nope x", expect=4, chat=ADMIN) == (
        "No such topic: nope. Send /topics to see them all."
    )
    assert (await h.say("/rmfeed", expect=5, chat=ADMIN)).startswith("Usage: /rmfeed ID")
    assert dump(h) == before


async def test_stats_match_the_database(admin_harness: Harness) -> None:
    h = admin_harness
    for chat, topics in ((601, "ai crypto"), (602, "ai"), (603, "crypto"), (604, "ai")):
        await subscribe(h, chat, topics)
    h.feeds.set("/wire.xml", rss([OLD_AI, NEW_AI], title="Wire"))
    await h.round()
    now = h.runtime.ctx.clock()
    with h.runtime.db.session() as session:
        subscribers.pause_chat(session, "telegram", "604", "blocked")
        outbox.enqueue_to(session, "telegram", "701", "test:pending", [Message("x")], now)
        outbox.enqueue_to(session, "telegram", "702", "test:failed", [Message("y")], now)
        outbox.enqueue_to(
            session, "telegram", "703", "test:old", [Message("z")], now - timedelta(days=3)
        )
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.key.in_(["test:failed:0", "test:old:0"]))
            .values(status=DeliveryStatus.FAILED)
        )
        # Waiting (a retry later): the reply to /stats wakes the deliverer, which must not send it.
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.key == "test:pending:0")
            .values(due_at=now + timedelta(hours=1))
        )
    reply = await h.say("/stats", expect=1, chat=ADMIN)

    # The same numbers, counted here another way.
    day = now - timedelta(hours=24)
    with h.runtime.db.session() as session:

        def count(*where: Any) -> int:
            return int(session.scalar(select(func.count()).where(*where)) or 0)

        total = count(SubscriberRow.id > 0)
        paused = count(SubscriberRow.paused.is_(True))
        stories = count(StoryRow.created_at >= day)
        articles = count(ArticleRow.created_at >= day)
        pending = count(DeliveryRow.status == "pending")
        failed = count(DeliveryRow.status == "failed", DeliveryRow.created_at >= day)
        sent = count(
            DeliveryRow.status == "sent",
            DeliveryRow.sent_at >= day,
            DeliveryRow.key.not_like(f"reply:telegram:{ADMIN}:%"),  # the answer to /stats itself
        )
        health = feed_store.feed_health(session)
    assert (total, paused, pending, failed) == (4, 1, 1, 1)
    assert stories >= 1 and articles >= stories and sent >= 1
    statuses = {s: sum(f.status == s for f in health) for s in ("ok", "failing", "disabled")}
    assert reply.splitlines() == [
        "Statistics",
        f"Subscribers: {total} ({total - paused} active, {paused} paused)",
        "Top topics (subscriptions): AI 3, Crypto 2",
        f"Feeds: {statuses['ok']} ok · {statuses['failing']} failing · "
        f"{statuses['disabled']} disabled · 0 new · 0 removed",
        f"Last 24 h: {stories} stories, {articles} articles",
        f"Outbox: {pending} pending · {failed} failed (24 h) · {sent} sent (24 h)",
    ]
    zh = await h.runtime.core.handle(
        Command("telegram", str(ADMIN), "private", str(ADMIN), "/统计", language_hint="zh-TW")
    )
    assert zh is not None and "訂閱者：4（活躍 3，暫停 1）" in zh.text


async def test_broadcast_reaches_every_active_subscriber_once(admin_harness: Harness) -> None:
    h = admin_harness
    for chat in (801, 802, 803):
        await subscribe(h, chat, "ai")
    with h.runtime.db.session() as session:
        subscribers.pause_chat(session, "telegram", "803", "blocked")
    text = "Hello <all> & everyone, 你好!\nSecond line"
    reply = await h.say(f"/broadcast {text}", expect=1, chat=ADMIN)
    assert reply == "📢 Queued for 2 subscribers."
    for chat in (801, 802):
        messages = await h.botapi.wait_for_messages(chat, 2)
        assert [m.text for m in messages][1:] == [text]
    # The same again today is not sent twice; the paused chat got nothing.
    assert await h.say(f"/广播 {text}", expect=2, chat=ADMIN) == (
        "The same text was broadcast today already (2 subscribers); not sent again."
    )
    while await h.runtime.deliverer.tick():
        pass
    for chat in (801, 802):
        assert [m.text for m in h.botapi.messages(chat)].count(text) == 1
    assert len(h.botapi.messages(803)) == 1
    with h.runtime.db.session() as session:
        rows = session.scalars(select(DeliveryRow).where(DeliveryRow.key.like("broadcast:%")))
        assert sorted(r.chat_id for r in rows) == ["801", "802"]
    assert (await h.say("/broadcast", expect=3, chat=ADMIN)).startswith("Usage: /broadcast TEXT")


async def test_reload_puts_a_hand_edit_in_force_or_says_what_is_wrong(
    admin_harness: Harness,
) -> None:
    h = admin_harness
    config = h.runtime.config_file
    assert config is not None
    good = config.read_text("utf-8")
    config.write_text(good.replace("poll_timeout: 1\n", "poll_timeout: 1\n  bogus: 2\n"))
    reply = await h.say("/reload", expect=1, chat=ADMIN)
    assert reply == (
        "⚠️ The config has errors and was not reloaded; the last good one stays in force:\n"
        f"{config}:8: unknown key 'bogus' in telegram"
    )
    config.write_text(good.replace("    keywords: [bitcoin]\n", "    keywords: [bitcoin, btc]\n"))
    assert await h.say("/重载", expect=2, chat=ADMIN) == "🔄 Config reloaded: 1 feeds, 2 topics."
    crypto = h.runtime.ctx.config.topic("crypto")
    assert crypto is not None and crypto.keywords == ("bitcoin", "btc")


async def test_admin_commands_answer_in_three_languages_in_every_chat_type(
    admin_harness: Harness,
) -> None:
    """Transcripts: each read-only admin command in a private chat, a group and a forum topic,
    in the admin's language; in a channel (posts carry no sender) they are refused."""
    api = admin_harness.botapi
    forum = -1007000
    api.add_chat(forum, "supergroup", is_forum=True)

    def prefix(key: str, lang: str) -> str:
        # The reply's fixed start: everything before the first placeholder.
        return t(key, lang, count=0, feeds=0, topics=0).split("0")[0]

    async def ask(chat: int, text: str, code: str, **kw: Any) -> str:
        thread = kw.get("message_thread_id")
        before = [m for m in api.messages(chat) if m.message_thread_id == thread]
        if kw.pop("channel", False):
            api.send_channel_post(chat, text)
        else:
            api.send_user_message(chat, text, language_code=code, **kw)
        for _ in range(300):
            now = [m for m in api.messages(chat) if m.message_thread_id == thread]
            if len(now) > len(before):
                return now[len(before)].raw_text
            await asyncio.sleep(0.05)
        raise AssertionError(f"no answer to {text!r} in chat {chat}")

    codes = {"en": "en", "zh-Hans": "zh-hans", "zh-Hant": "zh-hant"}
    for i, (lang, code) in enumerate(codes.items()):
        places: list[tuple[int, dict[str, Any]]] = [
            (ADMIN, {}),
            (-7000 - i, {"user_id": ADMIN, "chat_type": "supergroup"}),
            (
                forum,
                {
                    "user_id": ADMIN,
                    "chat_type": "supergroup",
                    "message_thread_id": 50 + i,
                    "is_topic_message": True,
                },
            ),
        ]

        async def transcript(
            chat: int, kw: dict[str, Any], lang: str = lang, code: str = code
        ) -> None:
            assert (await ask(chat, "/stats", code, **kw)).startswith(prefix("stats_header", lang))
            assert (await ask(chat, "/feeds", code, **kw)).startswith(prefix("feeds_header", lang))
            assert (await ask(chat, "/reload", code, **kw)).startswith(prefix("reload_done", lang))
            assert await ask(chat, "/topic", code, **kw) == t("topic_usage", lang)
            assert await ask(chat, "/broadcast", code, **kw) == t("broadcast_usage", lang)
            assert await ask(chat, "/rmfeed", code, **kw) == t("rmfeed_usage", lang)

        # The places at once (each chat is paced at 1 message/s), the languages one by one.
        await asyncio.gather(*(transcript(chat, kw) for chat, kw in places))
    channel = -1008000
    api.add_chat(channel, "channel")
    refused = await ask(channel, "/stats", "en", channel=True)
    assert refused in {t("admins_only", lang) for lang in codes}


async def test_edits_of_a_read_only_config_say_so_in_the_admins_language(
    admin_harness: Harness,
) -> None:
    h = admin_harness
    h.feeds.set("/site.html", SITE, "text/html")
    assert h.runtime.config_file is not None
    h.runtime.config_file.chmod(0o444)
    before = snapshot(h)
    name = str(h.runtime.config_file)
    replies = [
        await h.say(f"/addfeed {h.feeds.url('/site.html')}", expect=1, chat=ADMIN),
        await h.say("/rmfeed wire", expect=2, chat=ADMIN),
        await h.say("/topic add space 航天 Space", expect=3, chat=ADMIN),
        await h.say("/topic alias ai 大模型", expect=4, chat=ADMIN, language_code="zh-hans"),
        await h.say("/rmfeed wire", expect=5, chat=ADMIN, language_code="zh-hant"),
    ]
    assert (
        replies[:3]
        == [
            f"Nothing changed: {name} is read-only (the file, its folder or its disk). Ask whoever "
            "runs the server to make it writable, or edit it by hand."
        ]
        * 3
    )
    assert replies[3].startswith(f"没有修改：{name} 是只读的")
    assert replies[4].startswith(f"沒有修改：{name} 是唯讀的")
    assert "went wrong" not in "".join(replies)
    assert snapshot(h) == before
    assert h.feeds.statuses("/site.html") == []  # refused before looking for the feed
