"""Meta's deauthorize and data-deletion callbacks: which app signed the request, and which accounts it names.

Anyone can POST to these URLs. A request is verified against the app secrets, which are cached (never read per
request), before any account is looked at; only then are the signing app's accounts read, and only those are
acted on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.ids import is_plain_id
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.account.writer import StoredRow
from airflow_provider_instagram.exceptions import (
    BadSignatureError,
    InstagramConfigError,
    MalformedSignedRequestError,
    StaleSignedRequestError,
)
from airflow_provider_instagram.signed_request import parse_signed_request

log = logging.getLogger(__name__)

# Meta calls back at once; a request issued this long ago is a replay of a captured one.
MAX_AGE_SECONDS = 86_400
MAX_CLOCK_SKEW_SECONDS = 300
# Secrets tried per request at most: the HMACs a stranger's request may cost.
MAX_APPS = 64


@dataclass(frozen=True)
class Account:
    """An ``instagram`` account connection as the callbacks see it (never its token).

    :param conn_id: the connection.
    :param record: its record (ids, ``connected_at``).
    :param secret: the secret of the app it was connected through (never shown).
    """

    conn_id: str
    record: AccountRecord
    secret: str | None


def accounts(rows: Iterable[StoredRow], secret_of_app: Callable[[str], str | None]) -> list[Account]:
    """The account connections among ``rows``, each with its app's secret; unreadable ones are logged and left out.

    :param secret_of_app: the secret of an app connection (``None`` when it is missing).
    """
    found = []
    for row in rows:
        try:
            extras = row.extras()
            record = AccountRecord.from_extras(row.conn_id, extras)
            own = keys.text_field(extras, keys.CLIENT_SECRET, row.conn_id)
            app_conn_id = keys.text_field(extras, keys.APP_CONN_ID, row.conn_id)
        except InstagramConfigError as exc:
            log.warning("Meta callbacks: connection %s left out: %s", row.conn_id, exc)
            continue
        secret = own or (secret_of_app(app_conn_id) if app_conn_id else None)
        found.append(Account(row.conn_id, record, secret))
    return found


class AppSecrets:
    """The distinct app secrets callbacks are verified against, cached: an unauthenticated request costs at most
    ``MAX_APPS`` HMACs, and reloads the secrets at most once per ``retry_seconds`` (a new app is picked up then).

    :param load: reads every secret in use (the accounts' apps, plus apps with no account yet).
    :param ttl_seconds: how long a load is used without question.
    :param retry_seconds: after a request no cached secret verifies, the least time between two reloads.
    :param clock: monotonic seconds (injected by tests).
    """

    def __init__(
        self, load: Callable[[], Sequence[str]], *, ttl_seconds: float = 300.0, retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._load, self.ttl_seconds, self.retry_seconds, self._clock = load, ttl_seconds, retry_seconds, clock
        self._secrets: list[str] = []
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def verify(self, signed_request: str, now: float | None = None) -> tuple[dict[str, Any], str]:
        """The payload and the secret that signed it; raises a ``SignedRequestError`` when none did, or when the
        payload is not a fresh request about one user."""
        for reload in (False, True):
            secrets = self._current(reload)
            if secrets is None:
                break
            for secret in secrets:
                try:
                    payload = parse_signed_request(signed_request, secret)
                except BadSignatureError:
                    continue
                check_payload(payload, time.time() if now is None else now)
                return payload, secret
        raise BadSignatureError("signed_request is signed by none of the Instagram apps of this Airflow")

    def _current(self, reload: bool) -> list[str] | None:
        """The cached secrets, loaded when stale; ``None`` when a reload was asked for but is not due yet."""
        with self._lock:
            now = self._clock()
            age = None if self._loaded_at is None else now - self._loaded_at
            if reload and age is not None and age < self.retry_seconds:
                return None
            if reload or age is None or age >= self.ttl_seconds:
                secrets = list(dict.fromkeys(s for s in self._load() if s))
                if len(secrets) > MAX_APPS:
                    log.warning("%d Instagram app secrets; callbacks are verified against the first %d only",
                                len(secrets), MAX_APPS)  # fmt: skip
                self._secrets, self._loaded_at = secrets[:MAX_APPS], now
            return self._secrets


def check_payload(payload: dict[str, Any], now: float) -> None:
    """A callback must name one user and say when it was issued: within the last day, not in the future."""
    issued = payload.get("issued_at")
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        raise MalformedSignedRequestError("signed_request carries no numeric issued_at")
    if issued < now - MAX_AGE_SECONDS:
        raise StaleSignedRequestError("signed_request was issued more than a day ago")
    if issued > now + MAX_CLOCK_SKEW_SECONDS:
        raise StaleSignedRequestError("signed_request claims to be issued in the future")
    if not is_plain_id(payload.get("user_id")):
        raise MalformedSignedRequestError("signed_request names no Instagram user id")


@dataclass(frozen=True)
class VerifiedRequest:
    """A callback one of the apps signed.

    :param payload: the decoded, checked payload (``user_id``, ``issued_at``...).
    :param accounts: the accounts of the app whose secret verified it (only those may be acted on).
    :param others: every other app's accounts (whose data this request must not reach).
    """

    payload: dict[str, Any]
    accounts: list[Account]
    others: list[Account]

    @classmethod
    def of(cls, payload: dict[str, Any], secret: str, every: Iterable[Account]) -> VerifiedRequest:
        """The request ``secret`` verified, with ``every`` account split into that app's and the others."""
        mine: list[Account] = []
        others: list[Account] = []
        for account in every:
            (mine if account.secret == secret else others).append(account)
        return cls(payload, mine, others)

    @property
    def user_id(self) -> str:
        return str(self.payload["user_id"])

    def named(self) -> list[Account]:
        """That app's accounts of the user the request names (by ``user_id``, the app-scoped id Meta names)."""
        return [a for a in self.accounts if a.record.user_id == self.user_id]

    def current(self) -> list[Account]:
        """The accounts :meth:`named` that were not connected again since the request was issued."""
        return [a for a in self.named() if not self.reconnected_since(a)]

    def reconnected_since(self, account: Account) -> bool:
        """Whether the account was connected again after the request was issued: it is not the one removed."""
        connected = account.record.connected_at
        return bool(connected and connected.timestamp() > float(self.payload["issued_at"]))

    def deletion_user_ids(self) -> list[str]:
        """The ids whose data a deletion request removes: the user's, unless it is a replay (the user connected
        again since) or the id belongs only to another app's accounts."""
        named, current = self.named(), self.current()
        if len(current) < len(named):
            return []
        if not named and any(a.record.user_id == self.user_id for a in self.others):
            return []
        return [self.user_id]
