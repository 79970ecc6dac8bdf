"""The operators' OpenLineage datasets: both operators run for real (the emulator, moto's S3, SQLite, DuckDB and
PostgreSQL), then ``get_openlineage_facets_on_complete`` is asked, as the OpenLineage listener asks it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest
from airflow.providers.openlineage.utils.utils import translate_airflow_asset
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.insights import InstagramInsightsToStorageOperator
from airflow_provider_instagram.operators.insights_warehouse import InstagramInsightsToSqlOperator
from airflow_provider_instagram.operators.lineage import partition_dataset, table_datasets
from airflow_provider_instagram.operators.media import InstagramMediaToStorageOperator
from airflow_provider_instagram.operators.warehouse import InstagramExportToSqlOperator
from tests.support.instagram import pinned
from tests.support.s3_server import BUCKET, CONN_ID, S3Server
from tests.support.warehouse import CONN_ID as SQL_CONN_ID
from tests.support.warehouse import Warehouse


def names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def daily_context(now: datetime, days: int = 3) -> Any:
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return {"data_interval_start": end - timedelta(days=days), "data_interval_end": end, "outlet_events": {}}


def export(
    destination: str, now: datetime, days: int = 3, **options: Any
) -> tuple[InstagramMediaToStorageOperator, dict[str, Any]]:
    operator = InstagramMediaToStorageOperator(task_id="export", destination=destination, **options)
    return operator, operator.execute(daily_context(now, days))


def assert_no_secret(lineage: Any, emulator_client: EmulatorClient, *also: str) -> None:
    seed = emulator_client.seed()
    text = str(lineage) + json.dumps(attrs.asdict(lineage), default=str)
    for secret in (seed["accounts"][0]["access_token"], seed["client_secret"], "access_token", *also):
        assert secret not in text


def test_a_file_export_reports_the_account_read_and_the_partitions_written(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=20)
    connect()
    operator, summary = export(f"file://{tmp_path}", now)
    lineage = operator.get_openlineage_facets_on_complete(None)

    uid, graph = summary["user_id"], emulator_client.seed()["graph_url"]
    assert names(lineage.inputs) == [(graph, f"{uid}/media"), (graph, uid)]
    assert names(lineage.outputs) == [
        ("file", f"{tmp_path}/media/user_id={uid}"), ("file", f"{tmp_path}/profiles/user_id={uid}"),
    ]  # fmt: skip
    # The same datasets as Airflow's own translation of the assets the export announces (AssetAlias outlets).
    assets = [Asset(f"file://{tmp_path}/{table}/user_id={uid}") for table in ("media", "profiles")]
    assert names([translate_airflow_asset(asset, None) for asset in assets]) == names(lineage.outputs)
    assert_no_secret(lineage, emulator_client)


def test_an_s3_export_names_the_bucket_and_keys_without_the_connection_id(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, s3_connection: S3Server
) -> None:
    now = pinned(emulator_client, accounts=1, media=40)
    connect()
    prefix = f"runs/{uuid.uuid4().hex}"
    operator, summary = export(f"s3://{CONN_ID}@{BUCKET}/{prefix}", now, days=30, copy_files=True)
    lineage = operator.get_openlineage_facets_on_complete(None)

    uid = summary["user_id"]
    assert summary["files_copied"] > 0
    assert names(lineage.outputs) == [
        (f"s3://{BUCKET}", f"{prefix}/{table}/user_id={uid}") for table in ("media", "profiles", "files")
    ]
    media = Asset(f"s3://{BUCKET}/{prefix}/media/user_id={uid}")
    assert names([translate_airflow_asset(media, None)]) == names(lineage.outputs[:1])
    assert_no_secret(lineage, emulator_client, CONN_ID, "testing-secret")


def test_an_export_that_wrote_nothing_reports_nothing(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=5)
    connect(status="revoked", status_reason="the user removed the app")
    operator = InstagramMediaToStorageOperator(task_id="export", destination=f"file://{tmp_path}")
    with pytest.raises(AirflowSkipException):
        operator.execute(daily_context(now))
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [] and lineage.outputs == []


def expected_tables(warehouse: Warehouse, tmp_path: Path) -> tuple[str, str]:
    """The namespace and the name prefix of the warehouse's tables."""
    if warehouse.kind == "sqlite":
        return f"sqlite://{tmp_path}/warehouse.sqlite", "main."
    if warehouse.kind == "duckdb":
        return f"duckdb://{tmp_path}/warehouse.duckdb", "warehouse.main."
    conn = warehouse.connection
    return f"postgres://127.0.0.1:{conn['port']}", f"{conn['schema']}.public."


