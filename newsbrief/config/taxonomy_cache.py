"""The validated taxonomy, kept between runs: reading ``topics.yaml`` is most of a command's start.

ruamel's round-trip parser (pure Python: it keeps the line numbers that problems are reported
with) takes about 0.4 s for the shipped 62 KB file, more than every import of ``newsbrief config
check``. A file that validated once is therefore kept as JSON under the user's cache folder,
named by a hash of its bytes and of the code that validates it, so an edit to either reads the
file again. A file with problems is never kept (its problems are reported from the file), and
a cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from newsbrief import records
from newsbrief.articles import topics as matcher
from newsbrief.config import base, taxonomy, yamlfile
from newsbrief.config.taxonomy import Taxonomy, load_taxonomy
from newsbrief.records import Topic, TopicNames

CACHE_ENV = "NEWSBRIEF_CACHE_DIR"
"""Where the cache lives (default ``$XDG_CACHE_HOME/newsbrief``, else ``~/.cache/newsbrief``)."""
_VALIDATORS = (taxonomy, yamlfile, records, base, matcher)
"""The modules whose code decides what a valid taxonomy is and what it becomes."""


def cache_folder() -> Path:
    if folder := os.environ.get(CACHE_ENV):
        return Path(folder)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "newsbrief"


def _fingerprint() -> bytes:
    digest = hashlib.sha256()
    for module in _VALIDATORS:
        if module.__file__:
            digest.update(Path(module.__file__).read_bytes())
    return digest.digest()


def load_taxonomy_cached(path: Path) -> Taxonomy:
    """``load_taxonomy(path)``, from the cache when this file and this code validated before.
    Raises TaxonomyError as ``load_taxonomy`` does."""
    try:
        key = hashlib.sha256(path.read_bytes() + _fingerprint()).hexdigest()[:32]
        kept = cache_folder() / f"taxonomy-{key}.json"
    except (OSError, RuntimeError):  # unreadable file, or no home folder to cache in
        return load_taxonomy(path)
    with suppress(OSError, ValueError, TypeError, KeyError):
        return Taxonomy(tuple(_topic(item) for item in json.loads(kept.read_bytes())))
    found = load_taxonomy(path)
    with suppress(OSError):
        _write(kept, [asdict(t) for t in found.topics])
    return found


def _topic(item: dict[str, Any]) -> Topic:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
    fields["names"] = TopicNames(**item["names"])
    return Topic(**fields)


def _write(target: Path, data: list[dict[str, Any]]) -> None:
    """Atomically (two processes may start at once), owner-only like the rest of the state."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".taxonomy-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
