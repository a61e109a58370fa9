"""The ``newsbrief`` command line: the parser and the commands that need only the core.

Commands that run ticks or the bot are added by ``jobs.main`` (the entry point), which sits above
``bot`` and ``jobs`` in the layout; this module stays importable without them.

Start-up is kept light: the database layer (SQLAlchemy's ORM, Alembic) is imported by the
commands that open the database, so ``--help`` and ``config check`` never pay for it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from newsbrief import logs
from newsbrief.cli.feeds import add_feed_commands
from newsbrief.config.secrets import environment_secrets, redactors
from newsbrief.config.settings import (
    DEFAULT_CONFIG_PATH,
    NO_CONFIG_ENV,
    Config,
    ConfigError,
    config_source,
    defaults_requested,
    load_config,
)
from newsbrief.redaction import Redactor
from newsbrief.store.urls import redacted, sqlite_file

if TYPE_CHECKING:
    from newsbrief.store.db import Database

Handler = Callable[[argparse.Namespace], int]
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_USAGE = 64
"""sysexits.h's EX_USAGE: argparse's own 2 would read as "invalid config" here."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a C tool killed by the closed pipe (``| head``) exits with."""
BUNDLED_CONFIG = Path(__file__).resolve().parents[2] / "config" / "newsbrief.yaml"
"""The shipped config and its taxonomy: what ``demo`` and ``analyze`` use when given none."""


def setup_logging(config: Config | None, verbose: bool = False) -> None:
    """Log at INFO (DEBUG with ``-v``), masking the secrets ``config`` holds."""
    logs.setup_logging(_redactor(config), verbose)


def _redactor(config: Config | None) -> Redactor:
    return redactors(config)[0] if config is not None else Redactor(environment_secrets())


def sources_line(config: Config, path: str | None) -> str:
    """Which config file and which database this process uses: the first thing to check when
    two processes (a service and a cron job) seem to see different data. No password."""
    source = config_source(path)
    where = str(source.absolute()) if source is not None else "none (defaults and environment)"
    return f"config {where}; database {redacted(config.database_url)}"


def old_database(config: Config, path: str | None) -> Path | None:
    """A SQLite file where the database used to be found (the same relative path taken from
    the working directory, as before it was taken from the config's folder) when the one in
    use does not exist yet: an upgrade would otherwise start on an empty database silently."""
    source = config_source(path)
    used = sqlite_file(config.database_url)
    if source is None or used is None or used.exists():
        return None
    relative = os.path.relpath(used, source.absolute().parent)
    before = (Path.cwd() / relative).resolve()
    return before if before != used and before.is_file() else None


def config_or_bundled(args: argparse.Namespace) -> str | None:
    """The config for commands that need no site of their own (``demo``, ``analyze``): the
    one asked for, else ./config/newsbrief.yaml, else the bundled one, so they work from any
    folder (a missing file named on purpose is still an error)."""
    if args.config or os.environ.get("NEWSBRIEF_CONFIG") or defaults_requested():
        return str(args.config) if args.config else None
    return None if DEFAULT_CONFIG_PATH.is_file() else str(BUNDLED_CONFIG)


