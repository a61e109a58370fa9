"""An LLM's answer parsed and judged before any reader sees it. Pure functions, no I/O.

The article text the model read is data written by strangers, so its answer is trusted for
nothing: it must be a JSON object with a title and a summary, in the target language, of a
summary's length, plain text (no link, no markup, one paragraph), and every number and Latin
name in it must come from the sources. Whatever fails is rejected with one reason kind
(``REASONS``) and the extractive summary goes out instead.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files

from newsbrief.articles.summaries import EN_BUDGET_WORDS, ZH_BUDGET_CHARS
from newsbrief.articles.topics import is_ordinary_word
from newsbrief.text.chinese import to_simplified
from newsbrief.text.language import detect_language, reads_as_english

REASONS = ("malformed", "language", "length", "link", "markup", "number", "name")
"""Why an answer is refused, for the logs and ``newsbrief_llm_rejected_total{reason}``."""
TITLE_MAX_CHARS = 120
SLACK = 1.5
"""A summary may run this much past the extractive summariser's budget."""
ZH_SUMMARY_MAX_CHARS = int(ZH_BUDGET_CHARS * SLACK)
EN_SUMMARY_MAX_WORDS = int(EN_BUDGET_WORDS * SLACK)
EN_SUMMARY_MAX_CHARS = EN_SUMMARY_MAX_WORDS * 10


@dataclass(frozen=True, slots=True)
class Verdict:
    """A checked answer: ``title``/``summary`` as they may be shown, or the ``reason`` kind
    (one of ``REASONS``) and a short ``detail`` for the log."""

    title: str = ""
    summary: str = ""
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def rejected(reason: str, detail: str) -> Verdict:
    return Verdict(reason=reason, detail=detail[:200])


# -- parsing -------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*|\s*```\s*$")
# A reasoning model (Qwen3, DeepSeek-R1 served by Ollama or vLLM) thinks aloud first, drafts
# of the answer included: only what follows counts.
_THINKING = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)


def parse_answer(raw: str) -> tuple[str, str] | None:
    """(title, summary) from the model's answer, leniently: a reasoning model's thinking and
    code fences stripped, the first JSON object taken wherever it starts. None when there is
    no such object."""
    text = _FENCE.sub("", _THINKING.sub("", raw).strip())
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            title, summary = _field(value, _TITLE_KEYS), _field(value, _SUMMARY_KEYS)
            if isinstance(title, str) and isinstance(summary, str):
                return title.strip(), summary.strip()
        return None
    return None


# Models asked in Chinese or told to translate sometimes name the keys their own way.
_TITLE_KEYS = ("title", "headline", "标题", "標題", "题目")
_SUMMARY_KEYS = ("summary", "abstract", "摘要", "概要", "总结", "總結")


def _field(value: dict[object, object], names: tuple[str, ...]) -> object:
    """The value of the first key that is one of ``names`` (any case; ``Title``, ``title_zh``
    and ``summary_zh-Hans`` count too)."""
    for key, found in value.items():
        name = str(key).strip().lower()
        if any(name == n or name.startswith((f"{n}_", f"{n}-", f"{n} ")) for n in names):
            return found
    return None


# -- plain text ----------------------------------------------------------------------------

