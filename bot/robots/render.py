"""Digest -> group-robot messages for WeCom, DingTalk and Feishu, each within its own limit.

Every limit is measured on what goes over the wire: the UTF-8 JSON body written with
``ensure_ascii=False`` (with ``\\u`` escapes a CJK character costs 6 bytes instead of 3). A
message's ``text`` is that body, ready to post (``parse_mode="json"``); the sender only adds a
signature, for which room is kept. Parts are cut between items, never inside one.

None of the three dialects documents an escape we could rely on, so markup characters coming
from feeds are replaced by their full-width look-alikes: a title can then neither open a link,
nor bold the rest of the message, nor mention ``<@all>``.

Lead image: WeCom shows one well in a ``news`` message (``picurl``, fetched by WeCom), so a
WeCom digest whose first stories include one with a public http(s) image opens with that story
as a news card, and the markdown parts list the others. Feishu cards show only images uploaded
for an ``image_key``, which a webhook robot cannot upload; DingTalk markdown images are not in
the documented subset: both stay text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from bot.digest_words import header_parts, sources_line
from bot.i18n import t
from bot.parts import parse_title, title_block
from bot.robots.limits import (
    DINGTALK_MAX_BODY_BYTES,
    FEISHU_MAX_BODY_BYTES,
    WECOM_MARKDOWN_MAX_BYTES,
    WECOM_TEXT_MAX_BYTES,
)
from newsbrief.articles.images import public_image_url
from newsbrief.digest_text import localized
from newsbrief.records import Digest, Message, Source, StoryItem
from newsbrief.text.chinese import to_traditional

JSON_PARSE_MODE = "json"
"""``Message.parse_mode`` of a message whose text is the JSON body to post."""

FEISHU_SIGN_RESERVE = 96
"""Room for ``"timestamp":"…","sign":"…"``, which the sender adds to a Feishu body (79 bytes)."""

MAX_TITLE_CHARS = 200
MAX_SOURCE_CHARS = 40
MAX_ORIGINAL_CHARS = 120
"""A translated story's own title, on the line under the translation."""
COVER_FROM_FIRST = 3
"""A WeCom cover is the first story with an image among the digest's first this many."""
NEWS_TITLE_BYTES = 128
NEWS_DESCRIPTION_BYTES = 512
_TAG = re.compile(r"<[^>]*>")
_FULLWIDTH = str.maketrans(
    {"[": "［", "]": "］", "*": "＊", "`": "｀", "<": "＜", ">": "＞", "~": "～", "|": "｜"}
)
# Characters that make a line a heading, quote or list item when they open it.
_LINE_START = str.maketrans({"#": "＃", "-": "－", "+": "＋", "=": "＝"})
_ORDERED = re.compile(r"^(\d+)\.")


def encode_body(payload: dict[str, Any]) -> bytes:
    """The body exactly as sent: compact, UTF-8, no ``\\u`` escapes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_bytes(payload: dict[str, Any]) -> int:
    return len(encode_body(payload))


def _json_len(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string (escapes count per character, so this adds up)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def plain(html_text: str) -> str:
    """Our i18n strings carry Telegram HTML (``<b>``, ``&lt;``); the robots get plain text."""
    return html.unescape(_TAG.sub("", html_text))


def md_text(text: str) -> str:
    """Feed text made inert in the robots' markdown: one line, no markup characters."""
    text = " ".join(text.split()).translate(_FULLWIDTH)
    text = text[:1].translate(_LINE_START) + text[1:]
    return _ORDERED.sub(r"\1．", text)


