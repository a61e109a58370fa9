"""LLM texts in digests (issue #19): a reader sees each story's title and summary in the reader's
language when the ``llm`` tick wrote them (``story_texts``), with a translated story's own title
and link kept, and nothing changes with the LLM off.

Real parts: feeds on loopback, the poll and process ticks on SQLite and PostgreSQL, the compose
tick, the by-reference Telegram parts materialized as the deliverer does, the WeCom robot's
markdown and the ``/d/<token>`` page. The ``story_texts`` rows are written here as the ``llm``
tick would write them (its model is a loopback one: nothing is called).
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete, insert, select

from bot.render import materialize
from bot.telegram.limits import MAX_TEXT_UTF16
from bot.telegram.render import visible_len
from bot.web.rest import RestPages, mount_rest
from jobs.compose import compose_due, compose_for
from jobs.context import JobContext
from jobs.poll import poll_tick
from jobs.process import process_tick
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.records import Subscriber
from newsbrief.store import digest_rest, outbox, subscribers
from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from newsbrief.store.tables import DigestCursorRow, StoryRow, StoryTextRow, StoryTopicRow
from newsbrief.text.chinese import to_traditional
from tests.servers.feeds import FeedServer

T0 = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
LEASE = timedelta(minutes=2)
MODEL = "loopback-model"

ENGLISH = {  # title: text
    "OpenAI ships a faster model for coding": (
        "OpenAI said on Tuesday that its new model writes code twice as fast as the one before"
        " it, and that it will be free for all of its users from next week."
    ),
    "Google opens its robotics lab to students": (
        "Google said that students from any university can now use its robotics lab for their"
        " research projects, and that the company will pay for their travel."
    ),
    "Meta trims the team behind its chatbot": (
        "Meta has cut a third of the team that builds its chatbot, according to people who were"
        " told of the change on Monday, as the company looks for savings."
    ),
}
CHINESE = {
    "百度发布新版文心大模型": "百度今天发布了新版文心大模型，推理能力明显提升，开发者可以免费试用三个月。",
    "阿里云下调大模型调用价格": "阿里云宣布大模型接口调用价格下调一半，新价格从下周一开始生效，老用户同样适用。",
}
# What the llm tick wrote: (story title, lang, status, title, summary, model).
TEXTS = [
    (
        "OpenAI ships a faster model for coding",
        "zh-Hans",
        "ok",
        "OpenAI 发布更快的编程模型",
        "OpenAI 称新模型写代码的速度是上一代的两倍，下周起对所有用户免费。",
        MODEL,
    ),
    (
        "OpenAI ships a faster model for coding",
        "zh-Hans",
        "ok",
        "旧模型写的标题",
        "旧模型写的摘要。",
        "old-model",
    ),
    (
        "Google opens its robotics lab to students",
        "zh-Hans",
        "ok",
        "谷歌向大学生开放机器人实验室",
        "谷歌表示各大学的学生都可以用它的机器人实验室做研究，差旅费由公司承担。",
        MODEL,
    ),
    (
        "Meta trims the team behind its chatbot",
        "zh-Hans",
        "rejected",
        "被拒绝的标题",
        "被拒绝的摘要。",
        MODEL,
    ),
    (
        "百度发布新版文心大模型",
        "zh-Hans",
        "ok",
        "百度文心大模型升级，推理更强",
        "百度发布新版文心大模型，推理能力提升，开发者可免费试用三个月。",
        MODEL,
    ),
    (
        "百度发布新版文心大模型",
        "en",
        "ok",
        "Baidu upgrades its Ernie model",
        "Baidu released a new Ernie model that reasons better; developers may try it free.",
        MODEL,
    ),
    ("阿里云下调大模型调用价格", "en", "failed", "Failed title", "Failed summary.", MODEL),
]
MARKS = {"zh-Hans": "〔AI 摘要〕", "zh-Hant": "〔AI 摘要〕", "en": "[AI summary]"}


def rss(items: dict[str, str], prefix: str) -> str:
    body = "".join(
        f"<item><guid>{prefix}{i}</guid><title>{html.escape(title)}</title>"
        f"<link>https://{prefix}.example/{i}</link>"
        f"<description>{html.escape(text)}</description></item>"
        for i, (title, text) in enumerate(items.items())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://{prefix}.example/</link><description>d</description>{body}</channel></rss>"
    )


def make_config(feeds: FeedServer, **llm: Any) -> Config:
    def feed(fid: str, name: str) -> dict[str, Any]:
        path = f"/{fid}.xml"
        return {
            "id": fid,
            "url": feeds.url(path),
            "topics": ["ai"],
            "fulltext": "never",
            "name": name,
        }

    return Config(
        database_url="sqlite://",
        fetch={"allow_private_networks": True, "timeout": 5},
        subscriber_defaults={"backlog_hours": 0, "max_items": 20, "first_digest_items": 20},
        topics=[{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}],
        feeds=[feed("wire", "Wire"), feed("cn", "中文快讯")],
        llm=llm,
    )


@dataclass(frozen=True)
class Story:
    id: int
    title: str
    url: str
    summary: str
    lang: str


@dataclass
class World:
    db: Database
    feeds: FeedServer
    stories: dict[str, Story]
    """By title."""
    chats: int = 0

    def config(self, **llm: Any) -> Config:
        return make_config(self.feeds, **llm)

    def llm_on(self, mark: bool = True) -> Config:
        return self.config(base_url="http://127.0.0.1:9/v1", model=MODEL, mark=mark)

    def reader(self, lang: str, platform: str = "telegram") -> Subscriber:
        self.chats += 1
        with self.db.session() as session:
            sub, _ = subscribers.ensure(
                session,
                platform,
                f"chat{self.chats}",
                None,
                lang=lang,
                timezone="Asia/Shanghai",
                schedule="instant",
                now=T0,
                backlog=timedelta(hours=1),
            )
            subscribers.subscribe(session, sub.id, ["ai"], T0)
            found = subscribers.get(session, sub.id)
        assert found is not None
        return found

    def write_texts(self) -> None:
        with self.db.session() as session:
            for story, lang, status, title, summary, model in TEXTS:
                session.execute(
                    insert(StoryTextRow).values(
                        story_id=self.stories[story].id,
                        lang=lang,
                        model=model,
                        status=status,
                        title=title,
                        summary=summary,
                        reason=None if status == "ok" else "checks",
                        tokens=100,
                        attempts=1,
                        created_at=T0,
                    )
                )

    def telegram(self, config: Config, sub: Subscriber) -> str:
        """The reader's digest as the deliverer sends it: parts rendered from their references."""
        with self.db.session() as session:
            rows = [r for r in outbox.listing(session, limit=1000) if r.subscriber_id == sub.id]
            assert rows and all(r.payload and r.text == "" for r in rows)
            mine = outbox.claim(session, sorted(r.id for r in rows), LATER, LEASE)
        return "\n\n".join(d.message.text for d in materialize(self.db, config, mine))

    def robot(self, sub: Subscriber) -> str:
        """A WeCom robot's digest: the markdown of its parts, as posted."""
        with self.db.session() as session:
            rows = sorted(
                (r for r in outbox.listing(session, limit=1000) if r.subscriber_id == sub.id),
                key=lambda r: r.key,
            )
        assert rows
        return "\n\n".join(json.loads(r.text)["markdown"]["content"] for r in rows)


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss(ENGLISH, "wire"))
        feeds.set("/cn.xml", rss(CHINESE, "cn"))
        config = make_config(feeds)
        fetcher = Fetcher(config.fetch)
        ctx = JobContext(db=db, config=config, fetcher=fetcher, clock=lambda: T0)
        try:
            with db.session() as session:
                feed_store.sync_feeds(session, config.feed_list(), T0)
            await poll_tick(ctx)
            while await process_tick(ctx):
                pass
        finally:
            await fetcher.aclose()
            ctx.cpu.shutdown()
        with db.session() as session:
            rows = session.execute(
                select(StoryRow.id, StoryRow.title, StoryRow.url, StoryRow.summary, StoryRow.lang)
            ).all()
        stories = {r.title: Story(r.id, r.title, r.url, r.summary, r.lang) for r in rows}
        assert set(stories) == set(ENGLISH) | set(CHINESE)
        assert {stories[t].lang for t in ENGLISH} == {"en"}
        assert {stories[t].lang for t in CHINESE} == {"zh-Hans"}
        yield World(db, feeds, stories)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def linked(story: Story, title: str) -> str:
    return f'<a href="{esc(story.url)}">{esc(title)}</a>'


