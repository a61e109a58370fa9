"""The section model: shipped in the package, sure of clear cases in Chinese and English, silent
on nonsense, and never producing a section the taxonomy does not have."""

from __future__ import annotations

import time
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from newsbrief.articles.sections import (
    MODEL_FILE,
    OTHER,
    SectionModel,
    cjk_key,
    features,
    script,
    shipped_model,
)
from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.taxonomy import load_taxonomy
from newsbrief.records import Topic, TopicNames

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = ROOT / "config" / "topics.yaml"
NAMELESS = TopicNames("", "", "")

CLEAR = {
    "湖人加时险胜勇士队，詹姆斯砍下40分": "sports",
    "沪指收涨1.2%，券商股领涨": "stocks",
    "高考分数线公布，多所大学扩大招生": "education",
    "房价连续三个月下跌，北京楼市成交回暖": "realty",
    "网易新网游公测，玩家排队进入新服": "games",
    "周杰伦新专辑首周销量破百万": "entertainment",
    "男子醉驾撞车，妻子报警": "society",
    "Champions League: Chelsea coach Mourinho praises his striker after 2-0 win": "sports",
    "Chancellor unveils budget tax cuts ahead of general election": "politics",
    "Microsoft patches security flaw in Windows software used by millions of PC users": "tech",
    "Central bank raises interest rates to curb inflation": "finance",
    "Film star wins best actress award at the Oscars ceremony": "entertainment",
}
NONSENSE = ("", "   ", "asdf qwer zxcv", "12345 !!!", "红烧肉的家常做法", "今天中午吃什么好呢")
# Headlines of issue #13 the rules once filed under finance or tech by a bare word.
ISSUE_HEADLINES = (
    "Prosecutors plan to charge Israeli settler with killing Palestinian activist in the West Bank",
    "A Deadly Medieval Path in England Claims a Modern Victim: An Amazon Van",
    "CEO of Dubai's largest port replaced after ties to Epstein revealed",
    "How Germany's skilled worker gap exposes migration hurdles",
)


@pytest.fixture(scope="module")
def topics() -> list[Topic]:
    return list(load_taxonomy(TAXONOMY).topics)


@pytest.fixture(scope="module")
def sections(topics: list[Topic]) -> frozenset[str]:
    return frozenset(t.id for t in topics if t.group == "section")


@pytest.fixture(scope="module")
def model() -> SectionModel:
    return shipped_model()


def test_the_model_ships_in_the_package(sections: frozenset[str]) -> None:
    shipped = resources.files("newsbrief.articles") / MODEL_FILE
    assert shipped.is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert MODEL_FILE in pyproject["tool"]["setuptools"]["package-data"]["newsbrief.articles"]
    with resources.as_file(shipped) as path:
        assert path.stat().st_size < 2_000_000
        start = time.perf_counter()
        model = SectionModel.load(path)
        assert time.perf_counter() - start < 1.0
    assert set(model.classes) == {*sections, OTHER}
    assert model.known["zh"] == set(model.classes)
    assert {"finance", "politics", "sports", "tech", "entertainment"} <= model.known["en"]


def test_clear_cases_in_both_scripts(model: SectionModel, sections: frozenset[str]) -> None:
    for text, section in CLEAR.items():
        assert model.choose(text, None, sections) == section, text
        assert model.choose(text, section, sections) == section, text


def test_it_abstains_on_nonsense(model: SectionModel, sections: frozenset[str]) -> None:
    for text in NONSENSE:
        assert model.choose(text, None, sections) is None, text
    # Food is no section: the model does not guess one, and overrules a rule that did.
    assert max(model.probabilities("红烧肉的家常做法").items(), key=lambda kv: kv[1])[0] == OTHER
    assert model.choose("红烧肉的家常做法", "society", sections) is None


