"""Robots in the config become subscribers whose digests the runtime pushes to their webhooks."""

from __future__ import annotations

import pytest

from jobs.robots import sync_robots
from jobs.runtime import Runtime
from newsbrief.channels_config import MissingCredentials
from newsbrief.cli import config_secrets
from newsbrief.settings import Config
from newsbrief.store import subscribers
from tests.servers.feeds import FeedServer, rss
from tests.servers.webhooks import WebhookServer

STORIES = [
    {
        "title": "比特币突破新高",
        "link": "https://news.example/1",
        "guid": "1",
        "description": "比特币价格今天突破新高。",
    },
    {
        "title": "大模型发布",
        "link": "https://news.example/2",
        "guid": "2",
        "description": "一个新的大模型发布了。",
    },
]


def config(
    database_url: str, feeds: FeedServer, dingtalk: WebhookServer, topics: list[str]
) -> Config:
    return Config(
        database_url=database_url,
        fetch={"allow_private_networks": True, "host_spacing": 0},
        subscriber_defaults={"backlog_hours": 0},
        topics=[
            {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}, "keywords": ["比特币"]},
            {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["大模型"]},
        ],
        feeds=[{"id": "wire", "url": feeds.url("/wire.xml"), "fulltext": "never"}],
        dingtalk={"api_base_url": dingtalk.base_url},
        robots=[
            {
                "id": "ops",
                "platform": "dingtalk",
                "key_env": "NB_TEST_DT_KEY",
                "secret_env": "NB_TEST_DT_SECRET",
                "topics": topics,
            }
        ],
    )


async def test_a_configured_robot_gets_the_digests_of_its_topics(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB_TEST_DT_KEY", "dt-key-123")
    monkeypatch.setenv("NB_TEST_DT_SECRET", "SECdt-secret-456")
    with FeedServer() as feeds, WebhookServer("dingtalk") as dingtalk:
        dingtalk.add_robot("dt-key-123", "SECdt-secret-456")
        cfg = config(database_url, feeds, dingtalk, ["crypto"])
        assert {"dt-key-123", "SECdt-secret-456"} <= set(config_secrets(cfg))
        runtime = Runtime(cfg)
        runtime.start()
        try:
            feeds.set("/wire.xml", rss(STORIES, title="Wire"))
            await runtime.poll_once(all_feeds=True)
            queued, sent = await runtime.digest_once()
            assert (queued, sent) == (1, 1)
            (message,) = dingtalk.received("dt-key-123")
            text = str(message.payload)
            assert "比特币突破新高" in text and "大模型发布" not in text
            assert "sign" in message.query and "dt-key-123" not in text
            # The robot leaves the config: it is paused, not deleted.
            runtime.config = runtime.ctx.config = cfg.model_copy(update={"robots": ()})
            sync_robots(runtime.db, runtime.config, runtime.ctx.clock())
            with runtime.db.session() as session:
                robot = subscribers.find(session, "dingtalk", "ops", None)
            assert robot is not None and robot.paused
        finally:
            await runtime.aclose()


def test_a_missing_robot_key_is_a_clear_error(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NB_TEST_DT_KEY", raising=False)
    with (
        FeedServer() as feeds,
        WebhookServer("dingtalk") as dingtalk,
        pytest.raises(MissingCredentials, match="NB_TEST_DT_KEY"),
    ):
        Runtime(config(database_url, feeds, dingtalk, ["crypto"]))
