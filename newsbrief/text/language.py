"""Which language an article is in: zh-Hans, zh-Hant, en or other.

Chinese is told by its share of CJK ideographs, its script by how many of them OpenCC's
Traditional-to-Simplified conversion changes. Latin text is English when common English
function words make up a fair share of its words. Only the first :data:`SAMPLE` characters are
read, so a long article costs the same as a short one.
"""

from __future__ import annotations

import re

from newsbrief.text.chinese import to_simplified

SAMPLE = 2000
"""Characters of the text looked at."""

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f']+")
_NON_ASCII_LATIN = re.compile(r"[\u00c0-\u024f]")

# Frequent English function words: in English prose they are about 40 % of the words, in
# other Latin-script languages few of them occur (some, like "a" or "in", are shared).
_ENGLISH_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which"
    " but have an they you were her she there been has their one all we would will more when"
    " who its into than them can only other new some could these two may then do first any my"
    " now such like our over also after did most how said"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_CHINESE_SHARE = 0.2
"""Ideographs among the letters from which a text is Chinese (mixed zh/en articles included)."""
_TRADITIONAL_SHARE = 0.05
"""Ideographs that change to Simplified, from which the text is Traditional."""
_ENGLISH_SHARE = 0.15
_SUMMARY_ENGLISH_SHARE = 0.08
"""The share ``reads_as_english`` asks of a headline and summary."""


def detect_language(text: str) -> str:
    """``"zh-Hans"``, ``"zh-Hant"``, ``"en"`` or ``"other"`` (also for empty text)."""
    sample = text[:SAMPLE]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return "other"
    han = _HAN.findall(sample)
    kana = len(_KANA_HANGUL.findall(sample))
    # Japanese uses kanji too: kana (and hangul for Korean) give it away.
    if len(han) >= _CHINESE_SHARE * letters and kana < 0.1 * len(han):
        return _script("".join(han))
    words = [word.lower() for word in _LATIN_WORD.findall(sample)]
    if not words or len(han) + kana > 0.5 * letters:
        return "other"
    english = sum(1 for word in words if word in _ENGLISH)
    accented = len(_NON_ASCII_LATIN.findall(sample))
    if english >= _ENGLISH_SHARE * len(words) and accented < 0.02 * letters:
        return "en"
    # Too few words to judge (a headline): plain ASCII letters most likely are English.
    if len(words) < 8 and not accented:
        return "en"
    return "other"


def reads_as_english(text: str) -> bool:
    """A looser bar than ``detect_language`` for a short text known to be a headline and a
    summary: telegraphic news English ("Baidu said revenue reached 134.5 billion yuan last
    year, up 8%") has fewer function words than prose. Latin letters, next to no accents and
    no other script, and some English function words among the words."""
    found = detect_language(text)
    if found != "other":
        return found == "en"
    sample = text[:SAMPLE]
    letters = len(_LETTER.findall(sample))
    words = [word.lower() for word in _LATIN_WORD.findall(sample)]
    foreign = len(_HAN.findall(sample)) + len(_KANA_HANGUL.findall(sample))
    accented = len(_NON_ASCII_LATIN.findall(sample))
    if not words or foreign > 0.1 * letters or accented >= 0.02 * letters:
        return False
    return sum(1 for word in words if word in _ENGLISH) >= _SUMMARY_ENGLISH_SHARE * len(words)


def _script(han: str) -> str:
    simplified = to_simplified(han)
    changed = sum(1 for a, b in zip(han, simplified, strict=False) if a != b)
    return "zh-Hant" if changed > _TRADITIONAL_SHARE * len(han) else "zh-Hans"
