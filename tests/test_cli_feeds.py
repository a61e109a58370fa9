"""``newsbrief feeds add|import|export`` through the real parser, against a loopback site."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbrief.cli.commands import build_parser, run
from newsbrief.cli.feeds import add_feed_commands
from newsbrief.config.settings import load_config
from newsbrief.feeds.opml import parse_opml
from tests.servers.feeds import FeedServer, rss

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "newsbrief.yaml"


def parser() -> argparse.ArgumentParser:
    """The real parser, with the feed commands added unless cli.py already wires them."""
    top, sub = build_parser()
    feeds = next(
        action
        for action in sub.choices["feeds"]._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    if "add" not in feeds.choices:
        add_feed_commands(feeds)
    return top


def wired() -> bool:
    _, sub = build_parser()
    return "add" in sub.choices["feeds"].format_help()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSBRIEF_FETCH__HOST_SPACING", "0")
    path = tmp_path / "newsbrief.yaml"
    path.write_bytes(SHIPPED.read_bytes())
    # The shipped config names its taxonomy file, which sits next to it.
    (tmp_path / "topics.yaml").write_bytes((SHIPPED.parent / "topics.yaml").read_bytes())
    return path


@pytest.fixture(scope="module")
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.set(
            "/",
            '<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" '
            'href="/feed.xml"></head><body>Blog</body></html>',
            "text/html",
        )
        server.set("/feed.xml", rss([{"title": "a", "guid": "1"}], title="Loopback blog"))
        yield server


def feeds_cmd(config: Path, *args: str) -> int:
    return run(parser(), ["--config", str(config), "feeds", *args])


def test_add_discovers_and_appends(
    config: Path, site: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    assert feeds_cmd(config, "add", site.url("/"), "--topic", "ai", "tech", "--interval", "15") == 0
    assert (
        capsys.readouterr().out == f"added loopback-blog: {site.url('/feed.xml')} (Loopback blog)\n"
    )
    assert config.read_bytes().startswith(before)
    feed = load_config(config).feeds[-1]
    assert (feed.id, feed.url, feed.topics, feed.interval) == (
        "loopback-blog",
        site.url("/feed.xml"),
        ("ai", "tech"),
        15,
    )

    # The same feed again, by its page or by its own URL: refused, nothing written.
    after = config.read_bytes()
    for url in (site.url("/"), site.url("/feed.xml")):
        assert feeds_cmd(config, "add", url, "--id", "again") == 1
        assert "already present as 'loopback-blog'" in capsys.readouterr().err
    assert config.read_bytes() == after


def test_add_refuses_bad_arguments_before_fetching(
    config: Path, site: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    requests = len(site.log)
    cases = [
        (["--topic", "nope"], "unknown topic 'nope' (topics: ai, crypto, bitcoin,"),
        (["--id", "Bad Id"], "'Bad Id' is not an id"),
        (["--id", "ithome"], "the id 'ithome' is already used by https://www.ithome.com/rss/"),
        (["--interval", "0"], "--interval is minutes, from 1 to 10080"),
    ]
    for extra, message in cases:
        assert feeds_cmd(config, "add", site.url("/"), *extra) == 1
        assert message in capsys.readouterr().err
    assert feeds_cmd(config, "add", "ftp://example.com/feed") == 1
    assert "not an http(s) URL" in capsys.readouterr().err
    assert len(site.log) == requests and config.read_bytes() == before


def test_add_reports_what_discovery_found_wrong(
    config: Path, site: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert feeds_cmd(config, "add", site.url("/missing")) == 1
    assert capsys.readouterr().err == (
        f"error: cannot fetch {site.url('/missing')}: HTTP 404 Not Found\n"
    )


def test_an_invalid_config_exits_2_with_file_and_line(
    config: Path, site: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(
        config.read_text(encoding="utf-8").replace("interval: 60", "interval: -1"), "utf-8"
    )
    before = config.read_bytes()
    for args in (["add", site.url("/")], ["export"], ["import", str(config)]):
        assert feeds_cmd(config, *args) == 2, args
        assert f"{config}:" in capsys.readouterr().err
    assert config.read_bytes() == before


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>reader export</title></head><body>
  <outline text="AI">
    <outline type="rss" text="Lab" xmlUrl="https://lab.example/feed"/>
    <outline type="rss" text="IT之家 again" xmlUrl="http://www.ithome.com/rss"/>
  </outline>
  <outline type="rss" text="Coins" xmlUrl="https://coins.example/rss" category="/加密货币"/>
  <outline type="rss" text="Mail" xmlUrl="mailto:someone@example.com"/>
  <outline type="rss" xmlUrl="https://lab.example/feed/"/>
</body></opml>
"""


