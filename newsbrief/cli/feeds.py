"""``newsbrief feeds add|import|export``: change the config's feed list from the command line.

Exit codes: 0 done, 1 a problem with the arguments, the site or the OPML file (nothing was
written), 2 the config is invalid, or the edit would have made it so (nothing was written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsbrief.config.base import ID_PATTERN, check_http_url, check_id
from newsbrief.config.edit import ConfigEditError, add_feeds, ensure_writable, plan_additions
from newsbrief.config.settings import Config, ConfigError, load_config
from newsbrief.feeds.opml import OpmlError, OpmlFeed, export_opml, parse_opml

if TYPE_CHECKING:
    from newsbrief.feeds.discovery import DiscoveredFeed

EXIT_ERROR = 1
EXIT_CONFIG = 2


def add_feed_commands(feeds_subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``add``, ``import`` and ``export`` under ``newsbrief feeds``."""
    add = feeds_subparsers.add_parser(
        "add", help="find a site's feed (or take a feed URL) and add it to the config"
    )
    add.add_argument("url", metavar="URL", help="a feed, or a site page that links to one")
    add.add_argument(
        "--id", dest="feed_id", metavar="ID", help="default: from the feed's title (or host)"
    )
    _topic_option(add)
    add.add_argument("--interval", type=int, metavar="MIN", help="minutes between checks")
    add.set_defaults(handler=cmd_feeds_add)

    imp = feeds_subparsers.add_parser("import", help="add every feed of an OPML file")
    imp.add_argument("file", metavar="FILE.opml")
    _topic_option(imp)
    imp.add_argument(
        "-n", "--dry-run", action="store_true", help="print what would change, write nothing"
    )
    imp.set_defaults(handler=cmd_feeds_import)

    exp = feeds_subparsers.add_parser("export", help="the configured feeds as OPML 2.0")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    exp.set_defaults(handler=cmd_feeds_export)


def _topic_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topic",
        dest="topics",
        action="extend",
        nargs="+",
        default=[],
        metavar="T",
        help="topic id for every feed added (repeatable)",
    )


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _config_error(exc: ConfigError, note: str = "") -> int:
    if note:
        print(note, file=sys.stderr)
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return EXIT_CONFIG


def _unknown_topics(config: Config, topics: Iterable[str]) -> str | None:
    unknown = [t for t in topics if config.topic(t) is None]
    if not unknown:
        return None
    known = ", ".join(t.id for t in config.topics) or "none defined"
    return f"unknown topic {', '.join(map(repr, unknown))} (topics: {known})"


def _existing(config: Config) -> list[tuple[str, str]]:
    return [(f.id, f.url) for f in config.feeds]


def _remembered(config: Config) -> list[tuple[str, str]]:
    """The feeds the database remembers, removed ones included, so that a new feed does not
    take a removed one's id (``plan_additions``); none before the database exists."""
    # Imported here: a light command (--help) does not load the store.
    from newsbrief.store.db import Database
    from newsbrief.store.feed_history import remembered_feeds
    from newsbrief.store.urls import sqlite_file

    path = sqlite_file(config.database_url)
    if path is not None and not path.exists():
        return []
    db = Database(config.database_url)
    try:
        db.upgrade()
        with db.session() as session:
            return remembered_feeds(session)
    except Exception as exc:
        if (problem := db.problem(exc)) is None:
            raise
        print(f"warning: {problem}; the ids of removed feeds were not checked", file=sys.stderr)
        return []
    finally:
        db.dispose()


# -- feeds add --------------------------------------------------------------------------------


def cmd_feeds_add(args: argparse.Namespace) -> int:
    # The fetcher (aiohttp) and the feed parser, for this command only: every command
    # builds this module's parsers, and `newsbrief --help` must start fast.
    from newsbrief.feeds.discovery import DiscoveryError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _config_error(exc)
    url = args.url.strip()
    if "://" not in url:
        url = f"https://{url}"  # "ithome.com" is what people type
    try:
        check_http_url(url)
    except ValueError as exc:
        return _error(str(exc))
    if args.feed_id is not None:
        try:
            check_id(args.feed_id)
        except ValueError as exc:
            return _error(str(exc))
    if args.interval is not None and not 1 <= args.interval <= 7 * 24 * 60:
        return _error("--interval is minutes, from 1 to 10080 (a week)")
    if problem := _unknown_topics(config, args.topics):
        return _error(problem)
    # Refuse a known URL or id before going to the network.
    entry: dict[str, Any] = {
        "id": args.feed_id,
        "url": url,
        "topics": list(dict.fromkeys(args.topics)),
    }
    if args.interval is not None:
        entry["interval"] = args.interval
    remembered = _remembered(config)
    (early,) = plan_additions(_existing(config), [entry], retired=remembered)
    if early.duplicate:
        return _error(f"{url}: {early.duplicate}")
    try:
        ensure_writable(args.config)
    except ConfigEditError as exc:
        return _error(f"{exc}; nothing was written")

    try:
        import asyncio  # only here: ~50 ms a light command need not pay

        found = asyncio.run(_discover(config, url))
    except DiscoveryError as exc:
        return _error(str(exc))
    entry["url"] = found.url
    entry["title"] = found.title  # the id comes from it; the feed keeps telling its title
    (planned,) = plan_additions(_existing(config), [entry], retired=remembered)
    if planned.duplicate:
        return _error(f"{found.url}: {planned.duplicate}")
    try:
        added = add_feeds(args.config, [planned.entry])
    except ConfigEditError as exc:
        return _error(f"{exc}; nothing was written")
    except ConfigError as exc:
        return _config_error(exc, "the config was left unchanged:")
    if not added:  # someone added it in the meantime
        return _error(f"{found.url}: already present")
    print(f"added {added[0]}: {found.url} ({found.title})")
    if planned.note:
        print(f"note: {planned.note}")
    return 0


