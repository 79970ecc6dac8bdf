"""The bundled ``instagram_data_deletion`` DAG, as a factory: the data-deletion callback triggers it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, Variable, task

from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE, WAREHOUSE_VARIABLE, default_destination

log = logging.getLogger(__name__)

DOC = """
### Instagram data deletion

Started by Meta's data-deletion callback (`/instagram/meta/data-deletion` on the API server), or by hand with
`{{"user_ids": ["<id>"]}}`. Deletes the users' exported files and media files (`media/`, `profiles/`, `files/` and
staging folders under `user_id=<id>`) from the export destination, and their rows from the warehouse tables.
The run's state is what the request's status page shows: running = pending, success = done, failed = failed.

Destination and warehouse: the params, else the export's Variables `{destination}` and `{warehouse}`.
"""


def create_data_deletion_dag(
    dag_id: str = "instagram_data_deletion",
    *,
    table_prefix: str = "instagram_",
    start_date: datetime = datetime(2025, 1, 1),
) -> DAG:
    """Build the data-deletion DAG (no schedule: it runs when a deletion request arrives).

    :param dag_id: the DAG id (the plugin triggers ``instagram_data_deletion``).
    :param table_prefix: prefix of the warehouse tables, as given to the warehouse load.
    :param start_date: the DAG's start date.
    :return: the DAG.
    """
    with DAG(
        dag_id=dag_id, schedule=None, start_date=start_date, catchup=False, tags=["instagram"],
        is_paused_upon_creation=False,  # a paused DAG would leave every deletion request pending
        default_args={"retries": 2}, doc_md=DOC.format(destination=DESTINATION_VARIABLE, warehouse=WAREHOUSE_VARIABLE),
        params={
            "user_ids": Param([], type="array", items={"type": "string"}, description="Instagram user ids to delete"),
            "confirmation_code": Param("", type="string", description="Code Meta's requester was given"),
            "destination": Param("", type="string",
                                 description=f"Export root (default: Variable {DESTINATION_VARIABLE})"),
            "sql_conn_id": Param("", type="string", description=f"Warehouse (default: Variable {WAREHOUSE_VARIABLE})"),
        },
    ) as dag:  # fmt: skip

        @task
        def delete_files(params: dict[str, Any]) -> list[str]:
            """Delete the users' folders under the export destination."""
            from airflow_provider_instagram.deletion.purge import delete_files as purge
            from airflow_provider_instagram.operators.arguments import storage_path

            root = params.get("destination") or Variable.get(DESTINATION_VARIABLE, None) or default_destination()
            deleted = purge(storage_path(root), params["user_ids"])
            log.info("Request %s: %d folders deleted", params.get("confirmation_code") or "-", len(deleted))
            return deleted

        @task
        def delete_rows(params: dict[str, Any]) -> dict[str, int]:
            """Delete the users' rows from the warehouse tables, if a warehouse is set."""
            from airflow_provider_instagram.deletion.purge import delete_rows as purge
            from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec

            sql_conn_id = params.get("sql_conn_id") or Variable.get(WAREHOUSE_VARIABLE, None)
            if not sql_conn_id:
                log.info("No warehouse set (param sql_conn_id or Variable %s): no rows to delete", WAREHOUSE_VARIABLE)
                return {}
            from airflow.sdk import BaseHook

            hook: Any = BaseHook.get_connection(sql_conn_id).get_hook()
            connection = hook.get_conn()
            try:
                tables = (media_table_spec(table_prefix), profile_table_spec(table_prefix))
                counts = purge(connection, params["user_ids"], getattr(hook, "placeholder", "%s"), tables)
            finally:
                connection.close()
            log.info("Request %s: rows deleted %s", params.get("confirmation_code") or "-", counts)
            return counts

        [delete_files(), delete_rows()]
    return dag
