"""The account writer's REST transport and the refresh's store against a real Airflow API server (through a
fault-injecting proxy)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.account.writer import ChangedSinceRead, LifecycleWrite
from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.exceptions import TokenNotWritableError, TokenStoreError
from airflow_provider_instagram.local_airflow import LocalAirflow
from airflow_provider_instagram.tokens.store import AirflowApiTokenStore
from tests.conftest import API_PASSWORD, API_USER
from tests.support.connections import put_connection, stored_connections
from tests.support.faulty_proxy import FaultyProxy

TOKEN = "IGAA" + "n" * 150


@pytest.fixture
def client(api_proxy: FaultyProxy) -> AirflowApiClient:
    return AirflowApiClient(api_proxy.url, API_USER, API_PASSWORD, sleep=lambda _: None)


@pytest.fixture
def store(client: AirflowApiClient) -> AirflowApiTokenStore:
    return AirflowApiTokenStore(client=client)


@pytest.fixture
def make_conn(airflow_server: LocalAirflow) -> Iterator[Callable[..., str]]:
    made: list[str] = []

    def make(conn_id: str, conn_type: str = "instagram", password: str = "old-token", **extra: Any) -> str:
        put_connection(airflow_server, conn_id, conn_type, host="http://127.0.0.1:9", login="app", password=password,
                       extra=extra)  # fmt: skip
        made.append(conn_id)
        return conn_id

    yield make
    for conn_id in made:
        airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")


def stored(airflow_server: LocalAirflow, conn_id: str) -> dict[str, Any]:
    return stored_connections(airflow_server)[conn_id]


def save(store: AirflowApiTokenStore, record: AccountRecord, token: str | None) -> None:
    """One refresh write over a row nobody changed since it was read."""
    seen = store.describe(record.conn_id)
    (error,) = store.save_many([LifecycleWrite(record, token, seen)])
    if error is not None:
        raise error


def test_lists_every_instagram_connection_across_pages(
    store: AirflowApiTokenStore, client: AirflowApiClient, make_conn: Callable[..., str]
) -> None:
    for i in range(5):
        make_conn(f"st_ig_{i}", status="reauth_required", status_reason=f"reason {i}", username=f"user{i}")
    make_conn("st_http", conn_type="http")
    total = sum(1 for _ in client.iter_connections())
    before = client.calls
    listing = AirflowApiTokenStore(client=client).list_accounts()
    accounts = {s.conn_id: s for s in listing.records if s.conn_id.startswith("st_")}
    assert sorted(accounts) == [f"st_ig_{i}" for i in range(5)]
    assert accounts["st_ig_3"].status_reason == "reason 3" and accounts["st_ig_3"].username == "user3"
    assert client.calls - before == -(-total // 100)  # one listing call per page of 100
    small_pages = list(client.iter_connections(page_size=2))
    assert len(small_pages) == total


def test_rows_are_read_in_bulk_with_one_listing_call(store: AirflowApiTokenStore, client: AirflowApiClient,
                                                      make_conn: Callable[..., str]) -> None:  # fmt: skip
    for i in range(12):
        make_conn(f"st_many_{i}", username=f"user{i}")
    wanted = [f"st_many_{i}" for i in (1, 2, 10, 11)] + ["st_many_gone"]
    client.find_connection("st_many_0")  # logged in
    before = client.calls
    rows = store.transport.rows(wanted)
    assert sorted(rows) == sorted(wanted[:4])  # "st_many_1" also matches st_many_10/11: filtered to exact ids
    assert {r.record().username for r in rows.values()} == {"user1", "user2", "user10", "user11"}
    assert client.calls - before == 2  # one listing, one GET for the id the listing did not return (it is gone)


def test_save_merges_over_the_current_row_and_writes_the_token(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], airflow_server: LocalAirflow
) -> None:
    extra = {"client_secret": "app-secret", "app_conn_id": "ig_app", "status": "reauth_required",
             "status_reason": "old"}  # fmt: skip
    make_conn("st_save", **extra)
    record = AccountRecord("st_save", expires_at=datetime(2027, 1, 28, tzinfo=UTC),
                           refreshed_at=datetime(2026, 11, 29, tzinfo=UTC), status="ok", fingerprint="f00",
                           user_id="17", username="alice")  # fmt: skip
    save(store, record, TOKEN)
    row = stored(airflow_server, "st_save")
    assert row["password"] == TOKEN
    assert row["extra"]["client_secret"] == "app-secret" and row["extra"]["app_conn_id"] == "ig_app"
    assert (row["extra"]["status"], row["extra"]["username"], row["extra"]["expires_at"]) == (
        "ok", "alice", "2027-01-28T00:00:00+00:00",
    )  # fmt: skip
    assert "status_reason" not in row["extra"]
    assert store.describe("st_save") == AccountRecord.from_extras("st_save", row["extra"])

    save(store, record, None)  # lifecycle only: the token stays
    assert stored(airflow_server, "st_save")["password"] == TOKEN


def test_a_write_over_a_row_that_changed_since_it_was_read_is_skipped(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], airflow_server: LocalAirflow
) -> None:
    """A human reconnects the account while its refresh runs: the reconnect's token and fields stay."""
    make_conn("st_race", username="old_name", connected_at="2026-11-01T00:00:00+00:00", fingerprint="aaa")
    seen = store.describe("st_race")
    put_connection(
        airflow_server,
        "st_race",
        host="http://127.0.0.1:9",
        login="app",
        password="reconnected-token",
        extra={"username": "new_name", "connected_at": "2026-11-30T00:00:00+00:00", "fingerprint": "bbb"},
    )
    refreshed = AccountRecord("st_race", username="old_name", status="ok", fingerprint="ccc")
    (error,) = store.save_many([LifecycleWrite(refreshed, TOKEN, seen)])
    assert isinstance(error, ChangedSinceRead) and "connected again" in str(error)
    row = stored(airflow_server, "st_race")
    assert row["password"] == "reconnected-token"
    assert (row["extra"]["username"], row["extra"]["fingerprint"]) == ("new_name", "bbb")


