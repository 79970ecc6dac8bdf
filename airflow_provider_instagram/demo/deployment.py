"""The demo's output folder, its throwaway Airflow home, and the settings a user would make in Airflow."""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID as API_CONN_ID
from airflow_provider_instagram.dag_files import EXPORT_DAG_ID, INSIGHTS_DAG_ID, REFRESH_DAG_ID
from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE, WAREHOUSE_VARIABLE
from airflow_provider_instagram.local_airflow import LocalAirflow

EXPORT_DAG, REFRESH_DAG, INSIGHTS_DAG = EXPORT_DAG_ID, REFRESH_DAG_ID, INSIGHTS_DAG_ID
WAREHOUSE_CONN_ID = "instagram_warehouse"
# The REST identity of the token refresh: the simple auth manager's OP role may edit connections, not much more.
REFRESH_USER = "instagram-refresh"

# Thin DAG files over the provider's factories, as a user writes them; unscheduled, because the demo triggers
# each run itself (a daily schedule would start a first run of its own as soon as the file is parsed).
DAG_FILES = {
    f"{EXPORT_DAG}.py": '"""Demo: the bundled media export, triggered by the demo."""\n\n'
    "from airflow_provider_instagram.export.dag import create_media_export_dag\n\n"
    "dag = create_media_export_dag(schedule=None)\n",
    f"{REFRESH_DAG}.py": '"""Demo: the bundled token refresh, triggered by the demo."""\n\n'
    "from airflow_provider_instagram.tokens.dag import create_token_refresh_dag\n\n"
    "dag = create_token_refresh_dag(schedule=None)\n",
    f"{INSIGHTS_DAG}.py": '"""Demo: the bundled insights, triggered by the demo."""\n\n'
    "from airflow_provider_instagram.insights.dag import create_insights_dag\n\n"
    "dag = create_insights_dag(schedule=None)\n",
}


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo writes, all under one folder.

    :param root: the output folder.
    """

    root: Path

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.sqlite"

    def reset(self) -> None:
        """Remove what an earlier run left (only the demo's own entries: the folder may hold other files)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for path in (self.airflow_home, self.export):
            shutil.rmtree(path, ignore_errors=True)
        self.warehouse.unlink(missing_ok=True)
        dags = self.airflow_home / "dags"
        dags.mkdir(parents=True)
        for name, text in DAG_FILES.items():
            (dags / name).write_text(text)


def new_airflow(paths: DemoPaths) -> tuple[LocalAirflow, str]:
    """The deployment (an admin for the demo itself, a least-privilege user for the refresh); the refresh
    user's password, for connection ``airflow_api_default``."""
    refresh_password = secrets.token_urlsafe(16)
    users = {"admin": ("admin", secrets.token_urlsafe(16)), REFRESH_USER: ("op", refresh_password)}
    # Four LocalExecutor workers: the demo's DAG runs need no more, and each is a process on two cores.
    airflow = LocalAirflow(paths.airflow_home, users=users, settings={"core": {"parallelism": "4"}})
    return airflow, refresh_password


def configure(airflow: LocalAirflow, paths: DemoPaths, refresh_password: str) -> list[str]:
    """Create the REST API and warehouse connections and the export's Variables; what was done, to print."""
    connections = [
        {"connection_id": API_CONN_ID, "conn_type": "http", "host": airflow.base_url, "login": REFRESH_USER,
         "password": refresh_password},
        # the sqlite hook opens the file named by the connection's host
        {"connection_id": WAREHOUSE_CONN_ID, "conn_type": "sqlite", "host": str(paths.warehouse)},
    ]  # fmt: skip
    for body in connections:
        airflow.call("POST", "/api/v2/connections", expected=(201,), json=body)
    variables = {DESTINATION_VARIABLE: paths.export.as_uri(), WAREHOUSE_VARIABLE: WAREHOUSE_CONN_ID}
    for key, value in variables.items():
        airflow.call("POST", "/api/v2/variables", expected=(201,), json={"key": key, "value": value})
    return [
        f"connection {API_CONN_ID}: {airflow.base_url} as user {REFRESH_USER} (role OP: may edit connections)",
        f"connection {WAREHOUSE_CONN_ID}: sqlite {paths.warehouse}",
        *(f"Variable {key} = {json.dumps(value)}" for key, value in variables.items()),
    ]


def stored_tokens(airflow: LocalAirflow) -> dict[str, tuple[str | None, dict[str, object]]]:
    """Per connection, the fingerprint of the password the metadata database holds and the extras.

    The REST API masks passwords, so this reads them with ``airflow connections export`` (the CLI is not a task:
    it may read the database) and keeps only a fingerprint.
    """
    from airflow_provider_instagram.account.record import fingerprint

    out = airflow.cli("connections", "export", "-", "--file-format", "json").stdout
    rows = json.loads(out[out.index("{") :])
    found: dict[str, tuple[str | None, dict[str, object]]] = {}
    for conn_id, row in rows.items():
        extra = row.get("extra")
        extras = json.loads(extra) if isinstance(extra, str) and extra else (extra or {})
        password = row.get("password")
        found[conn_id] = (fingerprint(password) if password else None, extras)
    return found
