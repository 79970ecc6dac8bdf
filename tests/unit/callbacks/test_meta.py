"""Which app signed a callback, which of its accounts it names, and when it is a replay."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_instagram.emulator.signing import make_signed_request
from airflow_provider_instagram.exceptions import BadSignatureError, StaleSignedRequestError
from airflow_provider_instagram.plugin.airflow_side import StoredConnection
from airflow_provider_instagram.plugin.meta import secrets_by_app, verify

APPS = {  # app connections as Airflow would return them
    "app_a": SimpleNamespace(password="secret-a", extra="{}"),
    "app_b": SimpleNamespace(password="secret-b", extra="{}"),
    "instagram_default": SimpleNamespace(password="secret-default", extra="{}"),
}


def _get(conn_id: str) -> Any:
    return APPS[conn_id]


def _conn(conn_id: str, **extra: Any) -> StoredConnection:
    return StoredConnection(conn_id, extra)


CONNECTIONS = [
    _conn("a_alice", app_conn_id="app_a", user_id="17841", app_user_id="900"),
    _conn("b_alice", app_conn_id="app_b", user_id="17841", app_user_id="901"),
    _conn("own_secret", client_secret="secret-own", user_id="555"),
    _conn("missing_app", app_conn_id="gone", user_id="17841"),
]


def _signed(secret: str, user_id: str, issued_at: float | None = None) -> str:
    return make_signed_request({"algorithm": "HMAC-SHA256", "issued_at": int(issued_at or time.time()),
                                "user_id": user_id}, secret)  # fmt: skip


def test_secrets_are_grouped_by_app() -> None:
    apps = secrets_by_app(CONNECTIONS, _get, also=["instagram_default"])
    assert {s: [c.conn_id for c in conns] for s, conns in apps.items()} == {
        "secret-a": ["a_alice"], "secret-b": ["b_alice"], "secret-own": ["own_secret"], "secret-default": [],
    }  # fmt: skip


def test_a_request_acts_only_on_the_accounts_of_the_app_that_signed_it() -> None:
    apps = secrets_by_app(CONNECTIONS, _get)
    request = verify(_signed("secret-a", "900"), apps)
    assert [c.conn_id for c in request.named()] == ["a_alice"]
    by_instagram_id = verify(_signed("secret-b", "17841"), apps)
    assert [c.conn_id for c in by_instagram_id.named()] == ["b_alice"]


def test_unknown_secrets_and_old_requests_are_refused() -> None:
    apps = secrets_by_app(CONNECTIONS, _get)
    with pytest.raises(BadSignatureError):
        verify(_signed("secret-default", "900"), apps)  # instagram_default was not asked for
    with pytest.raises(StaleSignedRequestError):
        verify(_signed("secret-a", "900", issued_at=time.time() - 2 * 86_400), apps)


def test_an_account_connected_again_after_the_request_is_left_alone() -> None:
    issued = time.time() - 600
    reconnected = _conn("a_alice", app_conn_id="app_a", app_user_id="900", connected_at="2099-01-01T00:00:00+00:00")
    earlier = _conn("a_bob", app_conn_id="app_a", app_user_id="900", connected_at="2020-01-01T00:00:00+00:00")
    request = verify(_signed("secret-a", "900", issued_at=issued), secrets_by_app([reconnected, earlier], _get))
    assert [request.reconnected_since(c) for c in request.named()] == [True, False]
    assert [c.conn_id for c in request.current()] == ["a_bob"]
