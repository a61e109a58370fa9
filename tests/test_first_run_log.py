"""The log of a first ``newsbrief run``: what an operator reads in the first minute.

A real process on a fresh SQLite database, no Telegram token, over the bundled sample feeds
(served from loopback, as ``newsbrief demo`` serves them) plus 20 feeds whose pages cannot be
fetched: 12 feed URLs that refuse the connection, answer 404 or 500, or never answer, and 8
feeds whose article pages (fetched for their full text) do the same. It runs until the first
poll and the processing of what it found are done; then its INFO lines are counted (at most
30) and each kind of noise that used to fill the log is looked for.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jobs.demo import serve_directory
from newsbrief.config.settings import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "config" / "samples"
FETCH_TIMEOUT = 2
MAX_INFO = 30
NOISE = {
    "per-article full text": re.compile(r"no full text|article page "),
    "per-feed poll lines": re.compile(r"feed \S+: \d+ new, \d+ updated|recoverable problem"),
    "per-attempt failures": re.compile(r"INFO .*feed \S+: (HTTP|connect|timed out|refused)"),
    "scheduler internals": re.compile(r"apscheduler|Added job|Running job|executed successfully"),
    "HTTP request lines": re.compile(r"HTTP Request|aiohttp\.access|\"GET /"),
}


class Unfetchable(BaseHTTPRequestHandler):
    """``/500/…`` answers 500, ``/slow/…`` never answers in time, ``/site/N.xml`` is a feed
    whose items link to pages of the kind its query names; anything else is 404."""

    def do_GET(self) -> None:
        if self.path.startswith("/500/"):
            self._send(500, b"server error", "text/plain")
        elif self.path.startswith("/slow/"):
            time.sleep(FETCH_TIMEOUT + 3)
            self._send(200, b"too late", "text/plain")
        elif self.path.startswith("/site/"):
            self._send(200, self._feed().encode(), "application/rss+xml")
        else:
            self._send(404, b"not found", "text/plain")

    def _feed(self) -> str:
        site, kind = self.path.split("?", 1)[0], self.path.rsplit("=", 1)[-1]
        links = {
            "404": f"http://{self.headers['Host']}/missing",
            "500": f"http://{self.headers['Host']}/500",
            "slow": f"http://{self.headers['Host']}/slow",
            "refused": f"http://127.0.0.1:{self.server.refused_port}",  # type: ignore[attr-defined]
        }[kind]
        items = "".join(
            f"<item><title>{site} story {i}: a page that cannot be fetched</title>"
            f"<link>{links}{site.removesuffix('.xml')}/{i}.html</link>"
            f"<guid>{site}-{i}</guid><description>Short summary {i} of a story on {site}, "
            f"enough words for an article of its own when the page is away.</description>"
            f"<pubDate>Thu, 03 Dec 2026 0{i}:00:00 GMT</pubDate></item>"
            for i in range(1, 4)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>{items}</channel></rss>'

    def _send(self, status: int, body: bytes, kind: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up on a slow answer
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unfetchable() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Unfetchable)
    server.daemon_threads = True
    server.refused_port = free_port()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def feeds_yaml(samples: str, broken: str) -> str:
    """The sample feeds, then the 20 whose pages cannot be fetched."""
    lines = []
    for item in read_yaml(SAMPLES / "feeds.yaml"):
        topics = ", ".join(item.get("topics", []))
        url = item["url"].format(base=samples)
        lines.append(f"  - {{id: {item['id']}, url: '{url}', fulltext: never, topics: [{topics}]}}")
    refused = f"http://127.0.0.1:{free_port()}"
    bad_feeds = {
        "refused": refused,
        "404": broken,
        "500": f"{broken}/500",
        "slow": f"{broken}/slow",
    }
    for kind, base in bad_feeds.items():
        for i in range(3):
            lines.append(f"  - {{id: feed-{kind}-{i}, url: '{base}/feed-{i}.xml'}}")
    for kind in ("404", "500", "slow", "refused"):
        for i in range(2):
            url = f"{broken}/site/{kind}-{i}.xml?pages={kind}"
            lines.append(f"  - {{id: pages-{kind}-{i}, url: '{url}', fulltext: always}}")
    return "\n".join(lines)


def test_first_run_logs_few_useful_info_lines(tmp_path: Path, unfetchable: str) -> None:
    (tmp_path / "topics.yaml").write_bytes((ROOT / "config" / "topics.yaml").read_bytes())
    with serve_directory(SAMPLES) as samples:
        config = tmp_path / "newsbrief.yaml"
        config.write_text(
            f"database_url: sqlite:///{tmp_path / 'first.db'}\n"
            "topics_file: topics.yaml\n"
            f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
            "fetch: {allow_private_networks: true, "
            f"connect_timeout: {FETCH_TIMEOUT}, timeout: {FETCH_TIMEOUT}, "
            f"total_timeout: {FETCH_TIMEOUT * 2}}}\n"
            "feeds:\n" + feeds_yaml(samples, unfetchable) + "\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBRIEF_"))}
        env["NEWSBRIEF_CACHE_DIR"] = str(tmp_path / "cache")
        log_file = tmp_path / "run.log"
        with log_file.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jobs.main", "--config", str(config), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
            try:
                log = wait_for_first_round(proc, log_file, deadline=time.monotonic() + 55)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    log = log_file.read_text()
    print(log)  # shown when the test fails
    info = [line for line in log.splitlines() if " INFO " in line]
    assert "newsbrief running:" in log, "no startup banner"
    assert re.search(r"INFO .*poll tick: 23 feeds polled, \d+ new entries", log), "no poll summary"
    assert re.search(r"INFO .*process tick: \d+ entries processed", log), "no processing summary"
    assert len(info) <= MAX_INFO, f"{len(info)} INFO lines in the first minute"
    for kind, pattern in NOISE.items():
        assert not pattern.search(log), f"{kind} in the log"
    assert "Traceback" not in log


def wait_for_first_round(proc: subprocess.Popen[bytes], log_file: Path, deadline: float) -> str:
    """The log once the first poll and the processing of its entries are done: a process
    tick summary after the poll's, then a quiet moment (no entry left to process)."""
    polled_at = None
    while time.monotonic() < deadline:
        log = log_file.read_text()
        if proc.poll() is not None:
            pytest.fail(f"newsbrief run ended ({proc.returncode}):\n{log}")
        if polled_at is None and "poll tick:" in log:
            polled_at = log.index("poll tick:")
        if polled_at is not None and "process tick:" in log[polled_at:]:
            time.sleep(2)  # a next process tick, if there is more, logs in this time
            return log_file.read_text()
        time.sleep(0.5)
    pytest.fail(f"no poll and process summaries in time:\n{log_file.read_text()}")
