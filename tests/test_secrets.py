"""No secret in any output (issue #14, must-show 4).

Every command of ``newsbrief --help`` runs with ``-v`` as a real process against loopback
servers: the Bot API server, the feed server and the three robot servers. The config reaches
distinctive secret values everywhere a secret can come from (a Telegram token, robot keys and
signing secrets, WeCom and WeChat callback tokens and AES keys, a database password, an admin
token and an LLM key in the environment), and the paths include the failures: Telegram
answering 401 and 404, robots answering errors that quote their webhook URL, the database
unreachable with a password in its URL, bad configs, hostile callback payloads. Everything a
case produces — stdout, stderr (the logs), what the bot sent to chats, what the robots
received, the outbox as ``deliveries --json`` shows it — is searched for each secret in every
form it may take on the way out (as is, URL-encoded).

To add a path: append a ``Case`` to ``CASES`` (its ``steps`` run in order against one fresh
world; ``config``/``config_text``/``env`` change what the world would use). A step's ``rc`` and
``expect`` prove that the path really ran, so a command that fails early cannot pass vacuously.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from bot.wechat.crypto import MsgCrypt, plain_signature
from tests.conftest import ROOT, postgres_database, postgres_reachable
from tests.servers import free_port
from tests.servers.botapi import BotApiServer
from tests.servers.feeds import FeedServer, rss
from tests.servers.webhooks import Platform, WebhookServer

TELEGRAM_TOKEN = "987654321:AAHs3cretTelegramT0kenValue0123456789x"
WECOM_KEY = "wk-5ecret-Robot-Key-111"
DINGTALK_KEY = "dt-Acc3ss_T0ken.222"  # a robot key is URL-safe (config check says so)
DINGTALK_SECRET = "SECd1ng/S1gn+S3cret=333"  # characters that change when URL-encoded
FEISHU_KEY = "fs-h00k-T0ken-444"
FEISHU_SECRET = "fsS1gnS3cret555"
WECOM_CALLBACK_TOKEN = "WcCallbackT0ken666"
WECOM_AES_KEY = "Wc0AesKeyabcdefghijklmnopqrstuvwxyz01234567"
WECHAT_TOKEN = "WxT0kenSecret777"
WECHAT_AES_KEY = "Wx0AesKeyABCDEFGHIJKLMNOPQRSTUVWXYZ98765432"
DB_PASSWORD = "Pg/Pa55 w0rd@888"
ADMIN_TOKEN = "AdminT0kenSecret999"
LLM_KEY = "sk-LlmKeySecret000"
SECRETS = {
    "telegram token": TELEGRAM_TOKEN,
    "wecom robot key": WECOM_KEY,
    "dingtalk robot key": DINGTALK_KEY,
    "dingtalk signing secret": DINGTALK_SECRET,
    "feishu robot key": FEISHU_KEY,
    "feishu signing secret": FEISHU_SECRET,
    "wecom callback token": WECOM_CALLBACK_TOKEN,
    "wecom aes key": WECOM_AES_KEY,
    "wechat token": WECHAT_TOKEN,
    "wechat aes key": WECHAT_AES_KEY,
    "database password": DB_PASSWORD,
    "admin token": ADMIN_TOKEN,
    "llm key": LLM_KEY,
}
ROBOT_KEYS = (WECOM_KEY, DINGTALK_KEY, FEISHU_KEY)  # in the order of World.robots
CORP_ID = "wwcorp0001"
APP_ID = "wxapp0002"
ADMIN = 7001
USER = 7002
UNREACHABLE_DB = f"postgresql://user:{quote(DB_PASSWORD, safe='')}@127.0.0.1:1/x"
STEP_TIMEOUT = 120.0


def forms(secret: str) -> set[str]:
    """How a secret may show: as it is, URL-encoded (path or query style)."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


def leaks(text: str) -> list[str]:
    return sorted(name for name, value in SECRETS.items() if any(f in text for f in forms(value)))


# -- the world a case runs in -------------------------------------------------------------------


