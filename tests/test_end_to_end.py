"""A feed's new article reaches a subscriber's Telegram chat, end to end, on SQLite and PostgreSQL.

Real parts only: the Bot API server and the feed server on loopback, python-telegram-bot long
polling, the real ticks and the real database.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from newsbrief.store.tables import ArticleRow
from tests.harness import CHAT, NEW, OLD, Harness
from tests.servers.feeds import rss


async def test_new_entry_reaches_the_subscriber_once(harness: Harness) -> None:
    botapi, feeds = harness.botapi, harness.feeds
    await harness.round()  # the feed's old entry is stored before anyone subscribes

    welcome = await harness.say("/start", expect=1)
    assert welcome.startswith("👋 Welcome to newsbrief")
    assert "/subscribe ai" in welcome  # the first step (tests/test_onboarding.py)
    subscribed = await harness.say("/subscribe ai", expect=2)
    assert subscribed.splitlines()[0] == "✅ Following: AI"

    feeds.set("/wire.xml", rss([NEW, OLD], title="Wire"))
    await harness.round()

    messages = await botapi.wait_for_messages(CHAT, 3)
    assert len(messages) == 3
    digest = messages[2]
    assert "OpenAI ships a new model & more" in digest.text
    assert "Old AI news" not in digest.text
    links = [e["url"] for e in digest.entities if e["type"] == "text_link"]
    assert links == ["https://news.example/new?id=7&src=rss"]
    assert digest.link_preview_disabled

    before = len(feeds.statuses("/wire.xml"))
    await harness.round()
    assert feeds.statuses("/wire.xml")[before:] == [304]
    await asyncio.sleep(0.3)
    assert len(botapi.messages(CHAT)) == 3


async def test_replies_follow_the_subscribers_language(harness: Harness) -> None:
    reply = await harness.say("/start", expect=1, chat=777, language_code="zh-hans")
    assert reply.startswith("👋 欢迎使用 newsbrief")
    subscribed = await harness.say("/subscribe 加密货币", expect=2, chat=777)
    assert subscribed.splitlines()[0] == "✅ 已订阅：加密货币"
    assert await harness.say("/subscribe nosuch", expect=3, chat=777) == (
        "没有这些话题：nosuch。发送 /topics 查看全部话题。"
    )
    listing = await harness.say("/list", expect=4, chat=777)
    assert listing.startswith("我的订阅：加密货币\n推送时间：有新闻就推送\n📬 ")
    topics = await harness.say("/topics", expect=5, chat=777)
    assert "加密货币 crypto ✓" in topics and "人工智能 ai\n" in topics
    assert await harness.say("/digest", expect=6, chat=777) == (
        "暂时没有新内容，有新消息时会推送给你。"
    )
    assert await harness.say("/unsubscribe crypto", expect=7, chat=777) == "已退订：加密货币"
    assert await harness.say("/frobnicate", expect=8, chat=777) == (
        "不认识这个命令。发送 /help 查看可用命令。"
    )
    # English speakers get English; the menu is published in both languages.
    assert (await harness.say("/help", expect=1, chat=778)).startswith("Commands")
    assert harness.botapi.commands(language_code="en")[0]["description"] == "Start"
    assert harness.botapi.commands(language_code="zh")[0]["description"] == "开始使用"


async def test_only_group_admins_change_group_subscriptions(harness: Harness) -> None:
    group, admin, member = -100200, 11, 12
    harness.botapi.set_member_status(group, admin, "administrator")
    kw = {"chat": group, "chat_type": "supergroup", "language_code": "en"}
    assert await harness.say("/subscribe ai", expect=1, user_id=member, **kw) == (
        "Only the group's admins can change its subscriptions."
    )
    subscribed = await harness.say("/subscribe ai", expect=2, user_id=admin, **kw)
    assert subscribed.splitlines()[0] == "✅ Following: AI"
    listing = await harness.say("/list", expect=3, user_id=member, **kw)
    assert listing.startswith("Following: AI\nSchedule: as news comes\n📬 ")


async def test_digest_command_sends_what_is_new_now(harness: Harness) -> None:
    await harness.say("/start", expect=1)
    await harness.say("/subscribe ai", expect=2)
    harness.feeds.set("/wire.xml", rss([NEW, OLD], title="Wire"))
    await harness.runtime.poll_once(all_feeds=True)
    await harness.runtime.process_all()
    digest = await harness.say("/digest", expect=3)
    assert "OpenAI ships a new model & more" in digest
    assert "A new large language model is out. It is fast." in digest


NASTY_TITLES = [
    ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
    ("Use &lt;b&gt; for bold &amp; &lt;i&gt;unclosed 🚀", "Use <b> for bold & <i>unclosed 🚀"),
    (
        "AT&amp;T &lt;script&gt;alert(1)&lt;/script&gt; 比特币 🤖",
        "AT&T <script>alert(1)</script> 比特币 🤖",
    ),
    ("x &lt;3nm &amp;amp; y", "x <3nm &amp; y"),
]


async def test_hostile_titles_and_summaries_reach_the_chat_intact(harness: Harness) -> None:
    await harness.say("/start", expect=1)
    await harness.say("/subscribe ai", expect=2)
    items = [
        {
            "title": raw,
            "link": f"https://news.example/{i}?a=1&amp;b=&lt;2&gt;",
            "guid": f"n{i}",
            "description": f"&lt;p&gt;{raw} language model &amp;lt;/div&amp;gt; 🙂&lt;/p&gt;&lt;b&gt;",
        }
        for i, (raw, _) in enumerate(NASTY_TITLES)
    ]
    harness.feeds.set("/wire.xml", rss(items, title="Feed &lt;&amp;&gt; 🚀"))
    await harness.round()
    messages = await harness.botapi.wait_for_messages(CHAT, 3)
    assert len(messages) == 3  # one digest, accepted by the server's strict HTML parser
    text = messages[2].text
    for _, plain in NASTY_TITLES:
        assert plain in text
    assert "</div> 🙂" in text  # escaped HTML inside the summary stays text
    assert "Feed <&> 🚀" in text
    urls = {e["url"] for e in messages[2].entities if e["type"] == "text_link"}
    assert "https://news.example/0?a=1&b=<2>" in urls
    assert all(m.parse_mode == "HTML" for m in messages)


async def test_an_edited_entry_is_updated_not_announced_again(harness: Harness) -> None:
    await harness.say("/start", expect=1)
    await harness.say("/subscribe ai", expect=2)
    harness.feeds.set("/wire.xml", rss([NEW, OLD], title="Wire"))
    await harness.round()
    assert len(await harness.botapi.wait_for_messages(CHAT, 3)) == 3
    edited = {**NEW, "description": "&lt;p&gt;Corrected: the language model is slower.&lt;/p&gt;"}
    harness.feeds.set("/wire.xml", rss([edited, OLD], title="Wire"))
    await harness.round()
    await asyncio.sleep(0.3)
    assert len(harness.botapi.messages(CHAT)) == 3  # no second announcement
    # ...but what the bot knows follows the edit.
    with harness.runtime.db.session() as session:
        texts = [a.text for a in session.scalars(select(ArticleRow))]
    assert any("Corrected: the language model is slower." in t for t in texts)
