"""Fault injection per endpoint: in sequence, by chance, at start and at run time."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_instagram.emulator import InstagramEmulator
from tests.unit.emulator.conftest import Api


def test_a_sequence_hits_the_next_requests_in_order_then_stops(api: Api) -> None:
    api.control.add_faults({"endpoint": "me", "sequence": [
        {"kind": "http_error", "status": 503}, {"kind": "html", "status": 502},
        {"kind": "graph_error", "code": 1, "status": 500},
    ]})  # fmt: skip
    first, second, third = api.me(), api.me(), api.me()
    assert first.status_code == 503
    assert first.json()["error"]["code"] == 2
    assert first.json()["error"]["is_transient"] is True
    assert second.status_code == 502
    assert second.headers["content-type"].startswith("text/html")
    assert third.status_code == 500
    assert third.json()["error"]["code"] == 1
    assert api.me().status_code == 200


def test_faults_pick_their_endpoint_only(api: Api) -> None:
    api.control.add_faults({"endpoint": "media_edge", "sequence": [{"kind": "http_error", "status": 500}]})
    assert api.me().status_code == 200
    assert api.get("/me/media", api.token).status_code == 500
    assert api.get("/me/media", api.token).status_code == 200


def test_truncated_body_breaks_the_read(api: Api) -> None:
    api.control.add_faults({"endpoint": "media_edge", "sequence": [{"kind": "truncated"}]})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/me/media", api.token, fields="id,caption")
    assert api.get("/me/media", api.token).status_code == 200


def test_connection_reset(api: Api) -> None:
    api.control.add_faults({"endpoint": "node", "sequence": [{"kind": "reset"}]})
    with pytest.raises(requests.exceptions.ConnectionError, match="reset"):
        api.get(f"/{api.user_id}", api.token)
    assert api.get(f"/{api.user_id}", api.token).status_code == 200


def test_graph_error_fault_with_subcode(api: Api) -> None:
    api.control.add_faults(
        {
            "endpoint": "refresh_access_token",
            "sequence": [
                {
                    "kind": "graph_error",
                    "code": 190,
                    "subcode": 460,
                    "message": "Error validating access token: changed",
                }
            ],
        }
    )
    answer = api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token")
    assert answer.json()["error"]["error_subcode"] == 460
    assert "www-authenticate" in answer.headers


def test_latency_delays_at_least_the_given_time(api: Api) -> None:
    api.control.add_faults({"endpoint": "*", "probability": 1.0, "fault": {"kind": "latency", "ms": 150}, "times": 1})
    started = time.monotonic()
    assert api.me().status_code == 200
    assert time.monotonic() - started >= 0.15


def test_probability_and_times(api: Api) -> None:
    api.control.add_faults({"endpoint": "me", "probability": 0.5, "fault": {"kind": "http_error"}})
    statuses = [api.me().status_code for _ in range(200)]
    assert 40 < statuses.count(503) < 160
    api.control.clear_faults()
    api.control.add_faults({"endpoint": "me", "probability": 1.0, "fault": {"kind": "http_error"}, "times": 3})
    assert [api.me().status_code for _ in range(5)] == [503, 503, 503, 200, 200]


def test_bad_rules_are_refused_with_a_reason(api: Api) -> None:
    answer = api.http.post(f"{api.url}/_emulator/faults", json={"endpoint": "nope", "sequence": [{"kind": "reset"}]})
    assert answer.status_code == 400
    assert "unknown endpoint" in answer.json()["error"]
    answer = api.http.post(f"{api.url}/_emulator/faults", json={"sequence": [{"kind": "meteor"}]})
    assert answer.status_code == 400
    assert "unknown fault" in answer.json()["error"]


def test_faults_configured_at_start() -> None:
    rules = [{"endpoint": "me", "sequence": [{"kind": "http_error", "status": 500}]}]
    with InstagramEmulator(accounts=1, media=1, faults=rules) as emulator:
        token = emulator.accounts[0]["access_token"]
        assert requests.get(f"{emulator.url}/me", params={"access_token": token}, timeout=30).status_code == 500
        assert requests.get(f"{emulator.url}/me", params={"access_token": token}, timeout=30).status_code == 200


def test_calls_are_counted_per_endpoint(api: Api) -> None:
    api.control.reset_calls()
    api.me()
    api.get("/me/media", api.token)
    api.get("/v25.0/me/media", api.token)
    assert api.control.calls() == {"me": 1, "media_edge": 2}


def test_a_rule_can_pick_one_accounts_requests(api: Api) -> None:
    """One account's refresh failing while the others' work: a rule with "user" (an id or the username)."""
    first, second = api.seed["accounts"][:2]
    api.control.add_faults({"endpoint": "me", "user": second["username"], "sequence": [
        {"kind": "http_error", "status": 503}, {"kind": "http_error", "status": 503},
    ]})  # fmt: skip
    assert api.get("/me", first["access_token"]).status_code == 200
    assert api.get("/me", second["access_token"]).status_code == 503
    bearer = requests.get(f"{api.url}/me", headers={"Authorization": f"Bearer {second['access_token']}"}, timeout=10)
    assert bearer.status_code == 503  # the token in a header names the account too
    assert api.get("/me", first["access_token"]).status_code == 200
    assert api.get("/me", second["access_token"]).status_code == 200  # the sequence is spent
    with pytest.raises(Exception, match="user must be"):
        api.control.add_faults({"endpoint": "me", "user": 5, "sequence": [{"kind": "reset"}]})
