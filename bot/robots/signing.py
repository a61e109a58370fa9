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


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """The raw base64 ``sign`` for a DingTalk robot (URL-encode it for the query)."""
    return _hmac_b64(secret, f"{timestamp_ms}\n{secret}")


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """The base64 ``sign`` for a Feishu/Lark custom bot; the timestamp is in seconds."""
    return _hmac_b64(f"{timestamp_s}\n{secret}", "")
