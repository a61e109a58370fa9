"""One chat-completions call to an OpenAI-compatible server, through the official ``openai``
package with ``base_url`` (DeepSeek, Qwen/DashScope, Moonshot, Zhipu, OpenAI, vLLM, Ollama).

Our own retry policy, not the library's (``max_retries=0``): a failed call is never retried
within a tick; it becomes a ``CallFailed`` with when to try again (Retry-After on a 429, a
backoff for 5xx, timeouts and refused connections). ``llm.timeout`` bounds the whole call, a
streamed answer included, and a stream longer than ``STREAM_CAP`` characters is cut off: a
model that rambles costs one timeout at most, and never a digest.

The key goes to the library and nowhere else: no log line or exception message here holds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from newsbrief.config.llm import LlmConfig

log = logging.getLogger(__name__)

STREAM_CAP = 4000
"""Characters of a streamed answer beyond which the model is rambling: cut off, rejected."""
BACKOFF = 60.0
"""Seconds before a pair that failed (5xx, timeout, connection) is tried again, doubled per
attempt; a 429's Retry-After wins."""
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    tokens: int | None
    """What the server says the call cost (prompt and answer); None when it did not say."""
    cut_off: bool = False
    """The answer stopped for length (max_tokens, or the stream cap)."""


class CallFailed(Exception):
    """The call gave no answer to judge: ``kind`` (``rate_limited``, ``server``, ``timeout``,
    ``connection``, ``refused``, ``malformed``) and, for a 429, the server's Retry-After."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry_after = retry_after


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value else None
    except ValueError:
        return None


class LlmClient:
    """Calls for one config; ``max_concurrency`` of them at once."""

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        key = config.api_key.get_secret_value() if config.api_key is not None else "unused"
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=key,  # a local server takes any; the library insists on one
            timeout=config.timeout,
            max_retries=0,
        )
        self.slots = asyncio.Semaphore(config.max_concurrency)
        """Held by the caller around a call and its budget reservation, so calls waiting
        for a slot reserve nothing yet (``max_concurrency`` in flight at once)."""
        self.json_mode = True
        """Ask for ``response_format: json_object``; dropped once a server refuses it."""

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, chat: Sequence[dict[str, str]], max_tokens: int) -> Completion:
        """The model's answer to ``chat``; raises CallFailed, nothing else."""
        try:
            async with asyncio.timeout(self.config.timeout):
                if self.config.stream:
                    return await self._streamed(chat, max_tokens)
                return await self._whole(chat, max_tokens)
        except TimeoutError:
            raise CallFailed("timeout", f"no answer in {self.config.timeout:g} s") from None
        except openai.APITimeoutError:
            raise CallFailed("timeout", f"no answer in {self.config.timeout:g} s") from None
        except openai.RateLimitError as exc:
            raise CallFailed("rate_limited", "HTTP 429", _retry_after(exc)) from None
        except openai.BadRequestError as exc:
            if self.json_mode:
                # Servers without JSON mode refuse the whole request; ask plainly next time.
                self.json_mode = False
            raise CallFailed("refused", f"HTTP {exc.status_code}") from None
        except openai.APIStatusError as exc:
            kind = "server" if exc.status_code >= 500 else "refused"
            raise CallFailed(kind, f"HTTP {exc.status_code}", _retry_after(exc)) from None
        except openai.APIConnectionError as exc:
            raise CallFailed("connection", type(exc).__name__) from None
        except (openai.OpenAIError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # An answer the library could not read (not JSON, wrong shape).
            raise CallFailed("malformed", type(exc).__name__) from None

    def _params(self, chat: Sequence[dict[str, str]], max_tokens: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.config.model,
            "messages": list(chat),
            "max_tokens": max_tokens,
            "temperature": 0.2,
        }
        if self.json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    async def _whole(self, chat: Sequence[dict[str, str]], max_tokens: int) -> Completion:
        response = await self._client.chat.completions.create(**self._params(chat, max_tokens))
        if not response.choices:
            raise CallFailed("malformed", "no choices in the answer")
        choice = response.choices[0]
        text = choice.message.content if choice.message is not None else None
        if not isinstance(text, str):
            raise CallFailed("malformed", "no text in the answer")
        tokens = response.usage.total_tokens if response.usage is not None else None
        cut_off = choice.finish_reason == "length" or len(text) > STREAM_CAP
        return Completion(text, tokens, cut_off=cut_off)

    async def _streamed(self, chat: Sequence[dict[str, str]], max_tokens: int) -> Completion:
        params = self._params(chat, max_tokens)
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        stream = await self._client.chat.completions.create(**params)
        parts: list[str] = []
        size = 0
        tokens: int | None = None
        cut_off = False
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    tokens = chunk.usage.total_tokens
                for choice in chunk.choices:
                    delta = choice.delta.content if choice.delta is not None else None
                    if delta:
                        parts.append(delta)
                        size += len(delta)
                    if choice.finish_reason == "length":
                        cut_off = True
                if size > STREAM_CAP:
                    cut_off = True
                    break
        finally:
            await stream.close()
        return Completion("".join(parts), tokens, cut_off=cut_off)
