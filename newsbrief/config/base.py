"""What every config section shares: the base model, ids, URLs, languages.

A module of its own so that sections defined elsewhere (``newsbrief.config.channels``) and
``newsbrief.config.settings``, which gathers them into ``Config``, can both use it.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
Language = Literal["zh-Hans", "zh-Hant", "en"]
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_http_url(url: str) -> str:
    """Accept only absolute http(s) URLs with a host; feeds and APIs are nothing else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.strip()


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"{value!r} is not an id (lowercase letters, digits, - and _)")
    return value


class Section(BaseModel):
    """A config section: an unknown key is an error (a typo must not pass unnoticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
