"""The REST client's base URL: https unless the API server is on this machine, or the connection says http."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_instagram.airflow_api import _base_url


@pytest.mark.parametrize(
    ("host", "port", "schema", "url"),
    [
        ("airflow.example.com", None, None, "https://airflow.example.com"),
        ("airflow.example.com", 8080, "", "https://airflow.example.com:8080"),
        ("airflow.internal", 8080, "http", "http://airflow.internal:8080"),
        ("localhost", 8080, None, "http://localhost:8080"),
        ("127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        ("127.0.0.1", 8443, "https", "https://127.0.0.1:8443"),
        ("http://airflow.internal:8080/", None, None, "http://airflow.internal:8080"),
    ],
)
def test_a_host_without_a_scheme_gets_https_except_on_loopback(
    host: str, port: int | None, schema: str | None, url: str
) -> None:
    assert _base_url(SimpleNamespace(host=host, port=port, schema=schema, conn_type="http")) == url
