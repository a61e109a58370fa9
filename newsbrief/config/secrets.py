"""Every secret a loaded config reaches, and the redactors built from them.

Found by walking the config rather than by a list of fields, so a secret field added later (an
LLM key, the console's token) is masked the day it is added: every ``SecretStr`` anywhere in the
config (the Telegram token and webhook secret, the callbacks' tokens and keys), the robots' webhook keys and signing secrets (read from the environment variables the
config names), the database URL's password, and any environment variable whose name says it
holds a credential.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from newsbrief.config.settings import Config
from newsbrief.redaction import Redactor

# NEWSBRIEF_ADMIN__TOKEN, NEWSBRIEF_LLM__API_KEY, TELEGRAM_BOT_TOKEN, PGPASSWORD, …
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|AES_KEY|_KEY)$", re.IGNORECASE)
_SECRET_PREFIXES = ("NEWSBRIEF_", "TELEGRAM_", "PG")


def _secret_fields(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_fields(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _secret_fields(item)


def url_password(url: str) -> list[str]:
    """The password of a database URL, as written and decoded."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def environment_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The secrets known before any config is read: variables named like credentials, the
    password of ``NEWSBRIEF_DATABASE_URL``."""
    found = [
        value
        for name, value in environ.items()
        if name.upper().startswith(_SECRET_PREFIXES) and _SECRET_NAME.search(name)
    ]
    found += url_password(environ.get("NEWSBRIEF_DATABASE_URL", ""))
    return [s.strip() for s in found if s and s.strip()]


def config_secrets(config: Config, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Every secret value ``config`` reaches (see the module's docstring)."""
    found = list(_secret_fields(config))
    names = [r.key_env for r in config.robots] + [r.secret_env or "" for r in config.robots]
    found += [environ[n] for n in names if n and environ.get(n)]
    found += url_password(config.database_url)
    found = [s.strip() for s in found if s and s.strip()]
    return found + environment_secrets(environ)


_cache: dict[int, tuple[Config, Redactor, Redactor]] = {}


def redactors(config: Config) -> tuple[Redactor, Redactor]:
    """``(for logs, for replies)`` of this config: replies mask the values only (see Redactor).

    Kept per config object: the config changes only on a reload, and building one compiles a
    pattern of every secret's forms."""
    hit = _cache.get(id(config))
    if hit is None or hit[0] is not config:
        secrets = config_secrets(config)
        hit = (config, Redactor(secrets), Redactor(secrets, shapes=False))
        if len(_cache) > 8:  # configs replaced by reloads
            _cache.clear()
        _cache[id(config)] = hit
    return hit[1], hit[2]
