"""Database URLs: where a relative SQLite path points, and how a URL is shown without its password."""

from __future__ import annotations

from pathlib import Path


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database, ``:memory:`` or a ``file:`` URI)."""
    # SQLAlchemy here, not at the top: `newsbrief --help` imports this module and needs none.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return None
    if database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(database)


def anchored(url: str, folder: Path) -> str:
    """``url`` with a relative SQLite path made absolute from ``folder``; any other URL as it
    is. An unparsable URL is returned unchanged, for the database layer to report."""
    from sqlalchemy.engine import make_url

    path = sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    parsed = make_url(url).set(database=str((folder / path).resolve()))
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """The URL to show in logs and replies: the password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
