"""WeCom, DingTalk and Feishu group robots: rendering within each limit, signing, pacing, and the
outbox delivering to loopback servers that answer like the platforms."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from bot.robots.limits import WECOM_TEXT_MAX_BYTES
from bot.robots.render import (
    DIALECTS,
    JSON_PARSE_MODE,
    RENDERERS,
    payload_for,
)
from bot.robots.senders import SENDERS, WebhookSender
from bot.senders import Pacer
from jobs.context import JobContext
from jobs.deliver import Deliverer
from newsbrief.config.channels import (
    RobotConfig,
    RobotCredentials,
    WeComConfig,
    check_robot_ids,
    robot_credentials,
)
from newsbrief.config.settings import Config, FetchConfig
from newsbrief.fetcher import Fetcher
from newsbrief.records import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestSection,
    Message,
    SendOutcome,
    StoryItem,
)
from newsbrief.store import outbox, subscribers
from newsbrief.store.db import Database
from tests.conftest import VECTORS
from tests.servers.webhooks import WebhookServer, error_body

PLATFORMS = ("wecom", "dingtalk", "feishu")
SCALE = 0.025
"""Rate windows and send intervals shrunk 40×: a minute's budget runs in 1.5 s."""
KEY = "robot-key-Zq8/+x"
SECRET = "SECd3adb33f-test-secret"
ROBOT = "ops"
STORY = re.compile(r"STORY-(\d+)-")


def long_story(i: int) -> StoryItem:
    return StoryItem(
        story_id=i,
        seq=i,
        title=f"STORY-{i}-【重磅】大模型*发布* [第{i}条] <@all> 比特币价格再创新高，市场情绪高涨",
        url=f"https://news.example/article/{i}?utm_source=rss&ref=(feed)",
        summary=("据报道，人工智能公司今日发布新一代大语言模型，性能显著提升，" * 20) + f"完{i}",
        source="新华网",
        topics=("ai",),
        source_count=1 + i % 3,
    )


def digest_40(lang: str = "zh-Hans") -> Digest:
    items = tuple(long_story(i) for i in range(40))
    return Digest(
        subscriber_id=1,
        lang=lang,
        sections=(
            DigestSection("ai", "人工智能", items[:25]),
            DigestSection("crypto", "加密货币", items[25:]),
        ),
        cursor=40,
        more=7,
    )


def content_of(payload: dict[str, Any]) -> str:
    if "markdown" in payload:
        markdown = payload["markdown"]
        return str(markdown.get("content") or markdown.get("text"))
    return str(payload["card"]["elements"][0]["content"])


# -- rendering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_forty_long_chinese_stories_split_between_items_within_the_limit(platform: str) -> None:
    dialect = DIALECTS[platform]
    messages = RENDERERS[platform](digest_40())
    assert len(messages) > 1
    seen: list[int] = []
    for message in messages:
        assert message.parse_mode == JSON_PARSE_MODE
        body = message.text.encode("utf-8")
        assert "\\u" not in message.text  # CJK travels as UTF-8, not 6-byte escapes
        assert len(body) <= dialect.limit - dialect.reserve
        content = content_of(json.loads(body))
        seen += [int(n) for n in STORY.findall(content)]
        # Every part says which topic it is in, even one that starts inside a section.
        assert "🔹" in content.split("\n\n")[0 if dialect.title_line is None else 1]
        # Feed text cannot mention everyone or open markup.
        assert "<@all>" not in content and "*发布*" not in content and "[第" not in content
    assert seen == list(range(40))  # in order, each once: nothing cut, lost or repeated
    last = content_of(json.loads(messages[-1].text))
    assert last.endswith("……还有 7 条未列出")  # robots have no /digest to point to
    first = json.loads(messages[0].text)
    assert "新闻简报 · 40 条" in json.dumps(first, ensure_ascii=False)
    if platform == "wecom":
        # Parts are packed, not one item each.
        assert len(messages) < 40 / 2


