"""A Telegram Bot API server on loopback, for tests.

python-telegram-bot talks to it over real HTTP (``base_url=server.base_url``), so request
encoding, error-to-exception mapping and update parsing run exactly as against Telegram.
Only the stdlib is used: ``ThreadingHTTPServer`` in a background thread, JSON responses.

Usage::

    with BotApiServer() as server:
        app = ApplicationBuilder().token(server.token).base_url(server.base_url).build()
        server.send_user_message(42, "/start")
        ...
        msgs = await server.wait_for_messages(42, 1)

In webhook mode (after the bot's ``setWebhook``) a thread posts each queued update to the
bot's URL as Telegram does, one at a time and in order, with the secret token header, until
the bot answers 2xx (retrying otherwise); ``getUpdates`` then answers 409 as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import re
import socket
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl, urlsplit
from urllib.request import Request, urlopen

JsonDict = dict[str, Any]

MAX_TEXT_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
DEFAULT_USER_ID = 1001  # sender of injected group messages when no user_id is given
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})

# ---------------------------------------------------------------------------------------------
# HTML parse_mode: a port of tdlib's parse_html (td/telegram/MessageEntity.cpp), so error texts
# and byte offsets match what Telegram answers.
# ---------------------------------------------------------------------------------------------

_SPACES = frozenset(" \t\r\n\v\f")
_NAME_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_TAGS = frozenset({*_SIMPLE_TAGS, "a", "tg-emoji", "pre", "code", "blockquote"})
_ENTITY_TYPES = frozenset(
    [
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    ]
)
_TG_USER_LINK = re.compile(r"tg://user\?id=(\d{1,18})", re.IGNORECASE)
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


class EntityParseError(ValueError):
    """Text Telegram would refuse to parse; ``str(exc)`` uses tdlib's wording."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    # tdlib reports positions as UTF-8 byte offsets into the original text.
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _at(text: str, index: int) -> str:
    # "" plays the role of tdlib's NUL terminator.
    return text[index] if index < len(text) else ""


def _is_space(char: str) -> bool:
    return char == "" or char in _SPACES  # tdlib's is_space() is true for NUL


def _decode_entity(text: str, pos: int, *, strict: bool) -> tuple[str, int] | None:
    """tdlib's decode_html_entity: (character, index after it) or None if not an entity.

    ``strict`` also requires the closing ";": tdlib accepts "&lt" and would silently turn
    "?a=1&lt=2" into "?a=1<=2", which is exactly the unescaped-text bug tests should catch.
    """
    end = pos + 1
    if _at(text, end) == "#":
        end += 1
        if _at(text, end) == "x":
            end += 1
            start = end
            while _at(text, end) in _HEX:
                end += 1
            value = int(text[start:end], 16) if end > start else 0
        else:
            start = end
            while _at(text, end) in _DIGITS:
                end += 1
            value = int(text[start:end]) if end > start else 0
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(value)
    else:
        start = end
        while end < len(text) and text[end] in _ALPHA:
            end += 1
        named = _NAMED_ENTITIES.get(text[start:end])
        if named is None:
            return None
        char = named
    if _at(text, end) == ";":
        end += 1
    elif strict:
        return None
    return char, end


def check_link(url: str) -> str | None:
    """Approximation of tdlib's LinkManager::check_link: normalized URL, or None if invalid."""
    if not url or any(c.isspace() for c in url):  # tdlib: "<a>site.org </a>" is no link
        return None
    lowered = url.lower()
    if lowered.startswith(("tg:", "ton:", "tonsite:")):
        return url
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https"):
        return None
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:cut]
    host = authority.rpartition("@")[2].rsplit(":", 1)[0]
    if "." not in host.strip(".") and host != "localhost":
        return None  # tdlib needs a TLD: "[x](as)" gives no link
    path = rest[cut:]
    if not path.startswith("/"):
        path = "/" + path  # tdlib normalizes "telegram.org" to "http://telegram.org/"
    return f"{scheme.lower()}://{authority}{path}"


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the output where the tag opened
    out_index: int  # index into the output pieces, to recover an <a>'s inner text


def _scan_start_tag(text: str, begin: int, *, strict: bool) -> tuple[int, str, str]:
    """Parse the start tag at ``text[begin] == "<"``; return (index after ">", tag, argument)."""
    byte_pos = _byte_offset(text, begin)
    i = begin + 1
    while not _is_space(_at(text, i)) and _at(text, i) != ">":
        i += 1
    if i >= len(text):
        raise EntityParseError(f"Unclosed start tag at byte offset {byte_pos}")
    tag = text[begin + 1 : i].lower()
    if tag not in _TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {byte_pos}')

    argument = ""
    while _at(text, i) != ">":
        while i < len(text) and text[i] in _SPACES:
            i += 1
        if _at(text, i) == ">":
            break
        attr_begin = i
        while not _is_space(_at(text, i)) and _at(text, i) not in ("=", ">"):
            i += 1
        attr_name = text[attr_begin:i]
        if not attr_name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_pos}'
            )
        while i < len(text) and text[i] in _SPACES:
            i += 1
        if _at(text, i) != "=":
            if tag == "blockquote" and attr_name == "expandable":
                argument = "expandable"  # the only valueless attribute Telegram knows
                continue
            raise EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {byte_pos}'
            )
        i += 1
        while i < len(text) and text[i] in _SPACES:
            i += 1
        if i >= len(text):
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {byte_pos}')

        if text[i] not in ("'", '"'):
            token_begin = i
            while _at(text, i) in _NAME_TOKEN:
                i += 1
            value = text[token_begin:i].lower()
            if not _is_space(_at(text, i)) and _at(text, i) != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        else:
            quote = text[i]
            i += 1
            pieces: list[str] = []
            while i < len(text) and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_entity(text, i, strict=strict)
                    if decoded is not None:
                        pieces.append(decoded[0])
                        i = decoded[1]
                        continue
                    if strict:
                        raise _ampersand_error(text, i)
                pieces.append(text[i])
                i += 1
            if i < len(text):
                i += 1
            value = "".join(pieces)
        if i >= len(text):
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_pos}")

        if tag == "a" and attr_name == "href":
            argument = value
        elif tag == "code" and attr_name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and attr_name == "emoji-id":
            argument = value

    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_pos}')
    return i + 1, tag, argument


