"""Edit the config files in place, keeping everything else: the ``feeds:`` list of
``config/newsbrief.yaml``, and topics (their aliases too) wherever each lives, the taxonomy file
(``topics_file``) or the config's inline ``topics:``.

ruamel.yaml's round-trip loader finds where each feed sits and renders the new entries, but the
file itself is changed by splicing lines: a full round-trip dump would re-flow the multi-line
``keywords: [...]`` lists of the topics. So every byte outside the edited lines stays as it was.
A list written in flow style (``feeds: []``, ``feeds: [{...}]``) is the exception: it is
rewritten in block style.

Every edit, of either file, is checked by loading the whole config with ``load_config``; an
edit that makes the config invalid is undone (the original bytes are written back) and its ConfigError raised,
so an invalid config never stays on disk. Writes go through a temporary file and
``os.replace``, so a reader never sees half a file.

A whole file in flow style (``{"feeds": [...], ...}``, JSON being one) has no lines to splice:
it is edited as data and written back as JSON, unless it holds comments that would be lost.
Before anything is written, the new text must leave every other section exactly as it was;
whatever layout defeats the splicing is refused with that reason, never half-edited. A file
that cannot be written (read-only, in a read-only folder) raises ConfigEditError saying so.
"""

from __future__ import annotations

import errno
import io
import json
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
from ruamel.yaml.tokens import (
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
    ScalarToken,
)

from newsbrief.config.feed_ids import derive_id
from newsbrief.config.settings import FeedConfig, config_path, load_config, plain_data
from newsbrief.text.chinese import to_traditional

if sys.platform != "win32":
    import fcntl

# The style of the shipped config, used when the file has no block list to copy it from.
_DEFAULT_DASH, _DEFAULT_CONTENT = 2, 4


class ConfigEditError(ValueError):
    """An edit that was not made, nothing written: ``kind`` says why for a message catalogue
    (``read_only``, ``unwritable``, ``layout``), ``detail`` in English for logs and the CLI."""

    def __init__(self, file: Path, kind: Literal["read_only", "unwritable", "layout"], detail: str):
        self.file = file
        self.kind = kind
        self.detail = detail
        super().__init__(detail if str(file) in detail else f"{file}: {detail}")


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
    note: str | None = None
    """Why the id is not the one the entry wished for or its title gave (a removed feed had
    it), or that a removed feed's URL got its old id back; None when there is nothing to say."""
    passed_over: str | None = None
    """The id this feed would have had but a removed feed holds (the note's subject)."""


