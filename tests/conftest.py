"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, loopback servers."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from newsbrief.store.db import Database
from tests.harness import Harness, running_harness

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
POSTGRES_ADMIN = os.environ.get(
    "NEWSBRIEF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_database() -> Iterator[str]:
    name = f"nb_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # CI must test PostgreSQL; a developer without one gets a clear skip instead.
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}")
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbrief.db'}"
    else:
        yield from _postgres_database()


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
