"""Config mistakes are caught when the config is loaded, as ``file:line: reason`` and exit 2,
never later as a traceback or a pipeline that stops: RE2 rules, YAML alias bombs, a missing
file, a database path that depends on the working directory, half-set callback settings, a
taxonomy file outside config/, and a database file others can read (issue #14)."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from newsbrief.articles.topics import TopicMatcher
from newsbrief.config.settings import ConfigError, load_config
from newsbrief.records import Topic, TopicNames
from newsbrief.store.db import Database
from tests.harness import Harness, running_harness
from tests.test_admin_commands import ADMIN

ROOT = Path(__file__).resolve().parent.parent
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 base64 characters
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith("NEWSBRIEF_") and k != "TELEGRAM_BOT_TOKEN"
}


def newsbrief(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process, the worktree's code first on the path."""
    environ = {**CLEAN_ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "jobs.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        input=stdin,
        timeout=120,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


# -- row 1: every regex compiled at load; one bad rule never stops the pipeline -------------

BAD_PATTERNS = ["(?<=x)y", "(?<!x)y", r"(a)\1", "(?=y)", "[z-a]", "(unclosed", "a{2,1}"]


def inline_regex_config(pattern: str) -> str:
    return (
        "database_url: sqlite:///data/x.db\n"
        "topics:\n"
        "  - id: ai\n"
        "    name: {zh: 人工智能, en: AI}\n"
        "    keywords: [大模型]\n"
        "    regex:\n"
        "      - 'GPT-?\\d'\n"
        f"      - '{pattern}'\n"
    )


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
def test_an_inline_regex_that_is_not_re2_is_refused_at_load(tmp_path: Path, pattern: str) -> None:
    text = inline_regex_config(pattern)
    path = write(tmp_path / "newsbrief.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.line == line_of(text, f"- '{pattern}'")
    assert problem.reason.startswith(f"topics[0].regex[1]: {pattern!r} is not valid RE2: ")


def test_config_check_and_analyze_refuse_a_bad_regex_without_a_traceback(tmp_path: Path) -> None:
    text = inline_regex_config("(?<=x)y")
    path = write(tmp_path / "newsbrief.yaml", text)
    check = newsbrief("--config", str(path), "config", "check")
    assert check.returncode == 2, check.stdout + check.stderr
    line = line_of(text, "(?<=x)y")
    assert check.stdout.startswith(f"{path}:{line}: topics[0].regex[1]: '(?<=x)y' is not valid RE2")
    analyze = newsbrief("--config", str(path), "analyze", stdin='{"id": 1, "text": "GPT-4"}\n')
    assert analyze.returncode == 2
    assert f"{path}:{line}: " in analyze.stderr
    assert "Traceback" not in check.stderr + analyze.stderr


def test_a_bad_rule_that_reaches_the_matcher_is_skipped_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = TopicNames("人工智能", "人工智慧", "AI")
    topics = [
        Topic(id="ai", names=names, keywords=("大模型",), regex=("(?<=x)y", r"GPT-?\d")),
        Topic(id="crypto", names=TopicNames("加密货币", "加密貨幣", "Crypto"), aliases=("比特币",)),
    ]
    matcher = TopicMatcher(topics, sections=None)
    assert matcher.match("GPT-5 发布\n新的大模型来了") == ("ai",)
    assert matcher.match("比特币再创新高\n正文") == ("crypto",)
    assert "regex '(?<=x)y' skipped" in caplog.text


@pytest.fixture
async def watched(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async for running in running_harness(database_url, tmp_path / "newsbrief.yaml", admin=ADMIN):
        yield running


async def test_a_reload_with_a_bad_regex_is_refused_and_the_last_config_stays(
    watched: Harness,
) -> None:
    h = watched
    config = h.runtime.config_file
    assert config is not None
    good = h.runtime.ctx.config
    text = config.read_text("utf-8").replace(
        "keywords: [bitcoin]", "keywords: [bitcoin]\n    regex: ['(?<=x)y']"
    )
    config.write_text(text, encoding="utf-8")
    assert await h.runtime.reload_config() is False
    assert h.runtime.ctx.config is good
    # The process stage keeps working on the last good rules.
    assert await h.runtime.process_all() >= 0


# -- row 6: YAML alias bombs and other oversized files are refused quickly ---------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["database_url: sqlite:///data/x.db", "bomb:"]
    lines.append("  l0: &l0 [" + ", ".join(['"lol"'] * width) + "]")
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def limited_memory() -> None:  # the child may not grow past 1.5 GB: a bomb fails, not the host
    limit = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_config_check_refuses_an_alias_bomb_quickly_in_bounded_memory(tmp_path: Path) -> None:
    from newsbrief.config.yamlfile import MAX_NODES

    text = alias_bomb()
    path = write(tmp_path / "newsbrief.yaml", text)
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**CLEAN_ENV, "PYTHONPATH": str(ROOT)},
        timeout=120,
        preexec_fn=limited_memory,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    (problem,) = done.stdout.splitlines()
    assert problem.startswith(f"{path}:")
    assert problem.endswith(f"aliases expand to more than {MAX_NODES:,} values")
    assert "Traceback" not in done.stderr


LOADER = """
import json, sys
from newsbrief.config.settings import ConfigError, load_config
out = []
for path in sys.argv[1:]:
    try:
        load_config(path)
        out.append([])
    except ConfigError as exc:
        out.append([[p.file, p.line, p.reason] for p in exc.problems])
print(json.dumps(out))
"""


def load_in_child(*paths: Path) -> list[list[tuple[str, int | None, str]]]:
    """``load_config`` of each file in a child process that may not grow past 1.5 GB: code
    without the bounds fails there (MemoryError) instead of eating the machine's memory."""
    done = subprocess.run(
        [sys.executable, "-c", LOADER, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**CLEAN_ENV, "PYTHONPATH": str(ROOT)},
        timeout=120,
        preexec_fn=limited_memory,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [[tuple(p) for p in problems] for problems in json.loads(done.stdout)]  # type: ignore[misc]


BOMB_SHAPES = [(3, 70), (5, 13), (9, 9), (20, 2), (60, 2)]


def test_alias_bombs_of_every_shape_are_refused_with_a_line(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / f"bomb-{levels}x{width}.yaml", alias_bomb(levels, width))
        for levels, width in BOMB_SHAPES
    ]
    for path, problems in zip(paths, load_in_child(*paths), strict=True):
        ((file, line, reason),) = problems
        assert file == str(path)
        assert line is not None and line > 2
        assert "aliases expand" in reason


def test_a_shared_anchor_within_the_limit_is_fine(tmp_path: Path) -> None:
    text = (
        "database_url: sqlite:///data/x.db\n"
        "topics:\n"
        "  - &ai {id: ai, name: {zh: 人工智能, en: AI}, keywords: [大模型]}\n"
        "feeds:\n"
        + "".join(
            f"  - {{id: f{n}, url: 'https://f{n}.example.com/feed', topics: [ai]}}\n"
            for n in range(50)
        )
    )
    config = load_config(write(tmp_path / "newsbrief.yaml", text))
    assert len(config.feeds) == 50


def test_a_bomb_in_the_taxonomy_file_is_refused_too(tmp_path: Path) -> None:
    taxonomy = write(tmp_path / "topics.yaml", "topics: []\n" + alias_bomb().split("\n", 1)[1])
    path = write(tmp_path / "newsbrief.yaml", "topics_file: topics.yaml\n")
    ((problem,),) = load_in_child(path)
    assert problem[0] == str(taxonomy)
    assert "aliases expand" in problem[2]


def test_too_deep_and_too_large_files_are_refused(tmp_path: Path) -> None:
    from newsbrief.config.yamlfile import MAX_DEPTH, MAX_FILE_BYTES

    deep = "x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(ConfigError, match="nested deeper"):
        load_config(write(tmp_path / "deep.yaml", deep))
    very_deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError, match="nested deeper"):
        load_config(write(tmp_path / "very-deep.yaml", very_deep))
    large = "# " + "x" * MAX_FILE_BYTES + "\nfeeds: []\n"
    with pytest.raises(ConfigError, match="larger than"):
        load_config(write(tmp_path / "large.yaml", large))


# -- row 7: a missing config is an error; paths do not depend on the working directory ------


def test_a_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = newsbrief("--config", str(missing), "config", "check")
    assert done.returncode == 2
    assert done.stdout.startswith(f"{missing}: not found")
    assert "--no-config" in done.stdout


def test_run_in_a_folder_without_config_stops_at_once(tmp_path: Path) -> None:
    done = newsbrief("run", "--role", "poll", cwd=tmp_path)
    assert done.returncode == 2
    assert "config/newsbrief.yaml: not found" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # no database was started either


def test_defaults_only_when_asked(tmp_path: Path) -> None:
    for how in (["--no-config"], []):
        env = {} if how else {"NEWSBRIEF_NO_CONFIG": "1"}
        done = newsbrief(*how, "config", "check", cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok (0 feeds, 0 topics)" in done.stdout
        assert f"database: sqlite:///{tmp_path.resolve()}/data/newsbrief.db" in done.stdout
    both = newsbrief("--no-config", "--config", "x.yaml", "config", "check", cwd=tmp_path)
    assert both.returncode == 64 and "not allowed with argument" in both.stderr  # EX_USAGE


def test_a_relative_database_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    config = write(tmp_path / "etc" / "newsbrief.yaml", "database_url: sqlite:///data/nb.db\n")
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    done = newsbrief("-v", "--config", str(config), "poll", "--once", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "etc" / "data" / "nb.db").is_file()
    assert not (elsewhere / "data").exists()
    # The start line (INFO for run, -v for one-shot commands) names both.
    start = next(line for line in done.stderr.splitlines() if "newsbrief starting" in line)
    assert f"config {config}" in start
    assert f"database sqlite:///{tmp_path / 'etc' / 'data' / 'nb.db'}" in start


def test_a_database_left_at_the_old_place_is_pointed_out(tmp_path: Path) -> None:
    """Upgrading: the relative path used to be taken from the working directory."""
    config = write(tmp_path / "etc" / "newsbrief.yaml", "database_url: sqlite:///data/nb.db\n")
    old = write(tmp_path / "data" / "nb.db", "")
    done = newsbrief("--config", str(config), "config", "check", cwd=tmp_path)
    assert done.returncode == 0
    start = newsbrief("--config", str(config), "poll", "--once", cwd=tmp_path)
    assert f"does not exist yet, but {old} does" in start.stderr


def test_the_start_line_hides_the_database_password(tmp_path: Path) -> None:
    from newsbrief.cli.commands import sources_line

    url = "postgresql://newsbrief:s3cr3t-pw@db.example:5432/nb"
    done = newsbrief("--no-config", "config", "check", env={"NEWSBRIEF_DATABASE_URL": url})
    assert "database: postgresql://newsbrief:***@db.example:5432/nb" in done.stdout
    assert "s3cr3t" not in done.stdout + done.stderr
    path = write(tmp_path / "newsbrief.yaml", f"database_url: {url}\n")
    line = sources_line(load_config(path), str(path))
    assert line == f"config {path}; database postgresql://newsbrief:***@db.example:5432/nb"


def test_the_demo_runs_from_a_folder_without_config(tmp_path: Path) -> None:
    done = newsbrief("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "─── message 1 to demo-reader ───" in done.stdout
    assert not (tmp_path / "data").exists()


def test_analyze_from_a_folder_without_config_uses_the_bundled_taxonomy(tmp_path: Path) -> None:
    line = '{"id": 1, "title": "比特币价格突破十万美元", "text": "比特币价格今日突破十万美元。"}\n'
    done = newsbrief("analyze", cwd=tmp_path, stdin=line)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "crypto" in json.loads(done.stdout)["topics"]
    named = newsbrief("--config", "missing.yaml", "analyze", cwd=tmp_path, stdin=line)
    assert named.returncode == 2 and "missing.yaml: not found" in named.stderr


# -- row 8: callback settings that only work together are checked together ------------------

CALLBACK_MISTAKES = [
    ({"NEWSBRIEF_WECOM__CALLBACK_TOKEN": "tok", "NEWSBRIEF_WECOM__CALLBACK_AES_KEY": AES_KEY}, "", "wecom.corp_id"),
    ({"NEWSBRIEF_WECOM__CALLBACK_TOKEN": "tok"}, "wecom: {corp_id: ww1}\n", "NEWSBRIEF_WECOM__CALLBACK_AES_KEY"),
    ({"NEWSBRIEF_WECOM__CALLBACK_AES_KEY": AES_KEY}, "wecom: {corp_id: ww1}\n", "NEWSBRIEF_WECOM__CALLBACK_TOKEN"),
    ({"NEWSBRIEF_WECOM__CALLBACK_TOKEN": "tok", "NEWSBRIEF_WECOM__CALLBACK_AES_KEY": "short"}, "wecom: {corp_id: ww1}\n", "43-character"),
    ({"NEWSBRIEF_WECOM__CALLBACK_TOKEN": "tok", "NEWSBRIEF_WECOM__CALLBACK_AES_KEY": "!" * 43}, "wecom: {corp_id: ww1}\n", "not base64"),
    ({"NEWSBRIEF_WECOM__CALLBACK_TOKEN": ""}, "wecom: {corp_id: ww1}\n", "set but empty"),
    ({"NEWSBRIEF_WECHAT__TOKEN": "tok", "NEWSBRIEF_WECHAT__AES_KEY": AES_KEY}, "", "wechat.app_id"),
    ({"NEWSBRIEF_WECHAT__AES_KEY": AES_KEY}, "wechat: {app_id: wx1}\n", "NEWSBRIEF_WECHAT__TOKEN"),
    ({"NEWSBRIEF_WECHAT__TOKEN": "tok", "NEWSBRIEF_WECHAT__AES_KEY": AES_KEY[:-1]}, "wechat: {app_id: wx1}\n", "43-character"),
    ({}, "robots:\n  - {id: ops, platform: wecom, key_env: K, secret_env: S}\n", "do not sign"),
    ({}, "robots:\n  - {id: ops, platform: dingtalk, key_env: K, secret_env: K}\n", "same variable"),
]  # fmt: skip


@pytest.mark.parametrize(("env", "text", "named"), CALLBACK_MISTAKES)
def test_callback_settings_that_go_together_are_checked_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], text: str, named: str
) -> None:
    for key in [k for k in os.environ if k.startswith("NEWSBRIEF_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = write(tmp_path / "newsbrief.yaml", "database_url: sqlite:///data/x.db\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert named in problem.reason
    for secret in ("tok", AES_KEY, "short"):  # values never echoed, only their names
        assert f"'{secret}'" not in problem.reason


def test_complete_callback_settings_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBRIEF_WECOM__CALLBACK_TOKEN", "tok")
    monkeypatch.setenv("NEWSBRIEF_WECOM__CALLBACK_AES_KEY", AES_KEY)
    monkeypatch.setenv("NEWSBRIEF_WECHAT__TOKEN", "tok")
    path = write(tmp_path / "newsbrief.yaml", "wecom: {corp_id: ww1}\n")
    assert load_config(path).wecom.corp_id == "ww1"


def test_wecom_callback_without_corp_id_is_a_config_error_for_check_and_run(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "newsbrief.yaml", "database_url: sqlite:///data/x.db\n")
    env = {"NEWSBRIEF_WECOM__CALLBACK_TOKEN": "tok", "NEWSBRIEF_WECOM__CALLBACK_AES_KEY": AES_KEY}
    check = newsbrief("--config", str(path), "config", "check", env=env)
    assert check.returncode == 2
    assert "wecom.corp_id" in check.stdout
    run = newsbrief("--config", str(path), "run", "--role", "callbacks", env=env)
    assert run.returncode == 2
    assert "wecom.corp_id" in run.stderr
    assert "Traceback" not in check.stderr + run.stderr
    assert AES_KEY not in check.stdout + run.stderr


# -- row 13: the taxonomy stays in config/; the database is private --------------------------

TAXONOMY = "topics:\n  - id: ai\n    names: {zh-Hans: 人工智能, zh-Hant: 人工智慧, en: AI}\n"


@pytest.mark.parametrize("where", ["../outside.yaml", "sub/../../outside.yaml", "ABSOLUTE"])
def test_topics_file_outside_the_config_folder_is_refused(tmp_path: Path, where: str) -> None:
    outside = write(tmp_path / "outside.yaml", TAXONOMY)
    name = str(outside) if where == "ABSOLUTE" else where
    text = f"database_url: sqlite:///data/x.db\ntopics_file: {name}\n"
    path = write(tmp_path / "conf" / "newsbrief.yaml", text)
    done = newsbrief("--config", str(path), "config", "check")
    assert done.returncode == 2
    assert done.stdout.startswith(f"{path}:2: topics_file {name!r} is outside the config folder")
    allowed = write(path, text + "allow_paths_outside_config: true\n")
    assert load_config(allowed).topic("ai") is not None


def test_topics_file_cannot_reach_system_files(tmp_path: Path) -> None:
    path = write(tmp_path / "newsbrief.yaml", "topics_file: ../../../../../../../etc/passwd\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert "outside the config folder" in problem.reason
    assert "root:" not in problem.reason


def test_a_symlink_out_of_the_config_folder_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "topics.yaml", TAXONOMY)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "topics.yaml").symlink_to(outside)
    path = write(tmp_path / "conf" / "newsbrief.yaml", "topics_file: topics.yaml\n")
    with pytest.raises(ConfigError, match="outside the config folder"):
        load_config(path)


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, under which SQLite makes its files 0644
    try:
        db = Database(f"sqlite:///{tmp_path / 'state' / 'nb.db'}")
        db.upgrade()
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            files = sorted((tmp_path / "state").iterdir())
            assert {f.name for f in files} >= {"nb.db", "nb.db-wal", "nb.db-shm"}
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        db.dispose()
    finally:
        os.umask(old)
