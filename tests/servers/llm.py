"""A loopback OpenAI-compatible chat-completions server, for tests of the LLM tick.

``POST /v1/chat/completions`` answers as the real ones do: a JSON completion with ``usage``,
or with ``"stream": true`` server-sent events (``data: {chunk}`` … ``data: [DONE]``, usage in
the last chunk when ``stream_options.include_usage`` asks for it). What it answers is a
function of the request (``server.answer = lambda request: Reply(...)``); by default a fake
editor (``editor``) that writes a title and summary in the language asked, from the source
text, and obeys any instruction it finds in the article (as a gullible model would).

Failure modes, per reply: ``status`` (429 with ``Retry-After``, 500), ``delay`` (a timeout),
``raw`` (a body that is not JSON), ``endless`` (a stream that never ends). Every request is
recorded (``server.requests``), so tests count calls.

Usage::

    with LlmServer() as server:
        config = LlmConfig(base_url=server.base_url, model="fake", ...)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One call as the server saw it."""

    body: JsonDict
    headers: dict[str, str]

    @property
    def messages(self) -> list[JsonDict]:
        return list(self.body.get("messages", []))

    @property
    def user(self) -> str:
        return str(self.messages[-1]["content"]) if self.messages else ""

    @property
    def system(self) -> str:
        return str(self.messages[0]["content"]) if self.messages else ""

    @property
    def target(self) -> str:
        """The language the prompt asks for: ``zh-Hans`` or ``en``."""
        return "en" if "Language of the answer: English" in self.user else "zh-Hans"

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


@dataclass(frozen=True)
class Reply:
    title: str = ""
    summary: str = ""
    content: str | None = None
    """The answer's text as is (else the JSON of ``title`` and ``summary``)."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    """A body sent as is (malformed JSON)."""
    endless: bool = False
    """Stream (or send) text forever: a model that rambles."""
    finish_reason: str = "stop"


def _source_text(user: str) -> str:
    return "\n".join(re.findall(r"Source \d+ text: (.*)", user))


def _story_title(user: str) -> str:
    found = re.search(r"Story title: (.*)", user)
    return found.group(1).strip() if found else ""


INJECTION = re.compile(r"ignore (?:all )?previous instructions.*?(https?://\S+)", re.I | re.S)


def editor(request: Request) -> Reply:
    """A fake model: a plausible title and summary in the language asked, with only the
    source's own names and numbers; it obeys an injected instruction to add a link."""
    user = request.user
    title = _story_title(user)
    text = _source_text(user)
    numbers = re.findall(r"\d+", f"{title} {text}")
    names = re.findall(r"\b[A-Z][A-Za-z]+\b", title)
    if request.target == "zh-Hans":
        who = names[0] if names else "有关方面"
        figure = f"，涉及数字{numbers[0]}" if numbers else ""
        reply = Reply(f"模型标题：{who}最新消息", f"模型摘要：{who}公布了新的进展{figure}。")
    else:
        first = re.split(r"(?<=[.!?])\s", text.strip())[0] if text.strip() else ""
        if re.search(r"[\u4e00-\u9fff]", f"{title}{text}"):
            first = "The report describes a new development in this story."
        reply = Reply(title if title.isascii() else "A new development", first[:300])
    if found := INJECTION.search(user):
        return Reply(reply.title, f"{reply.summary} 详情请见 {found.group(1)}")
    return reply


class LlmServer:
    def __init__(self) -> None:
        self.answer: Callable[[Request], Reply] = editor
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                request = Request(body, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                reply = server.answer(request)
                if reply.delay:
                    server._stop.wait(reply.delay)
                if reply.status != 200:
                    error = {"error": {"message": f"status {reply.status}", "type": "test"}}
                    self._send(reply.status, json.dumps(error).encode(), reply.headers)
                    return
                if reply.raw is not None:
                    self._send(200, reply.raw)
                    return
                content = reply.content
                if content is None:
                    content = json.dumps(
                        {"title": reply.title, "summary": reply.summary}, ensure_ascii=False
                    )
                prompt = sum(len(str(m.get("content", ""))) for m in request.messages) // 2
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(content) // 2 + 1,
                    "total_tokens": prompt + len(content) // 2 + 1,
                }
                if request.stream:
                    self._stream(content, usage, reply, request)
                else:
                    if reply.endless:  # a whole answer that rambles on and on
                        content = content * (20_000 // max(1, len(content)) + 1)
                    answer = {
                        "id": "cmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": reply.finish_reason,
                            }
                        ],
                        "usage": usage,
                    }
                    self._send(200, json.dumps(answer, ensure_ascii=False).encode())

            def _send(
                self, status: int, data: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _event(self, data: str) -> None:
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def _stream(
                self, content: str, usage: JsonDict, reply: Reply, request: Request
            ) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunk(delta: JsonDict, finish: str | None = None) -> str:
                    return json.dumps(
                        {
                            "id": "cmpl-test",
                            "object": "chat.completion.chunk",
                            "created": int(time.time()),
                            "model": request.body.get("model", ""),
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                        },
                        ensure_ascii=False,
                    )

                try:
                    self._event(chunk({"role": "assistant", "content": ""}))
                    if reply.endless:
                        while not server._stop.is_set():
                            self._event(chunk({"content": content}))
                            time.sleep(0.005)
                        return
                    for start in range(0, len(content), 7):
                        self._event(chunk({"content": content[start : start + 7]}))
                    self._event(chunk({}, reply.finish_reason))
                    options = request.body.get("stream_options") or {}
                    if options.get("include_usage"):
                        last = {
                            "id": "cmpl-test",
                            "object": "chat.completion.chunk",
                            "created": int(time.time()),
                            "model": request.body.get("model", ""),
                            "choices": [],
                            "usage": usage,
                        }
                        self._event(json.dumps(last))
                    self._event("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client cut the stream off, as it should a rambling one

        return Handler
