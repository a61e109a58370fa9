"""Article text -> topic ids, by keyword match.

Latin keywords match whole words only ("AI" is not in "PAID"); CJK keywords match as substrings
because Chinese has no spaces between words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicRule:
    id: str
    keywords: tuple[str, ...]


class TopicMatcher:
    def __init__(self, rules: Iterable[TopicRule]) -> None:
        self._rules: list[tuple[str, re.Pattern[str] | None]] = []
        for rule in rules:
            alternatives = [_keyword_pattern(k) for k in rule.keywords if k.strip()]
            pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
            self._rules.append((rule.id, pattern))

    def match(self, text: str, base: Iterable[str] = ()) -> tuple[str, ...]:
        """Topic ids in taxonomy order: ``base`` (the feed's own topics) plus keyword hits."""
        found = set(base)
        for topic_id, pattern in self._rules:
            if pattern is not None and pattern.search(text):
                found.add(topic_id)
        order = {topic_id: i for i, (topic_id, _) in enumerate(self._rules)}
        return tuple(sorted(found, key=lambda t: (order.get(t, len(order)), t)))


def _keyword_pattern(keyword: str) -> str:
    escaped = re.escape(keyword.strip())
    if keyword.strip().isascii():
        # ASCII letters/digits around the keyword mean it is part of a longer word.
        return rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
    return escaped