_TLDS = (
    "com|net|org|io|ai|cn|co|dev|app|xyz|info|me|gov|edu|example|ly|gg|tv|uk|de|jp|hk|tw|ru"
    "|top|site|link|to|sh|so|gl|online|news|tech|biz|cc|us|eu|fm|im|ws|club|vip|shop|xn--[a-z0-9-]+"
)
# Latin-script edges, not \b: between Chinese and Latin letters there is no \b (both \w).
_A, _Z = r"(?<![a-z0-9-])", r"(?![a-z0-9-])"
_LINK = re.compile(
    r"[a-z][a-z0-9+.-]*://"  # any scheme
    rf"|{_A}www\.\S"
    rf"|{_A}(?:mailto|tg|javascript|data):"
    rf"|{_A}[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.(?:{_TLDS}){_Z}"
    rf"|{_A}[a-z0-9-]+\.[a-z]{{2,}}/\S"  # a bare domain with a path, any suffix
    r"|[a-z0-9._%+-]+@[a-z0-9-]+\.[a-z]",  # an address
    re.IGNORECASE,
)
# A link written to slip past a filter: example[.]com, example (dot) com, example 点 com.
_HIDDEN_DOT = re.compile(
    r"\s*[\[(（【［{]\s*(?:\.|。|dot|点)\s*[\])）】］}]\s*"
    r"|(?<=[a-z0-9])\s+(?:dot|点)\s+(?=[a-z])"
    r"|(?-i:(?<=[a-z0-9])[。点](?=[a-z]))",  # lowercase: "ChatGPT。Google" ends a sentence
    re.IGNORECASE,
)
# A way to reach someone: a chat handle is a link by other means.
_APPS = r"(?:微信|威信|薇信|vx|v信|wx|QQ|电报|飞机|TG|Telegram|WhatsApp|WeChat|Signal)"
_CONTACT = re.compile(
    rf"{_APPS}\s*(?:号|群|账号|ID)?\s*[:：]\s*[A-Za-z0-9_@+-]{{4,}}"
    rf"|{_APPS}\s*(?:号|群|账号)\s*[A-Za-z0-9_-]{{4,}}"
    rf"|(?:加|添加|联系|私信|关注)\s*{_APPS}\s*[A-Za-z0-9_-]{{4,}}"
    r"|(?<![\w.])@[A-Za-z][A-Za-z0-9_]{3,}",
    re.IGNORECASE,
)
_MARKUP = re.compile(
    r"\[[^\]]*\]\([^)]*\)"  # [text](target)
    r"|\*\*|__|~~|`"
    r"|(?:^|\s)#{1,6}\s"  # a heading
    r"|</?[a-zA-Z][^>]*>|<!--"  # a tag
    r"|&[a-zA-Z]+;|&#\d+;"  # an entity
    r"|^\s*(?:[-*•>]|\d+[.)])\s",  # a list item or a quote
)


# -- numbers -------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SCALES = {
    "thousand": 10**3,
    "k": 10**3,
    "million": 10**6,
    "m": 10**6,
    "mn": 10**6,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
    "trillion": 10**12,
    "千": 10**3,
    "万": 10**4,
    "萬": 10**4,
    "百万": 10**6,
    "百萬": 10**6,
    "千万": 10**7,
    "千萬": 10**7,
    "亿": 10**8,
    "億": 10**8,
    "万亿": 10**12,
    "萬億": 10**12,
}
_SCALE = re.compile(
    r"\s*(万亿|萬億|百万|百萬|千万|千萬|千|万|萬|亿|億|thousand|million|billion|trillion"
    r"|mn\b|bn\b|k\b|m\b|b\b)",
    re.IGNORECASE,
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH = re.compile(
    r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept"
    r"|Oct|Nov|Dec)\b\.?"
)
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_WORD_NUMBERS.update({w: 10 * i for i, w in enumerate(["thirty", "forty", "fifty"], 3)})
_WORD_NUMBERS.update({w: 10 * i for i, w in enumerate(["sixty", "seventy", "eighty", "ninety"], 6)})
_WORD_NUMBERS.update({"hundred": 100, "dozen": 12})
_EN_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.IGNORECASE)
_WORD_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9}
_WORD_SCALES["trillion"] = 10**12
_NUMBER_WORDS = "|".join([*_WORD_NUMBERS, *_WORD_SCALES])
# A figure opens with a count ("134.5 billion" is the digits' business, see ``_numbers``).
_EN_WORD_FIGURE = re.compile(
    rf"\b(?:{'|'.join(_WORD_NUMBERS)})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)


def _word_figure(run: str) -> int:
    """The value of a number in English words: ``fifty thousand``, ``twenty-five``."""
    total = current = 0
    for word in re.findall(r"[a-z]+", run.lower()):
        if word == "and":
            continue
        if word == "hundred":
            current = (current or 1) * 100
        elif (scale := _WORD_SCALES.get(word)) is not None:
            total += (current or 1) * scale
            current = 0
        else:
            current += _WORD_NUMBERS[word]
    return total + current


_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5}
_ZH_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_ZH_NUMBER = re.compile(r"[零〇一二两兩三四五六七八九十百千万萬亿億]+")
_ZH_TENTHS = re.compile(
    r"([一二两兩三四五六七八九十])成(?!为|員|员|功|立|本|长|長|熟|绩|績|交|果|都|不变|了)"
    r"([一二三四五六七八九])?"
)
"""Tenths as Chinese writes a share: 三成 is 30 %, 四成五 45 %."""


