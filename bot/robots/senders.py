"""Send outbox messages to WeCom, DingTalk and Feishu group robots and classify the answers.

A robot is a chat: ``Delivery.chat_id`` is the robot's configured id, and its webhook key and
signing secret are looked up per id. The three platforms answer HTTP 200 to almost everything,
so the verdict is in the body's ``errcode`` (``code`` on Feishu), read on every answer.

Keys and secrets sit in the request URL or body only: errors and logs name the robot and the
platform's code, and anything echoed back is scrubbed of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from bot.robots.limits import (
    DINGTALK_PER_MINUTE,
    DINGTALK_SEND_TOO_FAST,
    FEISHU_PER_MINUTE,
    FEISHU_PER_SECOND,
    FEISHU_RATE_LIMITED,
    WECOM_BAD_KEY,
    WECOM_PER_MINUTE,
    WECOM_RATE_LIMITED,
)
from bot.robots.render import encode_body, payload_for
from bot.robots.signing import dingtalk_sign, feishu_sign
from bot.senders import Window
from newsbrief.config.channels import RobotCredentials
from newsbrief.records import Delivery, SendOutcome, SendResult
from newsbrief.redaction import Redactor

# One robot's messages spaced to keep within its platform's rate (bot.robots.limits; for Feishu
# the tighter of its two, 100 a minute: 0.6 s apart). The 5% margin is for the network: two
# requests can arrive closer together than they left, and exactly 60/20 s apart puts the 21st
# message on the edge of the first one's minute.
_MARGIN = 1.05
WECOM_INTERVAL = 60 / WECOM_PER_MINUTE * _MARGIN
DINGTALK_INTERVAL = 60 / DINGTALK_PER_MINUTE * _MARGIN
FEISHU_INTERVAL = max(60 / FEISHU_PER_MINUTE, 1 / FEISHU_PER_SECOND) * _MARGIN
RATE_LIMIT_WAIT = 60.0
"""Seconds a robot waits after a rate-limit answer: the platforms count per minute."""
FEISHU_RATE_LIMIT_WAIT = 10.0
"""Feishu's rate limit also comes from short peaks (the :00 and :30 rush), so look again sooner."""
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_THROTTLED = ("too fast", "frequency limit", "freq out of limit", "too many request")


class Verdict:
    """How a platform's codes map to outcomes."""

    def __init__(
        self,
        name: str,
        rate_limited: Mapping[int, float],
        passing: frozenset[int],
        chat_gone: Mapping[int, str],
    ) -> None:
        self.name = name
        self.rate_limited = rate_limited
        self.passing = passing
        self.chat_gone = chat_gone

    def classify(self, code: int, message: str) -> SendResult:
        error = f"{self.name} error {code}: {message}".strip()
        if code == 0:
            return SendResult(SendOutcome.SENT)
        if code in self.rate_limited:
            return SendResult(
                SendOutcome.RATE_LIMITED, retry_after=self.rate_limited[code], error=error
            )
        if code in self.passing:
            return SendResult(SendOutcome.RETRY, error=error)
        if code in self.chat_gone:
            return SendResult(SendOutcome.CHAT_GONE, error=f"{error} ({self.chat_gone[code]})")
        if any(word in message.lower() for word in _THROTTLED):
            # Platforms have renumbered "too fast" before; the words outlive the codes.
            return SendResult(SendOutcome.RATE_LIMITED, retry_after=RATE_LIMIT_WAIT, error=error)
        # Everything else is about this message (too long, bad type, refused content): fail it
        # visibly and let the robot's next message go.
        return SendResult(SendOutcome.REJECTED, error=error)


WECOM_VERDICT = Verdict(
    "WeCom",
    rate_limited={WECOM_RATE_LIMITED: RATE_LIMIT_WAIT},
    passing=frozenset({-1, 45033}),  # system busy, too many concurrent calls
    chat_gone={
        WECOM_BAD_KEY: "the webhook key is wrong or the robot was removed from the group",
        93004: "the robot is disabled",
        93008: "the robot is not in the group",
    },
)
DINGTALK_VERDICT = Verdict(
    "DingTalk",
    rate_limited=dict.fromkeys(DINGTALK_SEND_TOO_FAST, RATE_LIMIT_WAIT),
    passing=frozenset({-1}),
    chat_gone={
        310000: "security check failed: keyword, signature secret, clock or IP whitelist",
        300001: "the access token does not exist",
        300005: "the access token does not exist",
        400013: "the group was dissolved",
        400101: "the access token does not exist",
        400102: "the robot is disabled",
        400106: "the robot is not in the group",
    },
)
FEISHU_VERDICT = Verdict(
    "Feishu",
    rate_limited={FEISHU_RATE_LIMITED: FEISHU_RATE_LIMIT_WAIT},
    passing=frozenset({-1}),
    chat_gone={
        19001: "the hook token is wrong",
        19021: "signature check failed: check the secret and the clock",
        19022: "this IP is not allowed",
        19024: "the message lacks the robot's keyword",
    },
)