NEVER = ("旧模型", "舊模型", "被拒绝", "被拒絕", "Failed title", "Failed summary")
"""Words of the rows that must never reach a reader: rejected, failed, another model's."""


def assert_never_shown(text: str) -> None:
    for bad in NEVER:
        assert bad not in text, bad


async def test_each_reader_gets_the_llm_texts_in_their_language(world: World) -> None:
    world.write_texts()
    config = world.llm_on()
    hans, hant, en = world.reader("zh-Hans"), world.reader("zh-Hant"), world.reader("en")
    robot = world.reader("zh-Hans", "wecom")
    assert compose_due(world.db, config, LATER) == 4
    s = world.stories
    openai, google, meta = (s[t] for t in ENGLISH)
    baidu, aliyun = (s[t] for t in CHINESE)
    by_story = {(row[0], row[1]): row for row in TEXTS if row[2] == "ok" and row[5] == MODEL}

    # zh-Hans: each English story with a text in Chinese, its own title kept, its own link.
    text = world.telegram(config, hans)
    for story in (openai, google):
        _, _, _, title, summary, _ = by_story[(story.title, "zh-Hans")]
        block = (
            f"{linked(story, title)}\n原文：{esc(story.title)}\n{esc(summary)} <i>〔AI 摘要〕</i>"
        )
        assert block in text
    # A Chinese story's summary by the LLM under its own title (the same language).
    _, _, _, title, summary, _ = by_story[(baidu.title, "zh-Hans")]
    assert title != baidu.title
    assert f"{linked(baidu, baidu.title)}\n{esc(summary)} <i>〔AI 摘要〕</i>" in text
    assert "原文：" + baidu.title not in text
    # No text (rejected) or none asked: the story as it is, unmarked.
    assert f"{linked(meta, meta.title)}\n{esc(meta.summary)}\n" in text
    assert f"{linked(aliyun, aliyun.title)}\n{esc(aliyun.summary)}\n" in text
    assert text.count("〔AI 摘要〕") == 3 and text.count("原文：") == 2
    assert_never_shown(text)

    # zh-Hant: the same texts in Traditional.
    text = world.telegram(config, hant)
    for story in (openai, google):
        _, _, _, title, summary, _ = by_story[(story.title, "zh-Hans")]
        converted = to_traditional(title)
        assert converted != title
        assert linked(story, converted) in text and f"原文：{esc(story.title)}" in text
        assert to_traditional(summary) in text
    assert linked(baidu, to_traditional(baidu.title)) in text
    assert linked(aliyun, to_traditional(aliyun.title)) in text
    assert text.count("〔AI 摘要〕") == 3
    assert_never_shown(text)

    # en: English stories untouched; the Chinese one with an English text translated.
    text = world.telegram(config, en)
    for story in (openai, google, meta):
        assert f"{linked(story, story.title)}\n{esc(story.summary)}\n" in text
    _, _, _, title, summary, _ = by_story[(baidu.title, "en")]
    block = f"{linked(baidu, title)}\nOriginal: {baidu.title}\n{esc(summary)} <i>[AI summary]</i>"
    assert block in text
    assert f"{linked(aliyun, aliyun.title)}\n{esc(aliyun.summary)}\n" in text  # failed: as is
    assert text.count("[AI summary]") == 1 and "〔" not in text
    assert_never_shown(text)

    # The WeCom robot (rendered at compose, by value): the same choices in its markdown.
    text = world.robot(robot)
    _, _, _, title, summary, _ = by_story[(openai.title, "zh-Hans")]
    assert f"[{title}]({openai.url})\n原文：{openai.title}\n{summary} 〔AI 摘要〕" in text
    assert f"[{baidu.title}]({baidu.url})" in text
    assert f"[{meta.title}]({meta.url})" in text
    assert text.count("〔AI 摘要〕") == 3
    assert_never_shown(text)


