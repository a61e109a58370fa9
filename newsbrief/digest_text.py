"""Which title and summary a reader sees of a story: the LLM's in the reader's language when
there is one (``StoryItem.texts``, loaded only with ``llm`` on), else the story's own, as
digests always showed it (converted to Traditional for zh-Hant readers).

A translated title keeps the story's own beside it (``Shown.original_title``): the reader can
tell what the source said, and the link still goes to the source. A story in the reader's own
language keeps its own title (the publisher's headline, which readers search for and quote);
only its summary is the LLM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsbrief.records import StoryItem, StoryText
from newsbrief.text.chinese import to_simplified, to_traditional


@dataclass(frozen=True, slots=True)
class Shown:
    """A story's words as one reader sees them."""

    title: str
    summary: str
    original_title: str | None = None
    """The story's own title when ``title`` is a translation of it; None otherwise."""
    by_llm: bool = False
    """``summary`` was written by the LLM (digests may mark it, ``llm.mark``)."""


def family(lang: str | None) -> str | None:
    """zh-Hans and zh-Hant are one language to their readers: converted, never translated."""
    if lang is None:
        return None
    return "zh" if lang.startswith("zh") else lang


@dataclass(frozen=True, slots=True)
class TextChoice:
    """Which stored LLM texts digests show: ``model``'s, in a story's own language only while
    ``llm.summaries`` is on, in another only while ``llm.translate`` is (as the llm tick
    writes them). A text written before a switch went off stays stored, unshown."""

    model: str
    own_language: bool
    other_language: bool

    def shows(self, story_lang: str | None, text_lang: str) -> bool:
        own = family(story_lang)  # unknown: as ``localized`` takes it, the reader's own
        return self.own_language if own in (None, family(text_lang)) else self.other_language


def localized(item: StoryItem, lang: str) -> Shown:
    """What a reader of ``lang`` sees of ``item``: see the module's docstring."""
    text = _text_for(item.texts, lang) if item.texts else None
    if text is None:
        if lang == "zh-Hant":  # Traditional text, whatever the feed wrote
            return Shown(to_traditional(item.title), to_traditional(item.summary))
        return Shown(item.title, item.summary)
    title, summary = text
    own = family(item.lang)
    if own is None or own == family(lang):
        own_title = to_traditional(item.title) if lang == "zh-Hant" else item.title
        return Shown(own_title, summary, None, bool(summary))
    original = item.title if _words(item.title) != _words(title) else None
    return Shown(title, summary, original, bool(summary))


def _text_for(texts: Sequence[StoryText], lang: str) -> tuple[str, str] | None:
    """The LLM's (title, summary) in ``lang``: its own row, else the other Chinese script's
    converted (the backend writes zh-Hans only; zh-Hant is OpenCC of it)."""
    found = {text.lang: text for text in texts}
    if (own := found.get(lang)) is not None:
        return own.title, own.summary
    if lang == "zh-Hant" and (hans := found.get("zh-Hans")) is not None:
        return to_traditional(hans.title), to_traditional(hans.summary)
    if lang == "zh-Hans" and (hant := found.get("zh-Hant")) is not None:
        return to_simplified(hant.title), to_simplified(hant.summary)
    return None


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()
