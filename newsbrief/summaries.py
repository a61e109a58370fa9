"""Article text -> a short summary: the first sentences that fit a length budget."""

from __future__ import annotations

import re

# Split after sentence-final punctuation (Chinese and Latin) and at line breaks.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])|(?<=\.)\s+|\n+")

_ENDS_SENTENCE = re.compile(r"[。！？!?；;…”」』）)]$")

ZH_BUDGET_CHARS = 120
EN_BUDGET_WORDS = 60


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def summarize(text: str, lang: str, max_chars: int | None = None) -> str:
    """Leading sentences within the budget (120 characters for Chinese, 60 words for English)."""
    sentences = split_sentences(text)
    if not sentences:
        return ""
    chinese = lang.startswith("zh")
    limit = max_chars or (ZH_BUDGET_CHARS if chinese else EN_BUDGET_WORDS * 7)
    picked: list[str] = []
    used = 0
    for sentence in sentences[:3]:
        cost = len(sentence) + (0 if chinese or not picked else 1)
        if picked and used + cost > limit:
            break
        picked.append(sentence)
        used += cost
    summary = picked[0]
    for sentence in picked[1:]:
        # Chinese needs no space after sentence punctuation, but a bare line (a heading) does.
        glue = "" if chinese and _ENDS_SENTENCE.search(summary) else " "
        summary += glue + sentence
    if len(summary) > limit:
        summary = summary[: limit - 1].rstrip() + "…"
    return summary
