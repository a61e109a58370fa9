"""The compose tick's bulk writes (``store.bulk``): executemany on SQLite, COPY into a staging
table on PostgreSQL. Both must write exactly what row-by-row statements would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select

from newsbrief.store import bulk
from newsbrief.store.db import Database
from newsbrief.store.tables import DeliveryRow, DigestCursorRow, SubscriberRow

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
DELIVERIES = cast(Table, DeliveryRow.__table__)
CURSORS = cast(Table, DigestCursorRow.__table__)


def delivery(key: str, subscriber: int, payload: dict[str, Any] | None, text: str = "") -> dict:
    return {
        "key": key,
        "subscriber_id": subscriber,
        "platform": "telegram",
        "chat_id": str(subscriber),
        "thread_id": 0,
        "text": text,
        "payload": payload,
        "parse_mode": "HTML" if payload else None,
        "disable_preview": True,
        "status": "pending",
        "attempts": 0,
        "due_at": NOW,
        "created_at": NOW - timedelta(seconds=subscriber),
    }


def add_subscribers(db: Database, count: int) -> None:
    with db.session() as session:
        session.execute(
            insert(SubscriberRow),
            [
                {
                    "id": i,
                    "platform": "telegram",
                    "chat_id": str(i),
                    "thread_id": 0,
                    "lang": "en",
                    "timezone": "UTC",
                    "schedule": "instant",
                    "paused": False,
                    "created_at": NOW,
                    "subscriptions": ["ai"],
                    "filters": {},
                }
                for i in range(1, count + 1)
            ],
        )
        session.execute(
            insert(DigestCursorRow),
            [
                {"subscriber_id": i, "position": 0, "next_due_at": NOW, "digests_sent": 0}
                for i in range(1, count + 1)
            ],
        )


def test_inserts_keep_order_values_and_skip_existing_keys(db: Database) -> None:
    add_subscribers(db, 3)
    with db.session() as session:
        bulk.insert_ignoring(session, DELIVERIES, [delivery("a:0", 1, None, "old")], "key")
    # Many rows: a later part must get a later id, as the sender goes by id within a chat.
    rows = [
        delivery(f"d:{i}", 1 + i % 3, {"lang": "zh", "blocks": [f"story:{i}", "“引号”&<"]})
        for i in range(300)
    ]
    rows += [delivery("a:0", 2, None, "new"), delivery("d:7", 3, None, "repeat in the batch")]
    rows.append(delivery("plain", 3, None, "tab\there, newline\nand back\\slash"))
    with db.session() as session:
        bulk.insert_ignoring(session, DELIVERIES, rows, "key")
    with db.session() as session:
        got = session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)).all()
    assert [r.key for r in got] == ["a:0", *(f"d:{i}" for i in range(300)), "plain"]
    assert got[0].text == "old" and got[0].subscriber_id == 1
    seventh = got[8]
    assert seventh.payload == {"lang": "zh", "blocks": ["story:7", "“引号”&<"]}
    assert (seventh.subscriber_id, seventh.chat_id, seventh.parse_mode) == (2, "2", "HTML")
    assert seventh.created_at == NOW - timedelta(seconds=2) and seventh.due_at == NOW
    assert seventh.disable_preview is True and seventh.attempts == 0
    assert got[-1].text == "tab\there, newline\nand back\\slash" and got[-1].payload is None


def test_updates_change_only_the_keyed_rows_and_the_later_row_wins(db: Database) -> None:
    add_subscribers(db, 1200)
    overflow = {"after": 3, "upto": 9, "shown": [101, 102]}
    first = [
        {"subscriber_id": i, "position": i, "overflow": overflow, "next_due_at": NOW}
        for i in range(1, 1001)
    ]
    first.append({"subscriber_id": 5, "position": 55, "overflow": None, "next_due_at": None})
    with db.session() as session:
        bulk.update_by(session, CURSORS, first, "subscriber_id")
    # Again on the same connection: the staging table starts empty in every transaction.
    second = [{"subscriber_id": 7, "position": 70, "overflow": None, "next_due_at": NOW}]
    with db.session() as session:
        bulk.update_by(session, CURSORS, second, "subscriber_id")
    with pytest.raises(RuntimeError), db.session() as session:
        bulk.update_by(session, CURSORS, [{**second[0], "position": 99}], "subscriber_id")
        raise RuntimeError("rolled back")
    with db.session() as session:
        rows = {r.subscriber_id: r for r in session.scalars(select(DigestCursorRow))}
    assert (rows[1].position, rows[1].overflow, rows[1].next_due_at) == (1, overflow, NOW)
    assert (rows[5].position, rows[5].overflow, rows[5].next_due_at) == (55, None, None)
    assert (rows[7].position, rows[7].overflow) == (70, None)
    assert rows[1000].position == 1000
    assert all(rows[i].position == 0 and rows[i].overflow is None for i in range(1001, 1201))
