"""A feed server on loopback: serves bytes per path with ETag/Last-Modified and answers 304."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Resource:
    body: bytes
    content_type: str
    etag: str
    last_modified: str


class FeedServer:
    def __init__(self, *, conditional: bool = True) -> None:
        self.conditional = conditional
        """False: always answer 200 with the body, ignoring If-None-Match (as many servers do)."""
        self._resources: dict[str, Resource] = {}
        self._lock = threading.Lock()
        self.log: list[tuple[str, int]] = []
        """(path, status) of every request, in order."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    resource = server._resources.get(self.path)
                if resource is None:
                    self._answer(404, b"not found", "text/plain")
                    return
                if server.conditional and self.headers.get("If-None-Match") == resource.etag:
                    self._answer(304, b"", None, resource)
                    return
                self._answer(200, resource.body, resource.content_type, resource)

            def _answer(
                self, status: int, body: bytes, ctype: str | None, res: Resource | None = None
            ) -> None:
                with server._lock:
                    server.log.append((self.path, status))
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                if res is not None:
                    self.send_header("ETag", res.etag)
                    self.send_header("Last-Modified", res.last_modified)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, body: bytes | str, content_type: str = "application/rss+xml") -> None:
        """Publish (or replace) what ``path`` serves; a new body gets a new ETag."""
        data = body.encode() if isinstance(body, str) else body
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        with self._lock:
            self._resources[path] = Resource(data, content_type, etag, formatdate(usegmt=True))

    def statuses(self, path: str) -> list[int]:
        with self._lock:
            return [status for p, status in self.log if p == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    """A small RSS 2.0 document; item values are inserted as given (escape them yourself)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{title}</title><link>https://example.com/</link><description>t</description>",
    ]
    for item in items:
        parts.append("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)
