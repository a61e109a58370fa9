"""The measuring-only part of ../shared/data: kept out of every tuning decision.

Rules, thresholds and models are tuned on the ``dev`` part of each corpus; the ``held_out``
part (about a third, chosen by a hash of each item's key, so the split never changes) is only
measured, and the benchmarks print it beside the dev figures. A figure that holds on the dev
part but not on the held-out part is a rule fitted to examples.

Keys: a page's file stem for the extraction sets, the text itself for headline and summary rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
_SALT = b"newsbrief-holdout-1:"


def held_out(key: str) -> bool:
    """Whether the item with this key is for measuring only (about one in three)."""
    digest = hashlib.sha1(_SALT + key.encode("utf-8"), usedforsecurity=False).digest()
    return digest[0] % 3 == 0


def split(items: Iterable[T], key: Callable[[T], str]) -> tuple[list[T], list[T]]:
    """(dev, held_out) parts of ``items``, in their original order."""
    dev: list[T] = []
    kept: list[T] = []
    for item in items:
        (kept if held_out(key(item)) else dev).append(item)
    return dev, kept