@dataclass
class World:
    tmp: Path
    database_url: str
    botapi: BotApiServer
    rejecting: BotApiServer
    """Knows another bot's token: answers ours with 401."""
    feeds: FeedServer
    robots: dict[Platform, WebhookServer]
    port: int

    def config(self) -> dict[str, Any]:
        def robot(platform: str, key_env: str, secret_env: str | None = None) -> dict[str, Any]:
            entry = {"id": f"{platform}-ops", "platform": platform, "key_env": key_env}
            return entry | {"topics": ["ai"]} | ({"secret_env": secret_env} if secret_env else {})

        return {
            "admins": [ADMIN],
            "telegram": {"api_base_url": f"http://127.0.0.1:{self.botapi.port}", "poll_timeout": 1},
            "fetch": {"allow_private_networks": True, "host_spacing": 0},
            "scheduler": {"poll": 0.5, "process": 0.5, "compose": 0.5, "deliver": 0.5},
            "subscriber_defaults": {"backlog_hours": 24, "language": "en"},
            "topics": [
                {"id": "ai", "name": {"zh": "人工智能", "en": "AI"}, "keywords": ["language model"]}
            ],
            "feeds": [{"id": "wire", "url": self.feeds.url("/wire.xml"), "fulltext": "never"}],
            "wecom": {"api_base_url": self.robots["wecom"].base_url, "corp_id": CORP_ID},
            "dingtalk": {"api_base_url": self.robots["dingtalk"].base_url},
            "feishu": {"api_base_url": self.robots["feishu"].base_url},
            "wechat": {"app_id": APP_ID},
            "server": {"host": "127.0.0.1", "port": self.port},
            "robots": [
                robot("wecom", "NB_TEST_WECOM_KEY"),
                robot("dingtalk", "NB_TEST_DINGTALK_KEY", "NB_TEST_DINGTALK_SECRET"),
                robot("feishu", "NB_TEST_FEISHU_KEY", "NB_TEST_FEISHU_SECRET"),
            ],
        }

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NEWSBRIEF_CONFIG": "",
            "NEWSBRIEF_DATABASE_URL": self.database_url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "NB_TEST_WECOM_KEY": WECOM_KEY,
            "NB_TEST_DINGTALK_KEY": DINGTALK_KEY,
            "NB_TEST_DINGTALK_SECRET": DINGTALK_SECRET,
            "NB_TEST_FEISHU_KEY": FEISHU_KEY,
            "NB_TEST_FEISHU_SECRET": FEISHU_SECRET,
            "NEWSBRIEF_WECOM__CALLBACK_TOKEN": WECOM_CALLBACK_TOKEN,
            "NEWSBRIEF_WECOM__CALLBACK_AES_KEY": WECOM_AES_KEY,
            "NEWSBRIEF_WECHAT__TOKEN": WECHAT_TOKEN,
            "NEWSBRIEF_WECHAT__AES_KEY": WECHAT_AES_KEY,
            "NEWSBRIEF_ADMIN__TOKEN": ADMIN_TOKEN,
            "NEWSBRIEF_LLM__API_KEY": LLM_KEY,
        }

    def wait_output(self, text: str, timeout: float = 60.0) -> None:
        """Wait until the running step has written ``text`` (it is written to a file)."""
        deadline = time.monotonic() + timeout
        log = self.tmp / "running.log"
        while text not in log.read_text(encoding="utf-8", errors="replace"):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared in:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)


Action = Callable[[World], None]


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    rc: int = 0
    expect: tuple[str, ...] = ()
    """Text the output must hold: proof the path ran."""
    stdin: str = ""
    running: Action | None = None
    """For a long-running command: what to do while it runs; then it gets SIGTERM."""


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    config: Callable[[World, dict[str, Any]], None] | None = None
    """Changes to the world's config (a dict, written as YAML's JSON subset)."""
    config_text: str | None = None
    """The config file's text instead (bad YAML and the like)."""
    env: dict[str, str] = field(default_factory=dict)
    setup: Action | None = None
    traceback: bool = False
    """Whether a one-shot step may print a traceback (never, unless a case says so). A
    long-running step's output is searched for secrets only: a busy machine may make it log
    a traceback that has nothing to do with them (masked all the same)."""


