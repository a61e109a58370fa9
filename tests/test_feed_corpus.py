"""Every feed of the shared corpus, served on loopback and polled by newsbrief for real, stores
the entries feedparser 6 finds in the same bytes (the file's own items for JSON Feed); polling
the same bytes three more times stores nothing twice.

Run with ``-s`` to see the figures. The corpus lives outside the repository (its content belongs
to its publishers) and is read in place; without it the test is skipped.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
from sqlalchemy import func, select

from jobs.runtime import Runtime
from newsbrief.config.base import ID_PATTERN as FEED_ID
from newsbrief.config.settings import Config, FetchConfig
from newsbrief.feeds.jsonfeed import VERSION_PREFIX, text_to_html
from newsbrief.feeds.parse import entry_content, entry_key, plain_title
from newsbrief.store.tables import EntryRow
from tests.servers.feeds import FeedServer

DOCS = {".md", ".txt", ".rst"}
POLLS = 4


@dataclass(frozen=True)
class CorpusFeed:
    id: str
    path: Path
    body: bytes
    content_type: str
    expected: dict[str, tuple[str, str | None]]
    """key -> (title, link) of the first entry with that key, as the store keeps it."""


def corpus_files(corpus: Path) -> list[Path]:
    files = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        head = path.read_bytes()[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        # Skip the corpus' own documentation and indexes (JSON that is not a JSON Feed).
        if path.suffix.lower() in DOCS or (
            head[:1] in b"{[" and VERSION_PREFIX.encode() not in head
        ):
            continue
        files.append(path)
    return files


def feed_id(corpus: Path, path: Path) -> str:
    rel = path.relative_to(corpus)
    name = "-".join([*rel.parent.parts, rel.name]).lower()
    return re.sub(r"[^a-z0-9_-]+", "-", name)[:64]


def sniffed_content_type(body: bytes) -> str:
    """What a typical server would send: by format, without a charset."""
    head = body[:4096].replace(b"\x00", b"")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "application/feed+json"
    if re.search(rb"<feed[\s>]", head):
        return "application/atom+xml"
    if re.search(rb"<rdf:RDF[\s>]", head):
        return "application/xml"
    return "application/rss+xml"


def expected_entries(body: bytes, content_type: str) -> dict[str, tuple[str, str | None]]:
    """feedparser's entries (the JSON Feed's own items), normalised as newsbrief documents it."""
    found: dict[str, tuple[str, str | None]] = {}
    if content_type == "application/feed+json":
        for item in json.loads(body)["items"]:
            title = plain_title(item.get("title") or "")
            link = item.get("url") or item.get("external_url") or None
            raw_id = item.get("id")
            plain = item.get("content_text") or item.get("summary")
            content = item.get("content_html") or (text_to_html(plain) if plain else "")
            key = entry_key(None if raw_id is None else str(raw_id), link, title, content)
            found.setdefault(key, (title, link))
        return found
    parsed: Any = feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
    )
    for e in parsed.entries:
        title = plain_title(str(e.get("title") or ""), e.get("title_detail", {}).get("type", ""))
        link = e.get("link") or None
        found.setdefault(entry_key(e.get("id"), link, title, entry_content(e)), (title, link))
    return found


def load_corpus(corpus: Path) -> list[CorpusFeed]:
    feeds = []
    for path in corpus_files(corpus):
        body = path.read_bytes()
        content_type = sniffed_content_type(body)
        feeds.append(
            CorpusFeed(
                feed_id(corpus, path),
                path,
                body,
                content_type,
                expected_entries(body, content_type),
            )
        )
    return feeds


def stored(runtime: Runtime) -> dict[str, dict[str, tuple[str, str | None]]]:
    by_feed: dict[str, dict[str, tuple[str, str | None]]] = {}
    with runtime.db.session() as session:
        for row in session.scalars(select(EntryRow)):
            by_feed.setdefault(row.feed_id, {})[row.key] = (row.title, row.link)
    return by_feed


async def poll_round(runtime: Runtime, server: FeedServer, feeds: list[CorpusFeed]) -> None:
    """Poll every feed once; poll_once works in batches, so go on until all were fetched."""
    start = len(server.log)
    await runtime.poll_once(all_feeds=True)
    for _ in range(20):
        if len({path for path, _ in server.log[start:]}) >= len(feeds):
            break
        await runtime.poll_once()
    requests = Counter(path for path, _ in server.log[start:])
    assert requests == Counter({f"/{feed.id}": 1 for feed in feeds})
    assert {status for _, status in server.log[start:]} == {200}


async def test_every_corpus_feed_is_stored_as_feedparser_reads_it(
    tmp_path: Path, shared: Path
) -> None:
    corpus = shared / "data" / "feeds"
    started = time.perf_counter()
    feeds = load_corpus(corpus)
    reference_seconds = time.perf_counter() - started
    assert len(feeds) > 100
    assert all(FEED_ID.match(feed.id) for feed in feeds)
    assert len({feed.id for feed in feeds}) == len(feeds)

    # Loopback puts every feed on one host: lift the per-host politeness limits.
    fetch = {
        "allow_private_networks": True,
        "max_body_bytes": 50_000_000,
        "host_spacing": 0,
        "per_host_concurrency": 8,
    }
    with FeedServer(conditional=False) as server:
        for feed in feeds:
            server.set(f"/{feed.id}", feed.body, feed.content_type)
        config = Config(
            database_url=f"sqlite:///{tmp_path}/c.db",
            fetch={k: v for k, v in fetch.items() if k in FetchConfig.model_fields},
            feeds=[{"id": feed.id, "url": server.url(f"/{feed.id}")} for feed in feeds],
            polling={"max_entries": 100_000},  # every entry, to compare with feedparser's
        )
        runtime = Runtime(config)
        runtime.start()
        try:
            round_seconds = []
            snapshots = []
            for _ in range(POLLS):
                began = time.perf_counter()
                await poll_round(runtime, server, feeds)
                round_seconds.append(time.perf_counter() - began)
                snapshots.append(stored(runtime))
            with runtime.db.session() as session:
                rows = session.scalar(select(func.count()).select_from(EntryRow))
        finally:
            await runtime.aclose()
    first = snapshots[0]

    mismatches = []
    for feed in feeds:
        got = first.get(feed.id, {})
        # newsbrief resolves relative entry links against the feed's URL (identity keys stay).
        base = server.url(f"/{feed.id}")
        expected = {
            k: (title, link and urljoin(base, link)) for k, (title, link) in feed.expected.items()
        }
        if got != expected:
            missing = set(expected) - set(got)
            extra = set(got) - set(expected)
            differ = [k for k in set(got) & set(expected) if got[k] != expected[k]]
            mismatches.append(
                f"{feed.path.relative_to(corpus)}: expected {len(expected)}, stored "
                f"{len(got)}; missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]}, "
                f"differ {[(expected[k], got[k]) for k in differ[:3]]}"
            )
    assert not mismatches, "\n".join(mismatches)
    # Three more polls of the same bytes store nothing twice (the key is unique per feed; count).
    assert rows == sum(map(len, first.values()))
    for later in snapshots[1:]:
        assert later == first

    entries = sum(len(feed.expected) for feed in feeds)
    print(
        f"\ncorpus: {len(feeds)} files, {entries} entries compared (ids, titles, links), "
        f"{sum(1 for f in feeds if not f.expected)} files with no entries; "
        f"feedparser reference {reference_seconds:.1f}s; "
        f"polls: {', '.join(f'{s:.1f}s' for s in round_seconds)}"
    )
