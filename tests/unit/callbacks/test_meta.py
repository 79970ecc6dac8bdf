"""Which app signed a callback, which of its accounts it names, when it is a replay, and what a stranger's
request may cost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.emulator.signing import make_signed_request
from airflow_provider_instagram.exceptions import (
    BadSignatureError,
    MalformedSignedRequestError,
    StaleSignedRequestError,
)
from airflow_provider_instagram.plugin.meta import MAX_AGE_SECONDS, Account, AppSecrets, VerifiedRequest, accounts

NOW = 1_800_000_000.0
APPS = {"app_a": "secret-a", "app_b": "secret-b", "instagram_app": "secret-default"}


def _row(conn_id: str, **extra: Any) -> StoredRow:
    return StoredRow(conn_id, "instagram", json.dumps(extra), has_password=True)


ROWS = [
    _row("a_alice", app_conn_id="app_a", user_id="900", professional_account_id="17841"),
    _row("b_alice", app_conn_id="app_b", user_id="901", professional_account_id="17841"),
    _row("own_secret", client_secret="secret-own", user_id="555"),
    _row("missing_app", app_conn_id="gone", user_id="902"),
    _row("legacy", app_conn_id="app_a", user_id="17842", app_user_id="903"),
]


def _every() -> list[Account]:
    return accounts(ROWS, APPS.get)


def _signed(secret: str, user_id: Any = "900", issued_at: Any = NOW - 60, **more: Any) -> str:
    payload = {"algorithm": "HMAC-SHA256", "issued_at": issued_at, "user_id": user_id, **more}
    return make_signed_request({k: v for k, v in payload.items() if v is not None}, secret)


class Loads:
    """The secrets loader, counting how often a request made the server read connections."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets, self.count = secrets, 0

    def __call__(self) -> list[str]:
        self.count += 1
        return list(self.secrets)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _verify(secrets: AppSecrets, signed: str) -> VerifiedRequest:
    payload, secret = secrets.verify(signed, now=NOW)
    return VerifiedRequest.of(payload, secret, _every())


def test_each_account_carries_its_apps_secret() -> None:
    found = {a.conn_id: a.secret for a in _every()}
    assert found == {"a_alice": "secret-a", "b_alice": "secret-b", "own_secret": "secret-own", "missing_app": None,
                     "legacy": "secret-a"}  # fmt: skip


def test_a_request_acts_only_on_the_accounts_of_the_app_that_signed_it() -> None:
    secrets = AppSecrets(Loads(["secret-a", "secret-b", "secret-own"]))
    assert [a.conn_id for a in _verify(secrets, _signed("secret-a", "900")).named()] == ["a_alice"]
    assert [a.conn_id for a in _verify(secrets, _signed("secret-b", "901")).named()] == ["b_alice"]
    # the professional id is not the id Meta names: it matches nothing
    assert _verify(secrets, _signed("secret-a", "17841")).named() == []
    # a connection onboarded before the ids were unified is matched by its app-scoped id
    assert [a.conn_id for a in _verify(secrets, _signed("secret-a", "903")).named()] == ["legacy"]


def test_app_a_cannot_start_the_deletion_of_a_user_only_app_b_holds() -> None:
    secrets = AppSecrets(Loads(["secret-a", "secret-b"]))
    assert _verify(secrets, _signed("secret-a", "901")).deletion_user_ids() == []
    assert _verify(secrets, _signed("secret-b", "901")).deletion_user_ids() == ["901"]
    # an id no account holds any more (its connection was deleted) can still be deleted by an app of ours
    assert _verify(secrets, _signed("secret-a", "777")).deletion_user_ids() == ["777"]


@pytest.mark.parametrize(
    ("issued_at", "error"),
    [(None, MalformedSignedRequestError), ("1800000000", MalformedSignedRequestError),
     (True, MalformedSignedRequestError), (NOW - MAX_AGE_SECONDS - 1, StaleSignedRequestError),
     (NOW + 3600, StaleSignedRequestError)],
)  # fmt: skip
def test_a_request_without_a_numeric_recent_issued_at_is_refused(issued_at: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        AppSecrets(Loads(["secret-a"])).verify(_signed("secret-a", issued_at=issued_at), now=NOW)


@pytest.mark.parametrize("user_id", [None, "", "../900", 900.5, ["900"]])
def test_a_request_must_name_one_plain_user_id(user_id: Any) -> None:
    with pytest.raises(MalformedSignedRequestError, match="user id"):
        AppSecrets(Loads(["secret-a"])).verify(_signed("secret-a", user_id=user_id), now=NOW)


def test_strangers_never_make_the_server_read_connections_per_request() -> None:
    clock, loads = Clock(), Loads(["secret-a"])
    secrets = AppSecrets(loads, ttl_seconds=300, retry_seconds=30, clock=clock)
    for _ in range(100):
        with pytest.raises(BadSignatureError):
            secrets.verify(_signed("not-our-secret"), now=NOW)
    assert loads.count == 1  # the first load; the reload a miss asks for is not due within 30 s
    clock.now = 31
    with pytest.raises(BadSignatureError):
        secrets.verify(_signed("not-our-secret"), now=NOW)
    assert loads.count == 2


def test_a_new_app_is_picked_up_on_a_miss() -> None:
    clock, loads = Clock(), Loads(["secret-a"])
    secrets = AppSecrets(loads, ttl_seconds=300, retry_seconds=30, clock=clock)
    secrets.verify(_signed("secret-a"), now=NOW)
    loads.secrets.append("secret-new")
    clock.now = 40
    assert secrets.verify(_signed("secret-new"), now=NOW)[1] == "secret-new"
    assert loads.count == 2


def test_an_account_connected_again_after_the_request_is_left_alone() -> None:
    rows = [_row("a_alice", app_conn_id="app_a", user_id="900", connected_at="2099-01-01T00:00:00+00:00"),
            _row("a_bob", app_conn_id="app_a", user_id="900", connected_at="2020-01-01T00:00:00+00:00")]  # fmt: skip
    payload, secret = AppSecrets(Loads(["secret-a"])).verify(_signed("secret-a", "900"), now=NOW)
    request = VerifiedRequest.of(payload, secret, accounts(rows, APPS.get))
    assert [request.reconnected_since(a) for a in request.named()] == [True, False]
    assert [a.conn_id for a in request.current()] == ["a_bob"]
    assert request.deletion_user_ids() == []  # the user came back since: a replay deletes nothing
