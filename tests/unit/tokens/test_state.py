from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_instagram.tokens.state import (
    LIFECYCLE_KEYS,
    REFRESH_ENABLED,
    TokenState,
    fingerprint,
    merge_extra,
    parse_time,
)


def test_round_trip_through_extras() -> None:
    state = TokenState(
        "ig", expires_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), refreshed_at=datetime(2026, 11, 3, tzinfo=UTC),
        status="reauth_required", status_reason="the token expired", fingerprint="abc", user_id="17", username="u",
    )  # fmt: skip
    assert TokenState.from_extra("ig", state.to_extra()) == state
    assert state.to_extra()["expires_at"] == "2027-01-02T03:04:05+00:00"


def test_merge_keeps_other_extras_and_drops_cleared_keys() -> None:
    extra = {"client_secret": "s3cr3t", "app_conn_id": "app", "status_reason": "old", "status": "reauth_required"}
    merged = merge_extra(extra, TokenState("ig", status="ok", user_id="17"))
    assert merged == {"client_secret": "s3cr3t", "app_conn_id": "app", "status": "ok", "user_id": "17"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-29T10:00:00+00:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
        ("2026-11-29T10:00:00Z", datetime(2026, 11, 29, 10, tzinfo=UTC)),
        ("2026-11-29T11:00:00+01:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
        ("2026-11-29T10:00:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
        (1_795_946_400, datetime(2026, 11, 29, 10, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(("value", "enabled"), [(None, True), (True, True), (False, False), ("false", False),
                                                ("No", False), ("0", False), ("yes", True)])  # fmt: skip
def test_opt_out_extra(value: object, enabled: bool) -> None:
    extra = {} if value is None else {REFRESH_ENABLED: value}
    assert TokenState.from_extra("ig", extra).refresh_enabled is enabled


def test_unknown_status_is_treated_as_needing_a_human() -> None:
    assert TokenState.from_extra("ig", {"status": "weird"}).status == "reauth_required"


def test_fingerprint_is_short_stable_and_not_the_token() -> None:
    token = "IGAA" + "x" * 150
    assert fingerprint(token) == fingerprint(token) != fingerprint(token + "y")
    assert len(fingerprint(token)) == 16
    assert "IGAA" not in fingerprint(token)


def test_lifecycle_keys_are_not_masked_by_airflow() -> None:
    """Airflow hides extras whose key contains a sensitive word ("token"...): ours must stay readable."""
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key("token_status")  # the check itself works
    assert [k for k in (*LIFECYCLE_KEYS, REFRESH_ENABLED) if should_hide_value_for_key(k)] == []
