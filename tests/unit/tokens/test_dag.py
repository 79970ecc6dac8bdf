"""The bundled DAG file parses, and has the shape the docs describe."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from airflow.sdk import DAG

DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "instagram_token_refresh.py"


def load() -> DAG:
    spec = importlib.util.spec_from_file_location("instagram_token_refresh_dag", DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag: DAG = module.dag
    return dag


def test_bundled_dag_shape() -> None:
    dag = load()
    assert dag.dag_id == "instagram_token_refresh"
    assert sorted(dag.task_ids) == ["alert", "health_report", "plan", "refresh_batch"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert set(dag.params.keys()) == {"conn_ids", "warn_days", "batch_size"}
    assert dag.get_task("health_report").trigger_rule == "all_done"
    assert dag.get_task("health_report").upstream_task_ids == {"plan", "refresh_batch"}
    assert dag.get_task("alert").upstream_task_ids == {"health_report"}
    assert dag.get_task("refresh_batch").upstream_task_ids == {"plan"}