async def test_the_mark_follows_the_setting(world: World) -> None:
    world.write_texts()
    config = world.llm_on(mark=False)
    reader, robot = world.reader("zh-Hans"), world.reader("en", "wecom")
    assert compose_for(world.db, config, reader, LATER) == 1
    assert compose_for(world.db, config, robot, LATER) == 1
    text = world.telegram(config, reader)
    assert "OpenAI 发布更快的编程模型" in text and "原文：" in text
    assert not any(mark in text for mark in MARKS.values())
    text = world.robot(robot)
    assert "Baidu upgrades its Ernie model" in text and "Original: " in text
    assert "AI summary" not in text and "［AI" not in text


async def test_with_the_llm_off_digests_are_what_they_were(world: World) -> None:
    """Byte for byte: the same readers' digests before any text was written, with texts written
    and the LLM off, and with the LLM on under a model that wrote nothing."""
    langs = [("zh-Hans", "telegram"), ("zh-Hant", "telegram"), ("en", "telegram")]
    langs.append(("zh-Hans", "wecom"))

    def digests(config: Config) -> list[str]:
        readers = [world.reader(lang, platform) for lang, platform in langs]
        compose_due(world.db, config, LATER)
        return [
            world.robot(sub) if sub.platform == "wecom" else world.telegram(config, sub)
            for sub in readers
        ]

    before = digests(world.config())
    assert "OpenAI ships a faster model for coding" in before[0]
    world.write_texts()
    assert digests(world.config()) == before
    other = world.config(base_url="http://127.0.0.1:9/v1", model="unused-model")
    assert digests(other) == before
    assert digests(world.llm_on()) != before  # the texts are there: on, they show
    with world.db.session() as session:  # and without any row, on is off
        session.execute(delete(StoryTextRow))
    assert digests(world.llm_on()) == before


