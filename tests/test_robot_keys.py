"""A robot's key variable may hold the whole webhook URL a platform shows; a key that cannot be
right is reported by ``config check`` with the robot and the variable, never the value."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.robots.senders import WebhookSender
from jobs.robots import robot_senders
from newsbrief.config.channels import (
    MissingCredentials,
    RobotConfig,
    read_robot_key,
    robot_credentials,
)
from newsbrief.config.settings import ConfigError, load_config
from newsbrief.records import Delivery, DeliveryStatus, Message, SendOutcome
from tests.servers.webhooks import WebhookServer

ROOT = Path(__file__).resolve().parent.parent
ENV = "NB_ROBOT_KEY"
OFFICIAL = {
    "wecom": "https://qyapi.weixin.qq.com",
    "dingtalk": "https://oapi.dingtalk.com",
    "feishu": "https://open.feishu.cn",
}


def new_key(platform: str, rng: random.Random) -> str:
    """A key of the shape the platform issues (WeCom/Feishu: UUID; DingTalk: 64 hex)."""
    if platform == "dingtalk":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    return str(uuid.UUID(int=rng.getrandbits(128)))


def pasted(platform: str, key: str, rng: random.Random) -> str:
    """The key as an admin might paste it: bare or as the URL, with clutter around it."""
    forms = {
        "wecom": [f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"],
        "dingtalk": [
            f"https://oapi.dingtalk.com/robot/send?access_token={key}",
            f"oapi.dingtalk.com/robot/send?access_token={key}&timestamp=1700000000000&sign=x",
        ],
        "feishu": [
            f"https://open.feishu.cn/open-apis/bot/v2/hook/{key}",
            f"https://open.larksuite.com/open-apis/bot/v2/hook/{key}",
        ],
    }[platform] + [key]
    value = rng.choice(forms)
    quote = rng.choice(["", '"', "'"])
    return (
        rng.choice(["", " ", "\t", "\n"]) + quote + value + quote + rng.choice(["", "\n", " \r\n"])
    )


def write_config(tmp_path: Path, platform: str, api_base_url: str | None = None) -> Path:
    section = f'{platform}: {{api_base_url: "{api_base_url}"}}\n' if api_base_url else ""
    path = tmp_path / "newsbrief.yaml"
    path.write_text(
        f"database_url: sqlite:///{tmp_path / 'nb.db'}\n{section}"
        f"robots:\n  - id: ops\n    platform: {platform}\n    key_env: {ENV}\n",
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    try:
        load_config(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu"])
def test_pasted_urls_and_bare_keys_give_the_key(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, platform)
    robot = RobotConfig(id="ops", platform=platform, key_env=ENV)
    rng = random.Random(f"keys-{platform}")
    for _ in range(60):
        key = new_key(platform, rng)
        value = pasted(platform, key, rng)
        monkeypatch.setenv(ENV, value)
        assert problems(path) == [], repr(value)
        credentials = robot_credentials((robot,), platform, {ENV: value})
        assert credentials["ops"].key.get_secret_value() == key


WECOM_KEY = "693a91f6-7a0c-4bc4-97a0-0ec2f1a5aaa1"
DINGTALK_TOKEN = "0f" * 32


@pytest.mark.parametrize(
    ("platform", "value", "expect"),
    [
        ("wecom", "not a key at all", "characters no WeCom key has"),
        (
            "wecom",
            f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}",
            "DingTalk webhook URL",
        ),
        ("wecom", DINGTALK_TOKEN, "looks like a DingTalk key"),
        ("wecom", WECOM_KEY[:-1], "35 characters"),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=", "without the key"),
        (
            "wecom",
            f"https://evil.example/cgi-bin/webhook/send?key={WECOM_KEY}",
            "URL of evil.example",
        ),
        (
            "dingtalk",
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
            "WeCom webhook URL",
        ),
        ("dingtalk", WECOM_KEY, "64 hexadecimal digits"),
        ("dingtalk", "SECabcdef0123456789abcdef0123456789", "does not hold a DingTalk webhook key"),
        (
            "feishu",
            f"https://open.feishu.cn/open-apis/bot/v2/hook/{WECOM_KEY}zz",
            "does not hold a Feishu",
        ),
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/", "without the key"),
        (
            "feishu",
            f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}",
            "DingTalk webhook URL",
        ),
        ("feishu", "飞书机器人", "characters no Feishu key has"),
    ],
)
def test_a_key_that_cannot_be_right_is_reported_without_its_value(
    platform: str, value: str, expect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, platform)
    monkeypatch.setenv(ENV, f"  {value}\n")
    (problem,) = problems(path)
    assert f"{path}:5: robot ops: {ENV} " in problem and expect in problem, problem
    # Neither the value nor the key inside it is ever shown (a URL without a key holds none).
    shown = [
        s
        for s in (WECOM_KEY[:-1], DINGTALK_TOKEN[:-1], "not a key", "飞书", "SECabcdef")
        if s in value
    ]
    assert shown or value.endswith(("=", "/"))
    assert not [s for s in shown if s in problem]


def test_config_check_names_robot_and_variable_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "wecom")
    value = f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}"
    monkeypatch.setenv(ENV, value)
    check = subprocess.run(
        [sys.executable, "-m", "jobs.main", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert check.returncode == 2, check
    assert f"robot ops: {ENV} holds a DingTalk webhook URL" in check.stdout + check.stderr
    assert DINGTALK_TOKEN not in check.stdout + check.stderr
    # Fixed by pasting the right URL: the check passes.
    monkeypatch.setenv(ENV, f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}")
    assert problems(path) == []


def test_shapes_are_not_enforced_against_a_stand_in_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test server or relay issues its own keys; another platform's URL is wrong anyway."""
    path = write_config(tmp_path, "wecom", "http://127.0.0.1:9")
    monkeypatch.setenv(ENV, "relay-key-1")
    assert problems(path) == []
    monkeypatch.setenv(ENV, "http://127.0.0.1:9/cgi-bin/webhook/send?key=relay-key-1")
    assert problems(path) == []
    monkeypatch.setenv(ENV, f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}")
    assert "DingTalk webhook URL" in problems(path)[0]
    assert read_robot_key("wecom", "  ", "http://127.0.0.1:9") == (None, "is empty")


