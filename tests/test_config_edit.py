"""Editing the config's feeds and topics (in the taxonomy file or inline): every other byte
kept, duplicates refused, bad edits undone."""

from __future__ import annotations

import difflib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsbrief.config.edit import (
    add_feeds,
    add_topic,
    add_topic_aliases,
    derive_id,
    plan_additions,
    remove_feed,
    remove_topic,
    topic_home,
    url_key,
)
from newsbrief.config.settings import ConfigError, load_config

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


@pytest.mark.slow
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


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) for each line replaced; fails if lines were added or removed."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_topic_aliases_go_where_the_topic_lives(config: Path) -> None:
    taxonomy = config.parent / "topics.yaml"
    main_before, tax_before = config.read_text("utf-8"), taxonomy.read_text("utf-8")
    assert topic_home(config, "ai") == taxonomy.resolve()
    # Quoting where YAML needs it; an alias the topic has (in any case) is skipped.
    result = add_topic_aliases(config, "ai", ["AI助手", "a, ]b", "ai", "AIGC"])
    assert result == (taxonomy.resolve(), ["AI助手", "a, ]b"])
    ((old, new),) = changed_lines(tax_before, taxonomy.read_text("utf-8"))
    assert old.startswith("    aliases: [人工智能, AI,") and old.endswith("通用人工智能]")
    assert new == old[:-1] + ", AI助手, 'a, ]b']"
    assert config.read_text("utf-8") == main_before
    topic = load_config(config).topic("ai")
    assert topic is not None and topic.aliases[-2:] == ("AI助手", "a, ]b")
    assert add_topic_aliases(config, "ai", ["AI助手"]) == (taxonomy.resolve(), [])
    assert add_topic_aliases(config, "nope", ["x"]) is None


def test_a_topic_added_to_the_taxonomy_and_removed_leaves_it_as_it_was(config: Path) -> None:
    taxonomy = config.parent / "topics.yaml"
    before = taxonomy.read_bytes()
    assert add_topic(config, "space", "航天", "Space", ["火箭", "SpaceX"]) == taxonomy.resolve()
    added = only_insertions(before, taxonomy.read_bytes())
    assert added == [
        "\n",
        "  - id: space\n",
        "    names: {zh-Hans: 航天, zh-Hant: 航天, en: Space}\n",
        "    aliases: [航天, Space]\n",
        "    keywords: [火箭, SpaceX]\n",
    ]
    space = load_config(config).topic("space")
    assert space is not None and space.display("en") == "Space" and "SpaceX" in space.keywords
    with pytest.raises(ValueError, match="exists already"):
        add_topic(config, "space", "航天", "Space")
    assert remove_topic(config, "space") == taxonomy.resolve()
    assert taxonomy.read_bytes() == before
    assert remove_topic(config, "space") is None


def test_a_topic_still_in_use_is_not_removed(config: Path) -> None:
    taxonomy = config.parent / "topics.yaml"
    before = taxonomy.read_bytes()
    with pytest.raises(ConfigError) as caught:
        remove_topic(config, "crypto")  # bitcoin and others name it as their parent
    assert any("unknown parent 'crypto'" in str(p) for p in caught.value.problems)
    assert taxonomy.read_bytes() == before
    with pytest.raises(ConfigError):
        add_topic(config, "x" * 65, "长", "Long")  # ids are at most 64 long
    assert taxonomy.read_bytes() == before


INLINE = """\
# no taxonomy: topics live here
topics:
  - id: ai
    name: {zh: 人工智能, en: AI}   # the name line
    keywords: [language model]   # keep this comment
  - id: crypto
    name: {zh: 加密货币, en: Crypto}
    aliases:
      - 币圈   # a block list
feeds: []   # none yet
"""


