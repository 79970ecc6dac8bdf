"""The Instagram page's table: every account as its connection and the bundled DAGs last recorded it, most urgent
first. Plain data from what Airflow stored (connection extras, XComs): no secret, no call to Instagram."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.record import AccountRecord, parse_time
from airflow_provider_instagram.account.writer import StoredRow, app_connection_ids
from airflow_provider_instagram.exceptions import InstagramConfigError
from airflow_provider_instagram.tokens.report import DEFAULT_WARN_DAYS, NEEDS_HUMAN

# Most urgent first: a human must reconnect, or fix the connection or the refresh's write-back; the token dies
# soon; the user removed the app; the last refresh failed (the next run tries again); then the healthy ones.
LEVELS = ("reauth_required", "unreadable", "attention", "expiring", "revoked", "failed", "ok")


@dataclass(frozen=True)
class RefreshOutcome:
    """One account's outcome in the token refresh DAG's latest health report.

    :param outcome: ``refreshed``, ``fresh``, ``failed``, ``reauth_required``...
    :param detail: why, in words.
    :param at: when that report was made.
    """

    outcome: str
    detail: str
    at: datetime | None


@dataclass(frozen=True)
class LastExport:
    """An account's latest export by the media export DAG.

    :param rows: media rows exported.
    :param at: when.
    :param window: the window exported (e.g. ``2026-11-30..2026-12-01``, or ``full``).
    """

    rows: int
    at: datetime | None
    window: str


@dataclass(frozen=True)
class AccountLine:
    """One row of the page.

    :param conn_id: the account's connection.
    :param level: its urgency, one of :data:`LEVELS`.
    :param why: what the level means for this account, in words.
    :param record: its record, ``None`` when the connection's extras cannot be read.
    :param app_conn_id: the app connection it names (reconnecting goes through it).
    :param days_left: days until its token expires, when known.
    :param refresh: its outcome in the latest refresh, ``None`` when that refresh did not include it.
    :param export: its latest export, ``None`` when it has none.
    """

    conn_id: str
    level: str
    why: str
    record: AccountRecord | None
    app_conn_id: str
    days_left: float | None
    refresh: RefreshOutcome | None
    export: LastExport | None

    @property
    def stands_out(self) -> bool:
        return self.level in ("reauth_required", "unreadable", "attention", "expiring")

    def sort_key(self) -> tuple[int, float, str]:
        left = self.days_left if self.days_left is not None else float("inf")
        return LEVELS.index(self.level), left, self.conn_id


def refresh_outcomes(report: Mapping[str, Any] | None) -> dict[str, RefreshOutcome]:
    """Per connection, its outcome in a health report (the ``health_report`` task's XCom)."""
    if not report:
        return {}
    at = parse_time(report.get("generated_at"))
    rows = [row for row in report.get("accounts") or [] if isinstance(row, Mapping)]
    return {str(r["connection"]): RefreshOutcome(str(r.get("outcome")), str(r.get("detail") or ""), at)
            for r in rows if r.get("connection")}  # fmt: skip


def last_exports(summaries: Iterable[tuple[Mapping[str, Any], datetime | None]]) -> dict[str, LastExport]:
    """Per connection, its newest export from ``(summary, when)`` pairs given newest first (``export_media``
    XComs: :class:`~airflow_provider_instagram.export.media_export.ExportSummary`)."""
    found: dict[str, LastExport] = {}
    for summary, at in summaries:
        conn_id = summary.get("conn_id") if isinstance(summary, Mapping) else None
        if conn_id and conn_id not in found:
            first, last = summary.get("first_day"), summary.get("last_day")
            window = f"{first}..{last}" if first else "full snapshot"
            found[str(conn_id)] = LastExport(int(summary.get("rows") or 0), at, window)
    return found


def account_lines(
    rows: Sequence[StoredRow], refreshes: Mapping[str, RefreshOutcome], exports: Mapping[str, LastExport],
    now: datetime, warn_days: float = DEFAULT_WARN_DAYS,
) -> list[AccountLine]:  # fmt: skip
    """Every account among ``rows`` (app connections left out), most urgent first."""
    apps = app_connection_ids(rows)
    lines = [_line(row, refreshes.get(row.conn_id), exports.get(row.conn_id), now, warn_days)
             for row in rows if row.conn_id not in apps]  # fmt: skip
    return sorted(lines, key=AccountLine.sort_key)


def _line(
    row: StoredRow, refresh: RefreshOutcome | None, export: LastExport | None, now: datetime, warn_days: float
) -> AccountLine:
    try:
        extras = row.extras()
        record = AccountRecord.from_extras(row.conn_id, extras)
        app_conn_id = keys.text_field(extras, keys.APP_CONN_ID, row.conn_id) or keys.DEFAULT_APP_CONN_ID
    except InstagramConfigError as exc:
        return AccountLine(row.conn_id, "unreadable", str(exc), None, keys.DEFAULT_APP_CONN_ID, None, refresh, export)
    left = None if record.expires_at is None else round((record.expires_at - now).total_seconds() / 86_400, 1)
    # A report made before the account was (re)connected says nothing about its token now.
    stale = refresh is not None and _before(refresh.at, record.connected_at)
    level, why = _level(record, row.has_password, now, left, None if stale else refresh, warn_days)
    return AccountLine(row.conn_id, level, why, record, app_conn_id, left, refresh, export)


def _before(moment: datetime | None, other: datetime | None) -> bool:
    return moment is not None and other is not None and moment < other


def _level(
    record: AccountRecord, has_token: bool, now: datetime, left: float | None, refresh: RefreshOutcome | None,
    warn_days: float,
) -> tuple[str, str]:  # fmt: skip
    if record.status != "ok":
        return record.status, record.status_reason or record.status
    if not has_token:
        return "reauth_required", "the connection has no token: connect the account"
    if record.expires_at is not None and record.expires_at <= now:
        return "reauth_required", "its token has expired: connect the account again"
    if refresh is not None and refresh.outcome in {str(o) for o in NEEDS_HUMAN}:
        return "attention", f"last refresh: {refresh.outcome}: {refresh.detail}"
    if left is not None and left <= warn_days:
        return "expiring", f"expires in {left:g} days" + (f" (last refresh: {refresh.detail})" if refresh else "")
    if refresh is not None and refresh.outcome == "failed":
        return "failed", f"last refresh failed: {refresh.detail}; the next run tries again"
    return "ok", "healthy" if left is not None else "expiry unknown until its first refresh"
