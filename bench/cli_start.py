"""Start time of the light commands: what an admin waits for at the prompt.

Runs each of ``newsbrief --help``, ``newsbrief config check`` and ``newsbrief feeds list``
(against the bundled config and a temporary SQLite database) as a fresh process, 10 times,
and prints the median and the worst beside the target (1 s) and the baseline of the
interpreter's own start (``python -c pass``). One untimed run first migrates the new database
and reads the taxonomy once, as any first command after an install or an upgrade does.

    .venv/bin/python bench/cli_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "newsbrief.yaml"
TARGET = 1.0
"""Seconds: the issue's bar for a light command on the 2-core machine."""


def newsbrief() -> list[str]:
    """The installed console script, as an admin runs it; ``-m jobs.main`` from a checkout."""
    script = Path(sys.executable).with_name("newsbrief")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jobs.main"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system): the CPU figure barely moves when other
    work shares the machine, the wall figure is what the admin waits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="nb-cli-start-") as folder:
        env = {**os.environ, "NEWSBRIEF_DATABASE_URL": f"sqlite:///{folder}/newsbrief.db"}
        base = [*newsbrief(), "--config", str(CONFIG)]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "newsbrief --help": [*base, "--help"],
            "newsbrief config check": [*base, "config", "check"],
            "newsbrief feeds list": [*base, "feeds", "list"],
        }
        timed(commands["newsbrief feeds list"], env)  # migrate, read the taxonomy once
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):  # interleaved: a busy moment slows every command alike
            for name, argv in commands.items():
                times[name].append(timed(argv, env))
    print(
        f"{runs} runs each, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; target {TARGET:.1f} s"
    )
    print(f"{'command':<26} {'median':>8} {'worst':>8} {'CPU median':>11}")
    for name, measured in times.items():
        found = [wall for wall, _ in measured]
        cpu = statistics.median(c for _, c in measured)
        verdict = (
            ""
            if name.startswith("python")
            else ("  ok" if statistics.median(found) <= TARGET else "  OVER")
        )
        print(
            f"{name:<26} {statistics.median(found):>7.2f}s {max(found):>7.2f}s "
            f"{cpu:>10.2f}s{verdict}"
        )


if __name__ == "__main__":
    main()
