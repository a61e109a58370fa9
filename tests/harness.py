"""The whole bot on loopback: Bot API server, feed server, runtime with the bot long polling."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jobs.runtime import Runtime
from newsbrief.config.settings import Config, load_config
from newsbrief.records import Subscriber
from newsbrief.store import subscribers
from tests.servers.botapi import BotApiServer
from tests.servers.feeds import FeedServer, rss

CHAT = 424242
OLD = {"title": "Old AI news", "link": "https://news.example/old", "guid": "old"}
NEW = {
    "title": "OpenAI ships a new model &amp; more",
    "link": "https://news.example/new?id=7&amp;src=rss",
    "guid": "new",
    "description": "&lt;p&gt;A new large language model is out. It is fast.&lt;/p&gt;",
}


def make_config(database_url: str, botapi: BotApiServer, feeds: FeedServer, **extra: Any) -> Config:
    return Config(
        database_url=database_url,
        telegram={
            "token": botapi.token,
            "api_base_url": f"http://127.0.0.1:{botapi.port}",
            "poll_timeout": 1,
        },
        fetch={"allow_private_networks": True, "timeout": 5},
        # Tests drive delivery (ticks, wake-ups); on PostgreSQL the process holding the send
        # budget would also tick on its own, a bot-only one included.
        scheduler={"deliver": 3600},
        subscriber_defaults={"backlog_hours": 0, "language": "zh-Hans"},
        topics=[
            {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["language model"]},
            {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}, "keywords": ["bitcoin"]},
        ],
        # The entries link to made-up sites: never fetch their pages (tests stay on loopback).
        feeds=[{"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"}],
        **extra,
    )


@dataclass
class Harness:
    runtime: Runtime
    botapi: BotApiServer
    feeds: FeedServer

    async def say(self, text: str, *, expect: int, chat: int = CHAT, **kw: Any) -> str:
        """Send a message as the user; wait for the chat to hold ``expect`` bot messages."""
        self.botapi.send_user_message(chat, text, **kw)
        messages = await self.botapi.wait_for_messages(chat, expect, timeout=15)
        return messages[-1].text

    async def round(self) -> None:
        await self.runtime.poll_once(all_feeds=True)
        await self.runtime.digest_once()


CONFIG_FILE = """\
# Hand-written notes that admin edits must keep.
database_url: {database_url}
admins: [{admin}]   # the only admin
telegram:
  token: "{token}"
  api_base_url: http://127.0.0.1:{port}
  poll_timeout: 1
fetch:
  allow_private_networks: true
  host_spacing: 0
subscriber_defaults: {{backlog_hours: 0, language: en}}
topics:
  - id: ai
    name: {{zh: 人工智能, en: AI}}
    keywords: [language model]   # keep this comment
  - id: crypto
    name: {{zh: 加密货币, en: Crypto}}
    keywords: [bitcoin]
feeds:
  - id: wire
    url: {wire}
    fulltext: never
"""


async def running_harness(
    database_url: str, config_file: Path | None = None, admin: int = 1
) -> AsyncIterator[Harness]:
    """The bot on loopback; with ``config_file``, its config is a real YAML file admins edit."""
    with BotApiServer() as botapi, FeedServer() as feeds:
        feeds.set("/wire.xml", rss([OLD], title="Wire"))
        if config_file is None:
            runtime = Runtime(make_config(database_url, botapi, feeds))
        else:
            config_file.write_text(
                CONFIG_FILE.format(
                    database_url=database_url,
                    admin=admin,
                    token=botapi.token,
                    port=botapi.port,
                    wire=feeds.url("/wire.xml"),
                ),
                encoding="utf-8",
            )
            runtime = Runtime(load_config(config_file), config_file=config_file)
        runtime.start()
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(("bot",), stop))
        if runtime.db.is_postgres:  # the send budget taken, and the start's ticks done
            await eventually(lambda: runtime.deliverer.gate is not None)
            gate = runtime.deliverer.gate
            assert gate is not None
            await gate.settled()
            await asyncio.sleep(0.1)
            await eventually(lambda: not runtime.deliverer.busy)
        try:
            yield Harness(runtime, botapi, feeds)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await runtime.aclose()


def telegram_chat(session: Session, chat: str, now: datetime) -> Subscriber:
    """The subscriber of a Telegram chat (English, UTC, instant, no backlog), created if new:
    what outbox and delivery tests queue messages for."""
    subscriber, _ = subscribers.ensure(
        session,
        "telegram",
        chat,
        None,
        lang="en",
        timezone="UTC",
        schedule="instant",
        now=now,
        backlog=timedelta(0),
    )
    return subscriber


async def eventually(check: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until ``check()`` is true: for state written just after a message went out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout}s: {check}")
        await asyncio.sleep(0.02)


ROOT = Path(__file__).resolve().parent.parent


def run_process(config: Path, **env: str) -> subprocess.Popen[str]:
    """``newsbrief run -v`` as a real process on ``config``, with ``env`` added to this one's;
    its output piped, for ``communicate`` after a SIGTERM."""
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.main", "--config", str(config), "-v", "run"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
