"""Editing the config's feed list: every other byte kept, duplicates refused, bad edits undone."""

from __future__ import annotations

import difflib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsbrief.config_edit import add_feeds, derive_id, plan_additions, remove_feed, url_key
from newsbrief.settings import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "newsbrief.yaml"

TOPICS = """\
topics:
  - id: ai
    name: {zh: 人工智能, en: AI}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "newsbrief.yaml"
    path.write_bytes(SHIPPED.read_bytes())
    # The shipped config names its taxonomy file, which sits next to it.
    (tmp_path / "topics.yaml").write_bytes((SHIPPED.parent / "topics.yaml").read_bytes())
    return path


def only_insertions(before: bytes, after: bytes) -> list[str]:
    """The lines ``after`` adds to ``before``; fails if anything else changed."""
    old = before.decode().splitlines(keepends=True)
    new = after.decode().splitlines(keepends=True)
    added: list[str] = []
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        assert tag in ("equal", "insert"), f"{tag}: {old[_i1:_i2]!r} -> {new[j1:j2]!r}"
        if tag == "insert":
            added += new[j1:j2]
    return added


def test_adding_keeps_every_other_byte(config: Path) -> None:
    before = config.read_bytes()
    ids = add_feeds(
        config,
        [
            {"url": "https://www.solidot.org/index.rss", "topics": ["tech", "ai"], "interval": 15},
            {"id": "quoted", "url": "https://example.com/feed?a=1#x: y"},
        ],
    )
    assert ids == ["solidot", "quoted"]
    after = config.read_bytes()
    assert after.startswith(before)  # the feeds list ends the shipped file
    assert only_insertions(before, after) == [
        "  - id: solidot\n",
        "    url: https://www.solidot.org/index.rss\n",
        "    topics: [tech, ai]\n",
        "    interval: 15\n",
        "  - id: quoted\n",
        "    url: 'https://example.com/feed?a=1#x: y'\n",
    ]
    loaded = load_config(config)
    assert [f.id for f in loaded.feeds][-2:] == ["solidot", "quoted"]
    assert loaded.feeds[-1].url == "https://example.com/feed?a=1#x: y"
    assert not [
        p for p in config.parent.iterdir() if p.name not in (config.name, "topics.yaml")
    ]  # no temp files


def test_duplicates_by_url_or_id_are_skipped(config: Path) -> None:
    before = config.read_bytes()
    # Same feed as ithome's up to scheme and trailing slash; an id that is taken.
    assert add_feeds(config, [{"url": "http://WWW.ithome.com/rss"}]) == []
    assert add_feeds(config, [{"id": "36kr", "url": "https://other.example/feed"}]) == []
    assert config.read_bytes() == before
    plan = plan_additions(
        [(f.id, f.url) for f in load_config(config).feeds],
        [
            {"url": "https://www.ithome.com/rss/"},
            {"id": "36kr", "url": "https://other.example/feed"},
            {"url": "https://www.ithome.com/blog/feed"},
            {"url": "https://www.ithome.com/blog/feed/"},
        ],
    )
    assert [(p.id, p.duplicate) for p in plan] == [
        ("ithome", "already present as 'ithome'"),
        ("36kr", "the id '36kr' is already used by https://36kr.com/feed"),
        ("ithome-2", None),
        ("ithome-2", "already present as 'ithome-2'"),
    ]


def test_an_invalid_edit_is_undone_and_reported_with_its_line(config: Path) -> None:
    before = config.read_bytes()
    os.chmod(config, 0o640)
    with pytest.raises(ConfigError) as caught:
        add_feeds(config, [{"url": "https://x.example/feed", "topics": ["nope"]}])
    (problem,) = caught.value.problems
    assert problem.file == str(config) and problem.line == len(before.splitlines()) + 3
    assert problem.reason == "feeds[3].topics: unknown topic 'nope'"
    assert str(problem).startswith(f"{config}:{problem.line}: ")
    assert config.read_bytes() == before
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert sorted(p.name for p in config.parent.iterdir()) == [config.name, "topics.yaml"]

    with pytest.raises(ConfigError, match="interval"):
        add_feeds(config, [{"url": "https://x.example/feed", "interval": 0}])
    assert config.read_bytes() == before


def test_an_already_invalid_config_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("feeds:\n  - id: Bad Id\n    url: https://a.example/\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ConfigError):
        add_feeds(path, [{"url": "https://b.example/"}])
    assert path.read_bytes() == before


def test_comments_between_and_after_items_stay_in_place(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = (
        TOPICS + "\n"
        "feeds:\n"
        "  # the first one\n"
        "  - id: a   # trailing\n"
        "    url: https://a.example/feed\n"
        "\n"
        "  - id: b\n"
        "    url: https://b.example/feed\n"
        "    # topics: [ai]   (b's own, commented out)\n"
        "  # - id: old\n"
        "  #   url: https://old.example/feed\n"
        "\n"
        "# the end\n"
    )
    path.write_text(text, encoding="utf-8")
    add_feeds(path, [{"id": "c", "url": "https://c.example/feed", "topics": ["ai"]}])
    assert path.read_text(encoding="utf-8") == text.replace(
        "  # - id: old\n",
        "  - id: c\n    url: https://c.example/feed\n    topics: [ai]\n  # - id: old\n",
    )
    assert remove_feed(path, "c") and path.read_text(encoding="utf-8") == text
    assert remove_feed(path, "a")
    assert "  # the first one\n\n  - id: b\n" in path.read_text(encoding="utf-8")
    assert not remove_feed(path, "missing")


def test_other_indentation_and_crlf_are_followed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = "feeds:\n- id: a\n  url: https://a.example/\n".replace("\n", "\r\n")
    path.write_bytes(text.encode())
    add_feeds(path, [{"url": "https://b.example/feed"}])
    assert path.read_bytes() == (text + "- id: b\r\n  url: https://b.example/feed\r\n").encode()


def test_flow_style_empty_and_missing_feed_lists(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TOPICS + "feeds: []\nadmins: [1]\n", encoding="utf-8")
    add_feeds(path, [{"url": "https://a.example/feed"}])
    assert path.read_text(encoding="utf-8") == (
        TOPICS + "feeds:\n  - id: a\n    url: https://a.example/feed\nadmins: [1]\n"
    )
    assert remove_feed(path, "a")
    assert path.read_text(encoding="utf-8") == TOPICS + "feeds: []\nadmins: [1]\n"

    path.write_text(TOPICS + "feeds: [{id: a, url: 'https://a.example/'}]\n", encoding="utf-8")
    add_feeds(path, [{"url": "https://b.example/"}])
    assert [f.id for f in load_config(path).feeds] == ["a", "b"]

    path.write_text("# only a comment, no newline at the end", encoding="utf-8")
    add_feeds(path, [{"url": "https://a.example/"}])
    assert path.read_text(encoding="utf-8") == (
        "# only a comment, no newline at the end\n\nfeeds:\n  - id: a\n    url: https://a.example/\n"
    )


def test_removing_the_last_block_item_leaves_an_empty_list(config: Path) -> None:
    for feed_id in ("ithome", "36kr", "hn-frontpage"):
        assert remove_feed(config, feed_id)
    assert load_config(config).feeds == ()
    assert config.read_text(encoding="utf-8").endswith("\nfeeds: []\n")
    assert "# Telegram user ids allowed to run admin commands." in config.read_text("utf-8")


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path, config: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(config)
    add_feeds(link, [{"url": "https://a.example/"}])
    assert link.is_symlink() and "https://a.example/" in config.read_text(encoding="utf-8")


def test_simultaneous_edits_lose_nothing(config: Path) -> None:
    def add(n: int) -> list[str]:
        return add_feeds(config, [{"id": f"f{n}", "url": f"https://f{n}.example/feed"}])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(add, range(8)))
    assert results == [[f"f{n}"] for n in range(8)]
    assert {f.id for f in load_config(config).feeds} >= {f"f{n}" for n in range(8)}


@pytest.mark.parametrize(
    ("url", "taken", "expected"),
    [
        ("https://www.ithome.com/rss/", (), "ithome"),
        ("https://www.ithome.com/rss/", ("ithome", "ithome-2"), "ithome-3"),
        ("https://36kr.com/feed", (), "36kr"),
        ("https://feeds.bbci.co.uk/news/rss.xml", (), "bbci"),
        ("https://news.ycombinator.com/rss", (), "news-ycombinator"),
        ("http://127.0.0.1:8080/feed", (), "127-0-0-1"),
        ("https://Blog.Example.COM./feed", (), "blog-example"),
        ("https://localhost/feed", (), "localhost"),
        ("https://xn--fiq228c.com/rss", (), "xn--fiq228c"),
        ("https://" + "a" * 70 + ".com/", (), "a" * 56),
        ("https://_.com/", (), "feed"),
    ],
)
def test_derive_id(url: str, taken: tuple[str, ...], expected: str) -> None:
    assert derive_id(url, taken) == expected


def test_url_key() -> None:
    assert url_key("https://A.example:443/feed/#top") == url_key("http://a.example/feed")
    assert url_key("https://a.example/feed?x=1") != url_key("https://a.example/feed?x=2")
    assert url_key("https://a.example:8443/feed") != url_key("https://a.example/feed")
