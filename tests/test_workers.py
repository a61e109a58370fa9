"""Feed parsing in worker processes: results and log lines come back, a dead worker is
replaced, and an input that kills its worker twice fails alone."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


ORPHAN_PARENT = """
import asyncio, os, sys, time
sys.path.insert(0, {root!r})
from newsbrief.workers import WorkerPool

async def main():
    pool = WorkerPool(1, "test worker")
    pid = await pool.run(os.getpid)
    print(pid, flush=True)
    time.sleep(60)

if __name__ == "__main__":  # a spawned worker imports this file too
    asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    """A SIGKILLed parent leaves no worker behind (one would go on composing batches)."""
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_PARENT.format(root=str(Path(__file__).resolve().parents[1])))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the parent failed to start its worker: {line!r}"
        worker = int(line)
        assert worker != parent.pid and os.getppid() != worker
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            if Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break  # dead, waiting for init to reap it
            time.sleep(0.05)
        alive = Path(f"/proc/{worker}").exists()
        state = Path(f"/proc/{worker}/stat").read_text().split()[2] if alive else "gone"
        assert state in ("gone", "Z"), f"worker {worker} outlived its parent ({state})"
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
