"""The checks an LLM's answer must pass before a reader sees it, case by case."""

from __future__ import annotations

import json

import pytest

from newsbrief.llm.checks import (
    REASONS,
    ZH_SUMMARY_MAX_CHARS,
    check,
    language_family,
    parse_answer,
)
from newsbrief.text.chinese import to_simplified

EN = (
    "OpenAI releases GPT-5 with 40% faster inference",
    "OpenAI said on Tuesday that GPT-5, its newest model, runs 40% faster than GPT-4 and cost "
    "$1.5 billion to train. Sam Altman announced it in San Francisco on March 5, 2025.",
)
ZH = (
    "华为发布新款芯片",
    "华为周二在深圳发布了麒麟9000芯片，性能提升30%，售价5999元。三家运营商将首发，"
    "余承东表示，该芯片将于3月上市。",
)


def answer(title: str, summary: str) -> str:
    return json.dumps({"title": title, "summary": summary}, ensure_ascii=False)


ZH_OF_EN = answer(
    "OpenAI发布GPT-5，推理速度提升40%",
    "OpenAI周二表示，其最新模型GPT-5比GPT-4快40%，训练成本为15亿美元。"
    "Sam Altman于2025年3月5日在旧金山宣布了这一消息。",
)
EN_OF_EN = answer(
    "OpenAI releases GPT-5",
    "OpenAI said GPT-5 runs 40% faster than GPT-4. The model cost $1.5 billion to train, "
    "Sam Altman announced in San Francisco.",
)
ZH_OF_ZH = answer(
    "华为发布麒麟9000芯片", "华为在深圳发布麒麟9000芯片，性能提升30%，售价5999元，将于3月上市。"
)
EN_OF_ZH = answer(
    "Huawei launches a new chip",
    "Huawei unveiled a new chip in Shenzhen on Tuesday, with 30% better performance, priced "
    "at 5,999 yuan. Yu Chengdong said it goes on sale in March.",
)

CASES: list[tuple[str, str, str, tuple[str, ...], str | None]] = [
    # (name, raw answer, target, sources, expected reason or None for accepted)
    ("zh translation of an English story", ZH_OF_EN, "zh-Hans", EN, None),
    ("en summary of an English story", EN_OF_EN, "en", EN, None),
    ("zh summary of a Chinese story", ZH_OF_ZH, "zh-Hans", ZH, None),
    ("en translation, names romanised from the Chinese", EN_OF_ZH, "en", ZH, None),
    ("in a code fence", f"```json\n{ZH_OF_ZH}\n```", "zh-Hans", ZH, None),
    ("with chatter around it", f"好的，结果如下：{ZH_OF_ZH} 希望有帮助", "zh-Hans", ZH, None),
    ("full-width digits", answer("华为发布芯片", "华为新芯片性能提升３０%。"), "zh-Hans", ZH, None),
    (
        "a Chinese numeral in the source",
        answer("华为芯片", "3家运营商将首发华为芯片。"),
        "zh-Hans",
        ZH,
        None,
    ),
    (
        "AI is no invented name",
        answer("华为芯片用于AI", "华为芯片面向AI应用。"),
        "zh-Hans",
        ZH,
        None,
    ),
    (
        "a date from month names",
        answer("GPT-5发布", "OpenAI于3月5日发布GPT-5。"),
        "zh-Hans",
        EN,
        None,
    ),
    ("not JSON", "Sorry, I cannot help with that.", "zh-Hans", ZH, "malformed"),
    ("JSON without a summary", '{"title": "华为芯片"}', "zh-Hans", ZH, "malformed"),
    (
        "JSON that is cut short",
        '{"title": "华为芯片", "summary": "华为',
        "zh-Hans",
        ZH,
        "malformed",
    ),
    ("English where Chinese was asked", EN_OF_EN, "zh-Hans", EN, "language"),
    ("Chinese where English was asked", ZH_OF_ZH, "en", ZH, "language"),
    (
        "Japanese",
        answer("ファーウェイの新しいチップ", "ファーウェイが新しいチップを発表しました。"),
        "zh-Hans",
        ZH,
        "language",
    ),
    ("too long", answer("华为芯片", "华为发布芯片。" * 40), "zh-Hans", ZH, "length"),
    ("a title too long", answer("华为" * 70, "华为发布芯片。"), "zh-Hans", ZH, "length"),
    ("an empty summary", answer("华为芯片", ""), "zh-Hans", ZH, "length"),
    (
        "an English summary too long",
        answer("GPT-5", "OpenAI said GPT-5 is fast. " * 30),
        "en",
        EN,
        "length",
    ),
    ("a URL", answer("华为芯片", "详情见 https://evil.example/x 。"), "zh-Hans", ZH, "link"),
    ("a bare domain", answer("华为芯片", "详情请访问evil.example获取。"), "zh-Hans", ZH, "link"),
    (
        "a domain with a path",
        answer("华为芯片", "详情见 foo.xyzzy/abc 页面。"),
        "zh-Hans",
        ZH,
        "link",
    ),
    ("www", answer("华为芯片", "详情请看www.huawei.com。"), "zh-Hans", ZH, "link"),
    ("an address", answer("华为芯片", "联系 press@huawei.com 了解。"), "zh-Hans", ZH, "link"),
    (
        "an English link",
        answer("GPT-5", "OpenAI said GPT-5 is fast. Visit evil.example now."),
        "en",
        EN,
        "link",
    ),
    ("bold", answer("华为芯片", "**华为**发布芯片。"), "zh-Hans", ZH, "markup"),
    (
        "a markdown link without URL",
        answer("华为芯片", "华为发布[芯片](x)。"),
        "zh-Hans",
        ZH,
        "markup",
    ),
    ("a tag", answer("华为芯片", "华为发布<b>芯片</b>。"), "zh-Hans", ZH, "markup"),
    ("a heading", answer("# 华为芯片", "华为发布芯片。"), "zh-Hans", ZH, "markup"),
    ("backticks", answer("华为芯片", "华为发布`芯片`。"), "zh-Hans", ZH, "markup"),
    (
        "two paragraphs",
        answer("华为芯片", "华为发布芯片。\n\n余承东表示将上市。"),
        "zh-Hans",
        ZH,
        "markup",
    ),
    ("a bullet", answer("GPT-5", "- OpenAI said GPT-5 is fast."), "en", EN, "markup"),
    (
        "an invented percentage",
        answer("华为芯片", "华为芯片性能提升50%。"),
        "zh-Hans",
        ZH,
        "number",
    ),
    (
        "an invented full-width figure",
        answer("华为芯片", "华为芯片售价６９９９元。"),
        "zh-Hans",
        ZH,
        "number",
    ),
    ("a wrong scale", answer("GPT-5", "OpenAI训练GPT-5花费150亿美元。"), "zh-Hans", EN, "number"),
    ("an invented year", answer("GPT-5", "OpenAI released GPT-5 in 2026."), "en", EN, "number"),
    ("an invented company", answer("华为芯片", "华为联合Google发布芯片。"), "zh-Hans", ZH, "name"),
    (
        "an invented person",
        answer("GPT-5", "OpenAI said GPT-5 is fast, according to Elon Musk."),
        "en",
        EN,
        "name",
    ),
]


