"""The bundled daily media export DAG, as a factory (``dags/instagram_media_export.py`` calls it)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, AssetAlias, Param, TriggerRule, Variable, task

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import EXPORT_DAG_ID
from airflow_provider_instagram.export.formats import FORMATS, check_format
from airflow_provider_instagram.operators.media import InstagramMediaToStorageOperator
from airflow_provider_instagram.operators.warehouse import InstagramExportToSqlOperator
from airflow_provider_instagram.options import LOOKBACK_DAYS
from airflow_provider_instagram.tokens.store import AirflowApiTokenStore

log = logging.getLogger(__name__)

DESTINATION_VARIABLE = "instagram_export_destination"
FORMAT_VARIABLE = "instagram_export_format"
CONN_IDS_VARIABLE = "instagram_export_conn_ids"
WAREHOUSE_VARIABLE = "instagram_warehouse_conn_id"
ASSET_ALIAS = "instagram_media_export"
"""Downstream DAGs schedule on ``AssetAlias(ASSET_ALIAS)``: each export adds events for the assets it wrote."""

DOC = """
### Instagram media export

Every day, exports each connected Instagram account's media and profile to object storage as Hive-style
partitions (`media/user_id=<id>/dt=<day>/part-00000.parquet`, `profiles/...`), one mapped task per account.
Each run rewrites the UTC days of its data interval plus `lookback_days` before it; readers never see a partial file.

Settings (param, else Airflow Variable, else default): `destination` (`{destination_variable}`; default
`file://$AIRFLOW_HOME/instagram_export`, which only suits a single machine), `file_format`
(`{format_variable}`; default parquet), `conn_ids` (`{conn_ids_variable}`, a JSON list; default: every
connection of type `instagram`, listed through connection `{api_conn_id}`). Accounts marked `reauth_required`
are skipped, with the reason in the log.

Warehouse: with `sql_conn_id` (`{warehouse_variable}`) set to any common.sql connection (postgres, sqlite,
duckdb...), each exported window is then loaded into tables `instagram_media` and `instagram_profiles` (upsert by
key, one transaction per account). Without it, `load_warehouse` is skipped.
"""


def default_destination() -> str:
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{os.path.abspath(home)}/instagram_export"


def export_settings(params: dict[str, Any], api_conn_id: str) -> list[dict[str, Any]]:
    """One operator-kwargs dict per account to export, from params, else Variables, else defaults."""
    destination = params.get("destination") or Variable.get(DESTINATION_VARIABLE, None) or default_destination()
    file_format = check_format(params.get("file_format") or Variable.get(FORMAT_VARIABLE, None) or "parquet")
    conn_ids = list(params.get("conn_ids") or Variable.get(CONN_IDS_VARIABLE, [], deserialize_json=True))
    if not conn_ids:
        conn_ids = _listed_accounts(api_conn_id)
    shared = {
        "destination": destination, "file_format": file_format, "copy_files": bool(params.get("copy_files")),
        "lookback_days": LOOKBACK_DAYS.check(params.get("lookback_days", 1)),
    }  # fmt: skip
    log.info("Exporting %d account(s) to %s as %s", len(conn_ids), destination, file_format)
    return [{"instagram_conn_id": conn_id, **shared} for conn_id in conn_ids]


def load_settings(params: dict[str, Any], exports: list[dict[str, Any]], results: Any) -> list[dict[str, Any]]:
    """One load-operator kwargs dict per account whose export succeeded, over the same window and destination.

    Raises ``AirflowSkipException`` when no warehouse connection is configured.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    sql_conn_id = params.get("sql_conn_id") or Variable.get(WAREHOUSE_VARIABLE, None)
    if not sql_conn_id:
        raise AirflowSkipException(
            f"No warehouse: set the DAG param sql_conn_id or the Variable {WAREHOUSE_VARIABLE} to a SQL connection"
        )
    destinations = {e["instagram_conn_id"]: e["destination"] for e in exports}
    loads = []
    for summary in (r for r in results or [] if r):
        first, last = summary.get("first_day"), date.fromisoformat(summary["last_day"])
        loads.append({
            "source": destinations[summary["conn_id"]], "sql_conn_id": sql_conn_id, "user_id": summary["user_id"],
            "since": f"{first}T00:00:00+00:00" if first else None, "full_snapshot": first is None,
            "until": f"{last + timedelta(days=1)}T00:00:00+00:00", "instagram_conn_id": summary["conn_id"],
        })  # fmt: skip
    log.info("Loading %d exported account(s) into %s", len(loads), sql_conn_id)
    return loads


def _listed_accounts(api_conn_id: str) -> list[str]:
    """Every ``instagram`` connection the REST API lists; accounts that need a human are left out, loudly."""
    chosen = []
    listing = AirflowApiTokenStore(api_conn_id).list_accounts()
    for conn_id, why in sorted(listing.unreadable.items()):
        log.warning("Skipping %s: %s", conn_id, why)
    for record in listing.records:
        if record.status != "ok":
            log.warning("Skipping %s: its token is marked %s (%s); reconnect the account to export it again",
                        record.conn_id, record.status, record.status_reason or "no reason given")  # fmt: skip
            continue
        chosen.append(record.conn_id)
    return chosen


