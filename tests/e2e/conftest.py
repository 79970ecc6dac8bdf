"""Fixtures of the onboarding tests: the Instagram app registered in a real Airflow and at the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.support.connections import put_connection

APP_CONN, CONN, OTHER = "web_ig_app", "web_acme", "web_other_account"


@pytest.fixture
def instagram_app(airflow_server: LocalAirflow, emulator_client: EmulatorClient) -> Iterator[dict[str, Any]]:
    """The Instagram app as a connection in the metadata DB; the plugin's callback registered at the emulator."""
    callback = f"{airflow_server.base_url}/instagram/oauth/callback"
    emulator_client.reset(redirect_uris=[callback])
    seed = emulator_client.seed()
    put_connection(airflow_server, APP_CONN, "instagram_app", host=seed["graph_url"], login=seed["client_id"],
                   password=seed["client_secret"], extra={"oauth_url": seed["oauth_url"],
                   "authorize_url": seed["authorize_url"], "api_version": seed["api_version"]})  # fmt: skip
    for conn_id in (CONN, OTHER):
        airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")
    from airflow.sdk import Connection

    app_connection = Connection(conn_id=APP_CONN, conn_type="instagram_app", host=seed["graph_url"],
                                extra=json.dumps({"api_version": seed["api_version"]}))  # fmt: skip
    yield {**seed, "callback": callback, "app_connection": app_connection}
    for conn_id in (CONN, OTHER, APP_CONN):
        airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")
