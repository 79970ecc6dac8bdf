"""What stops the bundled token refresh from keeping tokens alive, and the fix for each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.plugin.airflow_side import DagStatus
from airflow_provider_instagram.plugin.refresh_setup import refresh_setup_problems

LAST_RUN = datetime(2026, 12, 2, 0, 5, tzinfo=UTC)


def test_a_refresh_dag_that_is_not_deployed_says_how_to_deploy_it() -> None:
    # never parsed: whether it would be paused does not matter yet
    [problem] = refresh_setup_problems(DagStatus(REFRESH_DAG_ID, deployed=False, paused=True), True)
    assert f"The {REFRESH_DAG_ID} DAG is not deployed" in problem.what
    assert "paused" not in problem.what
    assert "airflow-instagram dags install" in problem.fix


def test_a_paused_refresh_dag_says_how_to_unpause_it() -> None:
    [problem] = refresh_setup_problems(DagStatus(REFRESH_DAG_ID, deployed=True, paused=True), True)
    assert f"The {REFRESH_DAG_ID} DAG is paused" in problem.what
    assert f"airflow dags unpause {REFRESH_DAG_ID}" in problem.fix


def test_a_missing_api_connection_says_how_to_create_it() -> None:
    [problem] = refresh_setup_problems(DagStatus(REFRESH_DAG_ID, deployed=True), False)
    assert f"There is no connection {DEFAULT_API_CONN_ID}" in problem.what
    assert f"airflow connections add {DEFAULT_API_CONN_ID} --conn-type http" in problem.fix


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (DagStatus(REFRESH_DAG_ID, deployed=False), "is not deployed"),
        (DagStatus(REFRESH_DAG_ID, deployed=True, paused=True), "is paused"),
    ],
)
def test_every_problem_is_reported_the_dag_first(status: DagStatus, words: str) -> None:
    problems = refresh_setup_problems(status, False)
    assert len(problems) == 2
    assert words in problems[0].what
    assert DEFAULT_API_CONN_ID in problems[1].what


@pytest.mark.parametrize("last_run_state", [None, "success", "failed"])
def test_a_deployed_unpaused_dag_with_its_api_connection_has_no_problem(last_run_state: str | None) -> None:
    # a failed last run is the accounts' business (their rows say why), not a setup problem
    status = DagStatus(REFRESH_DAG_ID, deployed=True, paused=False, last_run_state=last_run_state, last_run_at=LAST_RUN)
    assert refresh_setup_problems(status, True) == []
