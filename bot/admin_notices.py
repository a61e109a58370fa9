"""Messages to the admins about the bot itself: a feed it gave up on, a robot its platform
refused."""

from __future__ import annotations

import re

from bot.i18n import t
from bot.telegram.render import esc
from newsbrief.config.channels import PLATFORM_NAMES, RobotConfig
from newsbrief.config.secrets import redactors
from newsbrief.config.settings import Config
from newsbrief.records import Message
from newsbrief.redaction import Redactor


def feed_disabled(config: Config, feed_id: str, url: str, reason: str) -> Message:
    lang = config.subscriber_defaults.language
    # A feed URL may carry credentials (user:password@, ?token=): masked like a log line.
    mask = redactors(config)[0]
    return Message(
        t("feed_disabled", lang, feed=esc(feed_id), reason=esc(mask(reason)), url=esc(mask(url)))
    )


# Which i18n advice fits a robot's pause, from the platform's code (bot.robots.senders writes
# "<Platform> error <code>: <message> (<meaning>)") or the HTTP status it answered with.
_ADVICE_BY_CODE: dict[str, dict[int, str]] = {
    "wecom": {
        93000: "robot_fix_key",
        93004: "robot_fix_enable",
        93008: "robot_fix_member",
    },
    "dingtalk": {
        300001: "robot_fix_key",
        300005: "robot_fix_key",
        400101: "robot_fix_key",
        400102: "robot_fix_enable",
        400013: "robot_fix_member",
        400106: "robot_fix_member",
    },
    "feishu": {
        19001: "robot_fix_key",
        19021: "robot_fix_sign",
        19022: "robot_fix_ip",
        19024: "robot_fix_keyword",
    },
}
# DingTalk answers 310000 for four different security checks; its message tells them apart.
_DINGTALK_SECURITY = (
    ("keyword", "robot_fix_keyword"),
    ("sign", "robot_fix_sign"),
    ("timestamp", "robot_fix_sign"),
    ("whitelist", "robot_fix_ip"),
    (" ip ", "robot_fix_ip"),
)
_CODE = re.compile(r"\berror (-?\d+):")
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


def robot_pause_advice(platform: str, error: str) -> str:
    """The catalogue key of what an admin should do about a robot paused with ``error``."""
    if "is not configured" in error:
        return "robot_fix_config"
    if code := _CODE.search(error):
        number = int(code.group(1))
        if platform == "dingtalk" and number == 310000:
            # The platform's words only, not the meaning the sender appends in parentheses.
            said = re.sub(r"\s*\([^()]*\)\s*$", "", error[code.end() :])
            lowered = f" {said.lower()} "
            return next(
                (key for word, key in _DINGTALK_SECURITY if word in lowered), "robot_fix_security"
            )
        return _ADVICE_BY_CODE.get(platform, {}).get(number, "robot_fix_other")
    if _HTTP.search(error):
        return "robot_fix_api"
    return "robot_fix_other"


def robot_paused(
    config: Config, lang: str, robot: RobotConfig, error: str, key: str | None = None
) -> Message:
    """Tell an admin that ``robot``'s platform refused it for good: the platform's reason (its
    code and message, with no key or secret in it) and what to do about it."""
    mask = redactors(config)[0]
    # The variable may hold a whole URL (the value the redactor knows): mask the key alone too.
    reason = mask(Redactor([key])(error) if key else error)
    platform = PLATFORM_NAMES.get(robot.platform, robot.platform)
    values = {
        "robot": esc(robot.id),
        "platform": platform,
        "env": esc(robot.key_env),
        "secret_env": esc(robot.secret_env or "secret_env"),
        "section": robot.platform,
    }
    advice = t(robot_pause_advice(robot.platform, error), lang, **values)
    return Message(t("robot_paused", lang, reason=esc(reason[:300]), advice=advice, **values))
