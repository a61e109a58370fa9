"""The WeCom app callback and the Official Account server, over loopback HTTP (issue #7, 3 and 4).

The tests play WeChat's side with ``MsgCrypt``: encrypt and sign a user's message, POST it,
decrypt and check the passive reply. The server runs on its own event loop in a thread, so the
hypothesis tests can drive it with a plain ``httpx.Client``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import socket
import struct
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from bot.commands.core import CommandCore
from bot.commands.io import Command, Reply
from bot.wechat.crypto import MsgCrypt, parse_xml_fields, plain_signature
from bot.wechat.limits import REPLY_MAX_BYTES
from bot.wechat.protocol import (
    Inbound,
    fit_parts,
    plain_reply,
    text_reply_xml,
)
from bot.wechat.server import CallbackServer
from jobs.compose import compose_due, compose_for
from jobs.runtime import Runtime
from newsbrief.config.settings import Config, load_config
from newsbrief.records import Subscription
from newsbrief.store import callbacks, subscribers
from newsbrief.store.db import Database
from newsbrief.store.tables import (
    CallbackReplyRow,
    DeliveryRow,
    FeedRow,
    StoryRow,
    StoryTopicRow,
    SubscriberRow,
)
from tests.conftest import ROOT, VECTORS

T = TypeVar("T")
WECOM = json.loads((VECTORS / "wecom_callback_doc_example.json").read_text(encoding="utf-8"))
OA = json.loads((VECTORS / "wechat_oa_msgcrypt_official_samples.json").read_text(encoding="utf-8"))[
    "python_sample_decrypt"
]
GH_ID = "gh_10f6c3c3ac5a"
TIME_LIMIT_S = 5.0
STORIES = [
    "比特币突破十万美元",
    "贝莱德比特币现货ETF单日净流入创纪录",
    "比特币矿企扩大算力",
]


def make_config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Config:
    # Tokens and keys from the environment, as documented; the vectors' own credentials, so the
    # must-reject and replay vectors can be posted to the same server.
    monkeypatch.setenv("NEWSBRIEF_WECOM__CALLBACK_TOKEN", WECOM["token"])
    monkeypatch.setenv("NEWSBRIEF_WECOM__CALLBACK_AES_KEY", WECOM["encoding_aes_key"])
    monkeypatch.setenv("NEWSBRIEF_WECHAT__TOKEN", OA["token"])
    monkeypatch.setenv("NEWSBRIEF_WECHAT__AES_KEY", OA["encoding_aes_key"])
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database_url: {database_url}\n"
        f"topics_file: {ROOT / 'config' / 'topics.yaml'}\n"
        "allow_paths_outside_config: true\n"  # the shipped taxonomy, from a temporary config
        f"wecom: {{corp_id: {WECOM['receive_id']}}}\n"
        f"wechat: {{app_id: {OA['app_id']}}}\n"
        "server: {host: 127.0.0.1, port: 0}\n",
        encoding="utf-8",
    )
    return load_config(path)


class Served:
    """A running callback server on its own loop, and WeChat's side of the conversation."""

    def __init__(self, config: Config, db: Database, server: CallbackServer) -> None:
        self.config, self.db, self.server = config, db, server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(server.start())
        self.base = f"http://127.0.0.1:{server.port}"
        self.client = httpx.Client(base_url=self.base, timeout=10)
        self.wecom = MsgCrypt(WECOM["token"], WECOM["encoding_aes_key"], WECOM["receive_id"])
        self.oa = MsgCrypt(OA["token"], OA["encoding_aes_key"], OA["app_id"])

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def close(self) -> None:
        self.client.close()
        self.run(self.server.stop())
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # -- WeChat's side --------------------------------------------------------------------------

    def message(self, platform: str, user: str, text: str, msg_id: int, ts: int) -> str:
        account = WECOM["receive_id"] if platform == "wecom" else GH_ID
        agent = "<AgentID>1000002</AgentID>" if platform == "wecom" else ""
        return (
            f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>\n"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>\n<CreateTime>{ts}</CreateTime>\n"
            f"<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{text}]]></Content>\n"
            f"<MsgId>{msg_id}</MsgId>\n{agent}</xml>"
        )

    def request(
        self, platform: str, encrypt: str, *, ts: int | None = None, sign: bool = True
    ) -> tuple[str, dict[str, str], str]:
        """(path, query, body) of an encrypted callback as the platform sends it."""
        stamp = str(int(time.time()) if ts is None else ts)
        nonce = str(secrets.randbelow(10**9))
        crypt = self.wecom if platform == "wecom" else self.oa
        signature = crypt.signature(stamp, nonce, encrypt) if sign else "0" * 40
        query = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
        if platform == "wecom":
            head = f"<ToUserName><![CDATA[{WECOM['receive_id']}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
            return (
                "/wecom/callback",
                query,
                f"<xml>{head}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
            )
        query |= {
            "signature": plain_signature(OA["token"], stamp, nonce),
            "openid": "o-user",
            "encrypt_type": "aes",
        }
        head = f"<ToUserName><![CDATA[{GH_ID}]]></ToUserName>"
        return (
            "/wechat/callback",
            query,
            f"<xml>{head}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
        )

    def post(self, path: str, query: dict[str, str], body: str | bytes) -> httpx.Response:
        return self.client.post(path, params=query, content=body)

    def say(
        self, platform: str, user: str, text: str, msg_id: int, *, ts: int | None = None
    ) -> tuple[httpx.Response, float]:
        stamp = int(time.time()) if ts is None else ts
        crypt = self.wecom if platform == "wecom" else self.oa
        encrypt = crypt.encrypt(self.message(platform, user, text, msg_id, stamp))
        path, query, body = self.request(platform, encrypt, ts=stamp)
        started = time.perf_counter()
        response = self.post(path, query, body)
        return response, time.perf_counter() - started

    def open_reply(self, platform: str, response: httpx.Response) -> dict[str, str]:
        """Decrypt a passive reply as WeChat would (its signature checked)."""
        assert response.status_code == 200, response.text
        envelope = parse_xml_fields(response.content)
        crypt = self.wecom if platform == "wecom" else self.oa
        inner = crypt.decrypt(
            envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
        )
        return parse_xml_fields(inner)

    # -- state ----------------------------------------------------------------------------------

    def state(self) -> tuple[int, int, int, int]:
        with self.db.session() as session:
            subs = session.scalar(select(func.count()).select_from(SubscriberRow))
            rows = session.scalar(select(func.count()).select_from(DeliveryRow))
            sent = session.scalar(
                select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == "sent")
            )
            taken = session.scalar(select(func.count()).select_from(CallbackReplyRow))
        return int(subs or 0), int(rows or 0), int(sent or 0), int(taken or 0)

    def subscriptions(self, platform: str, chat_id: str) -> tuple[Subscription, ...]:
        with self.db.session() as session:
            found = subscribers.find(session, platform, chat_id, None)
        assert found is not None, (platform, chat_id)
        return found.subscriptions


