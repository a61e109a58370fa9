"""Edit the ``feeds:`` list of ``config/newsbrief.yaml`` in place, keeping everything else.

ruamel.yaml's round-trip loader finds where each feed sits and renders the new entries, but the
file itself is changed by splicing lines: a full round-trip dump would re-flow the multi-line
``keywords: [...]`` lists of the topics. So every byte outside the edited lines stays as it was.
A ``feeds:`` list written in flow style (``feeds: []``, ``feeds: [{...}]``) is the exception:
it is rewritten in block style.

Every edit is checked by loading the result with ``load_config``; an edit that makes the
config invalid is undone (the original bytes are written back) and its ConfigError raised,
so an invalid config never stays on disk. Writes go through a temporary file and
``os.replace``, so a reader never sees half a file.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsbrief.settings import FeedConfig, config_path, load_config, plain_data

if sys.platform != "win32":
    import fcntl

_HOST_PREFIXES = ("www", "m", "feeds", "feed", "rss")
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac", "co"}
# The style of the shipped config, used when the file has no block list to copy it from.
_DEFAULT_DASH, _DEFAULT_CONTENT = 2, 4


@dataclass(frozen=True, slots=True)
class Addition:
    """What adding one entry will do."""

    id: str
    """The new feed's id (given or derived), or for a duplicate the id it collides with."""
    url: str
    entry: dict[str, Any]
    """The mapping written to the file (``id`` filled in)."""
    duplicate: str | None = None
    """Why the entry is skipped, e.g. ``already present as 'ithome'``; None when it is added."""


def url_key(url: str) -> str:
    """Two feed URLs that differ only in scheme, host case, default port, trailing slash or
    fragment are taken for the same feed."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/")
    return f"{netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def derive_id(url: str, taken: Iterable[str] = ()) -> str:
    """A feed id from the URL's host (``www.ithome.com`` -> ``ithome``), unique among ``taken``
    by a numeric suffix (``ithome-2``)."""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
        labels = [host]  # an address is all significant
    except ValueError:
        labels = host.split(".")
        while len(labels) > 1 and labels[0] in _HOST_PREFIXES:
            labels.pop(0)
        if len(labels) > 1:
            labels.pop()  # the top-level domain
        if len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
            labels.pop()  # co.uk, com.cn
    base = re.sub(r"[^a-z0-9_-]+", "-", "-".join(labels)).strip("-_")[:56] or "feed"
    used = set(taken)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def plan_additions(
    existing: Iterable[tuple[str, str]],
    new: Sequence[Mapping[str, Any]],
    *,
    on_taken_id: Literal["skip", "derive"] = "skip",
) -> list[Addition]:
    """What ``add_feeds`` does with each of ``new`` given the ``(id, url)`` pairs already there:
    an entry whose URL (see ``url_key``) is taken, by an existing feed or by an earlier entry of
    ``new``, is a duplicate; so is one whose given id is taken, unless ``on_taken_id="derive"``
    (the id is then only a wish). The others get their id, derived from the host when not
    given."""
    url_of: dict[str, str] = {}
    id_of: dict[str, str] = {}
    for feed_id, url in existing:
        url_of[feed_id] = url
        id_of.setdefault(url_key(url), feed_id)
    out: list[Addition] = []
    for entry in new:
        url = str(entry.get("url") or "").strip()
        if not url:
            raise ValueError(f"a feed needs a url: {dict(entry)!r}")
        key = url_key(url)
        given = entry.get("id")
        if key in id_of:
            reason = f"already present as {id_of[key]!r}"
            out.append(Addition(id_of[key], url, dict(entry), reason))
            continue
        if given and str(given) in url_of and on_taken_id == "skip":
            reason = f"the id {given!r} is already used by {url_of[str(given)]}"
            out.append(Addition(str(given), url, dict(entry), reason))
            continue
        feed_id = str(given) if given and str(given) not in url_of else derive_id(url, url_of)
        url_of[feed_id] = url
        id_of[key] = feed_id
        out.append(Addition(feed_id, url, _entry(feed_id, url, entry)))
    return out


def _entry(feed_id: str, url: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in the order FeedConfig declares them; empty optional values left out."""
    out: dict[str, Any] = {"id": feed_id, "url": url}
    order = list(FeedConfig.model_fields)
    for key in sorted(entry, key=lambda k: order.index(k) if k in order else len(order)):
        value = entry[key]
        if key not in out and value is not None and value != [] and value != ():
            out[key] = value
    return out


