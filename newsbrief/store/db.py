"""The database: engine set-up for SQLite (WAL) and PostgreSQL, sessions, Alembic upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from newsbrief.store.urls import sqlite_file

MIGRATIONS = Path(__file__).with_name("migrations")


def _json_text(value: object) -> str:
    """JSON columns through orjson: a compose pass encodes 200,000 of them (parts, cursors)
    and reads 100,000 subscription lists; the stdlib's json was a fifth of its time."""
    return orjson.dumps(value).decode()


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; a SQLite file gets its folder, and is created
    private (see ``create_private``)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    path = sqlite_file(url)
    if path is not None:
        create_private(path)
    return parsed.render_as_string(hide_password=False)


def create_private(path: Path) -> None:
    """Create the SQLite file owner-only (0600, in a 0700 folder if the folder is new) before
    SQLite does with the umask's 0644: it holds chat ids, subscriptions and message texts.
    SQLite gives its -wal and -shm files the database file's mode. An existing file is left as
    its owner set it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the bot) run while a tick writes; the timeout rides out short writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine: Engine = create_engine(
            self.url, pool_pre_ping=True, json_serializer=_json_text, json_deserializer=orjson.loads
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, write_lock: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error.

        ``write_lock`` takes SQLite's write lock before the first read, so what the transaction
        reads stays true until it commits (SQLite has no ``SELECT … FOR UPDATE``; PostgreSQL's
        row locks do the same there).
        """
        with self._sessions() as session, session.begin():
            if write_lock and self.engine.dialect.name == "sqlite":
                session.execute(text("BEGIN IMMEDIATE"))
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations (idempotent; run on every start)."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()
