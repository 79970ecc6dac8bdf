"""InstagramExportToSqlOperator against real databases: SQLite and DuckDB files, and a PostgreSQL server.

Each test exports from the emulator with the real export, then loads those files (no hand-made fixtures).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate, read_record
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import ExportNotFoundError
from airflow_provider_instagram.export.formats import FORMATS
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.operators.warehouse import InstagramExportToSqlOperator
from airflow_provider_instagram.warehouse.dialects import SQLITE, dialect_of
from airflow_provider_instagram.warehouse.load import TableBatches, WarehouseLoader
from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec
from tests.support.instagram import Export, pinned, read_table
from tests.support.warehouse import CONN_ID, Warehouse

MEDIA, PROFILES = "instagram_media", "instagram_profiles"
COMPARED = ("id", "user_id", "caption", "media_type", "like_count", "comments_count", "parent_id", "position")


def window_of(days: int, now: datetime) -> tuple[ExportWindow, dict[str, Any]]:
    """A window of ``days`` UTC days up to the day of ``now`` (the emulator's clock), and the matching
    data-interval context."""
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    return ExportWindow.covering(start, end), {"data_interval_start": start, "data_interval_end": end}


def load(source: Path, context: dict[str, Any], user_id: str | None, **options: Any) -> dict[str, Any]:
    operator = InstagramExportToSqlOperator(
        task_id="load", source=f"file://{source}", sql_conn_id=CONN_ID, user_id=user_id,
        instagram_conn_id="instagram_default", **options,
    )  # fmt: skip
    result: dict[str, Any] = operator.execute(context)  # type: ignore[arg-type]
    return result


def table_rows(warehouse: Warehouse, user_id: str | None = None) -> dict[str, tuple[Any, ...]]:
    sql = f"SELECT {', '.join(COMPARED)} FROM {MEDIA}" + (" WHERE user_id = ?" if user_id else "")
    return {row[0]: row for row in warehouse.rows(sql, *([user_id] if user_id else []))}


def file_rows(source: Path, file_format: str = "parquet") -> dict[str, tuple[Any, ...]]:
    table = read_table(source, file_format).select(list(COMPARED))
    return {row["id"]: tuple(row[c] for c in COMPARED) for row in table.to_pylist()}


@pytest.fixture
def exported(export: Export, emulator_client: EmulatorClient, tmp_path: Path) -> tuple[Path, dict[str, Any], str]:
    """Thirty days of the first account, exported to ``tmp_path/out``; its user id."""
    window, context = window_of(30, pinned(emulator_client, accounts=1, media=160))
    summary = export(window)
    return tmp_path / "out", context, summary.user_id


def test_first_load_creates_typed_tables_holding_exactly_the_exported_rows(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str], connect: Any,
) -> None:  # fmt: skip
    source, context, user_id = exported
    connect(user_id=user_id)  # the user id from the connection's extra
    summary = load(source, context, None)

    media, profiles = summary["tables"]
    expected = file_rows(source)
    assert table_rows(warehouse) == expected and len(expected) > 100
    assert media["rows"] == media["user_rows"] == len(expected) and media["deleted"] == 0
    assert media["columns_added"] == media_table_spec().columns  # created from the export schema
    assert (profiles["rows"], profiles["user_rows"], warehouse.count(PROFILES), _profiles(warehouse, user_id)) == (
        1,
        1,
        1,
        1,
    )
    latest = warehouse.rows(f"SELECT MAX(timestamp), MIN(timestamp) FROM {MEDIA}")[0]
    if warehouse.kind == "sqlite":  # ISO-8601 text that sorts as time
        assert latest[0].endswith("Z") and latest[0] > latest[1]
    else:
        assert isinstance(latest[0], datetime) and latest[0].tzinfo is not None
    assert summary["user_id"] == user_id


def test_a_rerun_changes_nothing_and_duplicates_nothing(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str],
) -> None:  # fmt: skip
    source, context, user_id = exported
    load(source, context, user_id)
    first = table_rows(warehouse)

    again = load(source, context, user_id)

    assert table_rows(warehouse) == first
    assert again["tables"][0]["user_rows"] == len(first) and again["tables"][0]["columns_added"] == []
    assert warehouse.count(PROFILES) == 1  # the same snapshot (same exported_at) is upserted, not added


def test_a_lookback_export_updates_counts_in_place_and_prunes_deleted_media(
    warehouse: Warehouse, export: Export, exported: tuple[Path, dict[str, Any], str],
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    source, context, user_id = exported
    load(source, context, user_id)
    before = table_rows(warehouse)
    window, ctx = window_of(1, emulator_client.now())
    recent = ExportWindow.covering(window.since - timedelta(days=5), window.until)
    albums = _albums_by_day(source, user_id)
    owned = [media_id for day in recent.days() for media_id in albums.get(day, [])]
    assert len(owned) >= 2, "the seed has media in the last days"
    liked, deleted = owned[0], owned[-1]
    old = albums[min(albums)][0]  # older than the look-back: this run does not own its day
    emulator_client.edit_media(liked, like_count=123_456)
    for media_id in (deleted, old):
        emulator_client.edit_media(media_id, deleted=True)
    export(recent)

    summary = load(source, ctx, user_id, lookback_days=5)

    after = table_rows(warehouse)
    gone = {i for i, row in before.items() if deleted in (i, row[COMPARED.index("parent_id")])}
    assert after[liked][COMPARED.index("like_count")] == 123_456
    assert gone and not gone & after.keys() and summary["tables"][0]["deleted"] == len(gone)
    assert old in after, "a day outside the window is not the load's to prune"
    assert after.keys() == before.keys() - gone  # updated in place: nothing added
    assert after == {i: r for i, r in file_rows(source).items() if i in after}


def _albums_by_day(source: Path, user_id: str) -> dict[Any, list[str]]:
    """Top-level media ids by UTC day, from the export."""
    by_day: dict[Any, list[str]] = {}
    for row in read_table(source, "parquet").to_pylist():
        if row["parent_id"] is None:
            by_day.setdefault(row["timestamp"].date(), []).append(row["id"])
    return by_day


def test_a_table_from_an_older_schema_gains_the_new_columns(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str],
) -> None:  # fmt: skip
    source, context, user_id = exported
    older = media_table_spec()
    older = dataclasses.replace(older, schema=pa.schema(list(older.schema)[:-3]))
    with warehouse.connect() as conn:
        WarehouseLoader(conn, dialect_of(conn)).load("0", [TableBatches(older, [])])
    assert "file_sha256" not in warehouse.columns(MEDIA)

    summary = load(source, context, user_id)

    assert summary["tables"][0]["columns_added"] == ["file_path", "file_sha256", "file_bytes"]
    assert {"file_path", "file_sha256", "file_bytes"} <= warehouse.columns(MEDIA)
    assert table_rows(warehouse) == file_rows(source)


def test_a_failure_mid_load_leaves_the_tables_exactly_as_they_were(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str],
) -> None:  # fmt: skip
    source, context, user_id = exported
    load(source, context, user_id)
    before = table_rows(warehouse)
    tables_before = warehouse.tables()

    def failing() -> Iterator[pa.Table]:
        from airflow_provider_instagram.warehouse.source import ExportedParts, part_batches

        window, _ = window_of(30, context["data_interval_end"] - timedelta(hours=1))  # the exported window
        parts = ExportedParts(__import__("airflow.sdk").sdk.ObjectStoragePath(f"file://{source}"), user_id)
        batches = part_batches(parts.parts("media", window, required=True), media_table_spec().schema, 7)
        yield next(batches)
        yield next(batches)
        raise OSError("the object store went away")

    with warehouse.connect() as conn, pytest.raises(OSError, match="went away"):
        WarehouseLoader(conn, dialect_of(conn)).load(user_id, [TableBatches(media_table_spec(), failing(), days=None)])

    assert table_rows(warehouse) == before
    assert warehouse.tables() == tables_before  # no staging table left behind


def test_a_missing_partition_fails_before_the_warehouse_is_touched(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str],
) -> None:  # fmt: skip
    source, context, user_id = exported
    load(source, context, user_id)
    before = table_rows(warehouse)
    day = (context["data_interval_end"] - timedelta(days=3)).date().isoformat()
    for part in (source / "media" / f"user_id={user_id}" / f"dt={day}").iterdir():
        part.unlink()

    with pytest.raises(ExportNotFoundError, match=rf"{day} is missing.*rerun\) the export"):
        load(source, context, user_id)
    assert table_rows(warehouse) == before


@pytest.mark.parametrize("file_format", [f for f in FORMATS if f != "parquet"])
def test_jsonl_and_csv_exports_load_the_same_rows(
    warehouse: Warehouse, export: Export, emulator_client: EmulatorClient, tmp_path: Path, file_format: str,
) -> None:  # fmt: skip
    window, context = window_of(10, pinned(emulator_client, accounts=1, media=60))
    user_id = export(window, file_format=file_format).user_id
    load(tmp_path / "out", context, user_id)
    assert table_rows(warehouse) == file_rows(tmp_path / "out", file_format)


def test_deleting_one_user_is_one_indexed_statement_per_table(
    warehouse: Warehouse, export: Export, emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    window, context = window_of(10, pinned(emulator_client, accounts=2, media=40))
    users = []
    for account in (0, 1):
        users.append(export(window, account=account).user_id)
        load(tmp_path / "out", context, users[-1])
    keep = table_rows(warehouse, users[1])
    assert keep and table_rows(warehouse, users[0])

    statement = media_table_spec().delete_user_sql(SQLITE)
    assert _keyed_by_user(warehouse, statement, users[0])
    warehouse.execute(statement, users[0])
    warehouse.execute(profile_table_spec().delete_user_sql(SQLITE), users[0])

    assert table_rows(warehouse, users[0]) == {} and _profiles(warehouse, users[0]) == 0
    assert table_rows(warehouse, users[1]) == keep and _profiles(warehouse, users[1]) == 1


def _profiles(warehouse: Warehouse, user_id: str) -> int:
    return int(warehouse.rows(f"SELECT COUNT(*) FROM {PROFILES} WHERE id = ?", user_id)[0][0])


def _keyed_by_user(warehouse: Warehouse, statement: str, user_id: str) -> bool:
    """Whether ``statement`` finds its rows through an index (PostgreSQL is told to prefer one to a scan of a
    tiny table). DuckDB prints no index use for a key prefix: there, whether the primary key leads with user_id."""
    if warehouse.kind == "sqlite":
        plan = " ".join(str(r) for r in warehouse.rows(f"EXPLAIN QUERY PLAN {statement}", user_id))
        return "USING INDEX" in plan or "USING PRIMARY KEY" in plan
    if warehouse.kind == "duckdb":
        found = warehouse.rows("SELECT constraint_column_names FROM duckdb_constraints() "
                               "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", MEDIA)  # fmt: skip
        return bool(found) and list(found[0][0])[:1] == ["user_id"]
    with warehouse.connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN {statement.replace('?', '%s')}", (user_id,))
        plan = " ".join(r[0] for r in cursor.fetchall())
        conn.rollback()
        return "Index" in plan


def test_profiles_loaded_before_the_ids_were_unified_are_brought_to_todays_terms(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str], emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    """Earlier versions loaded the professional account's id into instagram_profiles.user_id and had no
    professional_account_id column: the next load adds the column and moves that id there, in its transaction."""
    source, context, user_id = exported
    load(source, context, user_id)
    professional = emulator_client.seed()["accounts"][0]["professional_account_id"]
    warehouse.execute(f"ALTER TABLE {PROFILES} DROP COLUMN professional_account_id")  # as an earlier version left it
    warehouse.execute(f"UPDATE {PROFILES} SET user_id = ?", professional)

    summary = load(source, context, user_id)

    assert summary["tables"][1]["columns_added"] == ["professional_account_id"]
    rows = warehouse.rows(f"SELECT id, user_id, professional_account_id FROM {PROFILES}")
    assert rows == [(user_id, user_id, professional)]


class GatedLoad(InstagramExportToSqlOperator):
    """The load, with Meta's data-deletion callback landing while it commits (see test_media_operator)."""

    marks_before_read: int

    def publish_gate(self) -> PublishGate:
        reads = [0]

        def read(conn_id: str) -> AccountRecord:
            reads[0] += 1
            if reads[0] == self.marks_before_read:
                key = f"AIRFLOW_CONN_{conn_id.upper()}"
                conn = json.loads(os.environ[key])
                marks = {"status": "revoked", "deletion_requested_at": "2026-11-28T10:31:00+00:00"}
                os.environ[key] = json.dumps({**conn, "extra": {**conn["extra"], **marks}})
            return read_record(conn_id)

        return PublishGate(str(self.instagram_conn_id), read=read)


@pytest.mark.parametrize("when", [1, 2], ids=["before-the-commit", "after-the-commit"])
def test_a_load_never_leaves_rows_of_an_account_whose_deletion_was_requested_meanwhile(
    warehouse: Warehouse, exported: tuple[Path, dict[str, Any], str], connect: Any, when: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    source, context, user_id = exported
    connect()
    monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_DEFAULT", os.environ["AIRFLOW_CONN_INSTAGRAM_DEFAULT"])  # restored
    operator = GatedLoad(task_id="load", source=f"file://{source}", sql_conn_id=CONN_ID,
                         instagram_conn_id="instagram_default")  # fmt: skip
    operator.marks_before_read = when
    with pytest.raises(AirflowSkipException, match="nothing was published" if when == 1 else "removed again"):
        operator.execute(context)  # type: ignore[arg-type]
    if when == 1:  # rolled back whole: not even the tables it created are left
        assert not {MEDIA, PROFILES} & warehouse.tables()
    else:
        assert warehouse.count(MEDIA, user_id) == 0 and warehouse.count(PROFILES, None) == 0
