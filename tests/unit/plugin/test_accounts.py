"""The Instagram page's table: refresh outcomes and exports read from their XComs, and every account's level,
reason and place, from rows, reports and summaries built the way production builds them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.plugin.accounts import (
    LEVELS,
    AccountLine,
    LastExport,
    RefreshOutcome,
    account_lines,
    last_exports,
    refresh_outcomes,
)
from airflow_provider_instagram.tokens.refresh import Outcome
from airflow_provider_instagram.tokens.report import NEEDS_HUMAN
from tests.unit.plugin.factories import (
    NOW,
    REPORT_AT,
    account_row,
    export_summary,
    health_report,
    raw_row,
    record,
    result,
    stored,
)

STANDING_OUT = {"reauth_required", "unreadable", "attention", "expiring"}


def only_line(row: StoredRow, outcome: Outcome | None = None, detail: str = "", warn_days: float = 7) -> AccountLine:
    """The one line of ``row``, with its ``outcome`` in this morning's health report when given."""
    refreshes = {}
    if outcome is not None:
        refreshes = refresh_outcomes(health_report([result(row.record(), outcome, detail)]))
    lines = account_lines([row], refreshes, {}, NOW, warn_days)
    assert [line.conn_id for line in lines] == [row.conn_id]
    return lines[0]


# ---------------------------------------------------------------------------------------------- refresh outcomes
def test_refresh_outcomes_name_every_account_of_the_health_report() -> None:
    report = health_report(
        [result(record("acme"), Outcome.REFRESHED), result(record("beta"), Outcome.WRITE_FAILED, "HTTP 500")],
        unreported=["gamma"],
    )
    assert refresh_outcomes(report) == {
        "acme": RefreshOutcome("refreshed", "", REPORT_AT),
        "beta": RefreshOutcome("write_failed", "HTTP 500", REPORT_AT),
        "gamma": RefreshOutcome("failed", "its batch task did not finish: see its log", REPORT_AT),
    }


@pytest.mark.parametrize("report", [None, {}])
def test_without_a_health_report_there_are_no_outcomes(report: dict[str, Any] | None) -> None:
    assert refresh_outcomes(report) == {}


def test_rows_that_name_no_connection_are_skipped_and_a_report_without_a_time_has_none() -> None:
    report = health_report([result(record("acme"), Outcome.FRESH, "refreshed 3 h ago")])
    report["accounts"] += [None, "acme", {"outcome": "failed"}, {"connection": "", "outcome": "failed"}]
    del report["generated_at"]
    assert refresh_outcomes(report) == {"acme": RefreshOutcome("fresh", "refreshed 3 h ago", None)}


# ------------------------------------------------------------------------------------------------- last exports
def test_last_exports_keep_each_accounts_newest_summary() -> None:
    today, yesterday = NOW - timedelta(hours=2), NOW - timedelta(days=1)
    summaries: list[Any] = [
        (export_summary("acme", 1234), today),
        (export_summary("beta", 7, full=True), today),
        (None, today),  # a mapped export that was skipped records no summary
        (export_summary("acme", 99, full=True), yesterday),
    ]
    assert last_exports(summaries) == {
        "acme": LastExport(1234, today, "2026-11-30..2026-12-01"),
        "beta": LastExport(7, today, "full snapshot"),
    }


def test_exports_are_attached_to_their_accounts_only() -> None:
    exports = last_exports([(export_summary("acme", 5), REPORT_AT)])
    lines = {line.conn_id: line for line in account_lines([account_row("acme"), account_row("beta")], {}, exports, NOW)}
    assert lines["acme"].export == LastExport(5, REPORT_AT, "2026-11-30..2026-12-01")
    assert lines["beta"].export is None


# ------------------------------------------------------------------------------------------------------- levels
def test_a_healthy_account_is_ok_with_its_record_and_days_left() -> None:
    acme = record("acme", expires_in=50)
    line = only_line(stored(acme), Outcome.REFRESHED)
    assert (line.level, line.why, line.days_left) == ("ok", "healthy", 50.0)
    assert line.record == acme
    assert line.app_conn_id == keys.DEFAULT_APP_CONN_ID
    assert line.refresh == RefreshOutcome("refreshed", "", REPORT_AT)
    assert not line.stands_out


