"""``/metrics``, ``/healthz`` and ``/readyz`` of a running process, on loopback servers (feeds,
Bot API, a WeCom robot): the figures match what happened, and a stuck tick makes the process
unready while it stays alive."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from jobs.main import main
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.store import subscribers
from newsbrief.store.tables import DeliveryRow, StoryRow
from tests.harness import eventually, telegram_chat
from tests.servers import free_port
from tests.servers.botapi import BotApiServer
from tests.servers.feeds import FeedServer, rss
from tests.servers.webhooks import WebhookServer

ROBOT_KEY = "metrics-robot-key"
READER = 5150
STORIES = [
    {
        "title": "大模型发布新版本",
        "link": "https://news.example/a",
        "guid": "a",
        "description": "新的大语言模型 language model 发布。",
    },
    {
        "title": "Bitcoin tops a record",
        "link": "https://news.example/b",
        "guid": "b",
        "description": "bitcoin rallies on ETF news.",
    },
]


async def fetch(port: int, path: str) -> tuple[int, str]:
    """GET from another thread: the server answers on this test's event loop."""
    return await asyncio.to_thread(get, port, path)


async def until_status(port: int, path: str, status: int, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while (await fetch(port, path))[0] != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never answered {status} in {timeout} s")
        await asyncio.sleep(0.05)


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError as exc:  # not listening (yet)
        return 0, str(exc)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def config(
    database_url: str,
    botapi: BotApiServer,
    feeds: FeedServer,
    wecom: WebhookServer,
    port: int,
    *,
    feed_list: list[dict[str, str]] | None = None,
    timeout: float = 5,
    **scheduler: float,
) -> Config:
    return Config(
        database_url=database_url,
        telegram={
            "token": botapi.token,
            "api_base_url": f"http://127.0.0.1:{botapi.port}",
            "poll_timeout": 1,
        },
        fetch={"allow_private_networks": True, "timeout": timeout, "host_spacing": 0},
        polling={"max_errors": 50},
        scheduler={"poll": 3600, "process": 0.3, "compose": 0.3, "deliver": 0.3, **scheduler},
        subscriber_defaults={"backlog_hours": 0, "language": "en"},
        topics=[
            {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["language model"]},
            {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}, "keywords": ["bitcoin"]},
        ],
        feeds=feed_list
        or [
            {"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"},
            {"id": "gone", "url": feeds.url("/gone.xml"), "fulltext": "never"},
        ],
        wecom={"api_base_url": wecom.base_url},
        robots=[
            {
                "id": "ops",
                "platform": "wecom",
                "key_env": "NB_METRICS_KEY",
                "topics": ["crypto"],
                "schedule": "instant",
            }
        ],
        server={"host": "127.0.0.1", "port": port},
    )


