"""``newsbrief run`` with the LLM on, as a real process (issue #19): English and Chinese AI news
reaches zh-Hans, zh-Hant and English readers in their language, written by the loopback model;
when the model then fails, the next story still goes out within ``llm.wait_seconds`` with its
extractive summary; one call per story and language; the key never reaches the logs."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from newsbrief.store.tables import StoryRow, StoryTextRow
from newsbrief.text.chinese import to_traditional
from tests.harness import run_process
from tests.servers.botapi import BotApiServer, SentMessage
from tests.servers.feeds import FeedServer, rss
from tests.servers.llm import LlmServer, Reply

TOKEN = "987654:SECRET-token-value"
KEY = "sk-loopback-SECRET-llm-key-0123456789"
HANS, HANT, EN, LATER = 60, 61, 62, 63
WAIT = 6

ENGLISH = {
    "title": "OpenAI ships a faster model for coding",
    "link": "https://wire.example/openai?id=1",
    "guid": "en-1",
    "description": (
        "OpenAI said on Tuesday that its new model writes code twice as fast as the one before"
        " it, and that it will be free for all of its users from next week."
    ),
}
CHINESE = {
    "title": "百度发布新一代文心大模型",
    "link": "https://cn.example/baidu",
    "guid": "zh-1",
    "description": (
        "百度周四在北京发布新一代文心大模型，称其推理能力明显提升，并将向开发者免费开放接口。"
        "公司表示，新模型已在搜索和地图等产品中上线。"
    ),
}
LATE = {
    "title": "Google opens its robotics lab to students",
    "link": "https://wire.example/google",
    "guid": "en-2",
    "description": (
        "Google said that students from any university can now use its robotics lab for their"
        " research projects, and that the company will pay for their travel."
    ),
}


@pytest.fixture
def running(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[BotApiServer, FeedServer, LlmServer]]:
    with BotApiServer(token=TOKEN) as botapi, FeedServer() as feeds, LlmServer() as llm:
        feeds.set("/wire.xml", rss([ENGLISH], title="Wire"))
        feeds.set("/cn.xml", rss([CHINESE], title="CN"))
        config = tmp_path / "newsbrief.yaml"
        config.write_text(
            f"""
telegram: {{api_base_url: "http://127.0.0.1:{botapi.port}", poll_timeout: 1}}
fetch: {{allow_private_networks: true}}
scheduler: {{poll: 0.5, process: 0.5, compose: 0.5, deliver: 0.5, llm: 0.5}}
llm: {{base_url: "{llm.base_url}", model: loopback, timeout: 3, wait_seconds: {WAIT}}}
topics:
  - {{id: ai, name: {{zh: 人工智能, en: AI}}, keywords: [model, robotics, 模型]}}
feeds:
  - {{id: wire, url: "{feeds.url("/wire.xml")}"}}
  - {{id: cn, url: "{feeds.url("/cn.xml")}"}}
""",
            encoding="utf-8",
        )
        proc = run_process(
            config,
            TELEGRAM_BOT_TOKEN=TOKEN,
            NEWSBRIEF_DATABASE_URL=database_url,
            NEWSBRIEF_LLM__API_KEY=KEY,
        )
        try:
            yield botapi, feeds, llm
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-3000:]
        assert KEY not in out + err and "SECRET" not in err
        assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in llm.requests)


def digest_with(botapi: BotApiServer, chat: int, *needles: str, timeout: float = 40) -> str:
    """The chat's digests so far, once every needle is in them (the stories may come in one
    digest or two, as the feeds' polls fall)."""
    deadline = time.monotonic() + timeout
    while True:
        text = "\n\n".join(m.text for m in _digests(botapi.messages(chat)))
        if all(n in text for n in needles) or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


STORY_LINKS = {story["link"] for story in (ENGLISH, CHINESE, LATE)}


def _digests(messages: list[SentMessage]) -> list[SentMessage]:
    """The digests among a chat's messages (the replies to commands link to no story)."""
    return [m for m in messages if STORY_LINKS & {e.get("url") for e in m.entities}]


