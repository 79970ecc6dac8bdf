"""When to refresh a token: pure decisions over its lifecycle fields and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from airflow_provider_instagram.account.record import AccountRecord

# Instagram refuses to refresh a long-lived token younger than this.
MIN_REFRESH_AGE = timedelta(hours=24)


class Action(StrEnum):
    """What the refresh does with one account."""

    REFRESH = "refresh"
    SKIP_FRESH = "skip_fresh"  # refreshed within the last 24 h: Instagram would refuse, and nothing is due
    MARK_EXPIRED = "mark_expired"  # past its expiry: no refresh can save it, a human must reconnect
    NEEDS_HUMAN = "needs_human"  # already marked reauth_required/revoked, and the token was not replaced since


@dataclass(frozen=True)
class Decision:
    action: Action
    record: AccountRecord  # the record the decision was taken on (reset when a human replaced the token)
    reason: str = ""


def decide(record: AccountRecord, now: datetime, token: str | None = None) -> Decision:
    """Decide for one account; ``token`` (when read) tells whether a human replaced the token since.

    Without the token only the cheap answer is possible: ``SKIP_FRESH`` for a recently refreshed ``ok`` token,
    else ``REFRESH`` meaning "read the token and decide again".
    """
    if token is not None and not record.describes(token):
        record = record.for_new_token()
    if record.status != "ok":
        if token is None:
            return Decision(Action.REFRESH, record, "read the token: it may have been replaced")
        return Decision(Action.NEEDS_HUMAN, record, record.status_reason or f"token status is {record.status}")
    if record.expires_at is not None and record.expires_at <= now:
        return Decision(Action.MARK_EXPIRED, record, f"the token expired on {record.expires_at:%Y-%m-%d %H:%M} UTC")
    if record.refreshed_at is not None and now - record.refreshed_at < MIN_REFRESH_AGE:
        return Decision(Action.SKIP_FRESH, record, f"refreshed less than 24 h ago ({record.refreshed_at:%H:%M} UTC)")
    return Decision(Action.REFRESH, record)
