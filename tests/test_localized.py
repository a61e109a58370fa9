"""``localized``: the title and summary a reader sees of a story, LLM texts or its own."""

from __future__ import annotations

from dataclasses import replace

from bot.robots.render import WECOM
from bot.telegram.render import render_item
from newsbrief.digest_text import Shown, family, localized
from newsbrief.records import StoryItem, StoryText
from newsbrief.text.chinese import to_traditional

EN = StoryItem(
    story_id=1,
    seq=1,
    title="OpenAI ships a faster coding model",
    url="https://wire.example/openai",
    summary="The company said the model is twice as fast.",
    source="Wire",
    topics=("ai",),
    lang="en",
)
ZH = StoryItem(
    story_id=2,
    seq=2,
    title="百度发布新版文心大模型",
    url="https://cn.example/baidu",
    summary="百度今天发布了新版本，推理能力提升。",
    source="中文快讯",
    topics=("ai",),
    lang="zh-Hans",
)
HANS = StoryText("zh-Hans", "OpenAI 发布更快的编程模型", "这家公司说新模型的速度是原来的两倍。")


def test_without_texts_a_story_shows_as_it_always_did() -> None:
    for lang in ("zh-Hans", "en"):
        assert localized(EN, lang) == Shown(EN.title, EN.summary)
        assert localized(ZH, lang) == Shown(ZH.title, ZH.summary)
    assert localized(ZH, "zh-Hant") == Shown(to_traditional(ZH.title), to_traditional(ZH.summary))


def test_a_chinese_reader_gets_the_translation_and_keeps_the_original_title() -> None:
    item = replace(EN, texts=(HANS,))
    assert localized(item, "zh-Hans") == Shown(HANS.title, HANS.summary, EN.title, True)
    hant = localized(item, "zh-Hant")
    assert hant == Shown(to_traditional(HANS.title), to_traditional(HANS.summary), EN.title, True)
    assert hant.title != HANS.title  # really converted
    # The English reader reads the story itself.
    assert localized(item, "en") == Shown(EN.title, EN.summary)


def test_a_zh_hant_row_wins_over_the_conversion_and_the_other_way_round() -> None:
    hant = StoryText("zh-Hant", "OpenAI 推出更快的程式模型", "該公司表示速度快了一倍。")
    assert localized(replace(EN, texts=(HANS, hant)), "zh-Hant").title == hant.title
    assert localized(replace(EN, texts=(hant,)), "zh-Hans").title == "OpenAI 推出更快的程式模型"


def test_a_same_language_summary_keeps_the_story_title() -> None:
    own = StoryText("zh-Hans", "百度文心大模型升级", "百度发布新版文心大模型，推理更强。")
    item = replace(ZH, texts=(own,))
    # The publisher's headline stays; the LLM's summary replaces the extractive one.
    assert localized(item, "zh-Hans") == Shown(ZH.title, own.summary, None, True)
    # zh-Hant is the same language in the other script: converted, not translated.
    assert localized(item, "zh-Hant") == Shown(
        to_traditional(ZH.title), to_traditional(own.summary), None, True
    )
    # The English reader gets the English text when there is one, else the story as it is.
    assert localized(item, "en") == Shown(ZH.title, ZH.summary)
    english = StoryText("en", "Baidu upgrades its Ernie model", "Baidu released a new version.")
    shown = localized(replace(ZH, texts=(own, english)), "en")
    assert shown == Shown(english.title, english.summary, ZH.title, True)


def test_an_unchanged_title_or_an_empty_summary() -> None:
    same = StoryText("zh-Hans", " OpenAI  ships a faster coding model", "")
    shown = localized(replace(EN, texts=(same,)), "zh-Hans")
    assert shown.original_title is None  # the translation kept the title as it was
    assert not shown.by_llm and shown.summary == ""
    unknown = replace(EN, lang=None, texts=(HANS,))
    assert localized(unknown, "zh-Hans").original_title is None


def test_family() -> None:
    assert family("zh-Hans") == family("zh-Hant") == "zh"
    assert family("en") == "en" and family("other") == "other" and family(None) is None


def test_telegram_and_robot_items_show_translation_original_and_mark() -> None:
    item = replace(EN, texts=(HANS,))
    html = render_item(item, "zh-Hans", mark=True)
    lines = html.split("\n")
    assert lines[0] == f'• <a href="{EN.url}">{HANS.title}</a>'
    assert lines[1] == f"原文：{EN.title}"
    assert lines[2] == f"{HANS.summary} <i>〔AI 摘要〕</i>"
    assert "〔AI 摘要〕" not in render_item(item, "zh-Hans")
    en = render_item(replace(ZH, texts=(StoryText("en", "Baidu <b>", "Short."),)), "en", True)
    assert "Baidu &lt;b&gt;" in en and f"Original: {ZH.title}" in en
    assert "Short. <i>[AI summary]</i>" in en
    # Without texts the item is what it always was.
    assert render_item(EN, "zh-Hans", mark=True) == render_item(EN, "zh-Hans")
    markdown = WECOM.item(item, "zh-Hans", 200, 200, mark=True)
    assert markdown.split("\n")[:3] == [
        f"[{HANS.title}]({EN.url})",
        f"原文：{EN.title}",
        f"{HANS.summary} 〔AI 摘要〕",
    ]
