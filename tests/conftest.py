"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, loopback servers."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from newsbrief.store.db import Database
from tests.harness import Harness, running_harness

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
"""Small public vectors and pages the project cannot be trusted without (see its README)."""
SHARED = ROOT.parent / "shared"
"""The public corpora beside the clone; a fresh clone does not have them."""
CORPORA_MISSING = "needs the shared corpora"
VECTORS = FIXTURES / "wechat_vectors"
SEED_SHAPED = FIXTURES / "seed_shaped.txt"
# Every runtime a test makes would start its own feed parser processes (a spawn and an import
# each, hundreds of times in a run): tests parse in-process unless they test the workers
# (tests/test_workers.py), which ask for them in their config. Processes the tests start inherit
# this too.
os.environ.setdefault("NEWSBRIEF_POLLING__PARSE_WORKERS", "0")
# The validated-taxonomy cache (newsbrief/config/taxonomy_cache.py) of the tests' many topic
# files goes to the temporary folder, not the user's ~/.cache.
os.environ.setdefault(
    "NEWSBRIEF_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"newsbrief-test-cache-{os.getuid()}")
)
POSTGRES_ADMIN = os.environ.get(
    "NEWSBRIEF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


pytest_plugins = ["tests.console_site"]  # the console's site, browser and console fixtures


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose outside resource is missing; CI must have it, so there it fails."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared`` beside the clone, the one way a test reaches the public corpora."""
    if not (SHARED / "data").is_dir():
        unavailable(f"{CORPORA_MISSING}: {SHARED / 'data'} is not beside this clone")
    return SHARED


@pytest.fixture(params=["fixture", "shared"])
def seed_page(request: pytest.FixtureRequest) -> Path:
    """A page shaped like the seed: ours in tests/fixtures, and the real one in ../shared/seed."""
    if request.param == "fixture":
        return SEED_SHAPED
    shared: Path = request.getfixturevalue("shared")
    return sorted((shared / "seed").glob("*.txt"))[0]


def seed_parts(page: Path) -> tuple[str, str, list[str], list[str]]:
    """The page's text, its headline, its body paragraphs and every other line (the junk)."""
    text = page.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = next(i for i, line in enumerate(lines) if line.startswith("摘要"))
    footer = next(i for i, line in enumerate(lines) if line.startswith("版权声明"))
    headline, body = lines[summary - 2], lines[summary + 1 : footer]
    junk = [line for line in lines if line != headline and line not in body]
    return text, headline, body, junk


def postgres_reachable() -> bool:
    try:
        psycopg.connect(POSTGRES_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def postgres_database() -> Iterator[str]:
    name = f"nb_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # CI must test PostgreSQL; a developer without one gets a clear skip instead.
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_real_getaddrinfo = socket.getaddrinfo
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in LOOPBACK_NAMES and not name.startswith("127."):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {name!r} (loopback only)")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup beyond loopback fails loudly: the suite must pass with no internet."""
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)


@pytest.fixture(autouse=True)
def environment_kept() -> Iterator[None]:
    """Each test leaves the environment as it found it: ``main(["--no-config", …])`` run in
    the test's process sets NEWSBRIEF_NO_CONFIG for the process (as it should for a CLI run),
    and every later test's subprocess then read no config."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbrief.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async for running in running_harness(database_url):
        yield running


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path factory exists
def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps its examples and caches under the run's temporary folder, not in
    ``.hypothesis/`` of the clone: no test writes into the source tree."""
    home = config._tmp_path_factory.getbasetemp() / "hypothesis"  # type: ignore[attr-defined]
    set_hypothesis_home_dir(str(home))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read the corpora or fuzz are slow by nature: mark them so, wherever they live
    (crash and lint/type modules carry ``pytestmark = pytest.mark.slow`` themselves)."""
    for item in items:
        if "shared" in getattr(item, "fixturenames", ()) or "fuzz" in item.name:
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly how much of the suite did not run for want of the corpora, and why."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = [r for r in skipped if CORPORA_MISSING in str(r.longrepr)]
    if missing:
        terminalreporter.write_line(
            f"{len(missing)} tests skipped because the shared corpora are not at {SHARED / 'data'} "
            "(a fresh clone does not have them; with CI=true they fail instead)"
        )
