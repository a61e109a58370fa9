"""Subscriber commands, transcript by transcript, through the loopback Bot API server.

Every command runs in each of the three languages, in a private chat, a group, a channel and a
forum topic; inline keyboards are pressed like a client would and must edit their message in
place. A channel is also managed from its admin's private chat (``/bind``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from sqlalchemy import Table, select

from bot.i18n import t
from bot.senders import Window
from bot.telegram.sender import TelegramSender
from newsbrief.records import Keywords, Priority, Subscriber
from newsbrief.schedule import describe_schedule
from newsbrief.store import subscribers
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, SubscriberRow
from tests.harness import NEW, OLD, Harness, eventually, running_harness
from tests.servers.botapi import SentMessage
from tests.servers.feeds import rss

LANGS = ("en", "zh-Hans", "zh-Hant")
CLIENT_CODE = {"en": "en", "zh-Hans": "zh-hans", "zh-Hant": "zh-hant"}
AI = {"en": "AI", "zh-Hans": "人工智能", "zh-Hant": "人工智能"}
CRYPTO = {"en": "Crypto", "zh-Hans": "加密货币", "zh-Hant": "加密貨幣"}
# The same replies written out, so a catalogue mix-up (the wrong language) cannot hide.
LITERAL = {
    "en": ("✅ Following: AI", "Language: English"),
    "zh-Hans": ("✅ 已订阅：人工智能", "语言：简体中文"),
    "zh-Hant": ("✅ 已訂閱：人工智能", "語言：繁體中文"),
}
NEW_LINK = "https://news.example/new?id=7&src=rss"
ADMIN = 700
# The store is the same code on both backends: the long transcripts run on SQLite alone, the
# private chat and the group refusal on both.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async for running in running_harness(database_url):
        # Transcripts are under test here, not pacing (tests/test_deliver_limits.py): a group's
        # transcript would wait for its 20-a-minute window several times.
        sender = running.runtime.ctx.senders["telegram"]
        assert isinstance(sender, TelegramSender)
        sender.interval, sender.group_window = 0.01, Window(10_000, 60.0)
        # Stories exist before anyone subscribes: /search and /why have something to find, and
        # no digest interrupts a transcript (a new subscriber starts after them).
        running.feeds.set("/wire.xml", rss([NEW, OLD], title="Wire"))
        await running.round()
        yield running


@dataclass
class Talk:
    """One chat as a user sees it: send, read the bot's answer, press its buttons."""

    h: Harness
    chat: int
    chat_type: str = "private"
    user: int | None = None
    code: str = "en"
    thread: int | None = None
    channel: str | None = None
    """The channel's username when commands are channel posts."""
    seen: int = field(default=0)

    async def ask(self, text: str) -> SentMessage:
        api = self.h.botapi
        before = len(self.mine())
        if self.chat_type == "channel":
            api.send_channel_post(self.chat, text, username=self.channel)
        else:
            api.send_user_message(
                self.chat,
                text,
                user_id=self.user,
                chat_type=self.chat_type,
                language_code=self.code,
                message_thread_id=self.thread,
                is_topic_message=self.thread is not None,
            )
        await eventually(lambda: len(self.mine()) > before, timeout=15)
        reply = self.mine()[before]
        assert reply.message_thread_id == self.thread  # answers stay in their forum topic
        return reply

    def mine(self) -> list[SentMessage]:
        return [
            m
            for m in self.h.botapi.messages(self.chat)
            if self.thread is None or m.message_thread_id == self.thread
        ]

    async def press(
        self, message: SentMessage, data: str, *, edits: bool = True
    ) -> tuple[SentMessage, str | None]:
        """Press a button; returns the message as edited (when ``edits``) and the toast shown."""
        api = self.h.botapi
        answers = len(api.callback_answers)
        user = self.user if self.user is not None else (self.chat if self.chat > 0 else ADMIN)
        api.press_button(self.chat, message.message_id, data, user_id=user, language_code=self.code)
        await eventually(lambda: len(api.callback_answers) > answers, timeout=15)
        answer = api.callback_answers[answers]["text"]

        def current() -> SentMessage:
            return next(m for m in api.messages(self.chat) if m.message_id == message.message_id)

        if edits:
            await eventually(lambda: current().edit_count > message.edit_count, timeout=15)
        return current(), answer

    def subscriber(self) -> Subscriber | None:
        with self.h.runtime.db.session() as session:
            return subscribers.find(session, "telegram", str(self.chat), self.thread)


