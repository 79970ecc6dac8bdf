"""``airflow-instagram connect``: connect an account from a terminal and save it as an Airflow connection."""

from __future__ import annotations

import os
import secrets
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_instagram.exceptions import OnboardingError, OnboardingStateError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.app_settings import FIELDS, app_hook, read_app_connection
from airflow_provider_instagram.onboarding.chain import ConnectedAccount, Redirect, connect_account
from airflow_provider_instagram.onboarding.listener import RedirectListener, listens_locally
from airflow_provider_instagram.tokens.airflow_api import AirflowApiClient
from airflow_provider_instagram.tokens.state import format_time
from airflow_provider_instagram.tokens.store import INSTAGRAM_CONN_TYPE

SECRET_VARIABLE = "INSTAGRAM_CLIENT_SECRET"


@dataclass(frozen=True)
class ConnectRequest:
    """What ``airflow-instagram connect`` was asked to do.

    :param conn_id: the account's connection, created or updated.
    :param app_conn_id: the connection with the Instagram app (login = app id, password = secret, extras
        ``redirect_uri``...); ``None`` when every app setting is given directly.
    :param app: app settings given directly (``client_id``, ``client_secret``, ``redirect_uri``, ``host``,
        ``oauth_url``, ``authorize_url``, ``api``); they win over the app connection's.
    :param redirect: a redirect URL or code the user already has (skips the authorization window).
    :param scopes: scopes to ask for (default: the API's defaults).
    :param open_browser: open the authorization URL in a browser, where there is one.
    :param timeout: seconds to wait for the redirect on a loopback redirect URI.
    """

    conn_id: str
    app_conn_id: str | None
    app: Mapping[str, str] = field(default_factory=dict, repr=False)
    redirect: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    open_browser: bool = True
    timeout: float = 300.0

    def hook(self) -> InstagramHook:
        """The hook that runs the chain: the app connection's settings with the ones given directly on top."""
        app = read_app_connection(self.app_conn_id) if self.app_conn_id else None
        return app_hook(self.conn_id, app, self.app)

    def saved_extra(self) -> dict[str, Any]:
        """The app settings the account's connection keeps: the app connection's id, and extras given directly."""
        extra = {k: v for k, v in self.app.items() if k not in FIELDS and v}
        if self.app_conn_id:  # the secret stays in the app connection, not in every account
            return {"app_conn_id": self.app_conn_id, **{k: v for k, v in extra.items() if k != "client_secret"}}
        return extra

    def fields(self, token: str) -> dict[str, Any]:
        """The connection fields a save writes: the token, and the app id and host where given directly."""
        return {"password": token, **{FIELDS[key]: self.app[key] for key in FIELDS if self.app.get(key)}}


def app_settings_from_flags(**flags: str | None) -> dict[str, str]:
    """Flags given, plus the secret from ``$INSTAGRAM_CLIENT_SECRET`` (never a flag: shells keep history)."""
    settings = {name: value for name, value in flags.items() if value}
    if os.environ.get(SECRET_VARIABLE):
        settings["client_secret"] = os.environ[SECRET_VARIABLE]
    return settings


def authorize(
    hook: InstagramHook, request: ConnectRequest, say: Callable[[str], None], ask: Callable[[str], str]
) -> str:
    """Send the user through the authorization window; the code that comes back."""
    if request.redirect:  # the user ran the window already: no state of ours to compare
        return Redirect.parse(request.redirect).require_code()
    state = secrets.token_urlsafe(24)
    url = hook.get_authorization_url(state, list(request.scopes) or None)
    redirect_uri = str(hook.params.redirect_uri)
    listener = RedirectListener(redirect_uri) if listens_locally(redirect_uri) else None
    try:
        say(f"Open this URL, log in as the Instagram account to connect, and allow the app:\n\n  {url}\n")
        if request.open_browser:
            webbrowser.open(url)
        if listener is not None:
            say(f"Waiting for the redirect to {redirect_uri} (up to {request.timeout:.0f} s)...")
            redirect = listener.wait(request.timeout)
        else:
            redirect = Redirect.parse(ask(f"Paste the URL your browser landed on ({redirect_uri}?code=...): "))
    finally:
        if listener is not None:
            listener.close()
    if redirect.error is None and not secrets.compare_digest(redirect.state or "", state):
        raise OnboardingStateError("The redirect's state is not the one this command sent: start again")
    return redirect.require_code()


def connect(
    request: ConnectRequest, client: AirflowApiClient, say: Callable[[str], None] = print,
    ask: Callable[[str], str] = input,
) -> ConnectedAccount:  # fmt: skip
    """Authorize, run the chain, and save the account's connection through the REST API."""
    existing = client.connection_type(request.conn_id)
    if existing not in (None, INSTAGRAM_CONN_TYPE):  # before the user authorizes anything
        raise OnboardingError(
            f"Connection {request.conn_id!r} exists and is of type {existing!r}: choose another connection id"
        )
    hook = request.hook()
    hook.params  # noqa: B018 (check the app settings before the user is sent anywhere)
    if not hook.params.client_secret:
        raise OnboardingError(
            f"No app secret: give --app-conn-id naming the app's connection (password = app secret), "
            f"or set ${SECRET_VARIABLE}"
        )
    code = authorize(hook, request, say, ask)
    account = connect_account(hook, request.conn_id, code)
    app_extra = request.saved_extra()
    created = client.save_connection(
        request.conn_id, INSTAGRAM_CONN_TYPE, request.fields(account.token),
        lambda current: account.extra({**current, **app_extra}),
    )  # fmt: skip
    expiry = format_time(account.expires_at) or "at an unknown time"
    if account.expires_at:
        expiry += f" ({(account.expires_at - account.connected_at).days} days)"
    verb = "Created" if created else "Updated"
    who = f"@{account.username} (user id {account.user_id})"
    say(f"{verb} connection {request.conn_id!r}: {who}, token expires {expiry}.")
    return account
