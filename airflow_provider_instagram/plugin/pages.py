"""The plugin's few HTML pages: plain, escaped, no scripts."""

from __future__ import annotations

import html

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
    "code{background:#f3f3f3;padding:0 .25rem}.error{color:#b00020}.ok{color:#1b7f3b}"
    "label{display:block;margin:.5rem 0}input{font:inherit;padding:.25rem;width:20rem}"
)


def page(title: str, body: str, *, css_class: str = "") -> str:
    heading = f"<h1 class='{css_class}' id='title'>{html.escape(title)}</h1>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{heading}{body}</body></html>"
    )


def registration(callback: str, deauthorize: str, deletion: str) -> str:
    """The three URLs to enter in the Meta app dashboard."""
    rows = (
        ("Valid OAuth redirect URI", callback, "redirect-uri"),
        ("Deauthorize callback URL", deauthorize, "deauthorize-url"),
        ("Data deletion request URL", deletion, "deletion-url"),
    )
    items = "".join(f"<li>{label}: <code id='{key}'>{html.escape(url)}</code></li>" for label, url, key in rows)
    return (
        f"<p>In the Meta app dashboard (Instagram &gt; API setup with Instagram login), register:</p><ul>{items}</ul>"
    )


def start_form(app_conn_id: str, conn_id: str, form_token: str) -> str:
    return (
        "<form method='post' action='connect'>"
        f"<input type='hidden' name='form_token' value='{html.escape(form_token)}'>"
        "<label>Connection id of the account <input name='conn_id' id='conn_id' required "
        f"pattern='[A-Za-z0-9_.\\-]+' placeholder='instagram_acme' value='{html.escape(conn_id)}'></label>"
        f"<label>App connection id <input name='app_conn_id' id='app_conn_id' value='{html.escape(app_conn_id)}'>"
        "</label><button type='submit' id='start'>Connect with Instagram</button></form>"
    )


def connected(conn_id: str, username: str, user_id: str, expires: str, created: bool) -> str:
    verb = "created" if created else "updated"
    body = (
        f"<p id='account'>Instagram account <b>@{html.escape(username)}</b> (user id {html.escape(user_id)}) is "
        f"connected: connection <code id='connection'>{html.escape(conn_id)}</code> was {verb}.</p>"
        f"<p id='expiry'>Its token expires {html.escape(expires)}. The <code>instagram_token_refresh</code> DAG "
        "keeps it alive from now on.</p>"
    )
    return page("Account connected", body, css_class="ok")


def failed(title: str, message: str, status_hint: str = "") -> str:
    hint = f"<p>{html.escape(status_hint)}</p>" if status_hint else ""
    return page(title, f"<p class='error' id='message'>{html.escape(message)}</p>{hint}", css_class="error")


def deletion_status(code: str, status: str) -> str:
    words = {
        "pending": "Your deletion request was received and is being processed.",
        "done": "The data this service exported from your account has been deleted.",
        "failed": "Deleting your data did not finish; the operators of this service see the failure and will "
        "complete it.",
    }
    body = (
        f"<p>Confirmation code <code>{html.escape(code)}</code>: <b id='status'>{status}</b>.</p><p>{words[status]}</p>"
    )
    return page("Data deletion request", body)