def url_key(url: str) -> str:
    """Two feed URLs that differ only in scheme, host case, default port, trailing slash or
    fragment are taken for the same feed."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/")
    return f"{netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def plan_additions(
    existing: Iterable[tuple[str, str]],
    new: Sequence[Mapping[str, Any]],
    *,
    on_taken_id: Literal["skip", "derive"] = "skip",
    retired: Iterable[tuple[str, str]] = (),
) -> list[Addition]:
    """What ``add_feeds`` does with each of ``new`` given the ``(id, url)`` pairs already there:
    an entry whose URL (see ``url_key``) is taken, by an existing feed or by an earlier entry of
    ``new``, is a duplicate; so is one whose given id is taken, unless ``on_taken_id="derive"``
    (the id is then only a wish). The others get their id; one not given is derived from the
    entry's ``title`` (the feed's own title: guides the id, is not written) or else its
    ``name`` (the display name: written), else the host (``feed_ids.derive_id``).

    ``retired`` are the ``(id, url)`` of feeds the database remembers that left the config.
    Their ids stay theirs: the URL of one comes back under its old id, and another URL never
    gets one silently (a given id is refused or, as a wish, replaced; a derived one takes the
    next free id), the ``note`` of its Addition saying so."""
    url_of: dict[str, str] = {}
    id_of: dict[str, str] = {}
    for feed_id, url in existing:
        url_of[feed_id] = url
        id_of.setdefault(url_key(url), feed_id)
    gone = {feed_id: url for feed_id, url in retired if feed_id not in url_of}
    gone_id_of = {url_key(url): feed_id for feed_id, url in gone.items()}
    out: list[Addition] = []
    for entry in new:
        url = str(entry.get("url") or "").strip()
        if not url:
            raise ValueError(f"a feed needs a url: {dict(entry)!r}")
        key = url_key(url)
        given = str(entry["id"]) if entry.get("id") else None
        if key in id_of:
            reason = f"already present as {id_of[key]!r}"
            out.append(Addition(id_of[key], url, dict(entry), reason))
            continue
        if given and given in url_of and on_taken_id == "skip":
            reason = f"the id {given!r} is already used by {url_of[given]}"
            out.append(Addition(given, url, dict(entry), reason))
            continue
        theirs = gone.get(given or "")
        if given and theirs is not None and url_key(theirs) != key and on_taken_id == "skip":
            reason = (
                f"the id {given!r} belonged to a removed feed ({theirs}) whose stored entries "
                "would pass to this one; choose another id"
            )
            out.append(Addition(given, url, dict(entry), reason))
            continue
        feed_id, passed_over, note = _choose_id(url, key, given, entry, url_of, gone, gone_id_of)
        url_of[feed_id] = url
        id_of[key] = feed_id
        out.append(Addition(feed_id, url, _entry(feed_id, url, entry), None, note, passed_over))
    return out


def _choose_id(
    url: str,
    key: str,
    given: str | None,
    entry: Mapping[str, Any],
    url_of: Mapping[str, str],
    gone: Mapping[str, str],
    gone_id_of: Mapping[str, str],
) -> tuple[str, str | None, str | None]:
    """``(id, passed over, note)``: the id of a new feed and, when a removed feed's id decided
    it, that id and why."""
    back = gone_id_of.get(key)
    if given and given not in url_of and (given not in gone or given == back):
        return given, None, None
    if back is not None and back not in url_of and not given:
        return back, None, f"{back!r} again: the id this URL had before it was removed"
    hint = entry.get("title") or entry.get("name") or given
    title = str(hint) if hint else None
    wanted = given or derive_id(url, url_of, title=title)
    feed_id = derive_id(url, {*url_of, *gone}, title=title)
    if wanted == feed_id or wanted not in gone:
        return feed_id, None, None
    return (
        feed_id,
        wanted,
        (f"{wanted!r} belonged to a removed feed ({gone[wanted]}), so this one is {feed_id!r}"),
    )


def _entry(feed_id: str, url: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in the order FeedConfig declares them; empty optional values left out."""
    out: dict[str, Any] = {"id": feed_id, "url": url}
    order = list(FeedConfig.model_fields)
    for key in sorted(entry, key=lambda k: order.index(k) if k in order else len(order)):
        value = entry[key]
        if key == "title":
            continue  # the feed's own title: it chose the id, the feed keeps telling it
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

    _edit(path, edit, section="feeds")
    return added


def remove_feed(path: str | Path | None, feed_id: str) -> bool:
    """Delete the feed ``feed_id`` (its lines, from ``- `` to its last value); False when the
    config has no such feed. Comments around it stay."""
    return _edit(path, lambda text, doc: _remove_item(text, doc, "feeds", feed_id), section="feeds")


def _remove_item(text: str, doc: CommentedMap, key: str, item_id: str) -> str | None:
    items = doc.get(key)
    if not isinstance(items, CommentedSeq):
        return None
    index = _index_of(items, item_id)
    if index is None:
        return None
    if items.fa.flow_style():
        rest = [plain_data(f) for i, f in enumerate(items) if i != index]
        return _rewrite_section(text, doc, rest, key)
    lines = text.splitlines(keepends=True)
    start = items.lc.item(index)[0]
    stop = items.lc.item(index + 1)[0] if index + 1 < len(items) else _section_end(doc, lines, key)
    end = _item_end(lines, start, stop, _dash_column(lines[start]))
    del lines[start : end + 1]
    if (
        start > 0
        and not lines[start - 1].strip()
        and (index == len(items) - 1 or start == len(lines) or not lines[start].strip())
    ):
        del lines[start - 1]  # the blank line that set the item apart
    if len(items) == 1:
        # An empty block list reads as null, which is not a list: say [] instead.
        key_line = doc.lc.key(key)[0]
        lines[key_line] = re.sub(r"^(\S.*?:)(\s*)", r"\1 []\2", lines[key_line], count=1)
    return "".join(lines)


