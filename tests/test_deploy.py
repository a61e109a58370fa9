"""The deployment kit in ``deploy/`` stays true to the code, checked without Docker or systemd.

Every command the files run parses with the real command line (``jobs.main.full_parser``);
every environment variable they set is a setting of ``Config`` or one the code reads; every
role of ``jobs.runtime.ROLES`` has its compose service and its unit, and no other role is
named; the image's paths agree with the environment it sets; the health checks reach
``/healthz`` on the port the image sets; the units' ports differ.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import typing
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel, SecretStr
from ruamel.yaml import YAML

from jobs.main import full_parser
from jobs.runtime import ROLES
from newsbrief.config import settings
from newsbrief.config.settings import Config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "newsbrief.env.example"
VENV_NEWSBRIEF = "/opt/newsbrief/.venv/bin/newsbrief"
PUBLISHED = {"bot", "callbacks", "web"}
"""The only roles reached from outside: WeCom/WeChat callbacks, the Telegram webhook."""


# -- the command line ----------------------------------------------------------------------


def newsbrief_args(argv: list[str], where: str) -> argparse.Namespace:
    """``argv`` parsed by the real parser; a failed test naming the command when it is not
    a ``newsbrief`` command line (argparse would exit)."""
    assert argv, f"{where}: runs nothing"
    assert PurePosixPath(argv[0]).name == "newsbrief", f"{where}: {argv} does not run newsbrief"
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            return full_parser().parse_args(argv[1:])
    except SystemExit:
        pass  # failed below, outside the handler: the report is argparse's message alone
    pytest.fail(f"{where}: `{shlex.join(argv)}` is not a newsbrief command: {errors.getvalue()}")


def roles_of(args: argparse.Namespace) -> list[str]:
    return list(args.role or []) if args.command == "run" else []


# -- environment variables -----------------------------------------------------------------


def setting_variables(model: type[BaseModel], prefix: str) -> dict[str, Any]:
    """The variable of every setting, sections included (``NEWSBRIEF_SERVER`` takes JSON),
    upper-cased: the names are case-insensitive. Maps each to its annotation."""
    delimiter = Config.model_config.get("env_nested_delimiter") or "__"
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name}".upper()
        found[variable] = field.annotation
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found |= setting_variables(field.annotation, variable + delimiter)
    return found


SETTINGS = setting_variables(Config, Config.model_config.get("env_prefix") or "")
SECRET_SETTINGS = {
    name
    for name, annotation in SETTINGS.items()
    if annotation is SecretStr or SecretStr in typing.get_args(annotation)
}


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(("NEWSBRIEF_", "TELEGRAM_"))]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _reads_config(value: str) -> bool:
    with environment(NEWSBRIEF_CONFIG=value):
        return settings.config_path() == Path(value)


def _reads_no_config(value: str) -> bool:
    with environment(NEWSBRIEF_NO_CONFIG=value):
        return settings.config_source() is None


def _reads_token(value: str) -> bool:
    with environment(NEWSBRIEF_NO_CONFIG="1", TELEGRAM_BOT_TOKEN=value):
        token = settings.load_config().telegram.token
        return token is not None and token.get_secret_value() == value


# Variables that are not settings but that the code reads, each with a probe that shows it.
OTHER_VARIABLES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "NEWSBRIEF_CONFIG": ("/probe/newsbrief.yaml", _reads_config),
    "NEWSBRIEF_NO_CONFIG": ("1", _reads_no_config),
    "TELEGRAM_BOT_TOKEN": ("123456:probe-token", _reads_token),
}


def unknown_variables(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if n.upper() not in SETTINGS and n not in OTHER_VARIABLES)


@pytest.mark.parametrize("name", sorted(OTHER_VARIABLES))
def test_the_other_variables_are_read_by_the_code(name: str) -> None:
    value, probe = OTHER_VARIABLES[name]
    assert probe(value), f"the code no longer reads {name}"


def test_settings_are_walked_into_sections() -> None:
    assert {"NEWSBRIEF_DATABASE_URL", "NEWSBRIEF_SERVER__PORT"} <= set(SETTINGS)
    assert "NEWSBRIEF_WECOM__CALLBACK_AES_KEY" in SECRET_SETTINGS
    assert unknown_variables(["NEWSBRIEF_SERVER__PROT", "TELEGRAM_TOKEN"]) == [
        "NEWSBRIEF_SERVER__PROT",
        "TELEGRAM_TOKEN",
    ]


# -- the Dockerfile ------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instruction, _, rest = (pending + line).partition(" ")
        found.append((instruction.upper(), rest.strip()))
        pending = ""
    return found


def instructions(name: str) -> list[str]:
    return [rest for instruction, rest in dockerfile() if instruction == name]


def exec_form(text: str, where: str) -> list[str]:
    """A JSON command list: in shell form /bin/sh would be PID 1 and keep SIGTERM to itself."""
    try:
        command = json.loads(text)
    except json.JSONDecodeError:
        pytest.fail(f"{where} is not in exec form (a JSON list): {text}")
    assert isinstance(command, list), where
    return [str(part) for part in command]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for rest in instructions("ENV"):
        for pair in shlex.split(rest):
            name, sep, value = pair.partition("=")
            assert sep, f"ENV {rest}: write NAME=value"
            env[name] = value
    return env


def image_volumes() -> list[str]:
    volumes: list[str] = []
    for rest in instructions("VOLUME"):
        volumes += json.loads(rest) if rest.startswith("[") else rest.split()
    return volumes


def within(path: str, folder: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder))


def test_the_image_is_slim_and_runs_newsbrief_as_a_user() -> None:
    assert instructions("FROM")[0].split()[0] == "python:3.11-slim"
    users = instructions("USER")
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert not instructions("ENTRYPOINT"), "CMD alone, so `docker run IMAGE newsbrief …` works"
    command = exec_form(instructions("CMD")[-1], "CMD")
    args = newsbrief_args(command, "Dockerfile CMD")
    assert args.command == "run"


def test_the_image_paths_agree_with_its_environment() -> None:
    env = image_env()
    assert not unknown_variables(set(env) - {"PATH"}), "ENV names what the code never reads"
    volumes = image_volumes()
    assert {"/config", "/data"} <= set(volumes), volumes
    config = env["NEWSBRIEF_CONFIG"]
    assert within(config, "/config"), f"NEWSBRIEF_CONFIG={config} is outside the /config volume"
    database = env["NEWSBRIEF_DATABASE_URL"]
    assert database.startswith("sqlite:////"), "an absolute SQLite path"
    assert within(database.removeprefix("sqlite:///"), "/data"), database
    # Served to other containers, and the port it says it listens on.
    assert env["NEWSBRIEF_SERVER__HOST"] == "0.0.0.0"
    assert instructions("EXPOSE") == [env["NEWSBRIEF_SERVER__PORT"]]


def dockerignore() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_build_context_holds_what_the_image_copies_and_no_secrets() -> None:
    ignored = dockerignore()
    assert {".git", ".venv", "data", "**/.env"} <= ignored, ignored
    copied = [p for rest in instructions("COPY") for p in shlex.split(rest)[:-1]]
    readme = re.search(r'^readme = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert readme and readme.group(1) in copied, "pip needs the README pyproject.toml names"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert source not in ignored, f"COPY {source}: .dockerignore leaves it out"


# -- compose -------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, values: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda m: values.get(m.group(1), ""), text)


def newsbrief_services() -> dict[str, dict[str, Any]]:
    """The services built from deploy/Dockerfile."""
    found = {}
    for name, service in compose()["services"].items():
        build = service.get("build") or {}
        if isinstance(build, dict) and build:
            context = (DEPLOY / build.get("context", ".")).resolve()
            if (context / build.get("dockerfile", "Dockerfile")).resolve() == DEPLOY / "Dockerfile":
                found[name] = service
    return found


def service_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_of(service: dict[str, Any], where: str) -> list[str]:
    command = service.get("command")
    assert command, f"{where}: no command (the image's default runs every role)"
    assert "entrypoint" not in service, f"{where}: an entrypoint would change what runs"
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def test_compose_runs_every_role_once_per_service() -> None:
    services = newsbrief_services()
    assert services, "no service is built from deploy/Dockerfile"
    run = {}
    for name, service in services.items():
        args = newsbrief_args(command_of(service, f"compose service {name}"), f"compose {name}")
        if args.command == "run":
            run[name] = roles_of(args)
        else:
            assert name == "migrate", name
            assert (args.command, args.action) == ("db", "upgrade"), name
    for name, roles in run.items():
        # One role per service, named after it: `--scale process=2` then means what it says.
        assert roles == [name], f"compose service {name} runs {roles}"
    assert set(run) == set(ROLES), f"roles without a service: {set(ROLES) - set(run)}"


def test_compose_roles_wait_for_the_database_and_the_migration() -> None:
    services = compose()["services"]
    postgres = services["postgres"]
    assert "pg_isready" in json.dumps(postgres["healthcheck"]["test"])
    data = [v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert data and data[0].split(":")[0] in compose()["volumes"], "a named volume for the data"
    for name, service in newsbrief_services().items():
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert depends["migrate"]["condition"] == "service_completed_successfully", name
            assert service["restart"] in ("always", "unless-stopped"), name


def test_compose_database_is_its_postgres_service() -> None:
    services = compose()["services"]
    postgres = service_env(services["postgres"])
    for name, service in newsbrief_services().items():
        raw = service_env(service)["NEWSBRIEF_DATABASE_URL"]
        url = urlsplit(interpolate(raw, {"POSTGRES_PASSWORD": "probe"}))
        assert url.scheme == "postgresql", name
        assert url.hostname in services and url.port == 5432, name
        assert url.username == postgres["POSTGRES_USER"], name
        assert url.path == "/" + postgres["POSTGRES_DB"], name
        assert url.password == "probe", f"{name}: the password comes from deploy/.env"


def test_compose_writes_no_secret_and_sets_only_real_variables() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    interpolated = {m.group(1) for m in INTERPOLATION.finditer(text)}
    example = env_example()
    assert interpolated <= set(example), "compose needs variables deploy/.env does not list"
    for name, service in newsbrief_services().items():
        env = service_env(service)
        assert service.get("env_file"), f"{name}: secrets come from an env file"
        assert not unknown_variables(env), f"{name}: {unknown_variables(env)}"
        for variable in SECRET_SETTINGS | {"TELEGRAM_BOT_TOKEN"}:
            value = env.get(variable)
            assert value is None or INTERPOLATION.fullmatch(value), f"{name}: {variable} written"


def test_compose_mounts_the_config_folder_writable_for_the_bot_only() -> None:
    config_folder = str(PurePosixPath(image_env()["NEWSBRIEF_CONFIG"]).parent)
    for name, service in newsbrief_services().items():
        env = service_env(service)
        assert "NEWSBRIEF_CONFIG" not in env or within(env["NEWSBRIEF_CONFIG"], config_folder)
        mounts = [v.split(":") for v in service.get("volumes", [])]
        config = [m for m in mounts if m[1] == config_folder]
        assert config, f"{name}: {config_folder} is not mounted"
        source = (DEPLOY / config[0][0]).resolve()
        assert (source / "newsbrief.yaml").is_file(), f"{name}: {source} holds no config"
        read_only = "ro" in config[0][2:]
        # Chat admin commands, which edit the config, come in through the bot only.
        assert read_only == (name != "bot"), f"{name}: config mounted {':'.join(config[0])}"


def test_compose_serves_health_on_the_image_port_and_publishes_only_what_a_proxy_needs() -> None:
    port = image_env()["NEWSBRIEF_SERVER__PORT"]
    for name, service in newsbrief_services().items():
        env = service_env(service)
        assert env.get("NEWSBRIEF_SERVER__HOST", "0.0.0.0") == "0.0.0.0", name
        assert env.get("NEWSBRIEF_SERVER__PORT", port) == port, name
        published = service.get("ports", [])
        assert not published or name in PUBLISHED, f"{name} needs no published port"
        for mapping in published:
            assert str(mapping).rsplit(":", 1)[-1] == port, f"{name}: {mapping}"
        if name != "migrate":
            assert "/healthz" in json.dumps(service["healthcheck"]["test"]), name


# -- health checks, run for real against a loopback server ---------------------------------


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def health_checks() -> dict[str, list[str]]:
    checks = {}
    for rest in instructions("HEALTHCHECK"):
        match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(.+)", rest, re.S)
        assert match, f"HEALTHCHECK {rest}"
        checks["Dockerfile"] = exec_form(match.group(2), "HEALTHCHECK")
    for name, service in newsbrief_services().items():
        test = service.get("healthcheck", {}).get("test")
        if test:
            assert test[0] == "CMD", f"{name}: healthcheck in exec form"
            checks[f"compose {name}"] = test[1:]
    assert "Dockerfile" in checks
    return checks


def test_health_checks_get_healthz_on_the_port_the_image_sets(
    health_server: ThreadingHTTPServer,
) -> None:
    port = str(health_server.server_address[1])

    def check(command: list[str]) -> int:
        assert command[0] == "python", "the image's python: the slim image has no curl"
        env = {"PATH": os.environ.get("PATH", ""), "NEWSBRIEF_SERVER__PORT": port}
        done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True)
        return done.returncode

    for where, command in health_checks().items():
        Health.status = 200
        assert check(command) == 0, f"{where}: healthy server seen as unhealthy"
        Health.status = 503
        assert check(command) != 0, f"{where}: a 503 passes"
    Health.status = 200


# -- systemd -------------------------------------------------------------------------------


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with its values in order (Environment= repeats)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}: keep each setting on one line"
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None and "=" in line, f"{path.name}: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str, where: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{where}: {key}= {values}"
    return values[0]


def unit_env(service: dict[str, list[str]]) -> dict[str, str]:
    pairs = [p for value in service.get("Environment", []) for p in shlex.split(value)]
    return dict(pair.partition("=")[::2] for pair in pairs)


def exec_start(service: dict[str, list[str]], where: str) -> list[str]:
    return shlex.split(one(service, "ExecStart", where).lstrip("-@+!:"))


def role_units() -> dict[str, dict[str, dict[str, list[str]]]]:
    return {p.name: unit(p) for p in sorted(UNITS.glob("newsbrief-*.service"))}


def test_a_unit_per_role_and_nothing_else() -> None:
    names = {p.name for p in UNITS.iterdir()}
    wanted = {f"newsbrief-{role}.service" for role in ROLES}
    assert names == wanted | {"newsbrief-migrate.service", "newsbrief.target"}


def test_units_run_their_role_as_a_hardened_user() -> None:
    ports = {}
    configs = set()
    for name, sections in role_units().items():
        service = sections["Service"]
        argv = exec_start(service, name)
        assert argv[0] == VENV_NEWSBRIEF, f"{name}: {argv[0]}"
        args = newsbrief_args(argv, name)
        assert args.config and PurePosixPath(args.config).is_absolute(), name
        configs.add(args.config)
        assert PurePosixPath(one(service, "WorkingDirectory", name)).is_absolute(), name
        assert one(service, "EnvironmentFile", name).lstrip("-").startswith("/"), name
        assert one(service, "User", name) not in ("root", "0"), name
        for key, value in {
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
        }.items():
            assert one(service, key, name) == value, f"{name}: {key}"
        env = unit_env(service)
        assert not unknown_variables(env), f"{name}: {unknown_variables(env)}"
        if name == "newsbrief-migrate.service":
            assert (args.command, args.action) == ("db", "upgrade"), name
            continue
        # The roles start once the migration ran: several migrating at once collide.
        assert "newsbrief-migrate.service" in " ".join(sections["Unit"].get("After", [])), name
        assert one(sections["Install"], "WantedBy", name) == "newsbrief.target", name
        assert one(sections["Unit"], "PartOf", name) == "newsbrief.target", name
        assert one(service, "Restart", name) == "always", name
        assert roles_of(args) == [name.removeprefix("newsbrief-").removesuffix(".service")]
        ports[name] = int(env["NEWSBRIEF_SERVER__PORT"])
        # Only the bot takes admin commands, which save the config: ProtectSystem=strict
        # leaves the config folder read-only for every other role.
        folder = PurePosixPath(args.config).parent
        writable = [PurePosixPath(p.lstrip("-")) for p in service.get("ReadWritePaths", [])]
        assert any(folder.is_relative_to(p) for p in writable) == (name.endswith("-bot.service"))
    assert len(set(ports.values())) == len(ports), f"two roles on one port: {ports}"
    assert len(configs) == 1, f"the units read different configs: {configs}"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_accepts_every_directive(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on copies whose ExecStart runs /bin/true (the venv is not
    installed here): any unknown key or bad value is a line of output."""
    for path in UNITS.iterdir():
        text = path.read_text(encoding="utf-8").replace(VENV_NEWSBRIEF, shutil.which("true") or "")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    files = [str(p) for p in sorted(tmp_path.iterdir())]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True
    )
    assert not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


# -- the env file --------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    """``NAME=value`` lines of the example, commented-out ones too (they are documentation)."""
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_env_example_names_real_variables_and_holds_no_secret() -> None:
    example = env_example()
    interpolated = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text())}
    assert not unknown_variables(set(example) - interpolated), unknown_variables(example)
    assert "TELEGRAM_BOT_TOKEN" in example
    for name, value in example.items():
        if name in SECRET_SETTINGS | {"TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD"}:
            assert value == "", f"{name} has a value in the example"
