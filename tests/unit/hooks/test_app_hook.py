"""The ``instagram_app`` connection: its hook's Test checks the fields a user fills in the form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_instagram.hooks.app import InstagramAppHook
from airflow_provider_instagram.hooks.instagram import InstagramHook

GOOD = {"conn_type": "instagram_app", "login": "1234567890", "password": "app-secret-value",
        "extra": {"redirect_uri": "https://airflow.example.com/instagram/oauth/callback"}}  # fmt: skip


def _test(monkeypatch: pytest.MonkeyPatch, **change: Any) -> tuple[bool, str]:
    monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_APP", json.dumps({**GOOD, **change}))
    return InstagramAppHook().test_connection()


def test_a_complete_app_connection_passes_and_its_secret_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = _test(monkeypatch)
    assert ok and "1234567890" in message and "airflow.example.com" in message
    assert "app-secret-value" not in message


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"login": ""}, "has no Instagram app id: put the numeric app id"),
        ({"login": "my-app"}, "has no Instagram app id"),
        ({"password": ""}, "has no app secret: put the Instagram app secret in the password field"),
        ({"extra": {"redirect_uri": "http://airflow.example.com/cb"}}, "Meta accepts only https redirect URIs"),
        ({"extra": {"api": "graph"}}, "extra 'api' is 'graph'"),
    ],
    ids=["no-app-id", "app-id-not-numeric", "no-secret", "http-redirect", "bad-flavour"],
)
def test_each_missing_or_wrong_field_is_named_with_its_fix(monkeypatch, change: dict, names: str) -> None:
    ok, message = _test(monkeypatch, **change)
    assert not ok and names in message and "'instagram_app'" in message


def test_a_loopback_http_redirect_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _test(monkeypatch, extra={"redirect_uri": "http://127.0.0.1:8765/cb"})[0]


def test_an_account_tested_under_airflows_temporary_id_is_named_by_its_username(monkeypatch) -> None:
    """Airflow's Test copies a connection to a random 8-character id: the message names the account instead."""
    account = {"conn_type": "instagram", "password": "", "extra": {"username": "sunset_neon_1"}}
    monkeypatch.setenv("AIRFLOW_CONN_AB12CD34", json.dumps(account))
    ok, message = InstagramHook(instagram_conn_id="Ab12Cd34").test_connection()
    assert not ok and "the connection of @sunset_neon_1 has no access token" in message and "Ab12Cd34" not in message
    monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_ACME", json.dumps(account))
    ok, message = InstagramHook(instagram_conn_id="instagram_acme").test_connection()
    assert not ok and "'instagram_acme' has no access token" in message