def _index_of(items: CommentedSeq, item_id: str) -> int | None:
    return next(
        (i for i, f in enumerate(items) if isinstance(f, Mapping) and str(f.get("id")) == item_id),
        None,
    )


# -- topics -----------------------------------------------------------------------------------


def topics_file(path: str | Path | None) -> Path | None:
    """The taxonomy file the config names (``topics_file``, next to it), or None."""
    file = config_path(path)
    doc = _yaml().load(file.read_text(encoding="utf-8")) if file.exists() else None
    name = doc.get("topics_file") if isinstance(doc, CommentedMap) else None
    return (file.parent / name).resolve() if isinstance(name, str) and name else None


def topic_home(path: str | Path | None, topic_id: str) -> Path | None:
    """The file that defines the topic: the config itself (inline) or the taxonomy file; None
    if neither does."""
    file = config_path(path)
    doc = _yaml().load(file.read_text(encoding="utf-8")) if file.exists() else None
    items = doc.get("topics") if isinstance(doc, CommentedMap) else None
    if isinstance(items, CommentedSeq) and _index_of(items, topic_id) is not None:
        return file
    taxonomy = topics_file(file)
    if taxonomy is None or not taxonomy.exists():
        return None
    # The taxonomy is long and slow to parse: look for the id's line; the edit itself parses.
    line = re.compile(rf"^[ -]*id:\s*(['\"]?){re.escape(topic_id)}\1\s*(#.*)?$", re.MULTILINE)
    return taxonomy if line.search(taxonomy.read_text(encoding="utf-8")) else None


def add_topic(
    path: str | Path | None,
    topic_id: str,
    zh: str,
    en: str,
    keywords: Sequence[str] = (),
) -> Path:
    """Append a topic to the taxonomy file when the config names one, else to the config's
    inline ``topics:``; return the file written. Each file's own schema is used (``names`` with
    all three scripts in the taxonomy, ``name: {zh, en}`` inline)."""
    file = config_path(path)
    taxonomy = topics_file(file)
    target = taxonomy if taxonomy is not None else file
    entry: dict[str, Any] = {"id": topic_id}
    if taxonomy is not None:
        entry["names"] = {"zh-Hans": zh, "zh-Hant": to_traditional(zh), "en": en}
        # The taxonomy's topics list the names that identify them as aliases: a topic with
        # aliases is not matched by its names (see newsbrief.articles.topics).
        entry["aliases"] = list(dict.fromkeys([zh, en]))
    else:
        entry["name"] = {"zh": zh, "en": en}
    if keywords:
        entry["keywords"] = list(dict.fromkeys(keywords))

    def edit(text: str, doc: CommentedMap) -> str | None:
        items = doc.get("topics")
        if isinstance(items, CommentedSeq) and _index_of(items, topic_id) is not None:
            raise ValueError(f"topic {topic_id!r} exists already")
        return _append(text, doc, [entry], "topics")

    _edit(file, edit, target, section="topics")
    return target


def remove_topic(path: str | Path | None, topic_id: str) -> Path | None:
    """Delete a topic from the file that defines it; that file, or None when no file does. A
    topic a feed or a subtopic still names is refused (ConfigError), the files untouched."""
    file = config_path(path)
    home = topic_home(file, topic_id)
    if home is None:
        return None
    removed = _edit(
        file, lambda text, doc: _remove_item(text, doc, "topics", topic_id), home, section="topics"
    )
    return home if removed else None


