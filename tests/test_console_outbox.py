"""The console's outbox: messages not sent, by state and a page at a time; retrying a failed one
(CSRF-protected, logged)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from newsbrief.records import Message, Priority
from newsbrief.store import outbox
from newsbrief.store.db import Database
from tests.console_site import Site, shoot

NOW = datetime(2026, 12, 16, 10, 30, tzinfo=UTC)


def _queue(db: Database, n: int, now: datetime, *, fail: bool = False, key: str = "m") -> None:
    with db.session() as s:
        for i in range(n):
            outbox.enqueue_to(
                s,
                "telegram",
                str(1000 + i),
                f"{key}{i}",
                [Message(text=f"message {key}{i}")],
                now + timedelta(seconds=i),
                priority=Priority.REPLY if i % 2 else Priority.DIGEST,
            )
    if fail:
        with db.session() as s:
            for row in outbox.listing(s, "pending", limit=n):
                outbox.fail(s, row.id, f"Telegram said no to {row.key}")


def test_held_messages_are_counted_paged_and_a_failed_one_retried(db: Database) -> None:
    _queue(db, 5, NOW, fail=True, key="f")
    _queue(db, 3, NOW, key="p")
    with db.session() as s:
        assert outbox.held_counts(s) == {"failed": 5, "pending": 3}
        first = outbox.held_page(s, ["failed"], 0, 2)
        rest = outbox.held_page(s, ["failed"], 2, 10)
        mixed = outbox.held_page(s, ["failed", "pending"], 0, 50)
    assert [m.preview for m in first] == ["message f4", "message f3"]  # latest due first
    assert len(rest) == 3 and {m.id for m in first}.isdisjoint(m.id for m in rest)
    assert len(mixed) == 8
    assert first[0].last_error == "Telegram said no to f4:0"
    assert (first[0].attempts, first[0].reply) == (1, False)
    assert first[1].reply is True
    later = NOW + timedelta(hours=1)
    with db.session() as s:
        assert outbox.retry_failed(s, first[0].id, later) == "telegram"
        assert outbox.retry_failed(s, first[0].id, later) is None  # not failed any more
        pending = [m for m in outbox.held_page(s, ["pending"], 0, 50) if m.id == first[0].id]
        assert outbox.held_counts(s) == {"failed": 4, "pending": 4}
    assert (pending[0].due_at, pending[0].attempts) == (later, 0)
    with db.session() as s:  # the deliverer can take it again now
        claimed = outbox.claim(s, [first[0].id], later, timedelta(minutes=5))
    assert [d.id for d in claimed] == [first[0].id]


def test_the_outbox_page_filters_pages_and_retries(console: Any, site: Site) -> None:
    db = Database(site.database_url)
    try:
        now = datetime.now(UTC)
        _queue(db, 55, now - timedelta(hours=1), fail=True, key="f")
        with db.session(write_lock=True) as s:  # a chat that blocked the bot
            outbox.enqueue_to(s, "telegram", "777", "held", [Message(text="held")], now)
            outbox.pause_chat(s, "telegram", "777", "Forbidden: bot was blocked by the user", now)
    finally:
        db.dispose()
    started = time.monotonic()
    console.goto(site.url("/outbox?state=failed"))
    assert time.monotonic() - started < 2
    assert console.locator("#outbox-state").input_value() == "failed"
    assert console.locator("#outbox-table tbody tr").count() == 50
    assert "第 1 / 2 页" in console.locator(".pager").inner_text()
    shoot(console, "outbox")
    console.click("a[rel=next]")
    rows = console.locator("#outbox-table tbody tr")
    assert rows.count() == 5
    oldest = rows.first.get_attribute("id")
    assert oldest is not None
    message_id = oldest.removeprefix("message-")
    assert "Telegram said no to f4:0" in rows.first.inner_text()
    # The keyboard reaches the retry button: every field is labelled, no script needed.
    console.locator(f"#{oldest} button").focus()
    console.keyboard.press("Enter")
    console.wait_for_url(f"**/admin/outbox?done=outbox_retried&id={message_id}")
    assert console.locator(".notice").inner_text() == f"消息 {message_id} 已重新排队，马上发送。"
    assert f"console: outbox retry id={int(message_id)!r} platform='telegram'" in site.log_text()
    console.select_option("#outbox-state", "pending")
    console.click("form.filter button")
    assert console.locator(f"#message-{message_id}").is_visible()
    console.goto(site.url("/outbox?state=paused&lang=en"))
    paused = console.locator("#outbox-table tbody tr")
    assert paused.count() == 1
    assert "Forbidden: bot was blocked by the user" in paused.inner_text()
    assert paused.locator("button").count() == 0  # only failed messages are retried
    # A form without its CSRF token changes nothing.
    answer = console.request.post(site.url("/outbox/retry"), form={"id": message_id})
    assert answer.status == 403