def run_step(world: World, config: Path, env: dict[str, str], step: Step) -> str:
    command = [sys.executable, "-m", "jobs.main", "-v", "--config", str(config), *step.argv]
    if step.running is None:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            input=step.stdin,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        out, rc = done.stdout + done.stderr, done.returncode
    else:
        log = world.tmp / "running.log"
        with log.open("w", encoding="utf-8") as sink:
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True
            )
            try:
                step.running(world)
            finally:
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(timeout=60)
        out = log.read_text(encoding="utf-8", errors="replace")
    where = f"newsbrief {' '.join(step.argv)}"
    assert rc == step.rc, f"{where}: exit {rc}, not {step.rc}\n{out[-4000:]}"
    for text in step.expect:
        assert text in out, f"{where}: no {text!r} in\n{out[-4000:]}"
    return f"$ {where}\n{out}"


# -- what running processes are made to do ----------------------------------------------------


def chat_with_the_bot(world: World) -> None:
    """A user and an admin use the bot; the replies are collected with everything else."""
    botapi = world.botapi
    botapi.send_user_message(USER, "/subscribe ai")
    botapi.send_user_message(USER, f"/subscribe {TELEGRAM_TOKEN} {DINGTALK_KEY}")
    botapi.send_user_message(USER, "/list")
    botapi.wait_for_messages_sync(USER, 3, timeout=60)
    botapi.send_user_message(ADMIN, "/feeds", user_id=ADMIN)
    botapi.send_user_message(ADMIN, "/stats", user_id=ADMIN)
    botapi.send_user_message(
        ADMIN, f"/addfeed http://127.0.0.1:1/feed?key={WECOM_KEY}", user_id=ADMIN
    )
    botapi.wait_for_messages_sync(ADMIN, 3, timeout=60)


def post_hostile_callbacks(world: World) -> None:
    """Bad payloads to both callbacks: garbage, bad signatures, a well-signed message for
    another app, a plaintext message with a wrong signature."""
    world.wait_output("newsbrief running")
    base = f"http://127.0.0.1:{world.port}"
    wecom = MsgCrypt(WECOM_CALLBACK_TOKEN, WECOM_AES_KEY, CORP_ID)
    other = MsgCrypt(WECOM_CALLBACK_TOKEN, WECOM_AES_KEY, "someone-else")
    stamp, nonce = str(int(time.time())), "n0nce"
    message = "<xml><ToUserName>x</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content>摘要</Content></xml>"
    wrong = other.encrypt(message)
    wrong_xml = f"<xml><Encrypt><![CDATA[{wrong}]]></Encrypt></xml>"
    query = f"timestamp={stamp}&nonce={nonce}&msg_signature={other.signature(stamp, nonce, wrong)}"
    right = wecom.encrypt(message)
    right_xml = f"<xml><Encrypt><![CDATA[{right}]]></Encrypt></xml>"
    good = f"timestamp={stamp}&nonce={nonce}&msg_signature={wecom.signature(stamp, nonce, right)}"
    with httpx.Client(timeout=10) as client:
        for method, url, body in [
            ("POST", "/wecom/callback?timestamp=1&nonce=2&msg_signature=3", b"not xml"),
            ("POST", "/wecom/callback", b"<xml><Encrypt>AAAA</Encrypt></xml>"),
            ("POST", f"/wecom/callback?{query}", wrong_xml.encode()),
            ("POST", f"/wecom/callback?{good}", right_xml.encode()),  # well formed: a reply
            ("POST", f"/wecom/callback?{good}", right_xml.encode()),  # the same again: a replay
            ("POST", f"/wecom/callback?{query}", b"<xml><Encrypt><![CDATA[%%%]]></Encrypt></xml>"),
            ("GET", "/wecom/callback?msg_signature=1&timestamp=2&nonce=3&echostr=AAAA", b""),
            ("POST", "/wechat/callback?signature=bad&timestamp=1&nonce=2", b"<xml></xml>"),
            (
                "POST",
                f"/wechat/callback?signature={plain_signature(WECHAT_TOKEN, stamp, nonce)}"
                f"&timestamp={stamp}&nonce={nonce}&encrypt_type=aes&msg_signature=x",
                b"<xml><Encrypt>bad</Encrypt></xml>",
            ),
            ("POST", "/wechat/callback", b"\x00" * 70_000),
        ]:
            client.request(method, base + url, content=body)


