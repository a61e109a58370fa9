"""Feed ids from the feed's title (words or pinyin), the host as the fallback; unique, short,
and never a removed feed's id for another URL."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsbrief.cli.commands import build_parser, run
from newsbrief.cli.feeds import add_feed_commands
from newsbrief.config.base import ID_MAX_LEN, ID_PATTERN
from newsbrief.config.edit import plan_additions
from newsbrief.config.feed_ids import MAX_LEN, derive_id
from newsbrief.config.settings import load_config
from newsbrief.records import Feed
from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from tests.servers.feeds import FeedServer, rss


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        ("https://36kr.com/feed", "36氪", "36kr"),  # the site's own romanisation
        ("https://sspai.com/feed", "少数派", "sspai"),
        ("https://rsshub.app/sspai/index", "少数派", "shaoshupai"),  # a relay's host: pinyin
        ("https://www.ruanyifeng.com/blog/atom.xml", "阮一峰的网络日志", "ruanyifeng"),
        ("https://www.qbitai.com/feed", "量子位", "liangziwei"),
        ("https://www.ithome.com/rss/", "IT之家", "itzhijia"),
        ("https://example.tw/rss", "數位時代", "shuweishidai"),  # Traditional characters
        ("https://news.ycombinator.com/rss", "Hacker News", "hacker-news"),
        (
            "https://rss.nytimes.com/services/xml/rss/nyt/World.xml",
            "NYT > World News",
            "nyt-world-news",
        ),
        ("https://rss.nytimes.com/x", "NYT &gt; World News", "nyt-world-news"),
        ("https://a.example/", "  Café   Über — RSS ", "cafe-uber"),
        ("https://a.example/", "Ｆｕｌｌ　Ｗｉｄｔｈ", "full-width"),
        ("https://a.example/", "Alice's Blog", "alices-blog"),
        ("https://a.example/", "AI 前沿 🚀 Weekly", "ai-qianyan-weekly"),
        ("https://lab.example/feed", "🚀🔥", "lab"),  # nothing to read: the host
        ("https://lab.example/feed", "", "lab"),
        ("https://lab.example/feed", None, "lab"),
        ("https://lab.example/feed", "RSS", "lab"),  # only the format's name
        ("https://lab.example/feed", "Новости", "lab"),  # no romanisation here: the host
        ("https://www.ithome.com/rss/", None, "ithome"),
    ],
)
def test_ids_from_titles(url: str, title: str | None, expected: str) -> None:
    assert derive_id(url, title=title) == expected


def test_long_titles_are_cut_at_a_word_or_syllable() -> None:
    english = derive_id("https://a.example/", title="The quick brown fox jumps over the lazy dog")
    assert english == "the-quick-brown-fox-jumps-over"
    chinese = derive_id("https://a.example/", title="中华人民共和国国家统计局数据发布与解读栏目")
    assert chinese == "zhonghuarenmingongheguoguojia"  # whole syllables, ≤ MAX_LEN
    assert len(english) <= MAX_LEN and len(chinese) <= MAX_LEN


def test_taken_ids_get_a_number() -> None:
    taken = {"hacker-news", "hacker-news-2"}
    assert derive_id("https://n.example/", taken, title="Hacker News") == "hacker-news-3"


TITLES = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
        st.text(alphabet="少数派科技新闻區塊鏈機器之心氪", min_size=1, max_size=12),
        st.sampled_from(["&gt;", "&amp;", " RSS", "Feed", "🚀", "\u3000", "\n", "36", "-_'’"]),
    ),
    max_size=10,
).map("".join)
HOSTS = st.sampled_from(
    ["https://36kr.com/feed", "http://127.0.0.1:8080/x", "https://_.com/", "https://a.b.c.d/"]
)


@settings(max_examples=200, deadline=None)
@given(titles=st.lists(st.one_of(st.none(), TITLES), min_size=1, max_size=8), url=HOSTS)
def test_any_titles_give_valid_unique_ids(titles: list[str | None], url: str) -> None:
    taken: set[str] = {"feed", "36kr"}
    for title in titles:
        feed_id = derive_id(url, taken, title=title)
        assert ID_PATTERN.match(feed_id) and feed_id == feed_id.strip(), (title, feed_id)
        assert len(feed_id) <= ID_MAX_LEN and feed_id not in taken
        taken.add(feed_id)


def test_a_removed_feeds_id_goes_to_no_other_url() -> None:
    existing = [("lab", "https://lab.example/feed")]
    retired = [("hacker-news", "https://old.example/hn.xml"), ("lab", "https://lab.example/feed")]
    new = {"url": "https://news.ycombinator.com/rss", "title": "Hacker News"}
    (plan,) = plan_additions(existing, [new], retired=retired)
    assert (plan.id, plan.passed_over) == ("hacker-news-2", "hacker-news")
    assert plan.note and "https://old.example/hn.xml" in plan.note
    assert "title" not in plan.entry  # the feed's own title only chose the id
    # The removed feed's own URL comes back under its old id.
    (back,) = plan_additions(existing, [{"url": "https://old.example/hn.xml/"}], retired=retired)
    assert (back.id, back.passed_over) == ("hacker-news", None) and back.note
    # Asked for by name: refused (its stored entries would pass to the new feed), or as a wish
    # (OPML) replaced.
    wish = {"id": "hacker-news", "url": "https://n.example/rss"}
    (refused,) = plan_additions(existing, [wish], retired=retired)
    assert refused.duplicate and "removed feed" in refused.duplicate
    (replaced,) = plan_additions(existing, [wish], retired=retired, on_taken_id="derive")
    assert replaced.duplicate is None and replaced.id == "hacker-news-2"


# -- through the command line, with the database remembering removed feeds ---------------------


def parser() -> argparse.ArgumentParser:
    top, sub = build_parser()
    feeds = next(
        a for a in sub.choices["feeds"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    if "add" not in feeds.choices:
        add_feed_commands(feeds)
    return top


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSBRIEF_FETCH__HOST_SPACING", "0")
    path = tmp_path / "newsbrief.yaml"
    path.write_text(
        f"database_url: sqlite:///{tmp_path / 'nb.db'}\n"
        "feeds:\n  - id: lab\n    url: https://lab.example/feed\n",
        encoding="utf-8",
    )
    # The database once polled a feed "hacker-news" at another URL; it left the config.
    db = Database(f"sqlite:///{tmp_path / 'nb.db'}")
    db.upgrade()
    now = datetime.now(UTC)
    with db.session() as session:
        feed_store.sync_feeds(
            session, [Feed(id="hacker-news", url="https://old.example/hn.xml")], now
        )
        feed_store.sync_feeds(session, [Feed(id="lab", url="https://lab.example/feed")], now)
    db.dispose()
    return path


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><body>
  <outline text="Tech">
    <outline type="rss" text="Hacker News" title="Hacker News" xmlUrl="https://news.ycombinator.com/rss"/>
    <outline type="rss" text="少数派" xmlUrl="https://sspai.com/feed"/>
    <outline type="rss" title="NYT &gt; World News" xmlUrl="https://rss.nytimes.com/World.xml"/>
    <outline type="rss" text="🚀" xmlUrl="https://rocket.example/rss"/>
  </outline>
</body></opml>
"""


