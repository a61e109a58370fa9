"""detect_language: Simplified vs Traditional Chinese, English, everything else."""

from __future__ import annotations

import time

import pytest

from newsbrief.text.chinese import to_traditional
from newsbrief.text.language import detect_language

SIMPLIFIED = "国产大模型掀起开源潮，中小团队在算力之外找突破口。本月以来，已有至少五家团队陆续公开了模型权重。"
TRADITIONAL = "國產大模型掀起開源潮，中小團隊在算力之外找突破口。本月以來，已有至少五家團隊陸續公開了模型權重。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SIMPLIFIED, "zh-Hans"),
        (TRADITIONAL, "zh-Hant"),
        (to_traditional(SIMPLIFIED), "zh-Hant"),
        ("比特币价格周二上涨。", "zh-Hans"),
        ("比特幣價格週二上漲。", "zh-Hant"),
        # Mixed: Chinese prose with English product names is Chinese.
        (
            "OpenAI 发布了 GPT-4 multimodal model，支持图像输入，ChatGPT Plus 用户可以先体验。",
            "zh-Hans",
        ),
        (
            "OpenAI 發布了 GPT-4 multimodal model，支援圖像輸入，ChatGPT Plus 用戶可以先體驗。",
            "zh-Hant",
        ),
        # Mixed the other way: an English article quoting one Chinese name stays English.
        (
            "The company, known in China as 字节跳动, said on Tuesday that it would open a new "
            "research centre in Singapore and hire about two hundred engineers over the next year.",
            "en",
        ),
        ("Chip makers are racing to cut the power their accelerators draw from the grid.", "en"),
        ("Apple unveils iPhone 17", "en"),
        (
            "Le président de la République a annoncé mercredi une nouvelle réforme des retraites.",
            "other",
        ),
        (
            "Der Bundeskanzler hat am Mittwoch eine neue Reform angekündigt, die das Land verändern soll.",
            "other",
        ),
        ("東京は日本の首都です。ひらがなとカタカナを使います。", "other"),
        ("Москва — столица России, крупнейший по численности населения город страны.", "other"),
        ("", "other"),
        ("   \n\t", "other"),
        ("2026-11-20 09:51:24 401 !!!", "other"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_long_text_is_fast_and_judged_by_its_start() -> None:
    text = SIMPLIFIED * 50_000 + TRADITIONAL * 50_000
    start = time.perf_counter()
    assert detect_language(text) == "zh-Hans"
    assert time.perf_counter() - start < 0.5
