"""The Instagram page: the accounts table in urgency order with its buttons, the summary, the notice, the empty
page, and every value escaped."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element

import pytest

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.plugin import pages
from airflow_provider_instagram.plugin.accounts import (
    LEVELS,
    AccountLine,
    account_lines,
    last_exports,
    refresh_outcomes,
)
from airflow_provider_instagram.plugin.accounts_page import AccountsView, Notice, render
from airflow_provider_instagram.plugin.airflow_side import DagStatus
from airflow_provider_instagram.plugin.refresh_setup import SetupProblem, refresh_setup_problems
from airflow_provider_instagram.tokens.refresh import Outcome
from tests.unit.plugin.factories import (
    NOW,
    REPORT_AT,
    account_row,
    export_summary,
    health_report,
    raw_row,
    record,
    result,
)
from tests.unit.plugin.html_tree import by_id, classes, parse, text

HOME = "https://airflow.example.com/instagram/"
FORM_TOKEN = "form-token'<&>\""
LAST_RUN = DagStatus(REFRESH_DAG_ID, deployed=True, last_run_state="success", last_run_at=REPORT_AT)
EVIL = "<script>alert('x')</script>"


def lines_of(rows: Sequence[StoredRow], report: dict[str, object] | None = None) -> list[AccountLine]:
    exports = last_exports([(export_summary("ok_acme", 1234), REPORT_AT)])
    return account_lines(rows, refresh_outcomes(report), exports, NOW)


def every_level() -> list[AccountLine]:
    """One account of each level, in no particular order."""
    rows = [
        account_row("ok_acme", expires_in=50),
        account_row("failed_blip", expires_in=40),
        account_row("revoked_gone", expires_in=None, status="revoked", reason="the user removed the app",
                    has_token=False),
        account_row("expiring_soon", expires_in=3, app_conn_id="acme_app"),
        account_row("attention_env", expires_in=45),
        raw_row("unreadable_broken", "{not json"),
        account_row("reauth_dead", expires_in=-1),
        raw_row("acme_app", {keys.REDIRECT_URI: "https://airflow.example.com/instagram/oauth/callback"}),
    ]  # fmt: skip
    report = health_report(
        [result(record("failed_blip", expires_in=40), Outcome.FAILED, "HTTP 503"),
         result(record("attention_env", expires_in=45), Outcome.NOT_WRITABLE, "not in the metadata database")]
    )  # fmt: skip
    return lines_of(rows, report)


def view(
    lines: Sequence[AccountLine], *, hidden: int = 0, refresh: DagStatus = LAST_RUN,
    problems: Sequence[SetupProblem] = (), notice: Notice | None = None,
) -> AccountsView:  # fmt: skip
    return AccountsView(
        lines=lines, hidden=hidden, warn_days=7, refresh=refresh, problems=problems,
        app_status=(True, "App 1234 (instagram_app): ready"), start=("", keys.DEFAULT_APP_CONN_ID),
        form_token=FORM_TOKEN, home=HOME, notice=notice,
        registration=pages.registration(f"{HOME}/cb", f"{HOME}/deauth", f"{HOME}/delete", HOME, True),
    )  # fmt: skip


def table_rows(tree: Element) -> list[Element]:
    table = by_id(tree, "accounts")
    assert table.tag == "table"
    return table.findall("./tbody/tr[@data-conn-id][@data-level]")


def forms(row: Element) -> list[Element]:
    [actions] = row.findall("./td[@class='actions']")
    return actions.findall("./form")


def hidden_inputs(form: Element) -> dict[str, str]:
    return {i.get("name", ""): i.get("value", "") for i in form.findall(".//input") if i.get("type") == "hidden"}


# -------------------------------------------------------------------------------------------------------- table
def test_rows_come_in_urgency_order_with_their_levels() -> None:
    lines = every_level()
    rows = table_rows(parse(render(view(lines))))
    assert [(r.get("data-conn-id"), r.get("data-level")) for r in rows] == [
        ("reauth_dead", "reauth_required"), ("unreadable_broken", "unreadable"), ("attention_env", "attention"),
        ("expiring_soon", "expiring"), ("revoked_gone", "revoked"), ("failed_blip", "failed"), ("ok_acme", "ok"),
    ]  # fmt: skip
    assert [r.get("data-level") for r in rows] == list(LEVELS)


def test_urgent_rows_stand_out() -> None:
    rows = table_rows(parse(render(view(every_level()))))
    standing_out = {r.get("data-level") for r in rows if "stands-out" in classes(r)}
    assert standing_out == {"reauth_required", "unreadable", "attention", "expiring"}
    for row in rows:
        assert f"level-{row.get('data-level')}" in classes(row)


def test_every_row_has_a_reconnect_and_a_test_form() -> None:
    lines = every_level()
    rows = table_rows(parse(render(view(lines))))
    for line, row in zip(lines, rows, strict=True):
        reconnect, test = forms(row)
        assert (reconnect.get("method"), reconnect.get("action")) == ("post", "connect")
        assert hidden_inputs(reconnect) == {
            "conn_id": line.conn_id, "app_conn_id": line.app_conn_id, "form_token": FORM_TOKEN,
        }  # fmt: skip
        assert [text(b) for b in reconnect.iter("button")] == ["Reconnect"]
        assert (test.get("method"), test.get("action")) == ("post", "test")
        assert hidden_inputs(test) == {"conn_id": line.conn_id, "form_token": FORM_TOKEN}
        assert [text(b) for b in test.iter("button")] == ["Test"]


def test_reconnect_is_the_primary_button_where_a_human_should_act() -> None:
    rows = table_rows(parse(render(view(every_level()))))
    primary = {r.get("data-level") for r in rows if any("primary" in classes(b) for b in forms(r)[0].iter("button"))}
    assert primary == {"reauth_required", "unreadable", "attention", "expiring", "revoked"}


def test_reconnecting_goes_through_the_app_the_account_names() -> None:
    rows = {r.get("data-conn-id"): r for r in table_rows(parse(render(view(every_level()))))}
    assert hidden_inputs(forms(rows["expiring_soon"])[0])["app_conn_id"] == "acme_app"
    assert hidden_inputs(forms(rows["ok_acme"])[0])["app_conn_id"] == keys.DEFAULT_APP_CONN_ID
    assert "acme_app" not in rows  # an app connection is no account


def test_cells_show_the_account_its_expiry_its_last_refresh_and_its_last_export() -> None:
    report = health_report([result(record("ok_acme", expires_in=50), Outcome.REFRESHED)])
    [row] = table_rows(parse(render(view(lines_of([account_row("ok_acme", expires_in=50)], report)))))
    cells = {td.get("class"): text(td) for td in row.findall("./td")}
    assert cells["conn"] == "ok_acme"
    assert cells["username"] == "@user_ok_acme"
    assert cells["status"] == "ok healthy"
    assert cells["expires"] == "2027-01-21"
    assert cells["days-left"] == "50"
    assert cells["refresh"] == "2026-12-02 00:05 UTC refreshed"
    assert cells["export"] == "1,234 rows, 2026-12-02 00:05 UTC 2026-11-30..2026-12-01"


def test_cells_of_an_account_the_refresh_and_the_export_have_not_seen() -> None:
    [row] = table_rows(parse(render(view(lines_of([account_row("new", expires_in=None, username="")])))))
    cells = {td.get("class"): text(td) for td in row.findall("./td")}
    assert (cells["username"], cells["expires"], cells["days-left"]) == ("-", "-", "-")
    assert cells["refresh"] == "not in the last run"
    assert cells["export"] == "none yet"


# ------------------------------------------------------------------------------------------------------ summary
def test_the_summary_counts_every_level_and_the_last_refresh_run() -> None:
    summary = text(by_id(parse(render(view(every_level(), hidden=2))), "summary"))
    assert summary.startswith(
        "7 accounts (2 more you may not read): 1 reconnect, 1 fix connection, 1 needs attention, 1 expiring, "
        "1 revoked, 1 refresh failed, 1 ok."
    )
    assert "Last token refresh run: 2026-12-02 00:05 UTC, success." in summary
    assert "Accounts expiring within 7 days" in summary


def test_the_summary_of_one_account_and_no_refresh_run_yet() -> None:
    lines = lines_of([account_row("ok_acme", expires_in=3)])
    never_run = DagStatus(REFRESH_DAG_ID, deployed=True)
    summary = text(by_id(parse(render(view(lines, refresh=never_run))), "summary"))
    assert summary.startswith("1 account: 1 expiring.")
    assert "more you may not read" not in summary
    assert "The token refresh has not run yet." in summary


# ------------------------------------------------------------------------------------------------ notice, empty
@pytest.mark.parametrize(("ok", "kind"), [(True, "good"), (False, "bad")])
def test_a_notice_is_shown_on_top(ok: bool, kind: str) -> None:
    tree = parse(render(view(every_level(), notice=Notice(ok, f"Connection instagram_acme: {EVIL}"))))
    notice = by_id(tree, "notice")
    assert kind in classes(notice)
    assert text(notice) == f"Connection instagram_acme: {EVIL}"
    main = tree.find(".//main")
    assert main is not None
    assert list(main).index(notice) == 2  # after the navigation and the title, before everything else


def test_without_a_notice_there_is_none() -> None:
    assert parse(render(view(every_level()))).find(".//*[@id='notice']") is None


def test_without_accounts_the_page_says_so_and_still_offers_to_connect_one() -> None:
    tree = parse(render(view([])))
    assert "No Instagram account is connected yet" in text(by_id(tree, "no-accounts"))
    assert tree.find(".//table") is None
    assert text(by_id(tree, "summary")).startswith("0 accounts: none yet.")
    form = by_id(tree, "connect-form")
    assert form.get("action") == "connect"
    assert hidden_inputs(form) == {"form_token": FORM_TOKEN}


def test_the_setup_problems_the_app_and_the_registration_are_on_the_page() -> None:
    problems = refresh_setup_problems(DagStatus(REFRESH_DAG_ID, deployed=False), False)
    tree = parse(render(view(every_level(), problems=problems)))
    shown = [box for box in tree.iter("div") if "setup-problem" in classes(box)]
    assert [[text(b) for b in box.iter("b")] for box in shown] == [[p.what] for p in problems]
    assert all(text(box).endswith(p.fix) for box, p in zip(shown, problems, strict=True))
    assert text(by_id(tree, "app-status")) == "App 1234 (instagram_app): ready"
    assert text(by_id(tree, "redirect-uri")) == f"{HOME}/cb"
    assert by_id(tree, "home").get("href") == HOME


# ----------------------------------------------------------------------------------------------------- escaping
def test_every_value_is_escaped() -> None:
    conn_id = f"ig'{EVIL}"
    broken = f"broken{EVIL}"
    rows = [
        account_row(conn_id, username=EVIL, app_conn_id=f"app{EVIL}"),
        raw_row(broken, {keys.EXPIRES_AT: EVIL}),
    ]
    html = render(view(lines_of(rows), notice=Notice(False, EVIL)))
    assert "<script" not in html
    tree = parse(html)
    assert tree.find(".//script") is None
    by_conn = {r.get("data-conn-id"): r for r in table_rows(tree)}
    assert set(by_conn) == {conn_id, broken}
    row = by_conn[conn_id]
    cells = {td.get("class"): text(td) for td in row.findall("./td")}
    assert (cells["conn"], cells["username"]) == (conn_id, f"@{EVIL}")
    assert hidden_inputs(forms(row)[0]) == {"conn_id": conn_id, "app_conn_id": f"app{EVIL}", "form_token": FORM_TOKEN}
    why = text(by_conn[broken].findall(".//small[@class='why']")[0])
    assert repr(broken) in why and repr(EVIL) in why
