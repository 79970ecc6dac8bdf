from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.airflow_server import AirflowServer
from tests.faulty_proxy import FaultyProxy

pytest_plugins = ["airflow_provider_instagram.emulator.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
API_USER, API_PASSWORD = "admin", "admin-password"
TOKEN_REFRESH_DAG = "instagram_token_refresh"


@pytest.fixture(scope="session")
def airflow_api_proxy() -> Iterator[FaultyProxy]:
    """A fault-injecting proxy in front of the session's Airflow API server (its target is set once it runs)."""
    with FaultyProxy(target="http://127.0.0.1:9") as proxy:
        yield proxy


@pytest.fixture(scope="session")
def airflow_server(airflow_api_proxy: FaultyProxy) -> Iterator[AirflowServer]:
    """One real Airflow (API server, scheduler with LocalExecutor, DAG processor) for the session, on the
    repository's ``dags/``. Tasks reach the REST API through ``airflow_api_proxy`` (connection airflow_api_default)."""
    api_conn = {"conn_type": "http", "host": airflow_api_proxy.url, "login": API_USER, "password": API_PASSWORD}
    env = {
        "AIRFLOW_CONN_AIRFLOW_API_DEFAULT": json.dumps(api_conn),
        # Two cores shared by every component on SQLite: a busy moment must not fail a task's first API call
        # (default 5 s), and the DAG files of a session do not change, so they need no constant re-parsing.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
    }
    with AirflowServer(REPO / "dags", env=env, username=API_USER, password=API_PASSWORD) as server:
        airflow_api_proxy.target = server.base_url
        # no accounts yet: the first scheduled run has nothing to alert about
        assert server.settle_first_scheduled_runs(TOKEN_REFRESH_DAG) == ["success"]
        yield server


@pytest.fixture
def api_proxy(airflow_server: AirflowServer, airflow_api_proxy: FaultyProxy) -> Iterator[FaultyProxy]:
    """The proxy with no fault rules, and none left behind."""
    airflow_api_proxy.clear()
    yield airflow_api_proxy
    airflow_api_proxy.clear()
