"""Scale-out on PostgreSQL: 10,000 feeds and 100,000 subscribers, 1, 2 and 4 processes per role.

Each configuration gets a fresh database: bench/compose.py's 100,000 subscribers (30 of 100
topics each, 500 stories waiting for them) and bench/poll.py's 10,000 feeds on 500 loopback
hosts (a warm-up cycle, not measured, stores their old entries and ETags; then 65% answer 304
and 35% bring 1-3 new entries). Real ``newsbrief run --role poll|process|compose`` processes,
N of each, share the database; the bench makes the work due and watches the tables:

- cycle: every feed made due -> every feed checked and every new entry processed (poll and
  process overlap, as in production); ``poll`` is when the last feed was checked;
- compose: every digest made due -> every subscriber's digest composed into the outbox.

Per process: CPU seconds (``/proc``: user + system, start-up included) and peak RSS. Deliver
is left out: its rate is Telegram's budget per token (30/s), whatever the machine.

    .venv/bin/python bench/scale.py [--processes 1,2,4] [--feeds 10000] [--subscribers 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text, update

from bench.compose import populate
from bench.databases import database
from bench.poll import PORT, changed, hosts, serve
from bench.poll import warm_up as poll_warm_up
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.store import feeds as feed_store
from newsbrief.store.db import Database
from newsbrief.store.tables import DigestCursorRow, EntryRow, FeedRow

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("poll", "process", "compose")
TICK = 1.0
"""Seconds between ticks in the measured processes: small beside the phases."""
FAR = timedelta(days=30)
TIMEOUT = float(os.environ.get("NEWSBRIEF_SCALE_TIMEOUT", 900))
"""Seconds a phase may take before the bench gives up and shows the processes' logs."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def feed_list(host_list: list[str], count: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"f{i}",
            "url": f"http://{host_list[i % len(host_list)]}:{PORT}/f/{i}.xml",
            "fulltext": "never",
        }
        for i in range(count)
    ]


def config_yaml(feeds: list[dict[str, object]]) -> str:
    topics = "\n".join(
        f"  - {{id: t{i}, name: {{zh: 话题{i}, en: Topic {i}}}, priority: {i % 3 - 1}}}"
        for i in range(100)
    )
    lines = "\n".join(f'  - {{id: {f["id"]}, url: "{f["url"]}", fulltext: never}}' for f in feeds)
    return (
        f"fetch: {{allow_private_networks: true}}\n"
        f"polling: {{jitter: 0}}\n"
        f"scheduler: {{poll: {TICK}, process: {TICK}, compose: {TICK}, deliver: 3600}}\n"
        f"subscriber_defaults: {{max_items: 20}}\n"
        f"topics:\n{topics}\nfeeds:\n{lines}\n"
    )


async def warm_up(url: str, host_list: list[str], feeds: list[dict[str, object]]) -> None:
    """Store the feeds' old entries and ETags as a previous cycle would have (not measured);
    the old entries count as processed, so the cycle processes only what is new."""
    runtime = Runtime(
        Config(
            database_url=url,
            fetch={"allow_private_networks": True},
            polling={"jitter": 0},
            feeds=feeds,
        )
    )
    runtime.start()
    try:
        await poll_warm_up(runtime, host_list)
    finally:
        await runtime.aclose()
    db = Database(url)
    with db.session() as session:
        now = datetime.now(UTC)
        session.execute(update(EntryRow).values(processed_at=now))
        session.execute(update(FeedRow).values(next_check_at=now + FAR))
    db.dispose()


@dataclass
class Usage:
    role: str
    cpu: float
    peak_mb: float