def test_inline_topics_are_edited_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(INLINE, encoding="utf-8")
    assert topic_home(path, "ai") == path
    # An inline topic's own names keep matching once it has aliases: they come first.
    assert add_topic_aliases(path, "ai", ["AI助手"]) == (path, ["人工智能", "AI", "AI助手"])
    assert add_topic_aliases(path, "crypto", ["BTC", "加密"]) == (path, ["BTC", "加密"])
    assert path.read_text("utf-8") == INLINE.replace(
        "   # the name line\n", "   # the name line\n    aliases: [人工智能, AI, AI助手]\n"
    ).replace("# a block list\n", "# a block list\n      - BTC\n      - 加密\n")
    config = load_config(path)
    assert config.topic("ai").aliases == ("人工智能", "AI", "AI助手")  # type: ignore[union-attr]
    assert config.topic("crypto").aliases == ("币圈", "BTC", "加密")  # type: ignore[union-attr]

    assert add_topic(path, "space", "航天", "Space") == path
    assert path.read_text("utf-8").endswith(
        "      - 加密\n  - id: space\n    name: {zh: 航天, en: Space}\nfeeds: []   # none yet\n"
    )
    assert remove_topic(path, "space") == path
    assert remove_topic(path, "ai") == path and remove_topic(path, "crypto") == path
    assert (
        path.read_text("utf-8")
        == "# no taxonomy: topics live here\ntopics: []\nfeeds: []   # none yet\n"
    )


