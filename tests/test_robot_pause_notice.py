"""A robot its platform refuses (a wrong key: WeCom 93000) is paused, and every admin is told
once, in their own language, with the platform's reason and what to do, never the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.admin_notices import robot_pause_advice
from jobs.robots import sync_robots
from jobs.runtime import Runtime
from newsbrief.config.settings import Config
from newsbrief.records import Message
from newsbrief.store import outbox, subscribers
from tests.servers.botapi import BotApiServer
from tests.servers.webhooks import WebhookServer

ADMIN_EN, ADMIN_ZH = 5001, 5002
ENV = "NB_PAUSE_WECOM_KEY"
WRONG_KEY = "0e5c2b7a-3f4d-4c1e-9a8b-7d6c5b4a3f2e"
"""A key of the right shape that the (loopback) platform does not know: a deleted robot."""


def make_config(database_url: str, botapi: BotApiServer, wecom: WebhookServer) -> Config:
    return Config(
        database_url=database_url,
        telegram={
            "token": botapi.token,
            "api_base_url": f"http://127.0.0.1:{botapi.port}",
            "poll_timeout": 1,
        },
        scheduler={"deliver": 3600},
        subscriber_defaults={"language": "zh-Hans", "backlog_hours": 0},
        admins=[ADMIN_EN, ADMIN_ZH],
        wecom={"api_base_url": wecom.base_url},
        robots=[{"id": "ops", "platform": "wecom", "key_env": ENV, "schedule": "instant"}],
    )


async def test_a_paused_robot_is_told_to_each_admin_once_in_their_language(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pasted as the whole URL, as WeCom shows it: the notice masks the key inside it too.
    monkeypatch.setenv(ENV, f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WRONG_KEY}\n")
    with BotApiServer() as botapi, WebhookServer("wecom") as wecom:
        runtime = Runtime(make_config(database_url, botapi, wecom))
        runtime.start()
        try:
            now = runtime.ctx.clock()
            with runtime.db.session() as session:
                subscribers.ensure(
                    session,
                    "telegram",
                    str(ADMIN_EN),
                    None,
                    lang="en",
                    timezone="UTC",
                    schedule="instant",
                    now=now,
                    backlog=timedelta(0),
                )
                robot = subscribers.find(session, "wecom", "ops", None)
                assert robot is not None
                # Three parts waiting for the robot: one pause, so one notice.
                parts = [Message(f"简报 part {i}") for i in range(3)]
                outbox.enqueue_to(
                    session, "wecom", "ops", "test:digest", parts, now, subscriber_id=robot.id
                )
            await runtime.digest_once()
            await runtime.digest_once()

            assert wecom.codes(WRONG_KEY) == [93000]  # tried once, then paused
            with runtime.db.session() as session:
                paused = subscribers.find(session, "wecom", "ops", None)
            assert paused is not None and paused.paused
            (english,) = botapi.messages(ADMIN_EN)
            (chinese,) = botapi.messages(ADMIN_ZH)
            assert "Robot ops (WeCom) was refused by its platform and is paused" in english.text
            assert "93000" in english.text and "invalid webhook url" in english.text
            assert "The key is wrong or the robot was removed" in english.text
            assert ENV in english.text
            assert "群机器人 ops（WeCom）被平台拒绝，已暂停" in chinese.text
            assert "key 不对" in chinese.text and "93000" in chinese.text
            for message in (english, chinese):
                assert WRONG_KEY not in message.raw_text and WRONG_KEY[:8] not in message.text

            # Back after a restart or config change, still wrong: a new pause, a new notice.
            sync_robots(runtime.db, runtime.config, runtime.ctx.clock())
            await runtime.digest_once()
            assert wecom.codes(WRONG_KEY) == [93000, 93000]
            assert len(botapi.messages(ADMIN_EN)) == len(botapi.messages(ADMIN_ZH)) == 2
        finally:
            await runtime.aclose()


@pytest.mark.parametrize(
    ("platform", "error", "advice"),
    [
        (
            "wecom",
            "WeCom error 93000: invalid webhook url (the webhook key is wrong)",
            "robot_fix_key",
        ),
        ("wecom", "WeCom error 93004: robot is disabled", "robot_fix_enable"),
        ("dingtalk", "DingTalk error 310000: keywords not in content", "robot_fix_keyword"),
        ("dingtalk", "DingTalk error 310000: sign not match", "robot_fix_sign"),
        (
            "dingtalk",
            "DingTalk error 310000: invalid timestamp (security check failed: keyword, "
            "signature secret, clock or IP whitelist)",
            "robot_fix_sign",
        ),
        ("dingtalk", "DingTalk error 310000: something else (keyword, ip)", "robot_fix_security"),
        ("dingtalk", "DingTalk error 310000: ip 1.2.3.4 not in whitelist", "robot_fix_ip"),
        ("dingtalk", "DingTalk error 300005: token is not exist", "robot_fix_key"),
        ("dingtalk", "DingTalk error 400106: robot not in group", "robot_fix_member"),
        ("feishu", "Feishu error 19024: Key Words Not Found", "robot_fix_keyword"),
        ("feishu", "Feishu error 19021: sign match fail", "robot_fix_sign"),
        ("feishu", "Feishu: HTTP 404 from the API", "robot_fix_api"),
        ("feishu", "Feishu robot 'ops' is not configured", "robot_fix_config"),
        ("wecom", "WeCom error 12345: something new", "robot_fix_other"),
    ],
)
def test_each_reason_gets_its_own_advice(platform: str, error: str, advice: str) -> None:
    assert robot_pause_advice(platform, error) == advice
