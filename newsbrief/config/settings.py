"""Settings: ``config/newsbrief.yaml`` validated with pydantic, overridden from the environment.

Precedence, highest first: ``NEWSBRIEF_<SECTION>__<KEY>`` variables (``NEWSBRIEF_DATABASE_URL``,
``TELEGRAM_BOT_TOKEN``), the YAML file, the defaults below. Every problem is reported as
``file:line: reason`` so an admin can jump straight to it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsbrief.articles.topics import RegexError, compile_regex
from newsbrief.config.base import Section, check_http_url, check_id
from newsbrief.config.channels import (
    AdminConfig,
    DingTalkConfig,
    FeishuConfig,
    RobotConfig,
    ServerConfig,
    WeChatConfig,
    WeComConfig,
    check_robot_ids,
    check_robot_keys,
)
from newsbrief.config.llm import LlmConfig
from newsbrief.config.taxonomy import TaxonomyError
from newsbrief.config.taxonomy_cache import load_taxonomy_cached
from newsbrief.config.yamlfile import YamlFileError, load_yaml
from newsbrief.records import Feed, Language, Topic, TopicNames
from newsbrief.schedule import parse_quiet
from newsbrief.store.urls import anchored
from newsbrief.text.chinese import to_traditional
from newsbrief.time_phrases import parse_schedule_phrase

DEFAULT_CONFIG_PATH = Path("config/newsbrief.yaml")
ENV_PREFIX = "NEWSBRIEF_"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's ``secret_token``."""
NO_CONFIG_ENV = "NEWSBRIEF_NO_CONFIG"
"""Set (to 1/true/yes) to run on the defaults and the environment alone, reading no file
(``--no-config`` on the command line). Without it a missing config file is an error."""


def _check_regex(pattern: str) -> str:
    """A topic rule must compile with RE2 (the matcher's engine) when the config is loaded, so
    a bad one is refused with its line instead of failing every process tick."""
    try:
        compile_regex(pattern)
    except RegexError as exc:
        raise ValueError(f"{pattern!r} is not valid RE2: {exc}") from None
    return pattern


RegexRule = Annotated[str, AfterValidator(_check_regex)]


class InlineTopicName(Section):
    zh: str
    en: str
    zh_hant: str = ""
    """The Traditional Chinese name; converted from ``zh`` when empty."""


class InlineTopic(Section):
    """A topic written inline under ``topics`` (most come from the taxonomy, ``topics_file``).

    Only the YAML's shape, for pydantic to check with errors at its keys; ``Config.topics``
    holds the ``Topic`` built from it. See config/topics.yaml for what each field does."""

    id: str
    name: InlineTopicName
    keywords: tuple[str, ...] = ()
    """Words that put an article under this topic; Latin ones match whole words only."""
    aliases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: tuple[RegexRule, ...] = ()
    """RE2 patterns (no lookaround, no backreferences), each checked when the config loads."""
    parent: str | None = None
    group: str | None = None
    weak: tuple[str, ...] = ()
    """Words common outside the topic: each counts half, so one alone files nothing."""
    priority: int = Field(default=0, ge=-5, le=5)
    """Ranks this topic's stories higher (positive) or lower (negative) in digests."""

    _id = field_validator("id")(check_id)


def _topic(value: Any, validate: ValidatorFunctionWrapHandler) -> Topic:
    """The ``Topic`` an inline topic's YAML describes; a taxonomy topic is a Topic already,
    checked by its loader, and passes as it is."""
    if isinstance(value, Topic):
        return value
    entry: InlineTopic = validate(value)
    name = entry.name
    return Topic(
        id=entry.id,
        names=TopicNames(name.zh, name.zh_hant or to_traditional(name.zh), name.en),
        keywords=entry.keywords,
        aliases=entry.aliases,
        weak=entry.weak,
        exclude=entry.exclude,
        regex=entry.regex,
        parent=entry.parent,
        group=entry.group,
        priority=entry.priority,
    )


