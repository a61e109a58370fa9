"""Telegram webhook mode (issue #15, must-show 3): updates POSTed with the secret are stored,
acknowledged and answered; a wrong or missing secret changes nothing; a process killed between
receipt and reply loses no update, and the restarted one answers it once.

Telegram is the loopback Bot API server: after the bot's ``setWebhook`` it posts every queued
update to the bot's URL with the secret token header, as Telegram does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from telegram.ext import ApplicationBuilder

from bot.telegram.webhook import (
    ALLOWED_UPDATES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    WebhookUpdates,
)
from jobs.runtime import Runtime
from newsbrief.config.secrets import environment_secrets, redactors
from newsbrief.config.settings import Config
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow, TelegramUpdateRow
from tests.conftest import postgres_database
from tests.harness import eventually
from tests.servers import free_port
from tests.servers.botapi import BotApiServer
from tests.slow_updates import DELAY_ENV

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Wh-s3cret_Token-4242"
TOKEN = "246810:webhook-test-token"
CHAT = 5150
START_REPLY = "👋 Welcome to newsbrief!"  # how the English /start reply begins


def webhook_config(database_url: str, botapi: BotApiServer, port: int, **telegram: Any) -> Config:
    return Config(
        database_url=database_url,
        telegram={
            "token": botapi.token,
            "api_base_url": f"http://127.0.0.1:{botapi.port}",
            "webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            "webhook_secret": SECRET,
            **telegram,
        },
        server={"port": port},
        scheduler={"update_lease": 1.5},
        subscriber_defaults={"backlog_hours": 0, "language": "en"},
        topics=[{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["model"]}],
    )


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[Runtime]:
    runtime = Runtime(config)
    runtime.start()
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(("bot",), stop))
    try:
        yield runtime
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await runtime.aclose()


def stored(db: Database) -> list[TelegramUpdateRow]:
    with db.session() as session:
        return list(
            session.scalars(select(TelegramUpdateRow).order_by(TelegramUpdateRow.update_id))
        )


def replies(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(DeliveryRow.key).order_by(DeliveryRow.id)))


async def webhook_set(botapi: BotApiServer) -> dict[str, Any]:
    await eventually(lambda: botapi.webhook is not None, timeout=15)
    hook = botapi.webhook
    assert hook is not None
    return hook


async def test_updates_posted_with_the_secret_are_answered(database_url: str) -> None:
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        async with running(webhook_config(database_url, botapi, port)) as runtime:
            hook = await webhook_set(botapi)
            assert hook["url"] == f"http://127.0.0.1:{port}/telegram/webhook"
            assert hook["secret_token"] == SECRET
            assert hook["allowed_updates"] == list(ALLOWED_UPDATES)

            first = botapi.send_user_message(CHAT, "/start")
            second = botapi.send_user_message(CHAT, "/subscribe ai")
            messages = await botapi.wait_for_messages(CHAT, 2, timeout=15)
            assert messages[0].text.startswith(START_REPLY)
            assert messages[1].text.splitlines()[0] == "✅ Following: AI"
            # Telegram heard 200 for each, once: nothing pending, nothing posted twice.
            assert botapi.webhook_answers == [(first, 200), (second, 200)]
            assert botapi.pending_updates() == 0
            await eventually(lambda: all(r.handled_at for r in stored(runtime.db)), timeout=5)
            assert [r.update_id for r in stored(runtime.db)] == [first, second]
            assert stored(runtime.db)[0].payload["message"]["text"] == "/start"
        # Webhook mode never long-polls: Telegram would answer 409.
        assert botapi.calls("getUpdates") == []


@contextmanager
def writes_blocked(database_url: str) -> Iterator[None]:
    """Another connection holds the lock that storing an update needs, until the block ends."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")  # SQLite's one write lock
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
    else:
        with psycopg.connect(database_url) as connection:
            connection.execute("LOCK TABLE telegram_updates IN SHARE ROW EXCLUSIVE MODE")
            yield
            connection.rollback()


async def test_telegram_hears_200_only_once_the_update_is_stored(database_url: str) -> None:
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        async with running(webhook_config(database_url, botapi, port)):
            await webhook_set(botapi)
            with writes_blocked(database_url):
                update_id = botapi.send_user_message(CHAT, "/help")
                await asyncio.sleep(1.5)
                # Posted, and waiting on the database: not acknowledged, not answered.
                assert botapi.webhook_answers == []
                assert botapi.pending_updates() == 1 and botapi.messages(CHAT) == []
            await asyncio.to_thread(botapi.wait_for_webhook_answer, update_id, 200, 10)
            await botapi.wait_for_messages(CHAT, 1, timeout=15)


