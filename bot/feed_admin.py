"""Feed edits shared by the chat commands (/addfeed, /rmfeed) and the console's Feeds page.

    add:    writable? -> find the feed (discovery) -> plan it against the config and the feeds
            the database remembers -> append it to ``feeds:`` -> put the config in force
    remove: delete its lines from ``feeds:`` -> put the config in force

The YAML edits keep every comment and are validated, undone when invalid
(``newsbrief.config.edit``). Failures raise: ``FeedRefused`` (not a feed, a duplicate, no
config file), ``ConfigEditError`` (the file cannot be edited) or ``ConfigError`` (the config
would be invalid); nothing is written then. Callers word the reasons for their channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from newsbrief.config.base import check_http_url
from newsbrief.config.edit import add_feeds, ensure_writable, plan_additions, remove_feed
from newsbrief.feeds.discovery import DiscoveryError, discover_feed
from newsbrief.store.feed_history import remembered_in

if TYPE_CHECKING:
    from bot.commands.core import CommandCore


class FeedRefused(Exception):
    """An edit not made, for a reason of the feed's own: ``kind`` is ``not_a_feed`` (a bad
    URL, nothing found there, an address refused), ``duplicate`` or ``no_config``; the
    message (English, from the checks) says more."""

    def __init__(self, kind: Literal["not_a_feed", "duplicate", "no_config"], reason: str):
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class AddedFeed:
    id: str
    title: str
    """The title the feed gives itself."""
    url: str
    """The feed's URL (a site's page leads to it)."""
    passed_over: str | None = None
    """The id the feed would have had but a removed feed holds."""


async def add_feed(
    core: CommandCore, url: str, topics: Sequence[str] = (), *, name: str | None = None
) -> AddedFeed:
    """Find the feed at ``url`` (a feed or a site's page) and add it with ``topics`` (ids)
    and an optional display ``name``; the running process applies it at once."""
    if core.config_file is None or core.fetcher is None:
        raise FeedRefused("no_config", "the process was not started from a config file")
    ensure_writable(core.config_file)  # before looking for the feed, not after
    try:
        check_http_url(url)
        feed = await discover_feed(core.fetcher, url)
    except (ValueError, DiscoveryError) as exc:
        raise FeedRefused("not_a_feed", str(exc)) from None
    # The id comes from the feed's title, and never is a removed feed's (feed_ids, edit).
    entry: dict[str, Any] = {"url": feed.url, "topics": list(topics), "title": feed.title}
    if name:
        entry["name"] = name
    existing = [(f.id, f.url) for f in core.config().feeds]
    retired = await asyncio.to_thread(remembered_in, core.db)
    (plan,) = plan_additions(existing, [entry], retired=retired)
    if plan.duplicate is not None:
        raise FeedRefused("duplicate", plan.duplicate)
    added = await asyncio.to_thread(add_feeds, core.config_file, [plan.entry])
    await applied(core)
    return AddedFeed(added[0] if added else plan.id, feed.title, feed.url, plan.passed_over)


async def remove(core: CommandCore, feed_id: str) -> bool:
    """Take ``feed_id`` out of the config (its entries and stories stay in the database);
    False when the config has no such feed."""
    if core.config_file is None:
        raise FeedRefused("no_config", "the process was not started from a config file")
    if not await asyncio.to_thread(remove_feed, core.config_file, feed_id):
        return False
    # The feeds table follows the config: the feed is disabled there, its entries stay.
    await applied(core)
    return True


async def applied(core: CommandCore) -> None:
    """Put an edited config in force in this process (the others notice the file change)."""
    if core.on_config_change is not None:
        await core.on_config_change()