def test_each_dialect_writes_links_and_bold_its_own_way() -> None:
    item = long_story(3)
    wecom = content_of(json.loads(RENDERERS["wecom"](digest_40())[0].text))
    assert "[STORY-0-【重磅】大模型＊发布＊ ［第0条］ ＜@all＞" in wecom
    assert "(https://news.example/article/0?utm_source=rss&ref=%28feed%29)" in wecom
    assert '<font color="comment">新华网</font>' in wecom
    ding = json.loads(RENDERERS["dingtalk"](digest_40())[1].text)
    assert ding["markdown"]["title"] == "📰 新闻简报 · 40 条（续）"
    assert ding["markdown"]["text"].startswith("#### 📰 新闻简报 · 40 条（续）\n\n")
    card = json.loads(RENDERERS["feishu"](digest_40())[0].text)
    assert card["msg_type"] == "interactive"
    assert card["card"]["header"]["title"]["content"] == "📰 新闻简报 · 40 条"
    assert f"**[STORY-{item.seq}-" in content_of(card)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_item_bigger_than_a_part_is_shortened_not_split(platform: str) -> None:
    huge = StoryItem(
        1, 1, "STORY-1-" + "长" * 5000, "https://x.example/" + "a" * 30000, "摘" * 9000, "源", ()
    )
    digest = Digest(1, "zh-Hans", (DigestSection("ai", "AI", (huge, long_story(2))),), 2)
    messages = RENDERERS[platform](digest)
    dialect = DIALECTS[platform]
    assert all(len(m.text.encode()) <= dialect.limit - dialect.reserve for m in messages)
    text = "".join(content_of(json.loads(m.text)) for m in messages)
    assert [int(n) for n in STORY.findall(text)] == [1, 2]


def test_a_notice_written_for_telegram_goes_as_plain_text_within_2048_bytes() -> None:
    payload = payload_for("wecom", Message("<b>通知</b> &lt;重要&gt; " + "字" * 3000))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert payload["msgtype"] == "text"
    assert payload["text"]["content"].startswith("通知 <重要> 字")
    assert len(body) <= WECOM_TEXT_MAX_BYTES
    assert payload_for("feishu", Message("hi", parse_mode=None)) == {
        "msg_type": "text",
        "content": {"text": "hi"},
    }


# -- config and signing -------------------------------------------------------------------------


def test_robot_config_reads_keys_from_the_environment_only() -> None:
    robots = (
        RobotConfig(id="ops", platform="dingtalk", key_env="DT_KEY", secret_env="DT_SECRET"),
        RobotConfig(id="team", platform="wecom", key_env="WC_KEY", topics=("ai",)),
    )
    creds = robot_credentials(robots, "dingtalk", {"DT_KEY": "tok", "DT_SECRET": "SECx"})
    assert list(creds) == ["ops"]
    assert creds["ops"].key.get_secret_value() == "tok"
    assert "tok" not in repr(creds) and "SECx" not in repr(creds)
    with pytest.raises(ValueError, match="DT_SECRET is not set"):
        robot_credentials(robots, "dingtalk", {"DT_KEY": "tok"})
    with pytest.raises(ValidationError):
        RobotConfig(id="x", platform="wecom", key="inline-secret", key_env="K")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RobotConfig(id="x", platform="wecom", key_env="not a name")
    with pytest.raises(ValidationError):
        WeComConfig(api_base_url="ftp://qyapi.weixin.qq.com")
    assert WeComConfig().api_base_url == "https://qyapi.weixin.qq.com"
    assert check_robot_ids((robots[0], robots[0])) == ["robot ops: listed twice for dingtalk"]
    twin = RobotConfig(id="ops2", platform="dingtalk", key_env="DT_KEY")
    assert check_robot_ids((robots[0], twin)) == ["robot ops2: same key_env DT_KEY as robot ops"]
    assert check_robot_ids(robots) == []


def fixed(value: float) -> Callable[[], float]:
    return lambda: value