def _cpu_and_peak(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return cpu, peak / 1024


COMMAND = Path(sys.executable).with_name("newsbrief")


def _children(task: Path) -> list[int]:
    try:
        return [int(c) for c in (task / "children").read_text().split()]
    except OSError:  # the thread ended meanwhile
        return []


def usage(role: str, pid: int) -> Usage:
    """The process's CPU with its feed parser processes' (its children), and its peak RSS."""
    cpu, peak = _cpu_and_peak(pid)
    children = {c for task in Path(f"/proc/{pid}/task").iterdir() for c in _children(task)}
    for child in children:
        cpu += _cpu_and_peak(child)[0]
    return Usage(role, cpu, peak)


def wait_for(db: Database, query: object, what: str, timeout: float = TIMEOUT) -> float:
    """Seconds until ``query`` (a count) reaches 0; a progress line every 15 s."""
    started = last = time.perf_counter()
    while True:
        with db.session() as session:
            left = session.scalar(query)  # type: ignore[call-overload]
        now = time.perf_counter()
        if not left:
            return now - started
        if now - started > timeout:
            raise TimeoutError(f"{what}: {left} left after {timeout:.0f} s")
        if now - last >= 15:
            print(f"    {what}: {left} left after {now - started:.0f} s", flush=True)
            last = now
        time.sleep(0.2)


def run_configuration(
    n: int, host_list: list[str], feeds: list[dict[str, object]], subscribers: int, tmp: Path
) -> dict[str, object]:
    with database("postgres", tmp) as url:
        db = Database(url)
        db.upgrade()
        populate(db, subscribers, datetime.now(UTC), random.Random(1))
        with db.session() as session:  # populate wrote the stories' ids itself
            session.execute(
                text("SELECT setval(pg_get_serial_sequence('stories', 'id'), max(id)) FROM stories")
            )
        with db.session() as session:  # nothing due until the bench says so
            session.execute(update(DigestCursorRow).values(next_due_at=datetime.now(UTC) + FAR))
        asyncio.run(warm_up(url, host_list, feeds))
        config = tmp / f"scale-{n}.yaml"
        config.write_text(config_yaml(feeds), encoding="utf-8")
        env = {**os.environ, "NEWSBRIEF_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        env.pop("TELEGRAM_BOT_TOKEN", None)
        procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        logs = []
        try:
            for role in ROLES:
                for k in range(n):
                    log = (tmp / f"{role}-{n}-{k}.log").open("wb")
                    logs.append(log)
                    # The newsbrief command (its parse workers import only the parser).
                    argv = [str(COMMAND), "--config", str(config)]
                    proc = subprocess.Popen(
                        [*argv, "run", "--role", role],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                    procs.append((role, proc))
            time.sleep(8)  # start-up: imports, config, the feeds table
            for role, proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a {role} process exited: see {tmp}")

            start = datetime.now(UTC)
            with db.session() as session:
                feed_store.make_all_due(session, start)
            unchecked = (
                select(func.count())
                .select_from(FeedRow)
                .where(FeedRow.enabled)  # the stories' "wire" feed is not in the config
                .where((FeedRow.last_checked_at.is_(None)) | (FeedRow.last_checked_at < start))
            )
            poll = wait_for(db, unchecked, "feeds to check")
            waiting = (
                select(func.count()).select_from(EntryRow).where(EntryRow.processed_at.is_(None))
            )
            cycle = poll + wait_for(db, waiting, "entries to process")
            with db.session() as session:
                new = session.scalar(
                    select(func.count()).select_from(EntryRow).where(EntryRow.fetched_at >= start)
                )

            composed_at = datetime.now(UTC)
            with db.session() as session:
                session.execute(update(DigestCursorRow).values(next_due_at=composed_at))
            due = (
                select(func.count())
                .select_from(DigestCursorRow)
                .where(DigestCursorRow.next_due_at <= composed_at)
            )
            compose = wait_for(db, due, "digests to compose")
            used = [usage(role, proc.pid) for role, proc in procs]
        except TimeoutError:
            for log in logs:
                log.flush()
                tail = Path(log.name).read_text(errors="replace").splitlines()[-8:]
                print(f"--- {log.name}", *tail, sep="\n")
            raise
        finally:
            for _, proc in procs:
                proc.terminate()
            for _, proc in procs:
                proc.wait(timeout=60)
            for log in logs:
                log.close()
            db.dispose()
    return {"n": n, "poll": poll, "cycle": cycle, "compose": compose, "new": new, "used": used}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=500)
    args = parser.parse_args()
    host_list = hosts(args.hosts)
    feeds = feed_list(host_list, args.feeds)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    server = context.Process(target=serve, args=(host_list, ready, PORT, args.feeds), daemon=True)
    server.start()
    ready.wait(30)
    expected = sum(1 + i % 3 for i in range(args.feeds) if changed(i))
    print(
        f"PostgreSQL, {args.feeds} feeds ({expected} new entries per cycle), "
        f"{args.subscribers} subscribers, {os.cpu_count()} cores"
    )
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.processes.split(",")):
                result = run_configuration(n, host_list, feeds, args.subscribers, Path(tmp))
                rows.append(result)
                print_row(result)
    finally:
        server.terminate()
    print()
    print(
        "| processes per role | poll | cycle (poll + process) | compose "
        "| CPU s per process: poll / process / compose | peak RSS MB (largest) |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(table_row(r))


def per_role(result: dict[str, object], role: str) -> list[Usage]:
    return [u for u in result["used"] if u.role == role]  # type: ignore[attr-defined]


def print_row(r: dict[str, object]) -> None:
    print(
        f"{r['n']} per role: poll {r['poll']:.1f} s, cycle {r['cycle']:.1f} s "
        f"({r['new']} new entries), compose {r['compose']:.1f} s"
    )
    for role in ROLES:
        used = per_role(r, role)
        cpu = ", ".join(f"{u.cpu:.1f}" for u in used)
        rss = ", ".join(f"{u.peak_mb:.0f}" for u in used)
        print(f"    {role}: CPU s {cpu}; peak RSS MB {rss}")


def table_row(r: dict[str, object]) -> str:
    cpus = " / ".join("+".join(f"{u.cpu:.0f}" for u in per_role(r, role)) for role in ROLES)
    peak = max(u.peak_mb for u in r["used"])  # type: ignore[attr-defined]
    return (
        f"| {r['n']} | {r['poll']:.1f} s | {r['cycle']:.1f} s | {r['compose']:.1f} s "
        f"| {cpus} | {peak:.0f} |"
    )


if __name__ == "__main__":
    main()
