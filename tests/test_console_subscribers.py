"""The console's subscribers pages in a real browser: counts, the list and its search, one
subscriber's settings, and the digest preview, which is exactly what ``/digest`` then sends and
marks nothing as read."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.commands.core import CommandCore
from bot.commands.io import Command
from bot.render import materialize
from jobs.compose import compose_for
from newsbrief.config.settings import load_config
from newsbrief.records import Delivery, DeliveryStatus, Message, Subscriber
from newsbrief.store import outbox, subscribers
from newsbrief.store.db import Database
from tests.console_site import Site, shoot, wait_until

CHAT = "424242"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def visible(message_html: str) -> str:
    """A Telegram HTML message as the reader sees its text."""
    return flat(html.unescape(re.sub(r"<[^>]*>", "", message_html)))


def links(message_html: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]*)"', message_html)]


@pytest.fixture
def reader(site: Site) -> Iterator[tuple[Database, CommandCore, Subscriber]]:
    """A paused Telegram reader of ``ai`` on the site's database (paused: the site's compose
    tick leaves it alone, and /digest still answers), with the command core /digest runs in."""
    db = Database(site.database_url)
    config = load_config(site.config)
    now = datetime.now(UTC)
    with db.session() as session:
        found, _ = subscribers.ensure(
            session,
            "telegram",
            CHAT,
            None,
            lang="zh-Hans",
            timezone="Asia/Shanghai",
            schedule="daily 08:00",
            now=now,
            backlog=timedelta(hours=48),
        )
        subscribers.subscribe(session, found.id, ["ai"], now)
        subscribers.pause(session, found.id, "test")
    with db.session() as session:
        subscriber = subscribers.get(session, found.id)
    assert subscriber is not None
    core = CommandCore(db, lambda: config, compose=compose_for)
    try:
        yield db, core, subscriber
    finally:
        db.engine.dispose()


def preview_texts(page: Any) -> list[str]:
    return [flat(text) for text in page.locator(".preview-part .bubble").all_inner_texts()]


def rendered(db: Database, core: CommandCore, parts: list[Any]) -> list[str]:
    """The parts' Telegram HTML, rendered from their blocks as the sender does."""
    return [d.message.text for d in materialize(db, core.config(), parts)]


def expected_texts(db: Database, core: CommandCore, parts: list[Any]) -> list[str]:
    return [visible(text) for text in rendered(db, core, parts)]


def test_preview_is_what_digest_sends_and_reads_nothing(
    console: Any, site: Site, reader: tuple[Database, CommandCore, Subscriber]
) -> None:
    db, core, subscriber = reader

    def two_ai_stories() -> bool:
        return (
            len(core.digest_now(subscriber, rehearse=True)) == 1
            and "Anthropic"
            in (expected_texts(db, core, core.digest_now(subscriber, rehearse=True))[0])
        )

    wait_until(two_ai_stories, what="both AI stories")
    console.goto(site.url(f"/subscribers/{subscriber.id}"))
    assert console.locator("#setting-platform").inner_text() == "Telegram"
    assert console.locator("#setting-chat_type").inner_text() == "私聊"
    assert "每天 08:00" in console.locator("#setting-schedule").inner_text()
    assert console.locator("#setting-sent").inner_text() == "0"
    shown = preview_texts(console)
    messages = rendered(db, core, core.digest_now(subscriber, rehearse=True))
    assert shown == [visible(m) for m in messages]
    assert "OpenAI 发布新一代大语言模型" in shown[0] and "比特币" not in shown[0]
    # The links are the message's own, opened safely.
    anchors = console.locator(".preview-part a")
    assert [a.get_attribute("href") for a in anchors.all()] == links(messages[0])
    assert {a.get_attribute("rel") for a in anchors.all()} == {"noopener noreferrer"}
    shoot(console, "subscriber")

    console.reload()
    assert preview_texts(console) == shown  # previewing twice: still unread
    with db.session() as session:
        state = subscribers.cursor(session, subscriber.id)
        queued = [d for d in outbox.listing(session) if d.subscriber_id == subscriber.id]
    assert state.digests_sent == 0 and not queued

    # Now the reader sends /digest: what it queues is what the preview showed.
    command = Command("telegram", CHAT, "private", CHAT, "/digest", language_hint="zh")
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        reply = thread.submit(asyncio.run, core.handle(command)).result()
    assert reply is not None and reply.wake_delivery
    with db.session() as session:
        rows = sorted(
            (d for d in outbox.listing(session) if d.subscriber_id == subscriber.id),
            key=lambda d: d.id,
        )
    assert [visible(m) for m in rendered(db, core, [as_delivery(r) for r in rows])] == shown
    console.reload()
    assert console.locator("#setting-sent").inner_text() == "1"
    assert "没有新" in console.locator(".preview-reply").inner_text()
    assert not preview_texts(console)


def as_delivery(row: Any) -> Delivery:
    """An outbox row as the sender reads it (its parts by reference)."""
    return Delivery(
        id=row.id,
        key=row.key,
        subscriber_id=row.subscriber_id,
        platform=row.platform,
        chat_id=row.chat_id,
        thread_id=row.thread_id or None,
        message=Message(row.text, row.parse_mode),
        status=DeliveryStatus(row.status),
        payload=row.payload,
    )


def test_subscriber_list_counts_and_search(
    console: Any, site: Site, reader: tuple[Database, CommandCore, Subscriber]
) -> None:
    _, _, subscriber = reader
    console.goto(site.url("/subscribers"))
    assert console.locator("#count-total b").inner_text() == "1"
    assert console.locator("#count-paused b").inner_text() == "1"
    assert "人工智能" in console.locator(".counts").inner_text()
    shoot(console, "subscribers")
    console.fill("#q", CHAT[:3])
    console.press("#q", "Enter")
    console.wait_for_url(re.compile(r"q=424"))
    assert console.locator(".subscribers-table tbody tr").count() == 1
    console.fill("#q", "999")
    console.press("#q", "Enter")
    console.wait_for_url(re.compile(r"q=999"))
    assert console.locator(".subscribers-table").count() == 0
    console.goto(site.url(f"/subscribers/{subscriber.id + 1000}"))
    assert console.locator(".error").count() == 1