def add_stories(db: Database, titles: list[str], *, first_id: int = 1) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        if session.get(FeedRow, "wire") is None:
            session.add(FeedRow(id="wire", url="http://wire/feed", title="Wire", next_check_at=now))
            session.flush()
        for i, title in enumerate(titles, start=first_id):
            session.execute(
                insert(StoryRow).values(
                    id=i,
                    title=title,
                    url=f"https://news.example/{i}",
                    summary=f"{title}。详细报道。",
                    lang="zh-Hans",
                    feed_id="wire",
                    topics=["bitcoin"],
                    source_count=max(1, len(titles) - i + 1),
                    created_at=now - timedelta(minutes=10),
                )
            )
            session.execute(insert(StoryTopicRow).values(story_id=i, topic_id="bitcoin"))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The config file read once (the taxonomy takes a second); tests change the database."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield make_config(tmp_path_factory.mktemp("config"), "sqlite://", monkeypatch)


def start(
    config: Config,
    database_url: str,
    *,
    core_class: type[CommandCore] = CommandCore,
    budget_s: float = 4.5,
) -> Served:
    config = config.model_copy(update={"database_url": database_url})
    db = Database(database_url)
    db.upgrade()
    core = core_class(db, lambda: config, compose=compose_for)
    return Served(config, db, CallbackServer(lambda: config, core, db, budget_s=budget_s))


