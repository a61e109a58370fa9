"""CPU-bound pure work in other processes, so it runs beside the event loop's process on a
second core instead of taking turns with it under one GIL.

    WorkerPool.run(fn, *args) | a spawned worker process runs fn
        | its log records come back with the result and are logged here, as if fn ran here
        | a worker that dies (killed, out of memory) is replaced; the call is tried once more
          in the new pool, and a second death raises WorkerCrashed

Workers are started with ``spawn``: forking a process that runs threads (the event loop's
executor, the database pool) can copy a lock held mid-operation into the child. A spawned worker
imports only the module of the function it runs, plus the process's main script: the
``newsbrief`` console script is small (``jobs.entry``) for that reason.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


NICE = 5
"""Workers run at a lower priority: the event loop's process (the bot's replies, the sends)
wins a core from them when both want it."""


def auto_workers() -> int:
    """One per core, up to 4. Not one fewer: the event loop's process spends much of a poll
    waiting on the network and the database, and a niced worker yields to it anyway."""
    return max(1, min(4, os.cpu_count() or 1))


class WorkerCrashed(RuntimeError):
    """The worker process died twice running one call: the input is taken as the cause."""


# -- in the worker process ---------------------------------------------------------------------

_records: list[logging.LogRecord] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        # Flattened, so the record pickles whatever its arguments were.
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        _records.append(record)


PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux): a worker left behind by a SIGKILLed parent would
    finish whatever it holds (a compose pass commits batch after batch) with nobody to tell."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers end when their queue closes
        return
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def _start_worker(level: int, parent: int) -> None:
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.nice(NICE)
    root = logging.getLogger()
    root.handlers[:] = [_Collect()]
    root.setLevel(level)


def _call(
    fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[T, list[logging.LogRecord]]:
    try:
        return fn(*args, **kwargs), list(_records)
    finally:
        _records.clear()


# -- in this process ---------------------------------------------------------------------------


class WorkerPool:
    """A pool of ``workers`` spawned processes, started at the first call."""

    def __init__(self, workers: int, name: str = "worker") -> None:
        self.workers = workers
        self.name = name
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(logging.getLogger().getEffectiveLevel(), os.getpid()),
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:  # the first call to see it breaks it for all
                log.error("a %s process died; starting a new one", self.name)
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker; ``fn``, its arguments and result must pickle."""
        loop = asyncio.get_running_loop()
        call = functools.partial(_call, fn, args, kwargs)
        for attempt in (1, 2):
            pool = self._current()
            try:
                result, records = await loop.run_in_executor(pool, call)
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise WorkerCrashed(f"the {self.name} process died twice on it") from None
                continue
            for record in records:
                logging.getLogger(record.name).handle(record)
            return result
        raise AssertionError("unreachable")

    def pids(self) -> list[int]:
        """The worker processes running now (for tests and diagnostics)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    def cpu_seconds(self) -> float:
        """CPU time the live workers have used (Linux's /proc; 0 elsewhere): for benchmarks
        and metrics, since the parent's own counters leave its workers out until they exit."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:  # exited, or no /proc
                continue
            fields = stat.rsplit(")", 1)[1].split()  # the name in ( ) may hold spaces
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return total

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
