"""The SQL warehouses the load tests run against: SQLite and DuckDB files, and a real PostgreSQL server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.local_airflow import PostgresServer
from airflow_provider_instagram.warehouse.dialects import dialect_of
from airflow_provider_instagram.warehouse.tables import existing_columns

CONN_ID = "warehouse"
KINDS = ("sqlite", "duckdb", "postgresql")


@dataclass
class Warehouse:
    """One warehouse behind the Airflow connection ``warehouse`` (an environment variable)."""

    kind: str
    connection: dict[str, Any]

    @property
    def mark(self) -> str:
        return "%s" if self.kind == "postgresql" else "?"

    def hook(self) -> Any:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(CONN_ID).get_hook()

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection of the hook, closed afterwards."""
        conn = self.hook().get_conn()
        try:
            yield conn
        finally:
            conn.close()

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cursor = conn.cursor()
            cursor.execute(sql.replace("?", self.mark), params)
            return [tuple(row) for row in cursor.fetchall()]

    def execute(self, sql: str, *params: Any) -> None:
        """Run one statement (``?`` marks its parameters) and commit."""
        with self.connect() as conn:
            conn.cursor().execute(sql.replace("?", self.mark), params)
            conn.commit()

    def columns(self, table: str) -> set[str]:
        with self.connect() as conn:
            return set(existing_columns(conn.cursor(), dialect_of(conn), table))

    def count(self, table: str, user_id: str | None = None) -> int:
        if user_id is None:
            return int(self.rows(f"SELECT COUNT(*) FROM {table}")[0][0])
        return int(self.rows(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", user_id)[0][0])

    def tables(self) -> set[str]:
        if self.kind == "sqlite":
            return {r[0] for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r[0] for r in self.rows("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()")}  # fmt: skip


def make_warehouse(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg: PostgresServer | None) -> Warehouse:
    if kind == "sqlite":
        conn: dict[str, Any] = {"conn_type": "sqlite", "host": str(tmp_path / "warehouse.sqlite")}
    elif kind == "duckdb":
        conn = {"conn_type": "duckdb", "host": str(tmp_path / "warehouse.duckdb")}
    else:
        assert pg is not None
        conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": pg.port, "login": pg.user,
                "schema": pg.database}  # fmt: skip
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    warehouse = Warehouse(kind, conn)
    if kind == "postgresql":  # one server for the session: each test starts from an empty schema
        warehouse.execute("DROP SCHEMA IF EXISTS public CASCADE")
        warehouse.execute("CREATE SCHEMA public")
    return warehouse
