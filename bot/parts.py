"""A digest as a list of blocks, and the split of those blocks into messages within a limit.

A block is a short string: ``title:<count>`` (``title:<count>@<edition>`` when dated, see
``newsbrief.editions.edition_token``), ``topic:<topic id>``, ``story:<story id>``,
``more:<count>`` or ``continued``. Parts are planned on blocks, not text, so a digest can be
stored in the outbox by reference and rendered when it is sent (see ``bot.render.materialize``); each
channel's renderer says how big a block is in its own units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from newsbrief.editions import edition_token, parse_edition_token
from newsbrief.records import Digest, Edition

Block = str
CONTINUED: Block = "continued"


Section = tuple[Block, Sequence[Block]]
"""A topic heading and its items."""


def title_block(count: int, edition: Edition | None = None) -> Block:
    return f"title:{count}@{edition_token(edition)}" if edition else f"title:{count}"


def parse_title(arg: str) -> tuple[int, Edition | None]:
    """A title block's argument (after ``title:``) -> (story count, edition)."""
    count, _, token = arg.partition("@")
    return int(count), parse_edition_token(token) if token else None


def digest_sections(digest: Digest) -> list[Section]:
    return [
        (f"topic:{section.topic_id}", [f"story:{item.story_id}" for item in section.items])
        for section in digest.sections
    ]


def plan(
    items: int,
    sections: Sequence[Section],
    more: int,
    size: Callable[[Block], int],
    limit: int,
    title: Block | None = None,
) -> list[list[Block]]:
    """Greedy packing of a digest (title, sections, "and N more") into parts of at most
    ``limit`` units, cut only between items.

    A heading never ends a part: it moves to the next one with the item it introduces. Every
    part after the first starts with a "continued" line.
    """
    title = title or title_block(items)
    tail = [f"more:{more}"] if more else []
    whole = [title, *(b for head, blocks in sections if blocks for b in (head, *blocks)), *tail]
    if sum(map(size, whole)) <= limit:
        return [whole]  # the usual digest: one message, nothing to pack
    parts: list[list[Block]] = [[title]]
    part = parts[0]
    used = size(title)
    for heading, blocks in sections:
        lead: Block | None = heading
        for block in blocks:
            cost = size(block)
            if lead is not None:
                cost += size(lead)
            if used + cost > limit and len(part) > 1:
                part = [CONTINUED]
                parts.append(part)
                used = size(CONTINUED)
            if lead is not None:
                part.append(lead)
                lead = None
            part.append(block)
            used += cost
    if more:
        block = f"more:{more}"
        if used + size(block) > limit and len(part) > 1:
            part = [CONTINUED]
            parts.append(part)
        part.append(block)
    return parts
