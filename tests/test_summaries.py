"""The extractive summariser: sentence splitting, budgets, lead bias, redundancy, reposted pages."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


# ---- Chinese lead-in clauses --------------------------------------------------------------

_STATEMENTS = (
    "多家银行宣布下调存款利率。",
    "国家统计局公布上月居民消费价格指数同比上涨百分之二。",
    "“嫦娥六号”探测器成功着陆月球背面。",
    "《自然》杂志发表了这项关于量子计算的研究。",
)
_LEAD_INS = (
    "日前，",
    "12月12日，",
    "2014年10月，",
    "昨日上午，",
    "据悉，",
    "据了解，",
    "据新华社报道，",
    "据“界面”报道，",
    "记者从市教育局获悉，",
    "记者了解到，",
    "澎湃新闻从内部获悉，",
    "业内人士认为，",
    "有分析人士指出，",
    "数据显示，",
    "最新调查显示，",
    "此外，",
    "与此同时，",
    "随着房价持续上涨，",
    "由于天气原因，",
    "为了稳定市场预期，",
    "在今年的政府工作报告中，",
    "在“双十一”期间，",
    "自去年以来，",
    "截至4月14日晚间，",
    "但是",
    "而且",
)


@pytest.mark.parametrize("statement", _STATEMENTS)
@pytest.mark.parametrize("lead_in", _LEAD_INS)
def test_lead_ins_do_not_open_a_chinese_summary(lead_in: str, statement: str) -> None:
    assert summarize(lead_in + statement, "zh-Hans") == statement
    # Chained ("日前，据悉，…") and before more text, under a tight budget.
    for opening in (lead_in, "日前，" + lead_in, lead_in + "据悉，"):
        text = opening + statement + "另一件事也发生了变化，但是影响不大。" * 5
        assert summarize(text, "zh-Hans", max_chars=len(statement)) == statement


@pytest.mark.parametrize(
    "sentence",
    [
        "如果明天下雨，比赛将取消。",  # a condition: the rest alone says something else
        "李克强表示，中国经济不会硬着陆。",  # a named voice is part of the news
        "据新华社报道，地震了。",  # nothing left that states something
        "由于天气原因，停了。",
        "另外两名嫌疑人仍在逃。",  # "另外" as "the other", not "besides"
    ],
)
def test_what_is_not_a_lead_in_stays(sentence: str) -> None:
    assert summarize(sentence, "zh-Hans") == sentence


# ---- what fills the room left in a budget -------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    ["新民网", "（大河报）", "@北京环保宣传", "#慢文化#", "更多内容请看这里→", "见", "详情…"],
)
def test_credits_and_fragments_do_not_fill_a_summary(tail: str) -> None:
    lead = "明日，复旦投毒案将进行二审宣判。"
    body = "此案一审判处被告死刑，被告提出上诉，二审曾经延期审理多次。"
    summary = summarize(lead + body + tail, "zh-Hans", max_chars=30)
    assert summary == "复旦投毒案将进行二审宣判。"
    # A whole short sentence still joins the lead when it fits.
    assert summarize(lead + body + "家属到庭。", "zh-Hans", max_chars=30) == (
        "复旦投毒案将进行二审宣判。家属到庭。"
    )


def test_list_numbers_do_not_end_sentences() -> None:
    text = "1.编程。编程能力很重要。2.大数据。它在2015年增长3.5%。"
    assert split_sentences(text) == [
        "1.编程。",
        "编程能力很重要。",
        "2.大数据。",
        "它在2015年增长3.5%。",
    ]
    assert split_sentences("It clocks up 35.86. Due next week, 2. Then 3.5. Or not. 12. Next") == [
        "It clocks up 35.86.",
        "Due next week, 2.",
        "Then 3.5.",
        "Or not.",
        "12. Next",
    ]
    assert split_sentences("1. Buy milk. 2. Eat. Sales grew 3. Then fell.") == [
        "1. Buy milk.",
        "2. Eat.",
        "Sales grew 3.",
        "Then fell.",
    ]


def test_a_text_that_is_all_one_labelled_line_still_has_a_summary() -> None:
    text = "编者按：为设计师量身打造的职场沟通超实用系列！今天同学分享了十一条沟通秘诀。"
    assert summarize(text, "zh-Hans", max_chars=30) == "为设计师量身打造的职场沟通超实用系列！"
    assert summarize("Summary: Rates rose again today.", "en") == "Rates rose again today."


@pytest.mark.parametrize("link", ["其中", "并", "而", "表示", "同时", "但"])
def test_a_shortened_lead_never_opens_on_a_clause_that_continues_another(link: str) -> None:
    # The second clause repeats what the rest of the text is about, so it is the most telling
    # run; opening on it would leave "其中…" or "表示…" without its antecedent.
    lead = f"国家卫生部门周二发布全国疫情通报，{link}上海新增感染病例二十四人，病例分布在多个区县。"
    text = lead + "上海新增感染病例较多。" + "上海新增感染病例引发关注。" * 2
    summary = summarize(text, "zh-Hans", max_chars=30)
    assert len(summary) <= 30
    assert not summary.startswith(link), summary


@pytest.mark.parametrize("pad", range(6))
def test_a_chinese_cut_without_a_clause_mark_ends_between_words(pad: int) -> None:
    # No comma to cut at: the cut lands inside "人工智能" or "大模型" for some paddings.
    sentence = "研究" * pad + "这家公司今年在上海发布了面向企业用户的人工智能大模型产品并开始收费。"
    text = sentence + "另一件事。" * 3
    summary = summarize(text, "zh-Hans", max_chars=30)
    assert sentence.startswith(summary) and 21 <= len(summary) <= 30
    rest = sentence[len(summary) :]
    for word in ("人工智能", "大模型", "企业用户", "开始收费"):
        inside = [sentence.index(word) + k for k in range(1, len(word))]
        assert len(summary) not in inside, (summary, rest)


@pytest.mark.parametrize("opener", ["“", "《", "（", "「"])
def test_a_chinese_cut_never_leaves_a_quotation_open(opener: str) -> None:
    closer = {"“": "”", "《": "》", "（": "）", "「": "」"}[opener]
    sentence = f"目前已经有两家拟上市的企业接到了监管层发出的{opener}封卷通知书及相关材料{closer}下一步则是等待批文"
    summary = summarize(sentence + "。另一件事。", "zh-Hans", max_chars=30)
    assert summary.endswith("发出的"), summary


_ZH_ALPHABET = (
    "今天北京市发布人工智能新规据悉报道表示随着由于在中其并但“”《》（）「」，。；：！？ A1.%"
)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=_ZH_ALPHABET, max_size=160), budget=st.integers(4, 60))
@example(text="11，““", budget=4)  # a piece tokenised alone counted more tokens than its sentence
def test_any_chinese_text_fits_its_budget(text: str, budget: int) -> None:
    summary = summarize(text, "zh-Hans", max_chars=budget)
    assert len(summary) <= budget
    # Cut from the text's own sentences: nothing invented, nothing reordered inside a piece.
    for piece in split_sentences(summary):
        assert piece.strip(" ") in text.replace("\n", "")


def test_short_whole_english_sentences_still_join_but_exclamations_do_not() -> None:
    text = (
        "Rates rose again. Markets fell sharply. Congratulations! Banks cut jobs across the "
        "country as lending dried up."
    )
    # Room for the two short sentences and the exclamation, not for the long last sentence.
    assert summarize(text, "en", max_chars=58) == "Rates rose again. Markets fell sharply."
