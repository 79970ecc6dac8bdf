"""The REST client's base URL: https unless the API server is on this machine, or the connection says http."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_provider_instagram.airflow_api import _base_url, _verify_setting
from airflow_provider_instagram.exceptions import TokenStoreError


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
        ("[::1]:8080", None, None, "http://[::1]:8080"),
        ("::1", 8080, None, "http://[::1]:8080"),
        ("127.0.0.2", None, None, "http://127.0.0.2"),
        ("2001:db8::1", None, None, "https://[2001:db8::1]"),
    ],
)
def test_a_host_without_a_scheme_gets_https_except_on_loopback(
    host: str, port: int | None, schema: str | None, url: str
) -> None:
    assert _base_url(SimpleNamespace(host=host, port=port, schema=schema, conn_type="http")) == url


@pytest.mark.parametrize(("value", "verify"), [(None, True), ("false", False), ("0", False), (False, False),
                                               ("true", True)])  # fmt: skip
def test_verify_is_a_flag_or_a_ca_bundle(value: object, verify: bool) -> None:
    extra = {} if value is None else {"verify": value}
    assert _verify_setting(extra, "api") is verify


def test_a_verify_that_is_neither_a_flag_nor_a_file_names_the_fix(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----")
    assert _verify_setting({"verify": str(bundle)}, "api") == str(bundle)
    with pytest.raises(TokenStoreError, match="Connection 'api': extra 'verify' is 'ture'"):
        _verify_setting({"verify": "ture"}, "api")
