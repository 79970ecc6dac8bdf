"""Meta's deauthorize and data-deletion callbacks: which app signed the request, and which accounts it names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_provider_instagram.exceptions import BadSignatureError
from airflow_provider_instagram.onboarding.chain import APP_USER_ID
from airflow_provider_instagram.plugin.airflow_side import StoredConnection, extra_of
from airflow_provider_instagram.signed_request import parse_signed_request
from airflow_provider_instagram.tokens.state import FINGERPRINT, STATUS, STATUS_REASON, USER_ID, format_time

DELETION_DAG_ID = "instagram_data_deletion"


def app_secrets(connections: Iterable[StoredConnection], get_connection: Callable[[str], Any]) -> list[str]:
    """Every app secret the accounts use: their own ``client_secret`` extra, or their app connection's."""
    found: dict[str, None] = {}
    app_conn_ids = {str(c.extra["app_conn_id"]) for c in connections if c.extra.get("app_conn_id")}
    for conn in connections:
        if conn.extra.get("client_secret"):
            found[str(conn.extra["client_secret"])] = None
    for app_conn_id in sorted(app_conn_ids):
        try:
            app = get_connection(app_conn_id)
        except Exception:  # an account naming a missing app connection cannot have signed anything
            continue
        secret = extra_of(app).get("client_secret") or app.password
        if secret:
            found[str(secret)] = None
    return list(found)


def verify(signed_request: str, secrets: Iterable[str]) -> dict[str, Any]:
    """The payload, if one of the apps' secrets signed it; raises a ``SignedRequestError`` otherwise."""
    for secret in secrets:
        try:
            return parse_signed_request(signed_request, secret)
        except BadSignatureError:
            continue
    raise BadSignatureError("signed_request is signed by none of the Instagram apps of this Airflow")


def accounts_named(payload: Mapping[str, Any], connections: Iterable[StoredConnection]) -> list[StoredConnection]:
    """The connections of the user the callback names (by Instagram user id or app-scoped id)."""
    user_id = str(payload.get("user_id") or "")
    if not user_id:
        return []
    return [c for c in connections if user_id in (str(c.extra.get(USER_ID) or ""), str(c.extra.get(APP_USER_ID) or ""))]


def revoked(why: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The extras of a connection whose user removed the app: status ``revoked``, with when and why."""

    def apply(extra: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in extra.items() if k != FINGERPRINT}
        return {**extra, STATUS: "revoked", STATUS_REASON: f"{why} on {format_time(datetime.now(UTC))}"}

    return apply
