"""The bundled DAGs on Airflow's CeleryExecutor, two workers that share no files, against the LocalExecutor's run of
the same data; a worker killed in the middle of an export; OpenLineage's events; no token in any worker's logs.

The tests run in order on one deployment (``cluster``): each one's outputs are the next one's inputs, as the
days of a real deployment are.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest

from airflow_provider_instagram.dag_files import DELETION_DAG_ID, EXPORT_DAG_ID, REFRESH_DAG_ID
from airflow_provider_instagram.export.staging import STAGING_DIR
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.support.celery_cluster import LINEAGE_FILE, LOCAL, WORKERS, Cluster, onboard_accounts
from tests.support.connections import stored_connections
from tests.support.s3_server import BUCKET

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(600)]

CONNECTED_DAYS_AGO = 3  # old enough for Instagram to refresh the token (it refreshes tokens at least 24 h old)
LOOKBACK_DAYS = 12  # the emulator's media span 10 days: every run reads all of them
VOLATILE = frozenset({"exported_at", "loaded_at", "media_url", "thumbnail_url", "profile_picture_url"})
"""Columns that differ on every read (the export's time, signed CDN URLs): left out of the comparisons."""
SECRETS_SEEN: set[str] = set()
"""Every token and secret the tests saw, for the last test's "no secret in any log"."""


# ---------------------------------------------------------------------- helpers
def onboard_all(cluster: Cluster) -> dict[str, str]:
    connected = onboard_accounts(cluster, days_ago=CONNECTED_DAYS_AGO)
    remember_secrets(cluster.airflow)
    return connected


def remember_secrets(airflow: LocalAirflow) -> None:
    for row in stored_connections(airflow).values():
        if row.get("password") and len(row["password"]) >= 8:
            SECRETS_SEEN.add(row["password"])
        SECRETS_SEEN.update(v for k, v in row["extra"].items() if k == "client_secret" and v)


def run(airflow: LocalAirflow, dag_id: str, conf: dict[str, Any] | None = None, *,
        logical_date: datetime | None = None) -> str:  # fmt: skip
    run_id = trigger(airflow, dag_id, conf, logical_date=logical_date)
    finish(airflow, dag_id, run_id)
    return run_id


def trigger(airflow: LocalAirflow, dag_id: str, conf: dict[str, Any] | None = None, *,
            logical_date: datetime | None = None) -> str:  # fmt: skip
    airflow.wait_for_dag(dag_id)
    return airflow.trigger(dag_id, conf, logical_date=logical_date)


def finish(airflow: LocalAirflow, dag_id: str, run_id: str, timeout: float = 300) -> None:
    state = airflow.wait_for_run(dag_id, run_id, timeout=timeout)
    assert state == "success", f"{dag_id} {run_id} ended {state}:\n{airflow.failed_task_logs(dag_id, run_id)}"


def ran_on(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, dict[int, str]]:
    """Per task instance (``task[map_index]``), where each attempt ran: a worker's name, or ``scheduler``."""
    where = {}
    for ti in cluster.airflow.task_instances(dag_id, run_id):
        if ti["state"] == "skipped":
            continue
        attempts = cluster.airflow.task_attempt_logs(dag_id, run_id, ti["task_id"], ti["map_index"])
        where[f"{ti['task_id']}[{ti['map_index']}]"] = {n: cluster.worker_of(p) for n, p in attempts.items()}
    return where


def published(cluster: Cluster, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """The files readers see under ``prefix`` (staging left out), each as its rows without the volatile columns."""
    found = {}
    for key, body in cluster.s3.keys(f"{prefix}/").items():
        relative = key[len(prefix) + 1 :]
        if relative.startswith(f"{STAGING_DIR}/"):
            continue
        table = pq.read_table(io.BytesIO(body))
        table = table.drop_columns([c for c in table.column_names if c in VOLATILE])
        found[relative] = sorted(table.to_pylist(), key=lambda row: str(row.get("id")))
    return found


def staged(cluster: Cluster, prefix: str) -> list[str]:
    return sorted(k for k in cluster.s3.keys(f"{prefix}/{STAGING_DIR}/"))


def warehouse_rows(cluster: Cluster, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the warehouse's Instagram tables, without the volatile columns, sorted."""
    rows = {}
    with cluster.postgres.connect(database) as db, db.cursor() as cursor:
        for table in ("instagram_media", "instagram_profiles"):
            cursor.execute(f"SELECT * FROM {table} LIMIT 0")
            columns = [c.name for c in cursor.description if c.name not in VOLATILE]
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def health(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {a["connection"]: (a["outcome"], a["status"]) for a in report["accounts"]}


def media_partitions(files: Iterable[str]) -> set[str]:
    return {f.split("/")[1] for f in files if f.startswith("media/")}


# ---------------------------------------------------------------------- tests
def test_token_refresh_on_celery_writes_back_what_the_local_executor_writes(cluster: Cluster) -> None:
    airflow = cluster.airflow
    accounts = onboard_all(cluster)
    onboarded = stored_connections(airflow)
    celery_run = run(airflow, REFRESH_DAG_ID)
    celery_report = airflow.xcom(REFRESH_DAG_ID, celery_run, "health_report")
    after_celery = stored_connections(airflow)
    remember_secrets(airflow)

    onboard_all(cluster)  # the same accounts, connected three days ago again: the same data for the reference run
    local_run = run(airflow, REFRESH_DAG_ID + LOCAL)
    local_report = airflow.xcom(REFRESH_DAG_ID + LOCAL, local_run, "health_report")
    after_local = stored_connections(airflow)
    remember_secrets(airflow)

    assert health(celery_report) == health(local_report) == {c: ("refreshed", "ok") for c in accounts}
    for conn_id in accounts:
        written, reference = after_celery[conn_id], after_local[conn_id]
        assert written["password"] != onboarded[conn_id]["password"], f"no new token written back for {conn_id}"
        for extras in (written["extra"], reference["extra"]):
            lifetime = datetime.fromisoformat(extras["expires_at"]) - datetime.fromisoformat(extras["refreshed_at"])
            assert lifetime == timedelta(days=60) and extras["status"] == "ok"
        assert {k for k in written["extra"]} == {k for k in reference["extra"]}
    celery_places = {w for attempts in ran_on(cluster, REFRESH_DAG_ID, celery_run).values() for w in attempts.values()}
    local_places = {w for attempts in ran_on(cluster, REFRESH_DAG_ID + LOCAL, local_run).values()
                    for w in attempts.values()}  # fmt: skip
    assert celery_places <= set(WORKERS) and local_places == {"scheduler"}


def test_export_and_load_on_celery_match_the_local_executor_run_of_the_same_data(cluster: Cluster) -> None:
    airflow, now = cluster.airflow, cluster.emulator.now()
    celery_run = trigger(airflow, EXPORT_DAG_ID, {"lookback_days": LOOKBACK_DAYS}, logical_date=now)
    local_run = trigger(airflow, EXPORT_DAG_ID + LOCAL, {
        "lookback_days": LOOKBACK_DAYS, "destination": cluster.destination("local"), "sql_conn_id": "wh_local",
    }, logical_date=now)  # fmt: skip
    finish(airflow, EXPORT_DAG_ID, celery_run)
    finish(airflow, EXPORT_DAG_ID + LOCAL, local_run)

    celery_files, local_files = published(cluster, "celery"), published(cluster, "local")
    assert len(media_partitions(celery_files)) == len(cluster.seed["accounts"])
    assert celery_files == local_files
    assert staged(cluster, "celery") == staged(cluster, "local") == []
    celery_rows = warehouse_rows(cluster, "wh_celery")
    media_rows = sum(len(rows) for name, rows in celery_files.items() if name.startswith("media/"))
    assert len(celery_rows["instagram_media"]) == media_rows > 0
    assert len(celery_rows["instagram_profiles"]) == len(cluster.seed["accounts"])
    assert celery_rows == warehouse_rows(cluster, "wh_local")

    places = ran_on(cluster, EXPORT_DAG_ID, celery_run)
    workers_used = {w for attempts in places.values() for w in attempts.values()}
    assert workers_used == set(WORKERS), f"every task should run on a worker, and both should get some: {places}"
    assert {w for a in ran_on(cluster, EXPORT_DAG_ID + LOCAL, local_run).values() for w in a.values()} == {"scheduler"}


def test_a_worker_killed_mid_export_is_retried_on_the_other_and_publishes_exactly_once(cluster: Cluster) -> None:
    airflow, client = cluster.airflow, cluster.emulator
    account = cluster.seed["accounts"][0]
    conn_id = f"instagram_{account['username']}"
    # Each of this account's Instagram calls takes 3 s: the export is surely still reading when its worker dies.
    client.add_faults({"endpoint": "*", "probability": 1.0, "fault": {"kind": "latency", "ms": 3000},
                       "user": account["username"]})  # fmt: skip
    client.reset_calls()
    conf = {"conn_ids": [conn_id], "lookback_days": LOOKBACK_DAYS, "destination": cluster.destination("kill"),
            "sql_conn_id": "wh_kill"}  # fmt: skip
    run_id = trigger(airflow, EXPORT_DAG_ID, conf, logical_date=client.now())
    try:
        victim = wait_for_export_reading(cluster, run_id)
        assert victim.kill() > 0
    finally:
        client.clear_faults()
    finish(airflow, EXPORT_DAG_ID, run_id)

    attempts = ran_on(cluster, EXPORT_DAG_ID, run_id)["export_media[0]"]
    survivor = next(w.name for w in cluster.workers if w is not victim)
    assert attempts[1] == victim.name and attempts[max(attempts)] == survivor, attempts
    exported = published(cluster, "kill")
    undisturbed = {k: v for k, v in published(cluster, "celery").items() if f"user_id={account['id']}/" in k}
    assert exported == undisturbed, "the retried export must publish exactly the files of an undisturbed run"
    assert staged(cluster, "kill") == [], "the killed attempt's staged files must not be left behind"
    killed_rows = warehouse_rows(cluster, "wh_kill")
    celery_rows = warehouse_rows(cluster, "wh_celery")
    assert killed_rows["instagram_media"] == [r for r in celery_rows["instagram_media"] if account["id"] in r]


def wait_for_export_reading(cluster: Cluster, run_id: str, timeout: float = 120) -> Any:
    """The worker running the run's export once that export has called Instagram (its first attempt's log is
    in that worker's home)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = cluster.airflow.task_attempt_logs(EXPORT_DAG_ID, run_id, "export_media", 0)
        if 1 in logs and sum(cluster.emulator.calls().values()) > 0:
            name = cluster.worker_of(logs[1])
            return next(w for w in cluster.workers if w.name == name)
        time.sleep(0.2)
    raise AssertionError(f"the export of {run_id} did not start reading within {timeout:.0f} s")


def test_data_deletion_requested_by_meta_runs_on_celery_and_removes_one_user(cluster: Cluster) -> None:
    airflow, client = cluster.airflow, cluster.emulator
    gone, kept = cluster.seed["accounts"][1], cluster.seed["accounts"][2]
    answer = client.send_signed_request(f"{airflow.base_url}/instagram/meta/data-deletion", gone["id"])
    assert answer["status"] == 200, answer
    code = json.loads(answer["body"])["confirmation_code"]
    finish(airflow, DELETION_DAG_ID, f"meta_deletion__{code}")

    partitions = media_partitions(published(cluster, "celery"))
    assert f"user_id={gone['id']}" not in partitions and f"user_id={kept['id']}" in partitions
    rows = warehouse_rows(cluster, "wh_celery")
    assert not [r for r in rows["instagram_media"] if gone["id"] in r]
    assert [r for r in rows["instagram_media"] if kept["id"] in r]


def test_openlineage_events_name_the_export_and_load_datasets(cluster: Cluster) -> None:
    events = [json.loads(line) for worker in cluster.workers if (worker.home / LINEAGE_FILE).exists()
              for line in (worker.home / LINEAGE_FILE).read_text().splitlines() if line.strip()]  # fmt: skip
    complete = [e for e in events if e.get("eventType") == "COMPLETE"]
    exports = [e for e in complete if e["job"]["name"].endswith(".export_media")]
    loads = [e for e in complete if e["job"]["name"].endswith(".load_warehouse")]
    assert exports and loads, f"no COMPLETE events of the export and the load among {len(events)} events"
    outputs = {(d["namespace"], d["name"]) for e in exports for d in e.get("outputs", [])}
    user = cluster.seed["accounts"][2]["id"]
    assert (f"s3://{BUCKET}", f"celery/media/user_id={user}") in outputs, outputs
    tables = {(d["namespace"], d["name"]) for e in loads for d in e.get("outputs", [])}
    assert (f"postgres://127.0.0.1:{cluster.postgres.port}", "wh_celery.public.instagram_media") in tables, tables
    inputs = {(d["namespace"], d["name"]) for e in loads for d in e.get("inputs", [])}
    assert (f"s3://{BUCKET}", f"celery/media/user_id={user}") in inputs, inputs


def test_no_token_or_secret_in_any_log_of_any_machine(cluster: Cluster) -> None:
    secrets_seen = {s for s in SECRETS_SEEN if s}
    assert len(secrets_seen) > 8  # onboarded, refreshed twice, the app secret
    files = [*cluster.airflow.log_files(), *cluster.airflow.process_log_dir.glob("*.log")]
    for worker in cluster.workers:
        files += [worker.output, *(worker.home / "logs").rglob("*.log")]
        if (worker.home / LINEAGE_FILE).exists():
            files.append(worker.home / LINEAGE_FILE)
    assert {cluster.worker_of(f) for f in files} >= set(WORKERS)
    for path in files:
        text = path.read_text(errors="replace")
        leaked = [s[:6] for s in secrets_seen if s in text]
        assert not leaked, f"secret(s) starting {leaked} appear in {path}"
