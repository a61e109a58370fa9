"""Topic matching: whole Latin words, acronym case, Chinese word boundaries, vetoes, sections."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.taxonomy import load_taxonomy
from newsbrief.records import Topic, TopicNames

TAXONOMY = Path(__file__).resolve().parent.parent / "config" / "topics.yaml"
# A topic without aliases is matched by its names too: these have none, so only the terms count.
NAMELESS = TopicNames("", "", "")


@pytest.fixture(scope="module")
def matcher() -> TopicMatcher:
    return TopicMatcher(load_taxonomy(TAXONOMY).topics)


def test_latin_terms_match_whole_words_and_acronyms_keep_their_case() -> None:
    m = TopicMatcher(
        [Topic("ai", NAMELESS, ("AI", "machine learning")), Topic("x", NAMELESS, ("BTC",))]
    )
    assert m.match("New AI model released") == ("ai",)
    assert m.match("PAID subscribers in Thailand") == ()
    assert m.match("said the ai") == ()  # a short all-caps alias is an acronym
    assert m.match("Advances in Machine Learning") == ("ai",)  # other Latin terms ignore case
    assert m.match("国产AI芯片发布") == ("ai",)  # Chinese around a Latin term is a boundary
    assert m.match("AI-driven BTC trading") == ("ai", "x")
    assert m.match("nothing", base=("x",)) == ("x",)


def test_two_character_chinese_terms_respect_word_boundaries() -> None:
    m = TopicMatcher([Topic("sports", NAMELESS, ("球星", "足球"))])
    assert m.match("全球星级酒店评选揭晓") == ()  # 全球|星级: 球星 straddles two words
    assert m.match("球星梅西宣布退役") == ("sports",)
    assert m.match("中国足球队晋级") == ("sports",)  # 足球 begins 足球队: still football


def test_exclusions_veto_the_hits_they_cover() -> None:
    m = TopicMatcher([Topic("finance", NAMELESS, ("基金",), exclude=("基金会",))])
    assert m.match("红十字基金会发起募捐") == ()
    assert m.match("基金会发布年报，基金净值上涨") == ("finance",)


def test_a_weak_term_alone_files_nothing() -> None:
    m = TopicMatcher([Topic("stocks", NAMELESS, ("创业板",), weak=("大涨", "收评"))])
    assert m.match("有色金属期货收评：沪铜大涨") == ("stocks",)  # two weak terms are enough
    assert m.match("新能源车销量大涨") == ()  # one weak term says little
    assert m.match("创业板指数大涨") == ("stocks",)


def test_weak_terms_tip_sections_only_with_other_evidence() -> None:
    m = TopicMatcher(
        [
            Topic("finance", NAMELESS, ("央行",), aliases=("基金",), group="section"),
            Topic("stocks", NAMELESS, ("大盘",), weak=("建仓", "减仓"), group="section"),
        ]
    )
    # A fund story in market words is a fund story: the alias outweighs keyword and weak term.
    assert m.match("基金跑赢大盘，节前建仓") == ("finance",)
    assert m.match("大盘回落，游资减仓") == ("stocks",)
    # A keyword holding an alias weighs as the alias: 基金公司 is 基金 news, not a tie with 大盘.
    m = TopicMatcher(
        [
            Topic("finance", NAMELESS, ("基金公司",), aliases=("基金",), group="section"),
            Topic("stocks", NAMELESS, ("大盘",), group="section"),
        ]
    )
    assert m.match("基金公司跑赢大盘") == ("finance",)


def test_a_tie_between_sections_files_neither() -> None:
    m = TopicMatcher(
        [
            Topic("ai", NAMELESS, ("人工智能",)),
            Topic("sports", NAMELESS, ("冠军",), group="section"),
            Topic("entertainment", NAMELESS, ("电影",), group="section"),
        ]
    )
    assert m.match("人工智能电影获得冠军") == ("ai",)  # a film or a match? no section says
    assert m.match("电影节冠军电影揭晓") == ("entertainment",)
    assert m.match("冠军", base=("entertainment",)) == ("sports", "entertainment")


def test_word_boundaries_hold_across_a_clause() -> None:
    m = TopicMatcher([Topic("sports", NAMELESS, ("球星",)), Topic("x", NAMELESS, ("星级",))])
    # Both hits share one cut of the clause; the punctuation ends it.
    assert m.match("全球星级酒店，球星入住") == ("sports", "x")
    assert m.match("全球星级酒店评选揭晓") == ("x",)


def test_regex_rules_run_on_re2() -> None:
    m = TopicMatcher([Topic("ai", NAMELESS, (), regex=(r"GPT-?\d",))])
    assert m.match("OpenAI ships GPT-5") == ("ai",)
    assert m.match("GPT without a version") == ()


def test_long_texts_need_two_hits_or_one_in_the_lead() -> None:
    m = TopicMatcher([Topic("crypto", NAMELESS, ("比特币",))])
    filler = "今天的天气很好，大家都出去散步了。" * 20
    assert m.match(filler + "顺便一提比特币。") == ()
    assert m.match(filler + "比特币。比特币。") == ("crypto",)
    assert m.match("比特币新高。" + filler) == ("crypto",)


def test_crypto_aliases_and_subtopics(matcher: TopicMatcher) -> None:
    for text in ("BTC breaks $100k", "比特币突破十万美元", "大饼又跌了", "Bitcoin ETF inflows"):
        assert {"crypto", "bitcoin"} <= set(matcher.match(text)), text
    assert {"crypto", "ethereum"} <= set(matcher.match("以太坊坎昆升级完成，ETH上涨"))
    assert {"crypto", "exchanges"} <= set(matcher.match("币安宣布上线新币"))
    assert "exchanges" not in matcher.match("上海证券交易所发布新规")
    assert "bitcoin" not in matcher.match("老板又在画大饼")
    assert {"crypto", "defi"} <= set(matcher.match("Uniswap 锁仓量创新高"))
    assert "crypto-regulation" in matcher.match("香港推出稳定币监管框架")


def test_ai_topic(matcher: TopicMatcher) -> None:
    assert "ai" in matcher.match("国产大模型DeepSeek发布新版本")
    assert "ai" in matcher.match("OpenAI unveils GPT-5")
    assert "ai" not in matcher.match("PAID subscribers in Thailand")


def test_sports_on_any_feed(matcher: TopicMatcher) -> None:
    article = (
        "北京时间周日凌晨，英超第20轮一场焦点战在老特拉福德球场进行。曼联主场迎战利物浦，"
        "上半场双方互有攻守，下半场利物浦前锋打入制胜一球，最终客队1比0取胜，继续领跑积分榜。"
        "赛后曼联主帅表示球队将在冬季转会窗口补强后防。" + "这场比赛吸引了大量观众。" * 10
    )
    assert "sports" in matcher.match(article)
    assert matcher.match("湖人加时险胜勇士队，詹姆斯砍下40分") == ("sports",)
    assert matcher.match("Arsenal striker scores twice in Premier League win") == ("sports",)


def test_sections_compete(matcher: TopicMatcher) -> None:
    # One section per story: the one with the most evidence.
    assert matcher.match("高考分数线公布，多所大学扩大招生") == ("education",)
    assert matcher.match("网易新网游公测，玩家排队进入新服") == ("games",)
    assert matcher.match("基金经理上周集体减仓") == ("finance",)
    assert matcher.match("创业板午后拉升，券商股领涨") == ("stocks",)


def test_generic_words_need_company(matcher: TopicMatcher) -> None:
    # A word common to many sections files nothing by itself ...
    for text in ("影帝的妻子生日", "某校学生合唱获奖", "熊猫宝宝满月", "日本樱花季开始"):
        assert not {"society", "education", "science", "politics"} & set(matcher.match(text)), text
    # ... and counts with another term of its topic.
    assert "society" in matcher.match("男子醉驾撞车，妻子报警")
    assert "education" in matcher.match("高考前夕，学生减负")
    assert "politics" in matcher.match("日本首相宣布解散众议院")


def test_speed_sanity(matcher: TopicMatcher) -> None:
    # Not a benchmark (bench/quality_text.py measures): catches an accidental slowdown by 10x.
    article = ("人工智能公司发布新模型，股价上涨，球队夺冠，房价下跌，学生考试。" * 30)[:1000]
    matcher.match(article)
    start = time.perf_counter()
    for _ in range(50):
        matcher.match(article)
    assert time.perf_counter() - start < 5.0
