"""Telling the admins that a group robot's platform refused it (a wrong key, a removed robot,
a keyword the digest lacks): the deliverer pauses the robot, and this queues the one message
per admin that says why and what to do."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.admin_notices import robot_paused
from newsbrief.config.channels import WEBHOOK_PLATFORMS, read_robot_key
from newsbrief.config.settings import Config
from newsbrief.store import outbox, subscribers


def tell_admins_robot_paused(
    session: Any,  # a store session (sqlalchemy stays inside newsbrief.store)
    config: Config,
    platform: str,
    chat_id: str,
    error: str,
    now: datetime,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Queue a notice to every admin, each in their own language (their subscriber language,
    else the default), about the robot about to be paused; returns how many were queued.

    Call it before the pause is stored: a robot paused already (another process saw the same
    refusal, or it left the config) is not announced again, so each pause is told once however
    many messages were waiting for the robot."""
    if platform not in WEBHOOK_PLATFORMS or not config.admins:
        return 0
    robot = next((r for r in config.robots if (r.platform, r.id) == (platform, chat_id)), None)
    if robot is None:
        return 0  # no longer configured: sync_robots pauses it, nothing for an admin to fix
    found = subscribers.find(session, platform, chat_id, None)
    if found is not None and found.paused:
        return 0
    key, _ = read_robot_key(platform, environ.get(robot.key_env, ""))
    for admin in config.admins:
        own = subscribers.find(session, "telegram", str(admin), None)
        lang = own.lang if own is not None else config.subscriber_defaults.language
        outbox.enqueue_to(
            session,
            "telegram",
            str(admin),
            f"admin:robot-paused:{platform}:{chat_id}:{now:%Y%m%dT%H%M%S.%f}:{admin}",
            [robot_paused(config, lang, robot, error, key)],
            now,
        )
    return len(config.admins)
