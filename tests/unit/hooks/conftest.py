from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy

FAST = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, total_timeout=30, rate_limit_max_wait=120)


class Sleeps(list[float]):
    """Records waits instead of sleeping (the hook's injected sleep)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(
    instagram_emulator: InstagramEmulator, emulator_client: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    sleeps: Sleeps,
) -> Callable[..., InstagramHook]:  # fmt: skip
    """Define ``instagram_default`` from the emulator's seed (env var, as Airflow reads it) and build a hook."""

    def make(account: int = 0, token: str | None = None, policy: RetryPolicy = FAST, **extra: Any) -> InstagramHook:
        seed = emulator_client.seed()
        conn_extra = {
            "client_secret": seed["client_secret"], "redirect_uri": seed["redirect_uri"], "api": seed["api"],
            "oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"], **extra,
        }  # fmt: skip
        password = token if token is not None else seed["accounts"][account]["access_token"]
        conn = {"conn_type": "instagram", "host": seed["graph_url"], "login": seed["client_id"],
                "password": password, "extra": conn_extra}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_DEFAULT", json.dumps(conn))
        return InstagramHook(retry_policy=policy, sleep=sleeps)

    return make