def command_update(update_id: int, message_id: int, sender: str, command: str) -> dict[str, Any]:
    """A private chat's command as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private", "first_name": sender},
            "from": {"id": CHAT, "is_bot": False, "first_name": sender},
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


async def test_a_resent_update_is_answered_once(database_url: str) -> None:
    """Telegram posts an update again when it did not see the 200: stored once, one reply."""
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        async with running(webhook_config(database_url, botapi, port)) as runtime:
            await webhook_set(botapi)
            update_id = botapi.send_user_message(CHAT, "/help")
            await botapi.wait_for_messages(CHAT, 1, timeout=15)
            update = command_update(update_id, 1, "Alice", "/help")
            assert await asyncio.to_thread(botapi.post_to_webhook, update, secret=SECRET) == (
                200,
                "",
            )
            await asyncio.sleep(1.0)
            assert len(botapi.messages(CHAT)) == 1
            assert [r.update_id for r in stored(runtime.db)] == [update_id]


async def test_wrong_or_missing_secret_is_refused_and_changes_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        async with running(webhook_config(database_url, botapi, port)) as runtime:
            await webhook_set(botapi)
            update = command_update(777, 9, "Mallory", "/start")

            def post(body: Any, secret: str | None) -> tuple[int, str]:
                return botapi.post_to_webhook(body, secret=secret)

            wrong = SECRET[:-1] + "5"
            assert (await asyncio.to_thread(post, update, wrong))[0] == 403
            assert (await asyncio.to_thread(post, update, None))[0] == 403
            assert (await asyncio.to_thread(post, update, SECRET.lower()))[0] == 403
            # The right secret on what is not an update: 400, nothing stored either.
            for body in (b"{not json", b"[1, 2]", {"update_id": "7"}, {"message": {}}):
                assert (await asyncio.to_thread(post, body, SECRET))[0] == 400
            bad_shape = {"update_id": 778, "message": {"chat": 5}}
            assert (await asyncio.to_thread(post, bad_shape, SECRET))[0] == 400

            await asyncio.sleep(1.0)  # a reply would have gone out by now
            assert stored(runtime.db) == []
            assert replies(runtime.db) == []
            assert botapi.messages(CHAT) == []
        refusals = [r for r in caplog.records if "refused a request" in r.getMessage()]
        assert len(refusals) == 3 + 5  # one line per request
        assert {r.levelno for r in refusals} == {logging.WARNING}
        assert "without the secret token" in refusals[1].getMessage()
        assert all(SECRET not in r.getMessage() and wrong not in r.getMessage() for r in refusals)


async def test_telegram_refusing_the_webhook_is_one_clear_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with BotApiServer(token=TOKEN) as botapi:
        botapi.strict_webhook = True  # as Telegram: HTTPS only
        port = free_port()
        config = webhook_config(f"sqlite:///{tmp_path / 'nb.db'}", botapi, port)
        async with running(config) as runtime:
            await eventually(lambda: runtime.telegram_problem is not None, timeout=15)
            # The route is served all the same: an update with the secret is stored.
            status, _ = await asyncio.to_thread(
                botapi.post_to_webhook,
                {"update_id": 5},
                secret=SECRET,
                url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            )
            assert status == 200
        problem = str(runtime.telegram_problem)
        # Telegram's words, as python-telegram-bot passes them on.
        assert problem.startswith(
            f"Telegram refused the webhook http://127.0.0.1:{port}/telegram/webhook: "
            "Bad webhook: an https url must be provided for webhook; check telegram.webhook_url"
        )
        lines = [r for r in caplog.records if "refused the webhook" in r.getMessage()]
        assert lines and all(r.exc_info is None for r in lines)
        assert SECRET not in caplog.text


async def test_an_update_that_cannot_be_stored_is_not_acknowledged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database away: 503, so Telegram sends the update again later; one line."""
    with BotApiServer(token=TOKEN) as botapi:
        config = webhook_config("postgresql://nobody@127.0.0.1:1/none", botapi, free_port())
    app = ApplicationBuilder().token(TOKEN).updater(None).build()
    db = Database(config.database_url)
    hook = WebhookUpdates(app, db, lambda: config, lambda: datetime.now(UTC))
    status, _ = await hook.receive({SECRET_HEADER: SECRET}, b'{"update_id": 9}', "127.0.0.1")
    assert status == 503
    (line,) = [r for r in caplog.records if "not stored" in r.getMessage()]
    assert "update 9 not stored (database postgresql" in line.getMessage()
    assert line.exc_info is None
    db.dispose()


def test_the_webhook_secret_is_masked(tmp_path: Path) -> None:
    """From the config or only from the environment, the secret is one the logs mask."""
    with BotApiServer(token=TOKEN) as botapi:
        config = webhook_config(f"sqlite:///{tmp_path / 'nb.db'}", botapi, free_port())
    for_logs, for_replies = redactors(config)
    line = f"setWebhook secret_token={SECRET} header {SECRET_HEADER}: {SECRET}"
    assert SECRET not in for_logs(line) and SECRET not in for_replies(line)
    env = {"NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET": SECRET}
    assert SECRET in environment_secrets(env)


