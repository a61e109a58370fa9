"""Settings for the webhook group robots: WeCom, DingTalk and Feishu.

Each platform has a section with its API root (a test server, a proxy or Lark's host can stand
in for the real one), and each robot is an entry of ``robots``. A robot's webhook key and signing
secret never sit in the file: the entry names the environment variables holding them, e.g.::

    robots:
      - id: ops
        platform: wecom
        key_env: NEWSBRIEF_WECOM_OPS_KEY
        topics: [ai, crypto]
        schedule: "daily 08:00,20:00"

DingTalk and Feishu robots may also require a keyword in every message: every part of a digest
carries the digest's title, so a keyword taken from it (``简报``, ``digest``) always matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from newsbrief.config.base import Section, check_http_url, check_id
from newsbrief.records import Language
from newsbrief.schedule import parse_schedule

WebhookPlatform = Literal["wecom", "dingtalk", "feishu"]
WEBHOOK_PLATFORMS: tuple[WebhookPlatform, ...] = ("wecom", "dingtalk", "feishu")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class WeComConfig(Section):
    api_base_url: str = "https://qyapi.weixin.qq.com"
    """Root of the group-robot API; messages go to ``/cgi-bin/webhook/send?key=KEY``."""
    corp_id: str = ""
    """The enterprise's CorpID: the receiver id inside the self-built app's callback messages."""
    callback_token: SecretStr | None = None
    """The app callback's Token (``NEWSBRIEF_WECOM__CALLBACK_TOKEN``); the callback is served at
    ``/wecom/callback`` when this is set."""
    callback_aes_key: SecretStr | None = None
    """The app callback's EncodingAESKey (``NEWSBRIEF_WECOM__CALLBACK_AES_KEY``)."""

    _url = field_validator("api_base_url")(check_http_url)


class WeChatConfig(Section):
    """A WeChat Official Account (pull only: a user sends a command, the reply is the answer)."""

    app_id: str = ""
    """The account's AppID: the receiver id inside encrypted messages."""
    token: SecretStr | None = None
    """The server Token (``NEWSBRIEF_WECHAT__TOKEN``); served at ``/wechat/callback`` when set."""
    aes_key: SecretStr | None = None
    """The EncodingAESKey (``NEWSBRIEF_WECHAT__AES_KEY``) for encrypted (safe) mode; plaintext
    mode without it."""


class ServerConfig(Section):
    """The inbound HTTP server for WeCom and WeChat callbacks."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class DingTalkConfig(Section):
    api_base_url: str = "https://oapi.dingtalk.com"
    """Root of the custom-robot API; messages go to ``/robot/send?access_token=TOKEN``."""

    _url = field_validator("api_base_url")(check_http_url)


class FeishuConfig(Section):
    api_base_url: str = "https://open.feishu.cn"
    """Root of the custom-bot API (Lark: ``https://open.larksuite.com``); messages go to
    ``/open-apis/bot/v2/hook/TOKEN``."""

    _url = field_validator("api_base_url")(check_http_url)


class RobotConfig(Section):
    """One group robot: a chat the digests of its topics are pushed to."""

    id: str
    """The robot's chat id in the outbox (``Delivery.chat_id``)."""
    platform: WebhookPlatform
    key_env: str
    """Environment variable holding the webhook key (WeCom ``key``, DingTalk ``access_token``,
    Feishu hook token)."""
    secret_env: str | None = None
    """Environment variable holding the signing secret, when the robot has signing on
    (DingTalk 加签 ``SEC…``, Feishu 签名校验)."""
    topics: tuple[str, ...] = ()
    schedule: str | None = None
    """When digests go out; ``subscriber_defaults.schedule`` when empty."""
    timezone: str | None = None
    """The schedule's timezone; ``subscriber_defaults.timezone`` when empty."""
    language: Language | None = None
    """The digest's language; ``subscriber_defaults.language`` when empty."""

    _id = field_validator("id")(check_id)
    _key_env = field_validator("key_env")(_check_env_name)

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        return value if value is None else _check_env_name(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            parse_schedule(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value


@dataclass(frozen=True, slots=True)
class RobotCredentials:
    """What a sender needs to reach one robot. ``repr`` shows no secret."""

    key: SecretStr
    secret: SecretStr | None = None


class MissingCredentials(ValueError):
    """A robot's environment variable is not set (names the variable, never a value)."""


def robot_credentials(
    robots: tuple[RobotConfig, ...], platform: str, environ: Mapping[str, str]
) -> dict[str, RobotCredentials]:
    """The credentials of every robot of ``platform``, read from the environment."""
    found: dict[str, RobotCredentials] = {}
    for robot in robots:
        if robot.platform != platform:
            continue
        key = environ.get(robot.key_env, "").strip()
        if not key:
            raise MissingCredentials(f"robot {robot.id}: {robot.key_env} is not set")
        secret: SecretStr | None = None
        if robot.secret_env:
            value = environ.get(robot.secret_env, "").strip()
            if not value:
                raise MissingCredentials(f"robot {robot.id}: {robot.secret_env} is not set")
            secret = SecretStr(value)
        found[robot.id] = RobotCredentials(SecretStr(key), secret)
    return found


def check_robot_ids(robots: tuple[RobotConfig, ...]) -> list[str]:
    """Problems a list of robots has as a whole: an id twice within a platform, or one webhook
    key under two ids (one robot would then get two rate budgets, and twice the messages)."""
    ids: set[tuple[str, str]] = set()
    keys: dict[tuple[str, str], str] = {}
    problems = []
    for robot in robots:
        if (robot.platform, robot.id) in ids:
            problems.append(f"robot {robot.id}: listed twice for {robot.platform}")
        ids.add((robot.platform, robot.id))
        other = keys.setdefault((robot.platform, robot.key_env), robot.id)
        if other != robot.id:
            problems.append(f"robot {robot.id}: same key_env {robot.key_env} as robot {other}")
    return problems
