from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.settings import ConfigError, load_config
from newsbrief.records import Topic, TopicNames

ROOT = Path(__file__).resolve().parent.parent

BROKEN = """\
database_url: sqlite:///data/x.db
telegram:
  api_base_url: https://api.telegram.org
  colour: blue
topics:
  - id: ai
    name: {zh: 人工智能, en: AI}
    keywords: [大模型]
feeds:
  - id: good
    url: https://example.com/feed.xml
    topics: [ai]
  - id: bad-url
    url: ftp//not a url
  - id: lost
    url: https://example.com/other.xml
    topics: [ai, sports]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbrief.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config" / "newsbrief.yaml")
    assert {t.id for t in config.topics} >= {"ai", "crypto", "tech"}
    assert config.feeds


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = [str(p) for p in caught.value.problems]
    assert f"{path}:4: unknown key 'colour' in telegram" in lines
    assert any(line.startswith(f"{path}:14: feeds[1].url: not an http(s) URL") for line in lines)
    assert f"{path}:17: feeds[2].topics: unknown topic 'sports'" in lines
    assert len(lines) == 3


def test_config_check_command_prints_problems_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    out = done.stdout.splitlines()
    assert out[0] == f"{path}:4: unknown key 'colour' in telegram"
    assert out[1].startswith(f"{path}:14: ")
    assert out[2] == f"{path}:17: feeds[2].topics: unknown topic 'sports'"


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN.split("  - id: bad-url")[0].replace("  colour: blue\n", ""))
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok (1 feeds, 1 topics)" in done.stdout


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "telegram:\n  api_base_url: [unclosed\nfeeds: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.line is not None and problem.reason.startswith("YAML syntax")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "fetch:\n  timeout: 5\n")
    monkeypatch.setenv("NEWSBRIEF_FETCH__TIMEOUT", "42")
    monkeypatch.setenv("NEWSBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", "postgresql://u@db/newsbrief")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret")
    config = load_config(path)
    assert config.fetch.timeout == 42
    assert config.fetch.allow_private_networks is True
    assert config.database_url == "postgresql://u@db/newsbrief"
    assert config.telegram.token is not None
    assert config.telegram.token.get_secret_value() == "123:secret"
    assert "secret" not in repr(config)


def test_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "fetch:\n  timeout: 5\n")
    monkeypatch.setenv("NEWSBRIEF_FETCH__TIMEOUT", "soon")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert str(problem).startswith("environment NEWSBRIEF_FETCH__TIMEOUT: fetch.timeout:")


def test_bad_schedule_and_timezone_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "subscriber_defaults:\n  schedule: sometimes\n  timezone: Mars/Olympus\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    reasons = {p.line: p.reason for p in caught.value.problems}
    assert "cannot read 'sometimes'" in reasons[2]
    assert "unknown IANA timezone" in reasons[3]


def test_inline_and_taxonomy_topics_are_one_type(tmp_path: Path) -> None:
    """Both kinds of topic load as the Topic record the matcher takes; inline errors keep their
    lines, after the taxonomy's topics in ``topics``."""
    (tmp_path / "topics.yaml").write_text(
        "topics:\n  - id: ai\n    names: {zh-Hans: 人工智能, zh-Hant: 人工智慧, en: AI}\n"
        "    aliases: [AI]\n",
        encoding="utf-8",
    )
    path = write(
        tmp_path,
        "topics_file: topics.yaml\ntopics:\n"
        "  - id: space\n    name: {zh: 航天, en: Space}\n    keywords: [火箭]\n    priority: 2\n",
    )
    config = load_config(path)
    ai, space = config.topics
    assert isinstance(ai, Topic) and isinstance(space, Topic)
    assert (ai.line, space.line) == (2, 0)
    assert space.names == TopicNames("航天", "航天", "Space") and space.priority == 2
    # No aliases: the names are matched too.
    assert TopicMatcher(config.topics).match("航天新闻；AI") == ("ai", "space")
    path.write_text(path.read_text("utf-8").replace("priority: 2", "priority: 9"), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 6)
    assert problem.reason.endswith("priority: Input should be less than or equal to 5")