@pytest.fixture
def served(loaded: Config, database_url: str) -> Iterator[Served]:
    running = start(loaded, database_url)
    yield running
    running.close()
    running.db.dispose()


@pytest.fixture
def served_sqlite(loaded: Config, tmp_path: Path) -> Iterator[Served]:
    running = start(loaded, f"sqlite:///{tmp_path / 'fuzz.db'}")
    yield running
    running.close()
    running.db.dispose()


# -- must show 3: 订阅 比特币 and 摘要 over both channels, encrypted ------------------------------


@pytest.mark.parametrize("platform", ["wecom", "wechat"])
def test_url_verification(served_sqlite: Served, platform: str) -> None:
    served = served_sqlite
    stamp, nonce = str(int(time.time())), "1372623149"
    if platform == "wecom":
        echostr = served.wecom.encrypt("1616140317555161061")
        query = {
            "msg_signature": served.wecom.signature(stamp, nonce, echostr),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": echostr,  # httpx URL-encodes "+", "/" and "=", as WeCom does
        }
        expected = "1616140317555161061"
    else:
        expected = "6262518426380593185"
        query = {
            "signature": plain_signature(OA["token"], stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": expected,
        }
    response = served.client.get(f"/{platform}/callback", params=query)
    assert response.status_code == 200 and response.text == expected
    bad = served.client.get(f"/{platform}/callback", params={**query, "nonce": "1"})
    assert bad.status_code == 403 and expected not in bad.text


def test_subscribe_and_digest_from_wecom_and_wechat_match_telegram(served: Served) -> None:
    add_stories(served.db, STORIES)
    telegram = Command("telegram", "1001", "private", "1001", "/subscribe 比特币")
    assert served.run(served.server.core.handle(telegram)) is not None
    expected = served.subscriptions("telegram", "1001")
    assert [s.topic for s in expected] == ["bitcoin"]

    timings: list[float] = []
    users = {
        "wecom": ("wecom_app", "zhangsan"),
        "wechat": ("wechat", "oyORnuP8q7ou2gfYjqLzSIWZf0rs"),
    }
    for n, (platform, (stored_as, user)) in enumerate(users.items()):
        response, took = served.say(platform, user, "订阅 比特币", 1000 + n)
        timings.append(took)
        reply = served.open_reply(platform, response)
        assert reply["MsgType"] == "text" and reply["ToUserName"] == user
        assert reply["FromUserName"] == (WECOM["receive_id"] if platform == "wecom" else GH_ID)
        assert "比特币" in reply["Content"] and "<b>" not in reply["Content"]
        # The same subscription the command core makes from Telegram.
        assert served.subscriptions(stored_as, user) == expected

        response, took = served.say(platform, user, "摘要", 2000 + n)
        timings.append(took)
        digest = served.open_reply(platform, response)["Content"]
        positions = [digest.index(title) for title in STORIES]
        assert positions == sorted(positions), digest  # most reported first
        assert "https://news.example/1" in digest and "<a href" not in digest
        assert len(digest.encode("utf-8")) <= 2048
        with served.db.session() as session:
            statuses = set(
                session.scalars(
                    select(DeliveryRow.status).where(
                        DeliveryRow.platform == stored_as, DeliveryRow.chat_id == user
                    )
                )
            )
        assert statuses == {"sent"}  # pull-only: the reply was the delivery

        # Nothing new since: the core says so, and nothing is sent twice.
        again = served.open_reply(platform, served.say(platform, user, "摘要", 3000 + n)[0])
        assert not any(title in again["Content"] for title in STORIES)
    assert max(timings) < TIME_LIMIT_S, timings
    # Pull-only: the compose tick queues nothing for these chats, only for the Telegram one.
    for stored_as, user in users.values():
        with served.db.session() as session:
            found = subscribers.find(session, stored_as, user, None)
        assert found is not None and found.schedule == "off"
    add_stories(served.db, ["比特币再创新高"], first_id=len(STORIES) + 1)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert compose_due(served.db, served.config, later) == 1
    with served.db.session() as session:
        pending = session.scalars(
            select(DeliveryRow.platform).where(DeliveryRow.status == "pending")
        )
        assert list(pending) == ["telegram"]


def test_a_long_digest_comes_in_replies_that_fit(served_sqlite: Served) -> None:
    served = served_sqlite
    titles = [f"比特币新闻第{i}条：" + "市场观察" * 12 for i in range(1, 31)]
    add_stories(served.db, titles)
    user = "lisi"
    served.open_reply("wecom", served.say("wecom", user, "订阅 比特币", 1)[0])
    seen: list[str] = []
    for msg_id in range(2, 12):
        content = served.open_reply("wecom", served.say("wecom", user, "摘要", msg_id)[0])[
            "Content"
        ]
        assert len(content.encode("utf-8")) <= 2048
        new = [t for t in titles if t in content and t not in seen]
        if not new:
            break
        seen += new
    # Every story reaches the user across several pulls (past max_items too, as "/digest"
    # shows the next page on Telegram); none is lost or repeated.
    assert len(seen) == len(set(seen)) == len(titles)


def test_a_repeated_msgid_is_answered_without_running_the_command_again(
    served_sqlite: Served,
) -> None:
    served = served_sqlite
    user = "wangwu"
    served.open_reply("wecom", served.say("wecom", user, "订阅 比特币", 10)[0])
    first = served.open_reply("wecom", served.say("wecom", user, "退订 比特币", 11)[0])["Content"]
    retry = served.open_reply("wecom", served.say("wecom", user, "退订 比特币", 11)[0])["Content"]
    # Run twice, the second answer would be "not subscribed".
    assert retry == first
    fresh = served.open_reply("wecom", served.say("wecom", user, "退订 比特币", 12)[0])["Content"]
    assert fresh != first


class CountingCore(CommandCore):
    """Slow, and counts the commands it runs, over all the servers of a test."""

    runs = 0

    async def handle(self, command: Command, *args: Any, **kwargs: Any) -> Reply | None:
        CountingCore.runs += 1
        await asyncio.sleep(0.6)
        return await super().handle(command, *args, **kwargs)


def test_a_retry_reaching_another_server_is_answered_once(
    loaded: Config, database_url: str
) -> None:
    """WeChat retries a message it got no answer to in time, and behind one address the retry
    may reach another process: that one answers with the first one's reply, without running the
    command again, whether the first is still running it or has finished."""
    CountingCore.runs = 0
    first = start(loaded, database_url, core_class=CountingCore, budget_s=0.2)
    second = start(loaded, database_url, core_class=CountingCore, budget_s=4.5)
    try:
        user = "o-twice"
        response, _ = first.say("wechat", user, "订阅 比特币", 501)
        assert response.text == "success"  # the slow command outlived the first's budget
        # The retry comes while the first process still runs the command: it waits for it.
        retry = second.open_reply("wechat", second.say("wechat", user, "订阅 比特币", 501)[0])
        assert "比特币" in retry["Content"]
        # Again later, after it finished: from the database at once.
        again, took = second.say("wechat", user, "订阅 比特币", 501)
        assert second.open_reply("wechat", again)["Content"] == retry["Content"]
        assert took < 0.5
        assert CountingCore.runs == 1
        assert [s.topic for s in second.subscriptions("wechat", user)] == ["bitcoin"]
        # A new MsgId is a new command, wherever it lands.
        second.open_reply("wechat", second.say("wechat", user, "退订 比特币", 502)[0])
        assert CountingCore.runs == 2
        with first.db.session() as session:
            kept = session.scalar(select(func.count()).select_from(CallbackReplyRow))
        assert kept == 2
    finally:
        for served in (first, second):
            served.close()
            served.db.dispose()


def test_kept_replies_are_forgotten_after_a_day(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        assert callbacks.take(session, "wechat:gh", "1", now - timedelta(days=2)) == (True, None)
        callbacks.done(session, "wechat:gh", "1", "old")
        assert callbacks.take(session, "wechat:gh", "2", now - timedelta(hours=1)) == (True, None)
        callbacks.done(session, "wechat:gh", "2", "recent")
        assert callbacks.take(session, "wechat:gh", "2", now) == (False, "recent")
        assert callbacks.take(session, "wechat:gh", "3", now) == (True, None)
        assert callbacks.take(session, "wechat:gh", "3", now) == (False, None)  # still running
        kept = session.scalars(select(CallbackReplyRow.msg_id).order_by(CallbackReplyRow.msg_id))
        assert list(kept) == ["2", "3"]


def test_a_follow_gets_the_welcome_and_other_messages_no_reply(served_sqlite: Served) -> None:
    served = served_sqlite
    stamp = int(time.time())
    follow = (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[o-new]]>"
        f"</FromUserName><CreateTime>{stamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe]]></Event></xml>"
    )
    path, query, body = served.request("wechat", served.oa.encrypt(follow), ts=stamp)
    welcome = served.open_reply("wechat", served.post(path, query, body))["Content"]
    assert "欢迎" in welcome and "/subscribe" in welcome and "<b>" not in welcome
    before = served.state()
    image = served.message("wechat", "o-other", "x", 5, stamp).replace(
        "<![CDATA[text]]>", "<![CDATA[image]]>"
    )
    path, query, body = served.request("wechat", served.oa.encrypt(image), ts=stamp)
    response = served.post(path, query, body)
    assert response.status_code == 200 and response.text == "success"
    assert served.state()[:3] == before[:3]


class SlowCore(CommandCore):
    async def handle(self, command: Command, *args: Any, **kwargs: Any) -> Reply | None:
        await asyncio.sleep(0.6)
        return await super().handle(command, *args, **kwargs)


def test_a_slow_command_is_answered_success_and_its_retry_gets_the_reply(
    loaded: Config, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    served = start(loaded, url, core_class=SlowCore, budget_s=0.2)
    try:
        response, took = served.say("wechat", "o-slow", "订阅 比特币", 77)
        assert response.status_code == 200 and response.text == "success"
        assert took < 0.5
        time.sleep(0.8)  # WeChat retries 5 s later; by then the command has finished
        retry = served.open_reply("wechat", served.say("wechat", "o-slow", "订阅 比特币", 77)[0])
        assert "比特币" in retry["Content"]
        assert [s.topic for s in served.subscriptions("wechat", "o-slow")] == ["bitcoin"]
    finally:
        served.close()
        served.db.dispose()


def test_plaintext_official_account(loaded: Config, tmp_path: Path) -> None:
    # The account in plaintext mode: a token, no EncodingAESKey.
    plain = loaded.model_copy(update={"wechat": loaded.wechat.model_copy(update={"aes_key": None})})
    served = start(plain, f"sqlite:///{tmp_path / 'plain.db'}")
    db = served.db
    try:
        stamp, nonce = str(int(time.time())), "42"
        query = {
            "signature": plain_signature(OA["token"], stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
        }
        body = served.message("wechat", "o-plain", "订阅 比特币", 5, int(stamp))
        response = served.post("/wechat/callback", query, body)
        assert response.status_code == 200
        reply = parse_xml_fields(response.content)
        assert reply["ToUserName"] == "o-plain" and "比特币" in reply["Content"]
        forged = served.post("/wechat/callback", {**query, "signature": "0" * 40}, body)
        assert forged.status_code == 403
    finally:
        served.close()
        db.dispose()


# -- must show 4: refusals, replays, fuzz ------------------------------------------------------


def test_must_reject_pair_tampered_and_replayed_requests_are_refused(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    before = served.state()
    caplog.set_level(logging.WARNING)

    def refused(path: str, query: dict[str, str], body: str, status: int, reason: str) -> None:
        caplog.clear()
        response = served.post(path, query, body)
        assert response.status_code == status, (reason, response.text)
        lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(lines) == 1 and f"reason={reason}" in lines[0], lines
        assert WECOM["token"] not in lines[0] and WECOM["encoding_aes_key"] not in lines[0]
        assert served.state() == before

    bad = WECOM["negative_example_from_official_comment"]
    query = {k: bad[k] for k in ("msg_signature", "timestamp", "nonce")}
    refused(
        "/wecom/callback",
        query,
        f"<xml><Encrypt><![CDATA[{bad['encrypt']}]]></Encrypt></xml>",
        403,
        "bad_signature",
    )

    # The official sample, correctly signed, replayed years later.
    old = WECOM["xml_decrypt_msg"]
    query = {k: old[k] for k in ("msg_signature", "timestamp", "nonce")}
    refused(
        "/wecom/callback",
        query,
        f"<xml><Encrypt><![CDATA[{old['encrypt']}]]></Encrypt></xml>",
        403,
        "stale",
    )

    # A fresh message, tampered with in transit: one character of the ciphertext.
    encrypt = served.wecom.encrypt(
        served.message("wecom", "mallory", "订阅 比特币", 9, int(time.time()))
    )
    path, query, body = served.request("wecom", encrypt)
    flipped = encrypt[:40] + ("A" if encrypt[40] != "A" else "B") + encrypt[41:]
    refused(path, query, body.replace(encrypt, flipped), 403, "bad_signature")
    # ... or signed properly but five minutes and a second late (a captured request replayed).
    late = int(time.time()) - 301
    path, query, body = served.request("wecom", encrypt, ts=late)
    refused(path, query, body, 403, "stale")
    # Safe mode is on: a plaintext message is not accepted.
    stamp = str(int(time.time()))
    plain_query = {
        "signature": plain_signature(OA["token"], stamp, "1"),
        "timestamp": stamp,
        "nonce": "1",
    }
    refused(
        "/wechat/callback",
        plain_query,
        served.message("wechat", "o-x", "订阅 比特币", 3, int(stamp)),
        400,
        "malformed",
    )

    # The server still answers a genuine request.
    response, _ = served.say("wecom", "mallory", "帮助", 10)
    assert served.open_reply("wecom", response)["Content"]


def _raw_encrypt(key: bytes, plain: bytes) -> str:
    """AES-256-CBC as WXBizMsgCrypt does it, without its padding: fuzz picks the padding."""
    plain += b"\x00" * (-len(plain) % 16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


WECOM_KEY = base64.b64decode(WECOM["encoding_aes_key"] + "=")
CORP = WECOM["receive_id"].encode()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Attempt:
    path: str
    query: dict[str, str]
    body: bytes


def _signed_wecom(served: Served, encrypt: str) -> Attempt:
    path, query, body = served.request("wecom", encrypt)
    return Attempt(path, query, body.encode())


def _bad_padding(served: Served, pad: int) -> Attempt:
    message = b"<xml/>"
    plain = secrets.token_bytes(16) + struct.pack(">I", len(message)) + message + CORP
    plain += bytes([pad]) * (-len(plain) % 32 or 32)
    return _signed_wecom(served, _raw_encrypt(WECOM_KEY, plain))


def _bad_length(served: Served, message: bytes, length: int) -> Attempt:
    plain = secrets.token_bytes(16) + struct.pack(">I", length) + message + CORP
    pad = 32 - len(plain) % 32
    return _signed_wecom(served, _raw_encrypt(WECOM_KEY, plain + bytes([pad]) * pad))


@st.composite
def hostile(draw: st.DrawFn, served: Served) -> Attempt:
    kind = draw(
        st.sampled_from(
            ["bytes", "xml", "unsigned", "base64", "padding", "length", "inner", "huge"]
        )
    )
    if kind == "bytes":  # anything at all, with plausible parameters
        path, query, _ = served.request(draw(st.sampled_from(["wecom", "wechat"])), "x")
        return Attempt(path, query, draw(st.binary(max_size=2000)))
    if kind == "xml":  # XML-ish text: broken tags, entities, doubled fields, CDATA tricks
        parts = st.sampled_from(
            [
                "<xml>",
                "</xml>",
                "<Encrypt>",
                "</Encrypt>",
                "<![CDATA[",
                "]]>",
                "<!DOCTYPE x>",
                "<!ENTITY e 'x'>",
                "&e;",
                "<a>",
                "</a>",
                "AAAA",
                "\x00",
                "比特币",
                "<?xml version='1.0' encoding='gbk'?>",
            ]
        )
        text = "".join(draw(st.lists(parts, max_size=30)))
        path, query, _ = served.request("wecom", "x")
        return Attempt(path, query, text.encode("utf-8", "surrogatepass"))
    if kind == "unsigned":  # a well-formed envelope its sender could not sign
        platform = draw(st.sampled_from(["wecom", "wechat"]))
        crypt = served.wecom if platform == "wecom" else served.oa
        path, query, body = served.request(platform, crypt.encrypt(draw(st.text(max_size=50))))
        query["msg_signature"] = draw(st.text("0123456789abcdef", min_size=40, max_size=40))
        return Attempt(path, query, body.encode())
    if kind == "base64":  # a signed envelope around any base64 (wrong lengths included)
        return _signed_wecom(served, base64.b64encode(draw(st.binary(max_size=600))).decode())
    if kind == "padding":  # a well-formed plaintext whose padding byte is wrong
        return _bad_padding(served, draw(st.integers(0, 255).filter(lambda p: not 1 <= p <= 32)))
    if kind == "length":  # a length field that lies, properly padded
        message = draw(st.binary(max_size=100))
        length = draw(st.integers(0, 2**32 - 1).filter(lambda n: n != len(message)))
        return _bad_length(served, message, length)
    if kind == "inner":  # genuine encryption of a message that is not a message
        inner = draw(st.text(max_size=300))
        return _signed_wecom(served, served.wecom.encrypt(inner))
    size = draw(st.integers(64 * 1024 + 1, 2 * 1024 * 1024))
    path, query, _ = served.request("wecom", "x")
    return Attempt(path, query, b"<xml><Encrypt>" + b"A" * size + b"</Encrypt></xml>")


def test_fuzzed_bodies_are_refused_cleanly_and_the_server_keeps_answering(
    served_sqlite: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served = served_sqlite
    caplog.set_level(logging.WARNING)
    before = served.state()
    statuses: list[int] = []

    @FUZZ
    @given(st.data())
    def attempt(data: st.DataObject) -> None:
        hit = data.draw(hostile(served))
        response = served.post(hit.path, hit.query, hit.body)
        statuses.append(response.status_code)
        # A 4xx, or WeChat's documented "no reply" for a message that is no command.
        assert 400 <= response.status_code < 500 or response.text == "success", response.text
        assert served.state()[:3] == before[:3]

    attempt()
    # Sixty random draws can miss a kind (a run without a wrong padding byte failed): each
    # kind once for sure.
    path, query, _ = served.request("wecom", "x")
    huge = Attempt(path, query, b"<xml><Encrypt>" + b"A" * (64 * 1024 + 1) + b"</Encrypt></xml>")
    broken = Attempt(path, query, b"<xml><Encrypt>")
    path, query, body = served.request("wecom", served.wecom.encrypt("<xml/>"))
    unsigned = Attempt(path, {**query, "msg_signature": "0" * 40}, body.encode())
    padding, length = _bad_padding(served, 0), _bad_length(served, b"<xml/>", 999)
    for sure in (huge, broken, unsigned, padding, length):
        statuses.append(served.post(sure.path, sure.query, sure.body).status_code)
    assert statuses and all(s != 500 for s in statuses)
    # Each kind of damage reached the check meant for it (behind a valid signature).
    reasons = {m.split("reason=")[1].split()[0] for m in caplog.messages if "reason=" in m}
    assert {"malformed", "bad_signature", "bad_padding", "bad_length", "too_large"} <= reasons
    response, took = served.say("wecom", "zhaoliu", "订阅 比特币", 1)
    assert "比特币" in served.open_reply("wecom", response)["Content"] and took < TIME_LIMIT_S


def test_fuzzed_query_strings_and_verification_requests(served_sqlite: Served) -> None:
    served = served_sqlite
    before = served.state()
    names = st.sampled_from(
        ["msg_signature", "signature", "timestamp", "nonce", "echostr", "encrypt_type", "x"]
    )

    @FUZZ
    @given(
        st.sampled_from(["/wecom/callback", "/wechat/callback"]),
        st.lists(st.tuples(names, st.text(max_size=80)), max_size=8),
        st.sampled_from(["GET", "POST"]),
    )
    def attempt(path: str, params: list[tuple[str, str]], method: str) -> None:
        response = served.client.request(
            method,
            path,
            params=tuple(params),
            content=b"<xml/>" if method == "POST" else None,
        )
        assert 400 <= response.status_code < 500, response.text
        assert served.state() == before

    attempt()


def _raw_request(port: int, head: bytes) -> bytes:
    """Send bytes no HTTP client would, and read the status line the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        return conn.recv(200).split(b"\r\n")[0]


@pytest.mark.parametrize("path", ["/wecom/callback", "/wechat/callback"])
def test_bodies_and_request_lines_no_server_would_send_are_one_warning(
    served_sqlite: Served, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    # Issue #14 row 5: these were a 500 with an ERROR traceback, and an ERROR traceback.
    served = served_sqlite
    caplog.set_level(logging.DEBUG)
    before = served.state()
    port = served.server.port
    assert port is not None

    def encoded(encoding: str) -> int:
        query = {"msg_signature": "a", "signature": "a", "timestamp": "1", "nonce": "2"}
        headers = {"Content-Encoding": encoding}
        return served.client.post(
            path, params=query, content=b"<xml/>", headers=headers
        ).status_code

    def raw(head: bytes) -> int:
        return int(_raw_request(port, head).split()[1])

    long_line = b"GET " + path.encode() + b"?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    long_header = b"POST " + path.encode() + b" HTTP/1.1\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n"
    cases = [partial(encoded, e) for e in ("gzip", "deflate", "br")]
    cases += [partial(raw, long_line), partial(raw, long_header)]
    for case in cases:
        caplog.clear()
        assert case() == 400
        time.sleep(0.05)  # aiohttp logs a refused request line after it answered
        ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
        assert [r.levelname for r in ours] == ["WARNING"], [r.getMessage() for r in ours]
        assert ours[0].exc_info is None and "Traceback" not in caplog.text
    assert served.state() == before
    response, took = served.say("wecom", "zhaoliu", "订阅 比特币", 7)
    assert "比特币" in served.open_reply("wecom", response)["Content"] and took < TIME_LIMIT_S


async def test_the_callbacks_role_serves_both_paths(loaded: Config, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port: the runtime listens where the config says
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = loaded.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'run.db'}",
            "server": loaded.server.model_copy(update={"port": port}),
        }
    )
    runtime = Runtime(config)
    runtime.start()
    stop = asyncio.Event()
    running = asyncio.create_task(runtime.run(("callbacks",), stop))
    stamp, nonce = str(int(time.time())), "7"
    query = {
        "signature": plain_signature(OA["token"], stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "hello",
    }
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    response = await client.get("/wechat/callback", params=query)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert response.status_code == 200 and response.text == "hello"
            assert (await client.get("/wecom/callback")).status_code == 400
    finally:
        stop.set()
        await running
        await runtime.aclose()


def test_reply_xml_holds_any_text_and_fits_the_limit() -> None:
    inbound = Inbound("wechat", GH_ID, "o-user", "1", "text")
    text = "a]]>b<![CDATA[c</Content>\x00\x1f" + "比" * 1000
    fields = parse_xml_fields(text_reply_xml(inbound, plain_reply(text, None), 1))
    assert fields["Content"].startswith("a]]>b<![CDATA[c</Content>比")
    assert len(fields["Content"].encode()) <= REPLY_MAX_BYTES and fields["ToUserName"] == "o-user"
    parts = ["一" * 600, "二" * 600, "三" * 600]  # 1800 bytes each: one per reply
    reply, used = fit_parts(parts, "zh-Hans")
    assert used == 1 and reply.endswith("……还有 2 段，再发“摘要”继续")
    assert len(reply.encode()) <= REPLY_MAX_BYTES