def wait_for(text: str) -> Action:
    def act(world: World) -> None:
        world.wait_output(text)

    return act


def wait_for_all(*texts: str) -> Action:
    def act(world: World) -> None:
        for text in texts:
            world.wait_output(text)

    return act


# -- the changes that make each failure ---------------------------------------------------------


def wrong_token_server(world: World, config: dict[str, Any]) -> None:
    """A Bot API server that knows another token: it answers 401 like Telegram."""
    config["telegram"]["api_base_url"] = f"http://127.0.0.1:{world.rejecting.port}"


def api_base_with_a_path(world: World, config: dict[str, Any]) -> None:
    """``api_base_url`` with a path: the server answers 404 to every method."""
    config["telegram"]["api_base_url"] = f"http://127.0.0.1:{world.botapi.port}/api/v1"


def robots_fail_quoting_their_url(world: World) -> None:
    for server, key in zip(world.robots.values(), ROBOT_KEYS, strict=True):
        server.fail_next(key, 400102 if server.platform == "dingtalk" else -1, times=50)
        assert isinstance(server, EchoingWebhookServer)
        server.echo_url = True


def secret_in_a_bad_url(world: World, config: dict[str, Any]) -> None:
    config["telegram"]["api_base_url"] = f"ftp://bot:{quote(DB_PASSWORD, safe='')}@127.0.0.1/x"


def unknown_key(world: World, config: dict[str, Any]) -> None:
    config["telegram"]["tokn"] = TELEGRAM_TOKEN


def bad_topic_regex(world: World, config: dict[str, Any]) -> None:
    config["topics"] = [{"id": "ai", "keywords": [TELEGRAM_TOKEN], "regex": ["(?<=x)y"]}]


def callback_without_corp_id(world: World, config: dict[str, Any]) -> None:
    del config["wecom"]["corp_id"]


ALIAS_BOMB = (
    "\n".join(
        [f"telegram: {{token: {TELEGRAM_TOKEN}}}", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}]"
            for i in range(8)
        ]
    )
    + "\n"
)


OK = "Telegram rejected the bot token (401); check TELEGRAM_BOT_TOKEN"
NOT_ROOT = "is telegram.api_base_url the server's root URL?"
DB_DOWN = "is not available:"
POLL_ALL = Step(("poll", "--once", "--all"), expect=("1 feeds polled, 1 new",))

