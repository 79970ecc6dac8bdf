"""The plugin's HTML: one layout, every value escaped, no scripts. Airflow's "Instagram" navigation entry opens
the Instagram page (``/instagram/``) in a tab of its own; every page links back to it and to Airflow."""

from __future__ import annotations

import html
from collections.abc import Sequence

from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.plugin import URL_PREFIX
from airflow_provider_instagram.plugin.refresh_setup import SetupProblem

STYLE = """
:root{color-scheme:light;--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--red:#b42318;
--redbg:#fef3f2;--amber:#8a5300;--amberbg:#fff8e1;--green:#1b7f3b;--greenbg:#ecfdf3;--blue:#0b5cad}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;padding:1.25rem 1.5rem}
main{max-width:80rem}h1{font-size:1.5rem;margin:.25rem 0 1rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
h1.error{color:var(--red)}h1.ok{color:var(--green)}a{color:var(--blue)}
code{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:0 .3rem;font-size:.92em}
.error{color:var(--red)}.ok{color:var(--green)}.muted,small{color:var(--muted)}
nav{font-size:.9rem;margin-bottom:.5rem}
.box{border:1px solid var(--line);border-radius:8px;padding:.6rem .9rem;margin:.6rem 0;background:var(--soft)}
.box.warn{border-color:#f0c36d;background:var(--amberbg)}.box.bad{border-color:#f4a29b;background:var(--redbg)}
.box.good{border-color:#8fd3a8;background:var(--greenbg)}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);background:var(--soft)}
tr.stands-out td{background:var(--redbg)}tr.level-expiring td{background:var(--amberbg)}
tr.stands-out td:first-child{box-shadow:inset 4px 0 0 var(--red)}
tr.level-expiring td:first-child{box-shadow:inset 4px 0 0 #e0a100}
.badge{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.badge.ok{background:var(--greenbg);color:var(--green)}.badge.expiring{background:#ffe8a3;color:var(--amber)}
.badge.reauth_required,.badge.unreadable,.badge.attention{background:#fdd;color:var(--red)}
.badge.revoked{background:#e9ecef;color:#343a40}.badge.failed{background:#ffe8a3;color:var(--amber)}
td.actions{white-space:nowrap}td.actions form{display:inline}
button{font:inherit;padding:.25rem .7rem;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer}
button.primary{background:#0b5cad;border-color:#0b5cad;color:#fff}
label{display:inline-block;margin:.3rem 1rem .3rem 0}input{font:inherit;padding:.25rem .4rem;width:16rem}
"""


def page(title: str, body: str, *, home: str, css_class: str = "") -> str:
    """A whole page: ``home`` is the Instagram page, linked from the top of every page with Airflow's UI."""
    heading = f"<h1 class='{css_class}' id='title'>{html.escape(title)}</h1>"
    airflow = html.escape(home.rsplit(f"{URL_PREFIX}/", 1)[0] + "/")  # home is <Airflow>/instagram/
    nav = (
        f"<nav><a id='home' href='{html.escape(home)}'>Instagram accounts</a> &middot; "
        f"<a id='airflow' href='{airflow}'>Airflow</a></nav>"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><main>{nav}{heading}{body}</main></body></html>"
    )


def failed(title: str, message: str, *, home: str, hint: str = "") -> str:
    """An error page: what went wrong, what to do, and the way back to start again."""
    extra = f"<p id='hint'>{html.escape(hint)}</p>" if hint else ""
    back = f"<p><a id='start-again' href='{html.escape(home)}'>Start again</a></p>"
    body = f"<p class='error' id='message'>{html.escape(message)}</p>{extra}{back}"
    return page(title, body, home=home, css_class="error")


