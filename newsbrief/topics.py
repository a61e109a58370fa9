"""Article text -> topic ids, by alias, keyword and regex rules.

How a term matches (callers pass Simplified Chinese, see ``chinese.to_simplified``):

- Latin terms match whole words only: "AI" is not in "PAID" or "Thailand". Short all-caps terms
  ("AI", "BTC", "NBA") match case-sensitively, so "ai" the word and "Ai" the name do not count;
  every other Latin term ignores case.
- Chinese terms match as substrings (Chinese has no spaces), except that a two-character term
  must not straddle a word boundary in jieba's segmentation: "球星" is not in "全球|星级".
- An ``exclude`` term vetoes the hits it covers: with "基金会" excluded, "基金" in "基金会" does
  not count, while "基金" elsewhere still does.
- ``regex`` rules run on RE2 (linear time, whatever an admin writes).
- A long text (an article, not a headline) needs two hits, or one in its first lines, so one
  passing mention deep in the body does not file it under a topic.
- A subtopic's match also files the text under its ``parent``.
- Topics sharing a ``group`` (the sections: sports, games, finance, ...) compete: only the one
  with the highest score (aliases count double) is kept, the first listed on a tie.

All terms of one topic are a single RE2 alternation (longest first, so an exclude term beats the
keyword it contains), scanned once per text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import re2

from newsbrief.keywords import segment

# Up to this many characters a text counts as a headline: one hit is enough.
SHORT_TEXT_CHARS = 200
# A hit this close to the start (title and lead) is enough on its own for a long text.
LEAD_CHARS = 150
# All-caps Latin terms up to this length are acronyms and match case-sensitively.
ACRONYM_MAX_LEN = 5

_ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_CJK = re.compile(r"[\u3400-\u9fff]")
# jieba sees the clause around a hit, not the whole article: enough context, bounded cost.
_WINDOW = 8


@dataclass(frozen=True, slots=True)
class TopicRule:
    id: str
    keywords: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    parent: str | None = None
    group: str | None = None


class RegexError(ValueError):
    """A topic regex RE2 cannot compile (RE2 has no backreferences or lookaround)."""


def compile_regex(pattern: str) -> Any:
    """``pattern`` compiled with RE2, or RegexError with RE2's reason."""
    options = re2.Options()
    options.log_errors = False  # RE2 otherwise prints every bad pattern to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(str(reason)) from exc


def is_acronym(term: str) -> bool:
    return term.isascii() and len(term) <= ACRONYM_MAX_LEN and term.isupper()


@dataclass(frozen=True, slots=True)
class _Compiled:
    id: str
    parent: str | None
    exact: Any  # RE2 pattern over case-sensitive terms, or None
    folded: Any  # RE2 pattern over case-insensitive terms, or None
    excluded: frozenset[str]  # exclude terms as matched (case-folded for the folded pattern)
    strong: frozenset[str]  # aliases as matched: they name the topic, so they weigh double
    regexes: tuple[Any, ...]
    group: str | None


MATCH_CHARS = 1500


class TopicMatcher:
    def __init__(self, rules: Iterable[TopicRule]) -> None:
        self._rules = [_compile(rule) for rule in rules]
        self._order = {rule.id: i for i, rule in enumerate(self._rules)}

    def match(self, text: str, base: Iterable[str] = ()) -> tuple[str, ...]:
        """Topic ids in taxonomy order: ``base`` (the feed's own topics) plus rule hits.

        Only the first ``MATCH_CHARS`` count: a story's subject is in its title and lead, and a
        long tail mostly adds passing mentions (and cost).
        """
        text = text[:MATCH_CHARS]
        found = set(base)
        short = len(text) <= SHORT_TEXT_CHARS
        scores: dict[str, float] = {}
        for rule in self._rules:
            score = _score(rule, text, short)
            if score:
                scores[rule.id] = score
        # Topics of one group compete like a newspaper's sections: a story goes to the one with
        # the most evidence, and on a tie to the one listed first (the more specific section).
        winner: dict[str, str] = {}
        for rule in self._rules:
            if rule.group and rule.id in scores:
                held = winner.get(rule.group)
                if held is None or scores[rule.id] > scores[held]:
                    winner[rule.group] = rule.id
        for rule in self._rules:
            if rule.id in scores and (not rule.group or winner[rule.group] == rule.id):
                found.add(rule.id)
                if rule.parent:
                    found.add(rule.parent)
        return tuple(sorted(found, key=lambda t: (self._order.get(t, len(self._order)), t)))


