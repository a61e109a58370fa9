"""Telegram: the python-telegram-bot application, the digest renderer, the sender, the limits.

``app``: updates to the command core and its replies back (python-telegram-bot only here and in
``jobs.runtime``); ``render``: digests as HTML messages within the text limit; ``sender``:
outbox messages through the Bot API, its answers classified; ``limits``: what Telegram allows
(text and caption lengths, callback data, flood rates), each with its source.
"""
