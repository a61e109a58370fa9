"""The ``newsbrief`` entry point: the core commands plus those that run ticks and the bot.

The runtime (Telegram, APScheduler, aiohttp, the article pipeline) is imported inside the
commands that run it: building the parser must stay light, so that ``--help``, ``config
check`` or ``feeds list`` start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from newsbrief.cli.commands import (
    EXIT_CONFIG,
    build_parser,
    config_or_bundled,
    load_or_exit,
    old_database,
    run,
    setup_logging,
    sources_line,
)
from newsbrief.store.urls import sqlite_file

if TYPE_CHECKING:
    from jobs.poll import PollSummary
    from jobs.runtime import Runtime
    from newsbrief.config.settings import Config

SAMPLES = Path(__file__).resolve().parent.parent / "config" / "samples"
ROLES = ("poll", "process", "compose", "deliver", "bot", "callbacks", "web")
"""``jobs.runtime.ROLES``, spelled out so that the parser needs no runtime (a test checks)."""

log = logging.getLogger("newsbrief")


def start_logged(args: argparse.Namespace, *, long_running: bool = False) -> Config:
    """The config, with logging set up and the startup line naming the config file and the
    database in use (for a one-shot command only with -v: its failure is one line)."""
    config = load_or_exit(args)
    setup_logging(config, args.verbose)
    level = logging.INFO if long_running else logging.DEBUG
    log.log(level, "newsbrief starting: %s", sources_line(config, args.config))
    if (before := old_database(config, args.config)) is not None:
        log.warning(
            "the database %s does not exist yet, but %s does: relative SQLite paths are now "
            "taken from the config file's folder; move the file or make database_url absolute",
            sqlite_file(config.database_url),
            before,
        )
    return config


def make_runtime(config: Config, config_file: Path | None = None) -> Runtime:
    """The runtime, or exit 2 with the name of a missing robot key variable."""
    from jobs.runtime import Runtime
    from newsbrief.config.channels import MissingCredentials

    try:
        return Runtime(config, config_file=config_file)
    except MissingCredentials as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio  # not for the light commands: ~50 ms of start-up

    from jobs import watchdog
    from newsbrief.config.settings import config_source
    from newsbrief.store import run_lock

    config = start_logged(args, long_running=True)
    roles = tuple(args.role) if args.role and "all" not in args.role else ROLES
    if (database := sqlite_file(config.database_url)) is not None:
        try:
            run_lock.hold(database)  # held until this process ends
        except run_lock.DatabaseBusy as exc:
            print(f"newsbrief run: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    runtime = make_runtime(config, config_file=config_source(args.config))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(
            signal.SIGUSR1, lambda: log.warning("SIGUSR1: what runs now:\n%s", watchdog.dump(loop))
        )
        stalls = watchdog.LoopWatchdog(loop)
        stalls.start()
        try:
            # A database that is down at start is waited for, as one lost mid-run is.
            if await runtime.start_when_ready(stop):
                await runtime.run(roles, stop)
        finally:
            stalls.stop()
            await runtime.aclose()

    asyncio.run(main())
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio  # not for the light commands: ~50 ms of start-up

    from jobs.progress import Progress, poll_progress

    if not args.once:
        args.role = ["poll"]
        return cmd_run(args)
    config = start_logged(args)
    runtime = make_runtime(config)

    async def main() -> PollSummary:
        try:
            runtime.start()
            async with Progress(poll_progress(runtime, all_feeds=args.all)):
                return await runtime.poll_once(all_feeds=args.all)
        finally:
            await runtime.aclose()

    print(asyncio.run(main()))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    import asyncio  # not for the light commands: ~50 ms of start-up

    from jobs.progress import Progress, digest_progress

    if not args.once:
        args.role = ["process", "compose", "deliver"]
        return cmd_run(args)
    config = start_logged(args)
    runtime = make_runtime(config)

    async def main() -> tuple[int, int]:
        try:
            runtime.start()
            async with Progress(digest_progress(runtime)):
                return await runtime.digest_once()
        finally:
            await runtime.aclose()

    queued, sent = asyncio.run(main())
    print(f"{queued} messages queued, {sent} sent")
    # Telegram's messages wait in the outbox (the robots' went out): a cron job should notice.
    return 1 if runtime.telegram_problem is not None else 0


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio  # not for the light commands: ~50 ms of start-up

    from jobs.demo import run_demo

    args.config = config_or_bundled(args)
    config = load_or_exit(args)
    setup_logging(config, args.verbose)
    sent = asyncio.run(run_demo(config, Path(args.samples)))
    return 0 if sent else 1


def full_parser() -> argparse.ArgumentParser:
    """Every ``newsbrief`` command: the core ones and those that run ticks and the bot."""
    parser, sub = build_parser()
    run_cmd = sub.add_parser("run", help="run the ticks and the Telegram bot (long polling)")
    run_cmd.add_argument(
        "--role",
        action="append",
        choices=[*ROLES, "all"],
        help="run only these parts (repeatable; default all)",
    )
    run_cmd.set_defaults(handler=cmd_run)

    poll = sub.add_parser("poll", help="poll feeds")
    poll.add_argument("--once", action="store_true", help="one round of due feeds, then exit")
    poll.add_argument("--all", action="store_true", help="with --once: every feed, due or not")
    poll.set_defaults(handler=cmd_poll, role=None)

    digest = sub.add_parser("digest", help="process entries, compose and deliver digests")
    digest.add_argument("--once", action="store_true", help="one round, then exit")
    digest.set_defaults(handler=cmd_digest, role=None)

    demo = sub.add_parser("demo", help="offline demo on the bundled sample feeds (no token)")
    demo.add_argument("--samples", default=str(SAMPLES), help=argparse.SUPPRESS)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(full_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