CASES = [
    Case("help", (Step(("--help",), expect=("COMMAND",)),)),
    Case(
        "config check",
        (
            Step(("config", "check"), expect=(": ok",)),
            Step(("config", "check", "--json"), expect=('"ok": true',)),
        ),
    ),
    Case("db upgrade", (Step(("db", "upgrade"), expect=("database at revision",)),)),
    Case(
        "feeds",
        (
            Step(("feeds", "list"), expect=("wire",)),
            Step(("feeds", "list", "--json"), expect=('"wire"',)),
            Step(("feeds", "enable", "wire"), expect=("enabled",)),
            Step(("feeds", "export"), expect=("<opml",)),
        ),
    ),
    Case(
        "feeds add and import",
        (
            Step(("feeds", "import", "-n", "{tmp}/feeds.opml"), expect=("new-one",)),
            Step(("feeds", "add", "http://127.0.0.1:1/nothing"), rc=1),
        ),
        setup=lambda w: (w.tmp / "feeds.opml").write_text(
            '<opml version="2.0"><body><outline text="new-one" type="rss" '
            'xmlUrl="http://127.0.0.1:1/new.xml"/></body></opml>',
            encoding="utf-8",
        ),
    ),
    Case(
        "analyze",
        (
            Step(
                ("analyze", "--explain"),
                stdin=json.dumps({"id": "1", "text": "A language model story."}) + "\nnot json\n",
                expect=('"id": "1"',),
            ),
        ),
    ),
    Case(
        "poll, digest, deliveries, channels: everything delivered",
        (
            POLL_ALL,
            Step(("digest", "--once"), expect=("sent",)),
            Step(("deliveries", "--json"), expect=('"status": "sent"',)),
            Step(("channels", "list"), expect=("sent 24h 1",)),
            Step(("channels", "list", "--json"), expect=('"key": "set"',)),
        ),
    ),
    Case("demo", (Step(("demo",), expect=("message 1 to demo-reader",)),)),
    Case(
        "run: the bot answers users and admins, digests go out",
        (POLL_ALL, Step(("run",), running=chat_with_the_bot, expect=("newsbrief running",))),
    ),
    Case(
        "run: hostile callback payloads",
        (
            Step(
                ("run", "--role", "callbacks"),
                running=post_hostile_callbacks,
                expect=("newsbrief running",),
            ),
        ),
    ),
    Case(
        "Telegram rejects the token (401)",
        (
            POLL_ALL,
            Step(("digest", "--once"), rc=1, expect=(OK, "3 sent")),
            Step(("run",), running=wait_for_all(OK, "trying again in"), expect=(OK,)),
        ),
        config=wrong_token_server,
    ),
    Case(
        "Telegram answers 404 (api_base_url with a path)",
        (
            POLL_ALL,
            Step(("digest", "--once"), rc=1, expect=(NOT_ROOT, "3 sent")),
            Step(("run", "--role", "bot"), running=wait_for(NOT_ROOT), expect=(NOT_ROOT,)),
        ),
        config=api_base_with_a_path,
    ),
    Case(
        "robots answer errors quoting their webhook URL",
        (
            POLL_ALL,
            # Nothing reaches a robot; the one message sent tells the admin a robot is paused.
            Step(("digest", "--once"), expect=("1 sent",)),
            Step(("deliveries", "--json"), expect=("request /",)),
            Step(("channels", "list"), expect=("last error",)),
        ),
        setup=robots_fail_quoting_their_url,
    ),
    *[
        Case(
            f"database unreachable: {' '.join(argv)}",
            (Step(argv, rc=3, expect=(DB_DOWN, "127.0.0.1:1")),),
            env={"NEWSBRIEF_DATABASE_URL": UNREACHABLE_DB},
        )
        for argv in (
            ("db", "upgrade"),
            ("feeds", "list", "--json"),
            ("feeds", "enable", "wire"),
            ("deliveries",),
            ("channels", "list"),
            ("poll", "--once"),
            ("digest", "--once"),
        )
    ],
    Case(
        "database unreachable: run retries",
        (
            Step(
                ("run",),
                running=wait_for_all(DB_DOWN, "trying again in 4 s"),
                expect=(DB_DOWN, "trying again in 2 s"),
            ),
        ),
        env={"NEWSBRIEF_DATABASE_URL": UNREACHABLE_DB},
    ),
    Case(
        "bad config: YAML syntax",
        (Step(("config", "check"), rc=2), Step(("poll", "--once"), rc=2)),
        config_text=f"telegram: {{token: {TELEGRAM_TOKEN}\nfeeds: [\n",
    ),
    Case(
        "bad config: a secret in a rejected value",
        (
            Step(("config", "check", "--json"), rc=2, expect=("api_base_url",)),
            Step(("run",), rc=2, expect=("api_base_url",)),
        ),
        config=secret_in_a_bad_url,
    ),
    Case(
        "bad config: unknown key holding a secret",
        (Step(("config", "check"), rc=2, expect=("tokn",)), Step(("digest", "--once"), rc=2)),
        config=unknown_key,
    ),
    Case(
        "bad config: a topic regex that is not RE2",
        (Step(("config", "check"), rc=2, expect=("not valid RE2",)), Step(("run",), rc=2)),
        config=bad_topic_regex,
    ),
    Case(
        "bad config: callback token and key without corp_id",
        (Step(("config", "check"), rc=2, expect=("wecom.corp_id",)), Step(("run",), rc=2)),
        config=callback_without_corp_id,
    ),
    Case(
        "bad config: YAML alias bomb",
        (Step(("config", "check"), rc=2, expect=("aliases expand",)),),
        config_text=ALIAS_BOMB,
    ),
    Case(
        "bad config: robot key variable missing",
        (Step(("digest", "--once"), rc=2, expect=("NB_TEST_FEISHU_KEY",)),),
        env={"NB_TEST_FEISHU_KEY": ""},
    ),
]


