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

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from newsbrief.config.base import Section, check_http_url, check_id
from newsbrief.records import Language
from newsbrief.time_phrases import parse_schedule_phrase

WebhookPlatform = Literal["wecom", "dingtalk", "feishu"]
WEBHOOK_PLATFORMS: tuple[WebhookPlatform, ...] = ("wecom", "dingtalk", "feishu")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


def _check_aes_key(name: str, key: SecretStr) -> None:
    """An EncodingAESKey is 43 base64 characters (32 bytes once ``=`` is added); the platforms
    generate it, so anything else is a copy-paste slip. The message never holds the key."""
    value = key.get_secret_value()
    try:
        decoded = base64.b64decode(value + "=", validate=True) if len(value) == 43 else b""
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ValueError(
            f"{name} must be the 43-character EncodingAESKey (it has {len(value)} characters"
            f"{'' if len(value) != 43 else ' that are not base64'})"
        )


def _check_secret_set(name: str, value: SecretStr | None) -> None:
    if value is not None and not value.get_secret_value().strip():
        raise ValueError(f"{name} is set but empty")


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

    @model_validator(mode="after")
    def _callback(self) -> WeComConfig:
        """The callback needs its token, key and corp id together: one alone is a mistake the
        admin hears of from ``config check``, not from a server that fails at start."""
        token, key = self.callback_token, self.callback_aes_key
        _check_secret_set("NEWSBRIEF_WECOM__CALLBACK_TOKEN", token)
        if token is None and key is None:
            return self
        missing = [
            name
            for name, absent in (
                ("wecom.corp_id", not self.corp_id.strip()),
                ("NEWSBRIEF_WECOM__CALLBACK_TOKEN", token is None),
                ("NEWSBRIEF_WECOM__CALLBACK_AES_KEY", key is None),
            )
            if absent
        ]
        if missing:
            raise ValueError(
                "the WeCom app callback needs wecom.corp_id, NEWSBRIEF_WECOM__CALLBACK_TOKEN "
                f"and NEWSBRIEF_WECOM__CALLBACK_AES_KEY together; missing: {', '.join(missing)}"
            )
        assert key is not None
        _check_aes_key("NEWSBRIEF_WECOM__CALLBACK_AES_KEY", key)
        return self


class WeChatConfig(Section):
    """A WeChat Official Account (pull only: a user sends a command, the reply is the answer)."""

    app_id: str = ""
    """The account's AppID: the receiver id inside encrypted messages."""
    token: SecretStr | None = None
    """The server Token (``NEWSBRIEF_WECHAT__TOKEN``); served at ``/wechat/callback`` when set."""
    aes_key: SecretStr | None = None
    """The EncodingAESKey (``NEWSBRIEF_WECHAT__AES_KEY``) for encrypted (safe) mode; plaintext
    mode without it."""

    @model_validator(mode="after")
    def _callback(self) -> WeChatConfig:
        """Safe mode needs the token and the AppID besides the key (the AppID is the receiver
        inside every encrypted message)."""
        _check_secret_set("NEWSBRIEF_WECHAT__TOKEN", self.token)
        if self.aes_key is None:
            return self
        missing = [
            name
            for name, absent in (
                ("wechat.app_id", not self.app_id.strip()),
                ("NEWSBRIEF_WECHAT__TOKEN", self.token is None),
            )
            if absent
        ]
        if missing:
            raise ValueError(
                "the Official Account's safe mode (NEWSBRIEF_WECHAT__AES_KEY) needs "
                f"wechat.app_id and NEWSBRIEF_WECHAT__TOKEN; missing: {', '.join(missing)}"
            )
        _check_aes_key("NEWSBRIEF_WECHAT__AES_KEY", self.aes_key)
        return self


class ServerConfig(Section):
    """Each ``run`` process's HTTP server: health, metrics, WeCom/WeChat callbacks and the
    Telegram webhook. Several processes on one host need a port each."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    """Where people reach this server from outside (``https://news.example.com``, the HTTPS
    proxy in front of it). Set, a group robot's digest that leaves stories out links to them
    (``/d/<token>``, served by ``callbacks`` and ``web`` processes); unset, they are counted."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        return check_http_url(url).rstrip("/") if url is not None else None