class WebhookSender:
    """One platform's robots. Subclasses say where to post and how to sign."""

    platform: str
    verdict: Verdict
    default_interval: float
    global_interval = 0.0
    """Each robot has its own budget; nothing is shared between robots."""

    def __init__(
        self,
        api_base_url: str,
        robots: Mapping[str, RobotCredentials],
        *,
        client: httpx.AsyncClient | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.robots = dict(robots)
        self.interval = self.default_interval if interval is None else interval
        """Seconds between two messages to one robot; tests shrink it with their server's clock."""
        self.clock = clock
        self._client = client
        self._own_client = client is None

    def chat_interval(self, chat_id: str) -> float:
        return self.interval

    def chat_window(self, chat_id: str) -> Window | None:
        return None  # the interval already keeps a robot within its per-minute budget

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def request(
        self, robot: RobotCredentials, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The URL to post to and the body, signed where the robot has a secret."""
        raise NotImplementedError

    def _scrub(self, text: str, robot: RobotCredentials) -> str:
        """``text`` without the robot's key and secret, in any form (URL-encoded, escaped), nor
        anything shaped like a credential (``access_token=``, ``sign=``, a hook path)."""
        secrets = [robot.key.get_secret_value()]
        if robot.secret is not None:
            secrets.append(robot.secret.get_secret_value())
        return Redactor(secrets)(text)[:500]

    async def send(self, delivery: Delivery) -> SendResult:
        robot = self.robots.get(delivery.chat_id)
        if robot is None:
            return SendResult(
                SendOutcome.CHAT_GONE,
                error=f"{self.verdict.name} robot {delivery.chat_id!r} is not configured",
            )
        try:
            url, body = self.request(robot, payload_for(self.platform, delivery.message))
        except (ValueError, KeyError) as exc:
            return SendResult(SendOutcome.REJECTED, error=f"unreadable message: {exc}")
        try:
            response = await self.client.post(
                url,
                content=encode_body(body),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            # No answer: a timeout may hide a delivered message, so a retry can duplicate it
            # (the outbox promises at least once).
            reason = self._scrub(f"{type(exc).__name__}: {exc}", robot)
            return SendResult(SendOutcome.RETRY, error=f"network: {reason}")
        result = self.classify(response)
        if result.error:
            result = SendResult(
                result.outcome,
                message_id=result.message_id,
                retry_after=result.retry_after,
                error=self._scrub(result.error, robot),
            )
        return result

    def classify(self, response: httpx.Response) -> SendResult:
        code, message = _read_code(response)
        if code is not None:
            return self.verdict.classify(code, message)
        status = response.status_code
        name = self.verdict.name
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After")) or RATE_LIMIT_WAIT
            return SendResult(SendOutcome.RATE_LIMITED, retry_after=wait, error=f"{name}: HTTP 429")
        if status in (401, 403, 404):
            # A wrong api_base_url or a robot deleted on the platform's side: no retry helps.
            return SendResult(SendOutcome.CHAT_GONE, error=f"{name}: HTTP {status} from the API")
        return SendResult(SendOutcome.RETRY, error=f"{name}: HTTP {status} without an error code")


def _read_code(response: httpx.Response) -> tuple[int | None, str]:
    """``(errcode, errmsg)`` of a JSON answer (``code``/``msg`` or legacy ``StatusCode``)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    for code_key, message_key in (
        ("errcode", "errmsg"),
        ("code", "msg"),
        ("StatusCode", "StatusMessage"),
    ):
        code = data.get(code_key)
        if isinstance(code, int) and not isinstance(code, bool):
            return code, str(data.get(message_key) or "")
    return None, ""


def _retry_after(value: str | None) -> float | None:
    try:
        return max(1.0, float(value)) if value else None
    except ValueError:
        return None


class WeComSender(WebhookSender):
    """WeCom group robot (群机器人): the key in the query is the only credential."""

    platform = "wecom"
    verdict = WECOM_VERDICT
    default_interval = WECOM_INTERVAL

    def request(
        self, robot: RobotCredentials, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        key = quote(robot.key.get_secret_value(), safe="")
        return f"{self.api_base_url}/cgi-bin/webhook/send?key={key}", payload


class DingTalkSender(WebhookSender):
    """DingTalk custom robot: signed in the query (ms timestamp + HMAC-SHA256) when 加签 is on."""

    platform = "dingtalk"
    verdict = DINGTALK_VERDICT
    default_interval = DINGTALK_INTERVAL

    def request(
        self, robot: RobotCredentials, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        token = quote(robot.key.get_secret_value(), safe="")
        url = f"{self.api_base_url}/robot/send?access_token={token}"
        if robot.secret is not None:
            # Signed at send time, so a message held for an hour still passes the 1-hour check.
            stamp = int(self.clock() * 1000)
            sign = dingtalk_sign(robot.secret.get_secret_value(), stamp)
            url += f"&timestamp={stamp}&sign={quote(sign, safe='')}"
        return url, payload


class FeishuSender(WebhookSender):
    """Feishu/Lark custom bot: the token in the path, the signature in the body."""

    platform = "feishu"
    verdict = FEISHU_VERDICT
    default_interval = FEISHU_INTERVAL

    def request(
        self, robot: RobotCredentials, payload: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        token = quote(robot.key.get_secret_value(), safe="")
        url = f"{self.api_base_url}/open-apis/bot/v2/hook/{token}"
        if robot.secret is not None:
            stamp = str(int(self.clock()))
            sign = feishu_sign(robot.secret.get_secret_value(), stamp)
            payload = {"timestamp": stamp, "sign": sign, **payload}
        return url, payload


SENDERS: dict[str, type[WebhookSender]] = {
    "wecom": WeComSender,
    "dingtalk": DingTalkSender,
    "feishu": FeishuSender,
}