def _tenths(text: str) -> Iterable[int]:
    for whole, part in _ZH_TENTHS.findall(text):
        yield _ZH_DIGITS.get(whole, 10) * 10 + (_ZH_DIGITS[part] if part else 0)


def _canonical(digits: str) -> Decimal | None:
    try:
        return Decimal(digits).normalize()
    except InvalidOperation:
        return None


def _numbers(text: str) -> Iterable[tuple[Decimal, Decimal | None]]:
    """(the number as written, its value with a scale word after it, if any) of each number:
    ``1,200`` is 1200, ``1.5 billion`` is (1.5, 1500000000), ``3万`` is (3, 30000)."""
    for match in _NUMBER.finditer(text):
        written = match.group()
        parts = [written.replace(",", "")] if _THOUSANDS.fullmatch(written) else written.split(",")
        for part in parts:
            value = _canonical(part)
            if value is None:
                continue
            scale = _SCALE.match(text, match.end()) if part is parts[-1] else None
            factor = _SCALES.get(scale.group(1).lower()) if scale else None
            yield value, (value * factor).normalize() if factor else None


def _chinese_numeral(run: str) -> int | None:
    """The value of a Chinese numeral (三, 十五, 两千三百, 3 万 is handled by ``_numbers``)."""
    total = section = digit = 0
    for char in run:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif (unit := _ZH_UNITS.get(char)) is not None:
            if unit >= 10**4:
                total += (section + digit) * unit
                section = digit = 0
            else:
                section += (digit or 1) * unit
                digit = 0
    value = total + section + digit
    return value or None


@dataclass(frozen=True, slots=True)
class Facts:
    """What the sources say that an answer may repeat: numbers (as written and as values) and
    the words of their Latin script, lowercased."""

    numbers: frozenset[Decimal]
    words: frozenset[str]
    text: str
    """All of the sources, lowercased, for names written with spaces or inside other words."""
    syllables: frozenset[str]
    """The pinyin of their Chinese characters: a name romanised from them is theirs."""
    names: frozenset[str] = frozenset()
    """The Latin names a translation writes for the well-known names in them (英伟达: nvidia,
    ``names.txt``), lowercased."""


def facts_of(sources: Sequence[str]) -> Facts:
    text = _normalize("\n".join(sources))
    numbers: set[Decimal] = set()
    for written, value in _numbers(text):
        numbers.add(written)
        if value is not None:
            numbers.add(value)
    # A date or a count in words becomes digits in a translation (March 5 -> 3月5日).
    for month in _MONTH.findall(text):
        key = month.lower()
        numbers.add(Decimal(next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(key[:3]))))
    numbers.update(Decimal(_WORD_NUMBERS[w.lower()]) for w in _EN_NUMBER_WORD.findall(text))
    numbers.update(Decimal(_word_figure(run)) for run in _EN_WORD_FIGURE.findall(text))
    numbers.update(Decimal(share) for share in _tenths(text))
    for run in _ZH_NUMBER.findall(text):
        if (zh := _chinese_numeral(run)) is not None:
            numbers.add(Decimal(zh))
            scale = _SCALE.match(text, text.find(run) + len(run))
            if scale and (factor := _SCALES.get(scale.group(1).lower())):
                numbers.add(Decimal(zh * factor))
    lowered = text.lower()
    words = frozenset(re.findall(r"[a-z0-9]+", lowered))
    names = frozenset(
        latin for chinese, latins in known_names() if chinese in lowered for latin in latins
    )
    return Facts(frozenset(numbers), words, lowered, _pinyin_syllables(text), names)