class AdminConfig(Section):
    """The admin console under ``/admin/`` (served by ``run`` processes with the ``callbacks``
    or ``web`` role)."""

    token: SecretStr | None = Field(default=None, repr=False)
    """From ``NEWSBRIEF_ADMIN__TOKEN``: the console's sign-in token. None: the console is off."""
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    """How long a console sign-in lasts."""

    @field_validator("token")
    @classmethod
    def _token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value().strip()) < 16:
            raise ValueError(
                "NEWSBRIEF_ADMIN__TOKEN must have at least 16 characters "
                "(e.g. the output of `python3 -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )
        return token


class DingTalkConfig(Section):
    api_base_url: str = "https://oapi.dingtalk.com"
    """Root of the custom-robot API; messages go to ``/robot/send?access_token=TOKEN``."""

    _url = field_validator("api_base_url")(check_http_url)


class FeishuConfig(Section):
    api_base_url: str = "https://open.feishu.cn"
    """Root of the custom-bot API (Lark: ``https://open.larksuite.com``); messages go to
    ``/open-apis/bot/v2/hook/TOKEN``."""

    _url = field_validator("api_base_url")(check_http_url)


ROBOT_SCHEDULE = "daily 09:00"
"""A robot's schedule when the config gives none: a group shares one chat, so it gets a calm
daily digest unless the admin asks for more."""


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
    """When digests go out; ``ROBOT_SCHEDULE`` (daily 09:00) when empty."""
    min_interval: float = Field(default=5, ge=0, le=24 * 60)
    """Minutes at least between two digests: an ``instant`` robot's news in between is merged
    into one post, so a busy hour is a few posts, not one per story."""
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

    @model_validator(mode="after")
    def _signing(self) -> RobotConfig:
        # A WeCom group robot has no signing: a secret there would be silently ignored.
        if self.secret_env is not None and self.platform == "wecom":
            raise ValueError(
                f"robot {self.id}: WeCom group robots do not sign messages; secret_env is for "
                "dingtalk and feishu robots"
            )
        if self.secret_env is not None and self.secret_env == self.key_env:
            raise ValueError(f"robot {self.id}: secret_env and key_env name the same variable")
        return self

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        # A phrase (每天 9点) is kept in its canonical form (daily 09:00).
        return None if value is None else str(parse_schedule_phrase(value))

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
    """The credentials of every robot of ``platform``, read from the environment; the key
    variable may hold the whole webhook URL (see ``read_robot_key``)."""
    found: dict[str, RobotCredentials] = {}
    for robot in robots:
        if robot.platform != platform:
            continue
        raw = environ.get(robot.key_env, "")
        if not raw.strip():
            raise MissingCredentials(f"robot {robot.id}: {robot.key_env} is not set")
        key, problem = read_robot_key(robot.platform, raw)
        if not key:
            raise MissingCredentials(f"robot {robot.id}: {robot.key_env} {problem}")
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


# -- webhook keys as admins paste them -------------------------------------------------------
#
# Each platform shows the robot as a whole URL, and that is what gets copied; the key is the
# part after ``key=`` (WeCom), ``access_token=`` (DingTalk) or ``/hook/`` (Feishu, Lark). The
# shapes below are those of the keys the platforms issue (WeCom and Feishu: UUIDs; DingTalk: 64
# hex digits, accepted from 32 on since its docs do not fix the length). They are enforced only
# against the platforms' own API hosts: a test server or a relay set as ``api_base_url`` may
# issue keys of any shape.

PLATFORM_NAMES: dict[str, str] = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu"}
OFFICIAL_HOSTS: dict[str, tuple[str, ...]] = {
    "wecom": ("qyapi.weixin.qq.com",),
    "dingtalk": ("oapi.dingtalk.com",),
    "feishu": ("open.feishu.cn", "open.larksuite.com"),
}
_URL_FORMS = {
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY",
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=TOKEN",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN",
}
_QUERY_KEY = {"wecom": "key", "dingtalk": "access_token"}
_FEISHU_HOOK = re.compile(r"/hook/([^/?#]+)")
_UUID = re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}", re.I)
_LONG_HEX = re.compile(r"[0-9a-f]{32,128}", re.I)
_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "wecom": (_UUID, "a UUID of 8-4-4-4-12 characters"),
    "dingtalk": (_LONG_HEX, "an access_token of 64 hexadecimal digits"),
    "feishu": (_UUID, "a UUID of 8-4-4-4-12 characters"),
}
# What may sit in a key at all, whoever issued it: URL-safe characters.
_KEY_CHARS = re.compile(r"[A-Za-z0-9._~-]+")
_QUOTES = "'\"“”‘’「」<>`"


