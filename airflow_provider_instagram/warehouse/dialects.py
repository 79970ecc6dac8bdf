"""What differs between SQL warehouses: column types, parameter style, the merge statement and the bulk path.

The dialect is told by the DB-API driver the hook hands out, because the fast paths are the driver's
(``COPY`` through psycopg, Arrow scans in DuckDB); anything unknown gets ANSI SQL (``MERGE``) and
``executemany`` with the hook's placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


def quote(name: str) -> str:
    """A quoted identifier (our names are fixed lowercase words, so quoting only guards reserved words)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Dialect:
    """How to speak to one kind of SQL database.

    :param name: ``postgresql``, ``sqlite``, ``duckdb`` or ``ansi``.
    :param placeholder: the driver's parameter marker (``%s`` or ``?``).
    :param timestamp_type: the column type of UTC timestamps.
    :param date_type: the column type of calendar days (Arrow ``date32``).
    :param merge: ``on_conflict`` (PostgreSQL, SQLite, DuckDB) or ``merge`` (ANSI ``MERGE``).
    :param bulk: ``copy`` (PostgreSQL), ``arrow`` (DuckDB) or ``executemany``.
    :param times_as_text: store timestamps and days as ISO-8601 text (SQLite has neither type):
        ``2026-11-28T10:00:05.000000Z`` and ``2026-11-28``, which sort and compare as time.
    """

    name: str
    placeholder: str = "%s"
    timestamp_type: str = "TIMESTAMP WITH TIME ZONE"
    date_type: str = "DATE"
    merge: str = "merge"
    bulk: str = "executemany"
    times_as_text: bool = False

    def column_type(self, arrow_type: pa.DataType) -> str:
        """The SQL type of an export column."""
        if pa.types.is_timestamp(arrow_type):
            return self.timestamp_type
        if pa.types.is_date(arrow_type):
            return self.date_type
        if pa.types.is_boolean(arrow_type):
            return "BOOLEAN"
        if pa.types.is_integer(arrow_type):
            return "BIGINT" if arrow_type.bit_width > 32 else "INTEGER"
        if pa.types.is_floating(arrow_type):
            return "DOUBLE PRECISION"
        return "TEXT"

    def temp_table(self, name: str, like: str) -> str:
        """A session-private empty copy of table ``like``'s columns."""
        if self.name == "postgresql":
            return f"CREATE TEMP TABLE {quote(name)} (LIKE {quote(like)}) ON COMMIT DROP"
        return f"CREATE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(like)} WHERE 1 = 0"

    def merge_sql(self, target: str, staging: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """Upsert every staged row into ``target`` by ``key``."""
        cols = ", ".join(quote(c) for c in columns)
        rest = [c for c in columns if c not in key]
        if self.merge == "on_conflict":
            updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in rest)
            # "WHERE true" lets SQLite tell the ON CONFLICT clause from a join's ON.
            return (
                f"INSERT INTO {quote(target)} ({cols}) SELECT {cols} FROM {quote(staging)} WHERE true "
                f"ON CONFLICT ({', '.join(quote(k) for k in key)}) DO UPDATE SET {updates}"
            )
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
        updates = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in rest)
        values = ", ".join(f"s.{quote(c)}" for c in columns)
        return (
            f"MERGE INTO {quote(target)} t USING {quote(staging)} s ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {updates} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
        )


POSTGRESQL = Dialect("postgresql", merge="on_conflict", bulk="copy")
SQLITE = Dialect(
    "sqlite", placeholder="?", timestamp_type="TEXT", date_type="TEXT", merge="on_conflict", times_as_text=True
)
DUCKDB = Dialect("duckdb", placeholder="?", timestamp_type="TIMESTAMPTZ", merge="on_conflict", bulk="arrow")


def dialect_of(connection: Any, placeholder: str = "%s") -> Dialect:
    """The dialect of an open DB-API connection, told by its driver's module; ANSI when unknown."""
    module = type(connection).__module__.split(".")[0]
    if module in ("psycopg2", "psycopg"):
        return POSTGRESQL
    if module == "sqlite3":
        return SQLITE
    if module == "duckdb" or module.startswith("_duckdb"):
        return DUCKDB
    return Dialect("ansi", placeholder=placeholder)
