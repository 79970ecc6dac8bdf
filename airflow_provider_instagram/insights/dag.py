"""The bundled daily insights DAG, as a factory (``dags/instagram_insights.py`` calls it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, TriggerRule, Variable, task

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import INSIGHTS_DAG_ID
from airflow_provider_instagram.export.dag import (
    CONN_IDS_VARIABLE,
    DESTINATION_VARIABLE,
    FORMAT_VARIABLE,
    WAREHOUSE_VARIABLE,
    account_params,
    export_settings,
    warehouse_param,
)
from airflow_provider_instagram.operators.insights import InstagramInsightsToStorageOperator
from airflow_provider_instagram.operators.insights_warehouse import InstagramInsightsToSqlOperator
from airflow_provider_instagram.options import ACCOUNT_BACKFILL_DAYS

log = logging.getLogger(__name__)

DOC = """
### Instagram insights

Every day, reads each connected account's insights and files them next to the media export:
`media_insights/user_id=<id>/dt=<day>/` (one row per media, metric and breakdown value, as read that day),
`account_insights/user_id=<id>/dt=<day>/` and `audience_demographics/...`, one mapped task per account. Media
younger than 7 days are read every run, older ones at least every 30 days; a call budget leaves the rest to the next
run. A metric Instagram refuses (retired by Meta) is dropped with a warning and the run goes on: the `summary` task
lists what was dropped.

Settings are the media export's (param, else Airflow Variable, else default): `destination` (`{destination}`),
`file_format` (`{file_format}`), `conn_ids` (`{conn_ids}`), and `sql_conn_id` (`{warehouse}`): with it, the
insights are loaded into `instagram_media_insights`, `instagram_account_insights` and
`instagram_audience_demographics`, and the view `instagram_media_insights_latest`.
"""


def insights_settings(params: dict[str, Any], api_conn_id: str) -> list[dict[str, Any]]:
    """One operator-kwargs dict per account, resolved like the media export's (params, Variables, defaults)."""
    backfill = ACCOUNT_BACKFILL_DAYS.check(params.get("account_backfill_days", 30))
    return [
        {**{k: s[k] for k in ("instagram_conn_id", "destination", "file_format")}, "account_backfill_days": backfill}
        for s in export_settings(params, api_conn_id)
    ]


def insights_load_settings(params: dict[str, Any], exports: list[dict[str, Any]], results: Any) -> list[dict[str, Any]]:
    """One load per account whose insights were exported (its snapshot day and account days), from the destination
    as configured (the summary's is the public one, without the storage connection's id)."""
    from airflow.sdk.exceptions import AirflowSkipException

    sql_conn_id = params.get("sql_conn_id") or Variable.get(WAREHOUSE_VARIABLE, None)
    if not sql_conn_id:
        raise AirflowSkipException(
            f"No warehouse: set the DAG param sql_conn_id or the Variable {WAREHOUSE_VARIABLE} to a SQL connection"
        )
    destinations = {e["instagram_conn_id"]: e["destination"] for e in exports}
    return [
        {"source": destinations[r["conn_id"]], "sql_conn_id": sql_conn_id, "user_id": r["user_id"],
         "instagram_conn_id": r["conn_id"], "snapshot_day": r["snapshot_day"],
         "account_first_day": r["account_first_day"], "account_last_day": r["account_last_day"]}
        for r in results or [] if r
    ]  # fmt: skip


def summarise(results: Any, loads: Any) -> dict[str, Any]:
    """Totals of the run; what Instagram refused is logged loudly, per account."""
    done = [r for r in results or [] if r]
    totals: dict[str, Any] = {
        key: sum(r[key] for r in done)
        for key in ("media_read", "media_deferred", "media_failed", "media_gone", "api_calls")
    }
    totals["accounts"], totals["accounts_loaded"] = len(done), len([x for x in loads or [] if x])
    totals["metrics_dropped"] = sorted({f"{d['scope']}/{d['metric']}" for r in done for d in r["metrics_dropped"]})
    for r in done:
        for dropped in r["metrics_dropped"]:
            log.warning("%s: Instagram refused %s metric %s this run (%s); its other metrics were read",
                        r["conn_id"], dropped["scope"], dropped["metric"], dropped["message"])  # fmt: skip
        if r["media_deferred"] or r["media_failed"]:
            log.warning("%s: %d media left to the next run by the call budget, %d whose read failed", r["conn_id"],
                        r["media_deferred"], r["media_failed"])  # fmt: skip
    log.info("Insights totals: %s", totals)
    return totals