def test_a_url_without_a_key_stops_the_runtime_with_the_variable_named() -> None:
    robot = RobotConfig(id="ops", platform="wecom", key_env=ENV)
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    with pytest.raises(MissingCredentials, match=f"robot ops: {ENV} holds a WeCom URL without"):
        robot_credentials((robot,), "wecom", {ENV: url})


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu"])
def test_a_pasted_url_reaches_the_robot_on_a_real_send(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key taken out of the pasted URL is what the (loopback) platform receives."""
    rng = random.Random(platform)
    key = new_key(platform, rng)
    url = {
        "wecom": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}",
        "dingtalk": f"https://oapi.dingtalk.com/robot/send?access_token={key}",
        "feishu": f"https://open.larksuite.com/open-apis/bot/v2/hook/{key}",
    }[platform]
    with WebhookServer(platform) as server:
        server.add_robot(key)
        path = write_config(tmp_path, platform, server.base_url)
        monkeypatch.setenv(ENV, f"\n  {url}  \n")
        config = load_config(path)
        sender = robot_senders(config)[platform]
        assert isinstance(sender, WebhookSender)
        delivery = Delivery(
            1, "k", 1, platform, "ops", None, Message("简报 digest: hello"), DeliveryStatus.PENDING
        )

        async def send() -> SendOutcome:
            try:
                return (await sender.send(delivery)).outcome
            finally:
                await sender.aclose()

        assert asyncio.run(send()) is SendOutcome.SENT
        (received,) = server.received(key)
        assert "hello" in str(received.payload)
