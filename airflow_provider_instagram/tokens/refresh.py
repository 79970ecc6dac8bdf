"""Refreshing accounts' tokens: per account, decide, call Instagram once, write back; never lose a token."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from airflow_provider_instagram.account.ids import is_plain_id
from airflow_provider_instagram.account.record import AccountRecord, fingerprint, format_time
from airflow_provider_instagram.account.writer import ChangedSinceRead, LifecycleWrite
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import (
    InstagramAuthError,
    InstagramConfigError,
    InstagramError,
    InstagramRequestError,
    TokenNotWritableError,
    TokenStoreError,
)
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.tokens.policy import Action, decide
from airflow_provider_instagram.tokens.store import StoredToken, TokenStore

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What happened to one account in one refresh run."""

    REFRESHED = "refreshed"  # Instagram issued a new expiry and it is saved
    FRESH = "fresh"  # refreshed within the last 24 h: left alone
    REFUSED = "refused"  # Instagram declined the refresh but the token still works (e.g. younger than 24 h)
    FAILED = "failed"  # a transient or unexpected error: nothing changed, the next run tries again
    REAUTH_REQUIRED = "reauth_required"  # Instagram rejects the token: a human must reconnect the account
    NOT_WRITABLE = "not_writable"  # the connection lives where the store cannot write
    WRITE_FAILED = "write_failed"  # a new token was issued but could not be saved; the old one still works
    CHANGED = "changed"  # the connection changed during the run (reconnected, revoked, edited): left as it is now
    OPTED_OUT = "opted_out"  # extra auto_refresh is false
    LISTED = "listed"  # only read, not refreshed (the ``airflow-instagram tokens`` report)


