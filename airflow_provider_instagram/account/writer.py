"""Every write of an ``instagram`` connection: onboarding, the token refresh, Meta's revocations.

One writer holds the rules; a transport carries them to where connections live: Airflow's REST API (tasks, the
command line, the demo) or the metadata database (the API server's own plugin). Every write is a
read-modify-write against the row as it is *now*: the writer never puts back extras it read minutes ago.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.ids import PROFESSIONAL_ACCOUNT_ID, USER_ID, is_plain_id
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.exceptions import ConnectionConflictError, InstagramConfigError, TokenStoreError


@dataclass(frozen=True)
class StoredRow:
    """A connection as its transport read it. Secrets are never needed here: the REST API answers them as ``***``
    (written back unchanged, the server keeps their stored values).

    :param conn_id: the connection id.
    :param conn_type: its type.
    :param extra: its extra text, as stored.
    :param has_password: whether its password is set.
    """

    conn_id: str
    conn_type: str | None
    extra: str | Mapping[str, Any] | None = field(repr=False)
    has_password: bool

    def extras(self) -> dict[str, Any]:
        """The parsed extras (:func:`~airflow_provider_instagram.account.extras.parse_extras`)."""
        return keys.parse_extras(self.extra, self.conn_id)

    def record(self) -> AccountRecord:
        """The account's record (:class:`AccountRecord`); raises ``InstagramConfigError`` when a field is bad."""
        return AccountRecord.from_extras(self.conn_id, self.extras())


@dataclass(frozen=True)
class RowWrite:
    """What one write sets: the connection's whole new extras, and fields (``password`` ``None`` clears it).

    :param extras: the new extras (every key: the transport replaces the extra).
    :param fields: connection fields to set: ``password``, ``login``, ``host``.
    """

    extras: Mapping[str, Any] = field(repr=False)
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)


# Port 0 is "no port" to Airflow (a URI leaves it out). Airflow 3.3's connection list tests a connection with
# port Number(null) = 0 and refuses to reuse the stored token when the stored port differs: a null port would make
# the list's Test fail with "host or port differs" for every account.
ONBOARDED_FIELDS = {"port": 0}

Change = Callable[[StoredRow | None], RowWrite | None]
"""Maps the current row (``None`` when it does not exist) to the write to make, or ``None`` to leave it alone."""


class ConnectionTransport(ABC):
    """Where connections are read and written. Implementations never put a secret into a message or a log."""

    @abstractmethod
    def rows(self, conn_ids: Sequence[str]) -> dict[str, StoredRow]:
        """The rows that exist among ``conn_ids`` (read in bulk where the transport can)."""

    @abstractmethod
    def instagram_rows(self) -> list[StoredRow]:
        """Every connection of type ``instagram`` this transport can write."""

    @abstractmethod
    def edit(self, conn_id: str, change: Change) -> bool | None:
        """Read the row, apply ``change``, write: True when the row was created, False when updated, ``None``
        when ``change`` left it alone. Raises :class:`TokenStoreError` unless the write is known to have landed."""

    def edit_many(self, conn_ids: Sequence[str], change: Callable[[str, StoredRow | None], RowWrite | None]
                  ) -> dict[str, TokenStoreError | None]:  # fmt: skip
        """:meth:`edit` each row (transports that can batch override this); per id ``None`` when it landed or was
        left alone, else the error. One failing row never stops the others."""
        errors: dict[str, TokenStoreError | None] = {}
        for conn_id in conn_ids:
            try:
                self.edit(conn_id, lambda row, c=conn_id: change(c, row))  # type: ignore[misc]
            except TokenStoreError as exc:
                errors[conn_id] = exc
            else:
                errors[conn_id] = None
        return errors


@dataclass(frozen=True)
class LifecycleWrite:
    """One account's write from a token refresh.

    :param record: the account's new record.
    :param token: the new token, or ``None`` to keep the stored one.
    :param seen: the record as the refresh read it: the write lands only if the row still says the same.
    :param had_token: whether the refresh found a token in the password (a token appearing or vanishing since is
        a change too).
    """

    record: AccountRecord
    token: str | None = field(repr=False)
    seen: AccountRecord
    had_token: bool = True


