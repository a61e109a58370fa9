"""Generated English headlines with the taxonomy's ambiguous words (names that are ordinary
words, common nouns inside place names) in their other senses and in their topic's sense: the
first must file no section by that word, the second the right topic."""

from __future__ import annotations

import random

import pytest

from newsbrief.articles.topics import TopicMatcher, is_ordinary_word
from newsbrief.config.taxonomy import load_taxonomy

MATCHER = TopicMatcher(load_taxonomy("config/topics.yaml").topics)

# word, its topic, sentences using it in another sense (places, objects, animals, jobs).
OTHER_SENSES: list[tuple[str, str, list[str]]] = [
    (
        "bank",
        "finance",
        [
            "settlers attacked a village in the West Bank",
            "a body was found on the river bank",
            "volunteers stocked the local food bank",
        ],
    ),
    (
        "Amazon",
        "tech",
        [
            "fires spread across the Amazon",
            "a medieval path claims a victim: an Amazon van",
            "tribes of the Amazon rainforest",
        ],
    ),
    (
        "Apple",
        "tech",
        ["farmers pick apple harvest early", "a recipe for apple pie", "the Big Apple marathon"],
    ),
    (
        "Java",
        "tech",
        ["an earthquake shakes Java", "volcano erupts on Java", "floods hit central Java"],
    ),
    (
        "Python",
        "tech",
        [
            "a python was found in a toilet",
            "zoo keepers feed the python",
            "a Burmese python swallowed a deer",
        ],
    ),
    (
        "Windows",
        "tech",
        [
            "storm smashes windows across the city",
            "thieves climb through windows",
            "church windows restored",
        ],
    ),
    (
        "Oracle",
        "tech",
        [
            "tourists visit the oracle at Delphi",
            "the Oracle of Omaha speaks",
            "a village oracle predicts rain",
        ],
    ),
    (
        "Signal",
        "tech",
        ["a signal failure delays trains", "rail signal fault", "a faint signal from the mountain"],
    ),
    ("Meta", "tech", ["a meta joke about the film", "the meta of the card game"]),
]

TOPIC_SENSES: list[tuple[str, str]] = [
    ("Amazon Inc reports record cloud revenue", "tech"),
    ("Apple's iPhone sales slow in China", "tech"),
    ("Regulators fined Oracle over its database licences", "tech"),
    ("A security flaw was found in Windows and Linux", "tech"),
    ("Central bank raises interest rates again", "finance"),
    ("Analysts expect Amazon Inc to launch a smartphone", "tech"),
    ("Developers moved from Java to Python for the software", "tech"),
    ("Bitcoin ETF inflows hit a record", "bitcoin"),
]

FRAMES = ["{s}", "{S}.", "Report: {s}", "Watch: {s}", "{T}", "Why {s}", "{S}, officials say"]


def variants(sentence: str, rng: random.Random, count: int = 4) -> list[str]:
    """The sentence in several headline shapes: sentence case, Title Case, after a label."""
    title = " ".join(w[:1].upper() + w[1:] for w in sentence.split())
    out = []
    for frame in rng.sample(FRAMES, count):
        out.append(frame.format(s=sentence, S=sentence[:1].upper() + sentence[1:], T=title))
    return out


@pytest.mark.parametrize("word,topic,sentences", OTHER_SENSES, ids=[w for w, _, _ in OTHER_SENSES])
def test_other_senses_file_no_section(word: str, topic: str, sentences: list[str]) -> None:
    rng = random.Random(word)
    for sentence in sentences:
        for headline in variants(sentence, rng):
            assert topic not in MATCHER.match(headline), headline


@pytest.mark.parametrize("headline,topic", TOPIC_SENSES)
def test_topic_senses_file_the_topic(headline: str, topic: str) -> None:
    assert topic in MATCHER.match(headline), headline


def test_the_dictionary_tells_names_from_words() -> None:
    assert all(is_ordinary_word(w) for w in ("Amazon", "Oracle", "Windows", "Java", "Shell"))
    assert not any(is_ordinary_word(w) for w in ("Google", "Nvidia", "Huawei", "Bitcoin"))


def test_explain_says_where_each_term_was_found() -> None:
    found = MATCHER.explain(
        "Bitcoin ETF inflows hit a record",
        "Funds bought more bitcoin this week. " + "Markets were calm. " * 12 + "AI desks bought.",
    )
    bitcoin = next(e for e in found if e.topic == "bitcoin")
    assert [(t.term, t.place) for t in bitcoin.terms][:2] == [
        ("Bitcoin ETF", "title"),
        ("bitcoin", "lead"),
    ]
    assert found[0].topic == "bitcoin"
    ai = next((e for e in found if e.topic == "ai"), None)
    assert ai is None or ai.strength < bitcoin.strength