@cache
def known_names() -> tuple[tuple[str, frozenset[str]], ...]:
    """(a Chinese name, the lowercased words of its Latin names) from ``names.txt``."""
    found: list[tuple[str, frozenset[str]]] = []
    table = files(__package__).joinpath("names.txt").read_text(encoding="utf-8")
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        chinese, latin = line.split("\t")
        words = frozenset(w.lower() for w in _NAME.findall(latin))
        found.extend((name.lower(), words) for name in chinese.split("|") if name)
    return tuple(found)


def _pinyin_syllables(text: str) -> frozenset[str]:
    han = "".join(_HAN.findall(text))
    if not han:
        return frozenset()
    from pypinyin import lazy_pinyin  # a dictionary to load: only for Chinese sources

    return frozenset(s.lower() for s in lazy_pinyin(han[:6000], errors="ignore") if s.isalpha())


def invented_number(output: str, facts: Facts) -> str | None:
    """The first number of ``output`` that is in no source, or None."""
    for written, value in _numbers(output):
        # With a scale word, the value must be the sources' (1345亿 is not 1345 billion).
        if (written if value is None else value) in facts.numbers:
            continue
        return format(written, "f")
    for share in _tenths(output):
        if Decimal(share) not in facts.numbers:
            return f"{share}%"
    for run in _EN_WORD_FIGURE.findall(output):
        # Counts to ten are words in any sentence ("one of the", "two companies").
        figure = _word_figure(run)
        if figure > 10 and Decimal(figure) not in facts.numbers:
            return str(run)
    for run in _ZH_NUMBER.findall(output):
        # A figure has a digit and more than one character: 一 and 十 alone are in many
        # words, and 千万 ("by all means") or 万一 ("in case") are no numbers.
        if len(run) < 2 or not any(c in _ZH_DIGITS for c in run):
            continue
        zh = _chinese_numeral(run)
        if zh is not None and zh > 10 and Decimal(zh) not in facts.numbers:
            return str(run)
    return None


# -- names ---------------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:：;；\"“「(（\n]\s*)$")
_COMMON_NAMES = frozenset(
    [
        "ai",
        "ceo",
        "cfo",
        "cto",
        "coo",
        "ipo",
        "gdp",
        "api",
        "app",
        "apps",
        "ui",
        "llm",
        "llms",
        "ev",
        "evs",
        "usd",
        "rmb",
        "cny",
        "eu",
        "uk",
        "us",
        "usa",
        "un",
        "china",
        "chinese",
        "america",
        "american",
        "americans",
        "europe",
        "european",
        "japan",
        "japanese",
        "korea",
        "korean",
        "britain",
        "british",
        "india",
        "indian",
        "taiwan",
        "hong",
        "kong",
        "beijing",
        "shanghai",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        *_MONTHS,
    ]
)
"""Latin words a translation may bring that the sources write in Chinese (AI for 人工智能,
China for 中国, the months and days of a date)."""


