"""Chinese script conversion (OpenCC), loaded once per process.

Matching and deduplication run on Simplified text: a Traditional repost of a story scores near
zero similarity until converted. Original text is always kept; only comparisons use this.
"""

from __future__ import annotations

import functools

import opencc


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional (Taiwan/Hong Kong) characters to Simplified; other text passes through."""
    return _converter("t2s").convert(text) if text else text


def to_traditional(text: str) -> str:
    """Simplified to Traditional, for zh-Hant readers."""
    return _converter("s2t").convert(text) if text else text
