"""The refresher against the emulator, with connections held in environment variables (EnvTokenStore)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from airflow_provider_instagram.account.record import fingerprint, format_time, parse_time
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.tokens.plan import plan_refresh
from airflow_provider_instagram.tokens.refresh import Outcome, TokenRefresher
from airflow_provider_instagram.tokens.store import StoredToken
from tests.unit.tokens.conftest import FAST, EnvTokenStore

DAY = 86_400


def refresh_calls(emulator_client: EmulatorClient) -> int:
    return sum(n for endpoint, n in emulator_client.calls().items() if "refresh" in endpoint)


def test_old_enough_tokens_are_refreshed_and_written_back(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    emulator_client.configure(refresh_rotates_token=True)
    conn_ids = seed_accounts()
    old = {c: store.conn(c)["password"] for c in conn_ids}
    emulator_client.advance_clock(2 * DAY)
    emulator_client.reset_calls()

    results = refresher.refresh_all(store.records())

    assert [r.outcome for r in results] == [Outcome.REFRESHED] * len(conn_ids)
    assert [r.instagram_calls for r in results] == [1] * len(conn_ids)
    assert emulator_client.calls() == {"refresh_access_token": len(conn_ids)}
    for conn_id, result in zip(conn_ids, results, strict=True):
        conn = store.conn(conn_id)
        assert conn["password"] != old[conn_id]
        assert parse_time(conn["extra"]["expires_at"]) == parse_time(result.expires_at)
        assert parse_time(result.expires_at) - clock() == pytest.approx(timedelta(days=60), abs=timedelta(seconds=5))
        assert conn["extra"]["status"] == "ok"
        assert conn["extra"]["fingerprint"] == fingerprint(conn["password"])
        assert conn["extra"]["client_secret"]  # other extras survive the merge


def test_a_second_run_the_same_day_changes_nothing(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    seed_accounts()
    emulator_client.advance_clock(2 * DAY)
    refresher.refresh_all(store.records())
    before = {c.conn_id: store.conn(c.conn_id) for c in store.records()}
    emulator_client.reset_calls()
    emulator_client.advance_clock(6 * 3_600)

    results = refresher.refresh_all(store.records())

    assert {r.outcome for r in results} == {Outcome.FRESH}
    assert emulator_client.calls() == {}
    assert {c: store.conn(c) for c in before} == before


def test_younger_tokens_of_unknown_age_are_refused_harmlessly(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    """Tokens pasted by hand (no refreshed_at) and younger than 24 h: Instagram refuses, nothing is marked."""
    seed_accounts()
    results = refresher.refresh_all(store.records())
    assert {r.outcome for r in results} == {Outcome.REFUSED}
    assert all("24 hours" in r.detail for r in results)
    assert store.writes == []


def test_refusal_as_190_is_told_apart_from_a_dead_token(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    """UNCONFIRMED: Instagram may refuse a young token with a 190; one /me call shows the token still works."""
    emulator_client.configure(young_refresh_error_code=190)
    seed_accounts()
    results = refresher.refresh_all(store.records())
    assert {r.outcome for r in results} == {Outcome.REFUSED}
    assert [r.instagram_calls for r in results] == [2, 2]
    assert store.writes == []


@pytest.mark.parametrize(
    ("reason", "words"),
    [("revoked", "access revoked"), ("password_changed", "password was changed"), ("expired", "expired")],
)
def test_rejected_tokens_are_marked_with_the_human_reason(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient, reason: str, words: str,
) -> None:  # fmt: skip
    seed_accounts()
    seed = emulator_client.seed()
    emulator_client.advance_clock(2 * DAY)
    emulator_client.invalidate(seed["accounts"][1]["id"], reason)
    token_before = store.conn("ig_1")["password"]

    results = {r.conn_id: r for r in refresher.refresh_all(store.records())}

    assert results["ig_0"].outcome is Outcome.REFRESHED  # isolation: the other account is unaffected
    bad = results["ig_1"]
    assert bad.outcome is Outcome.REAUTH_REQUIRED
    assert words in bad.detail and "new long-lived token into the connection's password field" in bad.detail
    conn = store.conn("ig_1")
    assert conn["password"] == token_before  # a rejected token is kept, never thrown away
    assert (conn["extra"]["status"], conn["extra"]["fingerprint"]) == ("reauth_required", fingerprint(token_before))
    assert words in conn["extra"]["status_reason"]


def test_marked_account_is_not_called_again_until_a_human_replaces_the_token(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    seed_accounts()
    seed = emulator_client.seed()
    emulator_client.advance_clock(2 * DAY)
    emulator_client.invalidate(seed["accounts"][1]["id"], "revoked")
    refresher.refresh_all(store.records())
    emulator_client.reset_calls()

    again = refresher.refresh(store.describe("ig_1"))
    assert (again.outcome, again.instagram_calls, emulator_client.calls()) == (Outcome.REAUTH_REQUIRED, 0, {})

    # The human reconnects: a new long-lived token through the real chain, pasted into the password field.
    code = emulator_client.issue_code(seed["accounts"][1]["id"])
    token = InstagramHook(instagram_conn_id="ig_1").get_long_lived_token(code).access_token
    conn = store.conn("ig_1")
    store.put("ig_1", **{**conn, "password": token})
    emulator_client.advance_clock(2 * DAY)
    result = refresher.refresh(store.describe("ig_1"))
    assert result.outcome is Outcome.REFRESHED
    assert store.conn("ig_1")["extra"]["status"] == "ok"
    assert "status_reason" not in store.conn("ig_1")["extra"]


def test_known_expiry_in_the_past_is_marked_without_calling_instagram(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient, clock: Callable[[], datetime],
) -> None:  # fmt: skip
    seed_accounts(ig_0={"expires_at": format_time(clock() - timedelta(hours=1))})
    emulator_client.reset_calls()
    result = refresher.refresh(store.describe("ig_0"))
    assert result.outcome is Outcome.REAUTH_REQUIRED and "expired on" in result.detail
    assert emulator_client.calls() == {}


def test_failed_write_back_keeps_the_old_token_working(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    emulator_client.configure(refresh_rotates_token=True)
    seed_accounts()
    old_token = store.conn("ig_0")["password"]
    emulator_client.advance_clock(2 * DAY)
    store.fail_writes = 1

    result = refresher.refresh(store.describe("ig_0"))

    assert result.outcome is Outcome.WRITE_FAILED
    assert "old token keeps working" in result.detail and "injected write failure" in result.detail
    assert store.conn("ig_0")["password"] == old_token
    assert _works(emulator_client, old_token)
    # the next run simply refreshes again and saves
    assert refresher.refresh(store.describe("ig_0")).outcome is Outcome.REFRESHED


def test_transient_errors_leave_the_account_untouched(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    seed_accounts()
    emulator_client.advance_clock(2 * DAY)
    failure = {"kind": "http_error", "status": 503}
    emulator_client.add_faults({"endpoint": "refresh_access_token", "probability": 1.0, "fault": failure})
    results = refresher.refresh_all(store.records())
    assert {r.outcome for r in results} == {Outcome.FAILED}
    assert all("next run tries again" in r.detail for r in results)
    assert store.writes == []


def test_missing_profile_fields_are_filled_once(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    seed_accounts(extra={"user_id": None, "username": None})
    seed = emulator_client.seed()
    emulator_client.advance_clock(2 * DAY)
    result = refresher.refresh(store.describe("ig_0"))
    assert (result.outcome, result.instagram_calls) == (Outcome.REFRESHED, 2)
    extra = store.conn("ig_0")["extra"]
    assert (extra["user_id"], extra["username"]) == (seed["accounts"][0]["user_id"], seed["accounts"][0]["username"])


def test_empty_password_needs_a_human(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
) -> None:  # fmt: skip
    seed_accounts()
    store.put("ig_0", **{**store.conn("ig_0"), "password": ""})
    result = refresher.refresh(store.describe("ig_0"))
    assert result.outcome is Outcome.REAUTH_REQUIRED and "no token" in result.detail


def test_an_account_revoked_by_meta_keeps_its_status_and_reason(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
) -> None:  # fmt: skip
    """The deauthorize callback cleared the token and said why: the refresh reports it, and rewrites nothing."""
    seed_accounts(ig_0={"status": "revoked", "status_reason": "the user removed the app on 2026-11-29T10:00:00+00:00"})
    store.put("ig_0", **{**store.conn("ig_0"), "password": ""})
    before = store.conn("ig_0")
    result = refresher.refresh(store.describe("ig_0"))
    assert result.outcome is Outcome.REAUTH_REQUIRED and result.status == "revoked"
    assert "the user removed the app on 2026-11-29" in result.detail
    assert store.conn("ig_0") == before


def test_no_token_in_results(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    seed_accounts()
    emulator_client.advance_clock(2 * DAY)
    emulator_client.invalidate(emulator_client.seed()["accounts"][1]["id"], "revoked")
    results = refresher.refresh_all(store.records())
    text = repr([r.to_dict() for r in results])
    for conn_id in ("ig_0", "ig_1"):
        assert store.conn(conn_id)["password"] not in text


def _works(emulator_client: EmulatorClient, token: str) -> bool:
    import requests

    return requests.get(f"{emulator_client.url}/me", params={"access_token": token}, timeout=10).status_code == 200


def _meanwhile(change: Callable[[], None]) -> Callable[[str, StoredToken], InstagramHook]:
    """A hook factory that lets something happen to the connection while its refresh is under way (after the
    refresh read it, before it writes back): what a human, or Meta's callback, may do at any moment."""

    def factory(conn_id: str, stored: StoredToken) -> InstagramHook:
        change()
        return InstagramHook(instagram_conn_id=conn_id, connection=stored.connection, connection_extra=stored.extra,
                             retry_policy=FAST, sleep=lambda _: None)  # fmt: skip

    return factory


