"""What every config section shares: the base model, ids, URLs.

A module of its own so that sections defined elsewhere (``newsbrief.config.channels``) and
``newsbrief.config.settings``, which gathers them into ``Config``, can both use it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

# The one rule for every id an admin writes: feeds, topics and their groups, robots. Lowercase
# letters, digits, '-' and '_', a letter or digit first, at most 64 characters (the store's id
# columns are String(64)). Of the two rules there were, this is the wider: the taxonomy's
# letter first and 32 characters had no reason in the code, and feeds like "36kr" need a
# digit first. So every id valid before stays valid. Matched with ``match`` as it always was
# (``$`` lets one trailing newline through; ``fullmatch`` would reject configs valid today).
ID_MAX_LEN = 64
ID_PATTERN = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{ID_MAX_LEN - 1}}}$")


def check_http_url(url: str) -> str:
    """Accept only absolute http(s) URLs with a host; feeds and APIs are nothing else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.strip()


def check_id(value: str) -> str:
    """``value`` if it is an id (see ``ID_PATTERN``), else ValueError saying why not."""
    if not ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not an id (lowercase letters, digits, - and _)")
    return value


class Section(BaseModel):
    """A config section: an unknown key is an error (a typo must not pass unnoticed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
