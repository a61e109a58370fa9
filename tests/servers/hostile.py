"""A feed server on loopback that misbehaves on purpose, and counts how it is treated.

Each path gets a behaviour: a status with headers, slow headers, a dripping body, a huge body, a
gzip bomb, redirects. The server records when each request started and how many were in flight,
so politeness (per-host concurrency, spacing) can be checked from the server's side.
"""

from __future__ import annotations

import functools
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Behaviour = Callable[["_Handler"], None]


@functools.cache
def _gzip_bomb(decompressed: int) -> bytes:
    """A gzip stream of ``decompressed`` zero bytes (about 1 MB on the wire per GB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    out = [z.compress(block) for _ in range(decompressed >> 20)]
    out.append(z.flush())
    return b"".join(out)


@dataclass
class Stats:
    starts: list[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    paths: list[str] = field(default_factory=list)


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Behaviour] = {}
        self.stats = Stats()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.delay = 0.0
        """Seconds every request is held before it is answered (to see concurrency)."""
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- behaviours -------------------------------------------------------------------------

    def body(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.routes[path] = lambda h: h.answer(
            200, body, {"Content-Type": content_type, **(headers or {})}
        )

    def status(
        self, path: str, status: int, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.routes[path] = lambda h: h.answer(status, body, headers or {})

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.status(path, status, {"Location": location})

    def slow_headers(self, path: str, seconds: float) -> None:
        def behave(h: _Handler) -> None:
            self.stopping.wait(seconds)
            h.answer(200, b"<rss/>", {"Content-Type": "application/rss+xml"})

        self.routes[path] = behave

    def drip(self, path: str, total: int, every: float, chunk: int = 10) -> None:
        """Headers at once, then ``chunk`` bytes every ``every`` seconds, up to ``total`` bytes."""

        def behave(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(total))
            h.end_headers()
            sent = 0
            while sent < total and not self.stopping.is_set():
                h.wfile.write(b" " * chunk)
                h.wfile.flush()
                sent += chunk
                self.stopping.wait(every)

        self.routes[path] = behave

    def huge(self, path: str, size: int, *, declare_length: bool) -> None:
        """``size`` bytes of a never-ending RSS comment, streamed."""

        def behave(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            if declare_length:
                h.send_header("Content-Length", str(size))
            h.end_headers()
            block = b"<!--" + b"x" * 65_000 + b"-->"
            sent = 0
            while sent < size and not self.stopping.is_set():
                h.wfile.write(block)
                sent += len(block)

        self.routes[path] = behave

    def gzip_bomb(self, path: str, decompressed: int) -> None:
        bomb = _gzip_bomb(decompressed)
        self.routes[path] = lambda h: h.answer(
            200, bomb, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections when many arrive at once
    owner: HostileServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on bombs and drips is the point of this server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.stats.starts.append(time.monotonic())
            owner.stats.paths.append(self.path)
            owner.stats.in_flight += 1
            owner.stats.max_in_flight = max(owner.stats.max_in_flight, owner.stats.in_flight)
        try:
            if owner.delay:
                owner.stopping.wait(owner.delay)
            behave = owner.routes.get(self.path.split("?", 1)[0])
            if behave is None:
                self.answer(404, b"no such feed", {"Content-Type": "text/plain"})
            else:
                behave(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        finally:
            with owner.lock:
                owner.stats.in_flight -= 1

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
