"""Command replies under a burst, and on a quiet bot, through one real ``newsbrief run``.

The loopback Bot API server enforces Telegram's limits (30 messages/s overall, ~1/s per private
chat, 20/min per group) and answers 429 past them. A ``newsbrief run`` process long-polls it.

Quiet: one chat at a time sends ``/help``; the time from the update being queued on the server
to the bot's answer reaching it, median and worst of ``--quiet`` commands.

Burst: ``--chats`` private chats each send ``/start`` and ``/subscribe`` within two seconds.
Every chat must get both answers; prints the answers per second (first answer to last) against
the 30/s limit, the 429s the server answered, and the reply latency median and 90th percentile.

    .venv/bin/python bench/replies.py [--chats 300] [--quiet 20] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench.databases import database
from newsbrief.records import Priority
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow
from tests.servers.botapi import BotApiServer

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 30.0
FIRST_CHAT = 610_000
CONFIG = """\
telegram: {{api_base_url: "http://127.0.0.1:{port}", poll_timeout: 1}}
subscriber_defaults: {{language: en, backlog_hours: 0}}
topics:
  - {{id: ai, name: {{zh: 人工智能, en: AI}}, keywords: [language model]}}
  - {{id: crypto, name: {{zh: 加密货币, en: Crypto}}, keywords: [bitcoin]}}
feeds: []
"""


@contextmanager
def newsbrief_run(
    api: BotApiServer, database_url: str, workdir: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``newsbrief run`` against ``api``, up and long polling when this yields; stopped with
    SIGTERM after. Its log is ``workdir/run.log``."""
    config = workdir / "newsbrief.yaml"
    config.write_text(CONFIG.format(port=api.port), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": api.token,
        "NEWSBRIEF_DATABASE_URL": database_url,
    }
    with (workdir / "run.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobs.main", "--config", str(config), "run", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not api.calls("getUpdates"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("newsbrief run did not start:\n" + tail(workdir))
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(workdir: Path, lines: int = 30) -> str:
    return "\n".join((workdir / "run.log").read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Burst:
    chats: list[int]
    sent_at: dict[int, list[float]] = field(default_factory=dict)
    """Per chat, when each command was queued on the server (``time.monotonic()``)."""


def send_burst(api: BotApiServer, chats: int, commands: tuple[str, ...]) -> Burst:
    """Every chat sends ``commands`` in order, all chats within a moment."""
    burst = Burst([FIRST_CHAT + i for i in range(chats)])
    for command in commands:
        for chat in burst.chats:
            burst.sent_at.setdefault(chat, []).append(time.monotonic())
            api.send_user_message(chat, command, first_name=f"User {chat}")
    return burst


def wait_for_answers(api: BotApiServer, burst: Burst, each: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(api.messages(chat)) >= each for chat in burst.chats):
            return True
        time.sleep(0.1)
    return False


@dataclass
class BurstResult:
    answered: int
    """Chats that got every answer."""
    chats: int
    answers: int
    too_many: int
    rate: float
    """Answers per second, first answer to last."""
    latencies: list[float]
    """Per answer: seconds from its command reaching the server to the answer reaching it."""
    spread: float
    """Seconds over which the commands were sent."""


def measure_burst(api: BotApiServer, chats: int, timeout: float = 120.0) -> BurstResult:
    commands = ("/start", "/subscribe")
    burst = send_burst(api, chats, commands)
    spread = max(max(t) for t in burst.sent_at.values()) - min(
        min(t) for t in burst.sent_at.values()
    )
    wait_for_answers(api, burst, len(commands), timeout)
    time.sleep(0.5)  # an extra (duplicate) answer would arrive now
    received, latencies = [], []
    answered = 0
    for chat in burst.chats:
        got = api.messages(chat)
        answered += len(got) == len(commands)
        received += [m.received for m in got]
        latencies += [m.received - t for m, t in zip(got, burst.sent_at[chat], strict=False)]
    wall = max(received) - min(received) if len(received) > 1 else float("inf")
    return BurstResult(
        answered=answered,
        chats=chats,
        answers=len(received),
        too_many=api.stats["429"],
        rate=(len(received) - 1) / wall,
        latencies=latencies,
        spread=spread,
    )


def measure_quiet(api: BotApiServer, count: int) -> list[float]:
    """Seconds from a ``/help`` reaching the server to its answer, one command at a time."""
    latencies = []
    for i in range(count):
        chat = FIRST_CHAT - 1 - i
        queued = time.monotonic()
        api.send_user_message(chat, "/help")
        answer = api.wait_for_messages_sync(chat, 1, timeout=30)[0]
        latencies.append(answer.received - queued)
        time.sleep(0.2)
    return latencies


def handled_rate(database_url: str) -> float:
    """Replies queued per second (commands handled), first reply to last."""
    db = Database(database_url)
    try:
        with db.session() as session:
            first, last, n = session.execute(
                select(
                    func.min(DeliveryRow.created_at),
                    func.max(DeliveryRow.created_at),
                    func.count(),
                ).where(DeliveryRow.priority >= Priority.REPLY)
            ).one()
    finally:
        db.dispose()
    return (n - 1) / max((last - first).total_seconds(), 1e-6)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(kind: str, chats: int, quiet: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, BotApiServer() as api:
        api.enforce_limits = True
        workdir = Path(tmp)
        with database(kind, workdir) as url, newsbrief_run(api, url, workdir):
            lat = measure_quiet(api, quiet)
            print(
                f"{kind:>8} quiet bot: reply latency median {statistics.median(lat) * 1000:.0f} ms,"
                f" worst {max(lat) * 1000:.0f} ms over {quiet} commands"
            )
            before = api.stats["429"]
            started = time.monotonic()
            r = measure_burst(api, chats)
            wall = time.monotonic() - started
            handled = handled_rate(url)
        print(
            f"{kind:>8} burst: {chats} chats x (/start, /subscribe) sent within {r.spread:.2f} s; "
            f"{r.answered}/{r.chats} chats got both answers; {r.answers} answers at "
            f"{r.rate:.1f}/s = {r.rate / LIMIT:.0%} of {LIMIT:.0f}/s; 429 answers: "
            f"{r.too_many - before}; latency median {statistics.median(r.latencies):.1f} s, "
            f"p90 {percentile(r.latencies, 0.9):.1f} s"
        )
        print(
            f"{'':>8} commands handled (replies queued) at {handled:.0f}/s; the burst took "
            f"{wall:.1f} s from the first command to the last answer"
        )
        if r.answered < r.chats:
            print(tail(workdir))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--quiet", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(kind, args.chats, args.quiet)


if __name__ == "__main__":
    main()