def labels(message: SentMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


async def transcript(talk: Talk, lang: str, first_lang: str, alias: str) -> None:
    """Every subscriber command once, in ``lang``; ``first_lang`` is what /start answers in."""
    welcome = await talk.ask("/start")  # its first steps: tests/test_onboarding.py
    assert welcome.raw_text.startswith(t("welcome", first_lang, help="").rstrip())
    assert welcome.callback_data[:3] == ["/lang zh-Hans", "/lang zh-Hant", "/lang en"]
    edited, toast = await talk.press(welcome, f"/lang {lang}", edits=lang != first_lang)
    assert edited.raw_text.startswith(t("welcome", lang, help="").rstrip())
    assert toast == t("lang_set", lang) and LITERAL[lang][1] in toast
    assert edited.callback_data == welcome.callback_data  # the keyboard stays

    help_ = await talk.ask("/help")
    assert help_.raw_text == t("help", lang)
    for name in ("/topics", "/schedule", "/filter", "/search", "/why", "/stop", "/bind"):
        assert name in help_.text

    topics = await talk.ask("/topics")
    assert topics.callback_data == ["/tg ai", "/tg crypto"]
    assert labels(topics) == [AI[lang], CRYPTO[lang]]
    edited, toast = await talk.press(topics, "/tg ai")
    assert toast == t("subscribed", lang, names=AI[lang]) == LITERAL[lang][0]
    assert labels(edited) == [f"✓ {AI[lang]}", CRYPTO[lang]]
    assert f"{AI[lang]} ai ✓" in edited.text

    reply = await talk.ask(f"{alias} crypto +bitcoin")
    assert reply.raw_text.splitlines()[0] == t(
        "subscribed_keywords", lang, names=CRYPTO[lang], words="+bitcoin"
    )
    found = talk.subscriber()
    assert found is not None and found.topics == ("ai", "crypto")
    assert found.subscriptions[1].keywords == Keywords(("bitcoin",))
    listing = await talk.ask("/list")
    assert listing.raw_text.startswith(
        t(
            "list",
            lang,
            names=f"{AI[lang]}{t('list_sep', lang)}{CRYPTO[lang]} (+bitcoin)",
            schedule=t("rhythm_instant", lang),
        )
    )
    reply = await talk.ask("/unsubscribe 加密貨幣")
    assert reply.raw_text == t("unsubscribed", lang, names=CRYPTO[lang])
    reply = await talk.ask("/subscribe aii")
    assert reply.raw_text == t("unknown_topics_close", lang, names="aii", close=AI[lang])
    reply = await talk.ask("/digest")
    assert reply.raw_text == t("digest_nothing", lang)

    schedule = await talk.ask("/schedule")
    assert schedule.raw_text == t("schedule_help", lang, current=describe_schedule("instant", lang))
    assert "/schedule daily 08:00" in schedule.callback_data
    edited, _ = await talk.press(schedule, "/schedule daily 08:00")
    daily = describe_schedule("daily 08:00", lang)  # 每天 08:00 / daily 08:00
    assert edited.raw_text == t("schedule_set", lang, schedule=daily)
    assert edited.buttons == []  # answered in place; the choice is made
    reply = await talk.ask("/schedule every 3h")
    every = {"en": "every 3 h", "zh-Hans": "每 3 小时", "zh-Hant": "每 3 小時"}[lang]
    assert reply.raw_text == t("schedule_set", lang, schedule=every)
    reply = await talk.ask("/schedule 25:99")
    assert reply.raw_text == t("schedule_unreadable", lang, value="25:99")
    reply = await talk.ask("/timezone 北京")
    assert reply.raw_text == t("timezone_set", lang, timezone="Asia/Shanghai (UTC+8)")
    reply = await talk.ask("/timezone Europ/London")
    assert reply.raw_text == t("timezone_close", lang, value="Europ/London", close="Europe/London")
    reply = await talk.ask("/quiet 23:00-07:00")
    assert reply.raw_text == t("quiet_set", lang, quiet="23:00-07:00")
    reply = await talk.ask("/filter +model -scam")
    assert reply.raw_text == t("filter_set", lang, words="+model -scam")
    reply = await talk.ask("/filter list")
    assert reply.raw_text == t("filter_list", lang, words="+model -scam")
    reply = await talk.ask("/filter clear")
    assert reply.raw_text == t("filter_cleared", lang)

    hits = await talk.ask("/search model")
    assert hits.text.splitlines()[0] == t("search_header", lang, query="model", count=1).replace(
        "<b>", ""
    ).replace("</b>", "")
    assert "OpenAI ships a new model & more" in hits.text
    assert [e["url"] for e in hits.entities if e["type"] == "text_link"] == [NEW_LINK]
    why = await talk.ask(f"/why {NEW_LINK}")
    assert "OpenAI ships a new model & more" in why.text and "wire" in why.text
    assert why.raw_text.endswith(t("why_not_sent", lang))  # it came before the subscription

    settings = await talk.ask("/settings")
    for value in (describe_schedule("every 3h", lang), "Asia/Shanghai", "23:00-07:00"):
        assert value in settings.text
    reply = await talk.ask("/lang")
    assert reply.raw_text == t("lang_usage", lang) and len(reply.buttons) == 3
    reply = await talk.ask("/pause")
    assert reply.raw_text == t("paused", lang)
    assert (s := talk.subscriber()) is not None and s.paused
    reply = await talk.ask("/resume")
    assert reply.raw_text == t("resumed", lang)
    assert (s := talk.subscriber()) is not None and not s.paused

    confirm = await talk.ask("/stop")
    assert confirm.raw_text == t("stop_confirm", lang)
    assert confirm.callback_data == ["/stop yes", "/stop no"]
    assert talk.subscriber() is not None  # nothing deleted before the confirmation
    edited, _ = await talk.press(confirm, "/stop yes")
    assert edited.raw_text == t("stopped", lang)
    assert talk.subscriber() is None


async def test_private_chat_in_three_languages(h: Harness) -> None:
    for i, lang in enumerate(LANGS):
        talk = Talk(h, chat=9100 + i, code=CLIENT_CODE[lang])
        await transcript(talk, lang, lang, alias="订阅")  # a bare Chinese alias, no "/"
    # Chatter that is no command gets a hint (tests/test_onboarding.py), and a Traditional
    # alias glued to its topic is a command.
    talk = Talk(h, chat=9100, code="zh-hant")
    hint = await talk.ask("hello there")
    assert hint.raw_text == t("hint_new", "zh-Hant")
    reply = await talk.ask("訂閱AI")
    assert reply.raw_text.splitlines()[0] == t("subscribed", "zh-Hant", names="人工智能")
    the_menu_is_published_in_each_language(h)


@sqlite_only
async def test_group_in_three_languages(h: Harness) -> None:
    for i, lang in enumerate(LANGS):
        group = -4100 - i
        h.botapi.set_member_status(group, ADMIN, "administrator")
        talk = Talk(h, group, "supergroup", user=ADMIN, code=CLIENT_CODE[lang])
        await transcript(talk, lang, lang, alias="/订阅")


@sqlite_only
async def test_forum_topics_in_three_languages(h: Harness) -> None:
    forum = -1009200
    h.botapi.add_chat(forum, "supergroup", is_forum=True)
    h.botapi.set_member_status(forum, ADMIN, "administrator")
    for i, lang in enumerate(LANGS):
        talk = Talk(h, forum, "supergroup", user=ADMIN, code=CLIENT_CODE[lang], thread=31 + i)
        await transcript(talk, lang, lang, alias="/訂閱")
    # A subscription made inside a topic belongs to that topic alone.
    inside = Talk(h, forum, "supergroup", user=ADMIN, thread=40)
    await inside.ask("/subscribe ai")
    with h.runtime.db.session() as session:
        rows = session.execute(
            select(SubscriberRow.thread_id, SubscriberRow.subscriptions).where(
                SubscriberRow.chat_id == str(forum)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(40, ["ai"])]


@sqlite_only
async def test_channel_in_three_languages(h: Harness) -> None:
    for i, lang in enumerate(LANGS):
        channel = -1009300 - i
        h.botapi.set_member_status(channel, ADMIN, "administrator")
        talk = Talk(h, channel, "channel", channel=f"news{i}")
        # Channel posts carry no user: the language is the default until /lang sets it.
        await transcript(talk, lang, "zh-Hans", alias="/訂閱")
    await a_channel_is_managed_from_its_admins_private_chat(h)


async def a_channel_is_managed_from_its_admins_private_chat(h: Harness) -> None:
    api, channel, owner, stranger = h.botapi, -1009400, 501, 502
    api.add_chat(channel, "channel", title="AI Daily", username="aidaily")
    api.set_member_status(channel, owner, "administrator")
    me = Talk(h, owner)
    reply = await me.ask("/bind @aidaily")
    assert reply.raw_text == t("bind_bot_missing", "en", channel="@aidaily")
    api.set_member_status(channel, api.bot_id, "administrator")
    reply = await me.ask("/bind @aidaily")
    assert reply.raw_text == t("bind_done", "en", channel="@aidaily")
    reply = await me.ask("/subscribe @aidaily ai")
    assert reply.raw_text.splitlines()[0] == t("subscribed", "en", names="AI")
    topics = await me.ask("/topics @aidaily")
    assert topics.callback_data == ["/tg @aidaily ai", "/tg @aidaily crypto"]
    edited, toast = await me.press(topics, "/tg @aidaily crypto")
    assert toast == t("subscribed", "en", names="Crypto")
    assert labels(edited) == ["✓ AI", "✓ Crypto"]
    reply = await me.ask("/schedule @aidaily daily 09:00")
    assert reply.raw_text == t("schedule_set", "en", schedule="daily 09:00")
    channel_talk = Talk(h, channel, "channel")
    found = channel_talk.subscriber()
    assert found is not None and found.topics == ("ai", "crypto")
    assert found.schedule == "daily 09:00"
    assert me.subscriber() is None  # the private chat itself follows nothing

    before = dump(h)
    other = Talk(h, stranger)
    reply = await other.ask("/unsubscribe @aidaily ai")
    assert reply.raw_text == t("bind_not_admin", "en", channel="@aidaily")
    api.forget_chat("@nosuchchannel")  # Telegram: "chat not found"
    reply = await other.ask("/bind @nosuchchannel")
    assert reply.raw_text == t("bind_not_found", "en", channel="@nosuchchannel")
    assert dump(h) == before

    confirm = await me.ask("/stop @aidaily")
    assert confirm.callback_data == ["/stop @aidaily yes", "/stop @aidaily no"]
    await me.press(confirm, "/stop @aidaily yes")
    assert channel_talk.subscriber() is None


def dump(h: Harness) -> list[list[tuple[Any, ...]]]:
    """Every row of the tables commands write, in a stable order; of the outbox, what is not a
    command's own reply (replies go out through it too)."""
    with h.runtime.db.session() as session:
        tables = [
            cast(Table, row.__table__) for row in (SubscriberRow, DigestCursorRow, DeliveryRow)
        ]
        queries = [select(table).order_by(*table.primary_key) for table in tables]
        queries[2] = queries[2].where(DeliveryRow.priority < Priority.REPLY)
        return [[tuple(r) for r in session.execute(query)] for query in queries]


GROUP_CHANGES = (
    "/subscribe crypto",
    "/订阅 crypto",
    "/unsubscribe ai",
    "/schedule hourly",
    "/timezone UTC",
    "/quiet 22:00-06:00",
    "/lang en",
    "/filter -ai",
    "/filter clear",
    "/digest",
    "/pause",
    "/resume",
    "/stop yes",
    "/start",
)


async def test_group_members_who_are_not_admins_change_nothing(h: Harness) -> None:
    group, member = -4200, 888
    h.botapi.set_member_status(group, ADMIN, "administrator")
    admin = Talk(h, group, "supergroup", user=ADMIN, code="zh-hans")
    topics_message = await admin.ask("/topics")
    await admin.press(topics_message, "/tg ai")
    await admin.ask("/filter +model")
    before = dump(h)
    assert before[0], "the group is a subscriber"

    talk = Talk(h, group, "supergroup", user=member, code="en")
    refusal = t("group_admins_only", "zh-Hans")  # the group's language, not the member's client
    for text in GROUP_CHANGES:
        reply = await talk.ask(text)
        if text == "/start":  # a member may read the welcome; it registers nothing
            assert reply.raw_text == t("welcome", "zh-Hans", help=t("help", "zh-Hans"))
        else:
            assert reply.raw_text == refusal, text
    api = h.botapi
    answers = len(api.callback_answers)
    api.press_button(group, topics_message.message_id, "/tg crypto", user_id=member)
    await eventually(lambda: len(api.callback_answers) > answers)
    assert api.callback_answers[answers]["text"] == refusal
    await asyncio.sleep(0.2)  # an edit, if one were coming, would have arrived
    assert [
        m.edit_count for m in api.messages(group) if m.message_id == topics_message.message_id
    ] == [1]
    # Reading is for everyone.
    assert (await talk.ask("/list")).raw_text.startswith(
        t("list", "zh-Hans", names="人工智能", schedule=t("rhythm_instant", "zh-Hans"))
    )
    assert dump(h) == before


def the_menu_is_published_in_each_language(h: Harness) -> None:
    for code, lang in (("", "zh-Hans"), ("zh", "zh-Hans"), ("en", "en")):
        names = [c["command"] for c in h.botapi.commands(language_code=code)]
        assert names[:3] == ["start", "help", "topics"]
        for name in ("schedule", "timezone", "quiet", "lang", "filter", "search", "why", "stop"):
            assert name in names, (code, name)
        descriptions = {
            c["command"]: c["description"] for c in h.botapi.commands(language_code=code)
        }
        assert (
            descriptions["search"]
            == {"zh-Hans": "搜索近期新闻", "en": "Search recent stories"}[lang]
        )


def test_every_reply_renders_in_all_three_languages() -> None:
    """Each catalogue entry formats in zh-Hans, zh-Hant and en into valid Telegram HTML; the
    subscriber replies read in their own script (no Simplified left in zh-Hant, no Chinese in
    English but the language names themselves)."""
    from string import Formatter

    from bot.i18n import CATALOGUE, COMMAND_DESCRIPTIONS
    from bot.i18n.admin import ADMIN_CATALOGUE
    from newsbrief.text.chinese import to_traditional
    from tests.servers.botapi import parse_html

    own = [key for key in CATALOGUE if key not in ADMIN_CATALOGUE]
    for key in CATALOGUE:
        for lang in LANGS:
            template = CATALOGUE[key].get(lang, CATALOGUE[key]["zh-Hans"])
            fields = {name for _, name, _, _ in Formatter().parse(template) if name}
            text = t(key, lang, **dict.fromkeys(fields, "x"))
            parse_html(text)
            if key not in own:
                continue
            assert set(CATALOGUE[key]) >= {"zh-Hans", "en"}, key
            if lang == "zh-Hant" and key != "lang_usage":  # which names 简体 on purpose
                simplified = {c for c in text if to_traditional(c) != c} - {"台"}  # 台 is usual
                assert not simplified, (key, simplified)
            if lang == "en":
                chinese = [c for c in text if "\u4e00" <= c <= "\u9fff"]
                assert not chinese or key == "lang_usage", (key, text)
    for name, texts in COMMAND_DESCRIPTIONS.items():
        assert set(texts) == set(LANGS), name
