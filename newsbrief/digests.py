"""Stories after a subscriber's cursor -> that subscriber's digest, ranked and grouped by topic.

A compose tick serves many subscribers from one window of stories, so the window is ranked and
indexed once (``StoryPool``): each topic is a bitset over the ranked stories, a subscriber's
matches are the OR of its topics' bitsets, and its top N stories are the N lowest set bits.
That keeps a digest for one of 100,000 subscribers to a few microseconds of integer operations.

A compose tick goes further with ``select_plain``: for a batch of subscribers without per-topic
keywords it does the same selection as array operations over the whole batch (numpy), and
returns the picks as flat arrays in digest order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from newsbrief.records import (
    Digest,
    DigestSection,
    Keywords,
    StoryItem,
    Subscription,
)
from newsbrief.text.chinese import to_simplified

TopicName = Callable[[str, str], str]
T = TypeVar("T")
Sections = list[tuple[str, list[int]]]
"""A digest's sections: (topic id, the ranks of its stories in the pool, best first)."""
NO_KEYWORDS = Subscription("").keywords
"""The shared empty ``Keywords`` of a plain subscription."""


def story_score(story: StoryItem, priority: Mapping[str, int]) -> float:
    """More sources first (with diminishing returns), then the topic's priority, then newer."""
    best = max((priority.get(t, 0) for t in story.topics), default=0)
    return math.log2(1 + story.source_count) + best


def match_text(text: str) -> str:
    """What keywords are looked for in: case-folded, Traditional folded to Simplified."""
    return to_simplified(text).casefold()


def keywords_pass(text: str, keywords: Keywords) -> bool:
    """``text`` as given by ``match_text``."""
    if keywords.include and not any(match_text(w) in text for w in keywords.include):
        return False
    return not any(match_text(w) in text for w in keywords.exclude)


