"""Reading an admin's YAML file with bounds: its size, its nesting and what its aliases expand to.

YAML aliases share one node however often it is named, so ``a: &a [x, x]`` / ``b: &b [*a, *a]``
/ … nine levels deep is a few hundred bytes that expand to a billion nodes (the "billion laughs").
ruamel builds the shared graph cheaply; what blows up is every later walk that copies it
(``plain_data``, pydantic). So the graph is measured once, each shared node counted as often as
it is reached but computed only once, and a file over the limits is refused with the line of the
node that crosses them, before anything copies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

MAX_FILE_BYTES = 1 << 20
"""A config or taxonomy file larger than this is refused (the shipped taxonomy is 62 KB)."""
MAX_NODES = 250_000
"""Most values a file may hold once its aliases are expanded (10,000 feeds take 100,000)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a config needs five)."""


class YamlFileError(Exception):
    """Why a file cannot be used, with the 1-based line when there is one."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(reason)


def load_yaml(path: Path) -> Any:
    """The file's round-trip document (``CommentedMap``/``CommentedSeq`` with line numbers), or
    YamlFileError: unreadable, too large, bad syntax, too deep, or aliases expanding too far."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlFileError(None, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise YamlFileError(None, f"larger than {MAX_FILE_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlFileError(line, f"YAML syntax: {exc.problem}") from exc
    except RecursionError as exc:
        raise YamlFileError(None, f"nested deeper than {MAX_DEPTH} levels") from exc
    check_size(doc)
    return doc


def check_size(doc: Any) -> None:
    """YamlFileError when ``doc`` nests deeper than MAX_DEPTH, refers to itself, or expands to
    more than MAX_NODES values."""
    sizes: dict[int, int] = {}
    if _size(doc, sizes, set(), 0, 1) > MAX_NODES:
        line = _culprit(doc, sizes, 1)
        raise YamlFileError(line, f"aliases expand to more than {MAX_NODES:,} values")


def _children(node: Any) -> list[tuple[Any, int | None]]:
    """A container's values, each with its line when ruamel recorded one."""
    if isinstance(node, Mapping):
        lines = node.lc if isinstance(node, CommentedMap) else None
        out = []
        for key, value in node.items():
            line = None
            if lines is not None and key in (lines.data or {}):
                line = lines.key(key)[0] + 1
            out.append((value, line))
        return out
    if isinstance(node, list):
        seq = node.lc if isinstance(node, CommentedSeq) else None
        return [
            (value, seq.item(i)[0] + 1 if seq is not None and i in (seq.data or {}) else None)
            for i, value in enumerate(node)
        ]
    return []


def _size(node: Any, sizes: dict[int, int], open_: set[int], depth: int, line: int | None) -> int:
    """Values under ``node``, itself included, with every alias expanded (memoised per object,
    so a shared node costs one walk)."""
    if not isinstance(node, Mapping | list):
        return 1
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise YamlFileError(line, "an alias refers to the node that contains it")
    if depth >= MAX_DEPTH:
        raise YamlFileError(line, f"nested deeper than {MAX_DEPTH} levels")
    open_.add(key)
    total = 1
    for child, child_line in _children(node):
        total += _size(child, sizes, open_, depth + 1, child_line or line)
        if total > MAX_NODES:
            break  # enough to refuse; the rest need not be counted
    open_.discard(key)
    sizes[key] = total
    return total


def _culprit(node: Any, sizes: dict[int, int], line: int) -> int:
    """The line to blame: down through the one child that is too large alone, to the container
    whose own values cross the limit (an alias's line is its anchor's, so the container's)."""
    while True:
        line = _own_line(node) or line
        total = 1
        for child, _ in _children(node):
            size = sizes.get(id(child), 1)
            if size > MAX_NODES:
                node = child
                break
            total += size
            if total > MAX_NODES:
                return line
        else:
            return line


def _own_line(node: Any) -> int | None:
    if isinstance(node, CommentedMap | CommentedSeq) and node.lc.line is not None:
        return int(node.lc.line) + 1
    return None
