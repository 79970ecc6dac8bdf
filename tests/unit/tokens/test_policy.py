"""The refresh decision, with the emulator's clock as "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from airflow_provider_instagram.account.record import AccountRecord, fingerprint
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.tokens.policy import Action, decide

TOKEN = "IGAA" + "t" * 150
HOUR = 3_600


@pytest.fixture
def now(clock: Callable[[], datetime], emulator_client: EmulatorClient) -> datetime:
    emulator_client.advance_clock(30 * 86_400)  # a month on: decisions follow the emulator's clock
    return clock()


def ok(now: datetime, refreshed_hours_ago: float | None, expires_in_days: float | None = 50) -> AccountRecord:
    return AccountRecord(
        "ig", refreshed_at=None if refreshed_hours_ago is None else now - timedelta(hours=refreshed_hours_ago),
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
        fingerprint=fingerprint(TOKEN),
    )  # fmt: skip


def test_decisions_follow_the_emulator_clock(clock: Callable[[], datetime], emulator_client: EmulatorClient) -> None:
    record = ok(clock(), refreshed_hours_ago=1)
    assert decide(record, clock(), TOKEN).action is Action.SKIP_FRESH
    emulator_client.advance_clock(24 * HOUR)
    assert decide(record, clock(), TOKEN).action is Action.REFRESH


@pytest.mark.parametrize(
    ("hours_ago", "action"),
    [(0, Action.SKIP_FRESH), (23.9, Action.SKIP_FRESH), (24, Action.REFRESH), (24 * 59, Action.REFRESH),
     (None, Action.REFRESH)],
)  # fmt: skip
def test_age_rule(now: datetime, hours_ago: float | None, action: Action) -> None:
    assert decide(ok(now, hours_ago), now, TOKEN).action is action


def test_the_cheap_decision_needs_no_token(now: datetime) -> None:
    assert decide(ok(now, 2), now).action is Action.SKIP_FRESH
    assert decide(ok(now, 30), now).action is Action.REFRESH  # "read the token and decide again"


@pytest.mark.parametrize("expires_in_days", [0, -0.01, -40])
def test_expired_tokens_are_marked_without_a_call(now: datetime, expires_in_days: float) -> None:
    decision = decide(ok(now, 24 * 61, expires_in_days), now, TOKEN)
    assert decision.action is Action.MARK_EXPIRED
    assert "expired on" in decision.reason


def test_a_token_just_before_expiry_is_refreshed(now: datetime) -> None:
    assert decide(ok(now, 24 * 59.9, 0.01), now, TOKEN).action is Action.REFRESH


@pytest.mark.parametrize("status", ["reauth_required", "revoked"])
def test_marked_accounts_wait_for_a_human(now: datetime, status: str) -> None:
    marked = AccountRecord("ig", status=status, status_reason="the token expired", fingerprint=fingerprint(TOKEN))  # type: ignore[arg-type]
    decision = decide(marked, now, TOKEN)
    assert (decision.action, decision.reason) == (Action.NEEDS_HUMAN, "the token expired")
    assert decide(marked, now).action is Action.REFRESH  # without the token: read it first


def test_a_replaced_token_starts_over(now: datetime) -> None:
    """A human pasted a new token into a marked connection: its age and expiry are unknown, so refresh it."""
    marked = AccountRecord(
        "ig", status="reauth_required", status_reason="revoked", fingerprint=fingerprint("the old token"),
        expires_at=now - timedelta(days=3), refreshed_at=now - timedelta(hours=1),
    )  # fmt: skip
    decision = decide(marked, now, TOKEN)
    assert decision.action is Action.REFRESH
    assert (decision.record.status, decision.record.expires_at, decision.record.refreshed_at) == ("ok", None, None)


def test_hand_made_connection_without_fingerprint_is_trusted(now: datetime) -> None:
    assert decide(AccountRecord("ig"), now, TOKEN).action is Action.REFRESH
