"""The WeCom self-built app callback and the WeChat Official Account server: the protocol side.

Both receive a user's message as a signed (and, in safe mode, encrypted) XML POST and answer
with a passive reply within 5 s (docs/channels-wechat-family.md §3.3, §4.1). This module turns
a request into an ``Inbound`` message or a ``CallbackError``, and a reply text into the response
body; the HTTP server and the command core live in ``bot.wechat.server``.

Both channels are pull-only here: a digest is the reply to ``摘要``/``/digest``, so digests for
these platforms are rendered as plain text in parts that each fit one passive reply.

Order of checks on a POST: signature, then timestamp window, then decryption and parsing, so
someone without the token learns nothing beyond "bad signature" (no padding oracle) and a
captured request replayed after the window is refused even though it is correctly signed.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.console import as_plain_text
from bot.i18n import t
from bot.parts import Block, digest_sections, plan
from bot.telegram.render import HtmlBlocks
from bot.wechat.crypto import (
    CallbackError,
    MsgCrypt,
    Reason,
    check_plain_signature,
    check_timestamp,
    parse_xml_fields,
    verify_plain_url,
)
from bot.wechat.limits import REPLY_MAX_BYTES
from newsbrief.records import Digest, Message

log = logging.getLogger(__name__)

WECOM_APP = "wecom_app"
"""Subscribers who write to the WeCom app; not ``wecom``, which is the group robots' platform
(``jobs.robots`` pauses every ``wecom`` subscriber that is not a configured robot)."""
WECHAT = "wechat"
PULL_PLATFORMS = (WECOM_APP, WECHAT)
WECOM_PATH = "/wecom/callback"
WECHAT_PATH = "/wechat/callback"

FOOTER_RESERVE = 120
"""Bytes kept free in a reply for the "N more: send 摘要 again" line."""
PART_MAX_BYTES = REPLY_MAX_BYTES - FOOTER_RESERVE
MAX_REQUEST_BYTES = 64 * 1024
"""Callback envelopes are a few KB; anything bigger is refused before it is read in full."""
SUCCESS = "success"
"""What WeChat accepts as "no reply": it neither retries nor shows an error to the user."""
_USER_ID = re.compile(r"[A-Za-z0-9_\-.@]{1,64}")
"""OpenIDs (28 chars of base64url) and WeCom userids (letters, digits, ``_-.@``, ≤ 64)."""
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CJK = re.compile(r"[\u3400-\u9fff]")


# -- digests as plain-text replies ---------------------------------------------------------------


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", "ignore").rstrip() + "…"


class _PlainBlocks:
    """Telegram's digest blocks as plain text, measured in UTF-8 bytes."""

    def __init__(self, html: HtmlBlocks) -> None:
        self.html = html
        self._cache: dict[Block, str] = {}

    def text(self, block: Block) -> str:
        found = self._cache.get(block)
        if found is None:
            found = self._cache[block] = as_plain_text(self.html.message([block]).text)
        return found

    def size(self, block: Block) -> int:
        return len(self.text(block).encode("utf-8")) + 2  # + "\n\n"


def render_pull(
    digest: Digest, limit: int = PART_MAX_BYTES, *, mark: bool = False
) -> list[Message]:
    """A digest as plain-text parts of at most ``limit`` UTF-8 bytes, cut between items
    (``mark``: LLM-written summaries say so, ``llm.mark``)."""
    stories = {item.story_id: item for section in digest.sections for item in section.items}
    names = {s.topic_id: s.topic_name for s in digest.sections}
    blocks = _PlainBlocks(
        HtmlBlocks(digest.lang, lambda topic, _lang: names.get(topic, topic), stories, mark=mark)
    )
    parts = plan(digest.item_count, digest_sections(digest), digest.more, blocks.size, limit)
    # One item longer than a whole reply (a very long summary) is clipped, not dropped.
    return [
        Message(_clip_bytes("\n\n".join(blocks.text(b) for b in part), limit), parse_mode=None)
        for part in parts
    ]


def plain_reply(text: str, parse_mode: str | None) -> str:
    """A command reply (Telegram HTML) as text for a passive reply, within its byte limit."""
    plain = as_plain_text(text) if parse_mode == "HTML" else text
    return _clip_bytes(plain.strip(), REPLY_MAX_BYTES)


def fit_parts(parts: list[str], lang: str, limit: int = REPLY_MAX_BYTES) -> tuple[str, int]:
    """As many whole parts as fit one reply (at least one), and how many were used.

    The rest stay queued: the footer tells the user to ask again for them.
    """
    used, size = 0, 0
    for part in parts:
        cost = len(part.encode("utf-8")) + (2 if used else 0)
        if used and size + cost > limit - FOOTER_RESERVE:
            break
        used, size = used + 1, size + cost
    text = "\n\n".join(parts[:used])
    if used < len(parts):
        footer = t("wechat_more_parts", lang, count=len(parts) - used)
        text = _clip_bytes(text, limit - len(footer.encode("utf-8")) - 1) + "\n" + footer
    return _clip_bytes(text, limit), used


def language_hint(text: str) -> str | None:
    """Neither platform says which language a user reads; Chinese text is a good hint."""
    return "zh-Hans" if _CJK.search(text) else None


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decrypted, parsed user message or event."""

    platform: str
    account: str
    """Our side: the CorpID (WeCom) or the account's original id ``gh_…`` (Official Account)."""
    user: str
    """The sender: WeCom userid or OpenID, the subscriber's chat id."""
    create_time: str
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""

    @property
    def dedup_key(self) -> str:
        """MsgId for messages; events have none, so sender and time (as the docs advise)."""
        if self.msg_id:
            return f"{self.platform}:{self.account}:{self.msg_id}"
        return f"{self.platform}:{self.account}:{self.user}:{self.create_time}:{self.event}"


