"""The words of a digest's header and of a merged story's other sources, in each language.

Kept beside the renderers rather than in the reply catalogue: they take structured values (an
``Edition``, a list of linked names), and Telegram and the robots format the links their way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from newsbrief.records import Edition, Period, Source

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PERIODS: dict[str, dict[Period, str]] = {
    "zh-Hans": {"morning": "早报", "midday": "午报", "evening": "晚报"},
    "zh-Hant": {"morning": "早報", "midday": "午報", "evening": "晚報"},
    "en": {"morning": "morning", "midday": "midday", "evening": "evening"},
}
_COUNT = {"zh-Hans": "{count} 条", "zh-Hant": "{count} 條", "en": "{count} stories"}
_ALSO = {"zh-Hans": "另有 {count} 个来源：", "zh-Hant": "另有 {count} 個來源：", "en": "Also: "}
_SEP = {"zh-Hans": "、", "zh-Hant": "、", "en": ", "}
_REST = {"zh-Hans": " 等", "zh-Hant": " 等", "en": " and {count} more"}


def _lang(lang: str) -> str:
    return lang if lang in _PERIODS else "zh-Hans"


def edition_label(edition: Edition, lang: str) -> str:
    """``12月2日 晚报`` / ``12月2日 晚報`` / ``Dec 2 evening``."""
    lang = _lang(lang)
    period = _PERIODS[lang][edition.period]
    if lang == "en":
        return f"{_MONTHS_EN[edition.month - 1]} {edition.day} {period}"
    return f"{edition.month}月{edition.day}日 {period}"


def header_parts(edition: Edition, count: int, lang: str) -> tuple[str, str]:
    """(label, count) of a dated header: ``12月2日 晚报``, ``10 条``."""
    return edition_label(edition, lang), _COUNT[_lang(lang)].format(count=count)


def sources_line(
    others: Sequence[Source],
    total: int,
    lang: str,
    name: Callable[[Source], str],
) -> str:
    """``另有 2 个来源：36氪、虎嗅`` with each source as ``name`` writes it (a link, escaped).

    ``total`` is how many other sources carried the story; those beyond ``others`` are counted
    (``… 等`` / ``and 3 more``)."""
    lang = _lang(lang)
    text = _ALSO[lang].format(count=total) + _SEP[lang].join(map(name, others))
    if total > len(others):
        text += _REST[lang].format(count=total - len(others))
    return text