def add_feeds(path: str | Path | None, new: Sequence[Mapping[str, Any]]) -> list[str]:
    """Append ``new`` feeds (mappings with ``url`` and optionally ``id``, ``topics``,
    ``interval``…) to the config's ``feeds:`` list; return the ids added, in order.

    Duplicates (see ``plan_additions``) are skipped, not errors: call ``plan_additions`` first
    to learn why one would be. Raises ConfigError, leaving the file untouched, when the config
    is invalid before the edit or would be after it.
    """
    added: list[str] = []

    def edit(text: str, doc: CommentedMap) -> str | None:
        feeds = doc.get("feeds")
        existing = [
            (str(f.get("id")), str(f.get("url")))
            for f in (feeds if isinstance(feeds, list) else [])
            if isinstance(f, Mapping)
        ]
        entries = [a.entry for a in plan_additions(existing, new) if a.duplicate is None]
        added.extend(str(e["id"]) for e in entries)
        return _append(text, doc, entries) if entries else None

    _edit(path, edit)
    return added


def remove_feed(path: str | Path | None, feed_id: str) -> bool:
    """Delete the feed ``feed_id`` (its lines, from ``- `` to its last value); False when the
    config has no such feed. Comments around it stay."""

    def edit(text: str, doc: CommentedMap) -> str | None:
        feeds = doc.get("feeds")
        if not isinstance(feeds, CommentedSeq):
            return None
        index = next(
            (
                i
                for i, f in enumerate(feeds)
                if isinstance(f, Mapping) and str(f.get("id")) == feed_id
            ),
            None,
        )
        if index is None:
            return None
        if feeds.fa.flow_style():
            rest = [plain_data(f) for i, f in enumerate(feeds) if i != index]
            return _rewrite_section(text, doc, rest)
        lines = text.splitlines(keepends=True)
        start = feeds.lc.item(index)[0]
        stop = feeds.lc.item(index + 1)[0] if index + 1 < len(feeds) else _section_end(doc, lines)
        end = _item_end(lines, start, stop, _dash_column(lines[start]))
        del lines[start : end + 1]
        if len(feeds) == 1:
            # An empty block list reads as null, which is not a list: say [] instead.
            key_line = doc.lc.key("feeds")[0]
            lines[key_line] = re.sub(r"^(\S.*?:)(\s*)", r"\1 []\2", lines[key_line], count=1)
        return "".join(lines)

    return _edit(path, edit)


# -- the edit transaction ---------------------------------------------------------------------


