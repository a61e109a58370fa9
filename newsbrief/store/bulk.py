"""Bulk INSERT and UPDATE through the driver's executemany, for the compose tick's hot path.

A compose pass writes a row per subscriber (100,000 of them); SQLAlchemy's per-row parameter
processing cost more than the database's own work. Here each column's bind processor (the
same conversion SQLAlchemy would apply: UTC datetimes, JSON) runs once per distinct value, and
the statement goes to the driver as it is. The SQL is the subset SQLite and PostgreSQL share.
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


def _converters(
    table: Table, names: Sequence[str], dialect: Dialect
) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, conversion) of the columns that need one; the others go as they are."""
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            continue
        memo: dict[Any, Any] = {}

        def convert(
            value: Any, process: Callable[[Any], Any] = process, memo: dict[Any, Any] = memo
        ) -> Any:
            try:
                return memo[value]
            except KeyError:
                found = memo[value] = process(value)
                return found
            except TypeError:  # a JSON list or mapping: not a key, converted each time
                return process(value)

        converters.append((i, convert))
    return converters


def _params(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]], dialect: Dialect
) -> list[tuple[Any, ...]]:
    converters = _converters(table, names, dialect)
    get = itemgetter(*names)
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(get(row)) if len(names) > 1 else [get(row)]
        for i, convert in converters:
            values[i] = convert(values[i])
        params.append(tuple(values))
    return params


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
