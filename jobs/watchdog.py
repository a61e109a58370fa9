"""What a stuck process is doing: a watchdog on the event loop, and a dump on SIGUSR1.

Everything of a ``run`` process turns on its one event loop: the bot's replies, the sends, the
send budget it may hold (whose lock stays taken while the process lives). A loop blocked for
seconds is silent: nothing logs. The watchdog, a thread, sees when the loop has not run its
heartbeat for ``stall`` seconds and logs where the loop's thread is, once per stall, then a line
when it turns again. ``kill -USR1 PID`` logs the stack of every asyncio task and every thread:
for a process that is alive and quiet, where each piece of work is waiting.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time
import traceback

log = logging.getLogger(__name__)

BEAT = 1.0
"""Seconds between two heartbeats of the loop."""


class LoopWatchdog:
    def __init__(self, loop: asyncio.AbstractEventLoop, stall: float = 10.0) -> None:
        self._loop = loop
        self._stall = stall
        self._last = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="newsbrief-watchdog", daemon=True)
        self._beat: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Call from the loop's thread."""
        self._loop_thread = threading.get_ident()
        self._heartbeat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.cancel()

    def _heartbeat(self) -> None:
        self._last = time.monotonic()
        self._beat = self._loop.call_later(BEAT, self._heartbeat)

    def _watch(self) -> None:
        stalled = False
        while not self._stop.wait(BEAT):
            late = time.monotonic() - self._last - BEAT  # past when the next beat was due
            if not stalled and late > self._stall:
                stalled = True
                log.error(
                    "the event loop has not turned for %.0f s; its thread is at:\n%s",
                    late,
                    thread_stack(self._loop_thread),
                )
            elif stalled and late < BEAT / 2:
                stalled = False
                log.warning("the event loop turns again")


def thread_stack(ident: int) -> str:
    frame = sys._current_frames().get(ident)
    return "".join(traceback.format_stack(frame)) if frame is not None else "(thread gone)"


def dump(loop: asyncio.AbstractEventLoop) -> str:
    """Every asyncio task, down the chain of what it awaits, and every thread's stack."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())
    out.write(f"{len(tasks)} tasks, {threading.active_count()} threads\n")
    for task in tasks:
        out.write(f"-- task {task.get_name()}\n")
        out.writelines(f"  {line}\n" for line in awaiting(task.get_coro()))
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident in sys._current_frames():
        out.write(f"-- thread {names.get(ident, ident)}\n{thread_stack(ident)}")
    return out.getvalue()


def awaiting(awaitable: object) -> list[str]:
    """Where a coroutine stands, then where what it awaits stands, down to a future.
    (``Task.get_stack`` gives only the outermost frame of a suspended coroutine.)"""
    lines: list[str] = []
    while awaitable is not None and len(lines) < 50:
        frame = next(
            (f for a in ("cr_frame", "gi_frame", "ag_frame") if (f := getattr(awaitable, a, None))),
            None,
        )
        if frame is None:
            lines.append(f"awaits {awaitable!r}"[:300])
            break
        code = frame.f_code
        lines.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        awaitable = next(
            (
                w
                for a in ("cr_await", "gi_yieldfrom", "ag_await")
                if (w := getattr(awaitable, a, None))
            ),
            None,
        )
    return lines
