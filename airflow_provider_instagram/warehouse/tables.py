"""The warehouse tables: names, keys and indexes, created from the export schemas and grown with them.

Both tables lead their primary key with the account's id (``instagram_media.user_id``, ``instagram_profiles.id``:
the same app-scoped id, which names the export's partitions and is also each table's ``user_id``), so that
"delete everything of user X" (the data-deletion path) is one statement per table that uses the key's index.
The other id Instagram answers, the professional account's, is ``instagram_profiles.professional_account_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from airflow_provider_instagram.schema import MEDIA_SCHEMA, PROFILE_SCHEMA
from airflow_provider_instagram.warehouse.dialects import Dialect, quote


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table.

    :param name: the table's name.
    :param source: the export's folder (``media``, ``profiles``, ``media_insights``...): where its files live.
    :param schema: its columns, from the export schema.
    :param key: the primary key (upserts match on it); it leads with ``owner``.
    :param owner: the column holding the account's id.
    :param time_column: the column whose UTC day places a row in a partition (a timestamp, or a ``date32`` day).
    :param indexes: further indexes, each a tuple of columns.
    :param upgrades: per column added to an existing table, the statement (``{table}`` filled in) that brings the
        table's earlier rows to today's terms in the same transaction.
    """

    name: str
    source: str
    schema: pa.Schema
    key: tuple[str, ...]
    owner: str
    time_column: str
    indexes: tuple[tuple[str, ...], ...] = ()
    upgrades: tuple[tuple[str, str], ...] = ()

    def upgrade_sql(self, added: Sequence[str]) -> list[str]:
        """The upgrades of the columns just added to an existing table."""
        return [sql.format(table=quote(self.name)) for column, sql in self.upgrades if column in added]

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def delete_user_sql(self, dialect: Dialect) -> str:
        """Delete every row of one account (one parameter: its id), through the primary key's index."""
        return f"DELETE FROM {quote(self.name)} WHERE {quote(self.owner)} = {dialect.placeholder}"

    def create_sql(self, dialect: Dialect) -> list[str]:
        """``CREATE TABLE`` and ``CREATE INDEX``, each ``IF NOT EXISTS``."""
        cols = [
            f"{quote(f.name)} {dialect.column_type(f.type)}{' NOT NULL' if f.name in self.key else ''}"
            for f in self.schema
        ]
        key = ", ".join(quote(k) for k in self.key)
        statements = [f"CREATE TABLE IF NOT EXISTS {quote(self.name)} ({', '.join(cols)}, PRIMARY KEY ({key}))"]
        for columns in self.indexes:
            index = quote(f"{self.name}_{'_'.join(columns)}_idx")
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {index} ON {quote(self.name)} ({', '.join(quote(c) for c in columns)})"
            )
        return statements

    def add_column_sql(self, dialect: Dialect, existing: Sequence[str]) -> list[str]:
        """``ALTER TABLE ... ADD COLUMN`` for each export column the table lacks (new columns are nullable)."""
        have = {c.lower() for c in existing}
        return [
            f"ALTER TABLE {quote(self.name)} ADD COLUMN {quote(f.name)} {dialect.column_type(f.type)}"
            for f in self.schema
            if f.name.lower() not in have
        ]


def media_table_spec(prefix: str = "instagram_") -> TableSpec:
    """Media and carousel children, one row each, keyed by owner and media id."""
    return TableSpec(
        f"{prefix}media", "media", MEDIA_SCHEMA, ("user_id", "id"), "user_id", "timestamp", (("user_id", "timestamp"),)
    )


def profile_table_spec(prefix: str = "instagram_") -> TableSpec:
    """One profile snapshot per account and export, keyed by the account's id and the snapshot time."""
    # Rows loaded before the ids were unified hold the professional account's id in user_id.
    unify = (
        "UPDATE {table} SET professional_account_id = user_id, user_id = id "
        "WHERE professional_account_id IS NULL AND user_id <> id"
    )
    return TableSpec(
        f"{prefix}profiles",
        "profiles",
        PROFILE_SCHEMA,
        ("id", "exported_at"),
        "id",
        "exported_at",
        upgrades=(("professional_account_id", unify),),
    )


def existing_columns(cursor: Any, dialect: Dialect, table: str) -> list[str]:
    """The table's columns; empty when it does not exist."""
    if dialect.name == "sqlite":
        cursor.execute(f"PRAGMA table_info({quote(table)})")
        return [str(row[1]) for row in cursor.fetchall()]
    sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = {dialect.placeholder}"
    if dialect.name in ("postgresql", "duckdb"):
        sql += " AND table_schema = current_schema()"
    cursor.execute(sql, (table,))
    return [str(row[0]) for row in cursor.fetchall()]


def ensure_table(cursor: Any, dialect: Dialect, spec: TableSpec) -> tuple[bool, list[str]]:
    """Create the table, or add the export columns it lacks; whether it was created, and the columns added (all of
    them on creation)."""
    have = existing_columns(cursor, dialect, spec.name)
    statements = spec.create_sql(dialect) if not have else spec.add_column_sql(dialect, have)
    for statement in statements:
        cursor.execute(statement)
    if not have:
        return True, spec.columns
    return False, [c for c in spec.columns if c.lower() not in {h.lower() for h in have}]
