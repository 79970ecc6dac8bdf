"""``airflow-instagram tokens``: the token health table from a real Airflow's connections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_instagram.account.record import format_time
from airflow_provider_instagram.cli import main
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.conftest import API_PASSWORD, API_USER
from tests.support.connections import put_connection


@pytest.fixture
def healthy_and_dead(airflow_server: LocalAirflow, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    api = {"conn_type": "http", "host": airflow_server.base_url, "login": API_USER, "password": API_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_CLI_API", json.dumps(api))
    now = datetime.now(UTC)
    put_connection(airflow_server, "cli_ok", password="t1", extra={
        "username": "alice", "status": "ok", "expires_at": format_time(now + timedelta(days=40)),
        "refreshed_at": format_time(now - timedelta(days=20)),
    })  # fmt: skip
    put_connection(airflow_server, "cli_dead", password="t2", extra={
        "username": "bob", "status": "reauth_required", "status_reason": "the user removed the app (access revoked)",
    })  # fmt: skip
    yield
    for conn_id in ("cli_ok", "cli_dead"):
        airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")


@pytest.mark.usefixtures("healthy_and_dead")
def test_tokens_prints_the_health_table_and_exits_1_when_an_account_needs_a_human(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tokens", "--api-conn-id", "cli_api"]) == 1
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("cli_")}
    assert "alice" in lines["cli_ok"] and " ok " in lines["cli_ok"] and "40.0" in lines["cli_ok"]
    assert "bob" in lines["cli_dead"] and "reauth_required" in lines["cli_dead"]
    assert "- cli_dead: reauth_required: the user removed the app (access revoked)" in out
    assert "t1" not in out.split() and "t2" not in out.split()


@pytest.mark.usefixtures("healthy_and_dead")
def test_tokens_json(capsys: pytest.CaptureFixture[str]) -> None:
    main(["tokens", "--api-conn-id", "cli_api", "--json"])
    report = json.loads(capsys.readouterr().out)
    accounts = {a["connection"]: a for a in report["accounts"]}
    assert accounts["cli_ok"]["days_left"] == pytest.approx(40, abs=0.2)
    assert [a["connection"] for a in report["attention"]] == ["cli_dead"]


def test_tokens_without_api_connection_explains_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "--api-conn-id", "no_such_api_conn"]) == 2
    assert "host = the API server URL" in capsys.readouterr().err
