"""One ``newsbrief run`` per SQLite database.

SQLite serves one process well: a second ``run`` on the same file would tick beside the first
with a pacer of its own, and their claims, which on SQLite are only as good as one process's
bookkeeping, would cross. The first ``run`` holds an exclusive ``flock`` on a file beside the
database for its whole life (the kernel frees it when the process ends, however it ends), and
writes its pid there so a refused second one can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class DatabaseBusy(Exception):
    """Another process holds the run lock; ``str()`` is one line naming the database and it."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".run.lock")


def hold(database: Path) -> int:
    """Take the run lock of the SQLite file ``database`` for as long as this process lives;
    returns the lock file's descriptor (keep it open). Raises DatabaseBusy when another process
    holds it."""
    path = lock_path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _pid(fd)
        os.close(fd)
        by = f"another newsbrief run (pid {holder})" if holder else "another newsbrief run"
        raise DatabaseBusy(
            f"the SQLite database {database} is in use by {by}; SQLite takes one process: "
            "stop that one, or use PostgreSQL to run several"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
