"""5,000 random commands straight into the command core: every one is answered (or, if it is no
command, ignored) with valid Telegram HTML, nothing escapes, and the database stays consistent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.commands.core import (
    COMMANDS,
    KNOWN,
    MAX_KEYWORD_CHARS,
    MAX_KEYWORDS,
    ChannelAccess,
    CommandCore,
)
from bot.commands.io import ALIASES, Command, Reply, parse
from bot.i18n import LANGS, t
from bot.telegram.limits import MAX_CALLBACK_BYTES
from jobs.compose import compose_for
from newsbrief.config.settings import Config
from newsbrief.schedule import parse_quiet, parse_schedule
from newsbrief.store import subscribers
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, SubscriberRow
from tests.servers.botapi import parse_html, utf16_len

pytestmark = pytest.mark.slow

COMMANDS_RUN = 5000
BATCH = 10
"""Commands per Hypothesis example: the engine's own cost per example is paid 500 times, not
5,000 (and a batch lets state built by one command meet the next)."""
# Many topics with long names: /topics and /list must still fit one message and one keyboard.
MANY = tuple(f"t{i:02d}" for i in range(80))
TOPICS = ("ai", "crypto", "games", *MANY)
NAMES = sorted({*COMMANDS, *ALIASES, "tg", "feeds", "addfeed", "nosuch", "订阅x", "STOP"})

# What people (and attackers) paste: markup, entities, controls, bidi overrides, emoji, Han in
# both scripts, and words that look like the commands' own syntax.
NASTY = (
    "<b>",
    "</i>",
    "<a href='javascript:alert(1)'>x</a>",
    "&amp;",
    "&",
    "&#0;",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\u200f",
    "مرحبا",
    "שלום",
    "🧨",
    "👨‍👩‍👧‍👦",
    "\ufeff",
    "\ud7ff",
    "人工智慧",
    "加密貨幣",
    "AI",
    "ai",
    "@chan",
    "@" + "long_channel_name" * 5,
    "@",
    "+",
    "-",
    "+x",
    "-ai",
    "yes",
    "off",
    "daily",
    "08:30,20:00",
    "23:00-07:00",
    "zh-hant",
    "Asia/Shanghai",
    "北京",
    "https://news.example/a?b=1&c=<2>",
    "{help}",
    "{0}",
    "%s",
    "%",
    "_",
    "\\",
    "list",
    "clear",
    "t07",
    "T42",
    "话题话题",
)
words = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    # 10,000 characters of one pattern: cheap to draw, long to handle.
    st.builds(lambda piece: (piece * 10_000)[:10_000], st.text(min_size=1, max_size=4)),
)
texts = st.builds(
    lambda slash, name, glue, target, args: slash + name + glue + target + " ".join(args),
    st.sampled_from(["/", "", "／", "/", "/"]),
    st.one_of(st.sampled_from(NAMES), st.text(max_size=8)),
    st.sampled_from([" ", " ", "", "@newsbrief_bot ", "\n"]),
    # A channel named first, as its admins do from a private chat (or anyone, anywhere).
    st.sampled_from(["", "", "", "@chan ", "@" + "long_channel_name" * 5 + " ", "@x "]),
    st.lists(words, max_size=6),
)
commands = st.builds(
    lambda text, chat, kind, thread, hint, button, sender: Command(
        platform="telegram",
        chat_id=str(chat if kind == "private" else -chat),
        chat_type=kind,
        sender_id=str(sender),
        text=text,
        thread_id=thread if kind == "supergroup" else None,
        language_hint=hint,
        from_button=button,
    ),
    texts,
    st.integers(1, 6),
    st.sampled_from(["private", "private", "group", "supergroup", "channel"]),
    st.sampled_from([None, None, 3, 4]),
    st.sampled_from([None, "en", "zh-hans", "zh-hant", "zh-TW", "ru", ""]),
    st.booleans(),
    st.integers(1, 3),
)

ERRORS = {t("error", lang) for lang in LANGS}


@pytest.fixture
def core(db: Database) -> CommandCore:
    config = Config(
        database_url="sqlite://",
        subscriber_defaults={"backlog_hours": 0},
        topics=[
            {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "aliases": ["A.I."]},
            {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}},
            {"id": "games", "name": {"zh": "游戏", "en": "Games", "zh_hant": "遊戲"}},
            *(
                {"id": i, "name": {"zh": "话题" * 20 + i, "en": "A <long> & odd topic " * 3 + i}}
                for i in MANY
            ),
        ],
    )
    clock = iter(datetime(2026, 1, 1, tzinfo=UTC).timestamp() + i * 60 for i in range(10**6))
    return CommandCore(
        db,
        lambda: config,
        compose=compose_for,
        clock=lambda: datetime.fromtimestamp(next(clock), UTC),
    )


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


def check_reply(command: Command, reply: Reply | None) -> None:
    name, words = parse(command.text, KNOWN, bare=command.chat_type == "private")
    if not name:
        # Free text in a private chat may get a hint (rated); anywhere else no answer.
        hinted = command.chat_type == "private" and not command.from_button and words
        assert reply is None or hinted, command.text
        if reply is None:
            return
    assert reply is not None, command.text
    assert reply.text not in ERRORS, f"the core failed on {command.text[:200]!r}"
    assert reply.text or reply.notice or reply.wake_delivery
    if reply.text:
        plain, _ = parse_html(reply.text)  # raises on anything Telegram would refuse
        assert 0 < utf16_len(plain.strip()) <= 4096
    buttons = [b for row in reply.buttons for b in row]
    assert len(buttons) <= 100
    for button in buttons:
        assert button.text and 0 < len(button.data.encode()) <= MAX_CALLBACK_BYTES


def check_database(db: Database) -> None:
    """Invariants: settings a digest can use, topics that exist, one cursor per subscriber,
    no outbox row pointing at a forgotten subscriber."""
    with db.session() as session:
        ids = set(session.scalars(select(SubscriberRow.id)))
        cursors = list(session.scalars(select(DigestCursorRow.subscriber_id)))
        owners = set(session.scalars(select(DeliveryRow.subscriber_id)))
        assert sorted(cursors) == sorted(ids)
        assert owners <= ids | {None}
        for subscriber_id in ids:
            found = subscribers.get(session, subscriber_id)
            assert found is not None
            assert set(found.topics) <= set(TOPICS)
            assert len(found.topics) == len(set(found.topics))
            assert found.lang in LANGS
            ZoneInfo(found.timezone)
            parse_schedule(found.schedule)
            if found.quiet_hours is not None:
                assert parse_quiet(found.quiet_hours) is not None
            for keywords in (found.filters, *(s.keywords for s in found.subscriptions)):
                for group in (keywords.include, keywords.exclude):
                    assert len(group) <= MAX_KEYWORDS
                    assert all(0 < len(w) <= MAX_KEYWORD_CHARS for w in group)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_random_commands_never_break_the_core(
    core: CommandCore, db: Database, loop: asyncio.AbstractEventLoop
) -> None:
    seen = {"count": 0, "commands": 0}
    started = time.monotonic()

    async def channel_admin(ref: str) -> ChannelAccess:
        if ref.casefold() == "@chan":
            return ChannelAccess("-100777", "Chan")
        return ChannelAccess(problem="not_found" if len(ref) % 2 else "not_admin")

    @settings(
        max_examples=COMMANDS_RUN // BATCH,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(batch=st.lists(st.tuples(commands, st.booleans()), min_size=BATCH, max_size=BATCH))
    def run(batch: list[tuple[Command, bool]]) -> None:
        async def answer_all() -> None:
            for command, admin in batch:

                async def is_chat_admin(admin: bool = admin) -> bool:
                    return admin

                reply = await core.handle(command, is_chat_admin, channel_admin)
                check_reply(command, reply)
                seen["count"] += 1
                seen["commands"] += reply is not None

        loop.run_until_complete(answer_all())
        if seen["count"] % 250 == 0:
            check_database(db)

    async def crowd() -> None:
        """One chat follows every topic, each with ten long keywords, then reads it all."""
        words = " ".join(f"+{'<&>' * 15}{i}" for i in range(10))
        for start in range(0, len(TOPICS), 10):
            text = f"/subscribe {' '.join(TOPICS[start : start + 10])} {words}"
            command = Command("telegram", "99", "private", "99", text)
            check_reply(command, await core.handle(command))
        for text in ("/list", "/topics", "/settings", f"/filter {words} {words.replace('+', '-')}"):
            command = Command("telegram", "99", "private", "99", text)
            reply = await core.handle(command)
            check_reply(command, reply)
            if text in ("/list", "/topics"):
                assert reply is not None and "…" in reply.text  # cut to fit, not refused

    loop.run_until_complete(crowd())
    run()
    check_database(db)
    assert seen["count"] >= COMMANDS_RUN
    assert seen["commands"] > COMMANDS_RUN // 2  # most draws are commands, not chatter
    with db.session() as session:
        assert subscribers.count(session) > 0  # the fuzz did reach the writes
    print(f"{seen['count']} commands in {time.monotonic() - started:.1f}s")
