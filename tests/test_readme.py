"""The README's quick start and references stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from newsbrief.config.settings import Config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start needs a fenced sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    demo, tests = quick_start()
    assert demo.endswith("newsbrief demo")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()


def keys(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key the config accepts, from pydantic's JSON schema of it: that follows a section
    or list item however it is validated (an inline topic is validated into a Topic)."""
    out = []
    for name, prop in schema.get("properties", {}).items():
        items = prop.get("items", {})
        ref = prop.get("$ref") or items.get("$ref")
        if ref:
            nested = defs[ref.rsplit("/", 1)[-1]]
            out += keys(nested, defs, f"{prefix}{name}{'[]' if items else ''}.")
        else:
            out.append(prefix + name)
    return out


def test_every_config_key_is_documented() -> None:
    documented = README.split("## Configuration", 1)[1]
    schema = Config.model_json_schema()
    missing = [
        k
        for k in keys(schema, schema["$defs"])
        if f"`{k}`" not in documented and f"`{k.rsplit('.', 1)[0]}." not in documented
    ]
    assert not missing, f"config keys missing from the README: {missing}"


def test_every_command_is_documented() -> None:
    from bot.commands.core import COMMANDS

    for name in COMMANDS:
        assert f"`/{name}" in README, f"/{name} is not in the README"
    for command in (
        "demo",
        "run",
        "poll --once",
        "digest --once",
        "config check",
        "db upgrade",
        "feeds list",
        "feeds enable",
        "feeds add",
        "feeds import",
        "feeds export",
        "deliveries",
    ):
        assert f"`newsbrief {command}" in README, command
