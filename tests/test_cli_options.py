"""The command line's conventions: global options anywhere, ``--version``, exit 64 on usage
errors, a quiet exit into a closed pipe, times with their zone, and light commands that do not
import the heavy stages (the start-time guard: what is imported, not how long it takes)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs.main import ROLES, full_parser, main
from jobs.progress import Progress
from newsbrief.cli.commands import EXIT_BROKEN_PIPE, EXIT_USAGE, add_global_options, when

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "config" / "newsbrief.yaml"
HEAVY = (
    "trafilatura",
    "jieba",
    "rjieba",
    "numpy",
    "scipy",
    "datasketch",
    "telegram",
    "aiohttp",
    "apscheduler",
    "feedparser",
    "alembic",
    "prometheus_client",
    "newsbrief.articles.extract",
    "newsbrief.articles.cleaner",
    "newsbrief.articles.dedup",
    "newsbrief.articles.build",
    "newsbrief.articles.sections",
    "jobs.runtime",
    "bot",
)


def write_config(folder: Path, feeds: int = 2) -> Path:
    (folder / "topics.yaml").write_bytes((ROOT / "config" / "topics.yaml").read_bytes())
    lines = [f"  - {{id: feed-{i}, url: 'https://example.org/{i}.xml'}}" for i in range(feeds)]
    path = folder / "newsbrief.yaml"
    path.write_text(
        f"database_url: sqlite:///{folder / 'nb.db'}\ntopics_file: topics.yaml\n"
        "feeds:\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return path


def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBRIEF_", "TELEGRAM_"))}
    return {**clean, "NEWSBRIEF_CACHE_DIR": str(tmp_path / "cache"), "TZ": "UTC"}


def newsbrief(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.main", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env(tmp_path),
        timeout=60,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "-v", "--config", "{config}", "feeds", "list"],
        ["feeds", "list", "--json", "-v", "--config", "{config}"],
        ["-v", "feeds", "list", "--config", "{config}", "--json"],
        ["--config", "{config}", "feeds", "-v", "list", "--json"],
    ],
)
def test_global_options_work_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    config = write_config(tmp_path)
    argv = [a.format(config=config) for a in argv]
    parser = full_parser()
    add_global_options(parser)
    args = parser.parse_args(argv)
    assert (args.verbose, args.json, args.config) == (True, True, str(config))
    assert main(argv) == 0
    assert [feed["id"] for feed in json.loads(capsys.readouterr().out)] == ["feed-0", "feed-1"]


def test_an_option_after_the_command_wins_and_one_before_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write_config(first, feeds=1)
    write_config(second, feeds=3)
    config = ["--config", str(first / "newsbrief.yaml")]
    assert main([*config, "config", "check", "--config", str(second / "newsbrief.yaml")]) == 0
    assert "3 feeds" in capsys.readouterr().out
    assert main([*config, "config", "check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["feeds"] == 1


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    done = newsbrief(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"newsbrief {version('newsbrief')}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["feeds"],
        ["feeds", "list", "--bogus"],
        ["deliveries", "--limit", "many"],
        ["deliveries", "--status", "lost"],
        ["backup", "out.db", "--json"],
        ["--json", "backup", "out.db"],
        ["--no-config", "config", "check", "--config", "x.yaml"],
        ["run", "--role", "everything"],
    ],
)
def test_usage_errors_exit_64_with_a_message(tmp_path: Path, argv: list[str]) -> None:
    done = newsbrief(tmp_path, *argv)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "usage: newsbrief" in done.stderr
    assert "error:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.db").exists()


def test_an_invalid_config_still_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds: 12\n", encoding="utf-8")
    assert newsbrief(tmp_path, "config", "check", "--config", str(bad)).returncode == 2


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    # 2,000 feeds: far more than a pipe holds, so the writer is still writing when head leaves.
    config = write_config(tmp_path, feeds=2000)
    script = (
        f"{sys.executable} -m jobs.main feeds list --config {config} | head -1; "
        'echo "exit ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env(tmp_path)
    )
    assert done.stdout.startswith("feed-0 ")
    assert len(done.stdout.splitlines()) == 1
    assert done.stderr.strip() == f"exit {EXIT_BROKEN_PIPE}", done.stderr


@pytest.mark.parametrize(
    "argv", [["--help"], ["config", "check"], ["feeds", "list"], ["deliveries"], ["status"]]
)
def test_light_commands_do_not_import_the_heavy_stages(tmp_path: Path, argv: list[str]) -> None:
    """The start-time guard: a light command that imports one of these takes seconds again.
    (The database is migrated first: the first command on a new database imports Alembic.)"""
    config = write_config(tmp_path)
    assert newsbrief(tmp_path, "db", "upgrade", "--config", str(config)).returncode == 0
    probe = (
        "import sys\n"
        "from jobs.entry import main\n"
        f"sys.argv = ['newsbrief', '--config', {str(config)!r}, *{argv!r}]\n"
        "try:\n    code = main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print('LOADED', code, *loaded, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env(tmp_path),
        timeout=60,
    )
    report = done.stderr.strip().splitlines()[-1]
    assert report == "LOADED 0", done.stderr


def test_the_parser_knows_the_runtime_roles() -> None:
    from jobs.runtime import ROLES as RUNTIME_ROLES

    assert ROLES == RUNTIME_ROLES


def test_the_newest_migration_is_found_as_alembic_finds_it() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from newsbrief.store.revision import VERSIONS, head_revision

    config = Config()
    config.set_main_option("script_location", str(VERSIONS.parent))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_second_head_makes_the_newest_revision_unknown(tmp_path: Path) -> None:
    from newsbrief.store.revision import head_revision

    (tmp_path / "a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    assert head_revision(tmp_path) == "0002"
    (tmp_path / "c.py").write_text('revision = "0003"\ndown_revision = "0001"\n')
    assert head_revision(tmp_path) is None


def test_times_carry_their_zone() -> None:
    at = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    assert when(at, UTC) == "2026-12-03 08:30 UTC"
    assert when(at, ZoneInfo("Asia/Shanghai")) == "2026-12-03 16:30 UTC+08:00"
    assert when(at, ZoneInfo("America/St_Johns")) == "2026-12-03 05:00 UTC-03:30"
    assert when(None) == "never"


def test_feeds_list_shows_times_with_their_zone(tmp_path: Path) -> None:
    done = newsbrief(tmp_path, "feeds", "list", "--config", str(write_config(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert all(" UTC  https://" in line for line in done.stdout.splitlines()), done.stdout


async def test_progress_lines_only_on_a_terminal_and_only_when_they_change() -> None:
    figures = iter(["feeds 1/3", "feeds 1/3", "feeds 3/3"])
    shown = io.StringIO()
    async with Progress(lambda: next(figures, "feeds 3/3"), shown, every=0.05, force=True):
        await asyncio.sleep(0.3)
    lines = [line.split(" (")[0] for line in shown.getvalue().splitlines()]
    assert lines == ["feeds 1/3", "feeds 3/3"]

    quiet = io.StringIO()  # not a terminal: a cron job's mail gets the summary only
    async with Progress(lambda: "feeds 1/3", quiet, every=0.05):
        await asyncio.sleep(0.2)
    assert quiet.getvalue() == ""
