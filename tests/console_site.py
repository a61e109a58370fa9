"""A running newsbrief with its admin console, for browser and security tests.

``site``: a real ``newsbrief run`` process (SQLite, every role, no Telegram token) on a config
file with comments, polling a loopback feed server with Chinese and English AI and crypto news.
``browser``: Debian's chromium driven by Playwright (nothing downloaded; missing chromium skips,
or fails under CI). ``console``: a signed-in page. ``shoot``: screenshots at 1280 and 375 px
wide into ``build/screenshots`` (``NEWSBRIEF_SCREENSHOTS``), checking the phone width has no
horizontal scroll.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.servers.feeds import FeedServer, rss

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "console-test-token-0123456789"
SHOTS = Path(os.environ.get("NEWSBRIEF_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 375)
COMMAND = Path(sys.executable).with_name("newsbrief")

ZH_AI = {
    "title": "OpenAI 发布新一代大语言模型，推理能力大幅提升",
    "link": "https://news.example/zh/ai-1",
    "guid": "zh-ai-1",
    "description": "OpenAI 今天发布了新一代大语言模型，在数学和代码推理上大幅领先。",
}
ZH_CRYPTO = {
    "title": "比特币突破十万美元，以太坊跟涨",
    "link": "https://news.example/zh/btc-1",
    "guid": "zh-btc-1",
    "description": "比特币价格今日突破十万美元关口，加密货币市场普遍上涨。",
}
EN_AI = {
    "title": "Anthropic releases a new language model for coding",
    "link": "https://news.example/en/ai-2",
    "guid": "en-ai-2",
    "description": "The new large language model writes and reviews code faster than before.",
}

CONFIG = """\
# newsbrief config used by the console tests.
# Comments like these must survive every edit made from the console.
database_url: {database_url}
fetch:
  allow_private_networks: true  # the feeds are on loopback
polling: {{jitter: 0}}
scheduler: {{poll: 1, process: 1, compose: 1, deliver: 2}}
server: {{port: {port}}}
subscriber_defaults: {{backlog_hours: 48, language: zh-Hans}}
topics:
  - id: ai  # artificial intelligence
    name: {{zh: 人工智能, en: AI}}
    keywords: [大语言模型, 大模型, language model, OpenAI, Anthropic]
  - id: crypto
    name: {{zh: 加密货币, en: Crypto}}
    keywords: [比特币, 以太坊, bitcoin, ethereum]

feeds:
  # Chinese tech news
  - id: zhnews
    url: {zh_url}
    fulltext: never
  - id: ennews  # English wire
    url: {en_url}
    fulltext: never
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    base: str
    """``http://127.0.0.1:PORT``"""
    token: str
    config: Path
    database_url: str
    feeds: FeedServer
    log: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str = "/") -> str:
        """A console URL: ``site.url("/feeds")`` is ``…/admin/feeds``."""
        return f"{self.base}/admin{path}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def wait_until(check: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextmanager
def running(tmp: Path, *, token: str | None = TOKEN, roles: tuple[str, ...] = ()) -> Iterator[Site]:
    """``newsbrief run`` (every role, or ``roles``) on the config above (its comments kept by every edit),
    with ``token`` as NEWSBRIEF_ADMIN__TOKEN (None: unset)."""
    with FeedServer() as feeds:
        feeds.set("/zh.xml", rss([ZH_AI, ZH_CRYPTO], title="中文科技快讯"))
        feeds.set("/en.xml", rss([EN_AI], title="NYT &gt; Technology"))
        port = free_port()
        database_url = f"sqlite:///{tmp / 'newsbrief.db'}"
        config = tmp / "newsbrief.yaml"
        config.write_text(
            CONFIG.format(
                database_url=database_url,
                port=port,
                zh_url=feeds.url("/zh.xml"),
                en_url=feeds.url("/en.xml"),
            ),
            encoding="utf-8",
        )
        log = tmp / "run.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("TELEGRAM_BOT_TOKEN", None)
        env.pop("NEWSBRIEF_ADMIN__TOKEN", None)
        if token is not None:
            env["NEWSBRIEF_ADMIN__TOKEN"] = token
        role_args = [arg for role in roles for arg in ("--role", role)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(COMMAND), "--config", str(config), "run", *role_args],
                cwd=tmp,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        site = Site(
            f"http://127.0.0.1:{port}", token or "", config, database_url, feeds, log, process
        )
        try:
            wait_until(
                lambda: process.poll() is not None or _get(f"{site.base}/healthz") == 200,
                what="the instance to start",
            )
            if process.poll() is not None:
                raise AssertionError(f"newsbrief run exited:\n{site.log_text()}")
            yield site
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A running instance (see the module docstring), its feeds already served."""
    with running(tmp_path) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium (Debian's), one per test module: Playwright's sync API keeps an event
    loop running in this thread while it is open, which the asyncio tests of other modules
    (run by the same worker) could not start beside."""
    if CHROMIUM is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


def sign_in(browser: Any, site: Site, *, lang: str = "zh-CN") -> Any:
    """A new browser page signed in to the console (through the sign-in form)."""
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, locale=lang)
    page = context.new_page()
    page.goto(site.url("/"))
    page.fill("#token", site.token)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/"))
    return page


@pytest.fixture
def console(browser: Any, site: Site) -> Iterator[Any]:
    """A signed-in page on ``site``'s console."""
    page = sign_in(browser, site)
    try:
        yield page
    finally:
        page.context.close()


def shoot(page: Any, name: str) -> list[Path]:
    """Screenshots of the current page at each width (``SHOTS/name-1280.png``, ``-375``); at
    375 px the page must not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    taken = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if width < 600:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px wide"
        path = SHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    return taken
