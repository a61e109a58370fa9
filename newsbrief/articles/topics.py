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
- A single Latin word written as a name ("Amazon", "Oracle") that a dictionary also has as a
  word or a place counts only written capitalised ("apple" the fruit is nothing), and in full
  only as a name: capitalised mid-sentence after a lowercase word, or with a company's marks
  (Inc, Corp, 's, shares); otherwise half, so it needs another hit. A place's name (Java,
  Amazon) needs the marks or another hit anywhere. A lowercase single word ("bank")
  capitalised after a capitalised word is part of a name (the West Bank) and counts half.
- Topics come out strongest first: each hit's weight times 3 in the title, 2 in the lead, 1 in
  the body (``explain`` gives the hits); a digest files a story under the reader's first one.
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
  them: a story whose words fit two sections equally is more often misfiled than not. Then the
  section model (``sections``) may pick another when it is confident, or drop the rules' pick.

All terms of all topics are one Aho-Corasick automaton (two: as written, and case-folded), run
once per text. Each topic then reads its own hits as a regex alternation of its terms would:
leftmost first, the longest at a position (so an exclude term beats the keyword it contains),
never overlapping one another.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import re2
from ahocorasick_rs import AhoCorasick
from english_words import get_english_words_set

from newsbrief.articles.keywords import segment
from newsbrief.records import Topic, TopicEvidence, TopicTerm

if TYPE_CHECKING:
    from newsbrief.articles.sections import SectionModel

# Up to this many characters a text counts as a headline: one hit is enough.
SHORT_TEXT_CHARS = 200
# A hit this close to the start (title and lead) is enough on its own for a long text.
LEAD_CHARS = 150
# All-caps Latin terms up to this length are acronyms and match case-sensitively.
ACRONYM_MAX_LEN = 5

log = logging.getLogger(__name__)

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
    names: frozenset[str]  # names that are ordinary words too (Amazon, Oracle): need context
    places: frozenset[str]  # of those, the dictionary's own proper nouns (Amazon, Java)
    common: frozenset[str]  # lowercase single words (bank): not inside a name (West Bank)


MATCH_CHARS = 1500
# How much a hit says by where it is, for ordering a text's topics: a title names the subject.
PLACE_FACTOR = {"title": 3.0, "lead": 2.0, "body": 1.0}


class TopicMatcher:
    def __init__(
        self,
        topics: Iterable[Topic],
        sections: SectionModel | Literal["shipped"] | None = "shipped",
    ) -> None:
        """``sections``: the model that picks among competing sections when it is confident
        (``newsbrief.articles.sections``; by default the shipped one); None: the rules alone."""
        # numpy, for the model: imported here so that reading a config (which compiles the
        # topics' regexes with this module) does not load it.
        from newsbrief.articles.sections import shipped_model

        self._rules = [_compile(topic) for topic in topics]
        self._sections = shipped_model() if sections == "shipped" else sections
        self._section_groups = _model_groups(self._rules, self._sections)
        self._order = {rule.id: i for i, rule in enumerate(self._rules)}
        self._parents = {rule.id: rule.parent for rule in self._rules if rule.parent}
        self._exact = _Automaton.of((t, i) for i, r in enumerate(self._rules) for t in r.exact)
        self._folded = _Automaton.of((t, i) for i, r in enumerate(self._rules) for t in r.folded)
        self._with_regex = [i for i, rule in enumerate(self._rules) if rule.regexes]

    def match(self, text: str, base: Iterable[str] = ()) -> tuple[str, ...]:
        """Topic ids, the strongest evidence first: rule hits plus ``base`` (the feed's own
        topics, last unless the words file the text there too). ``text`` is a title, a newline
        and the article's text, as ``explain`` joins them.

        Only the first ``MATCH_CHARS`` count: a story's subject is in its title and lead, and a
        long tail mostly adds passing mentions (and cost).
        """
        title_end = text.find("\n")
        found = self._evaluate(text, len(text) if title_end < 0 else title_end, base, False)
        return tuple(e.topic for e in found)

    def explain(self, title: str, text: str, base: Iterable[str] = ()) -> tuple[TopicEvidence, ...]:
        """``match(f"{title}\\n{text}")`` with the evidence: each topic's score, strength and the
        hits that filed it, each with its place (title, lead or body)."""
        joined = f"{title}\n{text}" if text else title
        return self._evaluate(joined, len(title), base, True)

    def _evaluate(
        self, text: str, title_end: int, base: Iterable[str], detail: bool
    ) -> tuple[TopicEvidence, ...]:
        text = text[:MATCH_CHARS]
        short = len(text) <= SHORT_TEXT_CHARS
        evidence: dict[str, TopicEvidence] = {}
        words = _Words(text)
        for i, hits in self._hits(text).items():
            rule = self._rules[i]
            found = _weigh(rule, text, short, words, hits, title_end, detail)
            if found is not None:
                evidence[rule.id] = found
        # Topics of one group compete like a newspaper's sections: a story goes to the one with
        # the most evidence; on a tie (None) to none, as the words do not say which it is.
        winner: dict[str, str | None] = {}
        best: dict[str, float] = {}
        for rule in self._rules:
            if rule.group and rule.id in evidence:
                score = evidence[rule.id].score
                if score > best.get(rule.group, 0.0):
                    winner[rule.group], best[rule.group] = rule.id, score
                elif score == best[rule.group]:
                    winner[rule.group] = None
        if self._sections is not None:  # the section model has its say (see its module)
            for group, offered in self._section_groups.items():
                winner[group] = self._sections.choose(text, winner.get(group), offered)
        kept: dict[str, TopicEvidence] = {}
        for rule in self._rules:
            if (winner.get(rule.group) == rule.id) if rule.group else (rule.id in evidence):
                # The model's pick without a hit has no terms, like a feed's own topic.
                kept[rule.id] = evidence.get(rule.id) or TopicEvidence(rule.id, 0.0, 0.0)
        for topic, parent in self._parents.items():
            child = kept.get(topic)
            if child is not None:
                own = kept.get(parent) or TopicEvidence(parent, 0.0, 0.0)
                if own.strength < child.strength:
                    kept[parent] = replace(
                        own, score=max(own.score, child.score), strength=child.strength
                    )
        for topic in base:
            kept.setdefault(topic, TopicEvidence(topic, 0.0, 0.0))
        order, last = self._order, len(self._order)
        # Strongest first; on a tie a subtopic before its parent, then taxonomy order.
        return tuple(
            sorted(
                kept.values(),
                key=lambda e: (
                    -e.strength,
                    e.topic not in self._parents,
                    order.get(e.topic, last),
                    e.topic,
                ),
            )
        )

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


def _model_groups(rules: list[_Compiled], model: SectionModel | None) -> dict[str, frozenset[str]]:
    """The groups whose competition the section model joins: those with a topic it knows."""
    groups: dict[str, set[str]] = {}
    for rule in rules:
        if rule.group:
            groups.setdefault(rule.group, set()).add(rule.id)
    known = set(model.classes) if model else set()
    return {g: frozenset(ids) for g, ids in groups.items() if ids & known}


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
    # Single Latin words: a name that is also an ordinary word needs context to count in full,
    # and a common noun capitalised inside a name (the West Bank) is not the noun.
    single = [t.strip() for t in (*topic.aliases, *keywords, *topic.weak) if _single_word(t)]
    names_ = {t.lower() for t in single if t[0].isupper() and is_ordinary_word(t)}
    common = {t for t in single if t.islower()}
    return _Compiled(
        id=topic.id,
        parent=topic.parent,
        exact=frozenset(exact),
        folded=frozenset(folded),
        excluded=frozenset(excluded),
        strong=frozenset(strong),
        weak=frozenset(weak),
        group=topic.group,
        regexes=_regexes(topic),
        names=frozenset(names_ - excluded),
        places=frozenset(t for t in names_ if t.capitalize() in _dictionary()),
        common=frozenset(common - excluded),
    )


def _regexes(topic: Topic) -> tuple[Any, ...]:
    """The topic's rules compiled. The config loader refuses a bad one; one that gets here all
    the same (a Topic built by hand, an older loader) is skipped, never the whole matcher."""
    compiled = []
    for pattern in topic.regex:
        try:
            compiled.append(compile_regex(pattern))
        except RegexError as exc:
            log.warning("topic %s: regex %r skipped: %s", topic.id, pattern, exc)
    return tuple(compiled)


def _regex_hits(rule: _Compiled, text: str) -> list[tuple[int, int, float]]:
    found: list[tuple[int, int, float]] = []
    for regex in rule.regexes:
        try:
            found.extend((m.start(), m.end(), 1.0) for m in regex.finditer(text))
        except Exception as exc:  # one rule failing on one text must not stop the article
            log.warning("topic %s: regex %r failed, skipped: %s", rule.id, regex.pattern, exc)
    return found


def _single_word(term: str) -> bool:
    term = term.strip()
    return term.isascii() and term.isalpha() and not is_acronym(term)


@cache
def _dictionary() -> frozenset[str]:
    # Webster's 2nd (web2): common words in lowercase, proper nouns (places, people) capitalised.
    return frozenset(get_english_words_set(["web2"]))


def is_ordinary_word(word: str) -> bool:
    """Whether an English dictionary has ``word`` (or its singular) as a word or a place or
    person's name: "Amazon", "Oracle", "Windows", "Java" are; "Google", "Nvidia" are not."""
    words = _dictionary()
    lower = word.lower()
    forms = {lower, lower[:-1] if lower.endswith("s") else lower}
    return any(f in words or f.capitalize() in words for f in forms)


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


def _weigh(
    rule: _Compiled,
    text: str,
    short: bool,
    words: _Words,
    hits: list[Hit],
    title_end: int,
    detail: bool,
) -> TopicEvidence | None:
    """``rule``'s evidence in ``text``; None when the hits are too few to file it there."""
    score = strength = 0.0
    count = 0
    lead = False
    terms: list[TopicTerm] = []
    found = [
        (start, end, _weight(rule, text, start, end, term))
        for start, end, term in hits
        if term not in rule.excluded and _bounded(text, start, end, words)
    ]
    found.extend(_regex_hits(rule, text))
    for start, end, weight in found:
        if not weight:
            continue
        count += 1
        score += weight
        lead = lead or start < LEAD_CHARS
        place = (
            "title" if start < title_end else "lead" if start <= title_end + LEAD_CHARS else "body"
        )
        strength += weight * PLACE_FACTOR[place]
        if detail:
            terms.append(TopicTerm(text[start:end], place, weight))
    # A lone weak term (score 0.5) files nothing.
    if score >= 1.0 and (short or lead or count >= 2):
        return TopicEvidence(rule.id, score, strength, tuple(terms))
    return None


def _weight(rule: _Compiled, text: str, start: int, end: int, term: str) -> float:
    """What one hit weighs: 2 an alias, 1 a keyword, 0.5 a weak term; a name that is also an
    ordinary word counts only capitalised ("apple" the fruit is nothing) and only half (needing
    another hit) unless the sentence writes it as a name; a common noun capitalised after
    another capitalised word is part of a name (the West Bank) and counts half too."""
    weight = 2.0 if term in rule.strong else 0.5 if term in rule.weak else 1.0
    if term in rule.names:
        if not text[start].isupper():
            return 0.0
        if not _named(text, start, end, term in rule.places):
            return min(weight, 0.5)
    elif term in rule.common and text[start].isupper():
        before = _previous_word(text, start)
        if before and before[0].isupper() and before.lower() not in _ARTICLES:
            return min(weight, 0.5)
    return weight


_ARTICLES = frozenset({"the", "a", "an"})
_PREVIOUS = re.compile(r"([A-Za-z][A-Za-z'\u2019-]*)[ \t\"'\u201c\u2018(]*$")
_NEXT = re.compile(r"[ \t]+([A-Za-z])")
# A company's marks after its name: "Apple's", "Oracle Corp", "Shell plc", "Amazon shares".
_CORPORATE = re.compile(
    r"(?:['\u2019]s\b|\s+(?:Inc|Corp|Corporation|Ltd|plc|PLC|LLC|Co|shares|stock)\b)"
)


def _previous_word(text: str, start: int) -> str:
    """The word just before ``start`` in the same clause ('' after punctuation or a line start)."""
    m = _PREVIOUS.search(text, max(0, start - 40), start)
    return m.group(1) if m else ""


def _named(text: str, start: int, end: int, place: bool) -> bool:
    """Whether a capitalised hit is written as the topic's name: with a company's marks, or
    capitalised mid-sentence after a lowercase word ("deal with Oracle"). At a sentence start,
    in a Title Case headline, after an article ("the Amazon") or before another capitalised
    word (the Amazon River) the capital says nothing; nor does it anywhere for a word that is
    a place's name too (Java, Amazon): those need a company's marks or another hit."""
    before = _previous_word(text, start)
    if before.lower() in _ARTICLES:
        return False
    if _CORPORATE.match(text, end):
        return True
    if place or not before or before[0].isupper():
        return False
    after = _NEXT.match(text, end)
    return not (after and after.group(1).isupper())


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