async def test_metrics_match_what_happened(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NB_METRICS_KEY", ROBOT_KEY)
    monkeypatch.setattr("jobs.runtime.RETENTION_DELAY", 0)  # the daily prune at once
    port = free_port()
    with BotApiServer() as botapi, FeedServer() as feeds, WebhookServer("wecom") as wecom:
        wecom.add_robot(ROBOT_KEY)
        feeds.set("/wire.xml", rss(STORIES, title="Wire"))  # /gone.xml: 404
        runtime = Runtime(config(database_url, botapi, feeds, wecom, port))
        runtime.start()
        with runtime.db.session() as session:
            reader = telegram_chat(session, str(READER), datetime.now(UTC))
            subscribers.subscribe(session, reader.id, ["ai", "crypto"], datetime.now(UTC))
        botapi.fail_next(READER, 1, status=429, retry_after=1)  # the first send is refused
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(("poll", "process", "compose", "deliver"), stop))
        try:
            await eventually(lambda: len(botapi.messages(READER)) >= 1, timeout=30)
            await eventually(lambda: len(wecom.received(ROBOT_KEY)) >= 1, timeout=30)
            assert await fetch(port, "/healthz") == (200, "ok\n")
            assert await fetch(port, "/readyz") == (200, "ready\n")
            status, text = await fetch(port, "/metrics")
            assert status == 200
            found = samples(text)
            with runtime.db.session() as session:
                stories = session.scalar(select(func.count()).select_from(StoryRow))
                sent = dict(
                    session.execute(
                        select(DeliveryRow.platform, func.count())
                        .where(DeliveryRow.status == "sent")
                        .group_by(DeliveryRow.platform)
                    ).all()
                )
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await runtime.aclose()
    # This process's counters.
    assert value(found, "newsbrief_fetches_total", outcome="ok") == 1
    assert value(found, "newsbrief_fetches_total", outcome="http") == 1  # the 404
    assert value(found, "newsbrief_entries_new_total") == 2
    assert value(found, "newsbrief_entries_processed_total") == 2
    assert value(found, "newsbrief_processing_seconds_total") > 0
    assert sent == {"telegram": len(botapi.messages(READER)), "wecom": 1}
    assert (
        value(found, "newsbrief_sends_total", platform="telegram", result="sent")
        == sent["telegram"]
    )
    assert value(found, "newsbrief_sends_total", platform="wecom", result="sent") == 1
    assert value(found, "newsbrief_rate_limited_total", platform="telegram") == 1
    assert botapi.stats["429"] == 1
    assert value(found, "newsbrief_messages_queued_total") == sent["telegram"] + 1
    for tick in ("poll", "process", "compose", "deliver"):
        assert value(found, "newsbrief_tick_duration_seconds_count", tick=tick) >= 1, tick
        last = value(found, "newsbrief_tick_last_run_timestamp_seconds", tick=tick)
        assert time.time() - 60 < last <= time.time(), tick
    assert value(found, "newsbrief_tick_duration_seconds_count", tick="retention") == 1
    assert time.time() - 60 < value(found, "newsbrief_retention_last_run_timestamp_seconds")
    assert ("newsbrief_retention_deleted_rows_total", (("kind", "entries"),)) in found
    # The deployment's pipeline, from the database.
    assert value(found, "newsbrief_database_up") == 1
    assert value(found, "newsbrief_feeds", state="ok") == 1
    assert value(found, "newsbrief_feeds", state="failing") == 1
    assert value(found, "newsbrief_entries_waiting") == 0
    assert value(found, "newsbrief_processing_lag_seconds") == 0
    assert value(found, "newsbrief_stories") == stories == 2
    assert value(found, "newsbrief_sent_24h", platform="telegram") == sent["telegram"]
    assert value(found, "newsbrief_sent_24h", platform="wecom") == 1
    assert value(found, "newsbrief_outbox_depth", platform="telegram") == 0
    # `newsbrief status` says the same.
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", database_url)
    capsys.readouterr()
    assert main(["--no-config", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["stories"] == 2 and status["entries_waiting"] == 0
    assert status["feeds"] == {"ok": 1, "failing": 1}
    assert status["sent_24h"] == sent and status["outbox"] == {}
    assert status["last_poll"] is not None and status["last_sent"] is not None
    assert main(["--no-config", "status"]) == 0
    text = capsys.readouterr().out
    assert "feeds      1 failing, 1 ok" in text and "stories    2" in text


@pytest.fixture
def black_hole() -> Iterator[tuple[str, Any]]:
    """A page URL whose server takes the connection and never answers, until released: the
    process tick fetching it is stuck, as on a real site that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # never accepted: the request waits in the backlog
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/page"
    yield url, listener.close
    listener.close()


async def test_a_stuck_tick_makes_the_process_unready_not_dead(
    database_url: str, black_hole: tuple[str, Any]
) -> None:
    url, release = black_hole
    port = free_port()
    interval = 0.5
    with BotApiServer() as botapi, FeedServer() as feeds, WebhookServer("wecom") as wecom:
        feed = {"id": "slow", "url": feeds.url("/slow.xml"), "fulltext": "always"}
        cfg = config(
            database_url,
            botapi,
            feeds,
            wecom,
            port,
            feed_list=[feed],
            timeout=30,
            process=interval,
        ).model_copy(update={"robots": ()})
        feeds.set("/slow.xml", rss([], title="Slow"))
        runtime = Runtime(cfg)
        runtime.start()
        stop = asyncio.Event()
        task = asyncio.create_task(runtime.run(("process",), stop))
        try:
            await until_status(port, "/readyz", 200, timeout=10)
            feeds.set("/slow.xml", rss([{"title": "Hangs", "link": url, "guid": "h"}]))
            await runtime.poll_once(all_feeds=True)  # the next process tick fetches the page
            stuck = time.monotonic()
            await until_status(port, "/readyz", 503, timeout=10)
            took = time.monotonic() - stuck
            status, text = await fetch(port, "/readyz")
            assert status == 503 and "process last ran" in text
            assert await fetch(port, "/healthz") == (200, "ok\n")
            release()  # the page's connection is refused: the tick ends, ready again
            await until_status(port, "/readyz", 200, timeout=30)
        finally:
            release()
            stop.set()
            await asyncio.wait_for(task, 60)
            await runtime.aclose()
    # Two intervals, plus the tick's start and the polling of /readyz.
    assert took <= 2 * interval + 1.0
