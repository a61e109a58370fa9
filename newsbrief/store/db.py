"""The database: engine set-up for SQLite (WAL) and PostgreSQL, sessions, Alembic upgrades."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.orm import Session, sessionmaker

from newsbrief.store.urls import sqlite_file

MIGRATIONS = Path(__file__).with_name("migrations")
PG_CONNECT_TIMEOUT = 10
"""Seconds to wait for PostgreSQL to answer a connection: an unreachable host fails in that
time with a clear line instead of hanging for the OS's TCP timeout (minutes)."""


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached. ``str()`` is one line naming it, password
    masked, and the cause; ``permanent`` when waiting cannot help (a URL that cannot work)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def display_url(url: str) -> str:
    """The database URL to show: its password masked (``***``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:299] + "…"


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


MIGRATION_LOCK = 0x6E62_6D69  # "nbmi": the advisory lock key of migrations


class Database:
    def __init__(self, url: str) -> None:
        try:
            self.url = normalize_url(url)
            parsed = make_url(self.url)
            # No ``connect_timeout`` for a URL that sets its own, nor for other drivers.
            connect_args = (
                {"connect_timeout": PG_CONNECT_TIMEOUT}
                if parsed.drivername.startswith("postgresql")
                and "connect_timeout" not in parsed.query
                else {}
            )
            self.engine: Engine = create_engine(
                self.url,
                pool_pre_ping=True,
                json_serializer=_json_text,
                json_deserializer=orjson.loads,
                connect_args=connect_args,
            )
        except (ArgumentError, NoSuchModuleError) as exc:
            # SQLAlchemy's messages do not quote the URL; ours names it with the password masked.
            raise DatabaseUnavailable(
                f"database {display_url(url)} cannot be used: {_one_line(exc)}", permanent=True
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, write_lock: bool = False, redoable: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error.

        ``write_lock`` takes SQLite's write lock before the first read, so what the transaction
        reads stays true until it commits (SQLite has no ``SELECT … FOR UPDATE``; PostgreSQL's
        row locks do the same there).

        ``redoable``: the transaction's work is done again, the same, if it is lost (a compose
        batch: its keys make a repeat a no-op). On PostgreSQL its commit then does not wait for
        the disk (``synchronous_commit``): a server crash in the next fraction of a second
        may undo it, never half of it, and the next ordinary commit (the deliverer's claim,
        before it sends) flushes it first, so nothing is sent from it before it is on disk. A
        compose pass on PostgreSQL spent 0.25 of its 2.9 s waiting there.
        """
        with self._sessions() as session, session.begin():
            if write_lock and self.engine.dialect.name == "sqlite":
                session.execute(text("BEGIN IMMEDIATE"))
            if redoable and self.is_postgres:
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield session

    def ping(self) -> None:
        """Raise unless the database answers a trivial query now (for ``/readyz``)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def libpq_params(self) -> dict[str, str]:
        """This PostgreSQL database as libpq keywords, for connections of its own outside the
        pool (the lane locks, LISTEN): the pool recycles connections, and a session-level
        lock or a LISTEN must live exactly as long as the connection it was taken on. Keywords,
        not a URI: a password with spaces or slashes needs no quoting then."""
        parsed = make_url(self.url)
        params = {
            "host": parsed.host,
            "port": str(parsed.port) if parsed.port else None,
            "user": parsed.username,
            "password": parsed.password,
            "dbname": parsed.database,
        }
        found = {name: value for name, value in params.items() if value}
        for name, value in parsed.query.items():
            found[name] = value if isinstance(value, str) else value[-1]
        found.setdefault("connect_timeout", str(PG_CONNECT_TIMEOUT))
        return found

    def problem(self, error: BaseException) -> DatabaseUnavailable | None:
        """``error`` as one line when it says this database cannot be reached or opened (the
        server is down, refuses us, the file cannot be opened); None for any other error."""
        if isinstance(error, DatabaseUnavailable):
            return error
        if isinstance(error, SqlOperationalError | InterfaceError) or (
            isinstance(error, DBAPIError) and error.connection_invalidated
        ):
            cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
            return DatabaseUnavailable(
                f"database {display_url(self.url)} is not available: {_one_line(cause)}"
            )
        return None

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations (idempotent; run on every start). Raises
        DatabaseUnavailable when the database cannot be reached."""
        # Alembic (a fifth of a second to import) only here: read commands skip this call
        # when the database is at the newest revision already (``store.revision``).
        from alembic import command
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                if self.is_postgres:
                    # Processes starting at once on a new database would each create the
                    # tables (a duplicate key in pg_type); the first migrates, the rest wait
                    # and then find nothing to do. Released at commit.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except Exception as exc:
            if (problem := self.problem(exc)) is not None:
                raise problem from None
            raise

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()