def load_or_exit(args: argparse.Namespace) -> Config:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(logs.redact(str(problem)), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from exc
    logs.use_redactor(_redactor(config))
    return config


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


# -- core commands --------------------------------------------------------------------------


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        problems = [logs.redact(str(p)) for p in exc.problems]
        if args.json:
            print_json({"ok": False, "problems": problems})
        else:
            for problem in problems:
                print(problem)
        return EXIT_CONFIG
    source = config_source(args.config)
    summary = {
        "ok": True,
        "file": str(source) if source is not None else None,
        "database": redacted(config.database_url),
        "feeds": len(config.feeds),
        "topics": len(config.topics),
    }
    if args.json:
        print_json(summary)
    else:
        name = summary["file"] or "(no config file: defaults and environment)"
        print(f"{name}: ok ({summary['feeds']} feeds, {summary['topics']} topics)")
        print(f"database: {summary['database']}")
    return 0


@contextmanager
def open_database(args: argparse.Namespace) -> Iterator[tuple[Config, Database]]:
    """The configured database, migrated, for one command."""
    from newsbrief.store.db import Database
    from newsbrief.store.revision import at_head

    config = load_or_exit(args)
    db = Database(config.database_url)
    try:
        if not at_head(db):  # Alembic is slow to import; most runs have nothing to apply
            db.upgrade()
        yield config, db
    except Exception as exc:
        if (problem := db.problem(exc)) is not None:
            raise problem from None
        raise
    finally:
        db.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    with open_database(args) as (_, db):
        print(f"database at revision {db.current_revision()}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the SQLite database, safe while ``run`` writes to it."""
    from newsbrief.store import backup

    exits = {
        backup.Problem.TARGET: 1,
        backup.Problem.UNSUPPORTED: EXIT_CONFIG,
        backup.Problem.DATABASE: EXIT_DATABASE,
    }
    config = load_or_exit(args)
    try:
        made = backup.backup(config.database_url, Path(args.path), force=args.force)
    except backup.BackupError as exc:
        print(f"newsbrief backup: {logs.redact(str(exc))}", file=sys.stderr)
        return exits[exc.problem]
    rows = sum(made.tables.values())
    print(
        f"{made.path}: {made.size / 1e6:,.1f} MB in {made.seconds:.1f} s, "
        f"{len(made.tables)} tables, {rows:,} rows, integrity ok"
    )
    for table, count in made.tables.items():
        print(f"  {table:<24} {count:>12,}")
    return 0


def _aware(value: datetime) -> datetime:
    """The database keeps UTC; a value that arrives without its zone is UTC too."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def when(value: datetime | None, zone: Any = None) -> str:
    """``value`` in the local zone (or ``zone``), with the zone: ``2026-12-03 08:30 UTC``,
    ``2026-12-03 16:30 UTC+08:00``. A time without its zone is a guess on a server."""
    if value is None:
        return "never"
    local = _aware(value).astimezone(zone)
    offset = local.utcoffset() or timedelta()
    if not offset:
        return f"{local:%Y-%m-%d %H:%M} UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{local:%Y-%m-%d %H:%M} UTC{sign}{hours:02d}:{minutes:02d}"


def cmd_feeds_list(args: argparse.Namespace) -> int:
    from newsbrief.store import feeds

    with open_database(args) as (config, db), db.session() as session:
        feeds.sync_feeds(session, config.feed_list(), datetime.now(UTC))
        health = feeds.feed_health(session)
    if args.json:
        print_json([asdict(h) for h in health])
        return 0
    for h in health:
        rate = f"{h.entries_per_week:g}/week" if h.entries_per_week is not None else "?/week"
        print(
            f"{h.id:<20} {h.status:<9} {h.entries:>6} entries {rate:>10}  "
            f"last ok {when(h.last_success_at)}  next {when(h.next_check_at)}  {h.url}"
        )
        if h.last_error:
            print(f"{'':<20} {h.last_error_kind or 'error'} ({h.error_count}x): {h.last_error}")
    return 0


def cmd_feeds_enable(args: argparse.Namespace) -> int:
    from newsbrief.store import feeds

    with open_database(args) as (_, db), db.session() as session:
        found = feeds.enable(session, args.feed_id, datetime.now(UTC))
    if not found:
        print(f"no feed {args.feed_id!r} in the database", file=sys.stderr)
        return 1
    print(f"{args.feed_id}: enabled; it is polled on the next round")
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    from newsbrief.store import outbox

    with open_database(args) as (_, db), db.session() as session:
        rows = outbox.listing(session, args.status, args.limit)
        data = [
            {
                "id": r.id,
                "key": r.key,
                "platform": r.platform,
                "chat_id": r.chat_id,
                "status": r.status,
                "attempts": r.attempts,
                "due_at": r.due_at,
                "sent_at": r.sent_at,
                "message_id": r.platform_message_id,
                "last_error": r.last_error,
            }
            for r in rows
        ]
    if args.json:
        print_json(data)
        return 0
    for r, d in zip(rows, data, strict=True):
        error = f"  ({d['last_error']})" if d["last_error"] else ""
        at = f"sent {when(r.sent_at)}" if r.sent_at else f"due {when(r.due_at)}"
        print(
            f"{d['id']:>6} {d['status']:<8} {at}  {d['platform']}:{d['chat_id']} {d['key']}{error}"
        )
    return 0


def _age(now: datetime, then: datetime | None) -> str:
    """How long ago, and when: ``5m ago (2026-12-03 08:30 UTC)``."""
    if then is None:
        return "never"
    seconds = max(0, int((now - _aware(then)).total_seconds()))
    ago = f"{seconds}s ago"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            ago = f"{seconds // size}{unit} ago"
            break
    return f"{ago} ({when(then)})"


def cmd_status(args: argparse.Namespace) -> int:
    """The deployment at a glance: the figures ``/metrics`` reads from the database."""
    from newsbrief.store import llm, stats

    now = datetime.now(UTC)
    # Read only: no sync with this config's feeds (one run with the wrong config must not
    # mark every feed removed).
    with open_database(args) as (config, db), db.session() as session:
        found = stats.pipeline(session, now)
        spent = llm.usage(session, now)
    data = asdict(found)
    budget = config.llm.daily_token_budget
    data["llm"] = {
        **asdict(spent),
        "on": config.llm.enabled,
        "model": config.llm.model or None,
        "budget": budget or None,
        "budget_left": max(0, budget - spent.tokens) if budget else None,
    }
    data["processing_lag_seconds"] = (
        (now - found.oldest_waiting).total_seconds() if found.oldest_waiting else 0.0
    )
    data["oldest_pending_age_seconds"] = {
        platform: (now - at).total_seconds() for platform, at in found.oldest_pending.items()
    }
    if args.json:
        print_json(data)
        return 0
    feed_states = ", ".join(f"{n} {state}" for state, n in sorted(found.feeds.items()))
    lag = f", oldest fetched {_age(now, found.oldest_waiting)}" if found.oldest_waiting else ""
    outbox_line = ", ".join(
        f"{platform} {n} (oldest {_age(now, found.oldest_pending.get(platform))})"
        for platform, n in sorted(found.outbox.items())
    )
    sent = ", ".join(f"{platform} {n}" for platform, n in sorted(found.sent_24h.items()))
    print(f"feeds      {feed_states or 'none'}; last poll {_age(now, found.last_poll)}")
    print(f"entries    {found.entries_waiting} waiting to be processed{lag}")
    print(f"stories    {found.stories}")
    print(f"outbox     {outbox_line or 'empty'}")
    print(
        f"sent 24h   {sent or 'none'}; last digest {_age(now, found.last_digest)}, "
        f"last send {_age(now, found.last_sent)}"
    )
    texts = ", ".join(f"{n} {status}" for status, n in sorted(spent.texts.items()))
    left = f" of {budget:,} ({max(0, budget - spent.tokens):,} left)" if budget else ""
    state = f"model {config.llm.model}" if config.llm.enabled else "off"
    print(
        f"llm        {state}; today {spent.tokens:,} tokens{left}, {spent.calls} calls; "
        f"texts today {texts or 'none'}"
    )
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    """The group robots of the config and their health: like /feeds, for channels."""
    from newsbrief.config.channels import ROBOT_SCHEDULE
    from newsbrief.store import stats, subscribers

    now = datetime.now(UTC)
    with open_database(args) as (config, db), db.session() as session:
        data = []
        for robot in config.robots:
            found = subscribers.find(session, robot.platform, robot.id, None)
            health = stats.chat_health(session, robot.platform, robot.id, now)
            # "new": not synced yet; the runtime adds a robot when it starts.
            status = "new" if found is None else "paused" if found.paused else "ok"
            data.append(
                {
                    "id": robot.id,
                    "platform": robot.platform,
                    "status": status,
                    "paused_reason": subscribers.paused_reason(session, found.id)
                    if found is not None and found.paused
                    else None,
                    "key": "set" if os.environ.get(robot.key_env) else f"missing ({robot.key_env})",
                    "topics": list(robot.topics),
                    "schedule": robot.schedule or ROBOT_SCHEDULE,
                    "pending": health.pending,
                    "failed": health.failed,
                    "sent_24h": health.sent_24h,
                    "last_sent_at": health.last_sent_at,
                    "last_error": health.last_error,
                }
            )
    if args.json:
        print_json(data)
        return 0
    if not data:
        print("no robots in the config (see robots[] in the README)")
    for d in data:
        reason = f" ({d['paused_reason']})" if d["paused_reason"] else ""
        print(
            f"{d['platform']}:{d['id']:<16} {d['status']}{reason}  key {d['key']}  "
            f"pending {d['pending']}, failed {d['failed']}, sent 24h {d['sent_24h']}"
        )
        if d["last_error"]:
            print(f"    last error: {d['last_error']}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from newsbrief.articles.analyze import (  # loads dictionaries: only when asked
        Analyzer,
        analyze_lines,
    )
    from newsbrief.articles.topics import TopicMatcher

    args.config = config_or_bundled(args)
    config = load_or_exit(args)
    analyzer = Analyzer(TopicMatcher(config.topics))
    for line in analyze_lines(sys.stdin, analyzer, explain=args.explain):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return 0


class Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 64 (EX_USAGE); its subcommands' parsers are one too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("newsbrief")
        except PackageNotFoundError:  # run from a checkout that was never installed
            found = "unknown (not installed)"
        print(f"newsbrief {found}")
        parser.exit()


def _global_options(parser: argparse.ArgumentParser, *, top: bool, json_output: bool) -> None:
    """The options every command takes, before or after its name. Below the top they
    default to SUPPRESS: a subcommand's parser then sets only what was given after it, and
    what was given before it stays."""
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options (before or after the command)")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $NEWSBRIEF_CONFIG or config/newsbrief.yaml)",
        **default,
    )
    source.add_argument(
        "--no-config",
        action="store_true",
        help=f"read no config file: defaults and the environment only (also {NO_CONFIG_ENV}=1)",
        **default,
    )
    group.add_argument("-v", "--verbose", action="store_true", help="debug logging", **default)
    if top or json_output:
        group.add_argument(
            "--json", action="store_true", help="JSON output (read commands)", **default
        )


def _subcommand_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below ``parser``, at any depth (``feeds``, ``feeds list``, …)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases repeat a parser
                yield child
                yield from _subcommand_parsers(child)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand the global options (once: parsers are built per call, and tests
    build one and run it several times). ``--json`` goes to the commands with JSON output,
    those that set ``json_output``; given before another command, it is a usage error."""
    if parser.get_default("global_options"):
        return
    parser.set_defaults(global_options=True)
    for child in _subcommand_parsers(parser):
        _global_options(child, top=False, json_output=bool(child.get_default("json_output")))


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[Any]]:
    parser = Parser(prog="newsbrief", description="Self-hosted news digest bot.")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _global_options(parser, top=True, json_output=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config = sub.add_parser("config", help="check the config").add_subparsers(
        dest="action", required=True
    )
    check = config.add_parser("check", help="validate; print each problem as file:line: reason")
    check.set_defaults(json_output=True)
    check.set_defaults(handler=cmd_config_check)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    backup_cmd = sub.add_parser(
        "backup",
        help="copy the SQLite database into PATH, safely while `run` writes (PostgreSQL: pg_dump)",
    )
    backup_cmd.add_argument("path", metavar="PATH", help="the backup file to write")
    backup_cmd.add_argument("--force", action="store_true", help="replace PATH if it exists")
    backup_cmd.set_defaults(handler=cmd_backup)

    feeds_cmd = sub.add_parser("feeds", help="feeds and their health").add_subparsers(
        dest="action", required=True
    )
    listing = feeds_cmd.add_parser("list", help="each feed's state")
    listing.set_defaults(json_output=True)
    listing.set_defaults(handler=cmd_feeds_list)
    enable = feeds_cmd.add_parser("enable", help="poll a feed disabled after failures again")
    enable.add_argument("feed_id")
    enable.set_defaults(handler=cmd_feeds_enable)
    add_feed_commands(feeds_cmd)

    analyze = sub.add_parser(
        "analyze",
        help="the article pipeline as a filter: JSON Lines in on stdin, one JSON line out per input",
    )
    analyze.add_argument(
        "--explain",
        action="store_true",
        help='add "removed": [{"line", "reason"}] to each output: what cleaning dropped, and why',
    )
    analyze.set_defaults(handler=cmd_analyze)

    deliveries = sub.add_parser(
        "deliveries", help="the outbox: what was sent, what waits, what failed"
    )
    deliveries.set_defaults(json_output=True)
    deliveries.add_argument("--status", choices=["pending", "sending", "sent", "failed", "paused"])
    deliveries.add_argument("--limit", type=int, default=100)
    deliveries.set_defaults(handler=cmd_deliveries)
    status = sub.add_parser(
        "status", help="feeds, backlog, stories, outbox and sends at a glance (as /metrics)"
    )
    status.set_defaults(json_output=True)
    status.set_defaults(handler=cmd_status)
    channels = sub.add_parser(
        "channels", help="group robots (WeCom, DingTalk, Feishu) and their health"
    )
    channels_sub = channels.add_subparsers(dest="channels_command", required=True)
    channels_list = channels_sub.add_parser("list", help="each robot: status, queue, last error")
    channels_list.set_defaults(json_output=True)
    channels_list.set_defaults(handler=cmd_channels)
    return parser, sub


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    add_global_options(parser)
    args = parser.parse_args(argv)
    if args.config and args.no_config:
        parser.error("argument --no-config: not allowed with argument --config")
    if args.json and not getattr(args, "json_output", False):
        parser.error(f"{_command(args)} has no --json output")
    if args.no_config:
        # One switch for every loader this process reaches (the CLI's, the runtime's).
        os.environ[NO_CONFIG_ENV] = "1"
    handler: Handler = args.handler
    # Until a command reads the config, the secrets known are the environment's; long-running
    # commands log at INFO, the others only when something is wrong (or with -v).
    logs.setup_logging(_redactor(None), args.verbose, logging.WARNING)
    try:
        code = handler(args)
        sys.stdout.flush()  # here, where a closed pipe can still be handled
        return code
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not _unavailable(exc):
            raise
        print(logs.redact(str(exc)), file=sys.stderr)
        return EXIT_DATABASE


def _command(args: argparse.Namespace) -> str:
    words = [args.command, getattr(args, "action", None) or getattr(args, "channels_command", None)]
    return "newsbrief " + " ".join(w for w in words if w)


def _unavailable(exc: Exception) -> bool:
    from newsbrief.store.db import DatabaseUnavailable

    return isinstance(exc, DatabaseUnavailable)


def _pipe_closed() -> int:
    """The reader left (``newsbrief feeds list | head -1``): no traceback, and no second error
    when the interpreter flushes stdout at exit. Python's documented recipe: point stdout at
    /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE
