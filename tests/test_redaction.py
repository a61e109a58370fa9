"""The redactor and the log filter: secrets masked in every form, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from newsbrief import logs
from newsbrief.config.secrets import config_secrets, environment_secrets
from newsbrief.config.settings import Config
from newsbrief.redaction import MASK, Redactor

TOKEN = "987654:SECRET-token-value"


@given(
    secret=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=8,
        max_size=40,
    ).filter(lambda s: s.strip() == s),
    before=st.text(alphabet="abc /?=&:", max_size=20),
    after=st.text(alphabet="xyz /?=&:", max_size=20),
)
def test_every_form_of_a_secret_is_masked(secret: str, before: str, after: str) -> None:
    redact = Redactor([secret])
    for form in (
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    ):
        masked = redact(before + form + after)
        assert form not in masked and secret not in masked


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("POST http://127.0.0.1:9/bot123456:AAE-x_y/getMe", "AAE-x_y"),
        ("GET https://api.telegram.org/file/bot42%3Asecretish/x", "secretish"),
        (
            "token 1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawa here",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawa",
        ),
        ("postgresql://user:hunter2@db:5432/x", "hunter2"),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1&sign=zz%2B",
            "abc123",
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1&sign=zz%2B",
            "zz%2B",
        ),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx", "693a91f6-7xxx"),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/d0c5-hook-id", "d0c5-hook-id"),
        ('{"Authorization": "Bearer sk-abcdef"}', "sk-abcdef"),
    ],
)
def test_credential_shapes_are_masked_without_knowing_the_value(text: str, gone: str) -> None:
    masked = Redactor()(text)
    assert gone not in masked and MASK in masked


def test_replies_keep_links_that_only_look_like_credentials() -> None:
    """Replies mask the config's values only: an article's ``?key=`` link stays whole."""
    link = "https://news.example/a?key=42&id=7"
    assert Redactor([TOKEN], shapes=False)(f"{link} {TOKEN}") == f"{link} {MASK}"


def test_short_values_are_not_masked_everywhere() -> None:
    assert Redactor(["ab"])("about tabs") == "about tabs"


WECOM_AES = "wecomaes5" + "A" * 34  # EncodingAESKeys are 43 base64 characters
WECHAT_AES = "wechataes7" + "B" * 33


def test_config_secrets_walks_every_secret_field(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("NEWSBRIEF_", "TELEGRAM_", "PG")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NB_T_KEY", "robot-key-1")
    monkeypatch.setenv("NB_T_SECRET", "SECrobot-secret-2")
    monkeypatch.setenv("NEWSBRIEF_ADMIN__TOKEN", "admin-token-3-long-enough")
    config = Config(
        database_url="postgresql://u:db%2Fpass@127.0.0.1/x",
        telegram={"token": TOKEN},
        wecom={"corp_id": "ww1", "callback_token": "wecom-token-4", "callback_aes_key": WECOM_AES},
        wechat={"app_id": "wx1", "token": "wechat-token-6", "aes_key": WECHAT_AES},
        robots=[
            {"id": "r", "platform": "dingtalk", "key_env": "NB_T_KEY", "secret_env": "NB_T_SECRET"}
        ],
    )
    found = set(config_secrets(config))
    assert {
        TOKEN,
        "robot-key-1",
        "SECrobot-secret-2",
        "admin-token-3-long-enough",
        "wecom-token-4",
        WECOM_AES,
        "wechat-token-6",
        WECHAT_AES,
        "db/pass",
    } <= found
    assert isinstance(config.telegram.token, SecretStr)
    assert "admin-token-3-long-enough" in environment_secrets()


def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.SecretFilter(Redactor([TOKEN])))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("failed for %s", TOKEN)
        logger.warning("stack", stack_info=True, extra={"x": TOKEN})
        logger.error("bad args %s %s", TOKEN)  # a format/argument mismatch is still masked
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "was rejected" in text and "Traceback" in text
    assert TOKEN not in text and "SECRET-token" not in text


def test_setup_logging_guards_every_handler_and_uncaught_exceptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    library = logging.getLogger("tests.some_library")
    own = logging.StreamHandler(io.StringIO())
    library.addHandler(own)
    try:
        logs.setup_logging(Redactor([TOKEN]))
        assert all(logs._filter in h.filters for h in logging.getLogger().handlers)
        assert logs._filter in own.filters
        try:
            raise ValueError(TOKEN)
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        err = capsys.readouterr().err
        assert "ValueError" in err and TOKEN not in err
    finally:
        library.removeHandler(own)
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__
        logging.captureWarnings(False)
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
