"""Robots in the config become subscribers whose digests the runtime pushes to their webhooks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.robots import sync_robots
from jobs.runtime import Runtime
from newsbrief.config.channels import MissingCredentials
from newsbrief.config.secrets import config_secrets
from newsbrief.config.settings import Config, load_config
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


CONFIG = """\
database_url: {database_url}
fetch: {{allow_private_networks: true, host_spacing: 0}}
subscriber_defaults: {{backlog_hours: 0}}
topics:
  - {{id: crypto, name: {{zh: 加密货币, en: Crypto}}, keywords: [比特币]}}
  - {{id: ai, name: {{zh: 人工智能, en: AI}}, keywords: [大模型]}}
feeds:
  - {{id: wire, url: "{feed}", fulltext: never}}
dingtalk: {{api_base_url: "{dingtalk}"}}
robots:
  - id: ops
    platform: dingtalk
    key_env: NB_TEST_DT_KEY
    secret_env: NB_TEST_DT_SECRET
    topics: [crypto]
"""


def config(
    tmp_path: Path, database_url: str, feeds: FeedServer, dingtalk: WebhookServer
) -> tuple[Path, Config]:
    path = tmp_path / "newsbrief.yaml"
    path.write_text(
        CONFIG.format(
            database_url=database_url, feed=feeds.url("/wire.xml"), dingtalk=dingtalk.base_url
        ),
        encoding="utf-8",
    )
    return path, load_config(path)


async def test_a_configured_robot_gets_the_digests_of_its_topics(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB_TEST_DT_KEY", "dt-key-123")
    monkeypatch.setenv("NB_TEST_DT_SECRET", "SECdt-secret-456")
    with FeedServer() as feeds, WebhookServer("dingtalk") as dingtalk:
        dingtalk.add_robot("dt-key-123", "SECdt-secret-456")
        config_file, cfg = config(tmp_path, database_url, feeds, dingtalk)
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
            # Its health, like /feeds for channels, with no secret in it.
            command = [sys.executable, "-m", "jobs.main", "--config", str(config_file)]
            listed = await asyncio.to_thread(
                subprocess.run,
                [*command, "channels", "list", "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
            (health,) = json.loads(listed.stdout)
            assert health["id"] == "ops" and health["status"] == "ok"
            assert (health["sent_24h"], health["pending"], health["failed"]) == (1, 0, 0)
            assert health["key"] == "set" and "dt-key-123" not in listed.stdout
            # The robot leaves the config: it is paused, not deleted.
            runtime.config = runtime.ctx.config = cfg.model_copy(update={"robots": ()})
            sync_robots(runtime.db, runtime.config, runtime.ctx.clock())
            with runtime.db.session() as session:
                robot = subscribers.find(session, "dingtalk", "ops", None)
            assert robot is not None and robot.paused
        finally:
            await runtime.aclose()


def test_a_missing_robot_key_is_a_clear_error(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NB_TEST_DT_KEY", raising=False)
    with (
        FeedServer() as feeds,
        WebhookServer("dingtalk") as dingtalk,
        pytest.raises(MissingCredentials, match="NB_TEST_DT_KEY"),
    ):
        Runtime(config(tmp_path, database_url, feeds, dingtalk)[1])
