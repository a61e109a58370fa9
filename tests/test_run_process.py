"""``newsbrief run`` as a real process: the scheduler drives every tick, the bot answers, SIGTERM
stops it cleanly, and the token never reaches the logs."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.harness import run_process
from tests.servers.botapi import BotApiServer
from tests.servers.feeds import FeedServer, rss

TOKEN = "987654:SECRET-token-value"


def test_run_serves_commands_and_delivers_on_its_own(tmp_path: Path, database_url: str) -> None:
    with BotApiServer(token=TOKEN) as botapi, FeedServer() as feeds:
        feeds.set(
            "/f.xml",
            rss(
                [
                    {
                        "title": "GPT-6 rumours",
                        "link": "https://n.example/1",
                        "guid": "1",
                        "description": "A large language model story.",
                    }
                ]
            ),
        )
        config = tmp_path / "newsbrief.yaml"
        config.write_text(
            f"""
telegram: {{api_base_url: "http://127.0.0.1:{botapi.port}", poll_timeout: 1}}
fetch: {{allow_private_networks: true}}
scheduler: {{poll: 0.5, process: 0.5, compose: 0.5, deliver: 0.5}}
subscriber_defaults: {{language: en}}
topics:
  - {{id: ai, name: {{zh: 人工智能, en: AI}}, keywords: [language model]}}
feeds:
  - {{id: f, url: "{feeds.url("/f.xml")}"}}
""",
            encoding="utf-8",
        )
        proc = run_process(config, TELEGRAM_BOT_TOKEN=TOKEN, NEWSBRIEF_DATABASE_URL=database_url)
        try:
            botapi.send_user_message(50, "/subscribe ai")
            messages = botapi.wait_for_messages_sync(50, 2, timeout=30)
            assert messages[0].text.splitlines()[0] == "✅ Following: AI"
            assert "GPT-6 rumours" in messages[1].text
            menus = [c.get("language_code") for c in botapi.calls("setMyCommands")]
            assert menus == [None, "zh", "en"]
            proc.send_signal(signal.SIGUSR1)  # what a quiet process is doing, into its log
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert time.monotonic() - started < 15
        assert TOKEN not in out + err and "SECRET" not in err
        assert "newsbrief running" in err
        dumped = err.split("SIGUSR1: what runs now:", 1)[1]
        assert "-- task" in dumped and "in run\n" in dumped  # Runtime.run, awaiting its stop
        assert "-- thread MainThread" in dumped
