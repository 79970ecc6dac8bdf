"""The bundled insights DAG under a real scheduler, against the emulator, into a real PostgreSQL warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer
from tests.conftest import DAG_WAREHOUSE
from tests.support.connections import delete_connections, put_connection
from tests.support.instagram import pinned

DAG_ID = "instagram_insights"
TABLES = ("instagram_media_insights", "instagram_account_insights", "instagram_audience_demographics")


@pytest.fixture
def accounts(airflow_server: LocalAirflow, emulator_client: EmulatorClient) -> Iterator[list[dict[str, Any]]]:
    delete_connections(airflow_server)
    pinned(emulator_client, accounts=2, media=30, span_days=60)
    seed = emulator_client.seed()
    for n, account in enumerate(seed["accounts"]):
        put_connection(airflow_server, f"ig_insights_{n}", host=seed["graph_url"], login=seed["client_id"],
                       password=account["access_token"])  # fmt: skip
    yield seed["accounts"]
    delete_connections(airflow_server)


@pytest.fixture
def warehouse(postgres_server: PostgresServer) -> Iterator[Any]:
    db = psycopg2.connect(host="127.0.0.1", port=postgres_server.port, user=postgres_server.user, dbname=DAG_WAREHOUSE)
    db.autocommit = True
    db.cursor().execute(
        f"DROP VIEW IF EXISTS instagram_media_insights_latest; DROP TABLE IF EXISTS {', '.join(TABLES)}"
    )
    yield db.cursor()
    db.close()


def run(server: LocalAirflow, emulator_client: EmulatorClient, conf: dict[str, Any]) -> tuple[str, dict[str, str]]:
    server.wait_for_dag(DAG_ID)
    run_id = server.trigger(DAG_ID, conf=conf, logical_date=emulator_client.now())
    assert server.wait_for_run(DAG_ID, run_id, timeout=300) == "success", server.failed_task_logs(DAG_ID, run_id)
    states = {f"{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]": ti["state"]
              for ti in server.task_instances(DAG_ID, run_id)}  # fmt: skip
    return run_id, states


def rows(cursor: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def test_a_metric_retired_mid_run_leaves_the_run_green_and_every_other_metric_loaded(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, accounts: list[dict[str, Any]], warehouse: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    # Meta retires "saved" once the emulator has answered 10 media insights calls: in the middle of the first
    # account's read.
    emulator_client.configure(retired_metrics=["saved"], retire_after_insights_calls=10)
    conf = {"destination": f"file://{tmp_path}", "sql_conn_id": DAG_WAREHOUSE,
            "conn_ids": ["ig_insights_0", "ig_insights_1"]}  # fmt: skip
    run_id, states = run(airflow_server, emulator_client, conf)
    assert set(states.values()) == {"success"} and len(states) == 7, states
    totals = airflow_server.xcom(DAG_ID, run_id, "summary")
    assert {"FEED/saved", "REELS/saved"} & set(totals["metrics_dropped"]), totals
    assert totals["media_read"] == 60 and totals["accounts_loaded"] == 2
    logs = "".join(text for _, text in airflow_server.iter_logs_text())
    assert "Instagram refused insights metric 'saved'" in logs and "dropped for the rest of this run" in logs

    per_metric = dict(rows(warehouse, "SELECT metric, COUNT(DISTINCT media_id) FROM instagram_media_insights "
                                      "WHERE breakdown = '' GROUP BY metric"))  # fmt: skip
    assert per_metric["reach"] == per_metric["views"] == 60, "every other metric of every media was loaded"
    assert 0 < per_metric.get("saved", 0) < 60, "saved: the media read before the retirement, and no others"
    assert rows(warehouse, "SELECT COUNT(*) FROM instagram_media_insights WHERE value = 0 AND reason IS NOT NULL") == [
        (0,)
    ]
    no_value = rows(warehouse, "SELECT DISTINCT reason FROM instagram_media_insights WHERE value IS NULL")
    assert set(no_value) <= {("no_data",)}, "the newest media have no data yet (the emulator's 24-hour lag)"
    days = rows(warehouse, "SELECT user_id, COUNT(DISTINCT day) FROM instagram_account_insights GROUP BY user_id")
    assert sorted(days) == sorted((a["user_id"], 30) for a in accounts), "30 days of account insights backfilled"
    assert rows(warehouse, "SELECT COUNT(*) > 0 FROM instagram_audience_demographics WHERE breakdown = 'country'") == [
        (True,)
    ]
    latest = rows(warehouse, "SELECT COUNT(*), COUNT(reach) FROM instagram_media_insights_latest")
    assert latest[0][0] == 60 and latest[0][1] > 0

    # The next day, with "saved" retired from the start: only the young media and a rolling share of the old ones
    # are read, the retired metric keeps its history and gets no rows, and nothing is duplicated.
    saved_before = per_metric["saved"]
    emulator_client.advance_clock(86_400)
    emulator_client.configure(retire_after_insights_calls=0)
    second, _ = run(airflow_server, emulator_client, conf)
    read = [airflow_server.xcom(DAG_ID, second, "export_insights", map_index=n) for n in (0, 1)]
    assert all(0 < r["media_read"] < 30 and r["due_why"]["hot"] + r["due_why"]["rolling"] == r["media_read"]
               for r in read), read  # fmt: skip
    saved = dict(rows(warehouse, "SELECT snapshot_day::text, COUNT(*) FILTER (WHERE metric = 'saved') "
                                 "FROM instagram_media_insights GROUP BY snapshot_day"))  # fmt: skip
    assert saved == {"2026-11-28": saved_before, "2026-11-29": 0}
    assert rows(
        warehouse,
        "SELECT COUNT(*) FROM (SELECT 1 FROM instagram_media_insights GROUP BY user_id, "
        "media_id, metric, breakdown, breakdown_value, snapshot_day HAVING COUNT(*) > 1) d",
    ) == [(0,)]
