"""The Instagram page: every account's token health, most urgent first, with Reconnect and Test buttons; the
refresh's setup; connecting a new account; the app; the URLs for Meta."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from airflow_provider_instagram.plugin import pages
from airflow_provider_instagram.plugin.accounts import AccountLine
from airflow_provider_instagram.plugin.airflow_side import DagStatus
from airflow_provider_instagram.plugin.refresh_setup import SetupProblem

LEVEL_WORDS = {
    "reauth_required": "reconnect", "unreadable": "fix connection", "attention": "needs attention",
    "expiring": "expiring", "revoked": "revoked", "failed": "refresh failed", "ok": "ok",
}  # fmt: skip
CELLS = ("conn", "username", "status", "expires", "days-left", "refresh", "export")


@dataclass(frozen=True)
class Notice:
    """A result shown at the top of the page (a Test's).

    :param ok: success or failure.
    :param text: what to say.
    """

    ok: bool
    text: str


@dataclass(frozen=True)
class AccountsView:
    """Everything the page shows.

    :param lines: the accounts, most urgent first.
    :param hidden: accounts the user may not read (counted, not shown).
    :param warn_days: the expiry warning window.
    :param refresh: the token refresh DAG's state.
    :param problems: what stops the refresh from keeping tokens alive.
    :param app_status: ``(ok, text)`` of the default app connection.
    :param start: ``(conn_id, app_conn_id)`` the form that connects a new account starts with.
    :param form_token: the user's form token (every button posts it).
    :param registration: the Meta dashboard section.
    :param home: the Instagram page in Airflow's UI.
    :param notice: a result to show on top.
    """

    lines: Sequence[AccountLine]
    hidden: int
    warn_days: float
    refresh: DagStatus
    problems: Sequence[SetupProblem]
    app_status: tuple[bool, str]
    start: tuple[str, str]
    form_token: str
    registration: str
    home: str
    notice: Notice | None = None


def render(view: AccountsView) -> str:
    notice = ""
    if view.notice is not None:
        kind = "good" if view.notice.ok else "bad"
        notice = f"<div class='box {kind}' id='notice'>{html.escape(view.notice.text)}</div>"
    body = (
        notice + pages.setup_problems(view.problems) + _summary(view) + _table(view)
        + "<h2>Connect a new account</h2>" + pages.start_form(view.start[1], view.start[0], view.form_token)
        + _app(view) + view.registration
    )  # fmt: skip
    return pages.page("Instagram accounts", body, home=view.home)


def _summary(view: AccountsView) -> str:
    counts = Counter(line.level for line in view.lines)
    parts = [f"{counts[level]} {LEVEL_WORDS[level]}" for level in LEVEL_WORDS if counts[level]]
    accounts = f"{len(view.lines)} account{'s' if len(view.lines) != 1 else ''}"
    hidden = f" ({view.hidden} more you may not read)" if view.hidden else ""
    run = view.refresh
    if run.last_run_state is None:
        last = "The token refresh has not run yet."
    else:
        last = f"Last token refresh run: {_when(run.last_run_at)}, {html.escape(run.last_run_state)}."
    return (
        f"<p id='summary'><b>{accounts}</b>{hidden}: {', '.join(parts) or 'none yet'}. {last} Accounts expiring "
        f"within {view.warn_days:g} days, and those that need reconnecting, stand out.</p>"
    )


def _table(view: AccountsView) -> str:
    if not view.lines:
        return "<p id='no-accounts'>No Instagram account is connected yet: connect the first one below.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("Connection", "Account", "Status", "Expires", "Days left",
                                             "Last refresh", "Last export", ""))  # fmt: skip
    rows = "".join(_row(line, view.form_token) for line in view.lines)
    return f"<table id='accounts'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _row(line: AccountLine, form_token: str) -> str:
    record = line.record
    username = f"@{html.escape(record.username)}" if record and record.username else "<span class='muted'>-</span>"
    classes = f"level-{line.level}" + (" stands-out" if line.stands_out else "")
    status = (
        f"<span class='badge {line.level}'>{LEVEL_WORDS[line.level]}</span><br>"
        f"<small class='why'>{html.escape(line.why)}</small>"
    )
    cells = (
        f"<code>{html.escape(line.conn_id)}</code>", username, status,
        _when(record.expires_at if record else None, day=True),
        "-" if line.days_left is None else f"{line.days_left:g}", _refresh(line), _export(line),
    )  # fmt: skip
    tds = "".join(f"<td class='{name}'>{cell}</td>" for name, cell in zip(CELLS, cells, strict=True))
    return (
        f"<tr class='{classes}' data-conn-id='{html.escape(line.conn_id)}' data-level='{line.level}'>{tds}"
        f"<td class='actions'>{_buttons(line, form_token)}</td></tr>"
    )


def _refresh(line: AccountLine) -> str:
    if line.refresh is None:
        return "<span class='muted'>not in the last run</span>"
    return f"{_when(line.refresh.at)}<br><small>{html.escape(line.refresh.outcome)}</small>"


def _export(line: AccountLine) -> str:
    if line.export is None:
        return "<span class='muted'>none yet</span>"
    rows = f"{line.export.rows:,} rows"
    return f"{rows}, {_when(line.export.at)}<br><small>{html.escape(line.export.window)}</small>"


def _buttons(line: AccountLine, form_token: str) -> str:
    token = f"<input type='hidden' name='form_token' value='{html.escape(form_token)}'>"
    conn = f"<input type='hidden' name='conn_id' value='{html.escape(line.conn_id)}'>"
    app = f"<input type='hidden' name='app_conn_id' value='{html.escape(line.app_conn_id)}'>"
    primary = " primary" if line.stands_out or line.level == "revoked" else ""
    return (
        f"<form method='post' action='connect'>{token}{conn}{app}"
        f"<button type='submit' class='reconnect{primary}'>Reconnect</button></form> "
        f"<form method='post' action='test'>{token}{conn}<button type='submit' class='test'>Test</button></form>"
    )


def _app(view: AccountsView) -> str:
    ok, text = view.app_status
    kind = "good" if ok else "bad"
    return f"<h2>The Instagram app</h2><div class='box {kind}' id='app-status'>{html.escape(text)}</div>"


def _when(value: datetime | None, *, day: bool = False) -> str:
    if value is None:
        return "<span class='muted'>-</span>"
    return value.strftime("%Y-%m-%d" if day else "%Y-%m-%d %H:%M UTC")
