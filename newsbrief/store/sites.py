"""Per-site boilerplate learned from recent pages: short lines that recur across one host's pages.

A footer or a "follow us" line no static rule of the cleaner knows still gives itself away by
standing on page after page of the same site. Each processed page adds one sighting to each of
its distinct short lines (and to the starts of its first lines, where a banner glued to the
first paragraph stands: :func:`newsbrief.articles.cleaner.site_line_candidates`); lines seen on
at least ``MIN_PAGES`` pages, the batch being stored included, are dropped from that host's
articles, so a feed's first poll already shows them. Rows not seen for ``KEEP`` are deleted,
and each host keeps at most ``MAX_LINES_PER_HOST`` rows (its most frequent, then most recent),
so storage stays bounded. What is counted and how hosts are named lives in the cleaner, which
``newsbrief analyze`` uses on its batch without a database.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsbrief.articles.cleaner import MIN_PAGES, page_lines, site_of
from newsbrief.store.tables import SiteLineRow

__all__ = [
    "KEEP",
    "MAX_LINES_PER_HOST",
    "MIN_PAGES",
    "boilerplate",
    "line_hash",
    "page_lines",
    "prune",
    "record",
    "site_of",
]

KEEP = timedelta(days=30)
MAX_LINES_PER_HOST = 2000


def line_hash(line: str) -> str:
    return hashlib.sha1(line.encode(), usedforsecurity=False).hexdigest()


def boilerplate(
    session: Session, batch: Mapping[str, Counter[str]], min_pages: int = MIN_PAGES
) -> dict[str, frozenset[str]]:
    """Per host of ``batch`` (host -> line counts of the pages about to be stored): the lines
    stored and new sightings together put on at least ``min_pages`` pages."""
    stored: dict[tuple[str, str], int] = {}
    keys = [(host, line_hash(line)) for host, lines in batch.items() for line in lines]
    for start in range(0, len(keys), 500):  # bounded IN lists
        chunk = keys[start : start + 500]
        query = select(SiteLineRow.host, SiteLineRow.line_hash, SiteLineRow.pages).where(
            tuple_(SiteLineRow.host, SiteLineRow.line_hash).in_(chunk)
        )
        stored.update(((host, h), pages) for host, h, pages in session.execute(query))
    return {
        host: frozenset(
            line
            for line, seen in lines.items()
            if seen + stored.get((host, line_hash(line)), 0) >= min_pages
        )
        for host, lines in batch.items()
    }


def record(session: Session, batch: Mapping[str, Counter[str]], now: datetime) -> None:
    """Add the sightings of stored pages; an insert that meets another worker's row adds to it."""
    rows = [
        {"host": host, "line_hash": line_hash(line), "line": line, "pages": n, "last_seen": now}
        for host, lines in batch.items()
        for line, n in lines.items()
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Sorted so concurrent workers lock rows in one order and cannot deadlock each other.
    rows.sort(key=lambda row: (row["host"], row["line_hash"]))
    for start in range(0, len(rows), 500):
        statement = insert(SiteLineRow).values(rows[start : start + 500])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[SiteLineRow.host, SiteLineRow.line_hash],
                set_={
                    "pages": SiteLineRow.pages + statement.excluded.pages,
                    "last_seen": statement.excluded.last_seen,
                },
            )
        )
    prune(session, now, hosts=batch.keys())


def prune(session: Session, now: datetime, hosts: Iterable[str] = ()) -> int:
    """Forget lines not seen for ``KEEP``, and each given host's rows beyond its most frequent
    ``MAX_LINES_PER_HOST``. Returns how many rows went."""
    removed = session.execute(delete(SiteLineRow).where(SiteLineRow.last_seen < now - KEEP))
    count = int(getattr(removed, "rowcount", 0) or 0)
    for host in hosts:
        extra = list(
            session.scalars(
                select(SiteLineRow.line_hash)
                .where(SiteLineRow.host == host)
                .order_by(SiteLineRow.pages.desc(), SiteLineRow.last_seen.desc())
                .offset(MAX_LINES_PER_HOST)
            )
        )
        for start in range(0, len(extra), 500):
            chunk = extra[start : start + 500]
            session.execute(
                delete(SiteLineRow).where(
                    SiteLineRow.host == host, SiteLineRow.line_hash.in_(chunk)
                )
            )
        count += len(extra)
    return count