def add_topic_aliases(
    path: str | Path | None, topic_id: str, aliases: Sequence[str]
) -> tuple[Path, list[str]] | None:
    """Add ``aliases`` to a topic where it is defined; the file and the aliases that were new
    (ones it has already are skipped), or None when no file defines the topic.

    An inline topic without aliases matches its own names; with aliases it matches those
    instead (see ``newsbrief.articles.topics``), so its names are added first to keep them
    matching.
    """
    file = config_path(path)
    home = topic_home(file, topic_id)
    if home is None:
        return None
    added: list[str] = []

    def edit(text: str, doc: CommentedMap) -> str | None:
        items = doc.get("topics")
        index = _index_of(items, topic_id) if isinstance(items, CommentedSeq) else None
        if index is None:
            raise ValueError(f"no topic {topic_id!r} in {home}")
        topic = items[index]
        current = topic.get("aliases")
        have = [str(a) for a in current] if isinstance(current, list) else []
        wanted = list(aliases)
        if not have and home == file and isinstance(topic.get("name"), Mapping):
            wanted = [str(topic["name"].get("zh", "")), str(topic["name"].get("en", "")), *wanted]
        seen = {a.casefold() for a in have}
        for alias in (a.strip() for a in wanted):
            if alias and alias.casefold() not in seen:
                seen.add(alias.casefold())
                added.append(alias)
        return (
            _extend_list(text, topic, "aliases", added, after=("names", "name")) if added else None
        )

    _edit(file, edit, home, section="topics")
    return home, added


def _extend_list(
    text: str, mapping: CommentedMap, key: str, values: Sequence[str], after: Sequence[str]
) -> str:
    """Add ``values`` to the list under ``mapping[key]``, touching only where they go: inside
    the brackets of a flow list, after the last item of a block list, or as a new ``key:`` line
    (after the key of ``after`` the mapping has, or at its end) when there is no list yet."""
    if mapping.fa.flow_style():
        raise ValueError("the topic is written in flow style ({...}); edit it by hand")
    newline = _newline(text)
    current = mapping.get(key)
    if isinstance(current, CommentedSeq) and current.fa.flow_style():
        start, items = _flow_list(text, tuple(mapping.lc.value(key)))
        # Right after the last item, so a trailing comma or a line break before ] stays put.
        at = items[-1] if items else start + 1
        joined = (", " if items else "") + _flow_items(values)
        return text[:at] + joined + text[at:]
    lines = text.splitlines(keepends=True)
    if isinstance(current, CommentedSeq) and len(current):
        last_line = current.lc.item(len(current) - 1)[0]
        dash = _dash_column(lines[last_line])
        end = _item_end(lines, last_line, _mapping_end(mapping, lines), dash)
        rendered = "".join(f"{' ' * dash}- {_flow_items([v])}{newline}" for v in values)
        return _insert_after(lines, end, rendered, newline)
    if current is not None:
        raise ValueError(f"{key} is not a list; edit it by hand")
    column = mapping.lc.key(next(iter(mapping)))[1]
    line = f"{' ' * column}{key}: [{_flow_items(values)}]{newline}"
    keys = list(mapping)
    anchor = next((k for k in after if k in mapping), None)
    position = keys.index(anchor) + 1 if anchor is not None else len(keys)
    if position < len(keys):
        lines.insert(mapping.lc.key(keys[position])[0], line)
        return "".join(lines)
    end = _mapping_end(mapping, lines) - 1
    while end > 0 and (not lines[end].strip() or _is_comment(lines[end])):
        end -= 1
    return _insert_after(lines, end, line, newline)


def _insert_after(lines: list[str], end: int, block: str, newline: str) -> str:
    if not lines[end].endswith(("\n", "\r")):
        lines[end] += newline
    lines.insert(end + 1, block)
    return "".join(lines)


def _mapping_end(mapping: CommentedMap, lines: list[str]) -> int:
    """The line after a block mapping: the first value line indented less than its keys (the
    next list item or section), else the end of the file."""
    first_line, column = mapping.lc.key(next(iter(mapping)))
    for i in range(first_line + 1, len(lines)):
        line = lines[i]
        if line.strip() and not _is_comment(line) and _dash_column(line) < column:
            return i
    return len(lines)


def _flow_list(text: str, where: tuple[int, int]) -> tuple[int, list[int]]:
    """The flow list whose ``[`` is at (line, column): the index of its ``[`` and where each of
    its items ends, found by ruamel's scanner (so quoted commas and brackets are no trouble)."""
    line, column = where
    lines = text.splitlines(keepends=True)
    start = sum(len(x) for x in lines[:line]) + column
    if text[start : start + 1] != "[":
        raise ValueError(f"no flow list at line {line + 1}")
    # Scanning from the bracket: what follows the list is never reached (the scan is lazy).
    depth = 0
    ends: list[int] = []
    for token in _yaml().scan(text[start:]):
        if isinstance(token, FlowSequenceStartToken | FlowMappingStartToken):
            depth += 1
        elif isinstance(token, FlowSequenceEndToken | FlowMappingEndToken):
            depth -= 1
            if depth == 0:
                return start, ends
            if depth == 1:
                ends.append(start + token.end_mark.index)
        elif depth == 1 and isinstance(token, ScalarToken):
            ends.append(start + token.end_mark.index)
    raise ValueError(f"no flow list at line {line + 1}")