async def test_the_rest_page_shows_the_llm_texts(world: World) -> None:
    world.write_texts()
    config = world.llm_on()
    reader = world.reader("zh-Hant", "wecom")
    token = digest_rest.new_token()
    ids = [story.id for story in world.stories.values()]
    with world.db.session() as session:
        digest_rest.insert_many(session, [digest_rest.row(token, reader.id, "zh-Hant", ids, T0)])
    app = web.Application()
    mount_rest(app, RestPages(world.db, lambda: config, lambda: LATER))
    async with TestClient(TestServer(app)) as client:
        answer = await client.get(f"{digest_rest.PATH}{token}")
        assert answer.status == 200
        page = await answer.text()
    openai = world.stories["OpenAI ships a faster model for coding"]
    assert linked(openai, to_traditional("OpenAI 发布更快的编程模型")) in page
    assert f"原文：{esc(openai.title)}" in page and "〔AI 摘要〕" in page
    assert_never_shown(page)


def test_texts_written_after_planning_never_overflow_a_part(db: Database) -> None:
    """A part is planned with the texts there at compose and rendered when sent: texts written
    in between that would make it too long for Telegram are left out of that part."""
    feed = {"id": "wire", "url": "http://127.0.0.1:9/wire.xml", "topics": ["ai"]}
    config = Config(
        feeds=[feed],
        topics=[{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}],
        subscriber_defaults={"backlog_hours": 0, "max_items": 30},
        llm={"base_url": "http://127.0.0.1:9/v1", "model": MODEL},
    )
    with db.session() as session:
        feed_store.sync_feeds(session, config.feed_list(), T0)
        for i in range(1, 31):
            session.execute(
                insert(StoryRow).values(
                    id=i,
                    title=f"Story {i} about a model that writes code",
                    url=f"https://wire.example/{i}",
                    summary="It writes code. " * 30,
                    lang="en",
                    feed_id="wire",
                    topics=["ai"],
                    source_count=1,
                    created_at=T0,
                )
            )
            session.execute(insert(StoryTopicRow).values(story_id=i, topic_id="ai"))
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            "1",
            None,
            lang="zh-Hans",
            timezone="Asia/Shanghai",
            schedule="instant",
            now=T0,
            backlog=timedelta(hours=1),
        )
        subscribers.subscribe(session, sub.id, ["ai"], T0)
        session.get_one(DigestCursorRow, sub.id).digests_sent = 1  # a returning reader
    assert compose_due(db, config, LATER) > 1
    with db.session() as session:
        for i in range(1, 31):
            session.execute(
                insert(StoryTextRow).values(
                    story_id=i,
                    lang="zh-Hans",
                    model=MODEL,
                    status="ok",
                    title=f"第 {i} 条：会写代码的模型",
                    summary="它会写代码。" * 120,
                    tokens=100,
                    attempts=1,
                    created_at=T0,
                )
            )
        rows = [r for r in outbox.listing(session, limit=1000) if r.subscriber_id == sub.id]
        mine = outbox.claim(session, sorted(r.id for r in rows), LATER, LEASE)
    texts = [d.message.text for d in materialize(db, config, mine)]
    assert all(visible_len(text) <= MAX_TEXT_UTF16 for text in texts)
    assert all(f"Story {i} about" in "".join(texts) for i in range(1, 31))  # all still there
    assert any("原文：" not in text for text in texts)  # a part that went as planned


