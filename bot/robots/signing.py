"""Signatures for DingTalk and Feishu/Lark custom-bot webhooks (docs/channels-wechat-family.md §5).

Both sign a timestamp with the bot's secret by HMAC-SHA256 and base64, with key and message
swapped between the two: DingTalk keys with the secret over ``f"{ms}\\n{secret}"`` and puts the
result in the query; Feishu keys with ``f"{s}\\n{secret}"`` over nothing and puts it in the body.
Both refuse a timestamp more than an hour old, so sign at send time (again on each retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """The raw base64 ``sign`` for a DingTalk robot (URL-encode it, or use ``dingtalk_signed_url``)."""
    return _hmac_b64(secret, f"{timestamp_ms}\n{secret}")


def dingtalk_signed_url(webhook_url: str, secret: str, *, now_ms: int | None = None) -> str:
    """The webhook URL with ``timestamp`` (ms) and ``sign`` set, replacing any earlier pair."""
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    parts = urlsplit(webhook_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k not in {"timestamp", "sign"}]
    kept += [("timestamp", str(stamp)), ("sign", dingtalk_sign(secret, stamp))]
    # quote, not quote_plus: '+' in base64 must reach DingTalk as %2B, never as a space.
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """The base64 ``sign`` for a Feishu/Lark custom bot; the timestamp is in seconds."""
    return _hmac_b64(f"{timestamp_s}\n{secret}", "")


def feishu_signed_body(
    body: Mapping[str, Any], secret: str, *, now_s: int | None = None
) -> dict[str, Any]:
    """A copy of the JSON body with ``timestamp`` (a string of seconds) and ``sign`` added."""
    stamp = str(int(time.time()) if now_s is None else now_s)
    return {**body, "timestamp": stamp, "sign": feishu_sign(secret, stamp)}