def test_a_load_reads_the_export_partitions_and_writes_the_warehouse_tables(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path, warehouse: Warehouse
) -> None:
    now = pinned(emulator_client, accounts=1, media=20)
    connect()
    exporter, summary = export(f"file://{tmp_path}/out", now)
    load = InstagramExportToSqlOperator(task_id="load", source=f"file://{tmp_path}/out", sql_conn_id=SQL_CONN_ID,
                                        user_id=summary["user_id"])  # fmt: skip
    load.execute(daily_context(now))
    lineage = load.get_openlineage_facets_on_complete(None)

    assert names(lineage.inputs) == names(exporter.get_openlineage_facets_on_complete(None).outputs), "they join"
    namespace, prefix = expected_tables(warehouse, tmp_path)
    assert names(lineage.outputs) == [
        (namespace, prefix + table) for table in ("instagram_media", "instagram_profiles")
    ]
    assert_no_secret(lineage, emulator_client)


def test_the_insights_export_and_load_join_on_the_insights_partitions(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path, warehouse: Warehouse
) -> None:
    now = pinned(emulator_client, accounts=1, media=10)
    connect()
    exporter = InstagramInsightsToStorageOperator(task_id="insights", destination=f"file://{tmp_path}/out",
                                                  account_backfill_days=2)  # fmt: skip
    summary = exporter.execute(daily_context(now))
    load = InstagramInsightsToSqlOperator(
        task_id="load_insights", source=f"file://{tmp_path}/out", sql_conn_id=SQL_CONN_ID, user_id=summary["user_id"],
        snapshot_day=summary["snapshot_day"], account_first_day=summary["account_first_day"],
        account_last_day=summary["account_last_day"],
    )  # fmt: skip
    load.execute(daily_context(now))
    written = exporter.get_openlineage_facets_on_complete(None)
    uid, graph = summary["user_id"], f"http://{urlsplit(emulator_client.seed()['graph_url']).netloc}"
    assert names(written.inputs) == [(graph, f"{uid}/{path}") for path in ("media", "stories", "insights",
                                                                          "media/insights")]  # fmt: skip
    tables = ("media_insights", "account_insights", "audience_demographics")
    assert names(written.outputs) == [("file", f"{tmp_path}/out/{t}/user_id={uid}") for t in tables]
    loaded = load.get_openlineage_facets_on_complete(None)
    assert sorted(names(loaded.inputs)) == sorted(names(written.outputs)), "they join"
    namespace, prefix = expected_tables(warehouse, tmp_path)
    assert sorted(names(loaded.outputs)) == sorted((namespace, f"{prefix}instagram_{t}") for t in tables)
    assert_no_secret(written, emulator_client)
    assert_no_secret(loaded, emulator_client)


def test_a_load_that_loaded_nothing_reports_nothing(tmp_path: Path) -> None:
    load = InstagramExportToSqlOperator(task_id="load", source=f"file://{tmp_path}", sql_conn_id=SQL_CONN_ID,
                                        user_id="17841400000000123")  # fmt: skip
    lineage = load.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [] and lineage.outputs == []


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("file:///data/ig/", ("file", "/data/ig/media/user_id=42")),
        ("local:///data/ig", ("file", "/data/ig/media/user_id=42")),
        ("s3://aws_prod@Bucket-1/ig", ("s3://bucket-1", "ig/media/user_id=42")),
        ("gs://gcp@bucket/deep/ig", ("gs://bucket", "deep/ig/media/user_id=42")),
    ],
    ids=["file", "local", "s3-with-conn-id", "gcs"],
)
def test_partition_names_follow_the_openlineage_spec(destination: str, expected: tuple[str, str]) -> None:
    assert names([partition_dataset(destination, "media", "42")]) == [expected]


class NoLineageHook:
    """A common.sql hook without OpenLineage naming of its own (the base class's answer)."""

    def get_openlineage_database_info(self, connection: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        ({"conn_type": "mysql", "host": "db", "port": 3306, "schema": "ig"}, ("mysql://db:3306", "ig.t")),
        ({"conn_type": "odbc", "host": "db", "port": None, "schema": ""}, ("odbc://db", "t")),
        ({"conn_type": "duckdb", "host": ":memory:", "port": None, "schema": ""}, ("duckdb", "memory.main.t")),
    ],
    ids=["server", "no-port-no-schema", "duckdb-in-memory"],
)  # fmt: skip
def test_tables_of_hooks_without_openlineage_naming(connection: dict[str, Any], expected: tuple[str, str]) -> None:
    conn = SimpleNamespace(password="s3cret", extra='{"token": "s3cret"}', **connection)
    datasets = table_datasets(NoLineageHook(), conn, ["t"])  # type: ignore[arg-type]
    assert names(datasets) == [expected] and "s3cret" not in str(datasets)