def _flow_items(values: Sequence[str]) -> str:
    """Values as flow-list items, quoted where YAML needs it (``a, 'b: c'``)."""
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    buffer = io.StringIO()
    _yaml().dump(seq, buffer)
    return buffer.getvalue().strip()[1:-1].strip()


# -- the edit transaction ---------------------------------------------------------------------


def _edit(
    path: str | Path | None,
    change: Callable[[str, CommentedMap], str | None],
    edited: Path | None = None,
    *,
    section: str,
) -> bool:
    """Apply ``change`` to the text of ``edited`` (the config itself by default, or its taxonomy
    file), which may alter only its top-level ``section``; validate the whole config; undo on
    any failure. True if written."""
    file = config_path(path)
    target = (edited or file).resolve()  # through a symlink, so the link itself stays a link
    shown = file if edited is None or target == file.resolve() else target
    _check_writable(target, shown)
    with _locked(target):
        return _edit_locked(file, target, change, section, shown)


def ensure_writable(path: str | Path | None) -> None:
    """ConfigEditError when the config file cannot be edited: checked before slow work (finding
    a site's feed) that would be wasted."""
    file = config_path(path)
    _check_writable(file.resolve(), file)


def _check_writable(target: Path, shown: Path) -> None:
    """Refuse before any work when the file will not be written: no write permission, or no
    write bit at all (an admin's chmod a-w means "hands off", even for root)."""
    if not target.exists():
        return
    mode = stat.S_IMODE(target.stat().st_mode)
    if not os.access(target, os.W_OK) or not mode & 0o222:
        raise ConfigEditError(shown, "read_only", f"{shown} is read-only")


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
    file: Path,
    target: Path,
    change: Callable[[str, CommentedMap], str | None],
    section: str,
    shown: Path,
) -> bool:
    original = target.read_bytes() if target.exists() else None
    load_config(file)  # an already broken config is reported as it is, not blamed on the edit
    text = original.decode("utf-8") if original is not None else ""
    doc = _yaml().load(text) if text.strip() else None
    doc = doc if isinstance(doc, CommentedMap) else CommentedMap()
    flow = doc.fa.flow_style()
    updated = _edit_flow(text, doc, change, shown) if flow else change(text, doc)
    if updated is None or updated == text:
        return False
    _check_rest_unchanged(doc, updated, section, shown)
    _write_atomic(target, updated.encode("utf-8"), shown)
    try:
        load_config(file)
    except BaseException:
        if original is None:
            target.unlink(missing_ok=True)
        else:
            _write_atomic(target, original, shown)
        raise
    return True


def _edit_flow(
    text: str, doc: CommentedMap, change: Callable[[str, CommentedMap], str | None], shown: Path
) -> str | None:
    """Edit a file written as one flow mapping (JSON, or YAML's ``{...}``): on a block copy of
    its data, written back as JSON (flow style still, and every value of a config survives)."""
    if any(getattr(token, "comment", None) for token in _yaml().scan(text)):
        raise ConfigEditError(
            shown,
            "layout",
            "the file is written in flow style ({...}) with comments, which an automatic edit "
            "would lose; edit it by hand or rewrite it in block style",
        )
    yaml = _yaml()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(plain_data(doc), buffer)
    block = buffer.getvalue()
    updated = change(block, _yaml().load(block))
    if updated is None:
        return None
    try:
        rendered = json.dumps(plain_data(_yaml().load(updated)), ensure_ascii=False, indent=2)
    except TypeError as exc:  # a date or another value JSON has no form for
        reason = f"flow-style file with a non-JSON value: {exc}"
        raise ConfigEditError(shown, "layout", reason) from None
    return rendered + _newline(text)


