"""The batch compose path (``StoryPool.select_plain``, ``Composer.compose_many``) against the
one-subscriber path it replaces in the compose tick: same sections, parts, rows and cursors."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.compose import Composer
from newsbrief.config.settings import Config
from newsbrief.digests import StoryPool
from newsbrief.records import CursorState, Keywords, StoryItem, Subscriber, Subscription

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
WORDS = ["比特币", "监管", "芯片", "bitcoin", "chip", "央行"]


def pool_stories(
    rng: random.Random, topics: int, count: int, long: bool = False
) -> list[StoryItem]:
    names = [f"t{i}" for i in range(topics)]
    return [
        StoryItem(
            story_id=i + 100,
            seq=i + 1,
            title=" ".join(rng.choices(WORDS, k=3)) + f" {i}",
            url=f"https://news.example/{i}?a=1&b=2",
            summary=" ".join(rng.choices(WORDS, k=rng.randint(5, 120 if long else 10))),
            source="Wire",
            topics=tuple(rng.sample(names, rng.randint(1, min(3, topics)))),
            source_count=rng.randint(1, 6),
            published_at=None,
        )
        for i in range(count)
    ]


def some_keywords(rng: random.Random) -> Keywords:
    return rng.choice(
        [Keywords(), Keywords(exclude=(rng.choice(WORDS),)), Keywords(include=(rng.choice(WORDS),))]
    )


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_select_plain_picks_what_select_picks(seed: int) -> None:
    rng = random.Random(seed)
    # Up to four 64-bit words of stories: the first word's picks and the rows unpacked whole.
    topics, count = rng.randint(1, 12), rng.randint(0, 250)
    pool = StoryPool(
        pool_stories(rng, topics, count), {f"t{k}": rng.randint(-1, 1) for k in range(3)}
    )
    batch = rng.randint(1, 25)
    # Topics beyond the window's, repeated topics, filters, positions inside the window.
    subs = [
        tuple(Subscription(f"t{rng.randint(0, topics + 2)}") for _ in range(rng.randint(1, 8)))
        for _ in range(batch)
    ]
    filters = [some_keywords(rng) for _ in range(batch)]
    positions = [rng.randint(0, count) for _ in range(batch)]
    limits = [rng.randint(0, rng.choice((12, 80))) for _ in range(batch)]
    picked = pool.select_plain(subs, positions, limits, filters)
    for i in range(batch):
        masks, kept, more = pool.select(subs[i], filters[i], positions[i], limits[i])
        expected = [(t, pool.pick(m, range(count))) for t, m in masks]
        assert picked.sections(i) == expected
        assert (int(picked.counts[i]), int(picked.more[i])) == (kept.bit_count(), more)


def test_compose_many_writes_what_compose_writes(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(7)
    config = Config(
        feeds=[],
        topics=[{"id": f"t{i}", "name": {"zh": f"话题{i}", "en": f"Topic {i}"}} for i in range(12)],
        subscriber_defaults={"max_items": 15},
    )
    # Long summaries: many digests need two or three Telegram messages.
    composer = Composer(config, pool_stories(rng, 12, 120, long=True))
    claimed = []
    for sid in range(1, 301):
        topics = rng.sample([f"t{i}" for i in range(14)], rng.randint(1, 8))
        subscriptions = tuple(
            Subscription(t, some_keywords(rng)) if sid % 7 == 0 else Subscription(t) for t in topics
        )
        subscriber = Subscriber(
            id=sid,
            platform=rng.choice(["telegram", "telegram", "telegram", "console", "dingtalk"]),
            chat_id=str(sid),
            thread_id=None,
            lang=rng.choice(["zh-Hans", "zh-Hant", "en"]),
            timezone="Asia/Shanghai",
            schedule="instant",
            subscriptions=subscriptions,
            filters=some_keywords(rng),
            max_items=rng.choice([None, 0, 3, 40]),
        )
        overflow = {"after": 0, "upto": 50, "shown": [100, 101]} if sid % 5 == 0 else None
        claimed.append((subscriber, CursorState(rng.choice([0, 0, 60, 119]), 4, overflow)))
    batch = list(composer.compose_many(claimed, NOW))
    assert not caplog.records  # the batch path served them: no fallback, no failure
    one_by_one = [(s, state, composer.compose(s, state, NOW)) for s, state in claimed]
    assert batch == one_by_one
    parts = [len(composed.deliveries) for _, _, composed in batch if composed]
    assert max(parts) >= 2 and parts.count(0) > 0  # long digests and empty ones were covered
