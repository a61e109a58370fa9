"""Composing digests: matching, filters, ranking, "and N more", scripts, exactly-once writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.render import materialize
from bot.telegram.render import render_digest
from jobs.compose import compose_due, compose_for
from newsbrief.config.settings import Config
from newsbrief.digests import StoryPool
from newsbrief.editions import edition_at
from newsbrief.records import Keywords, Subscriber, Subscription
from newsbrief.store import outbox, subscribers
from newsbrief.store import stories as story_store
from newsbrief.store.db import Database
from newsbrief.store.tables import DigestCursorRow, FeedRow, StoryRow, StoryTopicRow

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
LEASE = timedelta(minutes=2)
CONFIG = Config(
    feeds=[],
    topics=[
        {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}},
        {"id": "crypto", "name": {"zh": "加密货币", "en": "Crypto"}},
        {"id": "sports", "name": {"zh": "体育", "en": "Sports"}, "priority": -2},
    ],
    subscriber_defaults={"max_items": 3, "backlog_hours": 0},
)


def add_stories(db: Database, *stories: tuple[int, str, str, list[str], int]) -> None:
    with db.session() as session:
        if session.get(FeedRow, "wire") is None:
            session.add(FeedRow(id="wire", url="http://wire/feed", title="Wire", next_check_at=NOW))
            session.flush()
        for story_id, title, summary, topics, sources in stories:
            session.execute(
                insert(StoryRow).values(
                    id=story_id,
                    title=title,
                    url=f"https://news.example/{story_id}",
                    summary=summary,
                    lang="zh-Hans",
                    feed_id="wire",
                    topics=topics,
                    source_count=sources,
                    created_at=NOW - timedelta(minutes=10),
                )
            )
            for topic in topics:
                session.execute(insert(StoryTopicRow).values(story_id=story_id, topic_id=topic))


def subscriber(
    db: Database,
    chat: int,
    topics: list[str],
    *,
    lang: str = "zh-Hans",
    schedule: str = "instant",
    keywords: Keywords | None = None,
) -> Subscriber:
    with db.session() as session:
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            str(chat),
            None,
            lang=lang,
            timezone="Asia/Shanghai",
            schedule=schedule,
            now=NOW - timedelta(hours=1),
            backlog=timedelta(hours=2),
        )
        subscribers.subscribe(session, sub.id, topics, NOW, keywords)
        found = subscribers.get(session, sub.id)
    assert found is not None
    return found


def texts(db: Database, sub: Subscriber) -> list[str]:
    with db.session() as session:
        ids = sorted(r.id for r in outbox.listing(session) if r.subscriber_id == sub.id)
        mine = outbox.claim(session, ids, NOW + timedelta(days=1), LEASE)
    assert len(mine) == len(ids)
    return [d.message.text for d in materialize(db, CONFIG, mine)]


def test_a_digest_has_the_subscribers_topics_best_first_grouped_and_counted(db: Database) -> None:
    add_stories(
        db,
        (1, "模型发布", "一个新的大模型发布了。", ["ai"], 1),
        (2, "比特币大涨", "比特币今天大涨。", ["crypto"], 5),
        (3, "球队夺冠", "球队夺冠了。", ["sports"], 9),
        (4, "AI 芯片", "新的 AI 芯片发布。", ["ai", "crypto"], 2),
        (5, "另一个模型", "又一个模型。", ["ai"], 1),
    )
    reader = subscriber(db, 1, ["ai", "crypto"])
    fan = subscriber(db, 2, ["sports"], lang="en")
    assert compose_due(db, CONFIG, NOW) == 2
    (text,) = texts(db, reader)
    # Ranked by sources (2: five, 4: two, then the newest of the single-source ones), limited
    # to max_items 3, grouped under the reader's first topic that carries each story.
    assert text.index("人工智能") < text.index("AI 芯片") < text.index("另一个模型")
    assert text.index("加密货币") < text.index("比特币大涨")
    assert "AI 芯片" in text and "模型发布" not in text and "球队夺冠" not in text
    assert "还有 1 条" in text and "/digest" in text
    assert "另有 4 个来源报道" in text and "另有 1 个来源报道" in text
    (sports,) = texts(db, fan)
    assert "球队夺冠" in sports and "Sports" in sports and "AI" not in sports
    # The same pass again writes nothing: the cursors moved and the keys are taken.
    assert compose_due(db, CONFIG, NOW + timedelta(minutes=5)) == 0


def test_digest_command_pages_through_what_was_left_out(db: Database) -> None:
    add_stories(db, *((i, f"模型新闻{i}", f"第{i}条。", ["ai"], 1) for i in range(1, 9)))
    reader = subscriber(db, 1, ["ai"])
    compose_due(db, CONFIG, NOW)
    later = NOW + timedelta(minutes=3)
    assert compose_for(db, CONFIG, reader, later, on_demand=True) == 1
    assert compose_for(db, CONFIG, reader, later, on_demand=True) == 1
    assert compose_for(db, CONFIG, reader, later, on_demand=True) == 0  # all 8 shown
    shown = "".join(texts(db, reader))
    assert all(shown.count(f"模型新闻{i}<") == 1 for i in range(1, 9))


def test_filters_and_keywords(db: Database) -> None:
    add_stories(
        db,
        (1, "比特币 ETF 获批", "监管批准。", ["crypto"], 1),
        (2, "狗狗币 meme 暴涨", "又是 meme。", ["crypto"], 1),
        (3, "大模型 meme 图", "好玩。", ["ai"], 1),
    )
    no_memes = subscriber(db, 1, ["crypto", "ai"])
    with db.session() as session:
        subscribers.update(session, no_memes.id, NOW, filters=Keywords(exclude=("MEME",)))
    etf_only = subscriber(db, 2, ["crypto"], keywords=Keywords(include=("etf",)))
    compose_due(db, CONFIG, NOW)
    (first,) = texts(db, no_memes)
    assert "比特币 ETF 获批" in first and "meme" not in first
    (second,) = texts(db, etf_only)
    assert "比特币 ETF 获批" in second and "狗狗币" not in second


def test_a_traditional_reader_reads_traditional(db: Database) -> None:
    add_stories(db, (1, "人工智能发展迅速", "这个模型很强。", ["ai"], 1))
    reader = subscriber(db, 1, ["ai"], lang="zh-Hant")
    compose_due(db, CONFIG, NOW)
    (text,) = texts(db, reader)
    assert "人工智能發展迅速" in text and "這個模型很強" in text
    assert "11月28日 午報" in text and "发展" not in text  # 12:00 in Shanghai: the midday edition


def test_daily_subscribers_wait_and_quiet_hours_hold(db: Database) -> None:
    add_stories(db, (1, "模型", "内容。", ["ai"], 1))
    daily = subscriber(db, 1, ["ai"], schedule="daily 20:00")
    with db.session() as session:
        subscribers.update(session, daily.id, NOW, quiet_hours="19:00-21:00")
        due = session.get_one(DigestCursorRow, daily.id).next_due_at
    assert due == datetime(2026, 11, 28, 13, 0, tzinfo=UTC)  # 21:00 Shanghai, after quiet
    assert compose_due(db, CONFIG, NOW) == 0
    assert compose_due(db, CONFIG, due) == 1


def test_parts_rendered_when_sent_match_the_digest_rendered_at_once(db: Database) -> None:
    long = "长" * 480
    add_stories(db, *((i, f"标题{i}", long, ["ai"], 1) for i in range(1, 31)))
    config = Config(feeds=[], topics=CONFIG.topics)
    reader = subscriber(db, 1, ["ai"])
    with db.session() as session:  # a returning reader: a first digest is one message
        session.get_one(DigestCursorRow, reader.id).digests_sent = 1
    compose_due(db, config, NOW)
    with db.session() as session:
        stories = story_store.story_window(session, 0, 100, 100)
    digest, more = StoryPool(stories).digest(
        reader.id,
        "zh-Hans",
        [Subscription("ai")],
        Keywords(),
        0,
        lambda t, lang: config.topic(t).display(lang),  # type: ignore[union-attr]
        max_items=20,
    )
    assert digest is not None and more == 10
    digest = replace(digest, edition=edition_at(NOW, "Asia/Shanghai"))
    at_once = [m.text for m in render_digest(digest)]
    with db.session() as session:
        rows = sorted(
            (r for r in outbox.listing(session) if r.subscriber_id == reader.id),
            key=lambda r: r.key,
        )
        assert all(r.text == "" and r.payload for r in rows)
        claimed = outbox.claim_due(session, NOW, 100, LEASE, ["telegram"])
    assert len(at_once) > 1
    assert [d.message.text for d in materialize(db, config, claimed)] == at_once


def test_subscribers_are_due_only_while_they_follow_something(db: Database) -> None:
    add_stories(db, (1, "模型", "内容。", ["ai"], 1))
    with db.session() as session:
        sub, _ = subscribers.ensure(
            session,
            "telegram",
            "7",
            None,
            lang="en",
            timezone="UTC",
            schedule="instant",
            now=NOW,
            backlog=timedelta(hours=1),
        )
    with db.session() as session:
        assert subscribers.claim_due(session, NOW, 10) == []
        subscribers.subscribe(session, sub.id, ["ai"], NOW)
    assert compose_due(db, CONFIG, NOW) == 1
    with db.session() as session:
        subscribers.unsubscribe(session, sub.id, ["ai"])
    assert compose_due(db, CONFIG, NOW + timedelta(minutes=1)) == 0
    with db.session() as session:
        assert session.get_one(DigestCursorRow, sub.id).next_due_at is None


def test_a_story_goes_under_the_readers_topic_it_carries_with_the_most_evidence(
    db: Database,
) -> None:
    """A zh-Hant reader of AI and Bitcoin: a Bitcoin-ETF story that mentions AI once in its
    lead goes under Bitcoin, whichever of the two the reader followed first."""
    from newsbrief.articles.topics import TopicMatcher
    from newsbrief.config.taxonomy import load_taxonomy
    from newsbrief.records import StoryItem

    matcher = TopicMatcher(load_taxonomy("config/topics.yaml").topics)
    title = "Bitcoin ETF inflows hit a record as Bitcoin tops $100,000"
    body = "Funds bought more bitcoin this week; one manager credited AI trading desks."
    topics = matcher.match(f"{title}\n{body}")
    assert {"ai", "bitcoin"} <= set(topics) and topics.index("bitcoin") < topics.index("ai")
    story = StoryItem(1, 1, title, None, body, "Wire", topics)
    pool = StoryPool([story])
    subs = (Subscription("ai"), Subscription("bitcoin"))
    sections, _, _ = pool.select(subs, Keywords(), 0, 5)
    assert [t for t, _ in sections] == ["bitcoin"]
    assert pool.select_plain([subs], [0], [5]).sections(0) == [("bitcoin", [0])]
    # The whole compose pass, as a zh-Hant reader sees it.
    config = Config(
        feeds=[],
        topics=[
            {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}},
            {"id": "bitcoin", "name": {"zh": "比特币", "en": "Bitcoin"}},
        ],
        subscriber_defaults={"max_items": 3, "backlog_hours": 0},
    )
    add_stories(db, (1, title, body, list(topics), 1))
    reader = subscriber(db, 1, ["ai", "bitcoin"], lang="zh-Hant")
    assert compose_due(db, config, NOW) == 1
    with db.session() as session:
        ids = [r.id for r in outbox.listing(session) if r.subscriber_id == reader.id]
        mine = outbox.claim(session, ids, NOW + timedelta(days=1), LEASE)
    (text,) = [d.message.text for d in materialize(db, config, mine)]
    assert "比特幣" in text and "人工智慧" not in text
