"""The ``llm`` config section: off by default, checked when on, its key from the environment only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from newsbrief.config.llm import LlmConfig
from newsbrief.config.secrets import redactors
from newsbrief.config.settings import Config, ConfigError, load_config

KEY = "sk-config-test-9f8e7d6c5b4a"


def test_off_by_default_and_on_with_a_server_and_a_model() -> None:
    assert not Config().llm.enabled and Config().llm.base_url is None
    assert Config().scheduler.llm == 15
    on = LlmConfig(base_url="https://api.deepseek.com/v1/", model="deepseek-chat")
    assert on.enabled and on.base_url == "https://api.deepseek.com/v1"
    assert on.daily_token_budget == 200_000 and on.summaries == "stories" and on.translate
    assert not LlmConfig(
        base_url="http://127.0.0.1:8000/v1", model="m", summaries="off", translate=False
    ).enabled


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"base_url": "https://api.example.com/v1"}, "needs llm.model"),
        ({"base_url": "ftp://api.example.com", "model": "m"}, r"not an http\(s\) URL"),
        ({"summaries": "articles"}, "summaries"),
        ({"timeout": 0}, "timeout"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"daily_token_budget": -1}, "daily_token_budget"),
        ({"topic_budgets": {"ai": -5}}, "0 or more"),
        ({"api_key": "   "}, "set but empty"),
        ({"temperature": 1}, "temperature"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        LlmConfig.model_validate(settings)


def test_topic_budgets_name_defined_topics(tmp_path: Path) -> None:
    path = tmp_path / "newsbrief.yaml"
    path.write_text(
        "topics:\n"
        "  - id: ai\n"
        "    name: {zh: 人工智能, en: AI}\n"
        "llm:\n"
        "  base_url: http://127.0.0.1:8000/v1\n"
        "  model: qwen\n"
        "  topic_budgets:\n"
        "    ai: 1000\n"
        "    crypto: 500\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "llm.topic_budgets: unknown topic 'crypto'" in str(err.value)
    assert ":9:" in str(err.value)  # the line of the unknown topic
    path.write_text(path.read_text(encoding="utf-8").replace("    crypto: 500\n", ""), "utf-8")
    assert load_config(path).llm.topic_budgets == {"ai": 1000}


def test_the_key_comes_from_the_environment_and_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NEWSBRIEF_LLM__API_KEY", KEY)
    monkeypatch.setenv(
        "NEWSBRIEF_LLM__BASE_URL", "https://dashscope.aliyuncs.com/compatible-mode/v1"
    )
    monkeypatch.setenv("NEWSBRIEF_LLM__MODEL", "qwen-plus")
    path = tmp_path / "newsbrief.yaml"
    path.write_text("llm:\n  daily_token_budget: 5000\n", encoding="utf-8")
    config = load_config(path)
    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == KEY
    assert config.llm.enabled and config.llm.daily_token_budget == 5000
    assert KEY not in repr(config) and KEY not in config.model_dump_json()
    for_logs, for_replies = redactors(config)
    assert KEY not in for_logs(f"calling with Authorization: Bearer {KEY}")
    assert KEY not in for_replies(f"the key is {KEY}")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("config %r", config.llm)
    assert KEY not in caplog.text
