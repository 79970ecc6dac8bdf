"""Media reads, paging, retries, rate limits and secrecy, against the emulator over HTTP."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import (
    InstagramAuthError,
    InstagramRateLimitError,
    InstagramRequestError,
    InstagramTransientError,
)
from tests.support.instagram import Sleeps


@pytest.mark.parametrize("api", ["instagram_login", "basic_display"])
def test_iter_media_reads_everything_with_children_in_minimal_calls(connect, emulator_client, api: str) -> None:
    emulator_client.reset(api=api, accounts=1, media=250)
    hook = connect()
    emulator_client.reset_calls()
    items = list(hook.iter_media())
    assert len(items) == 250 and len({m["id"] for m in items}) == 250
    albums = [m for m in items if m["media_type"] == "CAROUSEL_ALBUM"]
    assert albums and all(2 <= len(m["children"]["data"]) <= 10 for m in albums)
    assert sum(emulator_client.calls().values()) == math.ceil(250 / 100) == hook.api_calls


def test_iter_media_is_lazy(connect, emulator_client: EmulatorClient) -> None:
    emulator_client.reset(accounts=1, media=300)
    hook = connect()
    first = next(iter(hook.iter_media(page_size=50)))
    assert first["id"] and hook.api_calls == 1
    assert sum(len(p) for p in hook.iter_media_pages(page_size=50, max_pages=2)) == 100


def test_time_window_is_half_open(connect, emulator_client: EmulatorClient) -> None:
    emulator_client.reset(accounts=1, media=200, anchor=1_767_225_600, span_days=20)
    hook = connect()
    everything = list(hook.iter_media(fields=["id", "timestamp"]))
    since, until = datetime(2025, 12, 20, tzinfo=UTC), datetime(2025, 12, 25, tzinfo=UTC)
    window = list(hook.iter_media(fields=["id", "timestamp"], since=since, until=until))
    expected = [m for m in everything if "2025-12-20T00:00:00+0000" <= m["timestamp"] < "2025-12-25T00:00:00+0000"]
    assert [m["id"] for m in window] == [m["id"] for m in expected] and window


def test_profile_media_children_and_fresh_urls(connect, emulator_client: EmulatorClient) -> None:
    hook = connect()
    profile = hook.get_profile()
    assert profile["media_count"] == 30 and "followers_count" in profile
    album = next(m for m in hook.iter_media() if m["media_type"] == "CAROUSEL_ALBUM")
    # the same children: their signed URLs carry an expiry counted from the second they were read, so the two reads
    # are compared without the signature (a read on each side of a second's tick signs differently)
    assert _unsigned(hook.get_media(album["id"])["children"]) == _unsigned(album["children"])
    assert [c["id"] for c in hook.get_children(album["id"])] == [c["id"] for c in album["children"]["data"]]
    emulator_client.advance_clock(4 * 86400)
    fresh = hook.refresh_media_urls(album["id"])
    assert fresh["media_url"] != album["media_url"]
    assert hook.session.get(fresh["media_url"], timeout=30).status_code == 200
    assert hook.session.get(album["media_url"], timeout=30).status_code == 403


def test_dataframe_is_typed_with_children_as_rows(connect) -> None:
    frame = connect().get_media_dataframe()
    children = frame[frame["parent_id"].notna()]
    assert len(frame) > 30 and len(children) == len(frame) - 30
    assert str(frame["timestamp"].dtype) == "timestamp[us, tz=UTC][pyarrow]"
    assert str(frame["like_count"].dtype) == "int64[pyarrow]"
    assert children["position"].min() == 0


def test_test_connection(connect, emulator_client: EmulatorClient) -> None:
    ok, message = connect().test_connection()
    username = emulator_client.seed()["accounts"][0]["username"]
    assert ok
    assert message in (f"Connected to Instagram as @{username} ({kind})" for kind in ("Business", "Media_Creator"))
    ok, message = connect(token="IGAAgarbage").test_connection()
    assert not ok and "Invalid OAuth access token" in message and "IGAAgarbage" not in message


@pytest.mark.parametrize(
    "fault",
    [{"kind": "http_error", "status": 503}, {"kind": "html", "status": 502}, {"kind": "truncated"},
     {"kind": "reset"}, {"kind": "graph_error", "code": 2, "status": 500}, {"kind": "graph_error", "code": 1}],
    ids=["5xx", "html", "truncated", "reset", "code-2", "code-1"],
)  # fmt: skip
def test_transient_faults_are_retried(connect, emulator_client, sleeps: Sleeps, fault: dict) -> None:
    emulator_client.reset(accounts=1, media=250)
    hook = connect()
    emulator_client.add_faults({"endpoint": "media_edge", "sequence": [fault, fault]})
    assert len(list(hook.iter_media())) == 250
    assert len(sleeps) == 2 and all(0 < s <= 0.05 for s in sleeps)


def test_latency_fault_is_just_slow(connect, emulator_client, sleeps: Sleeps) -> None:
    emulator_client.add_faults({"endpoint": "*", "probability": 1.0, "fault": {"kind": "latency", "ms": 20}})
    assert len(list(connect().iter_media())) == 30 and not sleeps


def test_transient_error_after_retries_run_out(connect, emulator_client, sleeps: Sleeps) -> None:
    emulator_client.add_faults({"endpoint": "me", "probability": 1.0, "fault": {"kind": "http_error", "status": 500}})
    with pytest.raises(InstagramTransientError, match=r"on GET /v25.0/me") as info:
        connect().get_profile()
    assert info.value.status == 500 and info.value.code == 2 and len(sleeps) == 3


def test_request_errors_are_not_retried(connect, sleeps: Sleeps) -> None:
    with pytest.raises(InstagramRequestError) as info:
        connect().get_profile(["id", "nonsense"])
    assert info.value.code == 100 and not sleeps


def test_auth_errors_are_not_retried_and_carry_the_reason(connect, emulator_client, sleeps: Sleeps) -> None:
    hook = connect()
    emulator_client.invalidate(emulator_client.seed()["accounts"][0]["id"], "password_changed")
    with pytest.raises(InstagramAuthError) as info:
        hook.get_profile()
    assert info.value.reason == "the password was changed or Meta invalidated the session" and not sleeps


def test_token_expiring_mid_iteration(connect, emulator_client: EmulatorClient) -> None:
    emulator_client.reset(accounts=1, media=300)
    pages = connect().iter_media_pages()
    assert len(next(pages)) == 100
    emulator_client.advance_clock(61 * 86400)
    with pytest.raises(InstagramAuthError, match="Session has expired") as info:
        next(pages)
    assert info.value.reason == "the token expired"


def test_rate_limit_waits_as_told_within_the_cap(connect, emulator_client, sleeps: Sleeps) -> None:
    emulator_client.configure(rate_limit_budget=2, rate_limit_window=60)
    hook = connect()
    hook.get_profile()
    hook.get_profile()
    with pytest.raises(InstagramRateLimitError) as info:
        hook.get_profile()  # waits 60 s (recorded, not slept) then is still throttled: the clock did not move
    assert info.value.retry_after == 60 and info.value.code == 80002
    assert 60 in sleeps


def test_rate_limit_beyond_the_cap_raises_at_once(connect, emulator_client, sleeps: Sleeps) -> None:
    emulator_client.configure(rate_limit_budget=1)  # a 24 h window: 1440 minutes to wait
    hook = connect()
    hook.get_profile()
    with pytest.raises(InstagramRateLimitError) as info:
        hook.get_profile()
    assert info.value.retry_after == 1440 * 60 and 1440 * 60 not in sleeps


def test_slows_down_near_the_budget(connect, emulator_client, sleeps: Sleeps) -> None:
    emulator_client.configure(rate_limit_budget=20)
    hook = connect()
    for _ in range(19):
        hook.get_profile()
    assert hook.transport.usage_percent == 95
    assert sleeps and max(sleeps) <= 0.05 + 6


def test_user_agent_names_the_provider(connect) -> None:
    assert connect().session.headers["User-Agent"].startswith("airflow-provider-instagram/")


def test_no_token_in_any_log_line_of_a_full_run(connect, emulator_client, caplog, sleeps: Sleeps) -> None:
    seed = emulator_client.reset(accounts=1, media=250)
    token = seed["accounts"][0]["access_token"]
    caplog.set_level(logging.DEBUG)
    hook = connect()
    emulator_client.add_faults({"endpoint": "media_edge", "sequence": [{"kind": "reset"}, {"kind": "truncated"}]})
    list(hook.iter_media())
    hook.get_profile()
    emulator_client.advance_clock(2 * 86400)
    hook.refresh_long_lived_token()
    emulator_client.invalidate(seed["accounts"][0]["id"], "revoked")
    with pytest.raises(InstagramAuthError) as info:
        hook.get_profile()
    assert "Retry 1/3" in caplog.text
    text = caplog.text + str(info.value) + repr(info.value)
    assert token not in text and token[:20] not in text


def _unsigned(children: dict[str, Any]) -> list[dict[str, Any]]:
    """Children with their URLs cut at the query string (the CDN signature and its expiry)."""
    return [{k: str(v).split("?")[0] if k.endswith("_url") else v for k, v in child.items()}
            for child in children["data"]]  # fmt: skip


def test_the_environments_proxy_and_ca_bundle_are_read_once_for_the_session(
    connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests would scan the whole environment on every call (trust_env); the hook reads it once instead."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corporate.pem")
    session = connect().session
    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.example.com:3128"
    assert session.verify == "/etc/ssl/certs/corporate.pem"