def md_url(url: str | None) -> str | None:
    """A URL safe inside ``[text](url)``, or None when it is not http(s)."""
    if not url:
        return None
    url = url.strip()
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    for char, code in (("(", "%28"), (")", "%29"), (" ", "%20"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one platform writes a digest, and the envelope it posts it in."""

    platform: str
    limit: int
    """Most bytes of the body, signature included."""
    reserve: int
    """Bytes the sender adds to the body after rendering."""
    summary_chars: int
    title_line: Callable[[str], str] | None
    """The digest title as the first line of the content (None: the envelope shows it)."""
    heading: Callable[[str], str]
    link: Callable[[str, str], str]
    summary: Callable[[str], str]
    source: Callable[[str], str]
    line_sep: str
    block_sep: str
    envelope: Callable[[str, str], dict[str, Any]]
    """(plain title, markdown content) -> body."""

    def item(
        self,
        item: StoryItem,
        lang: str,
        summary_chars: int,
        title_chars: int,
        links: bool = True,
        mark: bool = False,
    ) -> str:
        """One story, as on Telegram (``bot.telegram.render.render_item``); ``links`` False
        names its other sources without their links (to fit)."""
        shown = localized(item, lang)
        source = to_traditional(item.source) if lang == "zh-Hant" else item.source
        title = md_text(clip(shown.title, title_chars)) or "…"
        url = md_url(item.url)
        lines = [self.link(title, url) if url else f"**{title}**"]
        if shown.original_title:
            original = clip(shown.original_title, min(title_chars, MAX_ORIGINAL_CHARS))
            lines.append(self.summary(md_text(t("original_title", lang) + original)))
        if shown.summary and summary_chars:
            summary = md_text(clip(shown.summary, summary_chars))
            if mark and shown.by_llm:
                summary += " " + md_text(plain(t("llm_mark", lang)))
            lines.append(self.summary(summary))
        source = md_text(clip(source, 80))
        if item.others:
            total = max(item.source_count - 1, len(item.others))
            source += " · " + sources_line(item.others, total, lang, _md_source(lang, links))
        elif item.source_count > 1:
            source += " · " + t("also_reported", lang, count=item.source_count - 1)
        lines.append(self.source(source))
        return self.line_sep.join(lines)


def _md_source(lang: str, links: bool) -> Callable[[Source], str]:
    def name(source: Source) -> str:
        text = to_traditional(source.name) if lang == "zh-Hant" else source.name
        text = md_text(clip(text, MAX_SOURCE_CHARS)) or "…"
        url = md_url(source.url) if links else None
        return f"[{text}]({url})" if url else text

    return name


def _wecom_envelope(title: str, content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _dingtalk_envelope(title: str, content: str) -> dict[str, Any]:
    # ``title`` is what the notification and the chat list show.
    return {"msgtype": "markdown", "markdown": {"title": title, "text": content}}


def _feishu_envelope(title: str, content: str) -> dict[str, Any]:
    # A card's markdown element renders links and bold; a ``post`` has no bold.
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
            "elements": [{"tag": "markdown", "content": content}],
        },
    }


# WeCom limits ``markdown.content``; holding the whole body to it is stricter.
WECOM = Dialect(
    platform="wecom",
    limit=WECOM_MARKDOWN_MAX_BYTES,
    reserve=0,
    summary_chars=200,
    title_line=lambda title: f"## {title}",
    heading=lambda name: f"### 🔹 {name}",
    link=lambda title, url: f"[{title}]({url})",
    summary=lambda text: text,
    source=lambda text: f'<font color="comment">{text}</font>',
    line_sep="\n",
    block_sep="\n\n",
    envelope=_wecom_envelope,
)
# DingTalk's markdown needs a blank line for a line break.
DINGTALK = Dialect(
    platform="dingtalk",
    limit=DINGTALK_MAX_BODY_BYTES,
    reserve=0,
    summary_chars=300,
    title_line=lambda title: f"#### {title}",
    heading=lambda name: f"**🔹 {name}**",
    link=lambda title, url: f"[{title}]({url})",
    summary=lambda text: text,
    source=lambda text: f"> {text}",
    line_sep="\n\n",
    block_sep="\n\n",
    envelope=_dingtalk_envelope,
)
FEISHU = Dialect(
    platform="feishu",
    limit=FEISHU_MAX_BODY_BYTES,
    reserve=FEISHU_SIGN_RESERVE,
    summary_chars=300,
    title_line=None,
    heading=lambda name: f"**🔹 {name}**",
    link=lambda title, url: f"**[{title}]({url})**",
    summary=lambda text: text,
    source=lambda text: f"*{text}*",
    line_sep="\n",
    block_sep="\n\n",
    envelope=_feishu_envelope,
)
DIALECTS = {d.platform: d for d in (WECOM, DINGTALK, FEISHU)}


def digest_title(digest: Digest) -> str:
    """The plain header: ``📰 12月2日 晚报 · 10 条`` (undated without an edition)."""
    count, edition = parse_title(title_block(digest.item_count, digest.edition)[6:])
    if edition is None:
        return md_text(plain(t("digest_title", digest.lang, count=count)))
    label, counted = header_parts(edition, count, digest.lang)
    return md_text(f"📰 {label} · {counted}")


def _titles(dialect: Dialect, digest: Digest) -> tuple[str, str]:
    title = digest_title(digest)
    return title, title + t("continued", digest.lang)


def render(dialect: Dialect, digest: Digest, *, mark: bool = False) -> list[Message]:
    """``digest`` in ``dialect``'s parts; ``mark``: LLM-written summaries say so (``llm.mark``)."""
    lang = digest.lang
    first_title, next_title = _titles(dialect, digest)  # counting the cover story too
    cover = _cover(digest) if dialect.platform == "wecom" else None
    if cover is not None:
        digest = _without(digest, cover)
    # Room for content: the envelope around the longer title, the signature, and the part's
    # own title line are paid for before any item.
    envelope = max(body_bytes(dialect.envelope(t_, "")) for t_ in (first_title, next_title))
    title_cost = 0
    if dialect.title_line:
        title_cost = _json_len(dialect.title_line(next_title) + dialect.block_sep)
    budget = dialect.limit - dialect.reserve - envelope - title_cost
    sep_cost = _json_len(dialect.block_sep)

    def cost(block: str) -> int:
        return _json_len(block) + sep_cost

    parts: list[list[str]] = [[]]
    size = 0
    pending: list[str] = []  # section headings waiting for their first item
    for section in digest.sections:
        heading = dialect.heading(md_text(section.topic_name))
        pending.append(heading)
        for item in section.items:
            fixed = sum(cost(h) for h in pending)
            # Room for the heading too: a part that starts inside a section repeats it.
            block = _fit(dialect, item, lang, budget - max(fixed, cost(heading)), cost, mark)
            group = [*pending, block]
            pending = []
            if parts[-1] and size + sum(cost(b) for b in group) > budget:
                parts.append([])
                size = 0
                if group[0] is block:
                    group.insert(0, heading)
            parts[-1].extend(group)
            size += sum(cost(b) for b in group)
    if digest.more:
        tail = md_text(t("robot_more_items", lang, count=digest.more))
        if (url := md_url(digest.more_url)) is not None:
            tail = dialect.link(md_text(t("robot_more_link", lang, count=digest.more)), url)
        if parts[-1] and size + cost(tail) > budget:
            parts.append([])
        parts[-1].append(tail)
    if not parts[-1] and pending:
        parts[-1].extend(pending)

    messages = [_news_message(cover, lang, mark)] if cover is not None else []
    if cover is not None and not digest.sections and not digest.more:
        return messages  # the cover was the whole digest
    for index, blocks in enumerate(p for p in parts if p):
        title = first_title if index == 0 else next_title
        if dialect.title_line:
            blocks = [dialect.title_line(title), *blocks]
        body = dialect.envelope(title, dialect.block_sep.join(blocks))
        text = encode_body(body).decode("utf-8")
        messages.append(Message(text=text, parse_mode=JSON_PARSE_MODE, disable_preview=True))
    return messages


def _fit(
    dialect: Dialect,
    item: StoryItem,
    lang: str,
    room: int,
    cost: Callable[[str], int],
    mark: bool = False,
) -> str:
    """The item as rendered, shortened until it fits a part on its own (a huge summary or URL)."""
    for summary_chars, title_chars, links in (
        (dialect.summary_chars, MAX_TITLE_CHARS, True),
        (dialect.summary_chars // 3, MAX_TITLE_CHARS, True),
        (0, MAX_TITLE_CHARS, True),
        (0, 60, True),
        (0, 60, False),
    ):
        block = dialect.item(item, lang, summary_chars, title_chars, links, mark)
        if cost(block) <= room:
            return block
    # Only a URL of kilobytes gets here: the title goes without its link (nor other sources).
    return dialect.item(replace(item, url=None, others=(), source_count=1), lang, 0, 60)


def _cover(digest: Digest) -> StoryItem | None:
    """The story a WeCom digest opens with as a news card: among its first few, the first with
    a public image and a link to open."""
    firsts = [item for section in digest.sections for item in section.items][:COVER_FROM_FIRST]
    for item in firsts:
        if public_image_url(item.image_url) and md_url(item.url):
            return item
    return None


def _without(digest: Digest, cover: StoryItem) -> Digest:
    """The digest minus its cover story."""
    sections = tuple(
        replace(section, items=tuple(i for i in section.items if i is not cover))
        for section in digest.sections
    )
    return replace(digest, sections=tuple(s for s in sections if s.items))


def _clip_bytes(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, cut at a character with an ellipsis."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - 3].decode("utf-8", errors="ignore")
    return cut.rstrip() + "…"


def _news_message(item: StoryItem, lang: str, mark: bool = False) -> Message:
    """A WeCom ``news`` body of one article: title, summary and sources, link and picture."""
    shown = localized(item, lang)
    source = to_traditional(item.source) if lang == "zh-Hant" else item.source
    description = " ".join(shown.summary.split())
    if description and mark and shown.by_llm:
        description += " " + plain(t("llm_mark", lang))
    if shown.original_title:
        original = t("original_title", lang) + " ".join(shown.original_title.split())
        description = f"{original}\n{description}" if description else original
    names = source
    if item.others:
        total = max(item.source_count - 1, len(item.others))
        names += " · " + sources_line(item.others, total, lang, _md_source(lang, False))
    description = f"{names}\n{description}" if description else names
    article = {
        "title": _clip_bytes(" ".join(shown.title.split()) or "…", NEWS_TITLE_BYTES),
        "description": _clip_bytes(description, NEWS_DESCRIPTION_BYTES),
        "url": md_url(item.url),
        "picurl": public_image_url(item.image_url),
    }
    body = {"msgtype": "news", "news": {"articles": [article]}}
    return Message(
        text=encode_body(body).decode("utf-8"), parse_mode=JSON_PARSE_MODE, disable_preview=True
    )


def render_wecom(digest: Digest, *, mark: bool = False) -> list[Message]:
    return render(WECOM, digest, mark=mark)


def render_dingtalk(digest: Digest, *, mark: bool = False) -> list[Message]:
    return render(DINGTALK, digest, mark=mark)


def render_feishu(digest: Digest, *, mark: bool = False) -> list[Message]:
    return render(FEISHU, digest, mark=mark)


RENDERERS = {"wecom": render_wecom, "dingtalk": render_dingtalk, "feishu": render_feishu}


def payload_for(platform: str, message: Message) -> dict[str, Any]:
    """The body to post for an outbox message: a rendered digest part as is; anything else
    (a notice written for Telegram) as a plain text message cut to the platform's limit."""
    if message.parse_mode == JSON_PARSE_MODE:
        payload: dict[str, Any] = json.loads(message.text)
        return payload
    text = plain(message.text) if message.parse_mode == "HTML" else message.text
    return text_payload(platform, text)


def text_payload(platform: str, text: str) -> dict[str, Any]:
    def wrap(content: str) -> dict[str, Any]:
        if platform == "feishu":
            return {"msg_type": "text", "content": {"text": content}}
        return {"msgtype": "text", "text": {"content": content}}

    dialect = DIALECTS[platform]
    limit = (WECOM_TEXT_MAX_BYTES if platform == "wecom" else dialect.limit) - dialect.reserve
    while body_bytes(wrap(text)) > limit:
        # Cut by the bytes still too many (at least one character), never inside a character.
        over = body_bytes(wrap(text)) - limit
        text = text[: max(0, len(text) - max(1, over // 3) - 1)] + "…"
    return wrap(text)
