"""Feed parsing in worker processes: results and log lines come back, a dead worker is
replaced, and an input that kills its worker twice fails alone."""

from __future__ import annotations

import logging
import os
import signal

import pytest

from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.store import feeds as feed_store
from newsbrief.workers import WorkerCrashed, WorkerPool
from tests.servers.feeds import FeedServer, rss

log = logging.getLogger("tests.worker")


def square_and_say(n: int) -> int:
    log.warning("worker %d says %s", os.getpid(), n)
    return n * n


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def test_results_and_log_lines_come_back(caplog: pytest.LogCaptureFixture) -> None:
    pool = WorkerPool(2, "test worker")
    try:
        with caplog.at_level(logging.INFO):
            assert [await pool.run(square_and_say, n) for n in range(3)] == [0, 1, 4]
    finally:
        pool.close()
    said = [r for r in caplog.records if r.name == "tests.worker"]
    assert [r.getMessage().rsplit(" ", 1)[1] for r in said] == ["0", "1", "2"]
    assert all(f"worker {os.getpid()} " not in r.getMessage() for r in said)  # not run here


async def test_a_killed_worker_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    pool = WorkerPool(1, "test worker")
    try:
        assert await pool.run(square_and_say, 3) == 9
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)
        assert await pool.run(square_and_say, 4) == 16
        assert pool.pids() != [pid]
        # An input that kills its worker every time fails alone, and the pool goes on.
        with pytest.raises(WorkerCrashed, match="died twice"):
            await pool.run(die)
        assert await pool.run(square_and_say, 5) == 25
    finally:
        pool.close()
    assert "a test worker process died; starting a new one" in caplog.text


async def test_poll_parses_in_workers_and_logs_their_warnings(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBRIEF_POLLING__PARSE_WORKERS", raising=False)  # tests/conftest.py's "0"
    items = [{"title": f"story {i}", "link": f"https://e/{i}", "guid": str(i)} for i in range(5)]
    with FeedServer() as server:
        server.set("/a.xml", rss(items))
        server.set("/b.xml", b"<html><head><title>Not a feed</title></head></html>")
        config = Config(
            database_url=database_url,
            fetch={"allow_private_networks": True, "host_spacing": 0},
            polling={"parse_workers": 1, "max_entries": 3},
            feeds=[
                {"id": "a", "url": server.url("/a.xml")},
                {"id": "b", "url": server.url("/b.xml")},
            ],
        )
        runtime = Runtime(config)
        runtime.start()
        try:
            assert runtime.ctx.parsers is not None
            with caplog.at_level(logging.INFO):
                summary = await runtime.poll_once(all_feeds=True)
            assert runtime.ctx.parsers.pids(), "parsed in this process, not in a worker"
            with runtime.db.session() as session:
                health = {h.id: h for h in feed_store.feed_health(session)}
        finally:
            await runtime.aclose()
    assert (summary.feeds, summary.new, summary.failed) == (2, 3, 1)
    assert health["b"].last_error_kind == "not_a_feed"
    kept = [r for r in caplog.records if r.name == "newsbrief.feeds.parse"]
    assert any("lists 5 entries: kept the newest 3" in r.getMessage() for r in kept)
