"""A group robot's digest that leaves stories out links to them (``server.public_url``), and
anyone with the link reads them at ``/d/<token>``; without a public URL they are only counted."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update

from bot.web.rest import RestPages, mount_rest
from jobs.runtime import Runtime
from newsbrief.config.settings import Config, load_config
from newsbrief.store.tables import DigestRestRow
from tests.servers.feeds import FeedServer, rss
from tests.servers.webhooks import WebhookServer

PUBLIC = "https://news.example.com/brief"
KEY = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
STORIES = [
    {
        "title": f"大模型进展第{n}号：推理成本下降{n}成",
        "link": f"https://news.example/ai/{n}",
        "guid": f"ai-{n}",
        "description": f"第{n}个大模型发布，推理成本下降。",
    }
    for n in range(1, 9)
] + [
    {
        "title": "比特币突破新高",
        "link": "https://news.example/btc",
        "guid": "btc",
        "description": "比特币价格今天突破新高。",
    }
]
CONFIG = """\
database_url: {database_url}
fetch: {{allow_private_networks: true, host_spacing: 0}}
subscriber_defaults: {{backlog_hours: 0, max_items: 3, first_digest_items: 0}}
{server}
topics:
  - {{id: crypto, name: {{zh: 加密货币, en: Crypto}}, keywords: [比特币]}}
  - {{id: ai, name: {{zh: 人工智能, en: AI}}, keywords: [大模型]}}
feeds:
  - {{id: wire, url: "{feed}", fulltext: never}}
wecom: {{api_base_url: "{wecom}"}}
robots:
  - {{id: team, platform: wecom, key_env: NB_TEST_WECOM_KEY, topics: [ai], schedule: instant}}
"""

LINK = re.compile(r"\[([^\]]*)\]\((https://news\.example\.com/brief/d/([A-Za-z0-9_-]+))\)")


async def _digest(
    tmp_path: Path, database_url: str, server: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, Runtime, Config]:
    monkeypatch.setenv("NB_TEST_WECOM_KEY", KEY)
    with FeedServer() as feeds, WebhookServer("wecom") as wecom:
        wecom.add_robot(KEY)
        path = tmp_path / "newsbrief.yaml"
        path.write_text(
            CONFIG.format(
                database_url=database_url,
                server=server,
                feed=feeds.url("/wire.xml"),
                wecom=wecom.base_url,
            ),
            encoding="utf-8",
        )
        config = load_config(path)
        runtime = Runtime(config)
        runtime.start()
        feeds.set("/wire.xml", rss(STORIES, title="Wire"))
        await runtime.poll_once(all_feeds=True)
        await runtime.digest_once()
        (message,) = wecom.received(KEY)
        return str(message.payload["markdown"]["content"]), runtime, config


async def test_the_footer_links_to_the_stories_left_out(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, runtime, _ = await _digest(
        tmp_path, database_url, f'server: {{public_url: "{PUBLIC}/"}}', monkeypatch
    )
    try:
        (link,) = LINK.findall(text)
        words, _, token = link
        assert words == "……还有 5 条，点此查看全部"
        shown = set(re.findall(r"第(\d)号", text))
        assert len(shown) == 3 and "比特币" not in text
        with runtime.db.session() as session:
            row = session.scalars(select(DigestRestRow)).one()
        assert row.token == token and len(row.story_ids) == 5

        runner = web.AppRunner(_app(runtime))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as client:
                async with client.get(f"http://127.0.0.1:{port}/d/{token}") as answer:
                    assert answer.status == 200
                    page = await answer.text()
                    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
                rest = set(re.findall(r"第(\d)号", page))
                # Exactly what the digest left out: the other five AI stories, best first.
                assert len(rest) == 5 and not rest & shown
                assert "比特币" not in page and "简报未列出的 5 条" in page
                assert 'href="https://news.example/ai/' in page
                async with client.get(f"http://127.0.0.1:{port}/d/{token[:-1]}x") as answer:
                    assert answer.status == 404
                async with client.get(f"http://127.0.0.1:{port}/d/{'a' * 200}") as answer:
                    assert answer.status == 404
                # A week later the link no longer works.
                with runtime.db.session() as session:
                    session.execute(
                        update(DigestRestRow).values(created_at=row.created_at - timedelta(days=8))
                    )
                async with client.get(f"http://127.0.0.1:{port}/d/{token}") as answer:
                    assert answer.status == 404
                    assert "已失效" in await answer.text()
        finally:
            await runner.cleanup()
    finally:
        await runtime.aclose()


async def test_without_a_public_url_the_rest_is_counted(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, runtime, _ = await _digest(tmp_path, database_url, "", monkeypatch)
    try:
        assert "……还有 5 条未列出" in text and "/d/" not in text
        with runtime.db.session() as session:
            assert session.scalars(select(DigestRestRow)).all() == []
    finally:
        await runtime.aclose()


def _app(runtime: Runtime) -> web.Application:
    app = web.Application()
    mount_rest(app, RestPages(runtime.db, lambda: runtime.ctx.config, runtime.ctx.clock))
    return app


def test_a_public_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Config(server={"public_url": "javascript:alert(1)"})
    assert Config(server={"public_url": "https://a.example/x/"}).server.public_url == (
        "https://a.example/x"
    )