def test_an_alias_key_is_added_after_the_names(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    (tmp_path / "t.yaml").write_text(
        "topics:\n  - id: ai\n    names: {zh-Hans: 人工智能, zh-Hant: 人工智慧, en: AI}\n"
        "    keywords: [\n      大模型,\n    ]   # multi-line\n\n"
        "  - id: go\n    names:\n      zh-Hans: 围棋\n      zh-Hant: 圍棋\n      en: Go\n"
        "# the end\n",
        encoding="utf-8",
    )
    path.write_text("topics_file: t.yaml\n", encoding="utf-8")
    add_topic_aliases(path, "ai", ["人工智能"])
    add_topic_aliases(path, "go", ["围棋", "weiqi"])
    assert (tmp_path / "t.yaml").read_text("utf-8") == (
        "topics:\n  - id: ai\n    names: {zh-Hans: 人工智能, zh-Hant: 人工智慧, en: AI}\n"
        "    aliases: [人工智能]\n"
        "    keywords: [\n      大模型,\n    ]   # multi-line\n\n"
        "  - id: go\n    names:\n      zh-Hans: 围棋\n      zh-Hant: 圍棋\n      en: Go\n"
        "    aliases: [围棋, weiqi]\n"
        "# the end\n"
    )
    add_topic_aliases(path, "ai", ["AI"])
    add_topic(path, "chess", "象棋", "Chess", ["棋"])
    text = (tmp_path / "t.yaml").read_text("utf-8")
    assert "    keywords: [\n      大模型,\n    ]   # multi-line\n" in text
    assert text.endswith(
        "      en: Go\n    aliases: [围棋, weiqi]\n\n  - id: chess\n"
        "    names: {zh-Hans: 象棋, zh-Hant: 象棋, en: Chess}\n"
        "    aliases: [象棋, Chess]\n    keywords: [棋]\n# the end\n"
    )


# -- flow-style files and files that cannot be written (issue #14) ----------------------------

FLOW_DOCS = {
    "json one line": (
        '{"database_url": "sqlite:///x.db", "admins": [7], "topics": [{"id": "ai", "name": '
        '{"zh": "人工智能", "en": "AI"}, "keywords": ["大模型"]}], "feeds": [{"id": "a", '
        '"url": "https://a.example.com/feed", "topics": ["ai"]}]}\n'
    ),
    "json indented, feeds first": (
        '{\n  "feeds": [\n    {"id": "a", "url": "https://a.example.com/feed", "topics": ["ai"]}\n'
        '  ],\n  "topics": [{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}],\n'
        '  "database_url": "sqlite:///x.db",\n  "admins": [7]\n}\n'
    ),
    "yaml flow": (
        "{database_url: 'sqlite:///x.db', admins: [7], topics: [{id: ai, name: {zh: 人工智能, "
        "en: AI}}], feeds: [{id: a, url: 'https://a.example.com/feed', topics: [ai]}]}\n"
    ),
}


def data_of(path: Path) -> dict[str, object]:
    from newsbrief.config.settings import plain_data, read_yaml

    return plain_data(read_yaml(path))  # type: ignore[no-any-return]


@pytest.mark.parametrize("text", FLOW_DOCS.values(), ids=FLOW_DOCS.keys())
def test_a_flow_style_config_is_edited_correctly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "newsbrief.yaml"
    path.write_text(text, encoding="utf-8")
    before = data_of(path)

    assert add_feeds(path, [{"url": "https://b.example.com/rss", "topics": ["ai"]}]) == [
        "b-example"
    ]
    after = data_of(path)
    assert after["feeds"] == [  # type: ignore[comparison-overlap]
        *before["feeds"],  # type: ignore[misc]
        {"id": "b-example", "url": "https://b.example.com/rss", "topics": ["ai"]},
    ]
    assert {k: v for k, v in after.items() if k != "feeds"} == {
        k: v for k, v in before.items() if k != "feeds"
    }
    assert path.read_text("utf-8").lstrip().startswith("{")  # still flow style

    assert remove_feed(path, "a")
    assert [f["id"] for f in data_of(path)["feeds"]] == ["b-example"]  # type: ignore[attr-defined,index]
    add_topic(path, "space", "航天", "Space", ["火箭"])
    assert add_topic_aliases(path, "ai", ["AGI"]) == (path, ["人工智能", "AI", "AGI"])
    config = load_config(path)
    assert config.topic("space") is not None and "AGI" in config.topic("ai").aliases  # type: ignore[union-attr]
    assert config.admins == (7,) and config.database_url.endswith("/x.db")
    assert remove_topic(path, "space") == path
    assert load_config(path).topic("space") is None


def test_a_flow_style_config_with_comments_is_refused_honestly(tmp_path: Path) -> None:
    from newsbrief.config.edit import ConfigEditError

    text = FLOW_DOCS["yaml flow"].replace("admins: [7],", "admins: [7], # the owner\n")
    path = tmp_path / "newsbrief.yaml"
    path.write_text(text, encoding="utf-8")
    load_config(path)  # a valid file
    with pytest.raises(ConfigEditError) as caught:
        add_feeds(path, [{"url": "https://b.example.com/rss"}])
    assert caught.value.kind == "layout"
    assert "flow style" in str(caught.value) and "comments" in str(caught.value)
    assert path.read_text("utf-8") == text


def test_an_edit_never_drops_other_sections(tmp_path: Path) -> None:
    """Whatever the layout, an edit that would change another section is refused."""
    text = (
        "database_url: sqlite:///x.db\n"
        "topics: [{id: ai, name: {zh: 人工智能, en: AI}}]\n"
        "feeds: [{id: a, url: 'https://a.example.com/feed'}]\n"
    )
    path = tmp_path / "newsbrief.yaml"
    path.write_text(text, encoding="utf-8")
    assert remove_feed(path, "a")
    data = data_of(path)
    assert data["feeds"] == [] and data["database_url"] == "sqlite:///x.db"
    assert data["topics"] == [{"id": "ai", "name": {"zh": "人工智能", "en": "AI"}}]


def test_a_read_only_config_is_refused_with_that_reason(config: Path) -> None:
    from newsbrief.config.edit import ConfigEditError

    before = config.read_bytes()
    config.chmod(0o444)
    edits = [
        lambda: add_feeds(config, [{"url": "https://new.example.com/feed"}]),
        lambda: remove_feed(config, "ithome"),
    ]
    for edit in edits:
        with pytest.raises(ConfigEditError) as caught:
            edit()
        assert caught.value.kind == "read_only"
        assert str(caught.value) == f"{config} is read-only"
    assert config.read_bytes() == before
    assert stat.S_IMODE(config.stat().st_mode) == 0o444


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_config_in_a_read_only_folder_is_refused_with_that_reason(config: Path) -> None:
    from newsbrief.config.edit import ConfigEditError

    before = config.read_bytes()
    config.parent.chmod(0o555)
    try:
        with pytest.raises(ConfigEditError) as caught:
            add_feeds(config, [{"url": "https://new.example.com/feed"}])
    finally:
        config.parent.chmod(0o755)
    assert caught.value.kind == "read_only" and "read-only" in str(caught.value)
    assert config.read_bytes() == before