class StoryPool:
    """One window of stories, ranked once, for composing many digests."""

    def __init__(self, stories: Iterable[StoryItem], priority: Mapping[str, int] = {}) -> None:
        self.ranked = sorted(stories, key=lambda s: (-story_score(s, priority), -s.seq))
        self.head = max((s.seq for s in self.ranked), default=0)
        self._topics: dict[str, int] = {}
        for bit, story in enumerate(self.ranked):
            for topic in story.topics:
                self._topics[topic] = self._topics.get(topic, 0) | 1 << bit
        self._index = {s.story_id: bit for bit, s in enumerate(self.ranked)}
        self._after: dict[int, int] = {}
        self._keywords: dict[Keywords, int] = {}
        self._texts: list[str] | None = None
        self._arrays: _PoolArrays | None = None
        self._passing_arrays: dict[Keywords, npt.NDArray[np.uint64]] = {}

    def __len__(self) -> int:
        return len(self.ranked)

    def after(self, position: int) -> int:
        """Bitset of the stories numbered above ``position``."""
        mask = self._after.get(position)
        if mask is None:
            mask = 0
            for bit, story in enumerate(self.ranked):
                if story.seq > position:
                    mask |= 1 << bit
            self._after[position] = mask
        return mask

    def passing(self, keywords: Keywords) -> int:
        """Bitset of the stories whose title or summary satisfies ``keywords``."""
        mask = self._keywords.get(keywords)
        if mask is None:
            if self._texts is None:
                self._texts = [match_text(f"{s.title}\n{s.summary}") for s in self.ranked]
            mask = 0
            for bit, text in enumerate(self._texts):
                if keywords_pass(text, keywords):
                    mask |= 1 << bit
            self._keywords[keywords] = mask
        return mask

    def ids(self, story_ids: Iterable[int]) -> int:
        mask = 0
        for story_id in story_ids:
            if (bit := self._index.get(story_id)) is not None:
                mask |= 1 << bit
        return mask

    def matching(self, subscriptions: Sequence[Subscription], filters: Keywords) -> int:
        mask = 0
        topics = self._topics
        for sub in subscriptions:
            keywords = sub.keywords
            if keywords.include or keywords.exclude:  # inline: runs 3,000,000 times a pass
                mask |= topics.get(sub.topic, 0) & self.passing(keywords)
            else:
                mask |= topics.get(sub.topic, 0)
        return mask & self.passing(filters) if filters else mask

    def select(
        self,
        subscriptions: Sequence[Subscription],
        filters: Keywords,
        position: int,
        max_items: int,
        skip: int = 0,
    ) -> tuple[list[tuple[str, int]], int, int]:
        """The best ``max_items`` matching stories after ``position`` (minus the ``skip``
        bitset) as sections ``(topic, bitset)``, all of them as one bitset, and how many more
        matched. ``pick`` turns a bitset into stories (or anything indexed by rank).

        Sections follow the subscriber's topic order; each story appears once, best first,
        under the topic it carries with the most evidence (its topics come strongest first)
        among the subscriber's topics whose keywords let it through: a Bitcoin-ETF story that
        mentions AI once goes under bitcoin for a reader of both. Picking is integer operations
        on the bitsets; only the few picked stories are looked at one by one.
        """
        mask = self.matching(subscriptions, filters) & self.after(position) & ~skip
        kept = 0
        for _ in range(max_items):
            if not mask:
                break
            low = mask & -mask
            kept |= low
            mask ^= low
        followed: dict[str, Subscription] = {}
        for sub in subscriptions:
            followed.setdefault(sub.topic, sub)
        placed: dict[str, int] = {}
        left = kept
        while left:
            low = left & -left
            left ^= low
            topics = self.ranked[low.bit_length() - 1].topics
            section = topics[0]  # cannot stay so for a story that matched; kept, not lost
            for topic in topics:
                follows = followed.get(topic)
                if follows is None:
                    continue
                keywords = follows.keywords
                if not (keywords.include or keywords.exclude) or self.passing(keywords) & low:
                    section = topic
                    break
            placed[section] = placed.get(section, 0) | low
        sections = [(t, placed.pop(t)) for t in followed if t in placed]
        sections.extend(placed.items())
        return sections, kept, mask.bit_count()

    def select_plain(
        self,
        subscriptions: Sequence[Sequence[Subscription]],
        positions: Sequence[int],
        max_items: Sequence[int],
        filters: Sequence[Keywords] = (),
    ) -> PlainSelection:
        """``select`` for a batch of subscribers at once, as array operations.

        For subscribers with at least one subscription, none of them with keywords (the caller
        checks); ``filters``, if given, holds each subscriber's filters. ``sections(i)`` of the
        result equals ``select``'s sections for subscriber ``i`` (tests compare the two); the
        flat arrays let a caller build every digest without a Python loop over the picks.
        """
        arrays = self._arrays or self._build_arrays()
        count, n = len(subscriptions), len(self.ranked)
        lengths = np.fromiter(map(len, subscriptions), np.int64, count)
        flat = np.fromiter(
            map(arrays.index.__getitem__, map(_topic_of, chain.from_iterable(subscriptions))),
            np.int64,
            int(lengths.sum()),
        )
        starts = np.zeros(count, np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        # Each subscriber's matches as 64-bit words: the OR of its topics' bitsets, after its
        # cursor (one mask per distinct position, few in a batch), through its filters.
        words = np.bitwise_or.reduceat(arrays.words[flat], starts, axis=0)
        distinct, which = np.unique(np.asarray(positions, np.int64), return_inverse=True)
        words &= self._packed(arrays.seqs[None, :] > distinct[:, None])[which]
        filtered = [row for row, k in enumerate(filters) if k.include or k.exclude]
        if filtered:
            words[filtered] &= np.stack([self._passing_words(filters[row]) for row in filtered])
        totals = np.bitwise_count(words).sum(axis=1, dtype=np.int64)
        rows, ranks = _first_bits(words, np.asarray(max_items, np.int64), totals, n)
        by_rank = ranks  # each subscriber's picks best first, before they go into sections
        # A story's section: the first of its topics (strongest evidence first) that the
        # subscriber follows.
        missing = arrays.index.missing
        place = np.full((count, missing + 1), _LAST, np.int64)
        np.minimum.at(
            place,
            (np.repeat(np.arange(count), lengths), flat),
            np.arange(len(flat)) - np.repeat(starts, lengths),
        )
        place[:, missing] = _LAST
        candidates = arrays.story_topics[ranks]
        places = place[rows[:, None], candidates]
        best = (places != _LAST).argmax(axis=1)
        picked = np.arange(len(rows))
        # Into digest order: by subscriber, then section; a stable sort keeps ranks in order.
        order = np.argsort(rows * int(lengths.max()) + places[picked, best], kind="stable")
        rows, ranks, sections = rows[order], ranks[order], candidates[picked, best][order]
        opens = np.ones(len(rows), np.bool_)
        opens[1:] = (rows[1:] != rows[:-1]) | (sections[1:] != sections[:-1])
        counts = np.bincount(rows, minlength=count).astype(np.int64)
        return PlainSelection(
            rows, ranks, sections, opens, counts, totals - counts, arrays.topic_ids, by_rank
        )

    def _passing_words(self, keywords: Keywords) -> npt.NDArray[np.uint64]:
        """``passing(keywords)`` as 64-bit words, as ``select_plain`` holds a subscriber's
        matches."""
        found = self._passing_arrays.get(keywords)
        if found is None:
            found = self._passing_arrays[keywords] = _words(self.passing(keywords), len(self))
        return found

    def _packed(self, bits: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
        """Rows of one bool a story (by rank) as rows of 64-bit words."""
        width = _width(len(self))
        packed = np.zeros((len(bits), width * 8), np.uint8)
        packed[:, : (bits.shape[1] + 7) // 8] = np.packbits(bits, axis=1, bitorder="little")
        return packed.view(np.uint64)

    def _build_arrays(self) -> _PoolArrays:
        topic_ids = list(self._topics)
        index = _TopicIndex(topic_ids)
        n = len(self.ranked)
        # One row of 64-bit words per topic, and an empty last row for topics not in the window.
        words = np.zeros((len(topic_ids) + 1, _width(n)), np.uint64)
        for i, topic in enumerate(topic_ids):
            words[i] = _words(self._topics[topic], n)
        most = max((len(s.topics) for s in self.ranked), default=1) or 1
        story_topics = np.full((n, most), len(topic_ids), np.int64)
        for rank, story in enumerate(self.ranked):
            for j, topic in enumerate(story.topics):
                story_topics[rank, j] = index[topic]
        seqs = np.fromiter((s.seq for s in self.ranked), np.int64, n)
        self._arrays = _PoolArrays(topic_ids, index, words, story_topics, seqs)
        return self._arrays

    @staticmethod
    def pick(mask: int, table: Sequence[T]) -> list[T]:
        """``table``'s entries at the ranks set in ``mask``, best first."""
        out = []
        while mask:
            low = mask & -mask
            out.append(table[low.bit_length() - 1])
            mask ^= low
        return out

    def digest(
        self,
        subscriber_id: int,
        lang: str,
        subscriptions: Sequence[Subscription],
        filters: Keywords,
        position: int,
        topic_name: TopicName,
        *,
        max_items: int,
        skip: int = 0,
    ) -> tuple[Digest | None, int]:
        """The digest of the stories after ``position`` (None when nothing matches), and how
        many matching stories it left out."""
        sections, _, more = self.select(subscriptions, filters, position, max_items, skip)
        if not sections:
            return None, 0
        ranked = self.ranked
        digest = Digest(
            subscriber_id,
            lang,
            tuple(
                DigestSection(t, topic_name(t, lang), tuple(self.pick(m, ranked)))
                for t, m in sections
            ),
            cursor=self.head,
            more=more,
        )
        return digest, more


_LAST = np.iinfo(np.int64).max
_topic_of = attrgetter("topic")
_PREFIX_WORDS = 1
"""``_first_bits`` unpacks this many words (64 stories) of every subscriber's matches first: a
digest of 20 of 500 stories is nearly always found among the best 64."""


def _width(stories: int) -> int:
    """64-bit words a bitset over ``stories`` takes (at least one)."""
    return max((stories + 63) // 64, 1)


def _words(bitset: int, stories: int) -> npt.NDArray[np.uint64]:
    """A bitset (bit = rank) as little-endian 64-bit words."""
    return np.frombuffer(bitset.to_bytes(_width(stories) * 8, "little"), "<u8").astype(np.uint64)


def _first_bits(
    words: npt.NDArray[np.uint64],
    limits: npt.NDArray[np.int64],
    totals: npt.NDArray[np.int64],
    stories: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The lowest ``limits[row]`` set bits of each row of ``words``, as (rows, bits) sorted by
    row then bit. Rows whose picks lie in the first ``_PREFIX_WORDS`` words (nearly all) are
    found there; only the others are unpacked whole: a cumulative count over every story of
    every row was most of the selection's time."""
    prefix = min(stories, _PREFIX_WORDS * 64)
    if not prefix:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    head_words = np.ascontiguousarray(words[:, :_PREFIX_WORDS])
    bits = np.unpackbits(head_words.view(np.uint8), axis=1, count=prefix, bitorder="little")
    running = np.cumsum(bits, axis=1, dtype=np.int32)
    found = running[:, -1]
    done = (found >= limits) | (found == totals)
    kept = bits.view(np.bool_) & (running <= limits[:, None]) & done[:, None]
    rows, ranks = np.nonzero(kept)
    rest = np.flatnonzero(~done)
    if not len(rest):
        return rows, ranks
    bits = np.unpackbits(words[rest].view(np.uint8), axis=1, count=stories, bitorder="little")
    running = np.cumsum(bits, axis=1, dtype=np.int32)
    more_rows, more_ranks = np.nonzero(bits.view(np.bool_) & (running <= limits[rest, None]))
    rows = np.concatenate((rows, rest[more_rows]))
    ranks = np.concatenate((ranks, more_ranks))
    order = np.argsort(rows * stories + ranks)
    return rows[order], ranks[order]


class _TopicIndex(dict[str, int]):
    """Topic id -> row in the pool's arrays; topics not in the window -> the empty row."""

    def __init__(self, topic_ids: Sequence[str]) -> None:
        super().__init__((t, i) for i, t in enumerate(topic_ids))
        self.missing = len(topic_ids)  # the all-zero row after the topics' rows

    def __missing__(self, topic: str) -> int:
        return self.missing


@dataclass(frozen=True, slots=True)
class _PoolArrays:
    """A pool's bitsets as arrays, for ``select_plain``."""

    topic_ids: list[str]
    index: _TopicIndex
    words: npt.NDArray[np.uint64]  # topic -> its stories' bits in 64-bit words (little-endian)
    story_topics: npt.NDArray[np.int64]  # rank -> its topics' rows, padded with the empty row
    seqs: npt.NDArray[np.int64]  # rank -> the story's sequence number


@dataclass(frozen=True, slots=True)
class PlainSelection:
    """What ``select_plain`` picked for a batch: one entry a picked story, in digest order (by
    subscriber, then section in the subscriber's topic order, then rank)."""

    rows: npt.NDArray[np.int64]  # entry -> subscriber (its index in the batch)
    ranks: npt.NDArray[np.int64]  # entry -> the story's rank in the pool
    topics: npt.NDArray[np.int64]  # entry -> its section's topic (index into topic_ids)
    opens: npt.NDArray[np.bool_]  # entry -> whether it is the first of its section
    counts: npt.NDArray[np.int64]  # subscriber -> stories picked
    more: npt.NDArray[np.int64]  # subscriber -> matching stories left out
    topic_ids: list[str]
    by_rank: npt.NDArray[np.int64]  # the picked ranks by subscriber, then rank (not section)

    def sections(self, row: int) -> Sections:
        """Subscriber ``row``'s sections as ``select`` gives them (ranks, not bitsets)."""
        lo, hi = np.searchsorted(self.rows, (row, row + 1))
        out: Sections = []
        for rank, topic, opens in zip(
            self.ranks[lo:hi].tolist(),
            self.topics[lo:hi].tolist(),
            self.opens[lo:hi].tolist(),
            strict=True,
        ):
            if opens:
                out.append((self.topic_ids[topic], []))
            out[-1][1].append(rank)
        return out
