"""The bundled media export DAG under a real scheduler, against the emulator, to local disk and to S3."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.export.dag import ASSET_ALIAS, DESTINATION_VARIABLE
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer
from tests.conftest import DAG_WAREHOUSE
from tests.support.connections import delete_connections, delete_variable, put_connection, put_variable
from tests.support.instagram import expected_rows, read_table
from tests.support.s3_server import BUCKET, CONN_ID, S3Server
from tests.support.trigger_form import form_conf

DAG_ID = "instagram_media_export"
WINDOW = re.compile(r"(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)")


@pytest.fixture
def accounts(airflow_server: LocalAirflow, emulator_client: EmulatorClient) -> Iterator[list[dict[str, Any]]]:
    """Three emulator accounts as connections; the third is marked reauth_required."""
    delete_connections(airflow_server)
    seed = emulator_client.reset(accounts=3, media=60, span_days=10)
    for n, account in enumerate(seed["accounts"]):
        extra = {"status": "reauth_required", "status_reason": "the token expired"} if n == 2 else {}
        put_connection(airflow_server, f"ig_export_{n}", host=seed["graph_url"], login=seed["client_id"],
                       password=account["access_token"], extra=extra)  # fmt: skip
    yield seed["accounts"]
    delete_connections(airflow_server)


def run(server: LocalAirflow, conf: dict[str, Any]) -> tuple[str, dict[str, str]]:
    server.wait_for_dag(DAG_ID)
    run_id = server.trigger(DAG_ID, conf=conf)
    assert server.wait_for_run(DAG_ID, run_id, timeout=300) == "success", server.failed_task_logs(DAG_ID, run_id)
    states = {f"{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]": ti["state"]
              for ti in server.task_instances(DAG_ID, run_id)}  # fmt: skip
    if any(state not in ("success", "skipped") for state in states.values()):
        print(server.failed_task_logs(DAG_ID, run_id))  # shown with the failed assertion that follows
    return run_id, states


def window_of(summary: dict[str, Any]) -> ExportWindow:
    first, last = WINDOW.search(summary["window"]).groups()  # type: ignore[union-attr]
    return ExportWindow(date.fromisoformat(first), date.fromisoformat(last))


def test_export_dag_to_local_disk_and_postgresql_lists_accounts_and_skips_the_one_needing_a_human(
    airflow_server: LocalAirflow, accounts: list[dict[str, Any]], connect: Callable[..., InstagramHook],
    postgres_server: PostgresServer, tmp_path: Path,
) -> None:  # fmt: skip
    destination = tmp_path / "export"
    warehouse = psycopg2.connect(host="127.0.0.1", port=postgres_server.port, user=postgres_server.user,
                                 dbname=DAG_WAREHOUSE)  # fmt: skip
    warehouse.autocommit = True
    warehouse.cursor().execute("DROP TABLE IF EXISTS instagram_media, instagram_profiles")
    put_variable(airflow_server, DESTINATION_VARIABLE, f"file://{destination}")
    try:  # from the trigger form, two fields filled in: the destination comes from the Variable, the format is parquet
        run_id, states = run(airflow_server, form_conf(airflow_server, DAG_ID, lookback_days=2,
                                                       sql_conn_id=DAG_WAREHOUSE))  # fmt: skip
    finally:
        delete_variable(airflow_server, DESTINATION_VARIABLE)
    assert states == {"accounts[-1]": "success", "export_media[ig_export_0]": "success",
                      "export_media[ig_export_1]": "success", "warehouse_loads[-1]": "success",
                      "load_warehouse[ig_export_0]": "success", "load_warehouse[ig_export_1]": "success",
                      "summary[-1]": "success"}  # fmt: skip
    table = read_table(destination, "parquet")
    cursor = warehouse.cursor()
    for n in (0, 1):
        summary = airflow_server.xcom(DAG_ID, run_id, "export_media", map_index=n)
        assert summary["conn_id"] == f"ig_export_{n}" and "access_token" not in str(summary)
        connect(account=n)
        want = sorted(r["id"] for r in expected_rows(window_of(summary)))
        got = sorted(r["id"] for r in table.to_pylist() if r["user_id"] == summary["user_id"])
        assert got == want and len(want) == summary["rows"] > 0
        cursor.execute("SELECT id FROM instagram_media WHERE user_id = %s ORDER BY id", (summary["user_id"],))
        assert sorted(r[0] for r in cursor.fetchall()) == want, "the warehouse holds exactly the exported rows"
        cursor.execute("SELECT COUNT(*) FROM instagram_profiles WHERE id = %s", (summary["user_id"],))
        assert cursor.fetchone() == (1,)
    warehouse.close()
    totals = airflow_server.xcom(DAG_ID, run_id, "summary")
    assert totals["accounts"] == totals["accounts_loaded"] == 2
    assert totals["rows"] == totals["warehouse_rows"] == table.num_rows
    events = airflow_server.call("GET", "/api/v2/assets/events", params={"limit": 100})["asset_events"]
    uris = {e["uri"] for e in events if e.get("source_run_id") == run_id}
    assert uris == {
        f"file://{destination}/{table}/user_id={account['user_id']}"
        for table in ("media", "profiles")
        for account in accounts[:2]
    }, ASSET_ALIAS  # one asset per account: no two tasks create one
    assert not list(destination.rglob("*ig_export_2*")) and len(list((destination / "media").iterdir())) == 2


def test_export_dag_to_s3_skips_a_named_account_marked_reauth_required(
    airflow_server: LocalAirflow, accounts: list[dict[str, Any]], s3_server: S3Server
) -> None:
    conf = form_conf(airflow_server, DAG_ID, destination=f"s3://{CONN_ID}@{BUCKET}/dag-run", file_format="jsonl",
                     conn_ids=["ig_export_0", "ig_export_2"])  # the form's warehouse left empty  # fmt: skip
    run_id, states = run(airflow_server, conf)
    assert states["export_media[ig_export_0]"] == "success"
    assert states["export_media[ig_export_2]"] == "skipped"
    assert states["warehouse_loads[-1]"] == "skipped", "no warehouse configured: nothing to load"
    objects = s3_server.keys("dag-run/")
    parts = [k for k in objects if k.startswith("dag-run/media/") and k.endswith(".jsonl")]
    summary = airflow_server.xcom(DAG_ID, run_id, "export_media", map_index=0)
    assert parts and sum(objects[k].count(b"\n") for k in parts) == summary["rows"]
    assert not [k for k in objects if "_staging" in k]
    logs = "".join(text for path, text in airflow_server.iter_logs_text() if "ig_export_2" in text)
    assert "reauth_required" in logs and "the token expired" in logs
