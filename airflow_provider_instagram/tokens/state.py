"""An account's token lifecycle fields, as kept in its connection's extras (never the token itself)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

TokenStatus = Literal["ok", "reauth_required", "revoked"]
STATUSES: tuple[TokenStatus, ...] = ("ok", "reauth_required", "revoked")

# Extra keys owned by the token lifecycle; every other extra is left exactly as it was. None of them contains
# "token": Airflow masks every extra whose key contains a sensitive word, which would hide these fields in the
# UI and the REST API and turn a status value such as "ok" into a masked secret in every task log.
EXPIRES_AT = "expires_at"
REFRESHED_AT = "refreshed_at"
STATUS = "status"
STATUS_REASON = "status_reason"
FINGERPRINT = "fingerprint"
USER_ID = "user_id"
USERNAME = "username"
REFRESH_ENABLED = "auto_refresh"
LIFECYCLE_KEYS = (EXPIRES_AT, REFRESHED_AT, STATUS, STATUS_REASON, FINGERPRINT, USER_ID, USERNAME)


def fingerprint(token: str) -> str:
    """A short, one-way tag of a token: tells whether the stored token changed without revealing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or Unix seconds as an aware UTC datetime; ``None`` for missing or unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _enabled(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return value is None or bool(value)


@dataclass(frozen=True)
class TokenState:
    """The lifecycle of one account's token, read from and written to its connection's extras.

    :param conn_id: the ``instagram`` connection.
    :param expires_at: absolute expiry (UTC), when known.
    :param refreshed_at: when the token was last issued or refreshed (UTC), when known.
    :param status: ``ok``, ``reauth_required`` (Instagram refused it) or ``revoked`` (the user removed the app).
    :param status_reason: why the status is not ``ok``, in words.
    :param fingerprint: :func:`fingerprint` of the token these fields describe.
    :param user_id: the Instagram user id.
    :param username: the Instagram username.
    :param refresh_enabled: ``False`` when the connection opted out of refresh (extra ``auto_refresh: false``).
    """

    conn_id: str
    expires_at: datetime | None = None
    refreshed_at: datetime | None = None
    status: TokenStatus = "ok"
    status_reason: str | None = None
    fingerprint: str | None = None
    user_id: str | None = None
    username: str | None = None
    refresh_enabled: bool = True

    @classmethod
    def from_extra(cls, conn_id: str, extra: Mapping[str, Any] | None) -> TokenState:
        extra = extra or {}
        status = extra.get(STATUS) or "ok"
        return cls(
            conn_id=conn_id,
            expires_at=parse_time(extra.get(EXPIRES_AT)),
            refreshed_at=parse_time(extra.get(REFRESHED_AT)),
            status=status if status in STATUSES else "reauth_required",
            status_reason=extra.get(STATUS_REASON) or None,
            fingerprint=extra.get(FINGERPRINT) or None,
            user_id=str(extra[USER_ID]) if extra.get(USER_ID) not in (None, "") else None,
            username=extra.get(USERNAME) or None,
            refresh_enabled=_enabled(extra.get(REFRESH_ENABLED)),
        )

    def to_extra(self) -> dict[str, Any]:
        """The lifecycle keys, to merge over a connection's other extras (``None`` clears a key)."""
        return {
            EXPIRES_AT: format_time(self.expires_at),
            REFRESHED_AT: format_time(self.refreshed_at),
            STATUS: self.status,
            STATUS_REASON: self.status_reason,
            FINGERPRINT: self.fingerprint,
            USER_ID: self.user_id,
            USERNAME: self.username,
        }

    def describes(self, token: str) -> bool:
        """Whether these fields were written for ``token`` (unknown counts as yes, for hand-made connections)."""
        return self.fingerprint is None or self.fingerprint == fingerprint(token)

    def for_new_token(self) -> TokenState:
        """The fields of a token someone put in by hand: status ok, age and expiry unknown."""
        return replace(self, expires_at=None, refreshed_at=None, status="ok", status_reason=None, fingerprint=None)


def merge_extra(extra: Mapping[str, Any] | None, state: TokenState) -> dict[str, Any]:
    """``extra`` with ``state``'s lifecycle keys applied; keys set to ``None`` are removed."""
    merged = dict(extra or {})
    for key, value in state.to_extra().items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
