"""An account's record, as kept in its connection's extras: its ids, its username and its token's lifecycle.

The token itself is the connection's password and never part of the record; the record holds its
:func:`fingerprint`, which tells whether the stored token is the one the record describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.ids import PROFESSIONAL_ACCOUNT_ID, USER_ID, is_plain_id
from airflow_provider_instagram.exceptions import InstagramConfigError

TokenStatus = Literal["ok", "reauth_required", "revoked"]
STATUSES: tuple[TokenStatus, ...] = ("ok", "reauth_required", "revoked")


def fingerprint(token: str) -> str:
    """A short, one-way tag of a token: tells whether the stored token changed without revealing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or Unix seconds as an aware UTC datetime; ``None`` for missing or unreadable."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in UTC to the second (how the record stores times); ``None`` stays ``None``."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _time_field(extras: Mapping[str, Any], key: str, conn_id: str) -> datetime | None:
    value = extras.get(key)
    parsed = parse_time(value)
    if parsed is None and value not in (None, ""):
        raise InstagramConfigError(
            f"Connection {conn_id!r}: extra {key!r} is {value!r:.60}, not a time; write it as ISO 8601 "
            f"(e.g. 2027-01-28T10:00:00+00:00) or remove it"
        )
    return parsed


def _id_field(extras: Mapping[str, Any], key: str, conn_id: str) -> str | None:
    value = keys.text_field(extras, key, conn_id)
    if value is not None and not is_plain_id(value):
        raise InstagramConfigError(
            f"Connection {conn_id!r}: extra {key!r} is {value!r:.60}, not an Instagram id (digits, letters, '_', "
            "at most 64); fix or remove it (the token refresh records it again)"
        )
    return value