class ChangedSinceRead(TokenStoreError):
    """The connection changed after the refresh read it (a reconnect, a revocation, a new token): left as it is."""


def moved(seen: AccountRecord, now: AccountRecord, had_token: bool, has_token: bool) -> str | None:
    """Why the row no longer is the one a refresh read, or ``None`` when it still is."""
    if seen.connected_at != now.connected_at:
        return "the account was connected again"
    if seen.status != now.status:
        return f"its status became {now.status}"
    if seen.fingerprint != now.fingerprint:
        return "its token was replaced"
    if had_token != has_token:
        return "its token was removed" if had_token else "a token was put in"
    return None


class AccountWriter:
    """The rules of every write of an ``instagram`` connection, over one transport.

    :param transport: where the connections live.
    """

    def __init__(self, transport: ConnectionTransport) -> None:
        self.transport = transport

    # ------------------------------------------------------------------ onboarding
    def check_target(self, conn_id: str, app_conn_id: str | None) -> None:
        """Refuse, before anyone is sent to Instagram, a connection onboarding must not write: one of another type,
        the app connection itself, or a connection other accounts name as their app connection."""
        if conn_id in (app_conn_id, keys.DEFAULT_APP_CONN_ID):
            raise ConnectionConflictError(
                f"Connection {conn_id!r} is the app connection (it holds the Instagram app id and secret): saving "
                "an account's token there would overwrite the app secret. Give the account its own connection id, "
                "e.g. instagram_<username>"
            )
        row = self.transport.rows([conn_id]).get(conn_id)
        self._check_row(conn_id, row)
        users = sorted(r.conn_id for r in self.transport.instagram_rows() if _app_of(r) == conn_id != r.conn_id)
        if users:
            raise ConnectionConflictError(
                f"Connection {conn_id!r} is the app connection of {', '.join(users[:5])}"
                f"{' and more' if len(users) > 5 else ''}: saving an account's token there would overwrite the app "
                "secret. Give the account its own connection id, e.g. instagram_<username>"
            )

    @staticmethod
    def _check_row(conn_id: str, row: StoredRow | None) -> None:
        if row is not None and row.conn_type == keys.APP_CONN_TYPE:
            raise ConnectionConflictError(
                f"Connection {conn_id!r} is an Instagram app connection (it holds the app secret): saving an "
                "account's token there would overwrite the secret. Give the account its own connection id, e.g. "
                "instagram_<username>"
            )
        if row is not None and row.conn_type != keys.CONN_TYPE:  # never put a token over another password
            raise ConnectionConflictError(
                f"Connection {conn_id!r} exists and is of type {row.conn_type!r}, not {keys.CONN_TYPE!r}: choose "
                "another connection id"
            )

    def save_connected(
        self, conn_id: str, record: AccountRecord, token: str, *, fields: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> bool:  # fmt: skip
        """Create or update an account's connection after onboarding; True when it was created.

        :param record: the account's record (ids, expiry, ``connected_at``); it replaces every record key.
        :param token: the long-lived token (the password).
        :param fields: other connection fields to set (``login``, ``host``), where the app settings were given
            directly.
        :param settings: extras to set beside the record (``app_conn_id``, app settings given directly).
        """
        settings, fields = dict(settings or {}), dict(fields or {})
        app_conn_id = settings.get(keys.APP_CONN_ID)
        self.check_target(conn_id, app_conn_id)
        if app_conn_id:  # the app connection is the app from now on: no setting left from an earlier one wins
            fields = {"login": None, "host": None, **fields}

        def change(row: StoredRow | None) -> RowWrite:
            self._check_row(conn_id, row)
            current = _extras_or_empty(row)
            if app_conn_id:
                current = {k: v for k, v in current.items() if k not in keys.APP_KEYS}
            return RowWrite(
                record.merged_into({**current, **settings}), {**fields, **ONBOARDED_FIELDS, "password": token}
            )

        return bool(self.transport.edit(conn_id, change))

    # ------------------------------------------------------------------ token refresh
    def save_refreshes(self, writes: Sequence[LifecycleWrite]) -> list[TokenStoreError | None]:
        """Write each refresh over the row as it is now, in bulk where the transport can; per write ``None`` when
        it landed, :class:`ChangedSinceRead` when the row moved since the refresh read it, or another error."""
        by_id = {w.record.conn_id: w for w in writes}
        skipped: dict[str, ChangedSinceRead] = {}

        def change(conn_id: str, row: StoredRow | None) -> RowWrite | None:
            write = by_id[conn_id]
            why = "the connection was deleted" if row is None else _moved_or_broken(write, row)
            if why:
                skipped[conn_id] = ChangedSinceRead(
                    f"Connection {conn_id!r} changed while its token was being refreshed ({why}); it was left as it "
                    "is now, and the next run looks at it again"
                )
                return None
            assert row is not None
            fields = {} if write.token is None else {"password": write.token}
            return RowWrite(write.record.changed_since(write.seen, row.extras()), fields)

        errors = self.transport.edit_many(list(by_id), change)
        return [skipped.get(w.record.conn_id) or errors.get(w.record.conn_id) for w in writes]

    # ------------------------------------------------------------------ Meta's callbacks
    def revoke(self, conn_ids: Sequence[str], reason: str, at: datetime, *, deletion: bool = False) -> None:
        """Clear the accounts' tokens and mark them ``revoked`` (with ``deletion_requested_at`` for a deletion)."""

        def change(conn_id: str, row: StoredRow | None) -> RowWrite | None:
            if row is None or row.conn_type != keys.CONN_TYPE:
                return None
            record = _record_or_blank(row)
            revoked = AccountRecord(
                conn_id, user_id=record.user_id, professional_account_id=record.professional_account_id,
                username=record.username, connected_at=record.connected_at, status="revoked",
                status_reason=f"{reason} on {at:%Y-%m-%d %H:%M} UTC",
                deletion_requested_at=at if deletion else record.deletion_requested_at,
            )  # fmt: skip
            return RowWrite(revoked.merged_into(_extras_or_blank(row)), {"password": None})

        errors = self.transport.edit_many(conn_ids, change)
        failed = {conn_id: exc for conn_id, exc in errors.items() if exc is not None}
        if failed:
            raise TokenStoreError(f"Could not revoke {', '.join(sorted(failed))}: {next(iter(failed.values()))}")


def app_connection_ids(rows: Sequence[StoredRow]) -> set[str]:
    """The app connections among ``rows`` (they hold an app secret, not a token): those accounts name in their
    ``app_conn_id``, and the default app connection, which onboarding and Meta's callbacks use when none is named
    (it may have no account yet)."""
    named = {app for row in rows if (app := _app_of(row)) is not None}
    return {row.conn_id for row in rows if row.conn_id in named or row.conn_id == keys.DEFAULT_APP_CONN_ID}


def _app_of(row: StoredRow) -> str | None:
    try:
        return keys.text_field(row.extras(), keys.APP_CONN_ID, row.conn_id)
    except InstagramConfigError:
        return None


def _extras_or_empty(row: StoredRow | None) -> dict[str, Any]:
    return {} if row is None else row.extras()


def _extras_or_blank(row: StoredRow) -> dict[str, Any]:
    """The extras, or none where they no longer read: a revocation must land even over a broken extra."""
    try:
        return row.extras()
    except InstagramConfigError:
        return {}


def _record_or_blank(row: StoredRow) -> AccountRecord:
    """The row's record; where a field no longer reads, at least its ids (a revoked account must stay findable
    by the callbacks that name it)."""
    try:
        return row.record()
    except InstagramConfigError:
        extras = _extras_or_blank(row)
        user_id, professional = (extras.get(k) for k in (USER_ID, PROFESSIONAL_ACCOUNT_ID))
        return AccountRecord(
            row.conn_id, user_id=str(user_id) if is_plain_id(user_id) else None,
            professional_account_id=str(professional) if is_plain_id(professional) else None,
        )  # fmt: skip


def _moved_or_broken(write: LifecycleWrite, row: StoredRow) -> str | None:
    try:
        return moved(write.seen, row.record(), write.had_token, row.has_password)
    except InstagramConfigError as exc:
        return f"its extras no longer read: {exc}"