# -- a real process, killed between receipt and reply ----------------------------------------

CONFIG = """\
telegram:
  api_base_url: "http://127.0.0.1:{api}"
  webhook_url: "http://127.0.0.1:{port}/telegram/webhook"
server: {{port: {port}}}
scheduler: {{update_lease: 1.5}}
subscriber_defaults: {{language: en, backlog_hours: 0}}
"""


def launch(config: Path, log: Path, database_url: str, **env: str) -> subprocess.Popen[bytes]:
    environ = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "NEWSBRIEF_DATABASE_URL": database_url,
        "NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET": SECRET,
        **env,
    }
    # With a delay, each update waits between being stored and being handled (a kill window).
    module = "tests.slow_updates" if DELAY_ENV in env else "jobs.main"
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--config",
                str(config),
                "-v",
                "run",
                "--role",
                "bot",
            ],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_between_receipt_and_reply_loses_no_update(
    tmp_path: Path, database_url: str
) -> None:
    db = Database(database_url)
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        config = tmp_path / "newsbrief.yaml"
        config.write_text(CONFIG.format(api=botapi.port, port=port), encoding="utf-8")
        # Life 1 holds every update 60 s after storing it: killed in that window.
        first = launch(config, tmp_path / "life1.log", database_url, **{DELAY_ENV: "60"})
        try:
            update_id = botapi.send_user_message(CHAT, "/start")
            botapi.wait_for_webhook_answer(update_id, 200, timeout=30)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        # Acknowledged to Telegram, stored, not handled, not answered.
        rows = stored(db)
        assert [(r.update_id, r.handled_at) for r in rows] == [(update_id, None)]
        assert botapi.pending_updates() == 0 and botapi.messages(CHAT) == []

        second = launch(config, tmp_path / "life2.log", database_url)
        try:
            messages = botapi.wait_for_messages_sync(CHAT, 1, timeout=30)
            assert messages[0].text.startswith(START_REPLY)
            # A new update after the restart is answered too, after the one taken over.
            later = botapi.send_user_message(CHAT, "/help")
            botapi.wait_for_messages_sync(CHAT, 2, timeout=15)
            deadline = time.monotonic() + 10
            while not all(r.handled_at for r in stored(db)) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2 * 1.5)  # past another lease: nothing answers the first update again
            assert len(botapi.messages(CHAT)) == 2
            assert [(r.update_id, r.handled_at is not None) for r in stored(db)] == [
                (update_id, True),
                (later, True),
            ]
            # One reply per update, keyed by the message it answers.
            assert replies(db) == [
                f"reply:telegram:{CHAT}:{r.payload['message']['message_id']}:0" for r in stored(db)
            ]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    db.dispose()
    logs = (tmp_path / "life1.log").read_text() + (tmp_path / "life2.log").read_text()
    assert "taking it up" in logs
    assert "Telegram bot started (webhook)" in logs
    assert SECRET not in logs and TOKEN.split(":")[1] not in logs
    assert second.returncode == 0, logs[-3000:]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from postgres_database()


@pytest.mark.postgres
def test_another_replica_answers_what_a_killed_one_stored(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two ``--role bot`` processes on PostgreSQL: Telegram's post reaches one, which is killed
    after storing it; the other, serving the same bot, answers it once."""
    db = Database(postgres_url)
    with BotApiServer(token=TOKEN) as botapi:
        port = free_port()
        config = tmp_path / "newsbrief.yaml"
        config.write_text(CONFIG.format(api=botapi.port, port=port), encoding="utf-8")
        killed = launch(config, tmp_path / "a.log", postgres_url, **{DELAY_ENV: "60"})
        other = None
        try:
            update_id = botapi.send_user_message(CHAT, "/start")
            botapi.wait_for_webhook_answer(update_id, 200, timeout=30)
            # The second replica listens elsewhere (behind the same proxy, in production).
            other = launch(
                config, tmp_path / "b.log", postgres_url, NEWSBRIEF_SERVER__PORT=str(free_port())
            )
            time.sleep(1.0)
            killed.send_signal(signal.SIGKILL)
            killed.wait(timeout=10)
            messages = botapi.wait_for_messages_sync(CHAT, 1, timeout=30)
            assert messages[0].text.startswith(START_REPLY)
            time.sleep(2 * 1.5)
            assert len(botapi.messages(CHAT)) == 1
            assert [(r.update_id, r.handled_at is not None) for r in stored(db)] == [
                (update_id, True)
            ]
        finally:
            for process in (killed, other):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
    db.dispose()
    assert "taking it up" in (tmp_path / "b.log").read_text()