async def _discover(config: Config, url: str) -> DiscoveredFeed:
    from newsbrief.feeds.discovery import discover_feed
    from newsbrief.fetcher import Fetcher

    fetcher = Fetcher(config.fetch)
    try:
        return await discover_feed(fetcher, url)
    finally:
        await fetcher.aclose()


# -- feeds import -----------------------------------------------------------------------------


def _topic_lookup(config: Config) -> dict[str, str]:
    """Folder and category names an OPML file may use for a topic: its id and both names."""
    lookup: dict[str, str] = {}
    for topic in config.topics:
        for name in (topic.id, topic.names.en, topic.names.zh_hans):
            lookup.setdefault(name.strip().lower(), topic.id)
    return lookup


def opml_entries(
    config: Config, feeds: Sequence[OpmlFeed], topics: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], list[str | None], list[str | None]]:
    """The config entries an OPML file's feeds would become (for ``plan_additions``, ids as
    wishes), their titles, and a report line per outline: the reason one was skipped, None
    where the plan of the next entry goes. Shared with the console's OPML import."""
    lookup = _topic_lookup(config)
    # One report line per outline, in file order; None marks a place the plan fills in.
    report: list[str | None] = []
    entries: list[dict[str, Any]] = []
    titles: list[str | None] = []
    for feed in feeds:
        try:
            check_http_url(feed.url)
        except ValueError:
            report.append(f"skipped {feed.url}: not an http(s) URL")
            continue
        # Folders and categories named after a topic (id, English or Chinese name) select it.
        matched = [
            lookup[key]
            for category in feed.categories
            for key in (category.lower(), category.rsplit("/", 1)[-1].lower())
            if key in lookup
        ]
        chosen = list(dict.fromkeys([*topics, *matched]))
        # The id our own export writes (or a title that is an id: older exports) is kept, so
        # stored entries stay attached to their feed across an export and import. Any other
        # title is the feed's display name, and its id is made from it.
        wish = feed.feed_id or (feed.title if feed.title and ID_PATTERN.match(feed.title) else None)
        name = feed.title if feed.title != wish else None
        entries.append({"id": wish, "url": feed.url, "topics": chosen, "name": name})
        titles.append(feed.title)
        report.append(None)
    return entries, titles, report


def cmd_feeds_import(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _config_error(exc)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        return _error(f"cannot read {args.file}: {exc.strerror or exc}")
    try:
        feeds = parse_opml(data, source=args.file)
    except OpmlError as exc:
        return _error(str(exc))
    if problem := _unknown_topics(config, args.topics):
        return _error(problem)

    entries, titles, report = opml_entries(config, feeds, args.topics)
    plan = plan_additions(
        _existing(config), entries, on_taken_id="derive", retired=_remembered(config)
    )
    accepted = [p for p in plan if p.duplicate is None]
    if accepted and not args.dry_run:
        try:
            add_feeds(args.config, [p.entry for p in accepted])
        except ConfigEditError as exc:
            return _error(f"{exc}; nothing was written")
        except ConfigError as exc:
            return _config_error(exc, "the config was left unchanged:")
    verb = "would add" if args.dry_run else "added"
    planned = iter(zip(plan, titles, strict=True))
    for line in report:
        if line is None:
            p, title = next(planned)
            about = f" ({title})" if title else ""
            line = (
                f"skipped {p.url}: {p.duplicate}"
                if p.duplicate
                else f"{verb} {p.id}: {p.url}{about}" + (f"\n  note: {p.note}" if p.note else "")
            )
        print(line)
    counted = "to add" if args.dry_run else "added"
    print(f"{len(accepted)} {counted}, {len(report) - len(accepted)} skipped")
    return 0


# -- feeds export -----------------------------------------------------------------------------


def config_opml(config: Config) -> bytes:
    """The configured feeds as OPML 2.0 (also the console's export)."""
    # A feed without a display name shows its id (OPML readers need some name).
    return export_opml(
        config.feeds,
        {f.id: f.name or f.id for f in config.feeds},
        topic_names={t.id: t.names.en for t in config.topics},
    )


def cmd_feeds_export(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _config_error(exc)
    data = config_opml(config)
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        return _error(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"exported {len(config.feeds)} feeds to {args.output}")
    return 0