def test_import_adds_new_feeds_and_says_why_others_were_skipped(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML, encoding="utf-8")
    before = config.read_bytes()
    assert feeds_cmd(config, "import", str(opml), "--dry-run") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 to add, 3 skipped"
    assert config.read_bytes() == before

    assert feeds_cmd(config, "import", str(opml), "--topic", "tech") == 0
    assert capsys.readouterr().out.splitlines() == [
        "added lab: https://lab.example/feed (Lab)",
        "skipped http://www.ithome.com/rss: already present as 'ithome'",
        "added coins: https://coins.example/rss (Coins)",
        "skipped mailto:someone@example.com: not an http(s) URL",
        "skipped https://lab.example/feed/: already present as 'lab'",
        "2 added, 3 skipped",
    ]
    feeds = {f.id: f for f in load_config(config).feeds}
    # Folders and categories named after a topic (here "AI" and "加密货币") select it.
    assert feeds["lab"].topics == ("tech", "ai")
    assert feeds["coins"].topics == ("tech", "crypto")

    assert feeds_cmd(config, "import", str(opml)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 added, 5 skipped"


def test_import_refuses_a_file_that_is_not_opml(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    bad = tmp_path / "bad.opml"
    bad.write_text('<?xml version="1.0"?>\n<opml>\n<body>\n</opml>\n', encoding="utf-8")
    assert feeds_cmd(config, "import", str(bad)) == 1
    assert capsys.readouterr().err == f"error: {bad}:4: not well-formed XML: mismatched tag\n"
    assert feeds_cmd(config, "import", str(tmp_path / "none.opml")) == 1
    assert "cannot read" in capsys.readouterr().err
    assert feeds_cmd(config, "import", str(SHIPPED), "--topic", "nope") == 1
    assert config.read_bytes() == before


def test_export_then_import_elsewhere_gives_the_same_feeds(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert feeds_cmd(config, "export") == 0
    stdout = capsys.readouterr().out.encode()
    shipped = load_config(config).feeds
    assert [f.url for f in parse_opml(stdout)] == [f.url for f in shipped]

    out = tmp_path / "feeds.opml"
    assert feeds_cmd(config, "export", "-o", str(out)) == 0
    assert capsys.readouterr().out == f"exported 3 feeds to {out}\n"
    assert out.read_bytes() == stdout

    empty = tmp_path / "empty.yaml"
    text = config.read_text(encoding="utf-8")
    empty.write_text(text[: text.index("feeds:")] + "feeds: []\n", encoding="utf-8")
    assert feeds_cmd(empty, "import", str(out)) == 0
    capsys.readouterr()
    copied = load_config(empty).feeds
    assert [(f.id, f.url, f.topics) for f in copied] == [(f.id, f.url, f.topics) for f in shipped]


@pytest.mark.skipif(
    not wired(), reason="newsbrief.cli.commands does not call add_feed_commands yet"
)
def test_the_entry_point_runs_them(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(config), "feeds", "export"],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(parse_opml(done.stdout)) == 3


def test_add_to_a_read_only_config_says_so_without_a_traceback(
    config: Path, site: FeedServer
) -> None:
    before = config.read_bytes()
    fetched = len(site.statuses("/"))
    config.chmod(0o444)
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(config), "feeds", "add", site.url("/")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == f"error: {config} is read-only; nothing was written\n"
    assert config.read_bytes() == before
    assert len(site.statuses("/")) == fetched  # refused before going to the network