def _ampersand_error(text: str, index: int) -> EntityParseError:
    # Telegram itself passes a stray "&" through, but its docs require escaping it; being
    # stricter here flags the missing html.escape() before it mangles a real "&lt;" sequence.
    snippet = re.match(r"&[#\w]{0,8};?", text[index:])
    assert snippet is not None  # text[index] == "&"
    return EntityParseError(
        f'Unsupported HTML entity "{snippet.group()}" at byte offset {_byte_offset(text, index)}: '
        'escape "&" as "&amp;" (strict test server)'
    )


def _close_entity(tag: _OpenTag, length: int, inner_text: str, entities: list[JsonDict]) -> None:
    span: JsonDict = {"offset": tag.offset, "length": length}
    last = entities[-1] if entities else None
    same_span = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
    if tag.name in _SIMPLE_TAGS:
        entities.append({"type": _SIMPLE_TAGS[tag.name], **span})
    elif tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument else "blockquote"
        entities.append({"type": kind, **span})
    elif tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.argument})
    elif tag.name == "a":
        url = tag.argument or inner_text
        mention = _TG_USER_LINK.fullmatch(url)
        if mention:
            user_id = int(mention.group(1))
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            entities.append({"type": "text_mention", **span, "user": user})
        elif (checked := check_link(url)) is not None:
            entities.append({"type": "text_link", **span, "url": checked})
        # Like tdlib: an invalid href silently yields plain text.
    elif tag.name == "pre":
        if last is not None and same_span and last["type"] == "code" and last.get("_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_language")
        else:
            entities.append({"type": "pre", **span})
    elif tag.name == "code":
        if last is not None and same_span and last["type"] == "pre" and tag.argument:
            last["language"] = tag.argument
        else:
            # Remember the language in case an enclosing <pre> closes on the same span.
            entities.append({"type": "code", **span, "_language": tag.argument})


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JsonDict]]:
    """Telegram's HTML parse_mode: (plain text, Bot API entities) or EntityParseError."""
    out: list[str] = []
    entities: list[JsonDict] = []
    stack: list[_OpenTag] = []
    offset = 0  # UTF-16 units emitted so far
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i, strict=strict_ampersand)
            if decoded is not None:
                value, i = decoded
                if 0xD800 <= ord(value) <= 0xDFFF:
                    raise EntityParseError(_SURROGATE_ERROR)
                out.append(value)
                offset += utf16_len(value)
                continue
            if strict_ampersand:
                raise _ampersand_error(text, i)
        if char != "<":
            out.append(char)
            offset += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        if _at(text, i + 1) != "/":
            i, tag, argument = _scan_start_tag(text, begin, strict=strict_ampersand)
            stack.append(_OpenTag(tag, argument, offset, len(out)))
            continue

        byte_pos = _byte_offset(text, begin)
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {byte_pos}")
        i = begin + 2
        while not _is_space(_at(text, i)) and _at(text, i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < len(text) and text[i] in _SPACES:
            i += 1
        if _at(text, i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {byte_pos}")
        i += 1
        top = stack.pop()
        if end_name and end_name != top.name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {byte_pos}, expected "</{top.name}>", '
                f'found "</{end_name}>"'
            )
        if offset > top.offset:
            _close_entity(top, offset - top.offset, "".join(out[top.out_index :]), entities)

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), _sorted_entities(entities)