def test_a_section_the_taxonomy_lacks_is_never_produced(topics: list[Topic]) -> None:
    without = [t for t in topics if t.id not in {"sports", "stocks"}]
    matcher = TopicMatcher(without)
    ids = {t.id for t in without}
    for text in (
        *CLEAR,
        *ISSUE_HEADLINES,
        "英超：曼联主场1比0战胜利物浦",
        "创业板午后拉升，券商股领涨",
    ):
        assert set(matcher.match(text)) <= ids, text
    assert not {"sports", "stocks"} & set(matcher.match("湖人加时险胜勇士队，詹姆斯砍下40分"))
    # A taxonomy with no section the model knows leaves the rules alone.
    lone = [Topic("sport", NAMELESS, ("球队",), group="section")]
    assert TopicMatcher(lone).match("湖人加时险胜勇士队") == ()


def test_an_admins_own_section_keeps_the_rules_verdict(topics: list[Topic]) -> None:
    health = Topic("health", NAMELESS, ("养生", "保健"), group="section")
    matcher = TopicMatcher([*topics, health])
    assert "health" in matcher.match("冬季养生保健小窍门")
    assert "health" in matcher.match("湖人队医分享养生保健心得")  # the model may not overrule it


def test_the_model_adds_and_drops_sections_the_rules_alone_would_not(topics: list[Topic]) -> None:
    rules, both = TopicMatcher(topics, sections=None), TopicMatcher(topics)
    # No listed term, but the model is sure.
    assert "finance" not in rules.match("基金公司跑赢大盘") and "finance" in both.match(
        "基金公司跑赢大盘"
    )
    # A listed term, but the story is none of the sections.
    assert both.match("红烧肉的家常做法，老人孩子都爱吃") == ()


def test_the_issue_headlines_get_no_finance_or_tech_from_the_model(
    model: SectionModel, sections: frozenset[str], topics: list[Topic]
) -> None:
    rules, both = TopicMatcher(topics, sections=None), TopicMatcher(topics)
    for headline in ISSUE_HEADLINES:
        assert model.choose(headline, None, sections) not in {"finance", "tech"}, headline
        added = set(both.match(headline)) - set(rules.match(headline))
        assert not added & {"finance", "tech"}, headline


def test_english_leaves_sections_it_never_read_to_the_rules(
    model: SectionModel, sections: frozenset[str]
) -> None:
    # Its English is five BBC sections: no society, so a society pick stands as the rules made it.
    assert "society" not in model.known["en"]
    assert (
        model.choose("Police arrest man after church explosion", "society", sections) == "society"
    )


def test_scripts() -> None:
    assert script("湖人加时险胜勇士队") == "zh"
    assert script("苹果发布iPhone 15 Pro") == "zh"
    assert script("Apple unveils the iPhone 15 in 北京") == "en"
    assert script("") == script("12345") == "en"


def test_the_fast_features_are_the_trained_ones(model: SectionModel) -> None:
    texts = [
        *CLEAR,
        *ISSUE_HEADLINES,
        "İstanbul 伊斯坦布尔 Dubai’s port, ＡＢＣ 𠀀𠀁 a\ud800b 中",
        ("上证指数收涨，沪深两市成交额放大。" * 40) + " and the English tail " * 20,
    ]
    for text in texts:
        rows, _ = model.rows(text)
        assert len(rows) == len(set(rows.tolist())), text
        expected = set()
        for feature in features(text):
            key = cjk_key(feature)
            if key is None:
                if feature in model.words:
                    expected.add(model.words[feature])
            else:
                at = int(np.searchsorted(model.cjk, key))
                if at < len(model.cjk) and model.cjk[at] == key:
                    expected.add(at)
        assert set(rows.tolist()) == expected, text


def test_speed_sanity(model: SectionModel, sections: frozenset[str]) -> None:
    # Not a benchmark (bench/quality_topics.py measures): catches an accidental slowdown by 10x.
    article = ("上证指数收涨，沪深两市成交额放大，券商板块领涨，北向资金净流入。" * 60)[:1500]
    model.choose(article, None, sections)
    start = time.perf_counter()
    for _ in range(100):
        model.choose(article, None, sections)
    assert time.perf_counter() - start < 2.0
