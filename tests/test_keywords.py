"""Key terms: jieba TF-IDF for Chinese, frequency minus stopwords for English."""

from __future__ import annotations

import logging

import pytest

from newsbrief.articles.keywords import keywords, segment


def test_chinese_keywords(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        "比特币价格周二突破十万美元。分析人士认为，比特币现货ETF资金持续流入，"
        "推动比特币创下新高。以太坊也随之上涨。"
    )
    with caplog.at_level(logging.DEBUG):
        found = keywords(text, "zh-Hans", k=3)
    assert found[0] == "比特币"
    assert len(found) == 3
    assert all(len(w) > 1 and not w.isdigit() for w in found)
    assert not [r for r in caplog.records if r.name == "jieba"]  # its start-up chatter is silenced


def test_english_keywords() -> None:
    text = (
        "Google said on Monday that its new chip doubles speed. The chip, built by Google, "
        "ships next year. Analysts said the chip market is crowded."
    )
    assert keywords(text, "en", k=2) == ["chip", "Google"]
    assert "said" not in keywords(text, "en", k=10)


def test_edge_cases() -> None:
    assert keywords("", "en") == []
    assert keywords("文本", "zh-Hans", k=0) == []
    assert segment("我爱北京天安门") == ["我", "爱", "北京", "天安门"]