def create_insights_dag(
    dag_id: str = INSIGHTS_DAG_ID,
    *,
    schedule: str | None = "@daily",
    api_conn_id: str = DEFAULT_API_CONN_ID,
    start_date: datetime = datetime(2025, 1, 1),
    max_active_accounts: int = 8,
    operator_args: dict[str, Any] | None = None,
    tags: Iterable[str] = ("instagram",),
    default_args: dict[str, Any] | None = None,
) -> DAG:
    """Build the insights DAG.

    :param dag_id: the DAG id.
    :param schedule: when to run (default daily; each run's values are filed under the day its interval ends).
    :param api_conn_id: connection to Airflow's REST API, to list the accounts when none are named.
    :param start_date: the DAG's start date.
    :param max_active_accounts: accounts read at once.
    :param operator_args: further arguments of every ``InstagramInsightsToStorageOperator`` (``hot_days``,
        ``max_age_days``, ``max_calls``, ``exclude_metrics``...).
    :param tags: the DAG's tags.
    :param default_args: passed to the DAG (default: two retries, five minutes apart).
    :return: the DAG.
    """
    with DAG(
        dag_id=dag_id, schedule=schedule, start_date=start_date, catchup=False, max_active_runs=1, tags=list(tags),
        default_args=default_args or {"retries": 2, "retry_delay": timedelta(minutes=5)},
        doc_md=DOC.format(destination=DESTINATION_VARIABLE, file_format=FORMAT_VARIABLE, conn_ids=CONN_IDS_VARIABLE,
                          warehouse=WAREHOUSE_VARIABLE),
        params={
            **account_params("read"),
            "account_backfill_days": Param(30, type="integer", minimum=ACCOUNT_BACKFILL_DAYS.low,
                                           maximum=ACCOUNT_BACKFILL_DAYS.high,
                                           description="Fill missing account-insights days this far back"),
            **warehouse_param(),
        },
    ) as dag:  # fmt: skip

        @task
        def accounts(params: dict[str, Any]) -> list[dict[str, Any]]:
            """The accounts to read and where to write, resolved once for the whole run."""
            return insights_settings(params, api_conn_id)

        settings = accounts()
        exported = InstagramInsightsToStorageOperator.partial(
            task_id="export_insights", max_active_tis_per_dagrun=max_active_accounts,
            map_index_template="{{ task.instagram_conn_id }}", **(operator_args or {}),
        ).expand_kwargs(settings)  # fmt: skip

        @task(trigger_rule=TriggerRule.ALL_DONE)  # type: ignore[untyped-decorator]
        def insights_loads(params: dict[str, Any], exports: list[dict[str, Any]], results: Any) -> list[dict[str, Any]]:
            """The loads of the accounts whose insights were exported (the others keep their earlier rows)."""
            return insights_load_settings(params, exports, results)

        loaded = InstagramInsightsToSqlOperator.partial(
            task_id="load_insights", max_active_tis_per_dagrun=1, map_index_template="{{ task.instagram_conn_id }}",
        ).expand_kwargs(insights_loads(exports=settings, results=exported.output))  # fmt: skip

        @task(trigger_rule=TriggerRule.ALL_DONE)  # type: ignore[untyped-decorator]
        def summary(results: Any, loads: Any) -> dict[str, Any]:
            """Totals over the accounts read and loaded; refused metrics and deferred media, loudly."""
            return summarise(results, loads)

        summary(exported.output, loaded.output)
    return dag
