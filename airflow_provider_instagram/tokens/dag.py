"""The bundled daily token refresh DAG, as a factory (``dags/instagram_token_refresh.py`` calls it)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG, Param, TriggerRule, task

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.clock import utcnow
from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.tokens.plan import plan_refresh, record_from_xcom, record_to_xcom
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome, TokenRefresher
from airflow_provider_instagram.tokens.report import DEFAULT_WARN_DAYS, HealthReport
from airflow_provider_instagram.tokens.store import AirflowApiTokenStore

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)

DOC = """
### Instagram token refresh

Every day, refreshes the long-lived token of every Airflow connection of type `instagram` that is at least
24 hours old and unexpired, and writes the new expiry back through Airflow's REST API (connection
`{api_conn_id}`). Accounts Instagram rejects are marked `status: reauth_required`, and the run fails naming
them, so that your usual Airflow alerting fires. The `health_report` task's XCom is the token health table.

Params: `conn_ids` adds connections the listing cannot see; `warn_days` sets the expiry warning window.
Opt an account out with the extra `"auto_refresh": false`.
"""


def create_token_refresh_dag(
    dag_id: str = REFRESH_DAG_ID,
    *,
    schedule: str | None = "@daily",
    api_conn_id: str = DEFAULT_API_CONN_ID,
    batch_size: int = 20,
    max_workers: int = 8,
    warn_days: float = DEFAULT_WARN_DAYS,
    start_date: datetime = datetime(2025, 1, 1),
    tags: Iterable[str] = ("instagram",),
    default_args: dict[str, Any] | None = None,
) -> DAG:
    """Build the token refresh DAG.

    :param dag_id: the DAG id.
    :param schedule: when to run (default daily; tokens live 60 days and can be refreshed once they are 24 h old).
    :param api_conn_id: connection to Airflow's REST API (URL, login, password) used to write tokens back.
    :param batch_size: accounts per mapped task.
    :param max_workers: accounts refreshed at once inside one mapped task.
    :param warn_days: default of the ``warn_days`` param: tokens expiring this soon are called out.
    :param start_date: the DAG's start date.
    :param tags: the DAG's tags.
    :param default_args: passed to the DAG.
    :return: the DAG.
    """
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        tags=list(tags),
        default_args=default_args or {"retries": 0},
        doc_md=DOC.format(api_conn_id=api_conn_id),
        params={
            # Nullable: Airflow's trigger form requires every param whose type does not list "null".
            "conn_ids": Param(
                None,
                type=["null", "array"],
                items={"type": "string"},
                description="Extra connection ids to refresh, beyond every connection of type instagram (empty: none)",
            ),
            "warn_days": Param(
                warn_days, type="number", minimum=0, description="Call out tokens that expire within this many days"
            ),
            "batch_size": Param(batch_size, type="integer", minimum=1, description="Accounts per mapped task"),
        },
    ) as dag:

        @task
        def plan(params: dict[str, Any], ti: Any = None) -> list[list[dict[str, Any]]]:
            """List the accounts and split them into batches (no secret is read here)."""
            size = int(params.get("batch_size") or batch_size)
            found = plan_refresh(
                AirflowApiTokenStore(api_conn_id), explicit=params.get("conn_ids") or (), batch_size=size
            )
            log.info("%d accounts in %d batches; %d settled without a refresh", len(found.conn_ids),
                     len(found.batches), len(found.settled))  # fmt: skip
            # Airflow maps only over a task's return value: the rest goes out under its own keys.
            ti.xcom_push(key="settled", value=[r.to_dict() for r in found.settled])
            ti.xcom_push(key="conn_ids", value=found.conn_ids)
            return [[record_to_xcom(s) for s in batch] for batch in found.batches]

        @task
        def refresh_batch(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            """Refresh one batch of accounts with a bounded thread pool; never raises for one account."""
            refresher = TokenRefresher(AirflowApiTokenStore(api_conn_id), max_workers=max_workers)
            return [r.to_dict() for r in refresher.refresh_all([record_from_xcom(s) for s in batch])]

        @task(trigger_rule=TriggerRule.ALL_DONE)  # type: ignore[untyped-decorator]
        def health_report(batches: Any, params: dict[str, Any], ti: Any = None) -> dict[str, Any]:
            """Gather every account's result (a lost batch counts as failed) and log the health table."""
            settled, conn_ids = planned(ti, api_conn_id)
            report = HealthReport(collect(settled, batches, conn_ids), utcnow(), float(params["warn_days"]))
            log.info("Token health:\n%s", report.table())
            log.info("%s", report.summary())
            return report.to_xcom()

        @task
        def alert(report: dict[str, Any]) -> None:
            """Fail the run, naming the accounts that need a human, so that Airflow's alerting fires."""
            from airflow.sdk.exceptions import AirflowFailException

            if report["attention"]:
                names = "; ".join(f"{a['connection']}: {a['reason']}" for a in report["attention"])
                raise AirflowFailException(f"{len(report['attention'])} Instagram account(s) need attention: {names}")
            log.info("All Instagram tokens are healthy.")

        listed = plan()
        refreshed = refresh_batch.expand(batch=listed)
        report = health_report(refreshed)
        listed >> report  # the report reads the plan's other XComs itself: see planned()
        alert(report)
    return dag


def planned(ti: Any, api_conn_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The plan task's settled accounts and planned connection ids, from its XComs.

    Pulled here rather than passed as task arguments: Airflow resolves an argument's missing XCom into a bare
    ``XComNotFound`` before the task starts, which says nothing of the plan having failed.

    :raises AirflowFailException: the plan task did not push them (it failed, or was cleared).
    """
    from airflow.sdk.exceptions import AirflowFailException

    settled = ti.xcom_pull(task_ids="plan", key="settled", map_indexes=-1)
    conn_ids = ti.xcom_pull(task_ids="plan", key="conn_ids", map_indexes=-1)
    if settled is None or conn_ids is None:
        raise AirflowFailException(
            "The plan task did not finish, so no token was refreshed and there is no health to report. See the log "
            f"of task 'plan' in this run: it lists the accounts through connection {api_conn_id!r}, and says why "
            "that failed; fix it and clear the plan task (or wait for the next run)."
        )
    return settled, conn_ids


def collect(settled: list[dict[str, Any]], batches: Any, conn_ids: list[str]) -> list[AccountResult]:
    """Every planned account's result; an account whose batch never reported is a failure, not a silence."""
    results = {r["conn_id"]: AccountResult.from_dict(r) for r in settled}
    for batch in batches or []:
        results.update({r["conn_id"]: AccountResult.from_dict(r) for r in batch or []})
    for conn_id in conn_ids:
        results.setdefault(
            conn_id, AccountResult(conn_id, Outcome.FAILED, "its batch task did not finish: see its log", "unknown")
        )
    return list(results.values())
