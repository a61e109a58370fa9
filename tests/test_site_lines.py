"""Per-site boilerplate: lines repeating across a site's pages are learned, stored and dropped
(on a feed's first poll and in one ``newsbrief analyze`` batch already); the article page's
author, lead image and date are kept."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from jobs.runtime import Runtime
from newsbrief.articles.cleaner import batch_site_lines, clean_text
from newsbrief.config.settings import Config
from newsbrief.store import sites
from newsbrief.store.db import Database
from newsbrief.store.tables import ArticleRow, SiteLineRow
from tests.servers.feeds import FeedServer, rss
from tests.test_analyze import run as run_analyze

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# A site signature no static rule knows: no ad word, no label, no copyright form, and a
# sentence (a short line sharing nothing with the story would go as off-topic).
FOOTER = "星河资讯每日为读者整理科技与财经要闻。"
STORIES = [
    (
        "国产大模型发布新版本",
        [
            "某科技公司周二发布了新一代大语言模型，称其在推理和代码生成上有明显提升。",
            "公司表示，新模型的训练数据比上一代增加了一倍，并针对中文长文本做了专门优化。",
            "多位业内人士认为，模型能力的竞争正在从参数规模转向数据质量和推理效率。",
        ],
    ),
    (
        "新能源汽车销量再创新高",
        [
            "乘用车协会数据显示，上月新能源汽车零售销量同比增长超过三成，渗透率继续上升。",
            "分析人士指出，价格下探和充电网络完善是推动销量增长的两个主要因素。",
            "多家车企表示将在明年推出更多面向入门市场的车型，竞争可能进一步加剧。",
        ],
    ),
    (
        "央行公布最新货币政策报告",
        [
            "央行在最新一期货币政策执行报告中表示，将继续保持流动性合理充裕。",
            "报告提到，下一阶段将加大对科技创新和小微企业的金融支持力度。",
            "市场人士预计，年内仍有降准的可能，但幅度和时点取决于经济数据的表现。",
        ],
    ),
    (
        "芯片企业加快扩产步伐",
        [
            "多家芯片制造企业近期宣布扩产计划，新增产能主要集中在成熟制程领域。",
            "业内认为，汽车电子和工业控制需求稳定，是成熟制程扩产的主要支撑。",
            "也有分析师提醒，产能集中释放可能在两年后带来价格下行的压力。",
        ],
    ),
]


def article_page(title: str, paragraphs: list[str], *, day: int) -> str:
    body = "".join(f"<p>{p}</p>" for p in [*paragraphs, FOOTER])
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title} - 星河资讯</title>"
        f'<meta property="og:title" content="{title}">'
        '<meta name="author" content="李明">'
        f'<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00+08:00">'
        f'<meta property="og:image" content="https://img.example.cn/{day}.jpg">'
        "</head><body><nav><a href='/'>首页</a></nav>"
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer>联系我们</footer></body></html>"
    )


def teaser_items(feeds: FeedServer, count: int) -> list[dict[str, str]]:
    """Feed items that only tease (no date either): the process stage fetches each page."""
    items = []
    for i, (title, paragraphs) in enumerate(STORIES[:count]):
        path = f"/news/{i}.html"
        feeds.set(path, article_page(title, paragraphs, day=10 + i), "text/html; charset=utf-8")
        items.append(
            {"title": title, "link": feeds.url(path), "guid": str(i), "description": "摘要"}
        )
    return items


def config(database_url: str, feeds: FeedServer) -> Config:
    return Config(
        database_url=database_url,
        fetch={"allow_private_networks": True, "timeout": 5, "host_spacing": 0},
        topics=[{"id": "tech", "name": {"zh": "科技", "en": "Tech"}, "keywords": ["模型"]}],
        feeds=[{"id": "site", "url": feeds.url("/feed.xml"), "fulltext": "auto"}],
    )


async def poll_and_process(database_url: str, feeds: FeedServer) -> None:
    """One fresh runtime per round: what it learned must come from the database."""
    runtime = Runtime(config(database_url, feeds))
    runtime.start()
    try:
        await runtime.poll_once(all_feeds=True)
        await runtime.process_all()
    finally:
        await runtime.aclose()


def test_no_static_rule_catches_the_footer() -> None:
    title, paragraphs = STORIES[0]
    assert FOOTER in clean_text("\n".join([*paragraphs, FOOTER]), title=title)


async def test_site_footer_is_learned_stored_and_dropped(database_url: str) -> None:
    with FeedServer() as feeds:
        feeds.set("/feed.xml", rss(teaser_items(feeds, 3)))
        await poll_and_process(database_url, feeds)
        db = Database(database_url)
        try:
            with db.session() as session:
                first = list(session.scalars(select(ArticleRow).order_by(ArticleRow.id)))
                assert len(first) == 3
                # Three pages of one batch already show the footer is the site's.
                for row in first:
                    assert row.text.splitlines() == dict(STORIES)[row.title]
                stored = session.get_one(SiteLineRow, ("127.0.0.1", sites.line_hash(FOOTER)))
                assert (stored.line, stored.pages) == (FOOTER, 3)
                # Lines of one page only are stored too, but each once: no page counts twice.
                assert session.scalar(select(func.max(SiteLineRow.pages))) == 3

            feeds.set("/feed.xml", rss(teaser_items(feeds, 4)))
            await poll_and_process(database_url, feeds)
            with db.session() as session:
                fourth = session.scalars(select(ArticleRow).order_by(ArticleRow.id.desc())).first()
                assert fourth is not None and fourth.title == STORIES[3][0]
                # A single new page: only the stored sightings can have marked the footer.
                assert fourth.text.splitlines() == STORIES[3][1]
                stored = session.get_one(SiteLineRow, ("127.0.0.1", sites.line_hash(FOOTER)))
                assert stored.pages == 4
                # The page's metadata, the date included since the feed item had none.
                assert fourth.author == "李明"
                assert fourth.image_url == "https://img.example.cn/13.jpg"
                assert fourth.published_at is not None
                assert fourth.published_at.date().isoformat() == "2026-11-13"
        finally:
            db.dispose()


def test_lines_on_too_few_pages_are_kept_and_old_rows_pruned(db: Database) -> None:
    with db.session() as session:
        sites.record(session, {"a.example": Counter({"页脚": 2, "只一次": 1})}, NOW)
        sites.record(session, {"b.example": Counter({"页脚": 1})}, NOW)
    with db.session() as session:
        learned = sites.boilerplate(
            session, {"a.example": Counter({"页脚": 1, "只一次": 1}), "b.example": Counter()}
        )
    # Two stored sightings plus this batch's make three on a.example; other sites count apart.
    assert learned == {"a.example": frozenset({"页脚"}), "b.example": frozenset()}

    later = NOW + sites.KEEP + timedelta(days=1)
    with db.session() as session:
        sites.record(session, {"a.example": Counter({"页脚": 1})}, later)
    with db.session() as session:
        rows = {(r.host, r.line, r.pages) for r in session.scalars(select(SiteLineRow))}
    assert rows == {("a.example", "页脚", 3)}


def test_each_host_keeps_its_most_frequent_lines(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sites, "MAX_LINES_PER_HOST", 3)
    with db.session() as session:
        sites.record(session, {"a.example": Counter({"常见": 5, "较常见": 4})}, NOW)
        sites.record(
            session, {"a.example": Counter({"新行一": 1, "新行二": 1})}, NOW + timedelta(hours=1)
        )
    with db.session() as session:
        kept = set(session.scalars(select(SiteLineRow.line)))
    assert len(kept) == 3 and {"常见", "较常见"} <= kept


def test_site_of() -> None:
    assert sites.site_of("https://WWW.Example.cn/a/1.html") == "example.cn"
    assert sites.site_of(None) is None
    assert sites.site_of("not a url") is None


def test_a_batch_shows_a_sites_lines_without_a_database() -> None:
    pages = [
        ("https://www.a.example/1", "\n".join([*STORIES[0][1], FOOTER])),
        ("https://a.example/2", "\n".join([*STORIES[1][1], FOOTER])),
        ("http://a.example/3", "\n".join([*STORIES[2][1], FOOTER])),
        ("http://a.example/3?again", "\n".join([*STORIES[2][1], FOOTER])),  # the same page
        ("https://b.example/1", "\n".join([*STORIES[3][1], FOOTER])),
        (None, FOOTER),
    ]
    learned = batch_site_lines(pages)
    assert learned["a.example"] == {FOOTER}
    assert learned["b.example"] == frozenset()
    assert batch_site_lines(pages[:2]) == {"a.example": frozenset()}  # two pages are not several
    # A line the site puts in front of every first paragraph counts too.
    glued = [(url, "星河资讯｜" + text) for url, text in pages[:3]]
    assert "星河资讯｜" in batch_site_lines(glued)["a.example"]


def analyze(items: list[dict[str, str]], *flags: str) -> list[dict[str, Any]]:
    return run_analyze([json.dumps(item, ensure_ascii=False) for item in items], *flags)


def test_analyze_drops_lines_repeated_across_a_hosts_inputs_and_explains() -> None:
    """A batch of ``newsbrief analyze`` is read like a feed's first poll: a line on several
    inputs of one host is that site's, and ``--explain`` says so."""
    items = [
        {
            "id": i,
            "url": f"https://news.example/{i}",
            "title": title,
            "text": "\n".join([title, *paragraphs, FOOTER]),
        }
        for i, (title, paragraphs) in enumerate(STORIES[:3])
    ]
    other = {"id": "other", "url": "https://else.example/1", "title": STORIES[3][0]}
    other["text"] = "\n".join([*STORIES[3][1], FOOTER])
    out = analyze([*items, other], "--explain")
    for one, (_, paragraphs) in zip(out, STORIES, strict=False):
        assert one["text"].splitlines() == (
            paragraphs if one["id"] != "other" else [*paragraphs, FOOTER]
        )
    for one in out[:3]:
        assert {"line": FOOTER, "reason": "site line"} in one["removed"]
        assert one["removed"][0]["reason"] == "headline"
    assert all(set(r) == {"line", "reason"} for one in out for r in one["removed"])
    # Without the flag the output keeps its documented fields only.
    (plain,) = analyze(items[:1])
    assert set(plain) == {"id", "title", "text", "lang", "summary", "keywords", "topics", "story"}