def registration(callback: str, deauthorize: str, deletion: str, base: str, configured: bool) -> str:
    """The three URLs to enter in the Meta app dashboard, and which base URL they use."""
    rows = (
        ("Valid OAuth redirect URI", callback, "redirect-uri"),
        ("Deauthorize callback URL", deauthorize, "deauthorize-url"),
        ("Data deletion request URL", deletion, "deletion-url"),
    )
    items = "".join(f"<li>{label}: <code id='{key}'>{html.escape(url)}</code></li>" for label, url, key in rows)
    if configured:
        source = f"These use <code id='base-url'>{html.escape(base)}</code>, Airflow's <code>[api] base_url</code>."
    else:
        source = (
            f"These use <code id='base-url'>{html.escape(base)}</code>, the address you browsed to, because "
            "<code>[api] base_url</code> is not set. Instagram sends the browser back to exactly the redirect URI "
            "registered, and Meta calls the two callbacks at theirs: set <code>[api] base_url</code> to Airflow's "
            "public HTTPS address, so that they do not depend on how this page was reached."
        )
    return (
        "<h2>Register in the Meta app dashboard</h2><p>In the Meta app dashboard (Instagram &gt; API setup with "
        f"Instagram login), register:</p><ul>{items}</ul><p id='base-url-source' class='muted'>{source}</p>"
    )


def start_form(app_conn_id: str, conn_id: str, form_token: str) -> str:
    """Connect a new account."""
    return (
        "<form method='post' action='connect' id='connect-form'>"
        f"<input type='hidden' name='form_token' value='{html.escape(form_token)}'>"
        "<label>Connection id of the account <input name='conn_id' id='conn_id' required "
        f"pattern='[A-Za-z0-9_.\\-]+' placeholder='instagram_acme' value='{html.escape(conn_id)}'></label>"
        f"<label>App connection id <input name='app_conn_id' id='app_conn_id' value='{html.escape(app_conn_id)}'>"
        "</label><button type='submit' id='start' class='primary'>Connect with Instagram</button></form>"
    )


def setup_problems(problems: Sequence[SetupProblem]) -> str:
    return "".join(
        f"<div class='box warn setup-problem'><b>{html.escape(p.what)}</b><br>{html.escape(p.fix)}</div>"
        for p in problems
    )


def connected(
    conn_id: str, username: str, user_id: str, expires: str, created: bool, problems: Sequence[SetupProblem],
    *, home: str,
) -> str:  # fmt: skip
    verb = "created" if created else "updated"
    if problems:
        keeps = (
            f"<p id='expiry'>Its token expires {html.escape(expires)}. The <code>{REFRESH_DAG_ID}</code> DAG cannot "
            "keep it alive yet:</p>" + setup_problems(problems)
        )
    else:
        keeps = (
            f"<p id='expiry'>Its token expires {html.escape(expires)}; the <code>{REFRESH_DAG_ID}</code> DAG "
            "refreshes it every day from now on.</p>"
        )
    body = (
        f"<p id='account'>Instagram account <b>@{html.escape(username)}</b> (user id {html.escape(user_id)}) is "
        f"connected: connection <code id='connection'>{html.escape(conn_id)}</code> was {verb}.</p>{keeps}"
        f"<p><a id='back' href='{html.escape(home)}'>Back to the Instagram accounts</a></p>"
    )
    return page("Account connected", body, home=home, css_class="ok")


def deletion_status(code: str, status: str) -> str:
    """The page Meta shows the user who asked for their data to be deleted (not an Airflow user: no way in)."""
    words = {
        "pending": "Your deletion request was received and is being processed.",
        "done": "The data this service exported from your account has been deleted.",
        "failed": "Deleting your data did not finish; the operators of this service see the failure and will "
        "complete it.",
        "unknown": "There is no deletion request with this code.",
    }
    body = (
        f"<p>Confirmation code <code>{html.escape(code)}</code>: <b id='status'>{status}</b>.</p><p>{words[status]}</p>"
    )
    title = "Data deletion request"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style></head>"
        f"<body><main><h1 id='title'>{title}</h1>{body}</main></body></html>"
    )
