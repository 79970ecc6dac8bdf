"""Meta's deauthorize and data-deletion callbacks: which app signed the request, and which accounts it names."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_instagram.exceptions import BadSignatureError, StaleSignedRequestError
from airflow_provider_instagram.hooks.connection import app_secret
from airflow_provider_instagram.onboarding.chain import APP_USER_ID, CONNECTED_AT
from airflow_provider_instagram.plugin.airflow_side import StoredConnection
from airflow_provider_instagram.signed_request import parse_signed_request
from airflow_provider_instagram.tokens.state import FINGERPRINT, STATUS, STATUS_REASON, USER_ID, format_time, parse_time

DELETION_DAG_ID = "instagram_data_deletion"
# Meta calls back at once; a request issued this long ago is a replay of a captured one.
MAX_AGE_SECONDS = 86_400


@dataclass(frozen=True)
class VerifiedRequest:
    """A callback one of the apps signed.

    :param payload: the decoded payload (``user_id``, ``issued_at``...).
    :param accounts: the connections of the app whose secret verified it (only those may be acted on).
    """

    payload: dict[str, Any]
    accounts: list[StoredConnection]

    @property
    def user_id(self) -> str:
        return str(self.payload.get("user_id") or "")

    def named(self) -> list[StoredConnection]:
        """That app's connections of the user the request names, by Instagram user id or app-scoped id."""
        if not self.user_id:
            return []
        keys = (USER_ID, APP_USER_ID)
        return [c for c in self.accounts if self.user_id in (str(c.extra.get(k) or "") for k in keys)]

    def current(self) -> list[StoredConnection]:
        """The accounts :meth:`named` that were not connected again since the request was issued."""
        return [a for a in self.named() if not self.reconnected_since(a)]

    def reconnected_since(self, account: StoredConnection) -> bool:
        """Whether the account was connected again after the request was issued: it is not the one removed."""
        connected, issued = parse_time(account.extra.get(CONNECTED_AT)), self.payload.get("issued_at")
        return bool(connected and isinstance(issued, int | float) and connected.timestamp() > issued)


def secrets_by_app(
    connections: Iterable[StoredConnection], get_connection: Callable[[str], Any], also: Iterable[str] = ()
) -> dict[str, list[StoredConnection]]:
    """Each app secret the accounts use (their ``client_secret`` extra, or their app connection's), with the
    accounts that use it; ``also`` adds app connections with no account (an app can call back for a user whose
    connection is gone)."""
    apps: dict[str, str | None] = {}

    def secret_of(app_conn_id: str) -> str | None:
        if app_conn_id not in apps:
            try:
                app = get_connection(app_conn_id)
                apps[app_conn_id] = app_secret(app)
            except Exception:  # a missing app connection signs nothing
                apps[app_conn_id] = None
        return apps[app_conn_id]

    found: dict[str, list[StoredConnection]] = {}
    for conn in connections:
        own, app_conn_id = conn.extra.get("client_secret"), conn.extra.get("app_conn_id")
        secret = str(own) if own else secret_of(str(app_conn_id)) if app_conn_id else None
        if secret:
            found.setdefault(secret, []).append(conn)
    for app_conn_id in also:
        if secret := secret_of(app_conn_id):
            found.setdefault(secret, [])
    return found


def verify(
    signed_request: str, apps: Mapping[str, list[StoredConnection]], now: float | None = None
) -> VerifiedRequest:
    """The request, if one app's secret signed it and it is fresh; raises a ``SignedRequestError`` otherwise."""
    for secret, accounts in apps.items():
        try:
            payload = parse_signed_request(signed_request, secret)
        except BadSignatureError:
            continue
        issued = payload.get("issued_at")
        if isinstance(issued, int | float) and issued < (now if now is not None else time.time()) - MAX_AGE_SECONDS:
            raise StaleSignedRequestError("signed_request was issued more than a day ago")
        return VerifiedRequest(payload, accounts)
    raise BadSignatureError("signed_request is signed by none of the Instagram apps of this Airflow")


def revoked(why: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The extras of a connection whose user removed the app: status ``revoked``, with when and why."""

    def apply(extra: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in extra.items() if k != FINGERPRINT}
        return {**extra, STATUS: "revoked", STATUS_REASON: f"{why} on {format_time(datetime.now(UTC))}"}

    return apply
