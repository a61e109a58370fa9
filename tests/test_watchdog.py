"""The loop watchdog names what blocks the event loop; the dump shows where each task waits."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from jobs import watchdog


def block_the_loop_for(seconds: float) -> None:
    time.sleep(seconds)


async def test_a_blocked_loop_is_reported_with_where_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    dog = watchdog.LoopWatchdog(loop, stall=1.0)
    with caplog.at_level(logging.WARNING, logger="jobs.watchdog"):
        dog.start()
        try:
            await asyncio.sleep(1.5)
            assert "has not turned" not in caplog.text  # a loop that turns is left alone
            block_the_loop_for(3.0)
            await asyncio.sleep(2.5)
        finally:
            dog.stop()
    stalls = [r.getMessage() for r in caplog.records if "has not turned" in r.getMessage()]
    assert len(stalls) == 1, stalls  # once per stall
    assert "in block_the_loop_for" in stalls[0]
    assert "the event loop turns again" in caplog.text


async def inner(event: asyncio.Event) -> None:
    await event.wait()


async def outer(event: asyncio.Event) -> None:
    await inner(event)


async def test_the_dump_follows_each_task_down_to_what_it_awaits() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(outer(event), name="the-waiter")
    await asyncio.sleep(0)
    try:
        text = watchdog.dump(asyncio.get_running_loop())
    finally:
        event.set()
        await task
    section = text.split("-- task the-waiter\n", 1)[1].split("-- ", 1)[0]
    assert [line.rsplit(" in ", 1)[1] for line in section.splitlines()[:3]] == [
        "outer",
        "inner",
        "wait",
    ]
    assert "-- thread MainThread" in text