def _topic_schema(_source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    return core_schema.no_info_wrap_validator_function(_topic, handler(InlineTopic))


# What ``Config.topics`` holds: a Topic, validated from YAML as an InlineTopic.
_ConfigTopic = Annotated[Topic, GetPydanticSchema(_topic_schema)]


class FeedConfig(Section):
    id: str
    url: str
    topics: tuple[str, ...] = ()
    """Topics every entry of this feed belongs to, on top of keyword matches."""
    interval: int = Field(default=30, ge=1, le=7 * 24 * 60)
    """Minutes between two checks until the feed's own rhythm is known (adaptive polling)."""
    min_interval: int | None = Field(default=None, ge=1)
    """Minutes: never check this feed more often (on top of polling.min_interval)."""
    max_interval: int | None = Field(default=None, ge=1)
    """Minutes: check this feed at least this often (below polling.max_interval)."""
    announce_updates: bool = False
    """Announce an entry again when its content changes (default: update it silently)."""
    fulltext: Literal["auto", "always", "never"] = "auto"
    """Fetch the article page for its main text: when the feed's content looks partial
    (``auto``), for every entry (``always``), or not at all (``never``)."""
    name: str | None = Field(default=None, max_length=200)
    """Shown for this feed instead of the title it gives itself (digests, /why, feeds list)."""
    include: tuple[str, ...] = Field(default=(), max_length=200)
    """Keep only entries whose title or text holds one of these (any case, either script)."""
    exclude: tuple[str, ...] = Field(default=(), max_length=200)
    """Drop entries whose title or text holds one of these (any case, either script)."""

    _id = field_validator("id")(check_id)
    _url = field_validator("url")(check_http_url)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return " ".join(value.split()) or None if value is not None else None

    @field_validator("include", "exclude")
    @classmethod
    def _keywords(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        # Whitespace runs collapsed; an empty keyword would match (or drop) every entry.
        cleaned = tuple(" ".join(w.split()) for w in words)
        for word in cleaned:
            if not word:
                raise ValueError("an empty keyword would match every entry")
            if len(word) > 100:
                raise ValueError(f"keyword longer than 100 characters: {word[:20]!r}…")
        return tuple(dict.fromkeys(cleaned))

    def to_feed(self) -> Feed:
        return Feed(
            id=self.id,
            url=self.url,
            topics=self.topics,
            interval_minutes=self.interval,
            min_interval=self.min_interval,
            max_interval=self.max_interval,
            announce_updates=self.announce_updates,
            fulltext=self.fulltext,
            name=self.name,
            include=self.include,
            exclude=self.exclude,
        )


class SubscriberDefaults(Section):
    schedule: str = "instant"
    timezone: str = "Asia/Shanghai"
    language: Language = "zh-Hans"
    max_items: int = Field(default=20, ge=1, le=200)
    """Most stories in one digest; the rest are counted as "and N more"."""
    first_digest_items: int = Field(default=10, ge=0, le=200)
    """Most stories in a subscriber's first digest, which is always one message: the best of
    the backlog (fewer if they do not fit), the rest counted and left for ``/digest``. 0: no
    such first digest; the first is like any other (``max_items``, as many parts as needed)."""
    backlog_hours: float = Field(default=24, ge=0, le=24 * 30)
    """How far back a new subscriber's first digest reaches."""
    quiet_hours: str | None = None
    """Local ``HH:MM-HH:MM`` during which nothing is sent to a new subscriber, or none."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        # A phrase (每天 8点) is kept in its canonical form (daily 08:00).
        return str(parse_schedule_phrase(value))

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        quiet = parse_quiet(value) if value is not None else None
        return str(quiet) if quiet else None


class TelegramConfig(Section):
    token: SecretStr | None = None
    """From ``TELEGRAM_BOT_TOKEN``; never put it in the file."""
    api_base_url: str = "https://api.telegram.org"
    """Root of the Bot API server: Telegram's, a self-hosted one, or a test server."""
    poll_timeout: int = Field(default=30, ge=0, le=50)
    webhook_url: str | None = None
    """Webhook mode: the public URL Telegram posts updates to (``/telegram/webhook`` on
    ``server.host:server.port``, behind the HTTPS proxy). None: long polling."""
    webhook_secret: SecretStr | None = Field(default=None, repr=False)
    """From ``NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET``: Telegram sends it with every update
    (``X-Telegram-Bot-Api-Secret-Token``); a request without it is refused."""

    _url = field_validator("api_base_url")(check_http_url)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, url: str | None) -> str | None:
        return check_http_url(url) if url is not None else None

    @model_validator(mode="after")
    def _webhook(self) -> TelegramConfig:
        """Webhook mode needs its secret: without one, anyone who learns the URL could post
        commands as any user. Telegram takes 1-256 of ``A-Z a-z 0-9 _ -``."""
        secret = self.webhook_secret
        if secret is not None and not WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
            raise ValueError(
                f"NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET must be 1-256 of A-Z, a-z, 0-9, _ and - "
                f"(it has {len(secret.get_secret_value())} characters)"
            )
        if self.webhook_url is not None and secret is None:
            raise ValueError(
                "telegram.webhook_url needs NEWSBRIEF_TELEGRAM__WEBHOOK_SECRET (the secret "
                "token Telegram sends with every update)"
            )
        return self


class FetchConfig(Section):
    allow_private_networks: bool = False
    """Allow feeds on loopback/private/link-local addresses (tests and the demo set this)."""
    allowed_networks: tuple[str, ...] = ()
    """Private networks allowed anyway, as CIDRs (an intranet feed server: ``10.1.2.0/24``)."""
    connect_timeout: float = Field(default=10.0, gt=0, le=120)
    timeout: float = Field(default=20.0, gt=0, le=300)
    """Seconds to wait for each read from the server."""
    total_timeout: float = Field(default=60.0, gt=0, le=900)
    """Seconds one fetch may take in all, redirects and a slowly dripping body included."""
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    """Largest body accepted, as sent on the wire."""
    max_decompressed_bytes: int = Field(default=30_000_000, ge=1024)
    """Largest body accepted after gzip/deflate decompression (gzip bombs)."""
    user_agent: str = "newsbrief/0.1 (+https://github.com/newsbrief/newsbrief)"
    concurrency: int = Field(default=20, ge=1, le=1000)
    """Requests in flight at once, over all hosts."""
    per_host_concurrency: int = Field(default=2, ge=1, le=100)
    """Requests in flight at once to one host."""
    host_spacing: float = Field(default=0.5, ge=0, le=60)
    """Minimum seconds between the starts of two requests to one host."""

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network like 10.0.0.0/8") from exc
        return value


class PollingConfig(Section):
    """When feeds are checked, and when a failing feed is given up on."""

    min_interval: int = Field(default=5, ge=1)
    """Minutes: no feed is checked more often, whatever it or its config says."""
    max_interval: int = Field(default=24 * 60, ge=1)
    """Minutes: every feed is checked at least this often."""
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    """Each interval is stretched or shrunk by up to this fraction, so checks spread out."""
    adaptive: bool = True
    """Check busy feeds more often and quiet ones less, from entries seen per week."""
    max_errors: int = Field(default=10, ge=1)
    """Consecutive failures after which a feed is disabled (and the admins told)."""
    max_errors_gone: int = Field(default=3, ge=1)
    """Consecutive 404/410 answers after which a feed is disabled."""
    redirect_confirmations: int = Field(default=3, ge=1)
    """Polls that must see the same permanent redirect before the stored URL changes."""
    max_entries: int = Field(default=200, ge=1)
    """Entries kept of one poll (the newest): a feed that lists 50,000 cannot flood the queue."""
    parse_workers: int | None = Field(default=None, ge=0, le=64)
    """Worker processes beside the event loop's (at a lower priority) that parse fetched feeds
    and, on PostgreSQL, compose digests; None: one per core, at most 4; 0: both in-process."""


class SchedulerConfig(Section):
    """Seconds between two runs of each tick."""

    poll: float = Field(default=60, gt=0)
    process: float = Field(default=15, gt=0)
    compose: float = Field(default=30, gt=0)
    deliver: float = Field(default=2, gt=0)
    llm: float = Field(default=15, gt=0)
    """Seconds between LLM ticks (run by ``process`` processes): summaries and translations
    written ahead of the digests, which never wait for them."""
    delivery_lease: float = Field(default=600, ge=1)
    """Seconds a claimed message stays claimed: after a crash mid-send it is retried then."""
    poll_lease: float = Field(default=600, ge=1)
    """Seconds claimed feeds stay claimed: after a crash they are polled again then."""
    process_lease: float = Field(default=300, ge=1)
    """Seconds claimed entries stay claimed: after a crash they are processed again then."""
    update_lease: float = Field(default=10, ge=1)
    """Seconds a stored webhook update being handled stays claimed (renewed while it is):
    after a crash it is handled again, by any bot process, once this passes."""


class RetentionConfig(Section):
    """Days each kind of row is kept before the daily prune deletes it; 0 keeps it forever.

    The prune never deletes what something still needs, whatever the window (see
    ``newsbrief.store.retention``): an entry among its feed's newest ``polling.max_entries``
    (so a feed that still lists it cannot bring it back as new), an entry not processed yet,
    a story that still has articles, is queued in an unsent message, could still be read by
    a subscriber's next digest, or is the newest of all."""

    entries: int = Field(default=30, ge=0)
    """Fetched entries and the articles made of them (their full text)."""
    stories: int = Field(default=90, ge=0)
    """Stories and their topic rows, once their articles are gone."""
    deliveries: int = Field(default=30, ge=0)
    """Outbox messages in a final state (``sent``, ``failed``), from when sent or last tried."""
    callback_replies: int = Field(default=7, ge=0)
    """WeCom/WeChat MsgIds and their replies (retries come within seconds; also dropped after
    a day as new messages arrive)."""
    telegram_updates: int = Field(default=7, ge=0)
    """Webhook updates handled (Telegram resends within a day; also dropped after a day while
    the webhook runs)."""


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
    )

    database_url: str = "sqlite:///data/newsbrief.db"
    """A relative SQLite path is taken from the config file's folder (``load_config`` makes it
    absolute), so cron or systemd in another working directory opens the same database."""
    topics_file: str | None = None
    """The topic taxonomy, relative to this config file's folder; its topics come before the
    inline ``topics``."""
    allow_paths_outside_config: bool = False
    """Let ``topics_file`` name a file outside the config file's folder (an absolute path, or
    one through ``..``); refused by default, so a config cannot make the bot read any file."""
    admins: tuple[int, ...] = ()
    """Telegram user ids allowed to run admin commands."""
    telegram: TelegramConfig = TelegramConfig()
    fetch: FetchConfig = FetchConfig()
    polling: PollingConfig = PollingConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    retention: RetentionConfig = RetentionConfig()
    subscriber_defaults: SubscriberDefaults = SubscriberDefaults()
    topics: tuple[_ConfigTopic, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    wecom: WeComConfig = WeComConfig()
    dingtalk: DingTalkConfig = DingTalkConfig()
    feishu: FeishuConfig = FeishuConfig()
    wechat: WeChatConfig = WeChatConfig()
    server: ServerConfig = ServerConfig()
    admin: AdminConfig = AdminConfig()
    robots: tuple[RobotConfig, ...] = ()
    """Group robots (WeCom, DingTalk, Feishu) that get digests of their topics."""
    llm: LlmConfig = LlmConfig()
    """The optional LLM for story summaries and translation (off without ``llm.base_url``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, which arrives as init kwargs.
        return (env_settings, init_settings)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def feed_list(self) -> list[Feed]:
        return [f.to_feed() for f in self.feeds]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.reason}"
            if self.line
            else f"{self.file}: {self.reason}"
        )


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_yaml(path: Path) -> Any:
    """Plain data from a YAML file (for the small side files next to the config)."""
    try:
        return plain_data(load_yaml(path))
    except YamlFileError as exc:
        raise ConfigError([Problem(str(path), exc.line, exc.reason)]) from exc


def defaults_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the user asked to run without a config file (``NEWSBRIEF_NO_CONFIG``)."""
    return environ.get(NO_CONFIG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def config_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("NEWSBRIEF_CONFIG") or DEFAULT_CONFIG_PATH)


def config_source(path: str | Path | None = None) -> Path | None:
    """The config file to read: ``path``, else ``$NEWSBRIEF_CONFIG``, else the default; None
    when no path is given and ``NEWSBRIEF_NO_CONFIG`` asks for the defaults alone."""
    if path is None and defaults_requested():
        return None
    return config_path(path)


def load_config(path: str | Path | None = None) -> Config:
    """Read, validate and cross-check the config; raise ConfigError listing every problem.

    A missing file is a problem (a typo in ``--config`` must not run on empty defaults) unless
    no path is given and ``NEWSBRIEF_NO_CONFIG`` is set; then no file is read at all."""
    source = config_source(path)
    file = source if source is not None else Path("(defaults)")
    environ = os.environ
    name = str(file)
    if source is None:
        raw: Any = CommentedMap()
    elif not source.is_file():
        reason = "is a folder, not a file" if source.is_dir() else "not found"
        raise ConfigError(
            [
                Problem(
                    name,
                    None,
                    f"{reason} (set {NO_CONFIG_ENV}=1 or pass --no-config to run "
                    "on the defaults and the environment alone)",
                )
            ]
        )
    else:
        try:
            raw = load_yaml(source)
        except YamlFileError as exc:
            raise ConfigError([Problem(name, exc.line, exc.reason)]) from exc
    if raw is None:
        raw = CommentedMap()
    if not isinstance(raw, CommentedMap):
        raise ConfigError([Problem(name, 1, "the top level must be a mapping of sections")])

    data = plain_data(raw)
    token = environ.get("TELEGRAM_BOT_TOKEN")
    if token and not environ.get(f"{ENV_PREFIX}TELEGRAM__TOKEN"):
        data.setdefault("telegram", {})
        if isinstance(data["telegram"], dict):
            data["telegram"]["token"] = token

    problems: list[Problem] = []
    folder = (source.parent if source is not None else Path()).absolute()
    outside = _early_flag(data, "allow_paths_outside_config", environ)
    taxonomy = _taxonomy_topics(file, raw, folder, outside, problems)
    if isinstance(data.get("topics", []), list):
        data["topics"] = [*taxonomy, *data.get("topics", [])]
    inline_offset = len(taxonomy)
    problems += [
        Problem(name, _line_of(raw, _shift(loc, inline_offset)), msg)
        for loc, msg in _reference_problems(data)
    ]
    config: Config | None = None
    try:
        config = Config(**data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = _env_name(loc, environ)
            reason = _reason(loc, err["type"], err["msg"])
            if where:
                problems.append(Problem(where, None, reason))
            else:
                problems.append(Problem(name, _line_of(raw, _shift(loc, inline_offset)), reason))
    if config is not None:
        problems += [
            Problem(name, _line_of(raw, ("robots",)), p) for p in check_robot_ids(config.robots)
        ]
        bases = {p: getattr(config, p).api_base_url for p in ("wecom", "dingtalk", "feishu")}
        problems += [
            Problem(name, _line_of(raw, ("robots", i, "key_env")), p)
            for i, p in check_robot_keys(config.robots, environ, bases)
        ]
    if problems or config is None:
        problems.sort(key=lambda p: (p.file != name, p.line or 0))
        raise ConfigError(problems)
    # Relative to the config, not to wherever the process happens to start.
    return config.model_copy(update={"database_url": anchored(config.database_url, folder)})


def _early_flag(data: Mapping[str, Any], key: str, environ: Mapping[str, str]) -> bool:
    """A boolean setting needed before the config is validated (where the environment wins,
    as it does for every key); a bad value counts as False and is reported by validation."""
    value = next(
        (v for k, v in environ.items() if k.upper() == f"{ENV_PREFIX}{key}".upper()),
        data.get(key, False),
    )
    try:
        return bool(TypeAdapter(bool).validate_python(value))
    except ValidationError:
        return False


def _taxonomy_topics(
    config_file: Path, raw: CommentedMap, folder: Path, outside: bool, problems: list[Problem]
) -> list[Topic]:
    """The taxonomy's topics; its problems are reported with its name."""
    topics_file = raw.get("topics_file")
    if not topics_file or not isinstance(topics_file, str):
        return []
    line = _line_of(raw, ("topics_file",))
    path = (folder / topics_file).resolve()
    if not outside and not path.is_relative_to(folder.resolve()):
        problems.append(
            Problem(
                str(config_file),
                line,
                f"topics_file {topics_file!r} is outside the config folder {folder} "
                "(set allow_paths_outside_config: true to allow it)",
            )
        )
        return []
    if not path.is_file():
        problems.append(
            Problem(str(config_file), line, f"topics_file {topics_file!r} not found at {path}")
        )
        return []
    try:
        taxonomy = load_taxonomy_cached(path)  # reading the file is most of a CLI start
    except TaxonomyError as exc:
        problems.extend(Problem(str(path), line, reason) for line, reason in exc.problems)
        return []
    return list(taxonomy.topics)


def _shift(loc: tuple[object, ...], offset: int) -> tuple[object, ...]:
    """Taxonomy topics come first in ``topics``: point inline-topic errors at the file's lines."""
    if offset and len(loc) >= 2 and loc[0] == "topics" and isinstance(loc[1], int):
        return ("topics", loc[1] - offset, *loc[2:])
    return loc


def plain_data(node: Any) -> Any:
    """ruamel's commented YAML nodes as plain dicts and lists."""
    if isinstance(node, Mapping):
        return {str(k): plain_data(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain_data(v) for v in node]
    return node


def _dotted(loc: Iterable[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _reason(loc: tuple[object, ...], kind: str, msg: str) -> str:
    if kind == "extra_forbidden":
        parent = _dotted(loc[:-1])
        return f"unknown key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    msg = msg.removeprefix("Value error, ")
    return f"{_dotted(loc)}: {msg}" if loc else msg


def _env_name(loc: tuple[object, ...], env: Mapping[str, str]) -> str | None:
    """The environment variable a bad value came from, if any."""
    for depth in range(len(loc), 0, -1):
        parts = loc[:depth]
        if all(isinstance(p, str) for p in parts):
            name = ENV_PREFIX + "__".join(str(p) for p in parts).upper()
            if name in {k.upper() for k in env}:
                return f"environment {name}"
    return None


def _line_of(raw: Any, loc: Iterable[object]) -> int | None:
    """1-based line of the deepest YAML node that ``loc`` reaches."""
    line: int | None = 1
    node = raw
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _reference_problems(data: Mapping[str, Any]) -> list[tuple[tuple[object, ...], str]]:
    """Checks across sections: feeds name known topics, ids are unique."""
    problems: list[tuple[tuple[object, ...], str]] = []
    topics = data.get("topics") or []
    feeds = data.get("feeds") or []
    known: set[str] = set()
    if isinstance(topics, list):
        for i, topic in enumerate(topics):
            # The taxonomy's topics come first, as Topics; the inline ones are still mappings.
            topic_id = topic.get("id") if isinstance(topic, dict) else None
            if isinstance(topic, Topic):
                topic_id = topic.id
            if isinstance(topic_id, str):
                if topic_id in known:
                    problems.append((("topics", i, "id"), f"duplicate topic id {topic_id!r}"))
                known.add(topic_id)
    seen: set[str] = set()
    if isinstance(feeds, list):
        for i, feed in enumerate(feeds):
            if not isinstance(feed, dict):
                continue
            if isinstance(feed.get("id"), str):
                if feed["id"] in seen:
                    problems.append((("feeds", i, "id"), f"duplicate feed id {feed['id']!r}"))
                seen.add(feed["id"])
            feed_topics = feed.get("topics")
            if isinstance(feed_topics, list):
                for j, topic_id in enumerate(feed_topics):
                    if isinstance(topic_id, str) and topic_id not in known:
                        problems.append(
                            (
                                ("feeds", i, "topics", j),
                                f"feeds[{i}].topics: unknown topic {topic_id!r}",
                            )
                        )
    llm = data.get("llm")
    budgets = llm.get("topic_budgets") if isinstance(llm, dict) else None
    for topic_id in budgets if isinstance(budgets, dict) else ():
        if isinstance(topic_id, str) and topic_id not in known:
            problems.append(
                (
                    ("llm", "topic_budgets", topic_id),
                    f"llm.topic_budgets: unknown topic {topic_id!r}",
                )
            )
    robots = data.get("robots") or []
    if isinstance(robots, list):
        for i, robot in enumerate(robots):
            robot_topics = robot.get("topics") if isinstance(robot, dict) else None
            for j, topic_id in enumerate(robot_topics if isinstance(robot_topics, list) else ()):
                if isinstance(topic_id, str) and topic_id not in known:
                    problems.append(
                        (
                            ("robots", i, "topics", j),
                            f"robots[{i}].topics: unknown topic {topic_id!r}",
                        )
                    )
    return problems
