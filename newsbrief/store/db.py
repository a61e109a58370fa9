"""The database: engine set-up for SQLite (WAL) and PostgreSQL, sessions, Alembic upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _json_text(value: object) -> str:
    """JSON columns through orjson: a compose pass encodes 200,000 of them (parts, cursors)
    and reads 100,000 subscription lists; the stdlib's json was a fifth of its time."""
    return orjson.dumps(value).decode()


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; a relative SQLite path gets its folder created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


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