def _capitalised(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and any(c.isupper() for c in word)


def _romanised(word: str, syllables: frozenset[str]) -> bool:
    """Whether ``word`` is a run of the sources' pinyin syllables (Lei Jun for 雷军)."""
    lower = word.lower()
    if not syllables or not lower.isalpha():
        return False
    ends = {0}
    for end in range(1, len(lower) + 1):
        if any(
            start in ends and lower[start:end] in syllables for start in range(max(0, end - 6), end)
        ):
            ends.add(end)
    return len(lower) in ends


def invented_name(output: str, facts: Facts) -> str | None:
    """The first Latin-script name (a capitalised word, an acronym, ``iPhone``) of ``output``
    that no source has, or None. A capitalised ordinary word opening a sentence is no name."""
    for match in _NAME.finditer(output):
        word = match.group()
        if not _capitalised(word):
            continue
        lower = word.lower()
        if lower in facts.words or lower in _COMMON_NAMES or lower in facts.names:
            continue
        if lower.endswith("s") and (lower[:-1] in facts.words or lower[:-2] in facts.words):
            continue  # OpenAI's, GPUs
        if lower in facts.text and len(lower) >= 4:
            continue  # inside a longer word of the sources (ChatGPT in "ChatGPT-5")
        before = output[: match.start()]
        opening = _SENTENCE_START.search(before) is not None
        if opening and word[1:].islower() and is_ordinary_word(word):
            continue
        if _romanised(word, facts.syllables):
            continue
        return word
    return None


# -- the verdict ---------------------------------------------------------------------------


def _normalize(text: str) -> str:
    # Full-width digits and letters (１２３, ＡＩ) as ASCII; ideographs stay.
    return unicodedata.normalize("NFKC", text)


def language_family(lang: str | None) -> str:
    """The target language a story's or a reader's language counts as: ``zh-Hans`` for both
    Chinese scripts (zh-Hant readers get the Simplified text converted), else itself."""
    return "zh-Hans" if lang in ("zh-Hans", "zh-Hant") else (lang or "other")


def _too_long(summary: str, target: str) -> bool:
    if target == "en":
        return len(summary.split()) > EN_SUMMARY_MAX_WORDS or len(summary) > EN_SUMMARY_MAX_CHARS
    return len(summary) > ZH_SUMMARY_MAX_CHARS


def check(raw: str, target: str, sources: Sequence[str], *, cut_off: bool = False) -> Verdict:
    """Judge the model's raw answer for a story whose ``sources`` (title and texts) it read.

    ``cut_off``: the answer was stopped for length (max_tokens, or a stream past its cap): a
    model that rambles is refused whatever it managed to say."""
    if cut_off:
        return rejected("length", "the answer ran past its limit")
    parsed = parse_answer(raw)
    if parsed is None:
        return rejected("malformed", f"no JSON object with title and summary: {raw[:80]!r}")
    title, summary = parsed
    if not title or not summary:
        return rejected("length", "empty title or summary")
    if len(title) > TITLE_MAX_CHARS or _too_long(summary, target):
        return rejected("length", f"title {len(title)} chars, summary {len(summary)} chars")
    both = f"{title}\n{summary}"
    revealed = _HIDDEN_DOT.sub(".", _normalize(both))
    if found := _LINK.search(revealed) or _CONTACT.search(revealed):
        return rejected("link", found.group())
    if "\n" in title or "\n" in summary.strip() or "\r" in both:
        return rejected("markup", "more than one paragraph")
    if found := _MARKUP.search(title) or _MARKUP.search(summary):
        return rejected("markup", found.group())
    language = detect_language(f"{title}\n{summary}")
    if target == "zh-Hans":
        if language not in ("zh-Hans", "zh-Hant"):
            return rejected("language", f"{language}, not {target}")
        # Traditional where Simplified was asked: the same text in the other script, which
        # OpenCC converts exactly; no reason to throw away a good summary.
        title, summary = to_simplified(title), to_simplified(summary)
    elif not (reads_as_english(both) if target == "en" else language == target):
        return rejected("language", f"{language}, not {target}")
    facts = facts_of(sources)
    plain = _normalize(both)
    if (number := invented_number(plain, facts)) is not None:
        return rejected("number", number)
    if (name := invented_name(plain, facts)) is not None:
        return rejected("name", name)
    return Verdict(title=title, summary=summary)