@dataclass(frozen=True)
class AccountResult:
    """One account's outcome, JSON-able for XCom; never carries a token.

    :param conn_id: the account's connection.
    :param outcome: what happened (:class:`Outcome`).
    :param detail: why, in words, with the fix where a human must act.
    :param status: the account's ``status`` after the run.
    :param username: Instagram username, when known.
    :param user_id: Instagram user id, when known.
    :param expires_at: the token's expiry after the run (ISO 8601 UTC), when known.
    :param refreshed_at: the last refresh (ISO 8601 UTC), when known.
    :param instagram_calls: calls made to Instagram for this account.
    """

    conn_id: str
    outcome: Outcome
    detail: str = ""
    status: str = "ok"
    username: str | None = None
    user_id: str | None = None
    expires_at: str | None = None
    refreshed_at: str | None = None
    instagram_calls: int = 0

    @classmethod
    def of(cls, record: AccountRecord, outcome: Outcome, detail: str = "", calls: int = 0) -> AccountResult:
        return cls(
            conn_id=record.conn_id, outcome=outcome, detail=detail, status=record.status, username=record.username,
            user_id=record.user_id, expires_at=format_time(record.expires_at),
            refreshed_at=format_time(record.refreshed_at), instagram_calls=calls,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": str(self.outcome)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountResult:
        return cls(**{**data, "outcome": Outcome(data["outcome"])})


def account_hook(conn_id: str, stored: StoredToken) -> InstagramHook:
    """The account's hook over the connection and extras the store already read (no second lookup or parse)."""
    return InstagramHook(instagram_conn_id=conn_id, connection=stored.connection, connection_extra=stored.extra)


class TokenRefresher:
    """Keeps accounts' tokens alive: decides per account, refreshes at Instagram, saves through a store.

    One account's failure never reaches another: every outcome is a :class:`AccountResult`, never an exception.

    :param store: where tokens are read and written.
    :param hook_factory: builds the hook of one account from its conn id and what the store read.
    :param clock: the current time (tests use the emulator's clock).
    :param max_workers: accounts refreshed at once.
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        hook_factory: Callable[[str, StoredToken], InstagramHook] | None = None,
        clock: Clock = utcnow,
        max_workers: int = 8,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.store = store
        self.hook_factory = hook_factory or account_hook
        self.clock = clock
        self.max_workers = max_workers

    def refresh_all(self, records: Sequence[AccountRecord]) -> list[AccountResult]:
        """Refresh every account, ``max_workers`` at a time, then save all writes in one go (the store may batch
        them); results in the order of ``records``."""
        if not records:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(records))) as pool:
            steps = list(pool.map(self._step_isolated, records))
        writes = [step.write for step in steps if isinstance(step, PendingWrite)]
        errors = iter(self.store.save_many(writes) if writes else [])  # re-read in bulk, written over the current rows
        results = [step.outcome(next(errors)) if isinstance(step, PendingWrite) else step for step in steps]
        for result in results:
            log.info("Account %s: %s %s", result.conn_id, result.outcome, result.detail)
        return results

    def refresh(self, listed: AccountRecord) -> AccountResult:
        """Refresh one account and save at once; raises only on bugs."""
        return self.refresh_all([listed])[0]

    def _step_isolated(self, record: AccountRecord) -> AccountResult | PendingWrite:
        try:
            return self._step(record)
        except Exception as exc:  # isolation: report it for this account, let the others go on
            log.error("Account %s: unexpected %s: %s", record.conn_id, type(exc).__name__, exc)
            return AccountResult.of(record, Outcome.FAILED, f"unexpected {type(exc).__name__}: {exc}")

    def _step(self, listed: AccountRecord) -> AccountResult | PendingWrite:
        """Everything for one account but the write: a final result, or the write still to make."""
        now = self.clock()
        cheap = decide(listed, now)
        if cheap.action is Action.SKIP_FRESH:  # no need to read the secret at all
            return AccountResult.of(listed, Outcome.FRESH, cheap.reason)
        try:
            stored = self.store.read(listed.conn_id)
            seen = AccountRecord.from_extras(listed.conn_id, stored.extra)
        except (TokenStoreError, InstagramConfigError) as exc:
            return AccountResult.of(listed, Outcome.FAILED, str(exc))
        if not stored.token:
            if seen.status != "ok":  # e.g. revoked by Meta's deauthorize callback, which cleared the token
                detail = f"{seen.status_reason or 'token status is ' + seen.status}; {REAUTH_FIX}"
                return AccountResult.of(seen, Outcome.REAUTH_REQUIRED, detail)
            return self._mark(seen, seen, stored, "the connection has no token in its password field", 0)
        decision = decide(seen, now, stored.token)
        record = decision.record
        if decision.action is Action.SKIP_FRESH:
            return AccountResult.of(record, Outcome.FRESH, decision.reason)
        if decision.action is Action.NEEDS_HUMAN:
            return AccountResult.of(record, Outcome.REAUTH_REQUIRED, f"{decision.reason}; {REAUTH_FIX}")
        if decision.action is Action.MARK_EXPIRED:
            return self._mark(record, seen, stored, decision.reason, 0)
        return self._refresh(record, seen, stored, now)

    def _refresh(
        self, record: AccountRecord, seen: AccountRecord, stored: StoredToken, now: datetime
    ) -> AccountResult | PendingWrite:
        token = str(stored.token)
        hook = self.hook_factory(record.conn_id, stored)
        try:
            issued = hook.refresh_long_lived_token(token)
        except InstagramAuthError as exc:
            return self._after_auth_error(record, seen, stored, hook, exc)
        except InstagramRequestError as exc:
            detail = f"Instagram declined the refresh ({exc}); the token is unchanged and the next run tries again"
            return AccountResult.of(record, Outcome.REFUSED, detail, hook.api_calls)
        except InstagramError as exc:
            return AccountResult.of(record, Outcome.FAILED, f"{exc}; the next run tries again", hook.api_calls)
        expires_at = now + timedelta(seconds=issued.expires_in) if issued.expires_in else None
        fresh = replace(
            record, expires_at=expires_at, refreshed_at=now, status="ok", status_reason=None,
            fingerprint=fingerprint(issued.access_token), **self._profile(record, hook),
        )  # fmt: skip
        calls = hook.api_calls

        def outcome(error: TokenStoreError | None) -> AccountResult:
            if error is None:
                return AccountResult.of(fresh, Outcome.REFRESHED, "", calls)
            if isinstance(error, ChangedSinceRead):
                return AccountResult.of(record, Outcome.CHANGED, str(error), calls)
            kind = Outcome.NOT_WRITABLE if isinstance(error, TokenNotWritableError) else Outcome.WRITE_FAILED
            detail = (
                f"Instagram refreshed the token (new expiry {format_time(expires_at)}) but saving it failed: "
                f"{error}. The old token keeps working until {format_time(record.expires_at) or 'its expiry'}; "
                "the next run tries again"
            )
            return AccountResult.of(record, kind, detail, calls)

        return PendingWrite(LifecycleWrite(fresh, issued.access_token, seen), outcome)

    def _profile(self, record: AccountRecord, hook: InstagramHook) -> dict[str, Any]:
        """Fill in the ids and username where they are missing or not yet confirmed (one ``/me`` call, only the
        first time): ``user_id`` is ``/me``'s ``id``, and the Instagram Login API's ``user_id`` is the professional
        account's id (a refresh before the ids were unified recorded that one as ``user_id``)."""
        api = hook.params.api
        if record.ids_confirmed(api) and record.username:
            return {}
        fields = ["id", "user_id", "username"] if api == "instagram_login" else ["id", "username"]
        try:
            profile = hook.get_profile(fields)
        except InstagramError as exc:
            log.warning("Account %s: the profile could not be read (%s)", record.conn_id, exc)
            return {}
        found = {"user_id": profile.get("id"), "professional_account_id": profile.get("user_id")}
        ids = {key: str(value) for key, value in found.items() if is_plain_id(value)}
        return {**ids, "username": profile.get("username") or record.username}

    def _after_auth_error(
        self, record: AccountRecord, seen: AccountRecord, stored: StoredToken, hook: InstagramHook,
        exc: InstagramAuthError,
    ) -> AccountResult | PendingWrite:  # fmt: skip
        # Instagram's answer to a refresh under 24 h is unconfirmed and may be a 190. Ask /me before judging.
        try:
            hook.get_profile(["id"])
        except InstagramAuthError as probe:
            return self._mark(record, seen, stored, probe.reason, hook.api_calls)
        except InstagramError as probe:
            detail = f"Instagram refused the refresh ({exc}) and the check of the token failed too ({probe})"
            return AccountResult.of(record, Outcome.FAILED, f"{detail}; the next run tries again", hook.api_calls)
        detail = f"Instagram refused the refresh ({exc}) but the token still works; the next run tries again"
        return AccountResult.of(record, Outcome.REFUSED, detail, hook.api_calls)

    def _mark(
        self, record: AccountRecord, seen: AccountRecord, stored: StoredToken, reason: str, calls: int
    ) -> PendingWrite:
        """Record ``reauth_required`` with the reason; the token itself is kept as it is. The fingerprint says
        which token was refused (none when the password was empty), so that a new one is noticed."""
        token = stored.token
        marked = replace(
            record, status="reauth_required", status_reason=reason, fingerprint=fingerprint(token) if token else None
        )

        def outcome(error: TokenStoreError | None) -> AccountResult:
            if isinstance(error, ChangedSinceRead):
                return AccountResult.of(record, Outcome.CHANGED, str(error), calls)
            unrecorded = f" (the status could not be recorded: {error})" if error else ""
            return AccountResult.of(marked, Outcome.REAUTH_REQUIRED, f"{reason}; {REAUTH_FIX}{unrecorded}", calls)

        return PendingWrite(LifecycleWrite(marked, None, seen, had_token=bool(token)), outcome)


@dataclass(frozen=True)
class PendingWrite:
    """A write one account still needs, and how its success or failure reads as that account's result."""

    write: LifecycleWrite
    outcome: Callable[[TokenStoreError | None], AccountResult]


REAUTH_FIX = (
    "reconnect the account (`airflow-instagram connect --conn-id <connection>`, or Connect on the /instagram page "
    "of Airflow), or put a new long-lived token into the connection's password field"
)