@pytest.mark.parametrize(("summaries", "translate"), [("off", True), ("stories", False)])
async def test_texts_stored_before_a_switch_went_off_are_not_shown(
    world: World, summaries: str, translate: bool
) -> None:
    """``summaries: off``: a story in the reader's own language shows its extractive summary
    again, though the LLM's is stored; ``translate: false``: no stored translation is shown."""
    world.write_texts()
    config = world.config(
        base_url="http://127.0.0.1:9/v1", model=MODEL, summaries=summaries, translate=translate
    )
    hans = world.reader("zh-Hans")
    assert compose_due(world.db, config, LATER) == 1
    s = world.stories
    openai, baidu = s["OpenAI ships a faster model for coding"], s["百度发布新版文心大模型"]
    by_story = {(row[0], row[1]): row for row in TEXTS if row[2] == "ok" and row[5] == MODEL}
    text = world.telegram(config, hans)
    translated = by_story[(openai.title, "zh-Hans")][3]
    own_summary = by_story[(baidu.title, "zh-Hans")][4]
    if translate:  # the English story translated, the Chinese one as its feed had it
        assert linked(openai, translated) in text and f"原文：{esc(openai.title)}" in text
        assert (
            own_summary not in text
            and f"{linked(baidu, baidu.title)}\n{esc(baidu.summary)}\n" in text
        )
        assert text.count("〔AI 摘要〕") == 2
    else:  # the Chinese story summarized, the English ones as they came
        assert translated not in text and "原文：" not in text
        assert f"{linked(openai, openai.title)}\n{esc(openai.summary)}\n" in text
        assert f"{esc(own_summary)} <i>〔AI 摘要〕</i>" in text
        assert text.count("〔AI 摘要〕") == 1
    assert_never_shown(text)
