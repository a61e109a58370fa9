"""Starts ``newsbrief run`` processes for the crash test without paying the imports each time.

Importing the bot takes seconds (datasketch, scipy, telegram); twenty restarts would spend the
test's time there. This process imports ``jobs.main`` and the runtime (which ``jobs.main`` loads
only when a command runs) once, then forks on request: each child is a fresh process that
runs ``jobs.main.main`` (what the ``newsbrief`` script runs) from the top, config loading,
migrations and all.

Protocol on stdin/stdout, a JSON list per line in, a number per line out:
    ``["spawn", LOGFILE, ARG...]`` -> PID      a child runs ``newsbrief ARG...`` logging to LOGFILE
    ``["reap", PID]``              -> STATUS   wait for the child to end (the test kills it)
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import jobs.runtime  # noqa: F401  (``jobs.main`` imports it only when a command runs)
from jobs import main as entry


def child(log: str, args: list[str]) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    code = 1
    try:
        code = entry.main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    for line in sys.stdin:
        command, *rest = json.loads(line)
        if command == "spawn":
            pid = os.fork()
            if pid == 0:
                child(rest[0], rest[1:])
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(rest[0], 0)
            print(status, flush=True)


if __name__ == "__main__":
    main()
