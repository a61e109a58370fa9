"""WeCom app and WeChat Official Account callbacks: crypto, protocol, server, limits.

Inbound and pull-only: a digest goes out as the passive reply to a command. ``crypto``:
WXBizMsgCrypt signatures and AES; ``protocol``: requests to ``Inbound`` messages, replies to
XML, digests as plain-text reply parts; ``server``: the aiohttp callback server and the command
core within the reply timeout; ``limits``: the passive reply's size, timeout and retries, each
with its source.
"""
