"""The arrows of the README's layout table, checked on every import statement of the packages.

Rules are stated per folder, so a new module is covered by where it lands: the core never
imports ``bot`` or ``jobs``; ``bot`` never imports ``jobs``; the pure stages touch no database,
network or chat library; and each third-party library stays in the folder that wraps it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("newsbrief", "bot", "jobs")

# Folder (or file) prefix -> packages it may not import.
FORBIDDEN_PACKAGES: dict[str, tuple[str, ...]] = {
    "newsbrief/": ("bot", "jobs"),
    "bot/": ("jobs",),
}
# The pure stages: records in, records out, no I/O. Their folders and files.
PURE = (
    "newsbrief/text/",
    "newsbrief/feeds/",
    "newsbrief/articles/",
    "newsbrief/records.py",
    "newsbrief/schedule.py",
    "newsbrief/digests.py",
    "newsbrief/digest_text.py",
)
IO = ("sqlalchemy", "alembic", "psycopg", "httpx", "aiohttp", "telegram", "apscheduler")
IO_MODULES = ("newsbrief.store", "newsbrief.fetcher", "newsbrief.cli")
# Each library confined to the folders (or modules) that wrap it.
CONFINED: dict[str, tuple[str, ...]] = {
    "sqlalchemy": ("newsbrief/store/",),
    "alembic": ("newsbrief/store/",),
    "psycopg": ("newsbrief/store/lanes.py",),
    "orjson": ("newsbrief/store/",),
    "httpx": ("bot/robots/senders.py",),
    # The fetcher's client: about a fifth of httpx's CPU per request (see its docstring).
    "aiohttp": ("bot/wechat/server.py", "bot/web/", "newsbrief/fetcher.py"),
    "jinja2": ("bot/web/",),
    "telegram": ("bot/telegram/", "jobs/runtime.py"),
    "apscheduler": ("jobs/runtime.py",),
    "prometheus_client": ("jobs/metrics.py",),
    "cryptography": ("bot/wechat/crypto.py",),
    "feedparser": ("newsbrief/feeds/parse.py",),
    "ruamel": ("newsbrief/config/",),
    "pydantic": ("newsbrief/config/",),
    "pydantic_settings": ("newsbrief/config/",),
    "opencc": ("newsbrief/text/chinese.py",),
    "openai": ("newsbrief/llm/client.py",),
    "jieba": ("newsbrief/articles/keywords.py",),
    "rjieba": ("newsbrief/articles/keywords.py",),
    "re2": ("newsbrief/articles/topics.py",),
    "ahocorasick_rs": ("newsbrief/articles/topics.py",),
    "english_words": ("newsbrief/articles/topics.py",),
    "trafilatura": ("newsbrief/articles/extract.py",),
    "readability": ("newsbrief/articles/extract.py",),
    "datasketch": ("newsbrief/articles/dedup.py",),
    "numpy": (
        "newsbrief/articles/dedup.py",
        "newsbrief/articles/sections.py",
        "newsbrief/digests.py",
        "jobs/compose.py",
    ),
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


def violations(rel: str, names: set[str]) -> list[str]:
    """Every rule of the layout that a file at ``rel`` importing ``names`` breaks."""
    tops = {name.split(".")[0] for name in names}
    found = []
    for prefix, packages in FORBIDDEN_PACKAGES.items():
        if rel.startswith(prefix) and tops & set(packages):
            found.append(f"{prefix} must not import {sorted(tops & set(packages))}")
    if rel.startswith(PURE):
        bad = tops & set(IO) | {n for n in names if n.startswith(IO_MODULES)}
        if bad:
            found.append(f"a pure stage imports {sorted(bad)}")
    for library, allowed in CONFINED.items():
        if library in tops and not rel.startswith(allowed):
            found.append(f"{library} belongs in {allowed or 'no module'} only")
    return found


def sources() -> list[Path]:
    return sorted(p for d in PACKAGES for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_arrows(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    assert not violations(rel, imports(path)), rel


def test_every_folder_is_a_package_with_a_docstring() -> None:
    """Folders name the stages and channels; each says in one line what it holds."""
    for folder in (p for d in PACKAGES for p in [ROOT / d, *(ROOT / d).rglob("*")]):
        data = {"__pycache__", "migrations", "versions", "templates", "static"}  # not code
        if not folder.is_dir() or folder.name in data:
            continue
        init = folder / "__init__.py"
        assert init.is_file(), f"{folder.relative_to(ROOT)} is not a package"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), init


def test_the_checker_sees_violations(tmp_path: Path) -> None:
    sample = tmp_path / "newsbrief" / "articles" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "import sqlalchemy\nfrom bot import commands\nfrom . import dedup\n"
        "from ..store import tables\nfrom telegram import Bot\n",
        encoding="utf-8",
    )
    names = imports(sample, tmp_path)
    assert names >= {"sqlalchemy", "bot.commands", "newsbrief.articles.dedup"}
    assert "newsbrief.store.tables" in names
    found = violations("newsbrief/articles/probe.py", names)
    assert any("must not import ['bot']" in v for v in found)
    assert any("pure stage" in v and "newsbrief.store" in v for v in found)
    assert any(v.startswith("sqlalchemy belongs") for v in found)
    assert any(v.startswith("telegram belongs") for v in found)
    assert violations("bot/telegram/app.py", {"telegram", "newsbrief.records"}) == []
    assert violations("bot/telegram/app.py", {"jobs.runtime"}) == ["bot/ must not import ['jobs']"]


@pytest.mark.parametrize("script", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_bench_scripts_import_what_exists(script: Path) -> None:
    """Benchmarks are not run by the suite, so a moved module must not leave them broken."""
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                found = hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"
                )
                assert found, f"{script.name}: {node.module} has no {alias.name}"
