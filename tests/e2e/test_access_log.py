"""The API server's access log never shows the OAuth code that Instagram sends to the plugin's callback."""

from __future__ import annotations

import time
import uuid

import requests

from airflow_provider_instagram.local_airflow import LocalAirflow


def access_line(server: LocalAirflow, marker: str, timeout: float = 30.0) -> str:
    """The API server's access-log line holding ``marker`` (it is written once the answer has been sent)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in server.log_of("api-server").read_text().splitlines() if marker in line]
        if lines or time.monotonic() >= deadline:
            assert len(lines) == 1, f"{len(lines)} access-log lines hold {marker!r}"
            return lines[0]
        time.sleep(0.2)


def test_the_oauth_code_is_masked_in_the_api_servers_access_log(airflow_server: LocalAirflow) -> None:
    probe = uuid.uuid4().hex  # finds this request's line, whatever the session logged before
    query = {"code": f"SECRETCODE{probe}", "state": "signed-state", "probe": probe}
    answer = requests.get(f"{airflow_server.base_url}/instagram/oauth/callback", params=query, timeout=30)
    assert answer.status_code == 401  # no Airflow session: refused, and logged all the same
    line = access_line(airflow_server, f"probe={probe}")
    assert "path=/instagram/oauth/callback" in line
    assert "SECRETCODE" not in line and "signed-state" not in line
    assert "code=%2A%2A%2A" in line
