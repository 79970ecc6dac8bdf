"""``airflow-instagram emulator``: binds loopback, prints one JSON line, serves until stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests


@pytest.fixture
def cli_emulator() -> Iterator[dict]:
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--port", "0",
               "--accounts", "3", "--media", "7", "--seed", "5", "--api", "basic_display"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server is ready and has printed its line
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_prints_urls_credentials_and_tokens_as_one_json_line(cli_emulator: dict) -> None:
    assert cli_emulator["base_url"].startswith("http://127.0.0.1:")
    assert cli_emulator["api"] == "basic_display"
    assert cli_emulator["client_id"]
    assert cli_emulator["client_secret"]
    assert [a["media"] for a in cli_emulator["accounts"]] == [7, 7, 7]
    token = cli_emulator["accounts"][0]["access_token"]
    assert token.startswith("IGQVJ")
    answer = requests.get(f"{cli_emulator['graph_url']}/me", params={"access_token": token, "fields": "id,media_count"})
    assert answer.json() == {"id": cli_emulator["accounts"][0]["id"], "media_count": 7}


def test_bad_option_exits_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--faults", '[{"endpoint": "x"}]'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown endpoint" in result.stderr