def read_robot_key(
    platform: str, raw: str, api_base_url: str | None = None
) -> tuple[str | None, str | None]:
    """``(key, problem)`` of what a robot's key variable holds: a bare key, or the webhook URL
    the platform shows, with whitespace, newlines or quotes around it.

    ``key`` is None when none can be taken out (a URL of another platform, a URL without its
    key); ``problem`` then says why, and otherwise whether the key cannot be right. Without
    ``api_base_url`` only the key is taken out; with it, a URL must be of the platform's hosts
    or of that API root, and when it is the platform's own the key must have its shape.
    A problem never quotes the value: it reads after the variable's name ("NB_KEY holds …").
    """
    name = PLATFORM_NAMES.get(platform, platform)
    value = raw.strip().strip(_QUOTES).strip()
    if not value:
        return None, "is empty"
    key = value
    if re.search(r"[/?=&]", value):
        found, problem = _key_in_url(platform, value, api_base_url)
        if found is None:
            return None, problem
        key = found
    if not _KEY_CHARS.fullmatch(key):
        return key, (
            f"has characters no {name} key has (a space, a line break or punctuation inside "
            f"it?); paste the key or the whole URL ({_URL_FORMS[platform]})"
        )
    shape, described = _SHAPES[platform]
    official = _host(api_base_url or "") in OFFICIAL_HOSTS.get(platform, ())
    if official and not shape.fullmatch(key):
        other = next(
            (
                PLATFORM_NAMES[p]
                for p, (s, _) in _SHAPES.items()
                if s is not shape and s.fullmatch(key)
            ),
            None,
        )
        like = f"; it looks like a {other} key" if other else ""
        return key, (
            f"does not hold a {name} webhook key ({described}, or the whole URL "
            f"{_URL_FORMS[platform]}): it has {len(key)} characters{like}"
        )
    return key, None


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _key_in_url(
    platform: str, value: str, api_base_url: str | None
) -> tuple[str | None, str | None]:
    name = PLATFORM_NAMES.get(platform, platform)
    if value.startswith("?") or ("://" not in value and "/" not in value):
        parts = urlsplit("?" + value.lstrip("?"))  # just the query: key=… or access_token=…
    else:
        try:
            parts = urlsplit(value if "://" in value else f"https://{value}")
            host = (parts.hostname or "").lower().rstrip(".")
        except ValueError:
            return None, f"holds something like a URL that cannot be read as one ({name})"
        allowed = {*OFFICIAL_HOSTS.get(platform, ()), _host(api_base_url or "")} - {""}
        if api_base_url is not None and host not in allowed:
            owner = next((p for p, hosts in OFFICIAL_HOSTS.items() if host in hosts), None)
            if owner is not None:
                return None, (
                    f"holds a {PLATFORM_NAMES[owner]} webhook URL, but the robot is a {name} "
                    f"robot (platform: {platform}); paste the URL {name} shows for it"
                )
            return None, (
                f"holds a URL of {host or 'no host'}, not {name}'s webhook ({_URL_FORMS[platform]})"
            )
    if platform == "feishu":
        found = _FEISHU_HOOK.search(parts.path)
        key = unquote(found.group(1)) if found else None
    else:
        values = [v for k, v in parse_qsl(parts.query) if k == _QUERY_KEY[platform]]
        key = values[0].strip() if values else None
    if not key:
        return None, f"holds a {name} URL without the key in it ({_URL_FORMS[platform]})"
    return key, None


def check_robot_keys(
    robots: tuple[RobotConfig, ...],
    environ: Mapping[str, str],
    api_base_urls: Mapping[str, str],
) -> list[tuple[int, str]]:
    """``(index, problem)`` for every robot whose key variable holds a key that cannot be
    right. An unset variable is not a problem here: ``config check`` may run where the secrets
    are not (the runtime refuses to start without them)."""
    problems: list[tuple[int, str]] = []
    for i, robot in enumerate(robots):
        raw = environ.get(robot.key_env)
        if raw is None or not raw.strip():
            continue
        _, problem = read_robot_key(robot.platform, raw, api_base_urls.get(robot.platform))
        if problem:
            problems.append((i, f"robot {robot.id}: {robot.key_env} {problem}"))
    return problems
