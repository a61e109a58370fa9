"""``newsbrief demo``: the real pipeline, offline, on the bundled sample feeds.

It serves ``config/samples/`` on loopback, runs poll -> process -> compose -> deliver on a fresh
SQLite database in a temporary folder, and prints what a subscriber following two topics sees.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.console import ConsoleSender
from jobs.runtime import Runtime
from newsbrief.config.settings import Config, FeedConfig, read_yaml
from newsbrief.store import subscribers

DEMO_TOPICS = ("ai", "crypto")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the demo prints digests only
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A static file server on 127.0.0.1 (If-Modified-Since is answered with 304)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sample_feeds(samples: Path, base: str) -> tuple[FeedConfig, ...]:
    listing = read_yaml(samples / "feeds.yaml")
    return tuple(FeedConfig(**{**item, "url": item["url"].format(base=base)}) for item in listing)


def demo_config(config: Config, samples: Path, base: str, workdir: Path) -> Config:
    return config.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'demo.db'}",
            "feeds": sample_feeds(samples, base),
            "fetch": config.fetch.model_copy(update={"allow_private_networks": True}),
            "telegram": config.telegram.model_copy(update={"token": None}),
        }
    )


async def run_demo(config: Config, samples: Path, write: Callable[[str], None] = print) -> int:
    """Returns the number of digest messages printed."""
    with (
        tempfile.TemporaryDirectory(prefix="newsbrief-demo-") as tmp,
        serve_directory(samples) as base,
    ):
        runtime = Runtime(
            demo_config(config, samples, base, Path(tmp)),
            senders={"console": ConsoleSender(write)},
        )
        try:
            runtime.start()
            now = runtime.ctx.clock()
            with runtime.db.session() as session:
                subscriber, _ = subscribers.ensure(
                    session,
                    "console",
                    "demo-reader",
                    None,
                    lang=config.subscriber_defaults.language,
                    timezone="Asia/Shanghai",
                    schedule="instant",
                    now=now,
                    backlog=timedelta(0),
                )
                topics = [t for t in DEMO_TOPICS if config.topic(t)] or [
                    t.id for t in config.topics[:2]
                ]
                subscribers.subscribe(session, subscriber.id, topics, now)
            write(f"Serving {len(runtime.config.feeds)} sample feeds at {base}")
            write(f"A reader follows: {', '.join(topics)}")
            polled = await runtime.poll_once()
            stored = await runtime.process_all()
            write(f"Fetched {polled.new} entries, processed {stored} into articles.\n")
            _, sent = await runtime.digest_once()
            write(f"\n{sent} digest message(s) delivered.")
            return sent
        finally:
            await runtime.aclose()
