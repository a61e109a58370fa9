"""What every tick needs: the database, the current config, the fetcher, the senders, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.senders import Sender
from newsbrief.fetcher import Fetcher
from newsbrief.settings import Config
from newsbrief.store.db import Database


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobContext:
    db: Database
    config: Config
    fetcher: Fetcher
    senders: dict[str, Sender] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