def test_an_account_never_refreshed_is_ok_with_its_expiry_unknown() -> None:
    line = only_line(account_row("acme", expires_in=None))
    assert (line.level, line.why, line.days_left, line.refresh) == (
        "ok", "expiry unknown until its first refresh", None, None,
    )  # fmt: skip


def test_a_connection_without_a_token_must_be_reconnected() -> None:
    line = only_line(account_row("acme", expires_in=30, has_token=False))
    assert (line.level, line.why) == ("reauth_required", "the connection has no token: connect the account")
    assert line.stands_out


def test_an_expired_token_must_be_reconnected_whatever_the_last_refresh_said() -> None:
    line = only_line(account_row("acme", expires_in=-1.5), Outcome.FAILED, "HTTP 503")
    assert (line.level, line.why, line.days_left) == (
        "reauth_required", "its token has expired: connect the account again", -1.5,
    )  # fmt: skip
    assert line.stands_out


def test_an_account_the_refresh_marked_reauth_required_says_why() -> None:
    why = "Instagram rejected the token (code 190): reconnect the account"
    line = only_line(account_row("acme", status="reauth_required", reason=why), Outcome.REAUTH_REQUIRED, why)
    assert (line.level, line.why) == ("reauth_required", why)


def test_a_revoked_account_is_revoked_not_missing_its_token() -> None:
    # as the writer's revoke leaves it: status revoked, no expiry, the password cleared
    reason = "the user removed the app on 2026-12-01 09:00 UTC"
    revoked = AccountRecord("acme", user_id="9001", username="acme", status="revoked", status_reason=reason)
    line = only_line(stored(revoked, has_token=False))
    assert (line.level, line.why, line.days_left) == ("revoked", reason, None)
    assert not line.stands_out


@pytest.mark.parametrize("outcome", sorted(NEEDS_HUMAN))
def test_refresh_outcomes_that_need_a_human_call_for_attention(outcome: Outcome) -> None:
    line = only_line(account_row("acme", expires_in=45), outcome, "the connection lives in an env variable")
    assert (line.level, line.why) == ("attention", f"last refresh: {outcome}: the connection lives in an env variable")
    assert line.stands_out


@pytest.mark.parametrize(
    ("days", "why"), [(0.5, "expires in 0.5 days"), (3, "expires in 3 days"), (7, "expires in 7 days")]
)
def test_tokens_expiring_within_the_warning_window_are_expiring(days: float, why: str) -> None:
    line = only_line(account_row("acme", expires_in=days))
    assert (line.level, line.why, line.days_left) == ("expiring", why, days)
    assert line.stands_out


def test_an_expiring_token_names_the_last_refresh_rather_than_failed() -> None:
    line = only_line(account_row("acme", expires_in=3), Outcome.FAILED, "HTTP 503")
    assert (line.level, line.why) == ("expiring", "expires in 3 days (last refresh: HTTP 503)")


def test_the_warning_window_is_the_one_given() -> None:
    assert only_line(account_row("acme", expires_in=7.1)).level == "ok"
    assert only_line(account_row("acme", expires_in=10), warn_days=14).level == "expiring"
    assert only_line(account_row("acme", expires_in=3), warn_days=2).level == "ok"


def test_a_failed_refresh_far_from_expiry_is_failed_and_tried_again() -> None:
    line = only_line(account_row("acme", expires_in=40), Outcome.FAILED, "HTTP 503 from graph.instagram.com")
    assert (line.level, line.why) == (
        "failed", "last refresh failed: HTTP 503 from graph.instagram.com; the next run tries again",
    )  # fmt: skip
    assert not line.stands_out