def test_a_reconnect_during_the_refresh_is_not_overwritten(
    seed_accounts: Callable[..., list[str]], store: EnvTokenStore, emulator_client: EmulatorClient,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    emulator_client.configure(refresh_rotates_token=True)
    seed_accounts(ig_0={"connected_at": "2026-11-01T00:00:00+00:00"})
    emulator_client.advance_clock(2 * DAY)
    reconnected = {**store.conn("ig_0"), "password": "IGAA-the-humans-new-token"}
    reconnected["extra"] = {**reconnected["extra"], "connected_at": format_time(clock()), "username": "renamed",
                            "fingerprint": fingerprint("IGAA-the-humans-new-token")}  # fmt: skip

    refresher = TokenRefresher(store, clock=clock, hook_factory=_meanwhile(lambda: store.put("ig_0", **reconnected)))
    result = refresher.refresh(store.describe("ig_0"))

    assert result.outcome is Outcome.CHANGED and "connected again" in result.detail
    assert store.conn("ig_0") == {**reconnected, "conn_type": "instagram"}  # token, username, connected_at kept


def test_a_revocation_during_the_refresh_is_not_undone(
    seed_accounts: Callable[..., list[str]], store: EnvTokenStore, emulator_client: EmulatorClient,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    seed_accounts()
    emulator_client.advance_clock(2 * DAY)
    revoked = {**store.conn("ig_1"), "password": ""}
    revoked["extra"] = {**revoked["extra"], "status": "revoked", "status_reason": "the user removed the app"}

    refresher = TokenRefresher(store, clock=clock, hook_factory=_meanwhile(lambda: store.put("ig_1", **revoked)))
    result = refresher.refresh(store.describe("ig_1"))

    assert result.outcome is Outcome.CHANGED and "status became revoked" in result.detail
    assert store.conn("ig_1")["extra"]["status"] == "revoked" and not store.conn("ig_1")["password"]


@pytest.mark.parametrize(
    ("marked", "words"),
    [({}, "no token in its password field"),
     ({"status": "revoked", "status_reason": "the user removed the app on 2026-11-29 10:00 UTC"}, "removed the app")],
    ids=["password-was-empty", "revoked-by-meta"],
)  # fmt: skip
def test_a_token_put_in_after_an_account_was_marked_without_one_is_noticed(
    seed_accounts: Callable[..., list[str]], refresher: TokenRefresher, store: EnvTokenStore,
    emulator_client: EmulatorClient, marked: dict[str, str], words: str,
) -> None:  # fmt: skip
    """The README's recovery: put a new long-lived token into the password field. It used to stay
    reauth_required forever when the account had been marked with no token (no fingerprint to differ)."""
    seed_accounts(ig_0=marked)
    emulator_client.advance_clock(2 * DAY)
    store.put("ig_0", **{**store.conn("ig_0"), "password": ""})
    first = refresher.refresh(store.describe("ig_0"))
    assert first.outcome is Outcome.REAUTH_REQUIRED and words in first.detail
    assert "fingerprint" not in store.conn("ig_0")["extra"]

    seed = emulator_client.seed()
    code = emulator_client.issue_code(seed["accounts"][0]["id"])
    token = InstagramHook(instagram_conn_id="ig_0").get_long_lived_token(code).access_token
    store.put("ig_0", **{**store.conn("ig_0"), "password": token})  # what the UI's edit form does
    emulator_client.advance_clock(2 * DAY)

    result = refresher.refresh(store.describe("ig_0"))
    assert result.outcome is Outcome.REFRESHED
    extra = store.conn("ig_0")["extra"]
    assert extra["status"] == "ok" and "status_reason" not in extra


def test_app_connections_are_not_refreshed_as_accounts(
    seed_accounts: Callable[..., list[str]], store: EnvTokenStore, emulator_client: EmulatorClient
) -> None:
    """An app connection holds the app secret in its password: it is no token to refresh or mark."""
    seed = emulator_client.seed()
    store.put("ig_app", host=seed["graph_url"], login=seed["client_id"], password=seed["client_secret"],
              extra={"redirect_uri": seed["redirect_uri"]})  # fmt: skip
    seed_accounts(ig_0={"app_conn_id": "ig_app"})
    assert "ig_app" not in {r.conn_id for r in store.records()}


def test_a_connection_whose_extras_do_not_read_is_reported_and_the_others_go_on(
    seed_accounts: Callable[..., list[str]], store: EnvTokenStore
) -> None:
    seed_accounts()
    store.put("ig_broken", password="t", extra=["not", "an", "object"])
    plan = plan_refresh(store)
    (broken,) = [r for r in plan.settled if r.conn_id == "ig_broken"]
    assert broken.outcome is Outcome.FAILED and "its extra is a JSON list, not an object" in broken.detail
    assert sorted(s.conn_id for batch in plan.batches for s in batch) == ["ig_0", "ig_1"]
