"""Digest -> Telegram messages: HTML with everything from feeds escaped, split within the text
limit (``bot.telegram.limits.MAX_TEXT_UTF16``).

Telegram counts a message's length in UTF-16 code units after entity parsing, so parts are
measured on their visible text; a part never ends inside a tag because it is cut between items.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from bot.digest_words import header_parts, sources_line
from bot.i18n import t
from bot.parts import Block, digest_sections, parse_title, plan, title_block
from bot.telegram.limits import MAX_TEXT_UTF16
from newsbrief.digest_text import localized
from newsbrief.records import Digest, Message, Source, StoryItem
from newsbrief.text.chinese import to_traditional

MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 600
MAX_SOURCE_CHARS = 40
MAX_ORIGINAL_CHARS = 120
"""A translated story's own title, on the line under the translation."""
MAX_LINK_CHARS = 2048
_TAG = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_len(fragment: str) -> int:
    """Length of an HTML fragment we rendered ourselves, as Telegram will count it."""
    return utf16_len(html.unescape(_TAG.sub("", fragment)))


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_item(item: StoryItem, lang: str, mark: bool = False) -> str:
    """One story: its title (in the reader's language, see ``localized``), linked; a translated
    story's own title; the summary (``mark``: an LLM-written one says so); the sources."""
    shown = localized(item, lang)
    source = to_traditional(item.source) if lang == "zh-Hant" else item.source
    title = esc(_clip(shown.title, MAX_TITLE_CHARS))
    head = f'• <a href="{esc(item.url)}">{title}</a>' if item.url else f"• <b>{title}</b>"
    lines = [head]
    if shown.original_title:
        original = _clip(shown.original_title, MAX_ORIGINAL_CHARS)
        lines.append(esc(t("original_title", lang) + original))
    if shown.summary:
        summary = esc(_clip(shown.summary, MAX_SUMMARY_CHARS))
        if mark and shown.by_llm:
            summary += f" <i>{esc(t('llm_mark', lang))}</i>"
        lines.append(summary)
    line = f"<i>{esc(_clip(source, 80))}</i>"
    if item.others:
        line += " · " + sources_line(
            item.others, max(item.source_count - 1, len(item.others)), lang, _source_link(lang)
        )
    elif item.source_count > 1:  # merged before sources were named, or their articles gone
        line += " · " + esc(t("also_reported", lang, count=item.source_count - 1))
    lines.append(line)
    return "\n".join(lines)


def link_url(url: str | None) -> str | None:
    """A URL Telegram accepts in ``<a href>``: http(s), of a sane length."""
    if not url or len(url) > MAX_LINK_CHARS:
        return None
    url = url.strip()
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def _source_link(lang: str) -> Callable[[Source], str]:
    def link(source: Source) -> str:
        name = to_traditional(source.name) if lang == "zh-Hant" else source.name
        name = esc(_clip(name, MAX_SOURCE_CHARS))
        url = link_url(source.url)
        return f'<a href="{esc(url)}">{name}</a>' if url else name

    return link


def title_html(arg: str, lang: str) -> str:
    """The header of a ``title:`` block: dated (``📰 <b>12月2日 晚报</b> · 10 条``) when the
    digest was composed with an edition, else the undated catalogue title."""
    count, edition = parse_title(arg)
    if edition is None:
        return t("digest_title", lang, count=count)
    label, counted = header_parts(edition, count, lang)
    return f"📰 <b>{esc(label)}</b> · {esc(counted)}"


class _Sizes(dict[Block, int]):
    def __init__(self, render: Callable[[Block], tuple[str, int]]) -> None:
        super().__init__()
        self._render = render

    def __missing__(self, block: Block) -> int:
        size = self[block] = self._render(block)[1]
        return size


class HtmlBlocks:
    """Telegram HTML for the blocks of digests in one language, each rendered and measured once.

    One instance serves every digest of a compose pass (or every part of a deliver tick), so a
    story going to 10,000 subscribers is escaped and measured once.
    """

    limit = MAX_TEXT_UTF16

    def __init__(
        self,
        lang: str,
        topic_name: Callable[[str, str], str],
        stories: Mapping[int, StoryItem],
        *,
        mark: bool = False,
    ) -> None:
        self.lang = lang
        self.mark = mark
        """Mark the summaries the LLM wrote (``llm.mark``)."""
        self.topic_name = topic_name
        self.stories = stories
        self._cache: dict[Block, tuple[str, int]] = {}
        self.sizes = _Sizes(self._render)
        """``sizes[block]``: a plain dict lookup in the hot loop of ``plan``."""

    def _render(self, block: Block) -> tuple[str, int]:
        found = self._cache.get(block)
        if found is None:
            lang = self.lang
            kind, _, arg = block.partition(":")
            match kind:
                case "story":
                    html_text = render_item(self.stories[int(arg)], lang, self.mark)
                case "topic":
                    html_text = f"🔹 <b>{esc(self.topic_name(arg, lang))}</b>"
                case "title":
                    html_text = title_html(arg, lang)
                case "more":
                    html_text = esc(t("more_items", lang, count=int(arg)))
                case _:
                    html_text = esc(t("continued", lang))
            found = self._cache[block] = (html_text, visible_len(html_text) + 2)  # + "\n\n"
        return found

    def size(self, block: Block) -> int:
        return self.sizes[block]

    def message(self, blocks: Sequence[Block]) -> Message:
        return Message(text="\n\n".join(self._render(b)[0] for b in blocks))


def render_digest(
    digest: Digest, limit: int = MAX_TEXT_UTF16, *, mark: bool = False
) -> list[Message]:
    stories = {item.story_id: item for section in digest.sections for item in section.items}
    names = {s.topic_id: s.topic_name for s in digest.sections}
    html_blocks = HtmlBlocks(
        digest.lang, lambda topic, _lang: names.get(topic, topic), stories, mark=mark
    )
    title = title_block(digest.item_count, digest.edition)
    sections = digest_sections(digest)
    parts = plan(digest.item_count, sections, digest.more, html_blocks.size, limit, title)
    return [html_blocks.message(part) for part in parts]