class EchoingWebhookServer(WebhookServer):
    """A robot server whose errors quote the request URL (key, token, signature and all), as
    gateways and proxies in front of the real ones do."""

    echo_url = False

    def _handle(self, path: str, content_type: str, raw: bytes) -> tuple[str, dict[str, Any]]:
        key, body = super()._handle(path, content_type, raw)
        code = body.get("errcode", body.get("code"))
        if self.echo_url and code:
            text = "errmsg" if "errmsg" in body else "msg"
            body[text] = f"{body[text]} (request {path})"
        return key, body


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """PostgreSQL, whose URL carries a password that must not leak (SQLite's has none to
    leak, and every other secret is the same on both); SQLite on a machine without PostgreSQL
    (CI has it: there this is PostgreSQL always). Every case runs on one database only: each
    starts several processes, and this table is the suite's longest part."""
    if os.environ.get("CI") or postgres_reachable():
        yield from postgres_database()
    else:
        yield f"sqlite:///{tmp_path / 'newsbrief.db'}"


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    if database_url.startswith("postgresql"):  # trust auth: the password rides along unused
        database_url = database_url.replace(
            "://postgres@", f"://postgres:{quote(DB_PASSWORD, safe='')}@"
        )
    with (
        BotApiServer(token=TELEGRAM_TOKEN) as botapi,
        BotApiServer(token="111:another-bot") as other,
        FeedServer() as feeds,
        EchoingWebhookServer("wecom") as wecom,
        EchoingWebhookServer("dingtalk") as dingtalk,
        EchoingWebhookServer("feishu") as feishu,
    ):
        wecom.add_robot(WECOM_KEY)
        dingtalk.add_robot(DINGTALK_KEY, secret=DINGTALK_SECRET)
        feishu.add_robot(FEISHU_KEY, secret=FEISHU_SECRET)
        item = {
            "title": "A new language model",
            "link": "https://news.example/1",
            "guid": "1",
            "description": "A large language model story.",
        }
        feeds.set("/wire.xml", rss([item], title="Wire"))
        robots: dict[Platform, WebhookServer] = {
            "wecom": wecom,
            "dingtalk": dingtalk,
            "feishu": feishu,
        }
        yield World(tmp_path, database_url, botapi, other, feeds, robots, free_port())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_secret_in_any_output(world: World, case: Case) -> None:
    config = world.config()
    if case.config is not None:
        case.config(world, config)
    path = world.tmp / "newsbrief.yaml"
    path.write_text(
        case.config_text if case.config_text is not None else json.dumps(config, indent=1),
        encoding="utf-8",
    )
    env = world.env() | case.env
    if case.setup is not None:
        case.setup(world)
    outputs = []
    for step in case.steps:
        argv = tuple(a.format(tmp=world.tmp) for a in step.argv)
        outputs.append(output := run_step(world, path, env, replace(step, argv=argv)))
        if step.running is None and not case.traceback:
            assert "Traceback" not in output, output[-6000:]
    # What left the process another way: chat messages, robot messages, the stored errors.
    sent = [m.text for m in world.botapi.all_messages()]
    sent += [m.text for m in world.rejecting.all_messages()]
    received = [
        json.dumps(r.payload, ensure_ascii=False)
        for server, key in zip(world.robots.values(), ROBOT_KEYS, strict=True)
        for r in server.received(key)
    ]
    everything = "\n".join([*outputs, *sent, *received])
    leaking = [line for line in everything.splitlines() if leaks(line)]
    assert not leaks(everything), f"{leaks(everything)} leaked in:\n" + "\n".join(leaking)[:6000]
