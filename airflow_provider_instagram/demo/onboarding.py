"""Onboarding an account the way a user does it: consent, then ``airflow-instagram connect``'s own function.

The authorization window is played by the emulator's auto-consent (``login_as`` picks the account, as logging
in does on instagram.com); the code it sends back goes through :func:`~airflow_provider_instagram.onboarding.
terminal.connect`, the function behind ``airflow-instagram connect``: the token chain, then the connection
through Airflow's REST API, by the same writer every other path uses.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from airflow_provider_instagram.account.record import fingerprint
from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.terminal import ConnectRequest, connect


@dataclass(frozen=True)
class OnboardedAccount:
    """One account after onboarding; holds no token, only its fingerprint.

    :param conn_id: the Airflow connection created for it.
    :param username: the Instagram username.
    :param user_id: the account's id (``/me`` ``id``: the warehouse's ``user_id``).
    :param fingerprint: the stored token's fingerprint.
    :param refreshed_at: when the long-lived token was issued.
    :param expires_at: when it expires.
    """

    conn_id: str
    username: str
    user_id: str
    fingerprint: str
    refreshed_at: datetime
    expires_at: datetime


def app_settings(seed: dict[str, Any]) -> dict[str, str]:
    """The Instagram app's settings (the same app for every account), given directly as ``connect``'s flags do."""
    return {
        "client_id": seed["client_id"], "host": seed["graph_url"], "client_secret": seed["client_secret"],
        "redirect_uri": seed["redirect_uri"], "oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"],
        "api_version": seed["api_version"],
    }  # fmt: skip


def authorization_code(hook: InstagramHook, username: str, http: requests.Session) -> str:
    """Open the authorization URL as the user would; the emulator's auto-consent stands in for clicking Allow.
    The code comes back on the redirect."""
    state = secrets.token_urlsafe(12)
    url = f"{hook.get_authorization_url(state)}&{urlencode({'login_as': username})}"
    answer = http.get(url, allow_redirects=False, timeout=30)
    location = answer.headers.get("location", "")
    query = parse_qs(urlsplit(location).query)
    if answer.status_code != 302 or query.get("state") != [state] or "code" not in query:
        raise RuntimeError(f"the authorization window answered HTTP {answer.status_code} without a code for {username}")
    return query["code"][0]


def onboard(
    client: AirflowApiClient, conn_id: str, username: str, seed: dict[str, Any], http: requests.Session,
    clock: Callable[[], datetime],
) -> tuple[OnboardedAccount, list[str]]:  # fmt: skip
    """Consent, then ``connect``: the account and what to print (fingerprints only).

    :param clock: Instagram's clock (the emulator's may be set back to play an account connected days ago).
    """
    request = ConnectRequest(conn_id=conn_id, app_conn_id=None, app=app_settings(seed), open_browser=False)
    code = authorization_code(request.hook(), username, http)
    lines: list[str] = []
    connected = connect(ConnectRequest(conn_id=conn_id, app_conn_id=None, app=app_settings(seed), redirect=code,
                                       open_browser=False), client, say=lines.append, clock=clock)  # fmt: skip
    assert connected.expires_at is not None
    account = OnboardedAccount(
        conn_id=conn_id, username=connected.username, user_id=connected.user_id,
        fingerprint=fingerprint(connected.token), refreshed_at=connected.connected_at,
        expires_at=connected.expires_at,
    )  # fmt: skip
    lifetime = (account.expires_at - account.refreshed_at).days
    chain = (
        f"{username}: authorization code -> short-lived {connected.short_lived_fingerprint} (1 h) "
        f"-> long-lived {account.fingerprint} ({lifetime} days) -> profile id {account.user_id}"
    )
    return account, [chain, *lines]


def emulator_time(seconds: float) -> datetime:
    """The emulator's clock reading as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)
