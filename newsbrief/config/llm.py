"""Settings for the optional LLM that writes story summaries and translates titles (``llm``).

Any OpenAI-compatible chat-completions server works (DeepSeek, Qwen/DashScope, Moonshot, Zhipu,
OpenAI, a local vLLM or Ollama): ``base_url`` and ``model`` name it, the key comes from
``NEWSBRIEF_LLM__API_KEY`` only. Without ``base_url`` nothing changes: digests carry the
extractive summaries, as always.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from newsbrief.config.base import Section, check_http_url


class LlmConfig(Section):
    base_url: str | None = None
    """The server's API root (``https://api.deepseek.com/v1``); None: the LLM is off."""
    model: str = Field(default="", max_length=128)
    """The model name the server knows (the cache is kept per model: changing it writes anew)."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """From ``NEWSBRIEF_LLM__API_KEY``, never the file; a local server may need none."""
    timeout: float = Field(default=30.0, gt=0, le=600)
    """Seconds one call may take in all, a streamed answer included."""
    max_concurrency: int = Field(default=4, ge=1, le=64)
    """Calls in flight at once (per process)."""
    summaries: Literal["off", "stories"] = "stories"
    """``stories``: one summary per story and reader language, from all its sources."""
    translate: bool = True
    """Titles and summaries of stories in another language than the reader's."""
    stream: bool = False
    """Ask for a streamed answer (cut off when it runs longer than any good answer)."""
    daily_token_budget: int = Field(default=200_000, ge=0)
    """Tokens a UTC day for the whole deployment; 0: no limit. Spent: extractive until 00:00."""
    topic_budgets: dict[str, int] = Field(default_factory=dict)
    """Tokens a UTC day for the stories of one topic (``{ai: 50000}``); must be defined topics."""
    max_age_hours: float = Field(default=24, gt=0, le=24 * 14)
    """Stories created this recently get LLM texts; older ones keep their extractive summary."""
    wait_seconds: float = Field(default=120, ge=0, le=3600)
    """How long a new story waits for its LLM texts before instant and first digests include
    it anyway (an instant reader would otherwise get it before the model has written; a
    scheduled digest takes it at its time); 0: never waits."""
    batch: int = Field(default=50, ge=1, le=1000)
    """Most (story, language) calls one tick starts."""
    mark: bool = True
    """Mark LLM-written summaries discreetly in digests."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        return check_http_url(url).rstrip("/")

    @field_validator("topic_budgets")
    @classmethod
    def _budgets(cls, budgets: dict[str, int]) -> dict[str, int]:
        for topic, tokens in budgets.items():
            if tokens < 0:
                raise ValueError(f"topic_budgets[{topic}] must be 0 or more tokens")
        return budgets

    @model_validator(mode="after")
    def _model_named(self) -> LlmConfig:
        if self.base_url is not None and not self.model.strip():
            raise ValueError("llm.base_url needs llm.model (the model name the server knows)")
        if self.api_key is not None and not self.api_key.get_secret_value().strip():
            raise ValueError("NEWSBRIEF_LLM__API_KEY is set but empty")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the ``llm`` tick has anything to do."""
        return self.base_url is not None and (self.summaries != "off" or self.translate)
