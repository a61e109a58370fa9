"""``newsbrief backup``: a consistent copy of the SQLite database, safe while ``run`` writes.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database as one read
transaction sees it: in WAL mode writers go on meanwhile, and the copy holds exactly what was
committed when it began. It copies in one step: copied in several, any write by another
connection between two steps restarts the copy, which under steady load need never end.

The copy is written to a temporary file in the target's folder (owner-only, as the database
is: it holds chat ids and messages), checked (``PRAGMA quick_check``), switched out of WAL so
it is one self-contained file, flushed to disk and only then renamed to the target: an
interrupted backup never leaves a half-written file under the target's name. An existing
target is replaced only when asked (``force``).

PostgreSQL has ``pg_dump`` for this; the refusal names its command line for the database in use,
password masked.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from newsbrief.store.urls import redacted, sqlite_file


class Problem(StrEnum):
    TARGET = "target"
    """The target path cannot be written (exists, no such folder, a folder)."""
    DATABASE = "database"
    """The database is missing, unreadable or not a SQLite database."""
    UNSUPPORTED = "unsupported"
    """Not a SQLite file (PostgreSQL: use pg_dump)."""


class BackupError(Exception):
    """Why there is no backup, in one line; ``problem`` says whose fault it is."""

    def __init__(self, message: str, problem: Problem) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int
    """Bytes written."""
    tables: dict[str, int]
    """Rows per table in the copy."""
    seconds: float


def pg_dump_command(url: str, target: str) -> str:
    """The ``pg_dump`` line that backs up this PostgreSQL database into ``target`` (custom
    format, for ``pg_restore``), its password masked."""
    try:
        parsed = make_url(url).set(drivername="postgresql")  # libpq knows no "+psycopg"
    except ArgumentError:
        return f"pg_dump -Fc -f {shlex.quote(target)} DATABASE_URL"
    shown = parsed.render_as_string(hide_password=True)
    return f"pg_dump -Fc -f {shlex.quote(target)} {shlex.quote(shown)}"


def backup(url: str, target: Path, *, force: bool = False) -> Backup:
    """Copy the SQLite database at ``url`` into ``target``; BackupError says why not."""
    source = sqlite_file(url)
    if source is None:
        _refuse_other(url, target)
    target = target.expanduser()
    _check_target(source, target, force)
    started = time.monotonic()
    reader = _open_source(source)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        tables = _copy(reader, source, temporary)
        size = temporary.stat().st_size
        _fsync(temporary)
        _move(temporary, target, force)
    finally:
        reader.close()
        temporary.unlink(missing_ok=True)
    _fsync(target.parent)
    return Backup(target, size, tables, time.monotonic() - started)


def _refuse_other(url: str, target: Path) -> NoReturn:
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        driver = ""
    if driver.startswith(("postgresql", "postgres")):
        raise BackupError(
            "the database is PostgreSQL: newsbrief backup copies SQLite files; back it up with "
            f"{pg_dump_command(url, str(target))} (password in PGPASSWORD or ~/.pgpass)",
            Problem.UNSUPPORTED,
        )
    raise BackupError(
        f"newsbrief backup copies SQLite database files; {redacted(url)} is not one",
        Problem.UNSUPPORTED,
    )


def _check_target(source: Path, target: Path, force: bool) -> None:
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"{target}: the folder {folder} does not exist", Problem.TARGET)
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup file's name", Problem.TARGET)
    if not target.exists() and not target.is_symlink():
        return
    if source.exists() and target.exists() and os.path.samefile(source, target):
        raise BackupError(f"{target} is the database itself", Problem.TARGET)
    if not force:
        raise BackupError(f"{target} exists; pass --force to replace it", Problem.TARGET)


def _open_source(source: Path) -> sqlite3.Connection:
    """The database, read-only: a mistyped path must not leave a new empty database behind."""
    if not source.is_file():
        what = "is not a file" if source.exists() else "does not exist"
        raise BackupError(f"database {source} {what}", Problem.DATABASE)
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"database {source} cannot be read: {exc}", Problem.DATABASE) from None
    return reader


def _copy(reader: sqlite3.Connection, source: Path, temporary: Path) -> dict[str, int]:
    """The backup into ``temporary``, checked; its rows per table."""
    writer = sqlite3.connect(temporary)
    try:
        try:
            reader.backup(writer)  # one step: see the module docstring
        except sqlite3.Error as exc:
            raise BackupError(
                f"database {source} cannot be read: {exc}", Problem.DATABASE
            ) from None
        writer.execute("PRAGMA journal_mode=DELETE")  # one file; run switches it back to WAL
        (check,) = writer.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise BackupError(f"the copy of {source} fails its check: {check}", Problem.DATABASE)
        names = [
            name
            for (name,) in writer.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        # Table names from the copy's own schema, quoted as identifiers: no outside input.
        return {name: _rows(writer, name) for name in names}
    finally:
        writer.close()


def _rows(connection: sqlite3.Connection, table: str) -> int:
    quoted = '"' + table.replace('"', '""') + '"'
    return int(connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608


def _move(temporary: Path, target: Path, force: bool) -> None:
    """Put the finished copy in place: atomically replacing ``target`` when ``force``, else
    never over a file that appeared meanwhile (a hard link fails if the name is taken)."""
    if force:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise BackupError(f"{target} exists; pass --force to replace it", Problem.TARGET) from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise BackupError(
                f"{target} exists; pass --force to replace it", Problem.TARGET
            ) from None
        os.replace(temporary, target)


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') writes to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
