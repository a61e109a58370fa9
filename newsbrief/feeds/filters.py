"""Per-feed keyword filters (``feeds[].include`` / ``feeds[].exclude``) on a feed's entries.

An entry is kept when its title or text holds one ``include`` keyword (if the feed lists any)
and no ``exclude`` keyword. Matching ignores case, full/half width and Chinese script:
``區塊鏈`` matches ``区块链`` and ``ＡＩ`` matches ``ai``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from newsbrief.records import Entry
from newsbrief.text.chinese import to_simplified
from newsbrief.text.html_text import html_to_text


def fold(text: str) -> str:
    """What keywords are compared on: NFKC (width), Simplified script, case-folded."""
    return to_simplified(unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True, slots=True)
class FeedFilter:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Folded once: a filter checks every entry of its feed.
        object.__setattr__(self, "include", tuple(fold(w) for w in self.include))
        object.__setattr__(self, "exclude", tuple(fold(w) for w in self.exclude))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def verdict(self, entry: Entry) -> str | None:
        """None when the entry is kept; else why not (``exclude: 广告``, ``include: none of 2``)."""
        text = fold(f"{entry.title}\n{html_to_text(entry.content_html)}")
        for word in self.exclude:
            if word in text:
                return f"exclude: {word}"
        if self.include and not any(word in text for word in self.include):
            return f"include: none of {len(self.include)}"
        return None
