"""The first minute in chat (issue 17), as a new subscriber lives it, in zh-Hans, zh-Hant and en.

Through the real bot on loopback: free text gets a hint; /start offers languages, the most
followed topics first and what happens next; a topic button follows its topic; /subscribe,
/list and /settings say when the first digest comes, on the subscriber's clock; /id; /help
for an admin and for anyone else; ``退订 全部``; /digest while paused. Then the pieces on
their own: the free-text rate, groups kept quiet, and quotes in ``/topic add``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.commands.core import CommandCore
from bot.commands.io import Command, split_words
from bot.hints import HintRate
from bot.i18n import t
from bot.when import local_time
from jobs.compose import compose_for
from jobs.runtime import Runtime
from newsbrief.config.settings import Config, load_config
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from tests.harness import Harness, eventually
from tests.servers.botapi import BotApiServer, SentMessage
from tests.servers.feeds import FeedServer, rss
from tests.test_commands import Talk, labels

ADMIN = 777
LANGS = ("zh-Hans", "zh-Hant", "en")
CLIENT_CODE = {"en": "en", "zh-Hans": "zh-hans", "zh-Hant": "zh-hant"}
NAMES = {
    "ai": {"zh-Hans": "人工智能", "zh-Hant": "人工智能", "en": "AI"},
    "crypto": {"zh-Hans": "加密货币", "zh-Hant": "加密貨幣", "en": "Crypto"},
    "tech": {"zh-Hans": "科技", "zh-Hant": "科技", "en": "Tech"},
}
GREETING = {"zh-Hans": "你好", "zh-Hant": "你好呀", "en": "hello"}
UNSUBSCRIBE_ALL = {"zh-Hans": "退订 全部", "zh-Hant": "退訂 全部", "en": "/unsubscribe all"}
# Written out, so a catalogue mix-up (the wrong language, the wrong zone) cannot hide.
TOKYO_0830 = {
    "zh-Hans": "08:30（东京时间）",
    "zh-Hant": "08:30（東京時間）",
    "en": "08:30 (Tokyo time)",
}
FIRST = {"zh-Hans": "📬 第一份简报：", "zh-Hant": "📬 第一份簡報：", "en": "📬 First digest: "}
THEN_DAILY = {
    "zh-Hans": "之后的推送时间：每天 08:30（北京时间）",
    "zh-Hant": "之後的推送時間：每天 08:30（北京時間）",
    "en": "then daily 08:30 (Beijing time)",
}


NEWS = {
    "zh-Hans": ("OpenAI releases a language model for coding", "It writes and fixes programs."),
    "zh-Hant": ("Weather agency trains a language model on radar data", "Forecasts come faster."),
    "en": ("Museum uses a language model to catalogue old letters", "Archivists approve."),
}


def entry(lang: str) -> dict[str, str]:
    """A story of its own per language (one story each: they must not merge)."""
    title, text = NEWS[lang]
    return {
        "title": title,
        "link": f"https://news.example/{lang}",
        "guid": lang,
        "description": text,
    }


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    with BotApiServer() as botapi, FeedServer() as feeds:
        feeds.set("/wire.xml", rss([], title="Wire"))
        config = Config(
            database_url=database_url,
            admins=[ADMIN],
            telegram={
                "token": botapi.token,
                "api_base_url": f"http://127.0.0.1:{botapi.port}",
                "poll_timeout": 1,
            },
            fetch={"allow_private_networks": True, "timeout": 5},
            scheduler={"deliver": 3600},
            subscriber_defaults={
                "backlog_hours": 0,
                "language": "zh-Hans",
                "schedule": "daily 08:30",
                "timezone": "Asia/Shanghai",
            },
            # Config order ai, crypto, tech; the followers below make it tech, crypto, ai.
            topics=[
                {
                    "id": "ai",
                    "name": {"zh": "人工智能", "en": "AI"},
                    "keywords": ["language model"],
                },
                {
                    "id": "crypto",
                    "name": {"zh": "加密货币", "en": "Crypto"},
                    "keywords": ["bitcoin"],
                },
                {"id": "tech", "name": {"zh": "科技", "en": "Tech"}, "keywords": ["gadget"]},
            ],
            feeds=[{"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"}],
        )
        runtime = Runtime(config)
        runtime.start()
        follow(runtime.db, {"tech": 3, "crypto": 2})
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(("bot",), stop))
        try:
            yield Harness(runtime, botapi, feeds)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await runtime.aclose()


def follow(db: Database, counts: dict[str, int]) -> None:
    """Other chats that already follow topics: ``counts`` followers per topic."""
    now = datetime.now(UTC)
    with db.session() as session:
        for topic, n in counts.items():
            for i in range(n):
                found, _ = subscribers.ensure(
                    session,
                    "telegram",
                    f"{topic}-{i}",
                    None,
                    lang="en",
                    timezone="UTC",
                    schedule="off",
                    now=now,
                    backlog=timedelta(0),
                )
                subscribers.subscribe(session, found.id, [topic], now)


def lines(message: SentMessage) -> list[str]:
    return message.text.splitlines()


async def first_minute(h: Harness, talk: Talk, lang: str) -> None:
    """One new subscriber's first minute, in ``lang`` (their client's language)."""
    names = {topic: name[lang] for topic, name in NAMES.items()}
    sep = t("list_sep", lang)

    hint = await talk.ask(GREETING[lang])
    assert hint.raw_text == t("hint_new", lang) and "/start" in hint.text and "/help" in hint.text

    welcome = await talk.ask("/start")
    assert welcome.raw_text.startswith(t("welcome", lang, help="").rstrip())
    assert THEN_DAILY[lang] in welcome.text  # what happens next, in the default zone
    assert f"{names['tech']}{sep}{names['crypto']}{sep}{names['ai']}" in welcome.text
    assert welcome.callback_data == [
        "/lang zh-Hans",
        "/lang zh-Hant",
        "/lang en",
        "/subscribe tech",  # three followers
        "/subscribe crypto",  # two
        "/subscribe ai",  # none: last, though first in the config
        "/topics",
    ]
    assert labels(welcome)[3:6] == [names["tech"], names["crypto"], names["ai"]]

    edited, toast = await talk.press(welcome, "/subscribe tech")
    assert toast == t("subscribed", lang, names=names["tech"])
    assert labels(edited)[:3] == [f"✓ {names['tech']}", names["crypto"], names["ai"]]
    assert FIRST[lang] + t("next_soon", lang) in edited.text  # due at the next compose tick
    found = talk.subscriber()
    assert found is not None and found.topics == ("tech",)

    # In Tokyo the first digest moves to 08:30 Tokyo time, and says so (not 23:30 UTC).
    await talk.ask("/timezone Asia/Tokyo")
    reply = await talk.ask("/subscribe crypto")
    assert lines(reply)[0] == t("subscribed", lang, names=names["crypto"])
    assert lines(reply)[1].startswith(FIRST[lang]) and TOKYO_0830[lang] in lines(reply)[1]
    assert "23:30" not in reply.text
    with h.runtime.db.session() as session:
        found = talk.subscriber()
        assert found is not None
        due = subscribers.cursor(session, found.id).next_due_at
    assert due is not None and due.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "08:30"
    when = local_time(due, "Asia/Tokyo", lang, datetime.now(UTC))
    assert lines(reply)[1].startswith(FIRST[lang] + when)

    listing = await talk.ask("/list")
    assert f"{names['tech']}{sep}{names['crypto']}" in listing.text
    assert any(line.startswith(FIRST[lang] + when) for line in lines(listing))
    settings = await talk.ask("/settings")
    assert "Asia/Tokyo" in settings.text
    assert lines(settings)[-1].startswith(FIRST[lang] + when)

    ids = await talk.ask("/id")
    assert ids.raw_text == "\n".join(
        [
            t("id_user", lang, user=talk.chat),
            t("id_chat", lang, chat=talk.chat),
            t("id_admins", lang, user=talk.chat),
        ]
    )
    help_ = await talk.ask("/help")
    assert help_.raw_text == t("help", lang) and "/broadcast" not in help_.text

    gone = await talk.ask(UNSUBSCRIBE_ALL[lang])
    assert gone.raw_text == t(
        "unsubscribed_all", lang, names=f"{names['tech']}{sep}{names['crypto']}"
    )
    found = talk.subscriber()
    assert found is not None and found.topics == ()

    # Paused, /digest still answers with the digest: pausing stops only the scheduled ones.
    await talk.ask("/subscribe ai")
    await talk.ask("/pause")
    news = entry(lang)
    h.feeds.set("/wire.xml", rss([news], title="Wire"))
    await h.round()  # polled and processed; the paused subscriber gets no scheduled digest
    await asyncio.sleep(0.2)
    before = len(talk.mine())
    assert not any(news["title"] in m.text for m in talk.mine())
    note = await talk.ask("摘要" if lang != "en" else "/digest")  # the bare Chinese word too
    assert note.raw_text == t("digest_while_paused", lang)
    await eventually(lambda: len(talk.mine()) >= before + 2)
    assert news["title"] in talk.mine()[before + 1].text
    found = talk.subscriber()
    assert found is not None and found.paused


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_first_minute_in_three_languages(h: Harness) -> None:
    for i, lang in enumerate(LANGS):
        await first_minute(h, Talk(h, chat=9300 + i, code=CLIENT_CODE[lang]), lang)


async def test_an_admin_sees_the_admin_commands_and_free_text_is_rated(h: Harness) -> None:
    admin = Talk(h, chat=ADMIN, code="zh-hant")
    help_ = await admin.ask("/help")
    assert help_.raw_text == t("help", "zh-Hant") + "\n\n" + t("help_admin", "zh-Hant")
    for command in ("/feeds", "/addfeed", "/rmfeed", "/topic", "/stats", "/broadcast", "/reload"):
        assert command in help_.text
    ids = await admin.ask("/id")
    assert f"<code>{ADMIN}</code>" in ids.raw_text and "admins:" in ids.raw_text

    # Fifty lines of chatter in a row: two hints, then quiet; a command still answers.
    talk = Talk(h, chat=9400, code="en")
    for n in range(50):
        h.botapi.send_user_message(talk.chat, f"line {n}", language_code="en")
    h.botapi.send_user_message(talk.chat, "/id", language_code="en")
    await eventually(lambda: len(talk.mine()) >= 3)
    await asyncio.sleep(0.3)  # anything else would have come by now
    assert [m.raw_text for m in talk.mine()] == [t("hint_new", "en")] * 2 + [
        t("id_user", "en", user=talk.chat)
        + "\n"
        + t("id_chat", "en", chat=talk.chat)
        + "\n"
        + t("id_admins", "en", user=talk.chat)
    ]
    # A topic's name alone is taken as the wish to follow it.
    offer = await Talk(h, chat=9401, code="zh-hans").ask("加密货币")
    assert offer.raw_text == t("hint_topic", "zh-Hans", names="加密货币", ids="crypto")
    assert offer.callback_data == ["/subscribe crypto"]


# -- the pieces on their own ---------------------------------------------------------------


def test_the_hint_rate_answers_two_in_five_minutes_per_chat() -> None:
    rate = HintRate()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    burst = [rate.allow("a", start + timedelta(seconds=s)) for s in range(50)]
    assert burst == [True, True] + [False] * 48
    assert rate.allow("b", start)  # each chat has its own count
    assert not rate.allow("a", start + timedelta(minutes=4, seconds=59))
    assert rate.allow("a", start + timedelta(minutes=5))  # the first hint left the window
    assert rate.allow("a", start + timedelta(minutes=5, seconds=1))
    assert not rate.allow("a", start + timedelta(minutes=5, seconds=2))
    small = HintRate(limit=1, max_chats=2)  # memory stays bounded: the oldest chat goes
    assert all(small.allow(chat, start) for chat in ("x", "y", "z"))
    assert small.allow("x", start) and not small.allow("z", start + timedelta(seconds=1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_free_text_is_answered_in_private_chats_only(db: Database) -> None:
    config = Config(
        database_url="sqlite://", topics=[{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}]
    )
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    core = CommandCore(db, lambda: config, compose=compose_for, clock=lambda: clock[0])

    def say(text: str, chat_type: str = "private", chat: str = "5", **kw: Any) -> Command:
        return Command("telegram", chat, chat_type, chat, text, language_hint="en", **kw)

    for kind in ("group", "supergroup", "channel"):
        assert await core.handle(say("hello", kind)) is None
    assert await core.handle(say("hello", from_button=True)) is None  # not a button's data
    assert await core.handle(say("  ")) is None
    reply = await core.handle(say("subscrbe ai"))
    assert reply is not None and reply.text == t("hint_command", "en", command="/subscribe")
    reply = await core.handle(say("hello"))
    assert reply is not None and reply.text == t("hint_new", "en")
    assert await core.handle(say("hello again")) is None
    clock[0] += timedelta(minutes=5)
    reply = await core.handle(say("hello"))
    assert reply is not None and reply.text == t("hint_new", "en")
    assert await core.handle(say("/unsubscribe all")) is not None
    assert await core.handle(say("/subscribe ai")) is not None
    clock[0] += timedelta(minutes=5)
    reply = await core.handle(say("thanks!"))
    assert reply is not None and reply.text == t("hint", "en")  # a subscriber: no /start


def test_quotes_keep_words_with_spaces_whole() -> None:
    assert split_words(
        '/topic add un 联合国 "United Nations" “Security Council” 「联合国 安理会」'
    ) == [
        "/topic",
        "add",
        "un",
        "联合国",
        "United Nations",
        "Security Council",
        "联合国 安理会",
    ]
    assert split_words('+"New York" -『Wall St』,ai、crypto') == [
        "+New York",
        "-Wall St",
        "ai",
        "crypto",
    ]
    assert split_words('"a, b" c') == ["a, b", "c"]  # separators inside quotes stay
    assert split_words('/search "bitcoin') == ["/search", '"bitcoin']  # never closed: a character
    assert split_words("ai,crypto 每天") == ["ai", "crypto", "每天"]


ADMIN_CONFIG = """\
database_url: {database_url}
admins: [{admin}]
topics:
  - id: ai
    name: {{zh: 人工智能, en: AI}}
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_topic_add_keeps_quoted_keywords_whole(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "newsbrief.yaml"
    file.write_text(ADMIN_CONFIG.format(database_url=database_url, admin=ADMIN), encoding="utf-8")
    current = [load_config(file)]

    async def reload() -> None:
        current[0] = load_config(file)

    core = CommandCore(
        db, lambda: current[0], compose=compose_for, config_file=file, on_config_change=reload
    )

    async def admin(text: str) -> str:
        reply = await core.handle(Command("telegram", str(ADMIN), "private", str(ADMIN), text))
        assert reply is not None
        return reply.text

    usage = await admin("/topic")
    assert '"United Nations"' in usage and "「" in usage
    await admin('/topic add un 联合国 "United Nations" “UN Security Council” 「安理会 决议」')
    # Names given English first are put right: the Chinese one is the Chinese name.
    await admin('/话题管理 添加 who "World Health Organization" 世界卫生组织 "World Health"')
    un, who = current[0].topic("un"), current[0].topic("who")
    assert un is not None and who is not None
    assert (un.display("zh-Hans"), un.display("en")) == ("联合国", "United Nations")
    assert un.keywords == ("UN Security Council", "安理会 决议")
    assert (who.display("zh-Hans"), who.display("en")) == (
        "世界卫生组织",
        "World Health Organization",
    )
    assert who.keywords == ("World Health",)
    assert '- "United Nations"' not in file.read_text(encoding="utf-8")  # no word cut in two