def test_readers_get_the_model_texts_in_their_language(
    running: tuple[BotApiServer, FeedServer, LlmServer], database_url: str
) -> None:
    botapi, feeds, llm = running
    stories(database_url, 2)  # both feeds polled: each reader's first digest has both
    botapi.send_user_message(HANS, "/subscribe ai", language_code="zh-hans")
    botapi.send_user_message(HANT, "/subscribe ai", language_code="zh-hant")
    botapi.send_user_message(EN, "/subscribe ai", language_code="en")

    # zh-Hans: the English story under the model's Chinese title, its own title and link kept;
    # the Chinese story under its own title with the model's summary.
    hans = digest_with(botapi, HANS, "模型标题：OpenAI", CHINESE["title"])
    assert "模型标题：OpenAI最新消息" in hans
    assert f"原文：{ENGLISH['title']}" in hans
    assert "模型摘要：OpenAI公布了新的进展" in hans
    assert CHINESE["title"] in hans and "〔AI 摘要〕" in hans, dump(database_url)
    links = [e["url"] for m in _digests(botapi.messages(HANS)) for e in m.entities if "url" in e]
    assert ENGLISH["link"] in links and CHINESE["link"] in links

    # zh-Hant: the same, in Traditional (OpenCC, no call of its own).
    hant = digest_with(botapi, HANT, "模型標題：OpenAI", to_traditional(CHINESE["title"]))
    assert "模型標題：OpenAI最新消息" in hant and f"原文：{ENGLISH['title']}" in hant
    assert "标题" not in hant

    # en: the English story under its own title; the Chinese one translated.
    en = digest_with(botapi, EN, ENGLISH["title"], "A new development")
    assert ENGLISH["title"] in en and "模型标题" not in en
    assert f"Original: {CHINESE['title']}" in en

    # One call per story and language, however many readers: 2 stories x (zh-Hans, en).
    assert sorted((r.target, _title(r.user)) for r in llm.requests) == sorted(
        (target, story["title"]) for story in (ENGLISH, CHINESE) for target in ("en", "zh-Hans")
    )

    # The model goes down: a new story still reaches a new reader, extractive, within the wait.
    llm.answer = lambda request: Reply(status=500)
    feeds.set("/wire.xml", rss([LATE, ENGLISH], title="Wire"))
    db = Database(database_url)
    try:
        with db.session() as session:
            feed_store.make_all_due(session, datetime.now(UTC))
    finally:
        db.dispose()
    stories(database_url, 3)
    started = time.monotonic()
    botapi.send_user_message(LATER, "/subscribe ai", language_code="zh-hans")
    late = digest_with(botapi, LATER, LATE["title"], timeout=WAIT + 20)
    took = time.monotonic() - started
    assert LATE["title"] in late, (late, dump(database_url))
    assert LATE["description"][:40] in late  # its extractive summary
    assert late.count("〔AI 摘要〕") == 2  # the two earlier stories' texts, not this one's
    assert took < WAIT + 10, took


def dump(url: str) -> str:
    """The stories and their texts, for a failure's message."""
    db = Database(url)
    try:
        with db.session() as session:
            stored = session.execute(select(StoryRow.id, StoryRow.title, StoryRow.topics)).all()
            texts = session.execute(
                select(
                    StoryTextRow.story_id,
                    StoryTextRow.lang,
                    StoryTextRow.status,
                    StoryTextRow.reason,
                )
            ).all()
    finally:
        db.dispose()
    return f"stories {stored}; texts {texts}"


def stories(url: str, count: int, timeout: float = 30) -> None:
    """Wait until ``count`` stories are stored (the run's poll and process ticks did them)."""
    db = Database(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with db.session() as session:
                    found = session.scalar(select(func.count()).select_from(StoryRow))
            except DBAPIError:  # not migrated yet
                found = None
            if found == count:
                return
            assert time.monotonic() < deadline, f"{found} stories, not {count}"
            time.sleep(0.2)
    finally:
        db.dispose()


def _title(user: str) -> str:
    line = next(x for x in user.splitlines() if x.startswith("Story title: "))
    return line.removeprefix("Story title: ")
