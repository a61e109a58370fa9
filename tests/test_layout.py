"""The arrows of DESIGN.md's layout table, checked on every import statement of the packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_STAGES = {
    "newsbrief/records.py",
    "newsbrief/feeds.py",
    "newsbrief/articles.py",
    "newsbrief/topics.py",
    "newsbrief/summaries.py",
    "newsbrief/digests.py",
    "newsbrief/schedule.py",
    "newsbrief/html_text.py",
    "newsbrief/keywords.py",
    "newsbrief/language.py",
    "newsbrief/cleaner.py",
    "newsbrief/canonical.py",
    "newsbrief/dedup.py",
    "newsbrief/extract.py",
    "newsbrief/chinese.py",
    "newsbrief/polling.py",
    "newsbrief/analyze.py",
}
IO_LIBRARIES = {"sqlalchemy", "alembic", "psycopg", "httpx", "telegram", "apscheduler"}
# Libraries each confined to the modules (or folders) that wrap them.
CONFINED: dict[str, tuple[str, ...]] = {
    "feedparser": ("newsbrief/feeds.py",),
    # Feeds and pages go through the guarded fetcher; only the webhook senders post elsewhere.
    "httpx": ("newsbrief/fetcher.py", "bot/webhook_senders.py"),
    "cryptography": ("newsbrief/wechat_crypto.py",),
    "telegram": ("bot/telegram_app.py", "bot/telegram_sender.py", "jobs/runtime.py"),
    "apscheduler": ("jobs/runtime.py",),
    "alembic": ("newsbrief/store/",),
    "ruamel": ("newsbrief/settings.py", "newsbrief/config_edit.py", "newsbrief/taxonomy.py"),
    "jieba": ("newsbrief/keywords.py",),
    "re2": ("newsbrief/topics.py",),
    "opencc": ("newsbrief/chinese.py",),
    "trafilatura": ("newsbrief/extract.py",),
    "readability": ("newsbrief/extract.py",),
    "datasketch": ("newsbrief/dedup.py",),
    "psycopg": (),
}


def imports(path: Path, root: Path = ROOT) -> set[str]:
    """Dotted names of every module a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                module = ".".join([*parts[: len(parts) - node.level + 1], module]).strip(".")
            found.add(module)
            # `from pkg import name` may import a module: count `pkg.name` as well.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def sources() -> list[Path]:
    return sorted(p for d in ("newsbrief", "bot", "jobs") for p in (ROOT / d).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_arrows(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    names = imports(path)
    tops = {top(n) for n in names}
    if rel.startswith("newsbrief/"):
        assert not tops & {"bot", "jobs"}, f"{rel}: the core must not import bot or jobs"
    if rel.startswith("bot/"):
        assert "jobs" not in tops, f"{rel}: bot must not import jobs"
    if rel in PURE_STAGES:
        bad = tops & IO_LIBRARIES | {
            n for n in names if n.startswith(("newsbrief.store", "newsbrief.fetcher"))
        }
        assert not bad, f"{rel}: a pure stage imports {sorted(bad)}"
    if not rel.startswith("newsbrief/store/"):
        assert "sqlalchemy" not in tops, f"{rel}: SQL lives in newsbrief/store only"
    for library, allowed in CONFINED.items():
        if library in tops:
            assert rel.startswith(allowed), f"{rel}: {library} belongs in {allowed} only"


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    sample = tmp_path / "newsbrief" / "store" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "import sqlalchemy\nfrom bot import commands\nfrom . import tables\nfrom ..x import y\n",
        encoding="utf-8",
    )
    assert imports(sample, tmp_path) >= {
        "sqlalchemy",
        "bot.commands",
        "newsbrief.store.tables",
        "newsbrief.x.y",
    }
