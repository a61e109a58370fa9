"""Progress of ``poll --once`` and ``digest --once`` on a terminal.

A line on stderr every few seconds while the round runs (``poll: feeds 120/500, 37 new
entries``), only when stderr is a terminal and only when something moved: a cron job's mail
gets the summary the command prints at the end, not a log of its progress. The figures come
from the runtime's metrics counters, which the ticks already keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from jobs.runtime import Runtime

EVERY = 2.0
"""Seconds between progress lines."""


class Collecting(Protocol):
    """A metrics counter, as far as progress reads it (prometheus_client stays in metrics.py)."""

    def collect(self) -> Iterable[Any]: ...


def counted(counter: Collecting, **labels: str) -> int:
    """A counter's total over the samples whose labels include ``labels``."""
    return int(
        sum(
            sample.value
            for family in counter.collect()
            for sample in family.samples
            if sample.name.endswith("_total") and labels.items() <= sample.labels.items()
        )
    )


def poll_progress(runtime: Runtime, *, all_feeds: bool) -> Callable[[], str]:
    """``poll: feeds 120/500, 37 new entries``: feeds done of those due when the round began."""
    from newsbrief.store import feeds

    now = datetime.now(UTC)
    with runtime.db.session() as session:
        health = feeds.feed_health(session)
    due = sum(
        h.next_check_at is not None
        and (all_feeds or h.next_check_at.replace(tzinfo=h.next_check_at.tzinfo or UTC) <= now)
        for h in health
    )
    metrics = runtime.ctx.metrics

    def line() -> str:
        done = counted(metrics.fetches)
        return f"poll: feeds {done}/{max(due, done)}, {counted(metrics.entries_new)} new entries"

    return line


def digest_progress(runtime: Runtime) -> Callable[[], str]:
    """``digest: entries 40/310 processed, 3 messages queued, 2 sent``."""
    from newsbrief.store import stats

    with runtime.db.session() as session:
        waiting = stats.pipeline(session, datetime.now(UTC)).entries_waiting
    metrics = runtime.ctx.metrics

    def line() -> str:
        done = counted(metrics.entries_processed)
        queued = counted(metrics.messages_queued)
        sent = counted(metrics.sends, result="sent")
        return (
            f"digest: entries {done}/{max(waiting, done)} processed, "
            f"{queued} messages queued, {sent} sent"
        )

    return line


class Progress:
    """Writes ``describe()`` to ``stream`` every ``every`` seconds while the block runs, when
    the stream is a terminal (or ``force``) and the line changed since the last one."""

    def __init__(
        self,
        describe: Callable[[], str],
        stream: TextIO | None = None,
        *,
        every: float = EVERY,
        force: bool = False,
    ) -> None:
        self.describe = describe
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.active = force or self.stream.isatty()
        self._task: asyncio.Task[None] | None = None
        self._last = ""

    async def __aenter__(self) -> Progress:
        if self.active:
            self._task = asyncio.create_task(self._report())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _report(self) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.every)
            line = self.describe()
            if line != self._last:
                self._last = line
                self.stream.write(f"{line} ({time.monotonic() - started:.0f} s)\n")
                self.stream.flush()
