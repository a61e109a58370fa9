"""An article page's HTML -> its main text and metadata.

trafilatura (its fast mode: no second opinions of its own) finds the main text. A readability
pass on the same parsed tree (trafilatura's own port, a few milliseconds) is the second opinion:

- it agrees (most pages): trafilatura's text stands;
- it holds most of trafilatura's text but less around it: the lines trafilatura kept above its
  first and below its last matching line are a navigation bar, a list of other stories or a
  copyright notice, and go (lines between them stay: embedded quotes, captions);
- it holds trafilatura's text and adds more than half as much again that is new: trafilatura
  cut the article short, and readability's text replaces it;
- trafilatura finds almost nothing: a pass with tables (old pages lay articles out in tables)
  and readability-lxml rescue the page.

Before either reads the page, text lying loose beside block elements (``<div><p>…</p>words,
<span>more words</span><p>…</p></div>``, common in pages written by word processors and old
editors) becomes a paragraph of its own, as a browser lays it out (an anonymous block box):
trafilatura only reads text inside paragraph-like elements and silently drops such runs, often
the middle of a paragraph. Short runs and runs of links are left alone: they are captions,
buttons and link lists, not prose.

A page made of dated posts (a forum thread, a blog's archive: three or more containers of one
class, most of the page's text, a date or time between each and the next) is read as its
first post: the thread's topic or the newest entry; the rest are replies or other articles.

Both keep whatever the page put inside its article container (ads, view counts, footers), so
the result still goes through :func:`newsbrief.articles.cleaner.clean_text`.

Hostile input is refused before any parser sees it: more than :data:`MAX_HTML_BYTES`, binary
junk, nothing at all. Parser recursion on absurdly deep trees is caught and reported.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import readability
import trafilatura
from readability.htmls import shorten_title
from trafilatura.readability_lxml import Document as ReadabilityPort
from trafilatura.utils import load_html

from newsbrief.articles.images import public_image_url
from newsbrief.text.encodings import decode_document
from newsbrief.text.html_text import html_to_text

MAX_HTML_BYTES = 5_000_000
"""Largest page accepted (bytes, or characters for text): real articles are far below 1 MB."""
MAX_DEPTH = 250
"""Deepest element nesting accepted. libxml2 silently stops nesting at 255 levels and drops
what lies deeper, so such a tree would yield a wrong text rather than an error."""
_STRIP_ABOVE = 300_000
"""Pages longer than this (characters) lose their scripts, styles and comments before parsing."""
_LARGE = 500_000
"""Pages still longer than this get the quick path: trafilatura without a second opinion and
metadata from the ``<head>`` only, so the largest accepted page takes about 2 s, not 10."""
_MIN_TEXT = 200
"""trafilatura output shorter than this (characters) is rescued by a table pass and readability."""
_TRIM_MIN_SHARE = 0.5
"""A second opinion shorter than this share of trafilatura's text is a fragment (a cookie
banner, one box of a long page), not a tighter view of the article: it trims nothing."""
_GROWTH = 0.6
"""A second opinion that holds trafilatura's text replaces it when it adds this much new text
(distinct shingles, as a share of trafilatura's): an article that trafilatura cut short. On the
dev pages the cut articles add 1.1 to 1.8 times their text; pages that only show more around
the article (links, captions, comments, repeated copies) add at most 0.4."""
_LOOSE_MIN = 70
"""Loose text shorter than this (columns, see :func:`_columns`) stays as it is: jusText's bound
for a "short" block. Captions, button labels and "most read" headings fall below it; on the
shared pages any bound from 40 to 120 gives the same figures."""
_LOOSE_LINKS = 0.5
"""Loose text more than this share of which is link text is navigation, not prose."""
_BLOCK = frozenset((
    "address", "article", "aside", "blockquote", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "iframe", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
))  # fmt: skip
"""Elements laid out as blocks: what loose text lies beside."""
_NOT_WRAPPED = frozenset((
    "html", "head", "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "tbody", "thead",
    "tfoot", "tr", "ul", "ol", "dl", "menu", "select",
))  # fmt: skip
"""Elements whose children must not become paragraphs (table and list structure, paragraphs)."""
_NO_TEXT = frozenset({"script", "style", "noscript", "template"})
_POST_TAGS = ("article", "dd", "div", "li", "section", "table", "td")
"""Elements a page repeats once per post."""
_MIN_POSTS = 3
_POSTS_SHARE = 0.5
"""Posts hold at least this share of the page's text: a page made of posts, not an article
with a comment thread or a few collapsible boxes."""
_DATED = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|(?<!\d)\d{1,2}:\d{2}(?!\d)")
"""A date or a clock time: what each post's header or footer shows."""
_PAGE_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style)]"
_TOO_DEEP = "/*" + "/*" * (MAX_DEPTH + 1)
"""Any element with more than MAX_DEPTH ancestors: one walk of the tree in C."""
_DATE_PARAMS = {"original_date": True, "extensive_search": False}
"""htmldate's quick search (meta tags, JSON-LD, time elements, URL and the usual patterns):
its extensive search parses every date-like string with dateparser, takes the most time of
all metadata and, on the Chinese set, finds the labelled day less often."""

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:+-]+)""", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")
_HEAVY_START = re.compile(r"<(script|style)\b|<!--", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BLANK_RUN = re.compile(r"\n{2,}")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_HANZI = re.compile(r"[\u4e00-\u9fff]")
_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)
_SINGLE_BYTE = frozenset({"cp1251", "cp1252", "latin-1", "iso8859-1"})


class ExtractError(ValueError):
    """The input is not an article page we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str | None
    text: str
    """Main text, one paragraph per line."""
    date: datetime | None
    author: str | None
    image: str | None


