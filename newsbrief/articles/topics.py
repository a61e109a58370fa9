"""Article text -> topic ids, by each ``Topic``'s aliases, keywords and regex rules.

How a term matches (callers pass Simplified Chinese, see ``chinese.to_simplified``):

- Latin terms match whole words only: "AI" is not in "PAID" or "Thailand". Short all-caps terms
  ("AI", "BTC", "NBA") match case-sensitively, so "ai" the word and "Ai" the name do not count;
  every other Latin term ignores case.
- Chinese terms match as substrings (Chinese has no spaces), except that a two-character term
  must not straddle a word boundary in jieba's segmentation: "球星" is not in "全球|星级".
- A ``weak`` term is common outside its topic too ("大涨" in stocks also moves futures, "离婚" in
  society also fills the gossip pages): it counts half, so it needs a second hit of the topic to
  file a text, and it tips the balance between sections only with other evidence.
- An ``exclude`` term vetoes the hits it covers: with "基金会" excluded, "基金" in "基金会" does
  not count, while "基金" elsewhere still does.
- ``regex`` rules run on RE2 (linear time, whatever an admin writes).
- A long text (an article, not a headline) needs two hits, or one in its first lines, so one
  passing mention deep in the body does not file it under a topic.
- A topic's names are matched only when it has no aliases (an inline topic written as names
  and keywords); one with aliases lists the names that do identify it among them: "Society"
  or "Science" as a word says little.
- A subtopic's match also files the text under its ``parent``.
- Topics sharing a ``group`` (the sections: sports, games, finance, ...) compete: only the one
  with the highest score (aliases count double, weak terms half) is kept. A tie keeps none of
  them: a story whose words fit two sections equally is more often misfiled than not.

All terms of all topics are one Aho-Corasick automaton (two: as written, and case-folded), run
once per text. Each topic then reads its own hits as a regex alternation of its terms would:
leftmost first, the longest at a position (so an exclude term beats the keyword it contains),
never overlapping one another.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import re2
from ahocorasick_rs import AhoCorasick

from newsbrief.articles.keywords import segment
from newsbrief.records import Topic

# Up to this many characters a text counts as a headline: one hit is enough.
SHORT_TEXT_CHARS = 200
# A hit this close to the start (title and lead) is enough on its own for a long text.
LEAD_CHARS = 150
# All-caps Latin terms up to this length are acronyms and match case-sensitively.
ACRONYM_MAX_LEN = 5

_ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_CJK = re.compile(r"[\u3400-\u9fff]")
# What jieba segments as one block (its default pattern): a run of CJK, Latin letters, digits.
_CLAUSE = re.compile(r"[\u4e00-\u9fd5A-Za-z0-9+#&._%\-]+")


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
    exact: frozenset[str]  # case-sensitive terms (Chinese, acronyms)
    folded: frozenset[str]  # case-insensitive terms, lowercased
    excluded: frozenset[str]  # exclude terms as matched (case-folded for the folded pattern)
    strong: frozenset[str]  # aliases as matched: they name the topic, so they weigh double
    weak: frozenset[str]  # weak terms as matched: they weigh half
    regexes: tuple[Any, ...]
    group: str | None


MATCH_CHARS = 1500


class TopicMatcher:
    def __init__(self, topics: Iterable[Topic]) -> None:
        self._rules = [_compile(topic) for topic in topics]
        self._order = {rule.id: i for i, rule in enumerate(self._rules)}
        self._exact = _Automaton.of((t, i) for i, r in enumerate(self._rules) for t in r.exact)
        self._folded = _Automaton.of((t, i) for i, r in enumerate(self._rules) for t in r.folded)
        self._with_regex = [i for i, rule in enumerate(self._rules) if rule.regexes]

    def match(self, text: str, base: Iterable[str] = ()) -> tuple[str, ...]:
        """Topic ids in taxonomy order: ``base`` (the feed's own topics) plus rule hits.

        Only the first ``MATCH_CHARS`` count: a story's subject is in its title and lead, and a
        long tail mostly adds passing mentions (and cost).
        """
        text = text[:MATCH_CHARS]
        found = set(base)
        short = len(text) <= SHORT_TEXT_CHARS
        scores: dict[str, float] = {}
        words = _Words(text)
        for i, hits in self._hits(text).items():
            rule = self._rules[i]
            score = _score(rule, text, short, words, hits)
            if score:
                scores[rule.id] = score
        # Topics of one group compete like a newspaper's sections: a story goes to the one with
        # the most evidence; on a tie (None) to none, as the words do not say which it is.
        winner: dict[str, str | None] = {}
        best: dict[str, float] = {}
        for rule in self._rules:
            if rule.group and rule.id in scores:
                score = scores[rule.id]
                if score > best.get(rule.group, 0.0):
                    winner[rule.group], best[rule.group] = rule.id, score
                elif score == best[rule.group]:
                    winner[rule.group] = None
        for rule in self._rules:
            if rule.id in scores and (not rule.group or winner[rule.group] == rule.id):
                found.add(rule.id)
                if rule.parent:
                    found.add(rule.parent)
        return tuple(sorted(found, key=lambda t: (self._order.get(t, len(self._order)), t)))

    def _hits(self, text: str) -> dict[int, list[Hit]]:
        """Each rule's term hits in ``text`` (rules with regexes always have an entry)."""
        hits: dict[int, list[Hit]] = {i: [] for i in self._with_regex}
        for automaton, scanned in ((self._exact, text), (self._folded, _case_folded(text))):
            if automaton is None:
                continue
            found: dict[int, list[Hit]] = {}
            terms = automaton.terms
            for index, start, end in automaton.search.find_matches_as_indexes(scanned, True):
                term, rules = terms[index]
                for i in rules:
                    found.setdefault(i, []).append((start, end, term))
            # The two term sets are scanned apart, as two alternations would be.
            for i, rule_hits in found.items():
                hits.setdefault(i, []).extend(_leftmost_longest(rule_hits))
        return hits


def _compile(topic: Topic) -> _Compiled:
    exact: list[str] = []
    folded: list[str] = []
    excluded: set[str] = set()
    names = () if topic.aliases else (topic.names.zh_hans, topic.names.en)
    keywords = (*names, *topic.keywords)
    strong = {_as_matched(t) for t in topic.aliases}
    # A Chinese keyword that contains an alias (基金公司 for 基金) names the topic as much as the
    # alias does; without this, the longer match would hide the alias and halve its weight.
    cjk_aliases = [a for a in strong if not a.isascii()]
    strong |= {
        _as_matched(t) for t in keywords if not t.isascii() and any(a in t for a in cjk_aliases)
    }
    weak = {_as_matched(t) for t in topic.weak} - strong - {_as_matched(t) for t in keywords}
    for term, is_exclude in [
        *((t, False) for t in (*topic.aliases, *keywords, *topic.weak)),
        *((t, True) for t in topic.exclude),
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
        id=topic.id,
        parent=topic.parent,
        exact=frozenset(exact),
        folded=frozenset(folded),
        excluded=frozenset(excluded),
        strong=frozenset(strong),
        weak=frozenset(weak),
        group=topic.group,
        regexes=tuple(compile_regex(p) for p in topic.regex),
    )


def _as_matched(term: str) -> str:
    term = term.strip()
    return term if is_acronym(term) or not term.isascii() else term.lower()


Hit = tuple[int, int, str]  # start, end, the term as matched


@dataclass(frozen=True, slots=True)
class _Automaton:
    """Aho-Corasick over terms, each term mapped to the rules that have it."""

    search: AhoCorasick
    terms: list[tuple[str, tuple[int, ...]]]

    @classmethod
    def of(cls, terms: Iterable[tuple[str, int]]) -> _Automaton | None:
        owners: dict[str, list[int]] = {}
        for term, rule in terms:
            owners.setdefault(term, []).append(rule)
        if not owners:
            return None
        return cls(AhoCorasick(list(owners)), [(t, tuple(r)) for t, r in owners.items()])


def _case_folded(text: str) -> str:
    """``text`` lowercased position for position (the few characters whose lowercase is longer,
    like "İ", stay as they are, so hit offsets still point into ``text``)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _leftmost_longest(hits: list[Hit]) -> list[Hit]:
    """The hits a scan for the leftmost, then longest, non-overlapping term would find."""
    hits.sort(key=lambda h: (h[0], h[0] - h[1]))
    kept: list[Hit] = []
    pos = 0
    for hit in hits:
        if hit[0] >= pos:
            kept.append(hit)
            pos = hit[1]
    return kept


def _score(rule: _Compiled, text: str, short: bool, words: _Words, hits: list[Hit]) -> float:
    """Weighted hits of ``rule`` in ``text``; 0 when they are too few to file it there."""
    score = 0.0
    count = 0
    lead = False
    for start, end, term in hits:
        if term in rule.excluded or not _bounded(text, start, end, words):
            continue
        count += 1
        score += 2.0 if term in rule.strong else 0.5 if term in rule.weak else 1.0
        lead = lead or start < LEAD_CHARS
    for regex in rule.regexes:
        for m in regex.finditer(text):
            count += 1
            score += 1.0
            lead = lead or m.start() < LEAD_CHARS
    # A lone weak term (score 0.5) files nothing.
    return score if score >= 1.0 and (short or lead or count >= 2) else 0.0


def _bounded(text: str, start: int, end: int, words: _Words) -> bool:
    """Whether a hit stands as a word: Latin ends not glued to letters, CJK pairs not split."""
    if text[start] in _ASCII_ALNUM and start > 0 and text[start - 1] in _ASCII_ALNUM:
        return False
    if text[end - 1] in _ASCII_ALNUM and end < len(text) and text[end] in _ASCII_ALNUM:
        return False
    if end - start == 2 and _CJK.match(text[start]) and _CJK.match(text[start + 1]):
        return not words.splits(start, end)
    return True


class _Words:
    """jieba's word boundaries in one text, found clause by clause as hits ask for them.

    jieba cuts each run of Chinese, Latin letters and digits (a clause) on its own, so the words
    of a clause are those of the whole text; one text's hits share each clause's cut.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cuts: dict[int, frozenset[int]] = {}  # clause index -> its word boundaries

    def splits(self, start: int, end: int) -> bool:
        """Whether a word boundary falls inside text[start:end] while a word crosses its edge:
        全球|星级 splits 球星; 球星|梅西 and 足球队 (one word around 足球) do not."""
        if not self._starts:
            for m in _CLAUSE.finditer(self._text):
                self._starts.append(m.start())
                self._ends.append(m.end())
        i = bisect_right(self._starts, start) - 1
        if i < 0 or self._ends[i] < end:
            return False  # not inside one clause: nothing for jieba to split
        cuts = self._cuts.get(i)
        if cuts is None:
            lo, hi = self._starts[i], self._ends[i]
            found = {lo, hi}
            for word in segment(self._text[lo:hi]):
                lo += len(word)
                found.add(lo)
            cuts = self._cuts[i] = frozenset(found)
        inner = any(p in cuts for p in range(start + 1, end))
        return inner and not (start in cuts and end in cuts)