def _check_rest_unchanged(doc: CommentedMap, updated: str, section: str, shown: Path) -> None:
    """The edit's text must parse and hold every other section as before: the last guard
    against a layout the line splicing misread (which could otherwise drop whole sections and
    still pass validation)."""
    try:
        after = _yaml().load(updated)
    except Exception as exc:  # any parse failure of our own output
        raise ConfigEditError(shown, "layout", f"the edit would not parse ({exc})") from None
    before = plain_data(doc)
    after = plain_data(after) if isinstance(after, CommentedMap) else {}
    if {k: v for k, v in before.items() if k != section} != {
        k: v for k, v in after.items() if k != section
    }:
        raise ConfigEditError(
            shown,
            "layout",
            f"its layout could not be edited safely (the edit of {section!r} would have changed "
            "other sections); edit it by hand",
        )


def _write_atomic(target: Path, data: bytes, shown: Path | None = None) -> None:
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(shown or target, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # mkstemp makes it 0600; keep the config's own mode
        os.replace(temp, target)
    except BaseException as exc:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _write_error(shown or target, exc) from None
        raise


def _write_error(shown: Path, exc: OSError) -> ConfigEditError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigEditError(shown, "read_only", f"{shown} is read-only (its folder or disk)")
    return ConfigEditError(shown, "unwritable", f"{shown} cannot be written: {exc.strerror}")


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


def _section_end(doc: CommentedMap, lines: list[str], key: str = "feeds") -> int:
    """The line of the top-level key after ``key``, or the end of the file."""
    keys = list(doc)
    position = keys.index(key) if key in keys else len(keys)
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
    right), lists and mappings in flow style like the shipped files' ``topics: [tech]`` and
    ``names: {zh-Hans: …, en: …}``."""
    yaml = _yaml()
    out: list[str] = []
    for entry in entries:
        mapping = CommentedMap()
        for key, value in entry.items():
            if isinstance(value, list | tuple):
                value = CommentedSeq(value)
                value.fa.set_flow_style()
            elif isinstance(value, Mapping):
                value = CommentedMap(value)
                value.fa.set_flow_style()
            mapping[key] = value
        buffer = io.StringIO()
        yaml.dump(mapping, buffer)
        for n, line in enumerate(buffer.getvalue().splitlines()):
            lead = " " * dash + "-" + " " * (content - dash - 1) if n == 0 else " " * content
            out.append(lead + line + newline)
    return "".join(out)


def _append(
    text: str, doc: CommentedMap, entries: Sequence[Mapping[str, Any]], key: str = "feeds"
) -> str:
    items = doc.get(key)
    if not isinstance(items, CommentedSeq) or not items or items.fa.flow_style():
        existing = [plain_data(f) for f in items] if isinstance(items, CommentedSeq) else []
        return _rewrite_section(text, doc, [*existing, *entries], key)
    lines = text.splitlines(keepends=True)
    last = items.lc.item(len(items) - 1)[0]
    dash = _dash_column(lines[last])
    content = items.lc.item(len(items) - 1)[1]
    end = _item_end(lines, last, _section_end(doc, lines, key), dash)
    newline = _newline(text)
    # Topics are long and set apart by blank lines (the taxonomy's are): a new one is too.
    gap = newline if key == "topics" and last > 0 and not lines[last - 1].strip() else ""
    return _insert_after(lines, end, gap + _render(entries, dash, content, newline), newline)


def _rewrite_section(
    text: str, doc: CommentedMap, entries: Sequence[Mapping[str, Any]], key: str = "feeds"
) -> str:
    """Replace the ``key:`` line and its (flow or empty) value by a block list, or add the
    section at the end of the file when there is none."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    body = _render(entries, _DEFAULT_DASH, _DEFAULT_CONTENT, newline) if entries else ""
    section = (f"{key}:" if entries else f"{key}: []") + newline + body
    if key not in doc:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        gap = newline if lines and lines[-1].strip() else ""
        return "".join(lines) + gap + section
    start = doc.lc.key(key)[0]
    stop = _section_end(doc, lines, key)
    end = start
    for i in range(start, stop):
        if lines[i].strip() and not _is_comment(lines[i]):
            end = i
    lines[start : end + 1] = [section]
    return "".join(lines)
