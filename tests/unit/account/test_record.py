"""An account's record in its connection's extras: round trips, the legacy ids, types, fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_instagram.account.extras import ACCOUNT_KEYS, AUTO_REFRESH
from airflow_provider_instagram.account.record import AccountRecord, fingerprint, parse_time
from airflow_provider_instagram.exceptions import InstagramConfigError


def test_round_trip_through_extras() -> None:
    record = AccountRecord(
        "ig", user_id="900", professional_account_id="17841", username="u",
        expires_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), refreshed_at=datetime(2026, 11, 3, tzinfo=UTC),
        connected_at=datetime(2026, 11, 1, tzinfo=UTC), status="reauth_required", status_reason="the token expired",
        fingerprint="abc", deletion_requested_at=datetime(2026, 11, 4, tzinfo=UTC),
    )  # fmt: skip
    assert AccountRecord.from_extras("ig", record.to_extras()) == record
    assert record.to_extras()["expires_at"] == "2027-01-02T03:04:05+00:00"


def test_merge_keeps_other_extras_and_drops_cleared_and_legacy_keys() -> None:
    extra = {"client_secret": "s3cr3t", "app_conn_id": "app", "status_reason": "old", "status": "reauth_required",
             "app_user_id": "900"}  # fmt: skip
    merged = AccountRecord("ig", status="ok", user_id="900").merged_into(extra)
    assert merged == {"client_secret": "s3cr3t", "app_conn_id": "app", "status": "ok", "user_id": "900"}


def test_connections_onboarded_before_the_ids_were_unified_read_in_todays_terms() -> None:
    """Onboarding used to store the professional id as user_id and /me's id as app_user_id."""
    old = AccountRecord.from_extras("ig", {"user_id": "17841", "app_user_id": "900", "username": "u"})
    assert (old.user_id, old.professional_account_id) == ("900", "17841")
    assert old.ids_confirmed()
    rewritten = AccountRecord.from_extras("ig", old.merged_into({"user_id": "17841", "app_user_id": "900"}))
    assert rewritten == old


def test_a_user_id_alone_is_confirmed_only_for_basic_display() -> None:
    """A refresh before the ids were unified recorded the professional id as user_id: not to be trusted."""
    record = AccountRecord.from_extras("ig", {"user_id": "17841"})
    assert not record.ids_confirmed("instagram_login")
    assert record.ids_confirmed("basic_display")


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
    extra = {} if value is None else {AUTO_REFRESH: value}
    assert AccountRecord.from_extras("ig", extra).refresh_enabled is enabled


def test_unknown_status_is_treated_as_needing_a_human() -> None:
    record = AccountRecord.from_extras("ig", {"status": "weird"})
    assert record.status == "reauth_required" and "weird" in str(record.status_reason)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"expires_at": "next tuesday"}, "expires_at"),
        ({"connected_at": ["2026-01-01"]}, "connected_at"),
        ({"status": {"ok": True}}, "status"),
        ({"user_id": "1/../../x"}, "user_id"),
        ({"professional_account_id": True}, "professional_account_id"),
        ({"auto_refresh": "maybe"}, "auto_refresh"),
        ({"username": ["a", "b"]}, "username"),
    ],
)
def test_wrong_types_name_the_connection_and_the_field(extra: dict[str, object], field: str) -> None:
    with pytest.raises(InstagramConfigError, match=rf"Connection 'ig_shop'.*extra '{field}'"):
        AccountRecord.from_extras("ig_shop", extra)


def test_a_record_that_is_not_ok_and_has_no_fingerprint_describes_no_token() -> None:
    """Marked because the password was empty, or revoked by Meta: any token found later is a new one."""
    assert AccountRecord("ig").describes("IGAA-pasted-by-hand")  # ok and unknown: a hand-made connection
    assert not AccountRecord("ig", status="reauth_required").describes("IGAA-pasted-by-hand")
    assert not AccountRecord("ig", status="revoked").describes("IGAA-pasted-by-hand")
    assert AccountRecord("ig", status="revoked", fingerprint=fingerprint("t")).describes("t")


def test_fingerprint_is_short_stable_and_not_the_token() -> None:
    token = "IGAA" + "x" * 150
    assert fingerprint(token) == fingerprint(token) != fingerprint(token + "y")
    assert len(fingerprint(token)) == 16
    assert "IGAA" not in fingerprint(token)


def test_account_keys_are_not_masked_by_airflow() -> None:
    """Airflow hides extras whose key contains a sensitive word ("token"...): ours must stay readable."""
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key("token_status")  # the check itself works
    assert [k for k in (*ACCOUNT_KEYS, AUTO_REFRESH) if should_hide_value_for_key(k)] == []


def test_a_write_applies_only_what_it_changed_over_the_row_as_it_is_now() -> None:
    """A refresh read the row, then someone renamed the account and set an extra of theirs: the refresh's write
    keeps both, and sets what the refresh itself changed (and fills in what the row lacks)."""
    read = {"user_id": "900", "username": "old", "expires_at": "2027-01-01T00:00:00+00:00"}
    seen = AccountRecord.from_extras("ig", read)
    refreshed = AccountRecord("ig", user_id="900", username="old", status="ok", fingerprint="f2",
                              expires_at=datetime(2027, 2, 1, tzinfo=UTC))  # fmt: skip
    now = {**read, "username": "renamed", "team": "growth"}
    written = refreshed.changed_since(seen, now)
    assert written == {"user_id": "900", "username": "renamed", "team": "growth", "status": "ok",
                       "fingerprint": "f2", "expires_at": "2027-02-01T00:00:00+00:00"}  # fmt: skip
