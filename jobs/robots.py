"""Group robots (WeCom, DingTalk, Feishu) from the config: their senders and their subscribers.

A robot is a subscriber like any other (platform, chat id = robot id) whose topics, schedule
and language come from ``robots`` in the config instead of chat commands; the compose and
deliver ticks then treat it like a Telegram chat.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.robots.senders import SENDERS
from bot.senders import Sender
from newsbrief.config.channels import ROBOT_SCHEDULE, WEBHOOK_PLATFORMS, robot_credentials
from newsbrief.config.settings import Config
from newsbrief.store import subscribers
from newsbrief.store.db import Database

log = logging.getLogger(__name__)

REMOVED = "removed from the config"


def robot_senders(config: Config, environ: Mapping[str, str] = os.environ) -> dict[str, Sender]:
    """A sender per platform that has robots. Raises MissingCredentials naming the variable."""
    senders: dict[str, Sender] = {}
    for platform in WEBHOOK_PLATFORMS:
        credentials = robot_credentials(config.robots, platform, environ)
        if credentials:
            base = getattr(config, platform).api_base_url
            senders[platform] = SENDERS[platform](base, credentials)
    return senders


def sync_robots(db: Database, config: Config, now: datetime) -> None:
    """Make the robots' subscribers follow the config: topics, schedule, language, timezone.

    A robot without a schedule gets the calm ``ROBOT_SCHEDULE``, not the subscribers' default
    (``instant``): a group is many readers in one chat. Its first digest still comes as soon as
    the backlog is processed, as one message (see ``jobs.compose``). A robot that left the
    config is paused (its queued messages wait), not deleted.
    """
    wanted: set[tuple[str, str]] = set()
    with db.session() as session:
        _sync(session, config, now, wanted)
        gone = subscribers.pause_all_but(session, WEBHOOK_PLATFORMS, wanted, REMOVED)
    if gone:
        log.info("robots no longer configured, paused: %s", gone)


def _sync(session: Any, config: Config, now: datetime, wanted: set[tuple[str, str]]) -> None:
    defaults = config.subscriber_defaults
    for robot in config.robots:
        wanted.add((robot.platform, robot.id))
        subscriber, _ = subscribers.ensure(
            session,
            robot.platform,
            robot.id,
            None,
            lang=robot.language or defaults.language,
            timezone=robot.timezone or defaults.timezone,
            schedule=robot.schedule or ROBOT_SCHEDULE,
            now=now,
            backlog=timedelta(hours=defaults.backlog_hours),
        )
        subscribers.update(
            session,
            subscriber.id,
            now,
            lang=robot.language or defaults.language,
            timezone=robot.timezone or defaults.timezone,
            schedule=robot.schedule or ROBOT_SCHEDULE,
        )
        have = set(subscriber.topics)
        subscribers.unsubscribe(session, subscriber.id, have - set(robot.topics))
        subscribers.subscribe(session, subscriber.id, robot.topics, now)
        # A robot paused by its platform (a removed key: WeCom 93000) is tried again after a
        # restart or a config change: fixing the key or the environment is how it comes back.
        subscribers.resume(session, subscriber.id)
