from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator
from airflow_provider_instagram.exceptions import TokenNotWritableError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy
from airflow_provider_instagram.tokens.refresh import TokenRefresher
from airflow_provider_instagram.tokens.state import TokenState, merge_extra
from airflow_provider_instagram.tokens.store import TokenStore

FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, total_timeout=10, rate_limit_max_wait=1)
PREFIX = "AIRFLOW_CONN_"


class EnvTokenStore(TokenStore):
    """A second store (connections in environment variables, as Airflow reads them) that also proves the door
    for other stores is open. Reads go through the real task SDK; ``fail_writes`` makes the next saves fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.fail_writes = 0
        self.writes: list[str] = []

    def _raw(self, conn_id: str) -> dict[str, Any]:
        value = os.environ.get(PREFIX + conn_id.upper())
        if value is None:
            raise TokenNotWritableError(f"Connection {conn_id!r} is not in this store")
        return dict(json.loads(value))

    def put(self, conn_id: str, **conn: Any) -> None:
        self.monkeypatch.setenv(PREFIX + conn_id.upper(), json.dumps({"conn_type": "instagram", **conn}))

    def list_accounts(self) -> list[TokenState]:
        found = []
        for key, value in sorted(os.environ.items()):
            if key.startswith(PREFIX) and value.startswith("{") and json.loads(value).get("conn_type") == "instagram":
                conn_id = key.removeprefix(PREFIX).lower()
                found.append(TokenState.from_extra(conn_id, json.loads(value).get("extra")))
        return found

    def describe(self, conn_id: str) -> TokenState:
        return TokenState.from_extra(conn_id, self._raw(conn_id).get("extra"))

    def save(self, state: TokenState, *, token: str | None, extra: Mapping[str, Any]) -> None:
        from airflow_provider_instagram.exceptions import TokenStoreError

        if self.fail_writes:
            self.fail_writes -= 1
            raise TokenStoreError(f"injected write failure for {state.conn_id!r}")
        raw = self._raw(state.conn_id)
        raw["extra"] = merge_extra(extra, state)
        if token is not None:
            raw["password"] = token
        self.monkeypatch.setenv(PREFIX + state.conn_id.upper(), json.dumps(raw))
        self.writes.append(state.conn_id)

    def conn(self, conn_id: str) -> dict[str, Any]:
        return self._raw(conn_id)


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
                "user_id": account["user_id"], "username": account["username"],
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
