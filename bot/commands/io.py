"""What goes into the command core and what comes out: one command, one reply.

Commands are recognised with or without a leading "/" and by their Chinese aliases
(``订阅 AI`` is ``/subscribe AI``): WeChat-family channels deliver commands as plain text.
Quotes keep words with spaces whole (``/topic add un 联合国 "United Nations"``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field

from newsbrief.records import Button

MAX_ARGS = 20
MAX_ARG_CHARS = 200
"""Longer words are cut: nothing a subscriber types needs more, and replies quote them."""
MAX_TEXT_CHARS = 4096
"""How much of a command's text the core reads, whatever the channel; the rest is ignored
(no command needs more). The channel-agnostic core takes no limit from a channel folder."""

ALIASES: dict[str, str] = {
    # English spellings people type
    "sub": "subscribe",
    "unsub": "unsubscribe",
    "language": "lang",
    "tz": "timezone",
    "unbind": "unbind",
    "myid": "id",
    "我的id": "id",
    # Simplified and Traditional Chinese
    "开始": "start",
    "開始": "start",
    "帮助": "help",
    "幫助": "help",
    "话题": "topics",
    "話題": "topics",
    "订阅": "subscribe",
    "訂閱": "subscribe",
    "退订": "unsubscribe",
    "退訂": "unsubscribe",
    "取消订阅": "unsubscribe",
    "取消訂閱": "unsubscribe",
    "列表": "list",
    "我的订阅": "list",
    "我的訂閱": "list",
    "摘要": "digest",  # also what a WeCom or WeChat member sends for the rest of a digest
    "简报": "digest",
    "簡報": "digest",
    "设置": "settings",
    "設定": "settings",
    "設置": "settings",
    "时间": "schedule",
    "推送时间": "schedule",
    "推送時間": "schedule",
    "時間": "schedule",
    "时区": "timezone",
    "時區": "timezone",
    "免打扰": "quiet",
    "免打擾": "quiet",
    "语言": "lang",
    "語言": "lang",
    "过滤": "filter",
    "過濾": "filter",
    "搜索": "search",
    "搜尋": "search",
    "为什么": "why",
    "為什麼": "why",
    "暂停": "pause",
    "暫停": "pause",
    "恢复": "resume",
    "恢復": "resume",
    "停止": "stop",
    "绑定": "bind",
    "綁定": "bind",
    "解绑": "unbind",
    "解綁": "unbind",
}
_CJK_ALIASES = sorted((a for a in ALIASES if not a.isascii()), key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class Command:
    platform: str
    chat_id: str
    chat_type: str
    """``private``, ``group``, ``supergroup`` or ``channel``."""
    sender_id: str
    text: str
    thread_id: int | None = None
    language_hint: str | None = None
    from_button: bool = False
    """The text is the callback data of an inline button the user pressed."""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    parse_mode: str = "HTML"
    wake_delivery: bool = False
    """The command queued messages in the outbox; the deliverer should look now."""
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    """Inline keyboard rows."""
    notice: str | None = None
    """For a button press: the short toast shown to the user who pressed it."""


_JOINERS = frozenset("\u200c\u200d")  # inside emoji sequences and Indic words: keep


def clean(word: str) -> str:
    """Control and format characters (bidi overrides, NULs) out of one word."""
    if word.isprintable():  # the usual case, at C speed
        return word
    return "".join(
        c for c in word if unicodedata.category(c)[0] not in "CZ" or c in _JOINERS or c == " "
    )


_QUOTES = {'"': '"', "“": "”", "„": "“", "＂": "＂", "「": "」", "『": "』"}
"""Opening quote -> its closing one. Single quotes are apostrophes ("don't"), not quotes."""
_SEPARATORS = frozenset(",，、")


def split_words(text: str) -> list[str]:
    """Words split at spaces and commas (``ai,crypto``, ``ai、加密``); a quoted run is one word
    without its quotes: ``"United Nations"``, ``“United Nations”``, ``「联合国 安理会」``,
    ``+"New York"`` (quotes may start inside a word). A quote that is never closed is kept as
    an ordinary character."""
    if not any(q in text for q in _QUOTES):  # the usual case, at C speed
        return text.replace("，", " ").replace(",", " ").replace("、", " ").split()
    words: list[str] = []
    word: list[str] = []
    started = False  # a word is open (it may be "" so far: an empty quote is a word)
    i, n = 0, len(text)
    unclosed: set[str] = set()  # closing quotes not found again: no rescan per opening one
    while i < n:
        c = text[i]
        close = _QUOTES.get(c)
        end = text.find(close, i + 1) if close is not None and close not in unclosed else -1
        if end == -1 and close is not None:
            unclosed.add(close)
        if end != -1:
            word.append(text[i + 1 : end])
            started, i = True, end + 1
            continue
        if c.isspace() or c in _SEPARATORS:
            if started:
                words.append("".join(word))
            word, started = [], False
        else:
            word.append(c)
            started = True
        i += 1
    if started:
        words.append("".join(word))
    return words


def parse(text: str, known: Collection[str], *, bare: bool = False) -> tuple[str, list[str]]:
    """``/subscribe@bot ai, crypto`` -> ("subscribe", ["ai", "crypto"]).

    Without "/" the text is a command only when ``bare`` (a private chat, a plain-text channel)
    and its first word is one of the ``known`` command names or an alias; a Chinese alias may be
    glued to its argument (``订阅AI``). Returns ("", words) for anything else.
    """
    # Split first (at C speed), then clean only the words that count, each cut short.
    raw = split_words(text[:MAX_TEXT_CHARS])
    words = [w for w in (clean(w[:MAX_ARG_CHARS]) for w in raw[: 1 + MAX_ARGS]) if w]
    if not words:
        return "", words
    first = words[0]
    slash = first.startswith("/") or first.startswith("／")
    if slash:
        first = first[1:].split("@", 1)[0]
    elif not bare:
        return "", words
    name = first.casefold()
    if name not in ALIASES and name not in known and not name.isascii():
        for alias in _CJK_ALIASES:
            if name.startswith(alias):
                words.insert(1, name[len(alias) :])
                name = alias
                break
    name = ALIASES.get(name, name)
    if not slash and name not in known:
        return "", words
    return name, words[1 : 1 + MAX_ARGS]
