"""The Instagram page's inputs, built the way production builds them: connection rows as the account writer stores
them (the record's own serializer, as JSON text), health reports from the refresh DAG's ``collect`` and
:class:`HealthReport`, export summaries from :class:`ExportSummary`; every XCom through JSON, as Airflow keeps it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.record import AccountRecord, TokenStatus, fingerprint
from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.export.media_export import ExportSummary
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.tokens.dag import collect
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome
from airflow_provider_instagram.tokens.report import DEFAULT_WARN_DAYS, HealthReport

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
REPORT_AT = datetime(2026, 12, 2, 0, 5, tzinfo=UTC)  # this morning's refresh run


def record(
    conn_id: str, *, expires_in: float | None = 50, username: str | None = None, status: TokenStatus = "ok",
    reason: str | None = None, has_token: bool = True,
) -> AccountRecord:  # fmt: skip
    """An account's record as onboarding and the refresh write it (``expires_in`` days from :data:`NOW`)."""
    return AccountRecord(
        conn_id, user_id=f"900{len(conn_id)}", professional_account_id="17841400000",
        username=username if username is not None else f"user_{conn_id}",
        expires_at=None if expires_in is None else NOW + timedelta(days=expires_in),
        refreshed_at=None if expires_in is None else NOW - timedelta(days=10),
        connected_at=NOW - timedelta(days=30), status=status, status_reason=reason,
        fingerprint=fingerprint(f"token-of-{conn_id}") if has_token and status == "ok" else None,
    )  # fmt: skip


def stored(account: AccountRecord, *, has_token: bool = True, app_conn_id: str | None = None) -> StoredRow:
    """The account's connection row as the writer leaves it: the record merged over its settings, as JSON text."""
    settings = {keys.APP_CONN_ID: app_conn_id} if app_conn_id else {}
    extra = json.dumps(account.merged_into(settings))
    return StoredRow(account.conn_id, keys.CONN_TYPE, extra, has_password=has_token)


def account_row(conn_id: str, *, has_token: bool = True, app_conn_id: str | None = None, **fields: Any) -> StoredRow:
    return stored(record(conn_id, has_token=has_token, **fields), has_token=has_token, app_conn_id=app_conn_id)


def raw_row(conn_id: str, extra: str | Mapping[str, Any] | None, *, conn_type: str = keys.CONN_TYPE) -> StoredRow:
    """A row whose extra someone wrote by hand (a broken one, or an app connection's settings)."""
    text = extra if extra is None or isinstance(extra, str) else json.dumps(dict(extra))
    return StoredRow(conn_id, conn_type, text, has_password=True)


def result(account: AccountRecord, outcome: Outcome, detail: str = "") -> AccountResult:
    """One account's outcome, as a refresh batch reports it."""
    return AccountResult.of(account, outcome, detail, calls=1)


def health_report(
    results: Sequence[AccountResult], *, unreported: Sequence[str] = (), at: datetime = REPORT_AT,
    warn_days: float = DEFAULT_WARN_DAYS,
) -> dict[str, Any]:  # fmt: skip
    """The ``health_report`` task's XCom: the batches' results (``unreported`` connections' batch never finished)
    gathered by the DAG's ``collect``, reported by :class:`HealthReport`, through JSON."""
    batches = [[r.to_dict() for r in results]]
    conn_ids = [r.conn_id for r in results] + list(unreported)
    report = HealthReport(collect([], batches, conn_ids), at, warn_days)
    return dict(json.loads(json.dumps(report.to_xcom())))


def export_summary(conn_id: str, rows: int, *, full: bool = False) -> dict[str, Any]:
    """An ``export_media`` XCom: the export of yesterday (one day looked back), or a full snapshot."""
    window = ExportWindow.covering(NOW - timedelta(days=1), NOW.replace(hour=0), lookback_days=1, full=full)
    summary = ExportSummary(
        conn_id=conn_id, user_id="9001", username=f"user_{conn_id}", window=window.describe(), file_format="parquet",
        rows=rows, data_files=2, bytes=4096, partitions=2, files_copied=0, files_present=0, files_unavailable=0,
        file_bytes=0, api_calls=3, rate_limit_usage_percent=4, slices=1, seconds=1.5,
        first_day=window.first_day.isoformat() if window.first_day else None, last_day=window.last_day.isoformat(),
    )  # fmt: skip
    return dict(json.loads(json.dumps(summary.to_dict())))