def refuse(reason: Reason, detail: str, *, operation: str = "request") -> CallbackError:
    """A refusal found here (not in ``wechat_crypto``), logged once like that module's."""
    log.warning(
        "wechat callback refused: op=%s reason=%s detail=%s", operation, reason.value, detail
    )
    return CallbackError(reason, detail)


def _param(query: Mapping[str, list[str]], name: str, *, required: bool = True) -> str:
    values = query.get(name, [])
    if len(values) > 1:  # two values could let the signer and the reader see different ones
        raise refuse(Reason.MALFORMED, f"query parameter {name} appears {len(values)} times")
    if not values or not values[0]:
        if required:
            raise refuse(Reason.MALFORMED, f"query parameter {name} is missing")
        return ""
    if len(values[0]) > 4096:
        raise refuse(Reason.TOO_LARGE, f"query parameter {name} is too long")
    return values[0]


def _inbound(platform: str, message: str) -> Inbound:
    fields = parse_xml_fields(message)
    user = fields.get("FromUserName", "")
    if _USER_ID.fullmatch(user) is None:
        raise refuse(Reason.MALFORMED, "FromUserName is missing or not an id", operation="message")
    account = fields.get("ToUserName", "")
    if _USER_ID.fullmatch(account) is None:
        raise refuse(Reason.MALFORMED, "ToUserName is missing or not an id", operation="message")
    msg_id = fields.get("MsgId", "")
    if msg_id and not msg_id.isdigit():
        raise refuse(Reason.MALFORMED, "MsgId is not a number", operation="message")
    return Inbound(
        platform=platform,
        account=account,
        user=user,
        create_time=fields.get("CreateTime", "")[:20],
        msg_type=fields.get("MsgType", "")[:32],
        content=fields.get("Content", ""),
        msg_id=msg_id[:32],
        event=fields.get("Event", "")[:64],
    )


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two sections.
    return "<![CDATA[" + _XML_UNSAFE.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(inbound: Inbound, text: str, now: int) -> str:
    """The passive text reply, from our account back to the user."""
    return (
        f"<xml><ToUserName>{_cdata(inbound.user)}</ToUserName>"
        f"<FromUserName>{_cdata(inbound.account)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


class Endpoint:
    """One callback URL: how to verify it, open its messages and seal its replies."""

    def __init__(
        self,
        platform: str,
        path: str,
        token: str,
        crypt: MsgCrypt | None,
        *,
        window_s: int = 300,
    ) -> None:
        self.platform = platform
        self.path = path
        self._token = token
        self.crypt = crypt
        """None: Official Account plaintext mode (signature only, no encryption)."""
        self.window_s = window_s

    def __repr__(self) -> str:  # never the token
        mode = "encrypted" if self.crypt is not None else "plaintext"
        return f"Endpoint({self.platform!r}, {self.path!r}, {mode})"

    def verify(self, query: Mapping[str, list[str]], now: float) -> str:
        """A GET from the platform checking the URL: the text to answer with."""
        timestamp, nonce = _param(query, "timestamp"), _param(query, "nonce")
        echostr = _param(query, "echostr")
        if self.platform == WECOM_APP:
            assert self.crypt is not None
            answer = self.crypt.verify_url(
                _param(query, "msg_signature"), timestamp, nonce, echostr
            )
        else:
            answer = verify_plain_url(
                self._token, _param(query, "signature"), timestamp, nonce, echostr
            )
        check_timestamp(timestamp, now=now, window_s=self.window_s)
        return answer

    def open(self, query: Mapping[str, list[str]], body: bytes, now: float) -> Inbound:
        """A POSTed message, checked and decrypted."""
        timestamp, nonce = _param(query, "timestamp"), _param(query, "nonce")
        if self.crypt is None:
            check_plain_signature(self._token, timestamp, nonce, _param(query, "signature"))
            check_timestamp(timestamp, now=now, window_s=self.window_s)
            return _inbound(self.platform, _decoded(body))
        if self.platform == WECHAT and _param(query, "encrypt_type", required=False) != "aes":
            # Safe mode is configured: a plaintext message was not sent by this account's setup.
            raise refuse(Reason.MALFORMED, "encrypt_type is not aes (safe mode is configured)")
        signature = _param(query, "msg_signature")
        fields = parse_xml_fields(body, max_bytes=MAX_REQUEST_BYTES)
        encrypt = fields.get("Encrypt")
        if encrypt is None:
            raise refuse(Reason.MALFORMED, "envelope has no <Encrypt>")
        expected = self.crypt.signature(timestamp, nonce, encrypt).encode("ascii")
        if not hmac.compare_digest(expected, signature.lower().encode("utf-8")):
            # Before the timestamp: a forged request reads as forged, a stale signed one as
            # stale. decrypt() checks the signature again before it opens anything.
            raise refuse(Reason.BAD_SIGNATURE, "msg_signature does not match")
        check_timestamp(timestamp, now=now, window_s=self.window_s)
        message = self.crypt.decrypt(signature, timestamp, nonce, encrypt)
        return _inbound(self.platform, message)

    def seal(self, inbound: Inbound, text: str | None, now: int) -> str:
        """The response body: the reply (encrypted in safe mode), or ``success`` for none."""
        if not text:
            return SUCCESS
        reply = text_reply_xml(inbound, text, now)
        if self.crypt is None:
            return reply
        return self.crypt.encrypt_reply(reply, timestamp=str(now)).to_xml()


def _decoded(body: bytes) -> str:
    if len(body) > MAX_REQUEST_BYTES:
        raise refuse(Reason.TOO_LARGE, f"body is over {MAX_REQUEST_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse(Reason.MALFORMED, "body is not UTF-8") from None
