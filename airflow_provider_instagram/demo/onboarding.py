"""Onboarding an account the way a user does it: consent, the real token chain, then an Airflow connection.

The chain runs through :class:`InstagramHook` against the emulator: authorization URL -> authorization code ->
short-lived token (1 hour) -> long-lived token (60 days) -> profile. The connection is then created through
Airflow's REST API, with the token in the password field and the lifecycle extras the token refresh reads.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.tokens.state import TokenState, fingerprint, merge_extra
from airflow_provider_instagram.tokens.store import INSTAGRAM_CONN_TYPE


@dataclass(frozen=True)
class OnboardedAccount:
    """One account after onboarding; holds no token, only its fingerprint.

    :param conn_id: the Airflow connection created for it.
    :param username: the Instagram username.
    :param user_id: the account id ``/me`` answers (the warehouse's ``user_id``).
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


def app_settings(seed: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The app's connection fields and extras (same Instagram app for every account), from the emulator's seed."""
    fields = {"host": seed["graph_url"], "login": seed["client_id"]}
    extra = {
        "client_secret": seed["client_secret"], "redirect_uri": seed["redirect_uri"],
        "oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"], "api_version": seed["api_version"],
    }  # fmt: skip
    return fields, extra


def _hook(conn_id: str, seed: dict[str, Any], token: str | None = None) -> InstagramHook:
    """A hook over a connection that exists only in this process (the Airflow one is created afterwards)."""
    from airflow.sdk import Connection

    fields, extra = app_settings(seed)
    conn = Connection(conn_id=conn_id, conn_type=INSTAGRAM_CONN_TYPE, password=token, extra=json.dumps(extra), **fields)
    return InstagramHook(instagram_conn_id=conn_id, connection=conn)


def authorization_code(hook: InstagramHook, username: str, http: requests.Session) -> str:
    """Open the authorization URL as the user would; the emulator's auto-consent stands in for clicking Allow
    (``login_as`` picks the account, as logging in does on instagram.com). The code comes back on the redirect."""
    state = secrets.token_urlsafe(12)
    url = f"{hook.get_authorization_url(state)}&{urlencode({'login_as': username})}"
    answer = http.get(url, allow_redirects=False, timeout=30)
    location = answer.headers.get("location", "")
    query = parse_qs(urlsplit(location).query)
    if answer.status_code != 302 or query.get("state") != [state] or "code" not in query:
        raise RuntimeError(f"the authorization window answered HTTP {answer.status_code} without a code for {username}")
    return query["code"][0]


def run_token_chain(
    conn_id: str, username: str, seed: dict[str, Any], issued_at: datetime, http: requests.Session
) -> tuple[str, OnboardedAccount, list[str]]:
    """Code -> short-lived -> long-lived token, then the profile; the token, the account and what to print.

    :param issued_at: the time on Instagram's clock when the chain runs (the emulator's clock may be set back to
        play an account that was connected days ago).
    """
    hook = _hook(conn_id, seed)
    code = authorization_code(hook, username, http)
    short = hook.exchange_code(code)
    long_lived = hook.exchange_for_long_lived_token(short.access_token)
    profile = _hook(conn_id, seed, long_lived.access_token).get_profile(["id", "username"])
    lifetime = timedelta(seconds=long_lived.expires_in or 0)
    account = OnboardedAccount(
        conn_id=conn_id, username=str(profile["username"]), user_id=str(profile["id"]),
        fingerprint=fingerprint(long_lived.access_token), refreshed_at=issued_at, expires_at=issued_at + lifetime,
    )  # fmt: skip
    lines = [
        f"{username}: authorization code -> short-lived {fingerprint(short.access_token)} (1 h) "
        f"-> long-lived {account.fingerprint} ({lifetime.days} days) -> profile id {account.user_id}"
    ]
    return long_lived.access_token, account, lines


def connection_body(account: OnboardedAccount, token: str, seed: dict[str, Any]) -> dict[str, Any]:
    """The REST API's connection body: the token in the password, the lifecycle fields in the extras."""
    fields, extra = app_settings(seed)
    state = TokenState(
        conn_id=account.conn_id, expires_at=account.expires_at, refreshed_at=account.refreshed_at, status="ok",
        fingerprint=account.fingerprint, user_id=account.user_id, username=account.username,
    )  # fmt: skip
    body = {"connection_id": account.conn_id, "conn_type": INSTAGRAM_CONN_TYPE, "password": token, **fields}
    return {**body, "extra": json.dumps(merge_extra(extra, state))}


def emulator_time(seconds: float) -> datetime:
    """The emulator's clock reading as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)
