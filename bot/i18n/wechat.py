"""Reply catalogue of the WeCom app and Official Account channels (merged into
``bot.i18n.CATALOGUE``). Their replies are plain text: no markup in these strings."""

from __future__ import annotations

WECHAT_CATALOGUE: dict[str, dict[str, str]] = {
    # A digest longer than one passive reply: the rest waits for the user to ask again.
    "wechat_more_parts": {
        "zh-Hans": "……还有 {count} 段，再发“摘要”继续",
        "zh-Hant": "……還有 {count} 段，再發「摘要」繼續",
        "en": "…and {count} more: send /digest again",
    },
}
