"""What the Instagram page shows, read from the Airflow it runs in: the accounts' connections, the token refresh's
latest health report, the media export's latest summaries, the refresh's setup and the default app. Reads only
what Airflow already stores (no token is read, no call goes to Instagram)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import EXPORT_DAG_ID, REFRESH_DAG_ID
from airflow_provider_instagram.exceptions import InstagramError
from airflow_provider_instagram.hooks.app import check_app_connection
from airflow_provider_instagram.onboarding.app_settings import read_app_connection
from airflow_provider_instagram.plugin import airflow_side
from airflow_provider_instagram.plugin.accounts import AccountLine, account_lines, last_exports, refresh_outcomes
from airflow_provider_instagram.plugin.refresh_setup import SetupProblem, refresh_setup_problems
from airflow_provider_instagram.tokens.report import DEFAULT_WARN_DAYS

# The export DAG records one summary per account and run: this many cover the latest export of a few hundred
# accounts even when some of them failed lately.
EXPORT_SUMMARIES_READ = 2000


@dataclass(frozen=True)
class Overview:
    """The accounts and the setup, as Airflow recorded them.

    :param lines: the accounts the user may read, most urgent first.
    :param hidden: how many accounts the user may not read.
    :param warn_days: the expiry warning window of the latest health report.
    :param refresh: the token refresh DAG's state.
    :param problems: what stops the refresh from keeping tokens alive.
    :param app_status: ``(usable, summary or fix)`` of the default app connection.
    """

    lines: Sequence[AccountLine]
    hidden: int
    warn_days: float
    refresh: airflow_side.DagStatus
    problems: Sequence[SetupProblem]
    app_status: tuple[bool, str]


def read_overview(rows: Sequence[StoredRow], may_read: Callable[[str], bool], now: datetime) -> Overview:
    """The page's data for a user who may read the connections ``may_read`` accepts."""
    report = _newest(REFRESH_DAG_ID, "health_report")
    warn_days = float(report.get("warn_days") or DEFAULT_WARN_DAYS) if report else DEFAULT_WARN_DAYS
    exports = last_exports(airflow_side.newest_values(EXPORT_DAG_ID, "export_media", limit=EXPORT_SUMMARIES_READ))
    every = account_lines(rows, refresh_outcomes(report), exports, now, warn_days)
    shown = [line for line in every if may_read(line.conn_id)]
    refresh = airflow_side.dag_status(REFRESH_DAG_ID)
    app = app_status(keys.DEFAULT_APP_CONN_ID)
    return Overview(shown, len(every) - len(shown), warn_days, refresh, _problems(refresh), app)


def setup_problems() -> list[SetupProblem]:
    """What stops the token refresh from keeping a newly connected account alive."""
    return _problems(airflow_side.dag_status(REFRESH_DAG_ID))


def _problems(refresh: airflow_side.DagStatus) -> list[SetupProblem]:
    return refresh_setup_problems(refresh, airflow_side.connection_exists(DEFAULT_API_CONN_ID))


def app_status(app_conn_id: str) -> tuple[bool, str]:
    """Whether the app connection can connect accounts, in words (never its secret)."""
    try:
        return True, check_app_connection(read_app_connection(app_conn_id))
    except InstagramError as exc:
        return False, str(exc)


def _newest(dag_id: str, task_id: str) -> Mapping[str, Any] | None:
    values = airflow_side.newest_values(dag_id, task_id)
    value = values[0][0] if values else None
    return value if isinstance(value, Mapping) else None