def test_signatures_match_the_derived_vectors() -> None:
    vectors = json.loads((VECTORS / "DERIVED_dingtalk_feishu_sign_vectors.json").read_text())
    for case in vectors["dingtalk"]["cases"]:
        sender = SENDERS["dingtalk"](
            "https://oapi.dingtalk.com",
            {},
            clock=fixed(int(case["timestamp_ms"]) / 1000),
        )
        creds = RobotCredentials(SecretStr("tok"), SecretStr(case["secret"]))
        url, _ = sender.request(creds, {"msgtype": "text"})
        query = urlsplit(url).query
        assert f"timestamp={case['timestamp_ms']}&sign={case['sign_urlencoded']}" in query
    for case in vectors["feishu"]["cases"]:
        sender = SENDERS["feishu"](
            "https://open.feishu.cn", {}, clock=fixed(float(case["timestamp_s"]))
        )
        creds = RobotCredentials(SecretStr("tok"), SecretStr(case["secret"]))
        _, body = sender.request(creds, {"msg_type": "text"})
        assert body["timestamp"] == case["timestamp_s"] and body["sign"] == case["sign"]


def test_recorded_error_bodies_are_classified() -> None:
    recorded = json.loads((VECTORS / "wecom_webhook_doc_payloads.json").read_text())
    wecom = SENDERS["wecom"]("https://qyapi.weixin.qq.com", {})
    expected = {
        45009: SendOutcome.RATE_LIMITED,
        93000: SendOutcome.CHAT_GONE,
        44004: SendOutcome.REJECTED,
        40058: SendOutcome.REJECTED,
    }
    for body in recorded["observed_error_responses"]:
        result = wecom.classify(httpx.Response(200, json=body))
        assert result.outcome is expected[body["errcode"]], body
        assert str(body["errcode"]) in (result.error or "")
    assert wecom.classify(httpx.Response(200, json={"errcode": 45009})).retry_after == 60
    assert wecom.classify(httpx.Response(200, json={"errcode": -1})).outcome is SendOutcome.RETRY
    ding = SENDERS["dingtalk"]("https://oapi.dingtalk.com", {})
    for code, outcome in [
        (130101, SendOutcome.RATE_LIMITED),
        (410100, SendOutcome.RATE_LIMITED),
        (310000, SendOutcome.CHAT_GONE),
        (300005, SendOutcome.CHAT_GONE),
        (400105, SendOutcome.REJECTED),
    ]:
        body = error_body("dingtalk", code)
        assert ding.classify(httpx.Response(200, json=body)).outcome is outcome, body
    feishu = SENDERS["feishu"]("https://open.feishu.cn", {})
    for code, outcome in [
        (11232, SendOutcome.RATE_LIMITED),
        (19021, SendOutcome.CHAT_GONE),
        (19024, SendOutcome.CHAT_GONE),
        (9499, SendOutcome.REJECTED),
    ]:
        body = error_body("feishu", code)
        assert feishu.classify(httpx.Response(200, json=body)).outcome is outcome, body
    legacy = {"StatusCode": 0, "StatusMessage": "success"}
    assert feishu.classify(httpx.Response(200, json=legacy)).outcome is SendOutcome.SENT
    # No code in the answer: the HTTP status decides.
    assert feishu.classify(httpx.Response(502, text="<html>")).outcome is SendOutcome.RETRY
    assert feishu.classify(httpx.Response(404, text="no")).outcome is SendOutcome.CHAT_GONE
    limited = feishu.classify(httpx.Response(429, headers={"Retry-After": "7"}))
    assert limited.outcome is SendOutcome.RATE_LIMITED and limited.retry_after == 7


# -- end to end through the outbox --------------------------------------------------------------


def make_sender(platform: str, server: WebhookServer, scale: float = SCALE) -> WebhookSender:
    sender_cls = SENDERS[platform]
    creds = {ROBOT: RobotCredentials(SecretStr(KEY), SecretStr(SECRET))}
    if platform == "wecom":
        creds = {ROBOT: RobotCredentials(SecretStr(KEY))}
    return sender_cls(server.base_url, creds, interval=sender_cls.default_interval * scale)