def decode_html(body: bytes) -> str:
    """Page bytes -> text, honouring ``<meta charset>`` / http-equiv and reading GBK as GB18030."""
    match = _META_CHARSET.search(body[:8192])
    content_type = f"text/html; charset={match.group(1).decode('ascii')}" if match else None
    # decode_document checks the declared charset against the bytes and guesses when it lies.
    decoded = decode_document(body, content_type=content_type)
    if decoded.warning is None or decoded.encoding not in _SINGLE_BYTE:
        return decoded.text
    # Old Chinese pages often hold a few broken bytes (a character cut in half), which fails
    # every strict decode and leaves a single-byte guess: mojibake. Read them as GB18030 with
    # replacements when that gives ordinary Chinese.
    lenient = body.decode("gb18030", errors="replace")
    return lenient if _ordinary_chinese(lenient) else decoded.text


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _ordinary_chinese(text: str) -> bool:
    """Few replacement characters, and the CJK ones mostly from GB2312 (the common 6,763):
    Latin-1 or Cyrillic bytes misread as GBK land in the rare extension ranges instead."""
    if text.count("\ufffd") > 2 + len(text) // 1000:
        return False
    hanzi = _HANZI.findall(text[:50_000])
    if len(hanzi) < 20:
        return False
    common = sum(1 for ch in hanzi if _in_gb2312(ch))
    return common >= 0.9 * len(hanzi)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def extract_page(html: str | bytes, url: str | None = None) -> Extracted:
    """The main text, title, date, author and lead image of an article page.

    Raises :class:`ExtractError` for input that is too large, empty, binary or unparsable.
    """
    # Text is measured as UTF-8, like the bytes it came from (encoding 5 MB takes milliseconds).
    if isinstance(html, bytes):
        size, unit = len(html), "bytes"
    elif len(html) > MAX_HTML_BYTES:
        size, unit = len(html), "characters"
    else:
        size, unit = _utf8_size(html), "bytes as UTF-8"
    if size > MAX_HTML_BYTES:
        raise ExtractError(
            f"page too large: {size:,} {unit}, the limit is {MAX_HTML_BYTES:,} bytes"
        )
    text = decode_html(html) if isinstance(html, bytes) else html
    if not text.strip():
        raise ExtractError("empty page")
    sample = text[:20_000]
    if len(_CONTROL.findall(sample)) > 0.02 * len(sample):
        raise ExtractError("not HTML: the page is mostly binary or undecodable bytes")
    if len(text) > _STRIP_ABOVE:
        text = _strip_heavy(text)
    try:
        with warnings.catch_warnings():
            # lxml and both extractors warn through the warnings module on odd markup; a
            # warning about one page must never become an error for the whole batch.
            warnings.simplefilter("ignore")
            return _extract(_parse(text), text, url)
    except RecursionError as error:  # _parse caps the depth; this is the backstop
        raise ExtractError("page nested too deeply to parse") from error


