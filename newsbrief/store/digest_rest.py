"""What group robots' digests left out, for the link in their footers (``/d/<token>``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from newsbrief.store.tables import DigestRestRow

KEEP = timedelta(days=7)
"""How long a link works: a digest older than a week is not news any more."""
MAX_STORIES = 100
"""Most stories behind one link (the best of what was left out)."""
PATH = "/d/"


@dataclass(frozen=True, slots=True)
class Rest:
    lang: str
    story_ids: tuple[int, ...]
    created_at: datetime


def new_token() -> str:
    """Unguessable: the link is the only thing that lets anyone read it."""
    return secrets.token_urlsafe(16)


def url_of(public_url: str, token: str) -> str:
    return f"{public_url}{PATH}{token}"


def row(
    token: str, subscriber_id: int, lang: str, ids: Sequence[int], now: datetime
) -> dict[str, Any]:
    return {
        "token": token,
        "subscriber_id": subscriber_id,
        "lang": lang,
        "story_ids": [int(i) for i in ids[:MAX_STORIES]],
        "created_at": now,
    }


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(DigestRestRow), list(rows))


def find(session: Session, token: str, now: datetime) -> Rest | None:
    """The page behind ``token``; None when there is none or it is older than ``KEEP``."""
    if not token or len(token) > 32:
        return None
    found = session.execute(
        select(DigestRestRow.lang, DigestRestRow.story_ids, DigestRestRow.created_at).where(
            DigestRestRow.token == token
        )
    ).first()
    if found is None or found.created_at < now - KEEP:
        return None
    return Rest(found.lang, tuple(int(i) for i in found.story_ids), found.created_at)


def prune(session: Session, now: datetime) -> int:
    """Delete the pages whose links no longer work; returns how many."""
    result = session.execute(delete(DigestRestRow).where(DigestRestRow.created_at < now - KEEP))
    return int(getattr(result, "rowcount", 0) or 0)