def test_a_connection_outside_the_database_is_not_writable(store: AirflowApiTokenStore) -> None:
    with pytest.raises(TokenNotWritableError, match="environment variable or a secrets backend") as caught:
        store.describe("st_only_in_env")
    assert "auto_refresh" in str(caught.value) and "airflow connections add" in str(caught.value)
    absent = AccountRecord("st_only_in_env")
    (error,) = store.save_many([LifecycleWrite(absent, TOKEN, absent)])
    assert isinstance(error, ChangedSinceRead) and "deleted" in str(error)


def test_transient_failures_are_retried(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy, airflow_server: LocalAirflow
) -> None:
    make_conn("st_retry")
    api_proxy.fail("PATCH", "/connections", 503, times=2)
    save(store, AccountRecord("st_retry", status="ok", username="bob"), TOKEN)
    patches = [status for method, path, status in api_proxy.seen if method == "PATCH"]
    assert patches == [503, 503, 200]
    assert stored(airflow_server, "st_retry")["password"] == TOKEN


def test_persistent_failure_is_a_clear_error_without_the_token(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy, airflow_server: LocalAirflow
) -> None:
    make_conn("st_down")
    api_proxy.fail("PATCH", "/connections", 503)
    with pytest.raises(TokenStoreError, match="after 5 attempts") as caught:
        save(store, AccountRecord("st_down"), TOKEN)
    assert TOKEN not in str(caught.value)
    assert stored(airflow_server, "st_down")["password"] == "old-token"


def test_a_200_that_changed_nothing_is_not_believed(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy
) -> None:
    make_conn("st_noop")
    api_proxy.fail("PATCH", r"^/api/v2/connections$", 503)
    api_proxy.fail("PATCH", "/connections/st_noop", 200, times=1)
    with pytest.raises(TokenStoreError, match="did not apply it"):
        save(store, AccountRecord("st_noop", username="carol"), TOKEN)


def test_forbidden_names_the_permission_to_grant(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy
) -> None:
    make_conn("st_forbidden")
    api_proxy.fail("PATCH", "/connections", 403)
    with pytest.raises(TokenStoreError, match=r"may not edit connection .*role OP or ADMIN"):
        save(store, AccountRecord("st_forbidden"), TOKEN)


def test_wrong_credentials_and_unreachable_server(api_proxy: FaultyProxy) -> None:
    wrong = AirflowApiTokenStore(client=AirflowApiClient(api_proxy.url, API_USER, "wrong", sleep=lambda _: None))
    with pytest.raises(TokenStoreError, match="refused the login of connection 'airflow_api_default'"):
        wrong.list_accounts()
    down = AirflowApiTokenStore(client=AirflowApiClient("http://127.0.0.1:9", "u", "p", sleep=lambda _: None))
    with pytest.raises(TokenStoreError, match="Is the API server running"):
        down.list_accounts()


def test_missing_api_connection_says_how_to_create_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API_DEFAULT", raising=False)
    with pytest.raises(TokenStoreError, match="host = the API server URL"):
        AirflowApiClient.from_connection("airflow_api_missing")
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API_PARTIAL", json.dumps({"conn_type": "http", "host": "localhost"}))
    with pytest.raises(TokenStoreError, match=r"needs host .* login and password; it has host"):
        AirflowApiClient.from_connection("airflow_api_partial")


def test_save_many_writes_in_bulk_over_each_current_row(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy, airflow_server: LocalAirflow
) -> None:
    make_conn("st_bulk_a", keep="a")
    make_conn("st_bulk_b", keep="b")
    seen = {c: store.describe(c) for c in ("st_bulk_a", "st_bulk_b")}
    writes = [
        LifecycleWrite(AccountRecord("st_bulk_a", username="a"), TOKEN, seen["st_bulk_a"]),
        LifecycleWrite(AccountRecord("st_bulk_gone", username="x"), TOKEN, AccountRecord("st_bulk_gone")),
        LifecycleWrite(AccountRecord("st_bulk_b", username="b"), None, seen["st_bulk_b"]),
    ]
    errors = store.save_many(writes)
    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], ChangedSinceRead)
    rows = stored_connections(airflow_server)
    assert (rows["st_bulk_a"]["password"], rows["st_bulk_a"]["extra"]) == (TOKEN, {"keep": "a", "status": "ok",
                                                                                   "username": "a"})  # fmt: skip
    assert (rows["st_bulk_b"]["password"], rows["st_bulk_b"]["extra"]["username"]) == ("old-token", "b")
    patches = [p.split("?")[0] for m, p, _ in api_proxy.seen if m == "PATCH"]
    assert patches == ["/api/v2/connections"]  # one bulk call for the batch


def test_save_many_falls_back_to_single_writes_when_bulk_fails(
    store: AirflowApiTokenStore, make_conn: Callable[..., str], api_proxy: FaultyProxy, airflow_server: LocalAirflow
) -> None:
    make_conn("st_fallback")
    api_proxy.fail("PATCH", r"^/api/v2/connections$", 503)
    seen = store.describe("st_fallback")
    assert store.save_many([LifecycleWrite(AccountRecord("st_fallback", username="f"), TOKEN, seen)]) == [None]
    assert stored_connections(airflow_server)["st_fallback"]["password"] == TOKEN
    statuses = [s for m, p, s in api_proxy.seen if m == "PATCH"]
    assert statuses == [503] * 5 + [200]  # the bulk call's 5 attempts, then the account on its own