def test_opml_import_keeps_titles_as_names_and_skips_removed_ids(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML, encoding="utf-8")
    assert run(parser(), ["--config", str(config), "feeds", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert "added hacker-news-2: https://news.ycombinator.com/rss (Hacker News)" in out
    assert "note: 'hacker-news' belonged to a removed feed (https://old.example/hn.xml)" in out
    feeds = {f.id: f for f in load_config(config).feeds}
    assert {i: f.name for i, f in feeds.items()} == {
        "lab": None,
        "hacker-news-2": "Hacker News",
        "sspai": "少数派",
        "nyt-world-news": "NYT > World News",
        "rocket": "🚀",
    }
    # Exported and imported into an empty config, the ids and names come back as they were.
    exported = tmp_path / "out.opml"
    assert run(parser(), ["--config", str(config), "feeds", "export", "-o", str(exported)]) == 0
    other = tmp_path / "other"
    other.mkdir()
    fresh = other / "newsbrief.yaml"
    fresh.write_text(f"database_url: sqlite:///{other / 'nb.db'}\nfeeds: []\n", encoding="utf-8")
    assert run(parser(), ["--config", str(fresh), "feeds", "import", str(exported)]) == 0
    again = {f.id: f.name for f in load_config(fresh).feeds}
    assert again == {i: f.name for i, f in feeds.items()}


def test_feeds_add_names_the_feed_after_its_title(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FeedServer() as site:
        site.set("/hn.xml", rss([{"title": "a", "guid": "1"}], title="Hacker News"))
        args = ["--config", str(config), "feeds", "add", site.url("/hn.xml")]
        assert run(parser(), args) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == f"added hacker-news-2: {site.url('/hn.xml')} (Hacker News)"
        assert out[1].startswith("note: 'hacker-news' belonged to a removed feed")
        # The feed's own title chose the id; it is not frozen into the config as a name.
        added = load_config(config).feeds[-1]
        assert (added.id, added.name) == ("hacker-news-2", None)
        # An id asked for by name that a removed feed holds is refused, nothing written.
        before = config.read_bytes()
        site.set("/other.xml", rss([{"title": "b", "guid": "2"}], title="Other"))
        refuse = [
            "--config",
            str(config),
            "feeds",
            "add",
            site.url("/other.xml"),
            "--id",
            "hacker-news",
        ]
        assert run(parser(), refuse) == 1
        assert "belonged to a removed feed" in capsys.readouterr().err
        assert config.read_bytes() == before
