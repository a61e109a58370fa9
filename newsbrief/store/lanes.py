"""PostgreSQL's side of one sender per send budget: advisory locks, and LISTEN on the outbox.

A session-level advisory lock lives exactly as long as the connection that took it: when the
process holding it dies, PostgreSQL sees the connection close and frees the lock, and a
standby's next try takes it. So the locks (and the LISTEN) sit on connections of their own,
outside SQLAlchemy's pool, which would lend the connection to other work and recycle it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Collection
from typing import Any

import psycopg

from newsbrief.store.db import Database, DatabaseUnavailable, display_url
from newsbrief.store.outbox import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

ALIVE_TIMEOUT = 3.0
"""Seconds the lock connection gets to answer a check; slower, it is given up (and the locks
with it: its session may be gone)."""


def _unavailable(url: str, error: psycopg.Error) -> DatabaseUnavailable:
    cause = " ".join(str(error).split())[:300] or type(error).__name__
    return DatabaseUnavailable(f"database {display_url(url)} is not available: {cause}")


def _params(db: Database) -> dict[str, Any]:
    return {**db.libpq_params(), "autocommit": True}


def lock_key(platform: str, credential: str) -> int:
    """The advisory lock of one send budget: a stable signed 64-bit hash of platform and
    credential, the same in every process (Python's ``hash`` is salted per process). The
    credential never leaves this function."""
    digest = hashlib.blake2b(
        f"{platform}\0{credential}".encode(), digest_size=8, person=b"newsbrief.budget"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


class LaneLocks:
    """Advisory locks held on one dedicated connection (opened when first needed)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._url = db.url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.held: set[int] = set()

    async def take(self, keys: Collection[int]) -> set[int]:
        """Try each lock of ``keys`` not held yet, without waiting; returns the keys held now.
        Raises DatabaseUnavailable when the database cannot be reached (then none is held)."""
        try:
            conn = await self._connection()
            for key in set(keys) - self.held:
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    self.held.add(key)
        except psycopg.Error as exc:
            await self._lose()
            raise _unavailable(self._url, exc) from None
        return set(self.held)

    async def release(self, keys: Collection[int]) -> None:
        """Give up these locks (budgets no longer configured)."""
        mine = set(keys) & self.held
        if not mine or self._conn is None:
            return
        try:
            for key in mine:
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                self.held.discard(key)
        except psycopg.Error:
            await self._lose()

    async def alive(self) -> bool:
        """Whether the connection holding the locks still answers: then its session, and every
        lock it took, still stands. False (and nothing held) otherwise."""
        if self._conn is None:
            return False
        try:
            await asyncio.wait_for(self._conn.execute("SELECT 1"), ALIVE_TIMEOUT)
        except (psycopg.Error, TimeoutError):
            await self._lose()
            return False
        return True

    async def close(self) -> None:
        await self._lose()

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self.held.clear()
            self._conn = await psycopg.AsyncConnection.connect(**_params(self._db))
        return self._conn

    async def _lose(self) -> None:
        self.held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # already broken: nothing to close
                await conn.close()


LISTEN_POLL = 0.5
"""Seconds between looks at ``stop`` while listening: stopping never cancels a wait on the
connection (psycopg would log it), and notifications meanwhile are kept by psycopg."""


async def listen_outbox(
    db: Database,
    on_notify: Callable[[str], None],
    on_listening: Callable[[], None],
    stop: asyncio.Event,
) -> None:
    """LISTEN on the outbox channel (then ``on_listening()``) and call ``on_notify(payload)``
    for every notification, until ``stop`` is set. Raises DatabaseUnavailable when the
    connection fails (the caller retries)."""
    try:
        conn = await psycopg.AsyncConnection.connect(**_params(db))
    except psycopg.Error as exc:
        raise _unavailable(db.url, exc) from None
    try:
        await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        on_listening()
        while not stop.is_set():
            async for notice in conn.notifies(timeout=LISTEN_POLL):
                on_notify(notice.payload)
    except psycopg.Error as exc:
        raise _unavailable(db.url, exc) from None
    finally:
        with contextlib.suppress(psycopg.Error):
            await conn.close()
