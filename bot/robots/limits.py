"""The group robots' limits and rate-limit codes, each with where it is stated.

Details and the conformance cases: docs/channels-wechat-family.md §1 (WeCom), §5.1 (DingTalk),
§5.2 (Feishu). Sizes are UTF-8 bytes of the JSON body, written without ``\\u`` escapes.
"""

from __future__ import annotations

# WeCom group robot: https://developer.work.weixin.qq.com/document/path/91770
WECOM_MARKDOWN_MAX_BYTES = 4096
"""``markdown.content``; over it the robot answers 40058 "exceed max length 4096"."""
WECOM_TEXT_MAX_BYTES = 2048
"""``text.content``."""
WECOM_PER_MINUTE = 20
"""Messages a minute to one robot."""
WECOM_RATE_LIMITED = 45009
"""errcode "api freq out of limit": over the 20 a minute."""
WECOM_BAD_KEY = 93000
"""errcode "invalid webhook url": the key is wrong or the robot left the group."""

# DingTalk custom robot: https://open.dingtalk.com/document/group/custom-robot-access
DINGTALK_MAX_BODY_BYTES = 20_000
"""The body ("body 大小不合法…20000bytes")."""
DINGTALK_PER_MINUTE = 20
"""Messages a minute to one robot (over it, throttled for 10 minutes)."""
DINGTALK_SEND_TOO_FAST = (130101, 410100)
"""errcode "send too fast": 130101 in Aliyun's code table, 410100 in the API reference."""

# Feishu/Lark custom bot: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
FEISHU_MAX_BODY_BYTES = 20_000
"""Feishu documents "20 KB"; 20,000 keeps clear of whichever KB it means."""
FEISHU_PER_MINUTE = 100
"""Requests a minute to one bot."""
FEISHU_PER_SECOND = 5
"""Requests a second to one bot."""
FEISHU_RATE_LIMITED = 11232
"""``code`` of a throttled request (peaks come at :00 and :30)."""
