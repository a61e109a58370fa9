"""Article text -> its key terms: jieba TF-IDF for Chinese, frequency minus stopwords for English.

Words come from rjieba (jieba's algorithm and dictionary in Rust, the same cuts ~13x faster);
jieba itself only lends its IDF table. Both are imported here and nowhere else in the core
(``topics`` borrows ``segment``), and load once per process, on the first Chinese text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

# Function words and newsroom filler that say nothing about what a story is about.
_EN_STOPWORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    said says say told tell according year years week weeks day days month months time times new
    one two three four five six seven eight nine ten first second last next many much may might
    must shall us mr mrs ms dr per cent percent people however although though yet still well
    even since around including made make makes making get gets got take takes took like use used
    want wants back way ways part being there's it's that's don't can't won't didn't isn't also
    could've would've should've monday tuesday wednesday thursday friday saturday sunday
    """
EN_STOPWORDS = frozenset(_EN_STOPWORDS_TEXT.split())

# Home-turf terms jieba's 2012-era dictionary splits ("比特|币"): whole words for TF-IDF and for
# the segmentation checks in ``topics``.
DOMAIN_WORDS = (
    "比特币",
    "以太坊",
    "以太币",
    "狗狗币",
    "稳定币",
    "山寨币",
    "加密货币",
    "虚拟货币",
    "数字货币",
    "区块链",
    "币圈",
    "币安",
    "交易所",
    "去中心化",
    "智能合约",
    "大模型",
    "大语言模型",
    "人工智能",
    "生成式",
    "智能体",
    "具身智能",
    "算力",
    "机器学习",
    "深度学习",
    "神经网络",
    "多模态",
    "英伟达",
    "芯片",
    "半导体",
    "光刻机",
    "自动驾驶",
    "新能源车",
    "鸿蒙",
    "元宇宙",
)

_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*[A-Za-z0-9]|[A-Za-z]")
# jieba's TF-IDF happily returns numbers and Latin fragments; a key term needs a letter or a Han.
_MEANINGFUL = re.compile(r"[A-Za-z\u4e00-\u9fff]")


@functools.cache
def _segmenter() -> Any:
    """rjieba with the home-turf words added, once per process."""
    import rjieba

    cutter = rjieba.Jieba()
    for word in DOMAIN_WORDS:
        cutter.add_word(word, 2000, None)
    return cutter


@dataclass(frozen=True, slots=True)
class _Idf:
    weights: dict[str, float]
    default: float  # for a word the table lacks: jieba's median
    stopwords: frozenset[str]


@functools.cache
def _idf() -> _Idf:
    """jieba's IDF table and stopwords (importing jieba.analyse reads them; its own dictionary,
    the slow part, stays unloaded)."""
    logging.getLogger("jieba").setLevel(logging.WARNING)
    from jieba.analyse import default_tfidf

    return _Idf(
        default_tfidf.idf_freq, default_tfidf.median_idf, frozenset(default_tfidf.stop_words)
    )


def segment(text: str) -> list[str]:
    """Chinese words of ``text`` (jieba's precise mode without HMM: fast and deterministic)."""
    words: list[str] = _segmenter().cut(text, False)
    return words


KEYWORD_CHARS = 600
"""News puts what it is about up front: the lead is enough, and segmenting costs per character."""


def keywords(text: str, lang: str, k: int = 5) -> list[str]:
    """Up to ``k`` key terms of ``text`` (its first ``KEYWORD_CHARS``), most telling first."""
    text = text[:KEYWORD_CHARS]
    if k <= 0 or not text.strip():
        return []
    if lang.startswith("zh"):
        return _chinese_keywords(text, k)
    return _english_keywords(text, k)


def _chinese_keywords(text: str, k: int) -> list[str]:
    """jieba's TF-IDF ranking (term count x IDF, words of 2+ characters), on rjieba's cut."""
    idf = _idf()
    counts: Counter[str] = Counter()
    for word in _segmenter().cut(text, True):
        if len(word.strip()) >= 2 and word.lower() not in idf.stopwords:
            counts[word] += 1
    # Counter keeps first-seen order and sorted() is stable: equal weights rank as jieba's do.
    ranked = sorted(counts, key=lambda w: counts[w] * idf.weights.get(w, idf.default), reverse=True)
    return [w for w in ranked if _MEANINGFUL.search(w)][:k]


def _english_keywords(text: str, k: int) -> list[str]:
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    surfaces: dict[str, Counter[str]] = {}
    for position, match in enumerate(_EN_WORD.finditer(text)):
        word = match.group().replace("’", "'")
        key = word.lower()
        if len(key) < 3 or key in EN_STOPWORDS or key.removesuffix("'s") in EN_STOPWORDS:
            continue
        key = key.removesuffix("'s")
        counts[key] += 1
        first_seen.setdefault(key, position)
        surfaces.setdefault(key, Counter())[word.removesuffix("'s")] += 1
    # Frequent first, then early: the lead names what the story is about.
    ranked = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))
    return [_display(w, surfaces[w]) for w in ranked[:k]]


def _display(key: str, forms: Counter[str]) -> str:
    """The lowercase form unless the word is always capitalised in the text (a name: "Google")."""
    if all(form[:1].isupper() for form in forms):
        return forms.most_common(1)[0][0]
    return key