def _parse(text: str) -> Any:
    # trafilatura's own loader: it drops comments (whose tails would otherwise take the text
    # after them along when pruned) and repairs the usual faults.
    try:
        tree = load_html(text)
        if tree is None:
            # The loader refuses documents that do not start like HTML (a fragment, a page
            # wrapped in some other element); inside a body they parse like any page.
            body = _XML_DECLARATION.sub("", text, count=1)
            tree = load_html(f"<html><body>{body}</body></html>")
    except ValueError as error:  # lxml's ParserError is a ValueError
        raise ExtractError(f"unparsable HTML: {error}") from error
    if tree is None:
        raise ExtractError("not HTML: the parser found no document")
    # No real article nests more than a few dozen levels; thousands mean a broken or hostile page.
    if tree.xpath(_TOO_DEEP):
        depth = _depth(tree)
        raise ExtractError(f"page nested too deeply: {depth} levels, the limit is {MAX_DEPTH}")
    _wrap_loose_text(tree)
    _keep_first_post(tree)
    return tree


def _wrap_loose_text(tree: Any) -> None:
    """Each run of prose lying loose beside block elements -> a ``<p>`` of its own."""
    blocky = _blocky(tree)
    # Any order: wrapping moves only a parent's inline children (which hold no block) into a
    # new paragraph of that parent, so no other parent's runs change.
    for parent in blocky:
        if parent.tag in _NOT_WRAPPED:
            continue
        runs: list[tuple[Any, list[Any]]] = []  # (block before the run or None, inline nodes)
        before: Any = None
        inline: list[Any] = []
        for child in parent:
            if isinstance(child.tag, str) and (child.tag in _BLOCK or child in blocky):
                runs.append((before, inline))
                before, inline = child, []
            else:
                inline.append(child)
        runs.append((before, inline))
        for before, inline in runs:
            _wrap_run(parent, before, inline)


def _blocky(tree: Any) -> set[Any]:
    """Every element holding a block element."""
    blocky: set[Any] = set()
    for block in tree.iter(*_BLOCK):
        for ancestor in block.iterancestors():
            if ancestor in blocky:
                break
            blocky.add(ancestor)
    return blocky


def _wrap_cells(tree: Any) -> None:
    """The prose of each table cell that holds no block -> a ``<p>`` (cells holding blocks
    were seen to by :func:`_wrap_loose_text`)."""
    blocky = _blocky(tree)
    for cell in tree.iter("td", "th"):
        if cell not in blocky:
            _wrap_run(cell, None, list(cell))


def _wrap_run(parent: Any, before: Any, inline: list[Any]) -> None:
    """The text after ``before`` (or from the start of ``parent``) and the ``inline`` nodes
    that follow it -> one ``<p>`` in their place, if they are prose."""
    lead = (parent.text if before is None else before.tail) or ""
    if not _prose(lead, inline):
        return
    paragraph = parent.makeelement("p", {})
    paragraph.text = lead
    if before is None:
        parent.text = None
        parent.insert(0, paragraph)
    else:
        before.tail = None
        parent.insert(parent.index(before) + 1, paragraph)
    paragraph.extend(inline)  # each node takes its tail along


def _keep_first_post(tree: Any) -> None:
    """On a page made of dated posts, every post after the first leaves the tree."""
    posts = _posts(tree)
    for post in posts[1:]:
        if post.tail:  # the text after a post is not the post's; keep it where it was
            previous = post.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + post.tail
            else:
                post.getparent().text = (post.getparent().text or "") + post.tail
        post.getparent().remove(post)


def _posts(tree: Any) -> list[Any]:
    """The largest group of same-class containers that looks like a page's posts, or []."""
    grouped: dict[tuple[str, str], list[Any]] = {}
    for node in tree.iter(*_POST_TAGS):
        names = " ".join((node.get("class") or "").split())
        if names:
            grouped.setdefault((node.tag, names), []).append(node)
    groups = [nodes for nodes in grouped.values() if len(nodes) >= _MIN_POSTS]
    best: list[Any] = []
    best_size = 0
    page_size = -1
    for members in groups:
        # The first post is the article: it must be prose (the cheap test first).
        if len(members) < _MIN_POSTS or _columns(members[0].text_content()) < 2 * _LOOSE_MIN:
            continue
        inside = set(members)
        if any(ancestor in inside for node in members for ancestor in node.iterancestors()):
            continue  # nested boxes, not a sequence of posts
        size = sum(_columns(node.text_content()) for node in members)
        if size <= best_size:
            continue
        if page_size < 0:
            page_size = _columns("".join(tree.xpath(_PAGE_TEXT)))
        if size < _POSTS_SHARE * page_size:
            continue
        if all(_DATED.search(gap) for gap in _gaps(tree, members)):
            best, best_size = members, size
    return best


