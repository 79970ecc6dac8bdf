"""The warehouse SQL that no database here speaks: ANSI MERGE (Snowflake, BigQuery, Redshift...), and the DDL."""

from __future__ import annotations

import sqlite3

import pyarrow as pa

from airflow_provider_instagram.warehouse.dialects import DUCKDB, POSTGRESQL, SQLITE, Dialect, dialect_of
from airflow_provider_instagram.warehouse.insights_tables import (
    account_insights_table_spec,
    audience_table_spec,
    media_insights_table_spec,
)
from airflow_provider_instagram.warehouse.insights_view import LatestValues, metric_columns
from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec


def test_unknown_drivers_get_ansi_merge_with_the_hooks_placeholder() -> None:
    class SomeWarehouseConnection:
        pass

    dialect = dialect_of(SomeWarehouseConnection(), placeholder="?")
    sql = dialect.merge_sql("t", "s", ["user_id", "id", "like_count"], ("user_id", "id"))

    assert dialect == Dialect("ansi", placeholder="?")
    assert sql == (
        'MERGE INTO "t" t USING "s" s ON t."user_id" = s."user_id" AND t."id" = s."id" '
        'WHEN MATCHED THEN UPDATE SET "like_count" = s."like_count" '
        'WHEN NOT MATCHED THEN INSERT ("user_id", "id", "like_count") VALUES (s."user_id", s."id", s."like_count")'
    )


def test_drivers_are_told_apart_by_their_module() -> None:
    assert dialect_of(sqlite3.connect(":memory:")) == SQLITE


def test_tables_are_typed_from_the_export_schema_and_keyed_by_the_account() -> None:
    create = media_table_spec().create_sql(POSTGRESQL)
    assert create[0].startswith('CREATE TABLE IF NOT EXISTS "instagram_media" ("id" TEXT NOT NULL, "user_id" TEXT')
    assert '"timestamp" TIMESTAMP WITH TIME ZONE' in create[0] and '"like_count" BIGINT' in create[0]
    assert '"is_comment_enabled" BOOLEAN' in create[0] and '"position" INTEGER' in create[0]
    assert create[0].endswith('PRIMARY KEY ("user_id", "id"))')
    assert create[1] == (
        'CREATE INDEX IF NOT EXISTS "instagram_media_user_id_timestamp_idx" '
        'ON "instagram_media" ("user_id", "timestamp")'
    )
    assert profile_table_spec("ig_").create_sql(SQLITE)[0].endswith('PRIMARY KEY ("id", "exported_at"))')
    assert profile_table_spec().delete_user_sql(SQLITE) == 'DELETE FROM "instagram_profiles" WHERE "id" = ?'


def test_only_missing_columns_are_added_and_as_nullable() -> None:
    spec = media_table_spec()
    added = spec.add_column_sql(POSTGRESQL, [*spec.columns[:-2]])
    assert added == [
        'ALTER TABLE "instagram_media" ADD COLUMN "file_sha256" TEXT',
        'ALTER TABLE "instagram_media" ADD COLUMN "file_bytes" BIGINT',
    ]
    assert Dialect("ansi").column_type(pa.float64()) == "DOUBLE PRECISION"


def test_days_are_dates_and_sqlite_keeps_them_as_iso_text() -> None:
    assert [d.column_type(pa.date32()) for d in (POSTGRESQL, DUCKDB, SQLITE, Dialect("ansi"))] == [
        "DATE", "DATE", "TEXT", "DATE",
    ]  # fmt: skip
    create = media_insights_table_spec().create_sql(DUCKDB)
    assert '"snapshot_day" DATE NOT NULL' in create[0] and '"media_timestamp" TIMESTAMPTZ' in create[0]


def test_insights_tables_are_keyed_by_the_account_first() -> None:
    media, account, audience = media_insights_table_spec("ig_"), account_insights_table_spec(), audience_table_spec()
    assert media.create_sql(POSTGRESQL)[0].endswith(
        'PRIMARY KEY ("user_id", "media_id", "metric", "breakdown", "breakdown_value", "snapshot_day"))'
    )
    assert media.create_sql(POSTGRESQL)[1] == (
        'CREATE INDEX IF NOT EXISTS "ig_media_insights_user_id_media_id_idx" '
        'ON "ig_media_insights" ("user_id", "media_id")'
    )
    sources = (media.source, account.source, audience.source)
    assert sources == ("media_insights", "account_insights", "audience_demographics")
    assert account.key == ("user_id", "metric", "period", "breakdown", "breakdown_value", "day")
    assert account.time_column == "day"
    assert audience.key[:3] == ("user_id", "metric", "timeframe") and audience.time_column == "snapshot_day"
    assert audience.delete_user_sql(SQLITE) == 'DELETE FROM "instagram_audience_demographics" WHERE "user_id" = ?'


def test_only_plain_metric_names_become_view_columns_and_they_are_quoted() -> None:
    names = ["reach", "Reach", "a-b", "x;drop", "user_id", "views", "ig_reels_avg_watch_time", "a" * 64]
    assert metric_columns(names) == ["ig_reels_avg_watch_time", "reach", "views"]
    drop, create = LatestValues(media_insights_table_spec()).create_sql(["reach", "select"])
    assert drop == 'DROP VIEW IF EXISTS "instagram_media_insights_latest"'
    assert create.startswith('CREATE VIEW "instagram_media_insights_latest" AS\nWITH latest AS (')
    assert """MAX(CASE WHEN v."metric" = 'select' THEN v."value" END) AS "select"\n""" in create
    assert """WHERE "breakdown" = '' AND "value" IS NOT NULL""" in create
