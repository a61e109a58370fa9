"""Loopback servers for the WeCom, DingTalk and Feishu group-robot webhooks, for tests.

Each answers like its platform (docs/channels-wechat-family.md and the error bodies in
data/wechat_vectors/): HTTP 200 with an error code in the body for every refusal. They check
the path and key, the signature (recomputed here, independently of the code under test), the
body's size in UTF-8 bytes and its JSON shape, and each robot's rate budget; they record what
they accept and can be told to answer the next requests with a given code.

``time_scale`` shrinks the rate windows (60 s -> 60 * scale) so tests can run a budget in a
fraction of the time; signatures keep the real one-hour tolerance on the wall clock.

Usage::

    with WebhookServer("dingtalk", time_scale=0.05) as server:
        server.add_robot("tok", secret="SEC…")
        ...
        server.received("tok")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, unquote, urlsplit

Platform = Literal["wecom", "dingtalk", "feishu"]
JsonDict = dict[str, Any]

WECOM_TEXT_MAX = 2048
WECOM_MARKDOWN_MAX = 4096
DINGTALK_BODY_MAX = 20_000
FEISHU_BODY_MAX = 20_000
SIGN_TOLERANCE = 3600.0

# Error texts as the platforms word them. WeCom's come from recorded answers
# (wecom_webhook_doc_payloads.json); DingTalk's from its error-code table as quoted in public
# code (300005 observed for an unknown token; 460101 is the code others map "message too
# long" to, unverified); Feishu's from recorded answers in public code and its docs.
WECOM_ERRORS = {
    -1: "system busy",
    40008: "invalid message type",
    40058: "invalid Request Parameter",
    44004: "empty content",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    93000: "invalid webhook url",
    93004: "robot is disabled",
}
DINGTALK_ERRORS = {
    -1: "系统繁忙",
    40035: "缺少参数 json",
    130101: "send too fast, exceed 20 times per minute",
    300005: "token is not exist",
    310000: "sign not match",
    400102: "bot is stopped",
    400105: "不支持的消息类型",
    410100: "发送速度太快而限流",
    460101: "message too long, exceed 20000 bytes",
}
FEISHU_ERRORS = {
    9499: "Bad Request",
    11232: "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
    19001: "param invalid: incoming webhook access token invalid",
    19021: "sign match fail or timestamp is not within one hour from current time",
    19024: "Key Words Not Found",
}
RATE_LIMIT_CODES = {"wecom": 45009, "dingtalk": 130101, "feishu": 11232}


def error_body(platform: Platform, code: int, message: str | None = None) -> JsonDict:
    """The body a platform answers an error with."""
    if platform == "wecom":
        text = message or WECOM_ERRORS.get(code, "error")
        hint = f"{time.time_ns() % 10**25:025d}"
        return {
            "errcode": code,
            "errmsg": f"{text}, hint: [{hint}], from ip: 127.0.0.1, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}",
        }
    if platform == "dingtalk":
        return {"errcode": code, "errmsg": message or DINGTALK_ERRORS.get(code, "error")}
    return {"code": code, "data": {}, "msg": message or FEISHU_ERRORS.get(code, "error")}


def ok_body(platform: Platform) -> JsonDict:
    if platform == "feishu":
        return {
            "StatusCode": 0,
            "StatusMessage": "success",
            "code": 0,
            "data": {},
            "msg": "success",
        }
    return {"errcode": 0, "errmsg": "ok"}


class Refused(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


@dataclass
class Received:
    """One accepted message."""

    robot: str
    payload: JsonDict
    size: int
    """Bytes of the body as it arrived."""
    at: float
    """``time.monotonic()`` when it was accepted."""
    query: dict[str, str]


@dataclass
class Robot:
    key: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    accepted: deque[float] = field(default_factory=deque)
    faults: deque[int] = field(default_factory=deque)
    penalty_until: float = 0.0


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookServer:
    def __init__(self, platform: Platform, *, time_scale: float = 1.0) -> None:
        self.platform: Platform = platform
        self.time_scale = time_scale
        self._robots: dict[str, Robot] = {}
        self._received: list[Received] = []
        self.answers: list[tuple[str, int]] = []
        """(robot key, code) of every answer, in order; 0 for success."""
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                key, body = server._handle(self.path, self.headers.get("Content-Type", ""), raw)
                data = json.dumps(body, ensure_ascii=False).encode()
                code: int = body["errcode"] if "errcode" in body else body["code"]
                with server._lock:
                    server.answers.append((key, code))
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- what tests set and read -------------------------------------------------------------

    def add_robot(
        self, key: str, secret: str | None = None, keywords: tuple[str, ...] = ()
    ) -> None:
        with self._lock:
            self._robots[key] = Robot(key, secret, keywords)

    def fail_next(self, key: str, code: int, times: int = 1) -> None:
        """Answer the robot's next ``times`` requests with ``code`` (and its real body)."""
        with self._lock:
            self._robots[key].faults.extend([code] * times)

    def received(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.robot == key]

    def codes(self, key: str) -> list[int]:
        with self._lock:
            return [code for robot, code in self.answers if robot == key]

    @property
    def rate_limit_code(self) -> int:
        return RATE_LIMIT_CODES[self.platform]

    # -- the API -----------------------------------------------------------------------------

    def _handle(self, path: str, content_type: str, raw: bytes) -> tuple[str, JsonDict]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        key = self._key(parts.path, query)
        try:
            with self._lock:
                robot = self._robots.get(key or "")
                if robot is None:
                    raise Refused(
                        {"wecom": 93000, "dingtalk": 300005, "feishu": 19001}[self.platform]
                    )
                if robot.faults:
                    raise Refused(robot.faults.popleft())
            payload = self._parse(raw, content_type)
            self._check_signature(robot, query, payload)
            self._check_message(robot, raw, payload)
            now = time.monotonic()
            with self._lock:
                self._check_rate(robot, now)
                robot.accepted.append(now)
                self._received.append(Received(key or "", payload, len(raw), now, query))
        except Refused as refused:
            return key or "", error_body(self.platform, refused.code, refused.message)
        return key or "", ok_body(self.platform)

    def _key(self, path: str, query: dict[str, str]) -> str | None:
        if self.platform == "wecom":
            return query.get("key") if path == "/cgi-bin/webhook/send" else None
        if self.platform == "dingtalk":
            return query.get("access_token") if path == "/robot/send" else None
        prefix = "/open-apis/bot/v2/hook/"
        return unquote(path[len(prefix) :]) if path.startswith(prefix) else None

    def _bad_request(self) -> Refused:
        return Refused({"wecom": 40058, "dingtalk": 40035, "feishu": 9499}[self.platform])

    def _parse(self, raw: bytes, content_type: str) -> JsonDict:
        if "json" not in content_type.lower():
            raise self._bad_request()
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise self._bad_request() from None
        if not isinstance(payload, dict):
            raise self._bad_request()
        return payload

    def _check_signature(self, robot: Robot, query: dict[str, str], payload: JsonDict) -> None:
        if robot.secret is None or self.platform == "wecom":
            return
        if self.platform == "dingtalk":
            stamp, sign = query.get("timestamp", ""), query.get("sign", "")
            if not stamp.isdigit() or abs(time.time() - int(stamp) / 1000) > SIGN_TOLERANCE:
                raise Refused(310000, "invalid timestamp")
            if sign != _hmac_b64(robot.secret, f"{stamp}\n{robot.secret}"):
                raise Refused(310000, "sign not match")
            return
        stamp, sign = str(payload.get("timestamp", "")), str(payload.get("sign", ""))
        expected = _hmac_b64(f"{stamp}\n{robot.secret}", "")
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= SIGN_TOLERANCE
        if not fresh or sign != expected:
            raise Refused(19021)

    def _check_message(self, robot: Robot, raw: bytes, payload: JsonDict) -> None:
        if self.platform == "wecom":
            self._check_wecom(payload)
        elif self.platform == "dingtalk":
            if len(raw) > DINGTALK_BODY_MAX:
                raise Refused(460101)
            self._check_dingtalk(payload)
        else:
            if len(raw) > FEISHU_BODY_MAX:
                raise Refused(9499)
            self._check_feishu(payload)
        if robot.keywords and self.platform != "wecom":
            text = json.dumps(payload, ensure_ascii=False)
            if not any(word in text for word in robot.keywords):
                if self.platform == "dingtalk":
                    raise Refused(310000, "keywords not in content")
                raise Refused(19024)

    def _check_wecom(self, payload: JsonDict) -> None:
        msgtype = payload.get("msgtype")
        if msgtype == "news":  # 1-8 linked cards: title and url required, picurl optional
            articles = (payload.get("news") or {}).get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise Refused(40008)
            for card in articles:
                if not isinstance(card, dict) or not card.get("title") or not card.get("url"):
                    raise Refused(44004)
            return
        limits = {"text": WECOM_TEXT_MAX, "markdown": WECOM_MARKDOWN_MAX}
        if msgtype == "markdown_v2":
            limits["markdown_v2"] = WECOM_MARKDOWN_MAX
        if msgtype not in limits:
            raise Refused(40008)
        body = payload.get(msgtype)
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, str) or not content:
            raise Refused(44004)
        if len(content.encode("utf-8")) > limits[msgtype]:
            raise Refused(
                40058,
                f"{msgtype}.content exceed max length {limits[msgtype]}. invalid Request Parameter",
            )

    def _check_dingtalk(self, payload: JsonDict) -> None:
        msgtype = payload.get("msgtype")
        required = {"text": ("content",), "markdown": ("title", "text")}
        if msgtype not in required:
            raise Refused(400105)
        body = payload.get(msgtype)
        for name in required[msgtype]:
            value = body.get(name) if isinstance(body, dict) else None
            if not isinstance(value, str) or not value:
                raise Refused(40035, f"缺少参数 {msgtype}.{name}")

    def _check_feishu(self, payload: JsonDict) -> None:
        msg_type = payload.get("msg_type")
        if msg_type == "text":
            content = payload.get("content")
            if not isinstance(content, dict) or not content.get("text"):
                raise Refused(9499)
        elif msg_type == "interactive":
            card = payload.get("card")
            if not isinstance(card, dict) or not isinstance(card.get("elements"), list):
                raise Refused(9499)
        else:
            raise Refused(9499)

    def _check_rate(self, robot: Robot, now: float) -> None:
        """Per robot: 20 a minute (WeCom, DingTalk); 100 a minute and 5 a second (Feishu)."""
        scale = self.time_scale
        if now < robot.penalty_until:
            raise Refused(self.rate_limit_code)
        budgets = (
            [(60.0 * scale, 100), (1.0 * scale, 5)]
            if self.platform == "feishu"
            else [(60.0 * scale, 20)]
        )
        for window, most in budgets:
            if sum(1 for t in robot.accepted if now - t < window) >= most:
                if self.platform == "dingtalk":
                    # DingTalk throttles an overflowing robot for 10 minutes.
                    robot.penalty_until = now + 600.0 * scale
                raise Refused(self.rate_limit_code)
        while robot.accepted and now - robot.accepted[0] >= 60.0 * scale:
            robot.accepted.popleft()