def _edit(path: str | Path | None, change: Callable[[str, CommentedMap], str | None]) -> bool:
    """Apply ``change`` to the file's text; validate; undo on any failure. True if written."""
    file = config_path(path)
    target = file.resolve()  # through a symlink, so the link itself stays a link
    with _locked(target):
        return _edit_locked(file, target, change)


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Serialise edits of one file across processes and threads (a CLI edit and the bot's
    admin commands): without it, two edits at once would silently lose one of them."""
    if sys.platform == "win32" or not target.exists():
        yield
        return
    while True:
        with open(target, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            # The previous holder may have replaced the file: then lock the new one.
            if target.exists() and os.stat(target).st_ino == os.fstat(handle.fileno()).st_ino:
                yield
                return


def _edit_locked(
    file: Path, target: Path, change: Callable[[str, CommentedMap], str | None]
) -> bool:
    original = target.read_bytes() if target.exists() else None
    load_config(file)  # an already broken config is reported as it is, not blamed on the edit
    text = original.decode("utf-8") if original is not None else ""
    doc = _yaml().load(text) if text.strip() else None
    updated = change(text, doc if isinstance(doc, CommentedMap) else CommentedMap())
    if updated is None or updated == text:
        return False
    _write_atomic(target, updated.encode("utf-8"))
    try:
        load_config(file)
    except BaseException:
        if original is None:
            target.unlink(missing_ok=True)
        else:
            _write_atomic(target, original)
        raise
    return True


def _write_atomic(target: Path, data: bytes) -> None:
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # mkstemp makes it 0600; keep the config's own mode
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


# -- text surgery -----------------------------------------------------------------------------


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never wrap a rendered line
    return yaml


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _dash_column(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _section_end(doc: CommentedMap, lines: list[str]) -> int:
    """The line of the top-level key after ``feeds``, or the end of the file."""
    keys = list(doc)
    position = keys.index("feeds") if "feeds" in keys else len(keys)
    if position + 1 < len(keys):
        line: int = doc.lc.key(keys[position + 1])[0]
        return line
    return len(lines)


def _item_end(lines: list[str], start: int, stop: int, dash: int) -> int:
    """Last line of the list item starting at ``start``: its last value line, plus the comment
    lines right after it that are indented into the item (a commented-out key of its own)."""
    end = start
    for i in range(start, stop):
        if lines[i].strip() and not _is_comment(lines[i]):
            end = i
    while end + 1 < stop and _is_comment(lines[end + 1]) and _dash_column(lines[end + 1]) > dash:
        end += 1
    return end


def _render(entries: Sequence[Mapping[str, Any]], dash: int, content: int, newline: str) -> str:
    """Entries as block list items at the given columns, each rendered by ruamel (so quoting is
    right), topics as a flow list like the shipped config's ``topics: [tech]``."""
    yaml = _yaml()
    out: list[str] = []
    for entry in entries:
        mapping = CommentedMap()
        for key, value in entry.items():
            if isinstance(value, list | tuple):
                value = CommentedSeq(value)
                value.fa.set_flow_style()
            mapping[key] = value
        buffer = io.StringIO()
        yaml.dump(mapping, buffer)
        for n, line in enumerate(buffer.getvalue().splitlines()):
            lead = " " * dash + "-" + " " * (content - dash - 1) if n == 0 else " " * content
            out.append(lead + line + newline)
    return "".join(out)


def _append(text: str, doc: CommentedMap, entries: Sequence[Mapping[str, Any]]) -> str:
    feeds = doc.get("feeds")
    if not isinstance(feeds, CommentedSeq) or not feeds or feeds.fa.flow_style():
        existing = [plain_data(f) for f in feeds] if isinstance(feeds, CommentedSeq) else []
        return _rewrite_section(text, doc, [*existing, *entries])
    lines = text.splitlines(keepends=True)
    last = feeds.lc.item(len(feeds) - 1)[0]
    dash = _dash_column(lines[last])
    content = feeds.lc.item(len(feeds) - 1)[1]
    end = _item_end(lines, last, _section_end(doc, lines), dash)
    newline = _newline(text)
    if not lines[end].endswith(("\n", "\r")):
        lines[end] += newline
    lines.insert(end + 1, _render(entries, dash, content, newline))
    return "".join(lines)


def _rewrite_section(text: str, doc: CommentedMap, entries: Sequence[Mapping[str, Any]]) -> str:
    """Replace the ``feeds:`` key and its (flow or empty) value by a block list, or add the
    section at the end of the file when there is none."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    body = _render(entries, _DEFAULT_DASH, _DEFAULT_CONTENT, newline) if entries else ""
    section = ("feeds:" if entries else "feeds: []") + newline + body
    if "feeds" not in doc:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        gap = newline if lines and lines[-1].strip() else ""
        return "".join(lines) + gap + section
    start = doc.lc.key("feeds")[0]
    stop = _section_end(doc, lines)
    end = start
    for i in range(start, stop):
        if lines[i].strip() and not _is_comment(lines[i]):
            end = i
    lines[start : end + 1] = [section]
    return "".join(lines)