def _broken_field(key: str, value: Any) -> str:
    return json.dumps({**record("broken").merged_into({}), key: value})


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('["user_id"]', "not an object"),
        (_broken_field(keys.EXPIRES_AT, "next tuesday"), "not a time"),
        (_broken_field(keys.APP_CONN_ID, ["instagram_app"]), "must be text"),
        (_broken_field(keys.AUTO_REFRESH, "sometimes"), "set it to true or false"),
    ],
)
def test_extras_that_do_not_read_make_the_account_unreadable_naming_the_connection(extra: str, fragment: str) -> None:
    refreshes = {"broken": RefreshOutcome("failed", "extras unreadable", REPORT_AT)}
    exports = {"broken": LastExport(3, REPORT_AT, "full snapshot")}
    [line] = account_lines([raw_row("broken", extra)], refreshes, exports, NOW)
    assert line.level == "unreadable"
    assert "'broken'" in line.why and fragment in line.why
    assert (line.record, line.days_left, line.app_conn_id) == (None, None, keys.DEFAULT_APP_CONN_ID)
    assert (line.refresh, line.export) == (refreshes["broken"], exports["broken"])
    assert line.stands_out


def test_app_connections_are_left_out_and_accounts_keep_the_app_they_name() -> None:
    app_settings = {keys.REDIRECT_URI: "https://airflow.example.com/instagram/oauth/callback"}
    rows = [
        account_row("acme", app_conn_id="acme_app"),
        raw_row("acme_app", app_settings),  # an app connection made before apps had their own type
        raw_row(keys.DEFAULT_APP_CONN_ID, app_settings),  # the default app, named by no account yet
        account_row("beta"),
    ]
    lines = account_lines(rows, {}, {}, NOW)
    assert [(line.conn_id, line.app_conn_id) for line in lines] == [
        ("acme", "acme_app"), ("beta", keys.DEFAULT_APP_CONN_ID),
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------------- ordering
def every_level() -> list[AccountLine]:
    """One account or more of every level, given in no particular order."""
    revoked = AccountRecord("revoked", status="revoked", status_reason="the user removed the app")
    rows = [
        account_row("ok_unknown", expires_in=None),
        account_row("exp_b", expires_in=5),
        stored(revoked, has_token=False),
        account_row("ok_a", expires_in=55),
        account_row("failed", expires_in=40),
        raw_row("unreadable", "{"),
        account_row("r_notoken", expires_in=30, has_token=False),
        account_row("exp_a", expires_in=5),
        account_row("attention", expires_in=45),
        account_row("ok_b", expires_in=50),
        account_row("exp_soon", expires_in=2),
        account_row("r_expired", expires_in=-2),
    ]
    report = health_report(
        [result(record("failed", expires_in=40), Outcome.FAILED, "HTTP 503"),
         result(record("attention", expires_in=45), Outcome.NOT_WRITABLE, "not in the metadata database")]
    )  # fmt: skip
    return account_lines(rows, refresh_outcomes(report), {}, NOW)


def test_accounts_come_most_urgent_first_then_soonest_to_expire_then_by_connection() -> None:
    lines = every_level()
    assert [line.conn_id for line in lines] == [
        "r_expired", "r_notoken", "unreadable", "attention", "exp_soon", "exp_a", "exp_b", "revoked", "failed",
        "ok_b", "ok_a", "ok_unknown",
    ]  # fmt: skip
    assert [line.level for line in lines] == sorted((line.level for line in lines), key=LEVELS.index)
    assert {line.level for line in lines} == set(LEVELS)


def test_exactly_the_urgent_levels_stand_out() -> None:
    lines = every_level()
    assert {line.level for line in lines if line.stands_out} == STANDING_OUT
    assert all(line.stands_out == (line.level in STANDING_OUT) for line in lines)


def test_reconnecting_after_the_report_clears_its_attention() -> None:
    rejected = record("acme", status="reauth_required", reason="Instagram rejected the token")
    report = health_report([result(rejected, Outcome.REAUTH_REQUIRED, "Instagram rejected the token")])
    two_hours_ago = NOW - timedelta(hours=2)  # after the report: onboarding wrote a new token and record
    reconnected = replace(record("acme", expires_in=60), connected_at=two_hours_ago, refreshed_at=two_hours_ago)
    [line] = account_lines([stored(reconnected)], refresh_outcomes(report), {}, NOW)
    assert line.level == "ok"


def test_a_token_with_minutes_left_still_works_and_is_expiring_not_expired() -> None:
    line = only_line(account_row("acme", expires_in=0.02))  # about half an hour
    assert (line.level, line.days_left) == ("expiring", 0.0)