def _compile(rule: TopicRule) -> _Compiled:
    exact: list[str] = []
    folded: list[str] = []
    excluded: set[str] = set()
    strong = {
        t.strip() if is_acronym(t.strip()) or not t.isascii() else t.strip().lower()
        for t in rule.aliases
    }
    for term, is_exclude in [
        *((t, False) for t in (*rule.aliases, *rule.keywords)),
        *((t, True) for t in rule.exclude),
    ]:
        term = term.strip()
        if not term:
            continue
        # Chinese and acronyms match as written; other Latin words regardless of case.
        if is_acronym(term) or not term.isascii():
            exact.append(term)
            if is_exclude:
                excluded.add(term)
        else:
            folded.append(term.lower())
            if is_exclude:
                excluded.add(term.lower())
    return _Compiled(
        id=rule.id,
        parent=rule.parent,
        exact=_alternation(exact, fold=False),
        folded=_alternation(folded, fold=True),
        excluded=frozenset(excluded),
        strong=frozenset(strong),
        group=rule.group,
        regexes=tuple(compile_regex(p) for p in rule.regex),
    )


def _alternation(terms: list[str], fold: bool) -> Any:
    if not terms:
        return None
    # Longest first: RE2 takes the first alternative that matches at the leftmost position.
    ordered = sorted(set(terms), key=lambda t: (-len(t), t))
    body = "|".join(re.escape(t) for t in ordered)
    return compile_regex(("(?i)" if fold else "") + f"(?:{body})")


def _score(rule: _Compiled, text: str, short: bool) -> float:
    """Weighted hits of ``rule`` in ``text``; 0 when they are too few to file it there."""
    score = 0.0
    hits = 0
    lead = False
    for pattern, fold in ((rule.exact, False), (rule.folded, True)):
        if pattern is None:
            continue
        for m in pattern.finditer(text):
            term = m.group().lower() if fold else m.group()
            if term in rule.excluded or not _bounded(text, m.group(), m.start(), m.end()):
                continue
            hits += 1
            score += 2.0 if term in rule.strong else 1.0
            lead = lead or m.start() < LEAD_CHARS
    for regex in rule.regexes:
        for m in regex.finditer(text):
            hits += 1
            score += 1.0
            lead = lead or m.start() < LEAD_CHARS
    return score if hits and (short or lead or hits >= 2) else 0.0


def _bounded(text: str, term: str, start: int, end: int) -> bool:
    """Whether a hit stands as a word: Latin ends not glued to letters, CJK pairs not split."""
    if term[0] in _ASCII_ALNUM and start > 0 and text[start - 1] in _ASCII_ALNUM:
        return False
    if term[-1] in _ASCII_ALNUM and end < len(text) and text[end] in _ASCII_ALNUM:
        return False
    if len(term) == 2 and _CJK.match(term[0]) and _CJK.match(term[1]):
        return _not_straddling(text, start, end)
    return True


def _not_straddling(text: str, start: int, end: int) -> bool:
    """False when jieba splits the two characters into different words (全球|星级 for 球星)."""
    lo = max(0, start - _WINDOW)
    window = text[lo : end + _WINDOW]
    offset = 0
    for word in segment(window):
        w_start, w_end = lo + offset, lo + offset + len(word)
        offset += len(word)
        if w_start < start < w_end or w_start < end < w_end:
            # The hit begins or ends inside a word; fine only if that word contains it whole.
            return w_start <= start and end <= w_end
        if w_start >= end:
            break
    return True
