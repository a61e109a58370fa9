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


# -- variants: generated, so a reworded trick is caught as well as the one written here ------

DOMAINS = ("evil.example", "airdrop-now.xyz", "t.me/joinchat", "bit.ly/3xYz")
HIDING = (
    lambda d: d,
    lambda d: d.replace(".", "[.]", 1),
    lambda d: d.replace(".", "(.)", 1),
    lambda d: d.replace(".", " dot ", 1),
    lambda d: d.replace(".", "（.）", 1),
    lambda d: d.replace(".", "点", 1),
    lambda d: d.replace(".", "．", 1).upper().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),
)
PLACES = ("详情见 {}", "更多请访问{}。", "（{}）", "{} 有完整报道")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("hide", range(len(HIDING)))
@pytest.mark.parametrize("place", PLACES)
def test_a_link_is_refused_however_it_is_written(domain: str, hide: int, place: str) -> None:
    summary = "华为在深圳发布麒麟9000芯片，" + place.format(HIDING[hide](domain))
    assert check(answer("华为发布芯片", summary), "zh-Hans", ZH).reason == "link"


@pytest.mark.parametrize(
    "contact",
    [
        "加微信 huawei_vip8 领取优惠",
        "添加vx：hw2025deal",
        "电报群：@kirin_leaks",
        "关注 @kirinleaks 获取内幕",
        "WeChat ID: kirin888",
        "QQ群 88886666",
    ],
)
def test_a_contact_handle_is_refused_as_a_link(contact: str) -> None:
    summary = f"华为在深圳发布麒麟9000芯片。{contact}"
    assert check(answer("华为发布芯片", summary), "zh-Hans", ZH).reason == "link"


def test_a_sentence_ending_between_names_is_no_link() -> None:
    sources = ("Google launches the Gemini app", "Google launched Gemini. The app comes next week.")
    raw = answer("谷歌发布Gemini", "谷歌推出了Gemini。App版本下周上线。")
    assert check(raw, "zh-Hans", sources).ok


INVENTED = {
    # The sources (EN) say 40%, $1.5 billion, March 5, 2025: each of these says something else.
    "zh-Hans": [
        f"OpenAI训练GPT-5花费{x}美元。"
        for x in ("20亿", "二十亿", "15.5亿", "1500亿", "２０亿", "三千万")
    ]
    + [f"GPT-5比GPT-4快{x}。" for x in ("45%", "百分之五十", "四成五", "２５％")],
    "en": [
        f"OpenAI said GPT-5 cost {x} to train."
        for x in ("$2 billion", "fifty million dollars", "1.5 trillion", "15 billion dollars")
    ]
    + [f"OpenAI said GPT-5 runs {x} faster." for x in ("forty-five percent", "60%")],
}


@pytest.mark.parametrize(
    ("target", "summary"), [(t, s) for t, summaries in INVENTED.items() for s in summaries]
)
def test_an_invented_figure_is_refused_however_it_is_written(target: str, summary: str) -> None:
    title = "OpenAI发布GPT-5" if target == "zh-Hans" else "OpenAI releases GPT-5"
    assert check(answer(title, summary), target, EN).reason == "number", summary


@pytest.mark.parametrize(
    "summary",
    [
        "OpenAI said GPT-5 cost 1.5 billion dollars to train and runs forty percent faster.",
        "OpenAI said GPT-5 cost $1,500 million to train.",
        "OpenAI said GPT-5 runs 40 percent faster than GPT-4.",
    ],
)
def test_the_sources_figures_pass_in_other_words(summary: str) -> None:
    assert check(answer("OpenAI releases GPT-5", summary), "en", EN).ok


def test_telegraphic_english_is_english_and_other_latin_languages_are_not() -> None:
    sources = ("百度发布新一代文心大模型", "百度去年营收达到1345亿元，同比增长8%。")
    title = "Baidu releases a new Ernie model"
    ok = answer(title, "Baidu said revenue reached 134.5 billion yuan last year, up 8%.")
    assert check(ok, "en", sources).ok
    for foreign in (
        "Baidu sagte, der Umsatz sei im letzten Jahr um 8 % auf 134,5 Milliarden Yuan gestiegen.",
        "Baidu mengatakan pendapatan mencapai 134,5 miliar yuan tahun lalu, naik 8%.",
        "Baidu a déclaré que ses revenus ont atteint 134,5 milliards de yuans, en hausse de 8 %.",
    ):
        assert check(answer(title, foreign), "en", sources).reason == "language", foreign


@pytest.mark.parametrize(
    ("chinese", "latin"),
    [
        ("英伟达", "Nvidia"),
        ("微软", "Microsoft"),
        ("腾讯", "Tencent"),
        ("字节跳动", "ByteDance"),
        ("黄仁勋", "Jensen Huang"),
        ("比特币", "Bitcoin"),
        ("币安", "Binance"),
    ],
)
def test_a_well_known_name_translated_is_the_sources(chinese: str, latin: str) -> None:
    sources = (f"{chinese}发布新消息", f"{chinese}周二发布了新消息，市场反应平淡。")
    raw = answer(f"{latin} makes an announcement", f"{latin} made an announcement on Tuesday.")
    assert check(raw, "en", sources).ok
    # The same name with a source that does not mention it is an invented one.
    other = ("腾讯发布新消息" if chinese != "腾讯" else "百度发布新消息", "市场反应平淡。")
    assert check(raw, "en", other).reason == "name"


@pytest.mark.parametrize(
    "keys",
    [
        ("title", "summary"),
        ("Title", "Summary"),
        ("headline", "summary"),
        ("标题", "摘要"),
        ("title_zh", "summary_zh"),
        ("標題", "總結"),
        ("Headline", "Abstract"),
    ],
)
def test_the_keys_may_be_named_as_a_model_names_them(keys: tuple[str, str]) -> None:
    raw = json.dumps(
        {keys[0]: " 华为发布芯片 ", keys[1]: "华为在深圳发布麒麟9000芯片。"}, ensure_ascii=False
    )
    assert parse_answer(raw) == ("华为发布芯片", "华为在深圳发布麒麟9000芯片。")


def test_an_object_without_a_title_and_a_summary_is_malformed() -> None:
    for raw in (
        '{"text": "华为发布芯片"}',
        '{"title": "华为", "body": "x"}',
        '{"title": 3, "summary": "x"}',
    ):
        assert parse_answer(raw) is None
        assert check(raw, "zh-Hans", ZH).reason == "malformed"


def test_a_reasoning_models_thinking_is_not_its_answer() -> None:
    draft = answer("草稿标题", "草稿：华为发布了芯片，详情见 huawei.example。")
    final = answer("华为发布麒麟9000芯片", "华为在深圳发布麒麟9000芯片，性能提升30%。")
    raw = f"<think>\nThe user wants JSON. First try: {draft}\nBetter without the link.\n</think>\n{final}"
    verdict = check(raw, "zh-Hans", ZH)
    assert verdict.ok and verdict.title == "华为发布麒麟9000芯片"
