"""OPML 1.0/2.0 subscription lists: read the feeds out of one, write one from the config.

Parsing runs on the stdlib's expat with a DOCTYPE handler that refuses the document the moment
a ``<!DOCTYPE`` starts. Entities can only be declared in a DOCTYPE, so entity expansion bombs
and external entities never get a chance; OPML has no use for a DOCTYPE.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn
from xml.parsers import expat

from newsbrief.config.settings import FeedConfig

_DECLARED_ENCODING = re.compile(
    rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["'][^>]*\?>"""
)


ID_ATTRIBUTE = "newsbriefId"
"""Where an export keeps each feed's id, so that an import gives the feed the same id (its stored
entries stay attached) while ``title`` and ``text`` hold its display name. OPML allows any
attribute on an outline; readers ignore this one."""


class OpmlError(ValueError):
    """Not an OPML document we can read; the message is ``source[:line]: reason``."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    """``xmlUrl``, stripped of surrounding whitespace."""
    title: str | None
    """``title``, else ``text``; None when the outline has neither."""
    html_url: str | None
    category: str | None
    """The first of ``categories``."""
    categories: tuple[str, ...] = ()
    """The folder path of the outline (``Tech/AI``), then the entries of its ``category``
    attribute (OPML 2.0: comma-separated ``/a/b`` paths), without their leading slash."""
    feed_id: str | None = None
    """``newsbriefId``: the feed's id in the config it was exported from (see ``ID_ATTRIBUTE``)."""


def parse_opml(data: bytes, *, source: str = "<opml>") -> list[OpmlFeed]:
    """Every feed outline, in document order, once per URL (the first occurrence wins)."""
    root = _parse_xml(data, source)
    if root.tag.lower() != "opml":
        raise OpmlError(f"{source}: not an OPML file (the root element is <{root.tag}>)")
    body = next((child for child in root if child.tag.lower() == "body"), None)
    if body is None:
        raise OpmlError(f"{source}: OPML without a <body>")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    _collect(body, (), feeds, seen)
    return feeds


def _collect(node: ET.Element, path: tuple[str, ...], out: list[OpmlFeed], seen: set[str]) -> None:
    for child in node:
        if child.tag.lower() != "outline":
            continue
        attrs = {key.lower(): value.strip() for key, value in child.attrib.items()}
        name = attrs.get("title") or attrs.get("text") or None
        url = attrs.get("xmlurl")
        if not url:
            # A folder (or an outline of another kind): its feeds take its name as category.
            _collect(child, (*path, name) if name else path, out, seen)
            continue
        if url in seen:
            continue
        seen.add(url)
        categories = ["/".join(path)] if path else []
        for entry in attrs.get("category", "").split(","):
            entry = entry.strip().strip("/")
            if entry and entry.lower() not in (c.lower() for c in categories):
                categories.append(entry)
        out.append(
            OpmlFeed(
                url=url,
                title=name,
                html_url=attrs.get("htmlurl") or None,
                category=categories[0] if categories else None,
                categories=tuple(categories),
                feed_id=attrs.get(ID_ATTRIBUTE.lower()) or None,
            )
        )


def _parse_xml(data: bytes, source: str) -> ET.Element:
    if not data.strip():
        raise OpmlError(f"{source}: empty file")
    if re.match(rb"\s*(<!doctype\s+html|<html[\s>])", data[:200], re.I):
        raise OpmlError(f"{source}: an HTML page, not an OPML file")
    try:
        return _expat_tree(data, source)
    except expat.ExpatError as exc:
        if exc.code != expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]:
            raise OpmlError(
                f"{source}:{exc.lineno}: not well-formed XML: {expat.ErrorString(exc.code)}"
            ) from exc
    except (ValueError, LookupError) as exc:  # an encoding pyexpat lacks (GBK, Big5…)
        if isinstance(exc, OpmlError):
            raise
    # Expat knows only UTF-8/16 and Latin-1; other declared encodings (GBK, Big5…) go
    # through Python's codecs and are parsed as UTF-8.
    declared = _DECLARED_ENCODING.match(data.lstrip())
    encoding = declared.group(1).decode("ascii") if declared else ""
    try:
        codecs.lookup(encoding)
        text = data.lstrip()[declared.end() if declared else 0 :].decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise OpmlError(f"{source}:1: cannot decode the file as {encoding!r}: {exc}") from exc
    try:
        return _expat_tree(text.encode("utf-8"), source)
    except expat.ExpatError as exc:
        raise OpmlError(
            f"{source}:{exc.lineno}: not well-formed XML: {expat.ErrorString(exc.code)}"
        ) from exc


def _expat_tree(data: bytes, source: str) -> ET.Element:
    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()

    def refuse(*_: object) -> NoReturn:
        raise OpmlError(
            f"{source}:{parser.CurrentLineNumber}: refusing a DOCTYPE or entity declaration "
            "(OPML needs none; they are how XML entity attacks work)"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close()


def export_opml(
    feeds: Sequence[FeedConfig],
    titles: Mapping[str, str],
    *,
    topic_names: Mapping[str, str] | None = None,
    title: str = "newsbrief feeds",
) -> bytes:
    """OPML 2.0: one outline per feed, inside a folder outline named after its first topic.

    ``titles`` maps feed ids to display titles (the id stands in for a missing one); each
    outline keeps its feed's id in ``ID_ATTRIBUTE``;
    ``topic_names`` maps topic ids to folder names (default: the id). Every topic of a feed
    also goes into its ``category`` attribute, so an import restores them all. The output has
    no timestamp, so exporting an unchanged config gives the same bytes.
    """
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.topics:
            first = feed.topics[0]
            if first not in folders:
                name = (topic_names or {}).get(first, first)
                folders[first] = ET.SubElement(body, "outline", text=name, title=name)
            parent = folders[first]
        name = titles.get(feed.id) or feed.id
        outline = ET.SubElement(
            parent, "outline", type="rss", text=name, title=name, xmlUrl=feed.url
        )
        outline.set(ID_ATTRIBUTE, feed.id)
        if feed.topics:
            outline.set("category", ",".join(f"/{topic}" for topic in feed.topics))
    ET.indent(root, space="  ")
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
