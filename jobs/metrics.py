"""What a process tells Prometheus (``/metrics``) and an uptime monitor (``/healthz``,
``/readyz``).

Two kinds of figures:
- this process's counters (fetches, sends, 429s, tick durations, processing time), kept in
  memory from its start, as Prometheus counters are: sum them over the processes;
- the deployment's pipeline (feeds by state, entries waiting, lag, stories, outbox depth and
  age), read from the database at each scrape: every process reports the same values, so take
  ``max`` over them, not ``sum``.

Each process has its own registry (not prometheus_client's global one), so tests can run
several runtimes in one interpreter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.wechat.server import Page
from newsbrief.records import PollOutcome, SendOutcome
from newsbrief.store import llm, stats
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

# The *_created series double the output and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in the library

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
READY_FACTOR = 2
"""A tick that has not finished a run for this many of its intervals makes the process unready."""


def fetch_outcome(outcome: PollOutcome) -> str:
    """One word for how a feed's fetch went: ``ok``, ``not_modified`` or the error kind."""
    if (failure := outcome.failure) is not None:
        return str(failure[0])
    return "not_modified" if outcome.result.not_modified else "ok"


class Metrics:
    """One process's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._pipeline: _PipelineCollector | None = None
        r = self.registry
        self.fetches = Counter(
            "newsbrief_fetches", "Feed fetches by outcome", ["outcome"], registry=r
        )
        self.entries_new = Counter("newsbrief_entries_new", "New entries stored", registry=r)
        self.entries_processed = Counter(
            "newsbrief_entries_processed", "Entries turned into articles", registry=r
        )
        self.processing_seconds = Counter(
            "newsbrief_processing_seconds",
            "Time spent extracting, cleaning, matching and summarising entries",
            registry=r,
        )
        self.messages_queued = Counter(
            "newsbrief_messages_queued", "Digest messages written to the outbox", registry=r
        )
        self.sends = Counter(
            "newsbrief_sends",
            "Send attempts by platform and result",
            ["platform", "result"],
            registry=r,
        )
        self.rate_limited = Counter(
            "newsbrief_rate_limited",
            "Sends the platform refused for rate (Telegram 429, the robots' rate errcodes)",
            ["platform"],
            registry=r,
        )
        self.tick_seconds = Histogram(
            "newsbrief_tick_duration_seconds",
            "Tick run time",
            ["tick"],
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.tick_failures = Counter(
            "newsbrief_tick_failures", "Tick runs that failed", ["tick"], registry=r
        )
        self.tick_last = Gauge(
            "newsbrief_tick_last_run_timestamp_seconds",
            "When each tick last finished a run (Unix time)",
            ["tick"],
            registry=r,
        )
        self.retention_deleted = Counter(
            "newsbrief_retention_deleted_rows",
            "Rows the retention job deleted",
            ["kind"],
            registry=r,
        )
        self.retention_last = Gauge(
            "newsbrief_retention_last_run_timestamp_seconds",
            "When this process last ran the retention job (Unix time)",
            registry=r,
        )
        self.llm_calls = Counter(
            "newsbrief_llm_calls",
            "LLM calls by result: ok, rejected (failed the checks), failed, budget (not made)",
            ["result"],
            registry=r,
        )
        self.llm_tokens = Counter("newsbrief_llm_tokens", "Tokens the LLM calls cost", registry=r)
        self.llm_rejected = Counter(
            "newsbrief_llm_rejected",
            "LLM answers refused by the checks, by reason",
            ["reason"],
            registry=r,
        )

    def fetched(self, outcome: PollOutcome) -> None:
        self.fetches.labels(fetch_outcome(outcome)).inc()

    def sent(self, platform: str, outcome: SendOutcome) -> None:
        self.sends.labels(platform, str(outcome)).inc()
        if outcome is SendOutcome.RATE_LIMITED:
            self.rate_limited.labels(platform).inc()

    def watch_database(
        self,
        db: Database,
        clock: Callable[[], datetime],
        llm_budget: Callable[[], int] = lambda: 0,
    ) -> None:
        """Report the deployment's pipeline from ``db`` at each scrape (once per process,
        however often the runtime starts); ``llm_budget``: the daily token budget in force."""
        if self._pipeline is None:
            self._pipeline = _PipelineCollector(db, clock, llm_budget)
            self.registry.register(self._pipeline)

    def render(self) -> bytes:
        """The text exposition format (blocking: the pipeline figures query the database)."""
        return generate_latest(self.registry)


class _PipelineCollector(Collector):
    def __init__(
        self, db: Database, clock: Callable[[], datetime], llm_budget: Callable[[], int]
    ) -> None:
        self.db = db
        self.clock = clock
        self.llm_budget = llm_budget

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("newsbrief_database_up", "1 if the database answered this scrape")
        now = self.clock()
        try:
            with self.db.session() as session:
                found = stats.pipeline(session, now)
                spent = llm.usage(session, now)
        except Exception as exc:  # the scrape still answers, with the database down
            log.warning("metrics: the database did not answer: %s", self.db.problem(exc) or exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _labelled("newsbrief_feeds", "Feeds by state", "state", found.feeds)
        yield GaugeMetricFamily(
            "newsbrief_entries_waiting",
            "Fetched entries not yet processed",
            value=found.entries_waiting,
        )
        lag = (now - found.oldest_waiting).total_seconds() if found.oldest_waiting else 0.0
        yield GaugeMetricFamily(
            "newsbrief_processing_lag_seconds",
            "Age of the oldest fetched entry not yet processed",
            value=max(0.0, lag),
        )
        yield GaugeMetricFamily("newsbrief_stories", "Stories stored", value=found.stories)
        yield _labelled(
            "newsbrief_outbox_depth", "Messages waiting or being sent", "platform", found.outbox
        )
        ages = {p: max(0.0, (now - t).total_seconds()) for p, t in found.oldest_pending.items()}
        yield _labelled(
            "newsbrief_outbox_oldest_age_seconds",
            "Age of the oldest message waiting or being sent",
            "platform",
            ages,
        )
        yield _labelled(
            "newsbrief_sent_24h", "Messages sent in the last 24 hours", "platform", found.sent_24h
        )
        yield GaugeMetricFamily(
            "newsbrief_llm_tokens_today",
            "LLM tokens spent since 00:00 UTC, by every process",
            value=spent.tokens,
        )
        if (budget := self.llm_budget()) > 0:
            yield GaugeMetricFamily(
                "newsbrief_llm_budget_left",
                "LLM tokens left of today's budget (llm.daily_token_budget)",
                value=max(0, budget - spent.tokens),
            )


def _labelled(
    name: str, documentation: str, label: str, values: Mapping[str, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class Readiness:
    """``/readyz``: the database answers and every tick of this process finished a run within
    READY_FACTOR of its interval (counted from the start for one that has not run yet)."""

    def __init__(
        self, db: Database, intervals: Mapping[str, float], monotonic: Callable[[], float]
    ) -> None:
        self.db = db
        self.intervals = dict(intervals)
        self.monotonic = monotonic
        started = monotonic()
        self.last: dict[str, float] = dict.fromkeys(self.intervals, started)

    def finished(self, tick: str) -> None:
        if tick in self.last:
            self.last[tick] = self.monotonic()

    def late(self) -> list[str]:
        """The ticks overdue now, each with how long since its last run."""
        now = self.monotonic()
        return [
            f"{tick} last ran {now - self.last[tick]:.0f} s ago (every {seconds:g} s)"
            for tick, seconds in self.intervals.items()
            if now - self.last[tick] > READY_FACTOR * seconds
        ]

    async def check(self) -> list[str]:
        """What is wrong now; empty when ready."""
        problems = self.late()
        try:
            await asyncio.wait_for(asyncio.to_thread(self.db.ping), timeout=5)
        except Exception as exc:
            problems.insert(0, f"database: {self.db.problem(exc) or type(exc).__name__}")
        return problems


def record_tick(
    metrics: Metrics, readiness: Readiness | None, tick: str, seconds: float, ok: bool
) -> None:
    """One tick run: its duration, and its end when it succeeded (a failing tick is late)."""
    metrics.tick_seconds.labels(tick).observe(seconds)
    if not ok:
        metrics.tick_failures.labels(tick).inc()
        return
    metrics.tick_last.labels(tick).set(time.time())
    if readiness is not None:
        readiness.finished(tick)


def health_pages(metrics: Metrics, readiness: Readiness) -> dict[str, Page]:
    """``/healthz`` (the process answers), ``/readyz`` (see Readiness), ``/metrics``."""

    async def healthz() -> tuple[int, str, bytes]:
        return 200, "text/plain; charset=utf-8", b"ok\n"

    async def readyz() -> tuple[int, str, bytes]:
        problems = await readiness.check()
        if problems:
            return 503, "text/plain; charset=utf-8", ("\n".join(problems) + "\n").encode()
        return 200, "text/plain; charset=utf-8", b"ready\n"

    async def scrape() -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE, await asyncio.to_thread(metrics.render)

    return {"/healthz": healthz, "/readyz": readyz, "/metrics": scrape}
