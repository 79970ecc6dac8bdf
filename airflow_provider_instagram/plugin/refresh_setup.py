"""Whether the token refresh can keep the accounts alive: what the page and the success page check, and the fix
for each thing missing."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.plugin.airflow_side import DagStatus


@dataclass(frozen=True)
class SetupProblem:
    """Something the token refresh needs that is missing.

    :param what: what is wrong.
    :param fix: how to fix it (a command or a click).
    """

    what: str
    fix: str


def refresh_setup_problems(refresh: DagStatus, api_connection_exists: bool) -> list[SetupProblem]:
    """What stops the bundled refresh DAG from keeping tokens alive; empty when nothing does."""
    found = []
    if not refresh.deployed:
        found.append(SetupProblem(
            f"The {REFRESH_DAG_ID} DAG is not deployed: nothing refreshes the tokens, which die 60 days after "
            "they were issued.",
            'Deploy it: airflow-instagram dags install "$AIRFLOW_HOME/dags" (or add its folder to your DAG bundles).',
        ))  # fmt: skip
    elif refresh.paused:
        found.append(SetupProblem(
            f"The {REFRESH_DAG_ID} DAG is paused: tokens are not refreshed and die 60 days after they were issued.",
            f"Unpause it: the toggle on its page in Airflow, or airflow dags unpause {REFRESH_DAG_ID}.",
        ))  # fmt: skip
    if not api_connection_exists:
        found.append(SetupProblem(
            f"There is no connection {DEFAULT_API_CONN_ID}: the refresh writes new tokens back through Airflow's "
            "REST API with it, and fails without it.",
            f"Create it (type http): airflow connections add {DEFAULT_API_CONN_ID} --conn-type http --conn-host "
            "<this Airflow's URL> --conn-login <a user that may edit connections> --conn-password '...'",
        ))  # fmt: skip
    return found
