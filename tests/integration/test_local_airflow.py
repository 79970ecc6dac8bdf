"""Smoke test of the local-Airflow harness (``airflow_provider_instagram.local_airflow``): a real scheduler runs a
DAG whose task reads an env-var connection.

One Airflow deployment serves every check (starting one costs about a minute on 2 cores), so this is one test.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.local_airflow import LocalAirflow

DAG_ID = "airflow_server_smoke"

pytestmark = pytest.mark.airflow

DAG_SOURCE = """
import hashlib

from airflow.sdk import BaseHook, dag, get_current_context, task


@dag(dag_id="airflow_server_smoke", schedule=None)
def airflow_server_smoke():
    @task
    def read_connection() -> dict:
        conn = BaseHook.get_connection("x")
        print(f"connection password: {conn.password}")  # must reach the log masked
        return {
            "login": conn.login,
            "host": conn.host,
            "extra": conn.extra_dejson,
            "password_sha256": hashlib.sha256(conn.password.encode()).hexdigest(),
            "factor": get_current_context()["dag_run"].conf["factor"],
        }

    @task
    def times_ten(n: int) -> int:
        return n * 10

    read_connection()
    times_ten.expand(n=[1, 2, 3])


airflow_server_smoke()
"""


def _stored_connection(airflow: LocalAirflow, conn_id: str) -> dict[str, Any]:
    """A connection as stored in the metadata DB, secrets in clear (``airflow connections export``).

    The REST API masks secrets, and ``connections get -o json`` turns nested values into strings.
    """
    output = airflow.cli("connections", "export", "-", "--file-format", "json").stdout
    lines = output.splitlines()
    exported = json.loads("\n".join(lines[lines.index("{") :]))  # warnings may come first on stdout
    found: dict[str, Any] = exported[conn_id]
    return found


def test_airflow_server_runs_a_dag_and_serves_the_rest_api(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "smoke.py").write_text(DAG_SOURCE)
    secret = f"env-secret-{secrets.token_hex(8)}"
    env_conn = {"conn_type": "http", "login": "robot", "password": secret, "host": "example.invalid",
                "extra": {"region": "eu"}}  # fmt: skip

    with LocalAirflow(dags_folder=dags, env={"AIRFLOW_CONN_X": json.dumps(env_conn)}) as airflow:
        assert airflow.env["AIRFLOW_CONN_X"] == json.dumps(env_conn)
        airflow.wait_for_dag(DAG_ID, timeout=120)
        run_id = airflow.trigger(DAG_ID, conf={"factor": 7})
        state = airflow.wait_for_run(DAG_ID, run_id, timeout=180)
        assert state == "success", airflow.describe_logs()

        # The task's return value, read through the REST API.
        xcom = airflow.request(
            "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/read_connection/xcomEntries/return_value"
        )
        assert xcom.status_code == 200, xcom.text
        assert xcom.json()["value"] == {
            "login": "robot",
            "host": "example.invalid",
            "extra": {"region": "eu"},
            "password_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "factor": 7,
        }

        # Mapped task instances are listed one per map index.
        instances = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in airflow.task_instances(DAG_ID, run_id)}
        assert instances == {
            ("read_connection", -1): "success",
            ("times_ten", 0): "success",
            ("times_ten", 1): "success",
            ("times_ten", 2): "success",
        }
        assert [airflow.xcom(DAG_ID, run_id, "times_ten", map_index=i) for i in range(3)] == [10, 20, 30]

        # Raw task log files: one per task instance, the printed password masked in them.
        logs = airflow.log_files()
        assert len(logs) == 4, logs
        read_log = next(path for path in logs if "task_id=read_connection" in str(path)).read_text()
        assert "connection password: ***" in read_log
        assert not [path for path, text in airflow.iter_logs_text() if secret in text]

        # A connection created through the REST API can be patched field by field with a repeated update_mask.
        created = airflow.request(
            "POST", "/api/v2/connections",
            json={"connection_id": "smoke_db", "conn_type": "http", "login": "first-login",
                  "password": "old-password", "extra": json.dumps({"keep": 1, "token": "old"})},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        patched = airflow.request(
            "PATCH", "/api/v2/connections/smoke_db",
            params=[("update_mask", "password"), ("update_mask", "extra")],
            json={"connection_id": "smoke_db", "conn_type": "http", "login": "not-in-the-mask",
                  "password": "new-password", "extra": json.dumps({"keep": 1, "token": "new"})},
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        read_back = airflow.request("GET", "/api/v2/connections/smoke_db")
        assert read_back.status_code == 200, read_back.text
        assert read_back.json()["login"] == "first-login"
        # The REST API masks the password and sensitive-looking extra keys; the CLI shows the stored values.
        assert json.loads(read_back.json()["extra"]) == {"keep": 1, "token": "***"}
        stored = _stored_connection(airflow, "smoke_db")
        assert stored["password"] == "new-password"
        assert stored["login"] == "first-login"
        assert json.loads(stored["extra"]) == {"keep": 1, "token": "new"}

        # A connection that exists only as an AIRFLOW_CONN_* variable is not in the database: PATCH answers 404.
        env_only = airflow.request(
            "PATCH", "/api/v2/connections/x", params=[("update_mask", "password")],
            json={"connection_id": "x", "conn_type": "http", "password": "never-written"},
        )  # fmt: skip
        assert env_only.status_code == 404, env_only.text

        # The settings live in the home: plain `airflow` commands work on it, secrets decrypted (the demo's
        # "Can't decrypt" came from a Fernet key that lived only in the processes' environment).
        plain = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(airflow.home)}
        listed = subprocess.run([airflow.airflow_bin, "connections", "get", "smoke_db", "-o", "json"], env=plain,
                                capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert "first-login" in listed.stdout

        home = airflow.home
        running = {process.pid for process in airflow.leftover_processes()}
        assert {process.pid for process in airflow.processes.values()} <= running
        assert len(running) > len(airflow.processes)  # the scheduler's LocalExecutor workers and log server too

    assert airflow.leftover_processes() == []
    assert all(process.poll() is not None for process in airflow.processes.values())
    assert not home.exists()