def test_there_are_enough_cases_of_each_kind() -> None:
    assert len(CASES) >= 30
    reasons = {reason for *_, reason in CASES}
    assert reasons == {None, *REASONS}


@pytest.mark.parametrize(
    ("raw", "target", "sources", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_an_answer_is_accepted_or_refused_for_its_reason(
    raw: str, target: str, sources: tuple[str, ...], reason: str | None
) -> None:
    verdict = check(raw, target, sources)
    assert verdict.reason == reason, verdict.detail
    if reason is None:
        assert verdict.title and verdict.summary


def test_a_cut_off_answer_is_refused_whatever_it_says() -> None:
    assert check(ZH_OF_ZH, "zh-Hans", ZH, cut_off=True).reason == "length"


def test_traditional_for_simplified_is_converted_not_refused() -> None:
    raw = answer("華為發布麒麟9000芯片", "華為在深圳發布麒麟9000芯片，性能提升30%，將於3月上市。")
    verdict = check(raw, "zh-Hans", ZH)
    assert verdict.ok, verdict.detail
    assert verdict.title == to_simplified("華為發布麒麟9000芯片")
    assert verdict.summary == to_simplified(
        "華為在深圳發布麒麟9000芯片，性能提升30%，將於3月上市。"
    )
    assert "发布" in verdict.summary


def test_parsing_is_lenient_about_the_wrapping_only() -> None:
    assert parse_answer('x {"a": 1} {"title": "t", "summary": "s"}') is None  # first object
    assert parse_answer('```\n{"title": " t ", "summary": "s"}\n```') == ("t", "s")
    assert parse_answer('{"title": 1, "summary": "s"}') is None


def test_limits_follow_the_extractive_summariser() -> None:
    fits = "华" * ZH_SUMMARY_MAX_CHARS
    assert check(answer("华为", fits), "zh-Hans", ("华为",)).ok
    assert check(answer("华为", fits + "华"), "zh-Hans", ("华为",)).reason == "length"


def test_language_families() -> None:
    assert language_family("zh-Hant") == language_family("zh-Hans") == "zh-Hans"
    assert language_family("en") == "en"
    assert language_family("other") == "other"
