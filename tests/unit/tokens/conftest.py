from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.account.writer import Change, ConnectionTransport, StoredRow
from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator
from airflow_provider_instagram.exceptions import TokenStoreError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy
from airflow_provider_instagram.tokens.refresh import TokenRefresher
from airflow_provider_instagram.tokens.store import TokenStore

FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, total_timeout=10, rate_limit_max_wait=1)
PREFIX = "AIRFLOW_CONN_"


class EnvTransport(ConnectionTransport):
    """Connections held in environment variables, as Airflow reads them: a second transport of the account
    writer, beside the REST API. ``fail_writes`` makes the next writes fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.fail_writes = 0
        self.writes: list[str] = []

    def raw(self, conn_id: str) -> dict[str, Any] | None:
        value = os.environ.get(PREFIX + conn_id.upper())
        return None if value is None else dict(json.loads(value))

    def put(self, conn_id: str, **conn: Any) -> None:
        self.monkeypatch.setenv(PREFIX + conn_id.upper(), json.dumps({"conn_type": "instagram", **conn}))

    def _row(self, conn_id: str) -> StoredRow | None:
        raw = self.raw(conn_id)
        if raw is None:
            return None
        return StoredRow(conn_id, raw.get("conn_type"), raw.get("extra"), bool(raw.get("password")))

    def rows(self, conn_ids: Sequence[str]) -> dict[str, StoredRow]:
        return {c: row for c in conn_ids if (row := self._row(c)) is not None}

    def instagram_rows(self) -> list[StoredRow]:
        found = []
        for key, value in sorted(os.environ.items()):
            if key.startswith(PREFIX) and value.startswith("{") and json.loads(value).get("conn_type") == "instagram":
                row = self._row(key.removeprefix(PREFIX).lower())
                assert row is not None
                found.append(row)
        return found

    def edit(self, conn_id: str, change: Change) -> bool | None:
        row = self._row(conn_id)
        write = change(row)
        if write is None:
            return None
        if self.fail_writes:
            self.fail_writes -= 1
            raise TokenStoreError(f"injected write failure for {conn_id!r}")
        raw = self.raw(conn_id) or {"conn_type": "instagram"}
        raw = {**raw, **{k: v for k, v in write.fields.items() if k != "password"}, "extra": dict(write.extras)}
        if "password" in write.fields:
            raw["password"] = write.fields["password"]
        self.monkeypatch.setenv(PREFIX + conn_id.upper(), json.dumps(raw))
        self.writes.append(conn_id)
        return row is None


class EnvTokenStore(TokenStore):
    """The refresh's store over :class:`EnvTransport`, with the helpers tests use to look at the connections."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env = EnvTransport(monkeypatch)
        super().__init__(self.env)

    @property
    def writes(self) -> list[str]:
        return self.env.writes

    @property
    def fail_writes(self) -> int:
        return self.env.fail_writes

    @fail_writes.setter
    def fail_writes(self, count: int) -> None:
        self.env.fail_writes = count

    def put(self, conn_id: str, **conn: Any) -> None:
        self.env.put(conn_id, **conn)

    def conn(self, conn_id: str) -> dict[str, Any]:
        raw = self.env.raw(conn_id)
        assert raw is not None, conn_id
        return raw

    def records(self) -> list[AccountRecord]:
        listing = self.list_accounts()
        assert not listing.unreadable, listing.unreadable
        return listing.records


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> EnvTokenStore:
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)
    return EnvTokenStore(monkeypatch)


@pytest.fixture
def clock(instagram_emulator: InstagramEmulator) -> Callable[[], datetime]:
    """The emulator's clock, so that moving it moves the refresher's idea of now as well."""
    return lambda: datetime.fromtimestamp(instagram_emulator.backend.now(), UTC)


@pytest.fixture
def seed_accounts(store: EnvTokenStore, emulator_client: EmulatorClient) -> Callable[..., list[str]]:
    """Put the emulator's seeded accounts into the store as ``ig_0``, ``ig_1``...; extras may be overridden."""

    def make(extra: dict[str, Any] | None = None, **per_account: dict[str, Any]) -> list[str]:
        seed = emulator_client.seed()
        conn_ids = []
        for i, account in enumerate(seed["accounts"]):
            conn_id = f"ig_{i}"
            conn_extra = {
                "client_secret": seed["client_secret"], "api": seed["api"], "oauth_url": seed["oauth_url"],
                "redirect_uri": seed["redirect_uri"],
                "user_id": account["user_id"], "professional_account_id": account["professional_account_id"],
                "username": account["username"],
                **(extra or {}), **per_account.get(conn_id, {}),
            }  # fmt: skip
            store.put(conn_id, host=seed["graph_url"], login=seed["client_id"], password=account["access_token"],
                      extra=conn_extra)  # fmt: skip
            conn_ids.append(conn_id)
        return conn_ids

    return make


@pytest.fixture
def refresher(store: EnvTokenStore, clock: Callable[[], datetime]) -> TokenRefresher:
    return TokenRefresher(
        store, clock=clock, hook_factory=lambda conn_id, stored: InstagramHook(
            instagram_conn_id=conn_id, connection=stored.connection, connection_extra=stored.extra,
            retry_policy=FAST, sleep=lambda _: None),
    )  # fmt: skip
