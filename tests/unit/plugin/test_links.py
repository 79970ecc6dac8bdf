"""Where the plugin's links and redirect URI point: ``[api] base_url`` when set, else where the user browsed."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from airflow_provider_instagram.plugin.app import CALLBACK_PATH, base_url, home, url


def _request(host: str, scheme: str = "http") -> Request:
    scope = {"type": "http", "method": "GET", "scheme": scheme, "path": "/instagram/", "root_path": "",
             "query_string": b"", "headers": [(b"host", host.encode())], "server": ("127.0.0.1", 8080)}  # fmt: skip
    return Request(scope)


def test_without_a_base_url_links_follow_the_host_the_user_browsed_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    request = _request("airflow.internal:9090", "https")
    assert base_url(request) == ("https://airflow.internal:9090", False)
    assert url(request, CALLBACK_PATH) == "https://airflow.internal:9090/instagram/oauth/callback"
    assert home(request) == "https://airflow.internal:9090/instagram/"


def test_a_configured_base_url_wins_over_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    request = _request("localhost:8080")
    assert base_url(request) == ("https://airflow.example.com", True)
    assert url(request, CALLBACK_PATH) == "https://airflow.example.com/instagram/oauth/callback"
