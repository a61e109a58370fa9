"""What the WeCom app and the Official Account allow a callback's passive reply, with sources.

WeCom app: receiving messages https://developer.work.weixin.qq.com/document/path/90930, text
messages https://developer.work.weixin.qq.com/document/path/90236. Official Account:
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
Summarised in docs/channels-wechat-family.md §3.3 and §4.1.
"""

from __future__ import annotations

REPLY_MAX_BYTES = 2048
"""A passive text reply's ``Content`` (WeCom app text ≤ 2048 B; the Official Account's limit is
undocumented, about 2048 B)."""
REPLY_TIMEOUT_S = 5.0
"""Seconds the platform waits for a reply before it drops the connection and sends again."""
CALLBACK_TRIES = 3
"""How often one message comes when no reply does: the first POST and two retries."""