@dataclass(frozen=True)
class AccountRecord:
    """One account as its ``instagram`` connection records it (never the token).

    :param conn_id: the account's connection.
    :param user_id: the app-scoped id (``/me`` ``id``): the id of the account's data everywhere (partitions,
        warehouse keys, Meta's callbacks). See ``account/ids.py``.
    :param professional_account_id: the professional account's Instagram id (Instagram Login's ``user_id``).
    :param username: the Instagram username.
    :param expires_at: the token's absolute expiry (UTC), when known.
    :param refreshed_at: when the token was last issued or refreshed (UTC), when known.
    :param connected_at: when a human last connected the account (UTC), when known.
    :param status: ``ok``, ``reauth_required`` (Instagram refused the token) or ``revoked`` (the user removed the
        app, or asked Meta to delete their data).
    :param status_reason: why the status is not ``ok``, in words.
    :param fingerprint: :func:`fingerprint` of the token this record describes; ``None`` when unknown (a token
        put in by hand) or when the record describes no token at all (status not ``ok``).
    :param deletion_requested_at: when Meta's data-deletion callback named this account.
    :param refresh_enabled: ``False`` when the connection opted out of refresh (extra ``auto_refresh: false``).
    """

    conn_id: str
    user_id: str | None = None
    professional_account_id: str | None = None
    username: str | None = None
    expires_at: datetime | None = None
    refreshed_at: datetime | None = None
    connected_at: datetime | None = None
    status: TokenStatus = "ok"
    status_reason: str | None = None
    fingerprint: str | None = None
    deletion_requested_at: datetime | None = None
    refresh_enabled: bool = True

    @classmethod
    def from_extras(cls, conn_id: str, extras: Mapping[str, Any] | None) -> AccountRecord:
        """Read the record from parsed extras (:func:`~airflow_provider_instagram.account.extras.parse_extras`).

        Connections onboarded before the ids were unified are read in today's terms: their ``app_user_id`` is
        the ``user_id`` and their ``user_id`` the ``professional_account_id``.

        :raises InstagramConfigError: a field has the wrong type; the message names the connection and field.
        """
        extras = extras or {}
        user_id = _id_field(extras, USER_ID, conn_id)
        professional = _id_field(extras, PROFESSIONAL_ACCOUNT_ID, conn_id)
        legacy = _id_field(extras, keys.LEGACY_APP_USER_ID, conn_id)
        if legacy is not None:
            professional = professional or (user_id if user_id != legacy else None)
            user_id = legacy
        status_text = keys.text_field(extras, keys.STATUS, conn_id) or "ok"
        reason = keys.text_field(extras, keys.STATUS_REASON, conn_id)
        status = cast(TokenStatus, status_text)
        if status_text not in STATUSES:  # a status this version does not know: a human should look
            status, reason = "reauth_required", reason or f"unknown status {status_text!r} in the connection"
        return cls(
            conn_id=conn_id, user_id=user_id, professional_account_id=professional,
            username=keys.text_field(extras, keys.USERNAME, conn_id),
            expires_at=_time_field(extras, keys.EXPIRES_AT, conn_id),
            refreshed_at=_time_field(extras, keys.REFRESHED_AT, conn_id),
            connected_at=_time_field(extras, keys.CONNECTED_AT, conn_id),
            status=status, status_reason=reason,
            fingerprint=keys.text_field(extras, keys.FINGERPRINT, conn_id),
            deletion_requested_at=_time_field(extras, keys.DELETION_REQUESTED_AT, conn_id),
            refresh_enabled=keys.flag_field(extras, keys.AUTO_REFRESH, conn_id),
        )  # fmt: skip

    def to_extras(self) -> dict[str, Any]:
        """The keys this record owns, to merge over a connection's other extras (``None`` clears a key)."""
        return {
            USER_ID: self.user_id,
            PROFESSIONAL_ACCOUNT_ID: self.professional_account_id,
            keys.USERNAME: self.username,
            keys.EXPIRES_AT: format_time(self.expires_at),
            keys.REFRESHED_AT: format_time(self.refreshed_at),
            keys.CONNECTED_AT: format_time(self.connected_at),
            keys.STATUS: self.status,
            keys.STATUS_REASON: self.status_reason,
            keys.FINGERPRINT: self.fingerprint,
            keys.DELETION_REQUESTED_AT: format_time(self.deletion_requested_at),
        }

    def merged_into(self, extras: Mapping[str, Any] | None) -> dict[str, Any]:
        """``extras`` with this record applied: its keys set or cleared, the legacy id key dropped, every other
        extra exactly as it was."""
        merged = {k: v for k, v in (extras or {}).items() if k != keys.LEGACY_APP_USER_ID}
        for key, value in self.to_extras().items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def changed_since(self, seen: AccountRecord, extras: Mapping[str, Any]) -> dict[str, Any]:
        """``extras`` (a row as it is now) with the keys this record changed relative to ``seen`` (the row as it
        was read) applied, and the ones the row lacks filled in: a key someone else changed meanwhile, and this
        record did not, is left alone."""
        merged = dict(extras)
        before = seen.to_extras()
        for key, value in self.to_extras().items():
            if value == before.get(key) and (key in merged or value is None):
                continue
            if key == USER_ID:  # the ids are written in today's terms from now on
                merged.pop(keys.LEGACY_APP_USER_ID, None)
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def describes(self, token: str) -> bool:
        """Whether this record was written for ``token``.

        An unknown fingerprint counts as yes only for an ``ok`` account (a token put in by hand and never
        refreshed). A record that is not ``ok`` and has no fingerprint describes *no* token (the password was
        empty, or Meta's deauthorize cleared it), so any token found now is a new one a human put in.
        """
        if self.fingerprint is None:
            return self.status == "ok"
        return self.fingerprint == fingerprint(token)

    def for_new_token(self) -> AccountRecord:
        """The record of a token someone put in by hand: status ok, age and expiry unknown, ids kept."""
        return replace(
            self, expires_at=None, refreshed_at=None, status="ok", status_reason=None, fingerprint=None,
            deletion_requested_at=None,
        )  # fmt: skip

    def ids_confirmed(self, api: str = "instagram_login") -> bool:
        """Whether the ids are known in today's terms: ``user_id`` and, for the Instagram Login API, the
        professional account's id. A connection whose refresh recorded only ``user_id`` before the ids were
        unified may hold the professional id there: it is confirmed by one ``/me`` call at the next refresh."""
        return bool(self.user_id) and (api == "basic_display" or bool(self.professional_account_id))
