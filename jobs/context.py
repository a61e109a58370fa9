"""What every tick needs: the database, the current config, the fetcher, the senders, a clock."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.senders import Sender
from jobs.metrics import Metrics
from newsbrief.config.settings import Config
from newsbrief.fetcher import Fetcher
from newsbrief.store.db import Database
from newsbrief.workers import WorkerPool


def utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")


def _cpu_pool() -> ThreadPoolExecutor:
    # One thread: the GIL allows no more parallelism, and several threads only fight over it
    # (and over the import lock that feedparser and httpcore take on every call).
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbrief-cpu")


@dataclass
class JobContext:
    db: Database
    config: Config
    fetcher: Fetcher
    senders: dict[str, Sender] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    cpu: ThreadPoolExecutor = field(default_factory=_cpu_pool)
    parsers: WorkerPool | None = None
    """Processes that parse feeds (``polling.parse_workers``); None: the ``cpu`` thread."""
    metrics: Metrics = field(default_factory=Metrics)
    """This process's counters (``/metrics``)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """State a tick keeps between runs in this process (e.g. the story index)."""

    async def run_cpu(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a CPU-bound pure stage off the event loop, so the bot keeps answering."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cpu, functools.partial(fn, *args, **kwargs))

    async def run_parse(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a pure, picklable parse stage in a worker process (on another core), or where
        ``run_cpu`` runs it when there are none. Raises WorkerCrashed (see WorkerPool.run)."""
        if self.parsers is None:
            return await self.run_cpu(fn, *args, **kwargs)
        return await self.parsers.run(fn, *args, **kwargs)
