"""The bundled token refresh DAG under a real scheduler (and under ``airflow dags test``), against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from airflow_provider_instagram.account.record import format_time, parse_time
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.conftest import TOKEN_REFRESH_DAG
from tests.support.connections import delete_connections, put_connection, stored_connections
from tests.support.faulty_proxy import FaultyProxy
from tests.support.trigger_form import form_conf

DAY = 86_400
BULK = r"^/api/v2/connections$"


@pytest.fixture
def accounts(airflow_server: LocalAirflow, emulator_client: EmulatorClient) -> Iterator[list[dict[str, Any]]]:
    """Four emulator accounts whose tokens will be old enough to refresh once the emulator clock moves."""
    delete_connections(airflow_server)
    seed = emulator_client.reset(accounts=4, refresh_rotates_token=True)
    yield seed["accounts"]
    delete_connections(airflow_server)


def connect(server: LocalAirflow, emulator_client: EmulatorClient, conn_id: str, account: dict[str, Any],
            refreshed_hours_ago: float, **extra: Any) -> None:  # fmt: skip
    seed = emulator_client.seed()
    now = datetime.now(UTC)
    put_connection(
        server, conn_id, host=seed["graph_url"], login=seed["client_id"], password=account["access_token"],
        extra={
            "client_secret": seed["client_secret"], "oauth_url": seed["oauth_url"], "user_id": account["user_id"],
            "username": account["username"], "refreshed_at": format_time(now - timedelta(hours=refreshed_hours_ago)),
            "expires_at": format_time(now + timedelta(days=60) - timedelta(hours=refreshed_hours_ago)), **extra,
        },
    )  # fmt: skip


def run(server: LocalAirflow, conf: dict[str, Any] | None = None) -> tuple[str, str]:
    run_id = server.trigger(TOKEN_REFRESH_DAG, conf=conf or {})
    return run_id, server.wait_for_run(TOKEN_REFRESH_DAG, run_id, timeout=300)


def task_states(server: LocalAirflow, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in server.task_instances(TOKEN_REFRESH_DAG, run_id)}


def calls(emulator_client: EmulatorClient, endpoint: str) -> int:
    return emulator_client.calls().get(endpoint, 0)


def assert_no_token_in_logs(server: LocalAirflow, tokens: set[str]) -> None:
    checked = 0
    for path, text in server.iter_logs_text():
        checked += 1
        leaked = [t[:8] for t in tokens if t in text]
        assert not leaked, f"token(s) starting {leaked} appear in {path}"
    assert checked > 0


def test_refresh_under_a_real_scheduler(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, accounts: list[dict[str, Any]],
    api_proxy: FaultyProxy,
) -> None:  # fmt: skip
    for conn_id, account in zip(("ig_a", "ig_b", "ig_revoked"), accounts, strict=False):
        connect(airflow_server, emulator_client, conn_id, account, refreshed_hours_ago=48)
    connect(airflow_server, emulator_client, "ig_fresh", accounts[3], refreshed_hours_ago=1)
    connect(airflow_server, emulator_client, "ig_optout", accounts[3], refreshed_hours_ago=48, auto_refresh=False)
    before = stored_connections(airflow_server)
    emulator_client.advance_clock(2 * DAY)
    emulator_client.invalidate(accounts[2]["id"], "revoked")
    api_proxy.fail("PATCH", BULK, 503, times=2)  # the bulk write-back needs retries
    emulator_client.reset_calls()

    run_id, state = run(airflow_server, {"conn_ids": ["ig_env_only"]})

    assert state == "failed"
    assert task_states(airflow_server, run_id) == {
        "plan": "success", "refresh_batch": "success", "health_report": "success", "alert": "failed",
    }  # fmt: skip
    after = stored_connections(airflow_server)
    now = datetime.now(UTC)
    for conn_id in ("ig_a", "ig_b"):
        assert after[conn_id]["password"] != before[conn_id]["password"]
        extra = after[conn_id]["extra"]
        assert extra["status"] == "ok"
        assert abs(parse_time(extra["expires_at"]) - (now + timedelta(days=60))) < timedelta(minutes=5)  # type: ignore[operator]
        assert abs(parse_time(extra["refreshed_at"]) - now) < timedelta(minutes=5)  # type: ignore[operator]
        assert extra["client_secret"] == before[conn_id]["extra"]["client_secret"]
    revoked = after["ig_revoked"]
    assert revoked["password"] == before["ig_revoked"]["password"]
    assert revoked["extra"]["status"] == "reauth_required"
    assert "access revoked" in revoked["extra"]["status_reason"]
    assert after["ig_fresh"] == before["ig_fresh"] and after["ig_optout"] == before["ig_optout"]
    assert calls(emulator_client, "refresh_access_token") == 3  # a, b, revoked: one call each
    assert [s for m, p, s in api_proxy.seen if m == "PATCH"] == [503, 503, 200]  # one bulk write, retried

    report = airflow_server.xcom(TOKEN_REFRESH_DAG, run_id, "health_report")
    assert {a["connection"] for a in report["attention"]} == {"ig_revoked", "ig_env_only"}
    outcomes = {a["connection"]: a["outcome"] for a in report["accounts"]}
    assert outcomes == {"ig_a": "refreshed", "ig_b": "refreshed", "ig_revoked": "reauth_required",
                        "ig_fresh": "fresh", "ig_optout": "opted_out", "ig_env_only": "not_writable"}  # fmt: skip
    alert_log = "\n".join(text for path, text in airflow_server.iter_logs_text() if run_id in str(path)
                          and "task_id=alert" in str(path))  # fmt: skip
    assert "2 Instagram account(s) need attention" in alert_log
    assert "ig_revoked: reauth_required" in alert_log and "ig_env_only: not_writable" in alert_log

    # A second run the same day, from the trigger form as it opens, calls Instagram for nobody and changes nothing.
    emulator_client.reset_calls()
    run_id, state = run(airflow_server, form_conf(airflow_server, TOKEN_REFRESH_DAG))
    assert state == "failed"  # ig_revoked still needs a human
    assert calls(emulator_client, "refresh_access_token") == 0
    assert stored_connections(airflow_server) == after

    tokens = {c["password"] for c in (*before.values(), *after.values()) if c.get("password")}
    assert_no_token_in_logs(airflow_server, tokens | {a["access_token"] for a in accounts})


def test_a_write_back_that_keeps_failing_fails_the_run_and_loses_no_token(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, accounts: list[dict[str, Any]],
    api_proxy: FaultyProxy,
) -> None:  # fmt: skip
    connect(airflow_server, emulator_client, "ig_a", accounts[0], refreshed_hours_ago=48)
    connect(airflow_server, emulator_client, "ig_b", accounts[1], refreshed_hours_ago=48)
    before = stored_connections(airflow_server)
    emulator_client.advance_clock(2 * DAY)
    api_proxy.fail("PATCH", BULK, 503)  # the bulk write fails for good: each account is then written alone
    api_proxy.fail("PATCH", r"/connections/ig_a\?", 503)  # and ig_a's own write fails for good too

    run_id, state = run(airflow_server)

    assert state == "failed"
    after = stored_connections(airflow_server)
    assert after["ig_a"] == before["ig_a"]  # nothing half-written
    assert after["ig_b"]["password"] != before["ig_b"]["password"]  # isolation
    report = airflow_server.xcom(TOKEN_REFRESH_DAG, run_id, "health_report")
    (attention,) = report["attention"]
    assert attention["connection"] == "ig_a" and attention["reason"].startswith("write_failed")
    assert "old token keeps working" in attention["reason"]
    old = before["ig_a"]["password"]
    graph = emulator_client.seed()["graph_url"]
    assert requests.get(f"{graph}/me", params={"access_token": old}, timeout=10).status_code == 200
    singles = [(p.split("?")[0], s) for m, p, s in api_proxy.seen if m == "PATCH" and "?" in p]
    assert sorted(set(singles)) == [("/api/v2/connections/ig_a", 503), ("/api/v2/connections/ig_b", 200)]
    assert_no_token_in_logs(airflow_server, {old, after["ig_b"]["password"]})


def test_a_failed_plan_fails_the_report_naming_the_plan(
    airflow_server: LocalAirflow, accounts: list[dict[str, Any]], api_proxy: FaultyProxy
) -> None:
    """The report runs after a failed plan (trigger rule all_done): it must say the plan failed and where to look,
    not that an XCom is missing."""
    api_proxy.fail("GET", r"^/api/v2/connections\?", 503)  # the plan cannot list the accounts

    run_id, state = run(airflow_server)

    assert state == "failed"
    states = task_states(airflow_server, run_id)
    assert (states["plan"], states["health_report"], states["alert"]) == ("failed", "failed", "upstream_failed")
    text = airflow_server.wait_for_task_log(TOKEN_REFRESH_DAG, run_id, "health_report", "The plan task did not finish")
    assert "See the log of task 'plan' in this run" in text and "XComNotFound" not in text


def test_dags_test_runs_the_same_dag(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, accounts: list[dict[str, Any]]
) -> None:
    """What users try first: ``airflow dags test``. It must pass, and write back through the same REST path."""
    connect(airflow_server, emulator_client, "ig_a", accounts[0], refreshed_hours_ago=30)
    before = stored_connections(airflow_server)
    emulator_client.advance_clock(2 * DAY)
    airflow_server.request("PATCH", f"/api/v2/dags/{TOKEN_REFRESH_DAG}", json={"is_paused": True})
    try:
        result = airflow_server.cli("dags", "test", TOKEN_REFRESH_DAG, check=False, timeout=300)
    finally:
        airflow_server.request("PATCH", f"/api/v2/dags/{TOKEN_REFRESH_DAG}", json={"is_paused": False})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = stored_connections(airflow_server)
    assert after["ig_a"]["password"] != before["ig_a"]["password"]
    assert after["ig_a"]["extra"]["status"] == "ok"
    output = result.stdout + result.stderr
    assert "nothing needs attention" in output
    assert before["ig_a"]["password"] not in output and after["ig_a"]["password"] not in output