def _gaps(tree: Any, members: list[Any]) -> list[str]:
    """The page's text between each member and the next."""
    index = set(members)
    gaps: list[list[str]] = [[] for _ in members]
    depth = done = 0  # members open around, and closed before, the current place
    # Every gap lies inside the innermost element holding both the first and the last member.
    around = set(members[0].iterancestors())
    common = next(node for node in members[-1].iterancestors() if node in around)
    for start, node in _walk(common):
        if node in index:
            depth += 1 if start else -1
            done += 0 if start else 1
            if start:
                continue
        between = not depth and 0 < done < len(members)
        if start and between and isinstance(node.tag, str) and node.tag not in _NO_TEXT:
            gaps[done].append(node.text or "")
        elif not start and between:
            gaps[done].append(node.tail or "")
    return ["".join(parts) for parts in gaps[1:]]


def _walk(root: Any) -> Iterator[tuple[bool, Any]]:
    """(True, node) where each node opens and (False, node) where it closes, in page order."""
    yield True, root
    stack = [(root, iter(root))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield False, node
        else:
            yield True, child
            stack.append((child, iter(child)))


def _prose(lead: str, nodes: list[Any]) -> bool:
    """Loose text long enough to be prose and not mostly links."""
    parts = [lead]
    links = 0
    for node in nodes:
        if isinstance(node.tag, str) and node.tag not in _NO_TEXT:
            parts.append(node.text_content())
            links += sum(_columns(link.text_content()) for link in node.iter("a"))
        parts.append(node.tail or "")
    chars = _columns("".join(parts))
    return chars >= _LOOSE_MIN and links <= _LOOSE_LINKS * chars


def _columns(text: str) -> int:
    """Length in columns, whitespace aside: a CJK character is set two columns wide and carries
    about as much as a short word, so Chinese prose is not held to twice the English bar."""
    flat = "".join(text.split())
    return len(flat) + len(_WIDE.findall(flat))


def _depth(tree: Any) -> int:
    deepest = 0
    for node in tree.iter():
        if len(node) == 0:  # only leaves can be deepest; counting ancestors is C-speed
            deepest = max(deepest, sum(1 for _ in node.iterancestors()))
    return deepest


def _strip_heavy(text: str) -> str:
    """The body without scripts, styles and comments: most of a big page's weight and none of
    its text. The head keeps them (JSON-LD metadata). Linear even when closings are missing."""
    lower = text.lower()
    start = max(lower.find("</head>"), 0)
    parts = [text[:start]]
    pos = start
    while (match := _HEAVY_START.search(text, pos)) is not None:
        closing = "-->" if match.group(1) is None else f"</{match.group(1).lower()}"
        end = lower.find(closing, match.end())
        if end < 0:
            break  # unclosed: leave the rest to the parser
        parts.append(text[pos : match.start()])
        pos = end + len(closing)
        if match.group(1) is not None:  # "</script" is closed by the next ">"
            pos = text.find(">", pos) + 1 or len(text)
    parts.append(text[pos:])
    return "".join(parts)


def _extract(tree: Any, text: str, url: str | None) -> Extracted:
    large = len(text) > _LARGE
    # trafilatura drops author names written in CJK ("王小明"); the meta tag has them.
    declared_author = _meta_author(tree)
    # readability reads table cells itself; a footer cell wrapped as a paragraph would only
    # become its best candidate. Its copy is taken before the cells are wrapped.
    readability_tree = None if large else deepcopy(tree)
    _wrap_cells(tree)
    doc = _trafilatura(tree, url, tables=False, metadata=not large)
    meta = _head_metadata(text, url) if large else doc
    body = _paragraphs(getattr(doc, "text", None) or "")
    if readability_tree is not None:
        body = _second_opinion(tree, readability_tree, text, url, body)
    if not body:
        raise ExtractError("no article text found on the page")
    return Extracted(
        # Old pages often put their <title> where trafilatura does not look for it.
        title=_clean(getattr(meta, "title", None)) or _clean(shorten_title(tree)),
        text=body,
        date=_date(getattr(meta, "date", None)),
        author=_clean(getattr(meta, "author", None)) or declared_author,
        # og:image and the like; only a public http(s) URL is kept (it may reach a chat).
        image=public_image_url(_clean(getattr(meta, "image", None)), url),
    )


def _second_opinion(tree: Any, readability_tree: Any, text: str, url: str | None, body: str) -> str:
    """trafilatura's ``body``, rescued, extended or trimmed by what readability finds in
    ``readability_tree`` (its own copy, which it prunes)."""
    if len(body) < _MIN_TEXT:
        # Old pages lay their article out in tables, which the first pass skips. A rescue
        # must find much more, or it is only the navigation around a short article.
        tables = _trafilatura(tree, url, tables=True, metadata=False)
        for candidate in (
            _paragraphs(getattr(tables, "text", None) or ""),
            _readability(text, url),
        ):
            if len(candidate) > 2 * len(body) + 50:
                body = candidate
        return body
    other = _readability_port(readability_tree)
    body_shingles, other_shingles = _shingles(body), _shingles(other)
    # All of trafilatura's text and much more besides: trafilatura cut the article short. Only
    # new text counts: pages that repeat their article (print and mobile copies) give
    # readability twice the characters but nothing new.
    new = len(other_shingles - body_shingles)
    if new >= _GROWTH * len(body_shingles) and _holds(other_shingles, body_shingles):
        return other
    if len(other) >= _TRIM_MIN_SHARE * len(body) and _holds(body_shingles, other_shingles):
        return _trim_edges(body, other_shingles)
    return body


def _trim_edges(body: str, inside: set[str]) -> str:
    """``body`` from its first to its last line that mostly lies ``inside`` (shingles of a
    tighter extraction); lines between them stay."""
    lines = body.splitlines()

    def held(line: str) -> bool:
        own = _shingles(line)
        return bool(own) and len(own & inside) >= 0.5 * len(own)

    first = next((i for i, line in enumerate(lines) if held(line)), None)
    if first is None:
        return body
    last = next(i for i in range(len(lines) - 1, first - 1, -1) if held(lines[i]))
    return "\n".join(lines[first : last + 1])


def _holds(longer: set[str], shorter: set[str]) -> bool:
    """Most (80 %) of the shorter text's shingles occur in the longer one."""
    return bool(shorter) and len(shorter & longer) >= 0.8 * len(shorter)


def _shingles(text: str) -> set[str]:
    flat = "".join(text.split())
    return {flat[i : i + 4] for i in range(len(flat) - 3)}


def _meta_author(tree: Any) -> str | None:
    for value in tree.xpath(
        "//head/meta[@name='author' or @property='article:author' or @name='article:author']"
        "/@content"
    ):
        author = _clean(str(value))
        if author and not author.startswith(("http://", "https://")):
            return author
    return None


def _trafilatura(tree: Any, url: str | None, *, tables: bool, metadata: bool) -> object:
    try:
        return _bare_extraction(tree, url, tables=tables, metadata=metadata)
    except RecursionError:
        raise
    except Exception as error:  # one odd page must not stop a batch: report it as this page's error
        raise ExtractError(f"trafilatura failed on the page: {error!r}") from error


def _bare_extraction(tree: Any, url: str | None, *, tables: bool, metadata: bool) -> object:
    # trafilatura works on its own copy of the tree, so every pass can share one parse.
    return trafilatura.bare_extraction(
        tree,
        url=url,
        # Without trafilatura's own second opinions (its readability and jusText runs): the
        # readability pass here replaces them, at a fraction of the cost.
        fast=True,
        include_comments=False,
        include_tables=tables,
        with_metadata=metadata,
        date_extraction_params=_DATE_PARAMS,
        deduplicate=False,
    )


def _head_metadata(text: str, url: str | None) -> object:
    """Metadata of a large page from its ``<head>`` alone, where pages declare it."""
    end = _HEAD_END.search(text, 0, _LARGE)
    head = text[: end.start() if end else 100_000]
    try:
        return trafilatura.extract_metadata(
            f"{head}</head><body></body></html>", default_url=url, date_config=_DATE_PARAMS
        )
    except (ValueError, TypeError):  # a head too broken to parse: no metadata, still the text
        return None


def _readability_port(tree: Any) -> str:
    """trafilatura's port of readability, on a tree it may prune."""
    try:
        summary = ReadabilityPort(tree).summary()
    except Exception:  # a second opinion: a page it cannot read keeps trafilatura's text
        return ""
    return _paragraphs(html_to_text(summary)) if summary else ""


def _readability(text: str, url: str | None) -> str:
    try:
        summary = readability.Document(text, url=url).summary(html_partial=True)
    except Exception:  # readability raises bare Unparseable/lxml errors on junk; it is a fallback
        return ""
    return _paragraphs(html_to_text(summary))


def _paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _BLANK_RUN.sub("\n", "\n".join(line for line in lines if line))


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _date(value: object) -> datetime | None:
    """An aware datetime: pages mostly give a bare day ("2026-11-18"), taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        date = datetime.fromisoformat(value)
    except ValueError:
        return None
    return date.replace(tzinfo=UTC) if date.tzinfo is None else date