@dataclass
class Channel:
    platform: str
    server: WebhookServer
    sender: WebhookSender
    deliverer: Deliverer
    ctx: JobContext

    def rows(self) -> list[Any]:
        with self.ctx.db.session() as session:
            return sorted(outbox.listing(session), key=lambda r: r.id)

    def statuses(self) -> list[str]:
        return [r.status for r in self.rows()]

    def enqueue(self, key: str, parts: list[Message]) -> None:
        now = self.ctx.clock()
        with self.ctx.db.session() as session:
            sub, _ = subscribers.ensure(
                session,
                self.platform,
                ROBOT,
                None,
                lang="zh-Hans",
                timezone="Asia/Shanghai",
                schedule="instant",
                now=now,
                backlog=timedelta(0),
            )
            outbox.enqueue(session, sub, key, parts, now)

    def later(self, seconds: float) -> None:
        moved = self.ctx.clock() + timedelta(seconds=seconds)
        self.ctx.clock = lambda: moved


@contextlib.asynccontextmanager
async def open_channel(db: Database, platform: str) -> AsyncIterator[Channel]:
    """A robot on a loopback server, its sender, and a deliverer with that one sender."""
    with WebhookServer(platform, time_scale=SCALE) as server:  # type: ignore[arg-type]
        server.add_robot(KEY, None if platform == "wecom" else SECRET)
        sender = make_sender(platform, server)
        fetcher = Fetcher(FetchConfig())
        start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
        ctx = JobContext(
            db=db,
            config=Config(database_url="sqlite://"),
            fetcher=fetcher,
            senders={platform: sender},
            clock=lambda: start,
        )
        try:
            yield Channel(platform, server, sender, Deliverer(ctx), ctx)
        finally:
            await sender.aclose()
            await fetcher.aclose()
            ctx.cpu.shutdown()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'newsbrief.db'}")
    database.upgrade()
    yield database
    database.dispose()


