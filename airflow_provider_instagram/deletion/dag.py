"""The bundled ``instagram_data_deletion`` DAG, as a factory: the data-deletion callback triggers it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, Variable, task

from airflow_provider_instagram.dag_files import DELETION_DAG_ID
from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE, WAREHOUSE_VARIABLE, default_destination

log = logging.getLogger(__name__)

DOC = """
### Instagram data deletion

Started by Meta's data-deletion callback (`/instagram/meta/data-deletion` on the API server), or by hand with
`{{"user_ids": ["<id>"]}}`. Deletes the users' exported files and media files (`media/`, `profiles/`, `files/`, the
insights folders and staging folders under `user_id=<id>`) from the export destination, and their rows from the
warehouse tables (media, profiles and the three insights tables).
The run's state is what the request's status page shows: running = pending, success = done, failed = failed.
A run with no `user_ids` (a replayed request, or the trigger form left empty) deletes nothing and succeeds, saying so
in its log.

Destination and warehouse: the params, else the export's Variables `{destination}` and `{warehouse}`.
"""


def create_data_deletion_dag(
    dag_id: str = DELETION_DAG_ID,
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
        # Nullable, so that the trigger form (which requires every param whose type does not list "null") runs with
        # them empty. No user ids is a run that deletes nothing and succeeds: Meta's callback sends none for a replayed
        # request, and its requester's status page must then say done, not failed.
        params={
            "user_ids": Param(None, type=["null", "array"], items={"type": "string"},
                              description="Instagram user ids whose data to delete (Meta's callback fills it in; "
                                          "empty: the run deletes nothing)"),
            "confirmation_code": Param(None, type=["null", "string"],
                                       description="Code Meta's requester was given (empty: none, a run by hand)"),
            "destination": Param(None, type=["null", "string"],
                                 description=f"Export root (empty: Variable {DESTINATION_VARIABLE}, else "
                                             "file://$AIRFLOW_HOME/instagram_export)"),
            "sql_conn_id": Param(None, type=["null", "string"],
                                 description=f"Warehouse (empty: Variable {WAREHOUSE_VARIABLE}; neither set: no rows "
                                             "to delete)"),
        },
    ) as dag:  # fmt: skip

        @task
        def delete_files(params: dict[str, Any]) -> list[str]:
            """Delete the users' folders under the export destination."""
            from airflow_provider_instagram.deletion.purge import delete_files as purge
            from airflow_provider_instagram.operators.arguments import storage_path

            user_ids = requested_user_ids(params)
            if not user_ids:
                return []
            root = params.get("destination") or Variable.get(DESTINATION_VARIABLE, None) or default_destination()
            deleted = purge(storage_path(root), user_ids)
            log.info("Request %s: %d folders deleted", params.get("confirmation_code") or "-", len(deleted))
            return deleted

        @task
        def delete_rows(params: dict[str, Any]) -> dict[str, int]:
            """Delete the users' rows from the warehouse tables, if a warehouse is set."""
            from airflow_provider_instagram.deletion.purge import delete_rows as purge
            from airflow_provider_instagram.deletion.purge import user_tables

            user_ids = requested_user_ids(params)
            if not user_ids:
                return {}
            sql_conn_id = params.get("sql_conn_id") or Variable.get(WAREHOUSE_VARIABLE, None)
            if not sql_conn_id:
                log.info("No warehouse set (param sql_conn_id or Variable %s): no rows to delete", WAREHOUSE_VARIABLE)
                return {}
            from airflow.sdk import BaseHook

            hook: Any = BaseHook.get_connection(sql_conn_id).get_hook()
            connection = hook.get_conn()
            try:
                counts = purge(connection, user_ids, getattr(hook, "placeholder", "%s"), user_tables(table_prefix))
            finally:
                connection.close()
            log.info("Request %s: rows deleted %s", params.get("confirmation_code") or "-", counts)
            return counts

        [delete_files(), delete_rows()]
    return dag


def requested_user_ids(params: dict[str, Any]) -> list[str]:
    """The run's ``user_ids`` param as a list; none (empty or null) is said in the log, as the run deletes nothing."""
    user_ids = list(params.get("user_ids") or [])
    if not user_ids:
        log.warning("Request %s names no user: nothing deleted. To delete a user's data, trigger this DAG with "
                    '{"user_ids": ["<Instagram user id>"]}', params.get("confirmation_code") or "-")  # fmt: skip
    return user_ids
