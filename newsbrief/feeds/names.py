"""A feed's name as readers see it: the admin's ``feeds[].name``, else the feed's own title,
made readable (``NYT &gt; World News`` -> ``NYT > World News``)."""

from __future__ import annotations

import functools
import html

MAX_NAME_CHARS = 60
"""A name is a label beside every story: a feed titled with a paragraph is cut here."""


@functools.lru_cache(maxsize=4096)  # a window of stories names a few dozen feeds
def display_name(title: str | None, name: str | None = None, fallback: str = "") -> str:
    """HTML entities decoded once (a title escaped twice by its feed shows its ``&gt;`` no
    more; a literal ``&amp;gt;`` after decoding stays as written), control characters and runs
    of whitespace collapsed to one space, capped at ``MAX_NAME_CHARS``."""
    for candidate in (name, title):
        if candidate:
            text = html.unescape(candidate)
            text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
            if text:
                if len(text) > MAX_NAME_CHARS:
                    text = text[: MAX_NAME_CHARS - 1].rstrip() + "…"
                return text
    return fallback