def without_signature(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("timestamp", "sign")}


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_40_story_digest_arrives_in_parts_in_order_signed_and_paced(
    platform: str, db: Database
) -> None:
    parts = RENDERERS[platform](digest_40())
    async with open_channel(db, platform) as ch:
        ch.enqueue("digest:1", parts)
        # The platform says "too fast" first: the robot waits, nothing is lost or reordered.
        code = ch.server.rate_limit_code
        ch.server.fail_next(KEY, code)
        assert await ch.deliverer.tick() == 0
        rows = ch.rows()
        assert [r.status for r in rows] == ["pending"] * len(parts)
        assert str(code) in (rows[0].last_error or "")
        wait = rows[0].due_at - ch.ctx.clock()
        assert timedelta(seconds=5) <= wait <= timedelta(seconds=60)
        assert await ch.deliverer.tick() == 0  # not before the wait is over
        ch.later(wait.total_seconds() + 1)
        assert await ch.deliverer.tick() == len(parts)

        received = ch.server.received(KEY)
        assert [without_signature(r.payload) for r in received] == [
            json.loads(p.text) for p in parts
        ]
        assert all(r.size <= DIALECTS[platform].limit for r in received)
        if platform == "dingtalk":
            assert all({"timestamp", "sign"} <= set(r.query) for r in received)
        if platform == "feishu":
            assert all({"timestamp", "sign"} <= set(r.payload) for r in received)
        # The server checked every signature and counted every window: one refusal, injected.
        assert ch.server.codes(KEY) == [code] + [0] * len(parts)
        # Paced at the robot's interval; the first arrival is left out, late from connecting.
        span = received[-1].at - received[1].at
        assert span >= (len(received) - 2) * ch.sender.interval * 0.9 - 0.02
        assert ch.statuses() == ["sent"] * len(parts)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_refused_part_fails_alone_and_a_wrong_key_pauses_the_robot(
    platform: str, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    parts = RENDERERS[platform](digest_40())
    async with open_channel(sqlite_db, platform) as ch:
        ch.enqueue("digest:1", parts)
        # A part the platform refuses (too long, say) fails visibly; the others still go.
        too_long = {"wecom": 40058, "dingtalk": 460101, "feishu": 9499}[platform]
        ch.server.fail_next(KEY, too_long)
        assert await ch.deliverer.tick() == len(parts) - 1
        statuses = ch.statuses()
        assert statuses[0] == "failed" and set(statuses[1:]) == {"sent"}
        assert str(too_long) in (ch.rows()[0].last_error or "")

        # The robot was removed, or its secret changed: the robot is paused, saying why.
        if platform == "wecom":
            ch.sender.robots[ROBOT] = RobotCredentials(SecretStr("removed-key"))
            expected = "93000"
        else:
            ch.sender.robots[ROBOT] = RobotCredentials(SecretStr(KEY), SecretStr("SECwrong"))
            expected = "310000" if platform == "dingtalk" else "19021"
        ch.enqueue("digest:2", parts)
        assert await ch.deliverer.tick() == 0
        paused = [r for r in ch.rows() if r.key.startswith("digest:2")]
        assert {r.status for r in paused} == {"paused"}
        reason = paused[0].last_error or ""
        assert expected in reason
        for secret in ("removed-key", "SECwrong", KEY, SECRET):
            assert secret not in reason
            assert secret not in caplog.text  # the deliverer logged the reason: no key in it
        assert expected in caplog.text
        with sqlite_db.session() as session:
            sub = subscribers.find(session, platform, ROBOT, None)
        assert sub is not None and sub.paused


async def _paced_sends(sender: WebhookSender, count: int, text: str) -> list[SendOutcome]:
    """Sends as the deliver tick paces them: each at the robot's next free slot."""
    loop = asyncio.get_running_loop()
    pacer = Pacer(sender.global_interval)
    outcomes = []
    for n in range(count):
        wait = max(pacer.next_global, pacer.chat_ready_at(ROBOT)) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        pacer.take(ROBOT, sender.chat_interval(ROBOT), loop.time())
        result = await sender.send(delivery(sender.platform, n, Message(f"{text}{n}", None)))
        outcomes.append(result.outcome)
    return outcomes


def delivery(platform: str, n: int, message: Message) -> Delivery:
    return Delivery(n, f"k:{n}", 1, platform, ROBOT, None, message, DeliveryStatus.SENDING)


# The senders keep 5% of a minute in hand for network jitter: 3 s for real, only as much of it as
# this scale leaves in the test, so a busy test machine needs a little more than SCALE.
PACING_SCALE = 0.05


@pytest.mark.parametrize(("platform", "budget"), [("wecom", 20), ("dingtalk", 20), ("feishu", 100)])
async def test_pacing_keeps_a_robot_within_its_budget(platform: str, budget: int) -> None:
    with WebhookServer(platform, time_scale=PACING_SCALE) as server:  # type: ignore[arg-type]
        server.add_robot(KEY, None if platform == "wecom" else SECRET)
        server.add_robot("warm-up", None if platform == "wecom" else SECRET)
        sender = make_sender(platform, server, PACING_SCALE)
        try:
            # The first request opens the connection: one to another robot, so that its
            # set-up cannot make this robot's first message arrive late and shorten the window.
            sender.robots["warm"] = RobotCredentials(
                SecretStr("warm-up"), None if platform == "wecom" else SecretStr(SECRET)
            )
            warm = Delivery(
                0, "warm", 1, platform, "warm", None, Message("热身", None), DeliveryStatus.SENDING
            )
            assert (await sender.send(warm)).outcome is SendOutcome.SENT
            # One more than a (scaled) minute's budget, at the robot's pace: none refused.
            assert set(await _paced_sends(sender, budget + 1, "第")) == {SendOutcome.SENT}
            assert server.codes(KEY) == [0] * (budget + 1)
            # The control: the same robot without pacing runs into the platform's limit.
            sender.interval = 0
            outcomes = await _paced_sends(sender, budget + 1, "快")
        finally:
            await sender.aclose()
    assert SendOutcome.RATE_LIMITED in outcomes
    assert server.rate_limit_code in server.codes(KEY)
