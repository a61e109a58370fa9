"""Masking secrets out of text bound for logs, terminals, replies and stored errors.

Two nets: the exact secret values the config holds (and the forms they take on the way out:
URL-encoded in a webhook URL, HTML-escaped in a reply, JSON-escaped in a payload echo), and
generic shapes that carry credentials whatever their value: a Bot API path ``bot<id>:<token>``,
a URL's ``user:password@``, ``access_token=``/``key=``/``sign=`` query parameters, a Feishu hook
path, an ``Authorization`` header. Only the stdlib: every layer can use it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "[secret]"
MIN_SECRET_LEN = 4
"""Shorter values are not masked by value: masking every "ab" in a log would hide the log, and
a value that short is no secret anyway (the shapes below still catch it in a URL)."""

# A Bot API token: "<bot id>:<35 characters>", in a URL path after "bot" or bare.
_TELEGRAM_PATH = re.compile(r"(/bot|%2Fbot)(\d+)(:|%3A)[A-Za-z0-9_\-]+", re.IGNORECASE)
_TELEGRAM_BARE = re.compile(r"\b(\d{5,12}):[A-Za-z0-9_\-]{30,}")
# scheme://user:password@host: the password.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@\"'<>]*):[^\s@/\"'<>]*@")
# Credential-bearing query (or form) parameters: WeCom key, DingTalk access_token and sign, …
_QUERY = re.compile(
    r"([?&;](?:access_token|token|key|api_key|apikey|secret|sign|signature|msg_signature"
    r"|password|passwd|pwd|auth)=)[^&\s\"'<>#]+",
    re.IGNORECASE,
)
_FEISHU_HOOK = re.compile(r"(/open-apis/bot/v2/hook/)[^/?#\s\"'<>]+")
_AUTH_HEADER = re.compile(
    r"((?:authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"',}]+", re.IGNORECASE
)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (_TELEGRAM_PATH, rf"\1\2\3{MASK}"),
    (_TELEGRAM_BARE, rf"\1:{MASK}"),
    (_USERINFO, rf"\1:{MASK}@"),
    (_QUERY, rf"\1{MASK}"),
    (_FEISHU_HOOK, rf"\1{MASK}"),
    (_AUTH_HEADER, rf"\1{MASK}"),
)


def forms(secret: str) -> set[str]:
    """The ways ``secret`` shows up in text: as it is, URL-encoded, HTML- and JSON-escaped."""
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
    return {f for f in found if len(f) >= MIN_SECRET_LEN}


class Redactor:
    """Masks known secret values, and with ``shapes`` every credential-shaped string too.

    Replies keep ``shapes`` off: an article link may carry ``?key=`` legitimately, and only the
    config's own secrets must never reach a chat.
    """

    def __init__(self, secrets: Iterable[str] = (), *, shapes: bool = True) -> None:
        values = {f for s in secrets if s and len(s.strip()) >= MIN_SECRET_LEN for f in forms(s)}
        self.count = len(values)
        # Longest first: a secret that contains another is masked whole.
        ordered = sorted(values, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._shapes = _SHAPES if shapes else _SHAPES[:2]

    def __call__(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(MASK, text)
        for pattern, replacement in self._shapes:
            text = pattern.sub(replacement, text)
        return text
