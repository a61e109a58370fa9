"""The extractive summariser: sentence splitting, budgets, lead bias, redundancy, reposted pages."""

from __future__ import annotations

import pytest

from newsbrief.articles.summaries import (
    EN_BUDGET_WORDS,
    ZH_BUDGET_CHARS,
    ExtractiveSummarizer,
    Summarizer,
    split_sentences,
    summarize,
)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("他说：“我很好。”然后走了！", ["他说：“我很好。”", "然后走了！"]),
        ("真的吗？是的……好吧；嗯", ["真的吗？", "是的……", "好吧；", "嗯"]),
        ("「完了。」下一句。", ["「完了。」", "下一句。"]),
        ("标题\n正文第一句。", ["标题", "正文第一句。"]),
        (
            "The U.S. economy grew 3.5% in Q3. Mr. Smith agreed.",
            ["The U.S. economy grew 3.5% in Q3.", "Mr. Smith agreed."],
        ),
        ("It costs approx. five dollars. Fine!", ["It costs approx. five dollars.", "Fine!"]),
        ('He said "no." Then left.', ['He said "no."', "Then left."]),
        ("Dr. J. K. Rowling wrote it. Yes?", ["Dr. J. K. Rowling wrote it.", "Yes?"]),
        ("Visit example.com today. OK", ["Visit example.com today.", "OK"]),
        ("英文 A.I. 混排。然后", ["英文 A.I. 混排。", "然后"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_short_text_is_its_own_summary() -> None:
    assert (
        summarize("  OpenAI 发布了新的大模型。它更快。 ", "zh-Hans")
        == "OpenAI 发布了新的大模型。它更快。"
    )
    assert summarize("Just one line", "en") == "Just one line"
    assert summarize("", "en") == ""
    assert summarize("  \n ", "zh-Hans") == ""


def _zh_article() -> str:
    return (
        "比特币价格周二突破十万美元，创下历史新高，市场情绪高涨。"
        "分析人士认为，现货ETF资金持续流入是比特币上涨的主要推动力。"
        "此外，多家交易所的交易量也明显放大，链上活跃地址数增加。"
        "监管方面，美国证监会近期对加密资产的态度有所缓和。"
        "与此同时，以太坊价格同步上涨，涨幅超过百分之五。"
        "以太坊网络的手续费也有所上升。"
        "本文仅供参考，不构成投资建议。"
    )


def test_chinese_budget_and_order() -> None:
    text = _zh_article() * 3
    summary = summarize(text, "zh-Hans")
    assert len(summary) <= ZH_BUDGET_CHARS
    assert summary.startswith("比特币价格周二突破十万美元")
    parts = split_sentences(summary)
    assert 1 <= len(parts) <= 3
    positions = [text.index(p) for p in parts]
    assert positions == sorted(positions)  # reading order


def test_max_chars_overrides_and_cuts_at_a_clause() -> None:
    summary = summarize(_zh_article(), "zh-Hans", max_chars=30)
    assert len(summary) <= 30
    assert summary == "比特币价格周二突破十万美元，创下历史新高，市场情绪高涨。"
    tight = summarize("很长的句子" * 40 + "。后面的句子。", "zh-Hans")
    assert len(tight) <= ZH_BUDGET_CHARS
    assert tight.startswith("很长的句子")  # the lead, cut, rather than a minor short sentence
    assert not tight.endswith(("…", "..."))


def test_english_word_budget() -> None:
    sentence = "The central bank raised interest rates by a quarter point on {} to fight inflation."
    text = " ".join(sentence.format(day) for day in ("Monday", "Tuesday", "Friday")) * 3
    text += " Analysts had expected the move after strong jobs data last month."
    summary = summarize(text, "en")
    assert len(summary.split()) <= EN_BUDGET_WORDS
    assert summarize(text, "en", max_chars=80).__len__() <= 80


def test_never_the_abstract_line_nor_a_truncated_echo() -> None:
    body = _zh_article()
    page = "摘要：" + body[:40] + "…\n导读: 今日要闻\n" + body + "\n" + body[:25] + "...\n"
    for max_chars in (None, 30, 200):
        summary = summarize(page, "zh-Hans", max_chars)
        assert "摘要" not in summary and "导读" not in summary
        assert not summary.endswith(("…", "..."))
        assert summary.startswith("比特币价格周二突破十万美元")


def test_redundant_sentences_are_not_both_taken() -> None:
    text = (
        "Apple released a new iPhone on Tuesday. "
        "Apple released a new iPhone on Tuesday, the company said. "
        "The phone has a faster chip and a better camera. "
        "Analysts expect strong sales in the holiday season. "
        "Prices start at 799 dollars in the US. "
        "Critics say the design barely changed this year."
    )
    summary = summarize(text, "en")
    assert summary.count("Apple released a new iPhone") == 1
    assert len(split_sentences(summary)) >= 2


def test_leading_dateline_clause_is_dropped() -> None:
    text = (
        "12月12日，多家银行宣布下调存款利率。"
        + "市场人士认为此举将降低融资成本。" * 4
        + "其他消息。" * 30
    )
    assert summarize(text, "zh-Hans").startswith("多家银行宣布下调存款利率。")


def test_summarizer_protocol() -> None:
    summarizer: Summarizer = ExtractiveSummarizer()
    assert summarizer.summarize("一句话。", "zh-Hans") == "一句话。"


def test_newsletter_greetings_and_headings_never_open_or_join_a_summary() -> None:
    text = (
        "Welcome back to In the Loop, TIME's new twice-weekly newsletter about AI.\n"
        "OpenAI released a new reasoning model on Tuesday that it says makes fewer mistakes.\n"
        "Free speech clash\n"
        "A federal judge blocked a state law that would have required AI companies to label "
        "political deepfakes, saying it likely violates the First Amendment.\n"
        "If you're reading this in your inbox, forward it to a friend.\n"
        "Sign up to receive In the Loop every Tuesday and Thursday."
    )
    summary = summarize(text, "en")
    assert summary.startswith("OpenAI released a new reasoning model")
    for framing in ("Welcome", "Free speech clash", "inbox", "Sign up"):
        assert framing not in summary
    assert summarize("Welcome back to This Week in Stratechery!\n" + text, "en") == summary


def test_chinese_framing_and_headings_are_not_summary_sentences() -> None:
    text = (
        "大家好，欢迎来到本期科技早报。\n点击上方蓝字关注我们\n本期导读\n"
        + _zh_article()
        + "\n欢迎转发分享给更多朋友！"
    )
    summary = summarize(text, "zh-Hans")
    assert summary.startswith("比特币价格周二突破十万美元")
    assert "欢迎" not in summary and "导读" not in summary and "关注" not in summary


def test_news_that_speaks_of_subscribers_or_to_you_stays() -> None:
    text = (
        "Netflix will raise prices for its subscribers in the US next month, the company said.\n"
        "If you pay for the standard plan, your bill will rise by two dollars."
    )
    assert summarize(text, "en") == text.replace("\n", " ")
    # A one-line item without a full stop is still its own summary.
    assert summarize("Apple unveils a new iPhone", "en") == "Apple unveils a new iPhone"


def test_an_over_long_chinese_lead_gives_whole_clauses() -> None:
    lead = (
        "在中共十八大报告中明确提出国民收入倍增计划超过半年之后，"
        "发改委已经牵头组织相关部门，制定出台合理提高劳动报酬的配套方案。"
    )
    text = lead + "劳动报酬方案将分批公布。发改委表示，劳动报酬配套方案一年内出台。"
    summary = summarize(text, "zh-Hans", max_chars=30)
    assert len(summary) <= 30
    assert summary in lead
    end = lead.index(summary) + len(summary)
    assert lead[end : end + 1] in ("", "，", "。"), summary  # where a clause ends, not mid-word