def account_params(verb: str) -> dict[str, Param]:
    """The params naming the accounts and where their files go, which the bundled DAGs over the export share.

    A setting that may come from a Variable is nullable with no value: Airflow's trigger form requires every param
    whose type does not list "null", and would not trigger with these left empty.

    :param verb: what the DAG does with the accounts (``export``, ``read``), for the form's description.
    """
    return {
        "conn_ids": Param(None, type=["null", "array"], items={"type": "string"},
                          description=f"Connections to {verb} (empty: Variable {CONN_IDS_VARIABLE}, else every "
                                      "instagram connection)"),
        "destination": Param(None, type=["null", "string"],
                             description=f"Export root URL (empty: Variable {DESTINATION_VARIABLE}, else "
                                         "file://$AIRFLOW_HOME/instagram_export)"),
        "file_format": Param(None, type=["null", "string"], enum=[None, *FORMATS],
                             values_display={"null": f"(Variable {FORMAT_VARIABLE}, else parquet)"},
                             description=f"File format (empty: Variable {FORMAT_VARIABLE}, else parquet)"),
    }  # fmt: skip


def warehouse_param() -> dict[str, Param]:
    """The param naming the warehouse the run loads into (nullable: see :func:`account_params`)."""
    return {
        "sql_conn_id": Param(None, type=["null", "string"],
                             description=f"Warehouse connection to load into (empty: Variable {WAREHOUSE_VARIABLE}; "
                                         "neither set: no load)"),
    }  # fmt: skip


def create_media_export_dag(
    dag_id: str = EXPORT_DAG_ID,
    *,
    schedule: str | None = "@daily",
    api_conn_id: str = DEFAULT_API_CONN_ID,
    start_date: datetime = datetime(2025, 1, 1),
    lookback_days: int = 1,
    max_active_accounts: int = 8,
    tags: Iterable[str] = ("instagram",),
    default_args: dict[str, Any] | None = None,
) -> DAG:
    """Build the media export DAG.

    :param dag_id: the DAG id.
    :param schedule: when to run (default daily: each run exports its data interval's days).
    :param api_conn_id: connection to Airflow's REST API, to list the accounts when none are named.
    :param start_date: the DAG's start date.
    :param lookback_days: default of the ``lookback_days`` param (re-read days whose counts still change; 0 to 3660).
    :param max_active_accounts: accounts exported at once.
    :param tags: the DAG's tags.
    :param default_args: passed to the DAG (default: two retries, five minutes apart).
    :return: the DAG.
    :raises ValueError: ``lookback_days`` is out of its bounds.
    """
    lookback_days = LOOKBACK_DAYS.check(lookback_days)
    with DAG(
        dag_id=dag_id, schedule=schedule, start_date=start_date, catchup=False, max_active_runs=1, tags=list(tags),
        default_args=default_args or {"retries": 2, "retry_delay": timedelta(minutes=5)},
        doc_md=DOC.format(destination_variable=DESTINATION_VARIABLE, format_variable=FORMAT_VARIABLE,
                          conn_ids_variable=CONN_IDS_VARIABLE, api_conn_id=api_conn_id,
                          warehouse_variable=WAREHOUSE_VARIABLE),
        params={
            **account_params("export"),
            "lookback_days": Param(lookback_days, type="integer", minimum=LOOKBACK_DAYS.low, maximum=LOOKBACK_DAYS.high,
                                   description="Also re-read this many days before the data interval"),
            "copy_files": Param(False, type="boolean", description="Also copy the image and video files"),
            **warehouse_param(),
        },
    ) as dag:  # fmt: skip

        @task
        def accounts(params: dict[str, Any]) -> list[dict[str, Any]]:
            """The accounts to export and the export settings, resolved once for the whole run."""
            return export_settings(params, api_conn_id)

        settings = accounts()
        exported = InstagramMediaToStorageOperator.partial(
            task_id="export_media", max_active_tis_per_dagrun=max_active_accounts,
            map_index_template="{{ task.instagram_conn_id }}", outlets=[AssetAlias(ASSET_ALIAS)],
        ).expand_kwargs(settings)  # fmt: skip

        @task(trigger_rule=TriggerRule.ALL_DONE)  # type: ignore[untyped-decorator]
        def warehouse_loads(
            params: dict[str, Any], exports: list[dict[str, Any]], results: Any
        ) -> list[dict[str, Any]]:
            """The loads of the accounts whose export succeeded (the others keep their earlier rows)."""
            return load_settings(params, exports, results)

        loaded = InstagramExportToSqlOperator.partial(
            task_id="load_warehouse", max_active_tis_per_dagrun=1,  # one writer at a time suits every warehouse
            map_index_template="{{ task.instagram_conn_id }}",
        ).expand_kwargs(warehouse_loads(exports=settings, results=exported.output))  # fmt: skip

        @task(trigger_rule=TriggerRule.ALL_DONE)  # type: ignore[untyped-decorator]
        def summary(results: Any, loads: Any) -> dict[str, Any]:
            """Totals over the accounts that exported and loaded (skipped and failed ones report nothing)."""
            done = [r for r in results or [] if r]
            totals = {key: sum(r.get(key) or 0 for r in done)
                      for key in ("rows", "data_files", "bytes", "files_copied", "api_calls")}  # fmt: skip
            totals["accounts"] = len(done)
            loaded_tables = [t for load in loads or [] if load for t in load["tables"]]
            totals["warehouse_rows"] = sum(t["rows"] for t in loaded_tables if t["table"].endswith("media"))
            totals["accounts_loaded"] = len([load for load in loads or [] if load])
            log.info("Export totals: %s", totals)
            return totals

        summary(exported.output, loaded.output)
    return dag
