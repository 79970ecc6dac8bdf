"""Arguments the operators share: storage URLs, datetimes and the run's window of days."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, ObjectStoragePath
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.extras import parse_extras
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.export.staging import public_uri
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.options import Bound

if TYPE_CHECKING:
    from airflow.sdk import Context

TEMPLATE = re.compile(r"{{|{%")
__all__ = [
    "TEMPLATE", "as_date", "as_datetime", "checked_unless_templated", "public_uri", "run_window", "storage_path",
    "usable_account",
]  # fmt: skip


def checked_unless_templated(bound: Bound, value: Any) -> Any:
    """``value`` checked against ``bound`` now (the DAG's parse), unless it is a template (``{{ ... }}``): that one
    is only known once rendered, so ``execute`` checks it."""
    if isinstance(value, str) and TEMPLATE.search(value):
        return value
    return bound.check(value)


def as_datetime(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 datetime (e.g. 2026-11-28T00:00:00+00:00)") from None


def as_date(value: Any, name: str) -> date | None:
    """``value`` as a calendar day (``None`` when empty): an ISO 8601 date such as ``{{ ds }}`` renders, a
    ``date``, or a ``datetime`` (its UTC day when it has a zone).

    :raises ValueError: naming the argument and the format expected.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 date (e.g. 2026-11-28, or '{{{{ ds }}}}')") from None


def run_window(
    context: Context, since: Any, until: Any, lookback_days: int, full_snapshot: bool, clock: Clock = utcnow
) -> ExportWindow:
    """The days a run owns: ``since``/``until`` if set, else the run's data interval, else the 24 hours up to
    ``clock()`` (a manual run without an interval)."""
    end = as_datetime(until, "until") or context.get("data_interval_end") or clock()
    start = as_datetime(since, "since") or context.get("data_interval_start")
    if start is None or start >= end:
        start = end - timedelta(days=1)  # manual runs have no interval: the last day
    return ExportWindow.covering(start, end, lookback_days, full_snapshot)


def storage_path(value: str | ObjectStoragePath, name: str = "destination") -> ObjectStoragePath:
    """``value`` as an absolute ``ObjectStoragePath``, or a ``ValueError`` that says how to write it."""
    if isinstance(value, ObjectStoragePath):
        return value
    try:
        path = ObjectStoragePath(value)
    except ImportError as exc:
        raise ValueError(
            f"{name} {public_uri(value)!r} needs a filesystem package that is not installed "
            f"({exc}); for s3:// install 'airflow-provider-instagram[amazon]'"
        ) from None
    except ValueError as exc:
        raise ValueError(
            f"{name} {public_uri(value)!r} is not a storage URL Airflow knows ({exc}); use "
            "file:///path, s3://<aws conn id>@<bucket>/<prefix>, or another fsspec URL"
        ) from None
    if path.protocol in ("", "file", "local") and not str(path.path).startswith("/"):
        raise ValueError(
            f"{name} {value!r} is a relative path, which would depend on the worker's current "
            "directory; use an absolute one such as file:///data/instagram"
        )
    return path


def usable_account(conn_id: str) -> Any:
    """The account's connection, read once; an ``AirflowSkipException`` naming the fix when its token is marked
    as needing a human (the token refresh marks it; reading it would only fail)."""
    connection = BaseHook.get_connection(conn_id)
    record = AccountRecord.from_extras(conn_id, parse_extras(connection.extra, connection.conn_id))
    if record.status != "ok":
        raise AirflowSkipException(
            f"Connection {conn_id!r} is marked {record.status} ({record.status_reason or 'no reason given'}): "
            "skipped. Put a new long-lived token in its password (docs/token-refresh.md: 'Bringing back an "
            "account') and the next run reads it again."
        )
    return connection
