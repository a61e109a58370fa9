"""The console's robots page: each configured robot with its state, the platform's pause
reason and since when, its messages; Telegram as a channel; never a key."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newsbrief.records import Message
from newsbrief.store import channels, outbox, subscribers
from newsbrief.store.db import Database
from tests.console_site import Site, shoot, wait_until

NOW = datetime(2026, 12, 16, 10, 30, tzinfo=UTC)
KEY = "0b9f2c1e-5d4a-4e8b-9c3f-7a6d5e4b3c2a"
ROBOTS = """
robots:
  - id: team  # the team's WeCom group
    platform: wecom
    key_env: NB_CONSOLE_WECOM_KEY
    topics: [ai]
  - id: ops
    platform: dingtalk
    key_env: NB_CONSOLE_DINGTALK_KEY
    topics: [crypto]
    schedule: hourly
"""


def _robot(db: Database, platform: str, chat: str) -> int:
    with db.session() as s:
        found, _ = subscribers.ensure(
            s,
            platform,
            chat,
            None,
            lang="zh-Hans",
            timezone="UTC",
            schedule="instant",
            now=NOW,
            backlog=timedelta(0),
        )
        return found.id


def test_a_paused_robot_has_its_reason_and_since_and_its_messages(db: Database) -> None:
    team, ops = _robot(db, "wecom", "team"), _robot(db, "dingtalk", "ops")
    with db.session() as s:
        for i in range(3):
            outbox.enqueue_to(
                s, "wecom", "team", f"d{i}", [Message(text="x")], NOW, subscriber_id=team
            )
        outbox.enqueue_to(s, "dingtalk", "ops", "sent", [Message(text="y")], NOW, subscriber_id=ops)
        outbox.enqueue_to(s, "telegram", "42", "reply", [Message(text="z")], NOW)
    with db.session() as s:
        sent = next(d for d in outbox.listing(s) if d.platform == "dingtalk").id
        outbox.mark_sent(s, sent, "1", NOW + timedelta(seconds=3))
        # What the deliverer does when WeCom refuses the robot for good.
        reason = "WeCom error 93000: invalid webhook url"
        subscribers.pause_chat(s, "wecom", "team", reason)
        outbox.pause_chat(s, "wecom", "team", reason, NOW + timedelta(minutes=1))
    with db.session() as s:
        found = channels.channel_health(
            s, [("wecom", "team"), ("dingtalk", "ops"), ("feishu", "new")], NOW + timedelta(hours=1)
        )
    team_state = found.robots[("wecom", "team")]
    assert (team_state.paused, team_state.reason, team_state.since) == (
        True,
        reason,
        NOW + timedelta(minutes=1),
    )
    assert team_state.outbox == channels.Outbox(paused=3)
    ops_state = found.robots[("dingtalk", "ops")]
    assert (ops_state.known, ops_state.paused, ops_state.since) == (True, False, None)
    assert ops_state.outbox == channels.Outbox(sent_24h=1, last_sent_at=NOW + timedelta(seconds=3))
    assert found.robots[("feishu", "new")].known is False
    assert found.telegram == channels.Outbox(waiting=1)
    with db.session() as s:  # paused again, for another reason: since is that pause's
        subscribers.resume(s, team)
        subscribers.pause(s, team, "removed from the config")
    with db.session() as s:
        again = channels.robot_states(s, [("wecom", "team")], NOW)[("wecom", "team")]
    assert (again.reason, again.since) == ("removed from the config", None)


@pytest.fixture
def robot_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """One robot's key in the environment of the instance (set before it starts)."""
    monkeypatch.setenv("NB_CONSOLE_WECOM_KEY", KEY)
    monkeypatch.delenv("NB_CONSOLE_DINGTALK_KEY", raising=False)


def _pause_team(site: Site) -> None:
    """The WeCom robot refused by its platform, as the deliverer records it."""
    db = Database(site.database_url)
    try:
        with db.session(write_lock=True) as s:
            reason = "WeCom error 93000: invalid webhook url"
            subscribers.pause_chat(s, "wecom", "team", reason)
            outbox.pause_chat(s, "wecom", "team", reason, datetime.now(UTC) - timedelta(minutes=5))
    finally:
        db.dispose()


def test_the_robots_page_lists_the_configured_robots(
    robot_keys: None, console: Any, site: Site
) -> None:
    console.goto(site.url("/robots"))
    assert console.locator("#robots-none").is_visible()
    telegram = console.locator("#channel-telegram").inner_text()
    assert "未设置（TELEGRAM_BOT_TOKEN）" in telegram and "长轮询" in telegram
    # Robots added to the config are picked up by the running instance.
    with site.config.open("a", encoding="utf-8") as config:
        config.write(ROBOTS)
    wait_until(
        lambda: "config reloaded" in site.log_text(), timeout=20, what="the config to reload"
    )
    _pause_team(site)
    started = time.monotonic()
    console.goto(site.url("/robots"))
    assert time.monotonic() - started < 2
    team = console.locator("#robot-wecom-team").inner_text()
    assert "已暂停" in team and "WeCom error 93000: invalid webhook url" in team
    assert "5 分钟前" in team and "自 " in team
    assert "daily 09:00" in team and "ai" in team and "已设置" in team
    ops = console.locator("#robot-dingtalk-ops").inner_text()
    assert "正常" in ops and "hourly" in ops and "未设置（NB_CONSOLE_DINGTALK_KEY）" in ops
    assert KEY not in console.content()
    shoot(console, "robots")
    console.goto(site.url("/robots?lang=en"))
    team = console.locator("#robot-wecom-team").inner_text()
    assert "paused" in team and "since" in team and "5 min ago" in team