def _sorted_entities(entities: list[JsonDict]) -> list[JsonDict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram strips trailing whitespace and leading blank lines; entities shift with it."""
    end = len(text.rstrip("".join(_SPACES)))
    leading = len(text) - len(text.lstrip("".join(_SPACES)))
    start = text.rfind("\n", 0, leading) + 1  # keep the first line's indentation
    if end <= start:
        return "", []
    trimmed = text[start:end]
    shift, limit = utf16_len(text[:start]), utf16_len(trimmed)
    result: list[JsonDict] = []
    for entity in entities:
        begin = max(0, entity["offset"] - shift)
        stop = min(limit, entity["offset"] + entity["length"] - shift)
        if stop > begin:
            result.append({**entity, "offset": begin, "length": stop - begin})
    return trimmed, result


# ---------------------------------------------------------------------------------------------
# Request decoding and validation
# ---------------------------------------------------------------------------------------------

# Form-encoded bodies carry every value as a string; these get their Bot API types back.
_JSON_FIELDS = frozenset(
    [
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "commands",
        "scope",
        "reply_parameters",
        "allowed_updates",
    ]
)
_NUMBER_FIELDS = frozenset(
    [
        "offset",
        "limit",
        "timeout",
        "message_id",
        "user_id",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "from_chat_id",
        "max_connections",
    ]
)
_BOOL_FIELDS = frozenset(
    [
        "show_alert",
        "disable_web_page_preview",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
    ]
)
_BUTTON_ACTIONS = frozenset(
    [
        "callback_data",
        "url",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "web_app",
        "callback_game",
        "pay",
    ]
)
_MEMBER_STATUSES = frozenset(["creator", "administrator", "member", "restricted", "left", "kicked"])
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """A Telegram error answer: HTTP status == error_code, as Telegram does."""

    def __init__(self, code: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes


def _parse_multipart(content_type: str, body: bytes) -> JsonDict:
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message: Any = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    params: JsonDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        content: bytes = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        params[name] = UploadedFile(filename, content) if filename else content.decode("utf-8")
    return params


def _decode_body(content_type: str, body: bytes, query: str) -> JsonDict:
    params: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise _bad_request("JSON object expected")
        params.update(data)
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:  # application/x-www-form-urlencoded, or no content type at all
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params


def _coerce(params: JsonDict) -> JsonDict:
    out: JsonDict = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise _bad_request(f"can't parse {key} JSON object") from None
            elif key in _NUMBER_FIELDS:
                try:
                    value = int(value) if value.strip().lstrip("-").isdigit() else float(value)
                except ValueError:
                    raise _bad_request(f"invalid {key} specified") from None
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
        out[key] = value
    return out


def _check_entities(text: str, raw: object) -> list[JsonDict]:
    if not isinstance(raw, list):
        raise _bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result: list[JsonDict] = []
    for entity in raw:
        if not isinstance(entity, dict):
            raise _bad_request("can't parse MessageEntity: object expected")
        kind, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
        if kind not in _ENTITY_TYPES:
            raise _bad_request(f"can't parse MessageEntity: unsupported type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise _bad_request("can't parse MessageEntity: offset and length must be integers")
        if offset < 0 or length <= 0 or offset + length > total:
            raise _bad_request(
                f"can't parse entities: entity {kind} at offset {offset} with length {length} "
                f"is outside the text of {total} UTF-16 code units"
            )
        required = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}
        if kind in required and not entity.get(required[kind]):
            raise _bad_request(f'can\'t parse MessageEntity: field "{required[kind]}" missing')
        result.append(dict(entity))
    return _sorted_entities(result)


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad_request('can\'t parse inline keyboard button: Field "text" must be a String')
    actions = [key for key in button if key in _BUTTON_ACTIONS]
    if not actions:
        raise _bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise _bad_request("BUTTON_DATA_INVALID")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or check_link(url) is None):
        raise _bad_request("BUTTON_URL_INVALID")


def _check_reply_markup(markup: object) -> JsonDict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
            return markup  # reply keyboards are accepted but not validated
        raise _bad_request("can't parse reply keyboard markup JSON object")
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request(
            'Field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            _check_button(button)
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise _bad_request("reply markup is too long")
    return markup


def _chat_member(status: str, user: JsonDict) -> JsonDict:
    """A ChatMember of the given status with every field PTB requires."""
    member: JsonDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_post_messages=True,
            can_edit_messages=True,
            can_pin_messages=True,
            can_manage_topics=False,
        )
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0, "can_edit_tag": False})
        for right in (
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_send_messages",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_manage_topics",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_react_to_messages",
        ):
            member[right] = False
    elif status == "kicked":
        member["until_date"] = 0
    return member


# ---------------------------------------------------------------------------------------------
# Server state
# ---------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """A message the bot sent: what Telegram stored (``text``, ``entities``) and what the bot
    asked for (``raw_text``, ``parse_mode``)."""

    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    message_thread_id: int | None
    link_preview_options: JsonDict | None
    link_preview_disabled: bool
    reply_to_message_id: int | None
    date: int
    edited: bool = False
    edit_count: int = 0
    deleted: bool = False
    received: float = field(default_factory=time.monotonic)
    """When the server accepted it (``time.monotonic()``): to check pacing."""

    @property
    def buttons(self) -> list[JsonDict]:
        """Inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass
class _Bucket:
    """Token bucket: ``capacity`` is the allowed burst, ``rate`` the sustained tokens/second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class _Window:
    """At most ``limit`` messages in any ``span`` seconds: a group's "20 messages per minute",
    which a token bucket would let through twice over (a full bucket, then its refill)."""

    limit: int
    span: float
    stamps: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.span:
            self.stamps.popleft()
        return 0.0 if len(self.stamps) < self.limit else self.stamps[0] + self.span - now

    def take(self, now: float) -> None:
        self.stamps.append(now)


_FAILURE_TEXT = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotApiServer:
    """Loopback Telegram Bot API for tests. All public methods are thread-safe."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "newsbrief_test_bot",
        *,
        bot_first_name: str = "Newsbrief Test",
        max_poll_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        number = token.split(":", 1)[0]
        self.bot_id = int(number) if number.isdigit() else 123456
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.max_poll_timeout = max_poll_timeout
        self.strict_html = True  # also reject a bare "&" (Telegram's docs forbid it)
        self.enforce_limits = False
        self.limit_private_per_s = 1.0
        self.limit_private_burst = 3
        self.limit_group_per_min = 20
        self.limit_global_per_s = 30
        self.stats: dict[str, int] = {"requests": 0, "429": 0}
        self.errors: list[str] = []  # tracebacks of crashes inside this fake, to surface its bugs

        self._cond = threading.Condition()  # one lock (an RLock) guards all state below
        self._stopping = False
        self._requests: list[tuple[str, JsonDict]] = []
        self._callback_answers: list[JsonDict] = []
        self._updates: list[JsonDict] = []
        self._next_update_id = 10001
        self._next_query_id = 1
        self._open_queries: set[str] = set()
        self._chats: dict[int, JsonDict] = {}
        self._usernames: dict[str, int] = {}
        self._users: dict[int, JsonDict] = {}
        self._message_ids: dict[int, int] = {}
        self._payloads: dict[tuple[int, int], JsonDict] = {}  # every message, Telegram-shaped
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._sent_order: list[SentMessage] = []
        self.on_sent: tuple[int, Callable[[], None]] | None = None
        """(n, action): run ``action`` once, on the server's thread, as the n-th message (or the
        first after it) is stored and before it is answered: a test acts at that moment however
        busy the machine is."""
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._blocked: set[int] = set()
        self._forgotten: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._failures: dict[int, list[ApiError]] = {}
        self._buckets: dict[object, _Bucket] = {}
        self._windows: dict[int, _Window] = {}
        self.strict_webhook = False
        """Refuse webhook URLs as Telegram does (HTTPS on 443, 80, 88 or 8443); tests on
        loopback use plain HTTP on any port, as a self-hosted Bot API server allows."""
        self.webhook_retry_s = 0.2
        """Seconds before an update the bot did not accept is posted again."""
        self.webhook_answers: list[tuple[int, int | str]] = []
        """Each post of an update to the webhook: (update_id, HTTP status or error text)."""
        self._webhook: JsonDict | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._pusher: threading.Thread | None = None

        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
        }
        # Telegram method names are case-insensitive.
        self._methods = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("BotApiServer already started")
        with self._cond:
            self._stopping = False
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits one poll interval
            name="botapi-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        with self._cond:
            self._stopping = True  # long polls return at once
            self._cond.notify_all()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._pusher is not None:
            self._pusher.join(timeout=15)
            self._pusher = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("BotApiServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()``; PTB appends the token and ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- test-side configuration ----------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        is_forum: bool = False,
    ) -> JsonDict:
        """Register (or update) a chat so getChat and "@username" resolve to it."""
        chat: JsonDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or f"User{chat_id}"
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username.lstrip("@")
        if is_forum and chat_type == "supergroup":
            chat["is_forum"] = True
        with self._cond:
            self._chats[chat_id] = chat
            if username:
                self._usernames[username.lstrip("@").lower()] = chat_id
            self._forgotten.discard(chat_id)
            return dict(chat)

    def set_member_status(self, chat_id: int | str, user_id: int, status: str) -> None:
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        with self._cond:
            self._member_status[(self._resolve(chat_id), user_id)] = status

    def block_chat(self, chat_id: int | str) -> None:
        """Sends and edits to the chat answer 403, as after the user blocked the bot."""
        with self._cond:
            self._blocked.add(self._resolve(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        with self._cond:
            self._blocked.discard(self._resolve(chat_id))

    def forget_chat(self, chat_id: int | str) -> None:
        """The chat no longer exists for the bot: 400 "chat not found"."""
        with self._cond:
            self._forgotten.add(self._resolve(chat_id))

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group upgraded to a supergroup: sends to ``old_id`` answer migrate_to_chat_id."""
        with self._cond:
            old = self._chats.get(old_id, {})
            self._migrated[old_id] = new_id
            self._chats[new_id] = {
                "id": new_id,
                "type": "supergroup",
                "title": old.get("title", f"Chat {new_id}"),
            }

    def fail_next(
        self,
        chat_id: int | str,
        n: int = 1,
        status: int = 429,
        retry_after: int = 5,
        description: str | None = None,
    ) -> None:
        """The next ``n`` sendMessage/edit calls to the chat fail with ``status``."""
        if status == 429:
            error = _too_many_requests(retry_after)
        else:
            text = description or _FAILURE_TEXT.get(status, f"Error {status}")
            error = ApiError(status, text)
        with self._cond:
            self._failures.setdefault(self._resolve(chat_id), []).extend([error] * n)

    # -- injecting updates ----------------------------------------------------------------------

    def send_user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str = "en",
        first_name: str = "Alice",
        username: str | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        chat_title: str | None = None,
    ) -> int:
        """Queue a user's text message (``/commands`` get a bot_command entity); the update_id."""
        if chat_type == "private":
            user_id = chat_id if user_id is None else user_id
        elif user_id is None:
            user_id = DEFAULT_USER_ID
        user: JsonDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            user["username"] = username
        with self._cond:
            self._users[user_id] = user
            known = self._chats.get(chat_id, {})
            chat: JsonDict = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = first_name
                if username:
                    chat["username"] = username
            else:
                chat["title"] = chat_title or known.get("title") or f"Chat {chat_id}"
                if known.get("username"):
                    chat["username"] = known["username"]
            forum = is_topic_message or known.get("is_forum", False)
            if chat_type == "supergroup" and forum:
                chat["is_forum"] = True
            self._chats[chat_id] = chat
            message = self._new_message(chat, text)
            message["from"] = user
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
                if is_topic_message:
                    message["is_topic_message"] = True
            return self._queue({"message": message})

    def send_channel_post(
        self, chat_id: int, text: str, *, title: str = "Test Channel", username: str | None = None
    ) -> int:
        """Queue a channel_post update; returns its update_id."""
        chat = self.add_chat(chat_id, "channel", title=title, username=username)
        with self._cond:
            message = self._new_message(chat, text)
            message["sender_chat"] = chat
            return self._queue({"channel_post": message})

    def press_button(
        self,
        chat_id: int | str,
        message_id: int,
        data: str,
        user_id: int | None = None,
        language_code: str = "en",
        *,
        check_keyboard: bool = True,
    ) -> int:
        """Queue a callback_query for a button of a recorded bot message; returns update_id.

        ``check_keyboard`` insists that the message currently shows a button with ``data``,
        which is what a real client can press.
        """
        with self._cond:
            cid = self._resolve(chat_id)
            record = self._sent.get((cid, message_id))
            if record is None or record.deleted:
                raise KeyError(f"no bot message {message_id} in chat {cid}")
            if check_keyboard and data not in record.callback_data:
                raise ValueError(
                    f"message {message_id} has no button with callback_data {data!r}; "
                    f"buttons: {record.callback_data}"
                )
            if user_id is None:
                user_id = cid if cid > 0 else DEFAULT_USER_ID
            user = dict(self._users.get(user_id) or {"id": user_id, "is_bot": False})
            user.setdefault("first_name", "Alice")
            user["language_code"] = language_code
            self._users[user_id] = user
            query_id = f"{self.bot_id}{self._next_query_id:06d}"
            self._next_query_id += 1
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(self._payloads[(cid, message_id)]),
                "chat_instance": str(zlib.crc32(f"{self.bot_id}:{cid}".encode())),
                "data": data,
            }
            return self._queue({"callback_query": query})

    # -- inspecting -----------------------------------------------------------------------------

    def messages(self, chat_id: int | str, *, include_deleted: bool = False) -> list[SentMessage]:
        """Bot messages in the chat, oldest first (copies: later edits don't change them)."""
        with self._cond:
            cid = self._resolve(chat_id)
            return [
                copy.deepcopy(m)
                for m in self._sent_order
                if m.chat_id == cid and (include_deleted or not m.deleted)
            ]

    def all_messages(self, *, include_deleted: bool = False) -> list[SentMessage]:
        with self._cond:
            return [copy.deepcopy(m) for m in self._sent_order if include_deleted or not m.deleted]

    @property
    def requests(self) -> list[tuple[str, JsonDict]]:
        """Every authorized request as (method, params), in arrival order."""
        with self._cond:
            return list(self._requests)

    def calls(self, method: str) -> list[JsonDict]:
        """Params of the requests to one method (case-insensitive)."""
        with self._cond:
            return [params for name, params in self._requests if name.lower() == method.lower()]

    @property
    def callback_answers(self) -> list[JsonDict]:
        with self._cond:
            return list(self._callback_answers)

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset (Telegram's pending_update_count)."""
        with self._cond:
            return len(self._updates)

    async def wait_for_messages(
        self,
        chat_id: int | str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - same signature as the sync variant
    ) -> list[SentMessage]:
        """Wait until the chat holds at least ``count`` bot messages; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(chat_id)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(self._shortfall(chat_id, count, found))
            await asyncio.sleep(0.01)

    def wait_for_messages_sync(
        self, chat_id: int | str, count: int = 1, timeout: float = 10.0
    ) -> list[SentMessage]:
        with self._cond:
            cid = self._resolve(chat_id)

            def enough() -> bool:
                found = [m for m in self._sent_order if m.chat_id == cid and not m.deleted]
                return len(found) >= count

            if not self._cond.wait_for(enough, timeout):
                raise TimeoutError(self._shortfall(chat_id, count, self.messages(chat_id)))
            return self.messages(chat_id)

    async def wait_until_consumed(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has confirmed every queued update."""
        deadline = time.monotonic() + timeout
        while True:
            pending = self.pending_updates()
            if pending == 0:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{pending} update(s) still pending after {timeout}s")
            await asyncio.sleep(0.01)

    @property
    def webhook(self) -> JsonDict | None:
        """The webhook set by the bot (url, secret_token, allowed_updates…), or None."""
        with self._cond:
            return dict(self._webhook) if self._webhook is not None else None

    def wait_for_webhook_answer(
        self, update_id: int, status: int = 200, timeout: float = 10.0
    ) -> None:
        """Wait until the bot answered the post of ``update_id`` with ``status``."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: (update_id, status) in self.webhook_answers, timeout
            ):
                raise TimeoutError(
                    f"update {update_id} not answered {status}: {self.webhook_answers}"
                )

    def post_to_webhook(
        self, body: bytes | JsonDict, *, secret: str | None, url: str | None = None
    ) -> tuple[int, str]:
        """POST ``body`` to the webhook (or ``url``) with ``secret`` as the secret token header
        (None: no header), as Telegram or an impostor would; the status and text answered."""
        with self._cond:
            target = url or (self._webhook or {}).get("url")
        if not target:
            raise RuntimeError("no webhook set")
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return _post(str(target), data, secret)

    def _shortfall(self, chat_id: int | str, count: int, found: list[SentMessage]) -> str:
        texts = [m.text[:60] for m in found]
        return f"chat {chat_id}: expected {count} bot message(s), got {len(found)}: {texts}"

    # -- HTTP entry point -----------------------------------------------------------------------

    def _handle_http(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, JsonDict]:
        prefix = "/bot"
        token, _, method = path[len(prefix) :].partition("/")
        if not path.startswith(prefix) or not method:
            return 404, ApiError(404, "Not Found").body()
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").body()
        entry = self._methods.get(method.lower())
        name = entry[0] if entry else method
        try:
            raw = _decode_body(content_type, body, query)
        except ApiError as exc:
            self._log_request(name, {})
            return exc.code, exc.body()
        try:
            params = _coerce(raw)
        except ApiError as exc:
            self._log_request(name, raw)
            return exc.code, exc.body()
        self._log_request(name, params)
        if entry is None:
            return 404, ApiError(404, "Not Found").body()
        try:
            result = entry[1](params)
        except ApiError as exc:
            if exc.code == 429:
                with self._cond:
                    self.stats["429"] += 1
            return exc.code, exc.body()
        except Exception as exc:  # a bug in this fake: answer 500 and keep the traceback
            with self._cond:
                self.errors.append(traceback.format_exc())
            return 500, ApiError(500, f"Internal Server Error: test server bug: {exc!r}").body()
        return 200, {"ok": True, "result": result}

    def _log_request(self, method: str, params: JsonDict) -> None:
        with self._cond:
            self._requests.append((method, params))
            self.stats["requests"] += 1

    # -- internals (callers hold self._cond where state is touched) ------------------------------

    def _resolve(self, chat_id: int | str) -> int:
        if isinstance(chat_id, int):
            return chat_id
        text = chat_id.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if not text.startswith("@") or len(text) < 2:
            raise _bad_request("chat not found")
        name = text[1:]
        with self._cond:
            known = self._usernames.get(name.lower())
            if known is not None:
                return known
            # An unknown public channel: give it a stable supergroup-style id.
            cid = -(1_000_000_000_000 + zlib.crc32(name.lower().encode()))
            self._chats.setdefault(
                cid, {"id": cid, "type": "channel", "title": name, "username": name}
            )
            self._usernames[name.lower()] = cid
            return cid

    def _chat_id_param(self, params: JsonDict) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad_request("chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise _bad_request("chat not found")
        return self._resolve(raw)

    def _chat(self, chat_id: int) -> JsonDict:
        """The chat object, made up (and remembered) for chats never seen before."""
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            elif chat_id <= -1_000_000_000_000:
                chat = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
            else:
                chat = {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}
            self._chats[chat_id] = chat
        return chat

    def _new_message(self, chat: JsonDict, text: str) -> JsonDict:
        cid = chat["id"]
        message_id = self._message_ids.get(cid, 0) + 1
        self._message_ids[cid] = message_id
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": dict(chat),
            "text": text,
        }
        command = _BOT_COMMAND.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        self._payloads[(cid, message_id)] = message
        return message

    def _queue(self, body: JsonDict) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **body})
        self._cond.notify_all()
        return update_id

    def _commands_key(self, scope: object, language_code: object) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _check_delivery(self, chat_id: int, *, count_limits: bool) -> None:
        """Fault injection and flood control, in the order Telegram would hit them."""
        if chat_id in self._forgotten:
            raise _bad_request("chat not found")
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._blocked:
            kind = self._chat(chat_id)["type"]
            reason = {
                "private": "bot was blocked by the user",
                "channel": "bot is not a member of the channel chat",
            }.get(kind, f"bot was kicked from the {kind} chat")
            raise ApiError(403, f"Forbidden: {reason}")
        failures = self._failures.get(chat_id)
        if failures:
            raise failures.pop(0)
        if count_limits and self.enforce_limits:
            self._take_rate_tokens(chat_id)

    def _take_rate_tokens(self, chat_id: int) -> None:
        """Telegram's flood limits: ~30 messages/s overall and ~1/s per private chat (token
        buckets: short bursts pass), and 20 in any minute per group or channel (a window)."""
        now = time.monotonic()
        limits: list[tuple[object, float, float]] = [
            ("global", self.limit_global_per_s, self.limit_global_per_s)
        ]
        window = None
        if chat_id > 0:
            limits.append((chat_id, self.limit_private_burst, self.limit_private_per_s))
        else:
            window = self._windows.setdefault(chat_id, _Window(self.limit_group_per_min, 60.0))
        buckets = [
            self._buckets.setdefault(key, _Bucket(capacity, rate, capacity, now))
            for key, capacity, rate in limits
        ]
        wait = max(bucket.wait(now) for bucket in buckets)
        if window is not None:
            wait = max(wait, window.wait(now))
        if wait > 0:
            raise _too_many_requests(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1
        if window is not None:
            window.take(now)

    def _format_text(self, params: JsonDict) -> tuple[str, list[JsonDict]]:
        """Telegram's text pipeline: parse, trim, check length."""
        raw = params.get("text")
        if raw is None or raw == "":
            raise _bad_request("message text is empty")
        raw = str(raw)
        mode = str(params.get("parse_mode") or "").strip().lower()
        if mode in ("", "none"):
            entities = params.get("entities")
            parsed = (raw, [] if entities is None else _check_entities(raw, entities))
        elif mode == "html":
            try:
                parsed = parse_html(raw, strict_ampersand=self.strict_html)
            except EntityParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
        else:
            raise _bad_request("unsupported parse_mode in test server")
        text, entities_out = _trim(*parsed)
        if not text:
            raise _bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT_UTF16:
            raise _bad_request("message is too long")
        return text, entities_out

    # -- Bot API methods ------------------------------------------------------------------------

    def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        with self._cond:
            if self._webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_poll_timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            # Asking with an offset confirms everything before it (negative: keep the last -n).
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._cond.notify_all()
            while True:
                if self._updates or self._stopping:
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def _delete_webhook(self, params: JsonDict) -> bool:
        with self._cond:
            self._webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._cond.notify_all()
        return True

    def _set_webhook(self, params: JsonDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if self.strict_webhook and parts.scheme != "https":
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if self.strict_webhook and (parts.port or 443) not in _WEBHOOK_PORTS:
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not _WEBHOOK_SECRET.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise _bad_request("can't parse allowed_updates JSON object")
        with self._cond:
            self._webhook = {
                "url": url,
                "secret_token": secret,
                "allowed_updates": allowed,
                "max_connections": int(params.get("max_connections") or 40),
            }
            if params.get("drop_pending_updates"):
                self._updates.clear()
            if self._pusher is None:
                self._pusher = threading.Thread(
                    target=self._push_updates, name="botapi-webhook", daemon=True
                )
                self._pusher.start()
            self._cond.notify_all()
        return True

    def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        with self._cond:
            hook = self._webhook or {}
            info: JsonDict = {
                "url": hook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if hook:
                info["max_connections"] = hook["max_connections"]
                if hook["allowed_updates"] is not None:
                    info["allowed_updates"] = hook["allowed_updates"]
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
            return info

    def _push_updates(self) -> None:
        """Telegram's side of a webhook: the oldest queued update, posted until accepted."""
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._stopping or (self._webhook is not None and bool(self._updates))
                )
                if self._stopping:
                    return
                assert self._webhook is not None
                hook = dict(self._webhook)
                update = self._updates[0]
                allowed = hook["allowed_updates"]
                kind = next(k for k in update if k != "update_id")
                if allowed and kind not in allowed:
                    self._updates.pop(0)  # Telegram never sends what the bot did not ask for
                    continue
            status: int | str
            try:
                status, _ = _post(hook["url"], json.dumps(update).encode(), hook["secret_token"])
            except OSError as exc:
                status = f"{type(exc).__name__}: {exc}"
            with self._cond:
                self.webhook_answers.append((update["update_id"], status))
                accepted = isinstance(status, int) and 200 <= status < 300
                if accepted:
                    if self._updates and self._updates[0]["update_id"] == update["update_id"]:
                        self._updates.pop(0)
                    self._webhook_error = None
                else:
                    reason = f"Wrong response from the webhook: {status}"
                    self._webhook_error = (int(time.time()), reason)
                self._cond.notify_all()
                if not accepted:
                    self._cond.wait_for(lambda: self._stopping, self.webhook_retry_s)

    def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_NAME.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        return self.commands(params.get("scope"), str(params.get("language_code") or ""))

    def _delete_my_commands(self, params: JsonDict) -> bool:
        with self._cond:
            key = self._commands_key(params.get("scope"), params.get("language_code"))
            self._commands.pop(key, None)
        return True

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat_id = self._chat_id_param(params)
        text, entities = self._format_text(params)
        markup = _check_reply_markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        reply = params.get("reply_parameters")
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to if reply_to is not None else params.get("reply_to_message_id")
        may_skip_reply = bool(
            params.get("allow_sending_without_reply")
            or (isinstance(reply, dict) and reply.get("allow_sending_without_reply"))
        )
        preview = params.get("link_preview_options")
        preview = preview if isinstance(preview, dict) else None
        with self._cond:
            self._check_delivery(chat_id, count_limits=True)
            chat = self._chat(chat_id)
            replied = self._payloads.get((chat_id, reply_to)) if reply_to is not None else None
            if reply_to is not None and replied is None and not may_skip_reply:
                raise _bad_request("message to be replied not found")
            message = self._new_message(chat, text)
            message.pop("entities", None)  # bot_command detection is for incoming messages
            if chat["type"] == "channel":
                message["sender_chat"] = dict(chat)
            else:
                message["from"] = dict(self.bot_user)
            if entities:
                message["entities"] = entities
            if markup is not None and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Message only carries inline keyboards
            if thread_id is not None and chat.get("is_forum"):
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            if replied is not None:
                message["reply_to_message"] = {
                    k: v for k, v in replied.items() if k != "reply_to_message"
                }
            record = SentMessage(
                chat_id=chat_id,
                message_id=message["message_id"],
                text=text,
                raw_text=str(params["text"]),
                parse_mode=params.get("parse_mode"),
                entities=entities,
                reply_markup=markup,
                message_thread_id=thread_id,
                link_preview_options=preview,
                link_preview_disabled=bool(
                    params.get("disable_web_page_preview") or (preview or {}).get("is_disabled")
                ),
                reply_to_message_id=reply_to if replied is not None else None,
                date=message["date"],
            )
            self._sent[(chat_id, record.message_id)] = record
            self._sent_order.append(record)
            if self.on_sent is not None and len(self._sent_order) >= self.on_sent[0]:
                action, self.on_sent = self.on_sent[1], None  # once
                action()
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _edit(
        self, params: JsonDict, content: tuple[str, list[JsonDict]] | None
    ) -> JsonDict | bool:
        """Shared by editMessageText (``content`` given) and editMessageReplyMarkup."""
        markup = _check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True  # inline messages aren't tracked; Telegram answers True for them
        chat_id = self._chat_id_param(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        with self._cond:
            self._check_delivery(chat_id, count_limits=False)
            record = self._sent.get((chat_id, message_id))
            if record is None or record.deleted:
                if (chat_id, message_id) in self._payloads:
                    raise _bad_request("message can't be edited")
                raise _bad_request("message to edit not found")
            text, entities = content if content is not None else (record.text, record.entities)
            inline = markup if markup is not None and "inline_keyboard" in markup else None
            if (text, entities, inline) == (record.text, record.entities, record.reply_markup):
                raise _bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            if content is not None:
                record.text, record.entities = text, entities
                record.raw_text = str(params["text"])
                record.parse_mode = params.get("parse_mode")
            record.reply_markup = inline  # omitting reply_markup removes the keyboard
            record.edited = True
            record.edit_count += 1
            message = self._payloads[(chat_id, message_id)]
            message.update(text=text, edit_date=int(time.time()))
            for key, value in (("entities", entities), ("reply_markup", inline)):
                if value:
                    message[key] = value
                else:
                    message.pop(key, None)
            self._cond.notify_all()
            return copy.deepcopy(message)

    def _edit_message_text(self, params: JsonDict) -> JsonDict | bool:
        return self._edit(params, self._format_text(params))

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict | bool:
        return self._edit(params, None)

    def _delete_message(self, params: JsonDict) -> bool:
        chat_id = self._chat_id_param(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        key = (chat_id, message_id)
        with self._cond:
            if chat_id in self._forgotten:
                raise _bad_request("chat not found")
            if key not in self._payloads:
                raise _bad_request("message to delete not found")
            del self._payloads[key]
            record = self._sent.get(key)
            if record is not None:
                record.deleted = True
            self._cond.notify_all()
        return True

    def _send_chat_action(self, params: JsonDict) -> bool:
        chat_id = self._chat_id_param(params)
        with self._cond:
            if chat_id in self._forgotten:
                raise _bad_request("chat not found")
        return True

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._cond:
            if query_id not in self._open_queries:
                raise _bad_request(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._open_queries.discard(query_id)  # a query can be answered once
            self._callback_answers.append(
                {
                    "callback_query_id": query_id,
                    "text": params.get("text"),
                    "show_alert": bool(params.get("show_alert")),
                    "url": params.get("url"),
                    "cache_time": params.get("cache_time"),
                }
            )
            self._cond.notify_all()
        return True

    def _get_chat_member(self, params: JsonDict) -> JsonDict:
        chat_id = self._chat_id_param(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad_request("invalid user_id specified")
        with self._cond:
            if chat_id in self._forgotten:
                raise _bad_request("chat not found")
            status = self._member_status.get((chat_id, user_id), "member")
            if user_id == self.bot_id:
                user = dict(self.bot_user)
            else:
                user = dict(
                    self._users.get(user_id)
                    or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
                )
            return _chat_member(status, user)

    def _get_chat(self, params: JsonDict) -> JsonDict:
        chat_id = self._chat_id_param(params)
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None or chat_id in self._forgotten:
                raise _bad_request("chat not found")
            return {
                **chat,
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }


# ---------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------


def _post(url: str, body: bytes, secret: str | None) -> tuple[int, str]:
    """One POST as Telegram makes it to a webhook; (status, text). Raises OSError when the
    bot cannot be reached."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[WEBHOOK_SECRET_HEADER] = secret
    request = Request(url, data=body, headers=headers, method="POST")
    try:
        with urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except HTTPError as exc:
        with exc:
            return int(exc.code), exc.read().decode("utf-8", "replace")
    except URLError as exc:
        raise OSError(str(exc.reason)) from None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: BotApiServer) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        # Keep-alive handler threads block reading the next request; this wakes them up.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away, e.g. PTB cancelled a long poll on shutdown
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    # Without these, headers and body leave as two small segments and Nagle + delayed ACK
    # add ~40 ms to every request.
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered; handle_one_request() flushes after each response
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; server.requests has the log

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.server.api._handle_http(
            url.path, url.query, self.headers.get("Content-Type", ""), body
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
