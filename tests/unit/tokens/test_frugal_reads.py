"""The refresh handles hundreds of accounts per task: it reads, parses and masks each account's secrets once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_instagram import masking
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.tokens.refresh import Outcome, TokenRefresher
from tests.unit.tokens.conftest import EnvTokenStore

DAY = 86_400


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every value handed to the task SDK's ``mask_secret``, counted (the SDK still masks it)."""
    import airflow.sdk.execution_time.context
    import airflow.sdk.log

    seen: Counter[str] = Counter()
    real = airflow.sdk.log.mask_secret

    def counting(secret: Any, name: str | None = None) -> None:
        seen[str(secret)] += 1
        real(secret, name)

    monkeypatch.setattr(airflow.sdk.log, "mask_secret", counting)
    monkeypatch.setattr(airflow.sdk.execution_time.context, "mask_secret", counting)  # how the SDK reads masks
    monkeypatch.setattr(masking, "_MASKED", set())
    return seen


def test_no_extra_is_parsed_through_the_sdk_and_each_secret_is_masked_once(
    seed_accounts: Callable[..., list[str]], store: EnvTokenStore, emulator_client: EmulatorClient,
    clock: Callable[[], datetime], masked: Counter[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from airflow.sdk.definitions.connection import Connection

    parses: Counter[str] = Counter()
    real = Connection.extra_dejson

    def counting(self: Connection) -> dict[str, Any]:
        if "airflow_provider_instagram" in sys._getframe(1).f_code.co_filename:  # the SDK's own reads aside
            parses[self.conn_id] += 1
        return real.fget(self)  # type: ignore[no-any-return,attr-defined]

    monkeypatch.setattr(Connection, "extra_dejson", property(counting))
    emulator_client.configure(refresh_rotates_token=True)
    conn_ids = seed_accounts()
    old = {c: store.conn(c)["password"] for c in conn_ids}
    emulator_client.advance_clock(2 * DAY)

    results = TokenRefresher(store, clock=clock).refresh_all(store.records())  # the default hook factory

    assert [r.outcome for r in results] == [Outcome.REFRESHED] * len(conn_ids)
    assert not parses  # every extra_dejson is one more masking round trip to the supervisor
    for conn_id in conn_ids:
        new = store.conn(conn_id)["password"]
        assert masked[old[conn_id]] == 1  # by the SDK while reading; the hook did not ask again
        assert masked[new] == 1  # the new token, as soon as Instagram issued it


def test_mask_asks_the_sdk_once_per_value(masked: Counter[str]) -> None:
    for _ in range(3):
        masking.mask("s3cr3t-value")
    masking.mark_masked("already-done")
    masking.mask("already-done")
    masking.mask(None)

    assert masked == {"s3cr3t-value": 1}


def test_the_token_refresh_dag_does_not_import_pyarrow() -> None:
    # Every mapped refresh task imports the DAG file; pyarrow costs about half a CPU-second per task.
    code = "import sys, airflow_provider_instagram.tokens.dag; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
