"""Bulk INSERT and UPDATE through the driver's executemany, for the compose tick's hot path.

A compose pass writes a row per subscriber (100,000 of them); SQLAlchemy's per-row parameter
processing cost more than the database's own work. Here each column's bind processor (the
same conversion SQLAlchemy would apply: UTC datetimes, JSON) runs once per distinct value, the
parameters are built column by column, and the statement goes to the driver as it is. The SQL is the subset SQLite and PostgreSQL share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


def _placeholder(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _column(values: list[Any], process: Callable[[Any], Any] | None) -> list[Any]:
    """One column's values as the driver takes them: each distinct value converted once."""
    if process is None:
        return values
    try:
        converted = {value: process(value) for value in set(values)}
    except TypeError:  # JSON lists or mappings: not keys, converted one by one
        return list(map(process, values))
    return list(map(converted.__getitem__, values))


def _params(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]], dialect: Dialect
) -> list[tuple[Any, ...]]:
    """Rows as parameter tuples, built column by column (100,000 rows: C loops, not Python)."""
    columns = [
        _column(
            list(map(itemgetter(name), rows)),
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect),
        )
        for name in names
    ]
    return list(zip(*columns, strict=True))


def insert_ignoring(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """INSERT every row (all with the same keys); a row whose ``key`` exists is skipped."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    mark = _placeholder(dialect)
    # Identifiers come from our own table definitions, values go as parameters.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join(mark for _ in names)}) ON CONFLICT ({quote(key)}) DO NOTHING"
    )
    session.connection().exec_driver_sql(sql, _params(table, names, rows, dialect))


def update_by(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str) -> None:
    """UPDATE the row matching each dict's ``key`` with its other values (same keys in all)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = [n for n in rows[0] if n != key]
    mark = _placeholder(dialect)
    # Identifiers come from our own table definitions, values go as parameters.
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(n)} = {mark}' for n in names)} "  # noqa: S608
        f"WHERE {quote(key)} = {mark}"
    )
    session.connection().exec_driver_sql(sql, _params(table, [*names, key], rows, dialect))
