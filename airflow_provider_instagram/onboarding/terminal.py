"""``airflow-instagram connect``: connect an account from a terminal and save it as an Airflow connection."""

from __future__ import annotations

import os
import secrets
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.record import format_time
from airflow_provider_instagram.account.rest import RestTransport
from airflow_provider_instagram.account.writer import AccountWriter
from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import OnboardingError, OnboardingStateError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.app_settings import FIELDS, app_hook, read_app_connection
from airflow_provider_instagram.onboarding.chain import ConnectedAccount, Redirect, connect_account
from airflow_provider_instagram.onboarding.listener import RedirectListener, listens_locally

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
            others = {k: v for k, v in extra.items() if k != keys.CLIENT_SECRET}
            return {keys.APP_CONN_ID: self.app_conn_id, **others}
        return extra

    def fields(self) -> dict[str, Any]:
        """The connection fields a save writes beside the token: the app id and host where given directly."""
        return {FIELDS[key]: self.app[key] for key in FIELDS if self.app.get(key)}


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
    listener = RedirectListener(redirect_uri, state, say) if listens_locally(redirect_uri) else None
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
    ask: Callable[[str], str] = input, clock: Clock = utcnow,
) -> ConnectedAccount:  # fmt: skip
    """Authorize, run the chain, and save the account's connection through the REST API.

    :param clock: Instagram's idea of now, for the token's expiry and ``connected_at``.
    """
    writer = AccountWriter(RestTransport(client))
    writer.check_target(request.conn_id, request.app_conn_id)  # before the user authorizes anything
    hook = request.hook()
    hook.params  # noqa: B018 (check the app settings before the user is sent anywhere)
    if not hook.params.client_secret:
        raise OnboardingError(
            f"No app secret: give --app-conn-id naming the app's connection (password = app secret), "
            f"or set ${SECRET_VARIABLE}"
        )
    code = authorize(hook, request, say, ask)
    account = connect_account(hook, request.conn_id, code, clock)
    created = writer.save_connected(
        request.conn_id, account.record, account.token, fields=request.fields(), settings=request.saved_extra()
    )
    expiry = format_time(account.expires_at) or "at an unknown time"
    if account.expires_at:
        expiry += f" ({(account.expires_at - account.connected_at).days} days)"
    verb = "Created" if created else "Updated"
    who = f"@{account.username} (user id {account.user_id})"
    say(f"{verb} connection {request.conn_id!r}: {who}, token expires {expiry}.")
    return account
