"""Connections (and Variables) in a real Airflow: created through the REST API, read back from the metadata
database."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_instagram.local_airflow import LocalAirflow


def put_connection(server: LocalAirflow, conn_id: str, conn_type: str = "instagram", **fields: Any) -> None:
    """Create (or re-create) a connection in the metadata database through the REST API."""
    server.request("DELETE", f"/api/v2/connections/{conn_id}")
    extra = fields.pop("extra", None)
    body = {"connection_id": conn_id, "conn_type": conn_type, **fields}
    if extra is not None:
        body["extra"] = json.dumps(extra)
    answer = server.request("POST", "/api/v2/connections", json=body)
    assert answer.status_code == 201, answer.text


def delete_connections(server: LocalAirflow, conn_type: str = "instagram") -> None:
    listed = server.request("GET", "/api/v2/connections", params={"limit": 1000}).json()["connections"]
    for conn in listed:
        if conn["conn_type"] == conn_type:
            server.request("DELETE", f"/api/v2/connections/{conn['connection_id']}")


def stored_connections(server: LocalAirflow) -> dict[str, dict[str, Any]]:
    """Every connection row as the metadata database holds it, secrets included (``airflow connections export``).

    ``extra`` is decoded to a dict.
    """
    out = server.cli("connections", "export", "-", "--file-format", "json").stdout
    rows: dict[str, dict[str, Any]] = json.loads(out[out.index("{") :])
    for row in rows.values():
        extra = row.get("extra")
        row["extra"] = json.loads(extra) if isinstance(extra, str) and extra else (extra or {})
    return rows


def connection_list_test_body(server: LocalAirflow, conn_id: str) -> dict[str, Any]:
    """What Airflow 3.3's connection list posts to ``/api/v2/connections/test`` when its Test button is clicked:
    the connection as listed, blanks for missing fields and ``Number(port)`` (0 when the port is null)."""
    listed = server.call("GET", f"/api/v2/connections/{conn_id}")
    return {
        "conn_type": listed["conn_type"], "connection_id": conn_id, "description": listed.get("description") or "",
        "extra": listed.get("extra") or "{}", "host": listed.get("host") or "", "login": listed.get("login") or "",
        "password": listed.get("password") or "", "port": int(listed.get("port") or 0),
        "schema": listed.get("schema") or "",
    }  # fmt: skip


def put_variable(server: LocalAirflow, key: str, value: str) -> None:
    """Create (or re-create) a Variable through the REST API."""
    delete_variable(server, key)
    server.call("POST", "/api/v2/variables", expected=(201,), json={"key": key, "value": value})


def delete_variable(server: LocalAirflow, key: str) -> None:
    server.request("DELETE", f"/api/v2/variables/{key}")
