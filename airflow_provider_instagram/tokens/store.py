"""The token refresh's view of the accounts: listed through a transport, tokens read through the task SDK,
written back through the account writer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_instagram.account.extras import parse_extras
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.account.rest import RestTransport
from airflow_provider_instagram.account.writer import (
    AccountWriter,
    ConnectionTransport,
    LifecycleWrite,
    app_connection_ids,
)
from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID, AirflowApiClient
from airflow_provider_instagram.exceptions import InstagramConfigError, TokenNotWritableError, TokenStoreError
from airflow_provider_instagram.masking import mark_masked


@dataclass(frozen=True)
class StoredToken:
    """An account's token and its connection's full extras, as the store read them.

    :param token: the token string (the connection's password), or ``None`` when empty.
    :param extra: every extra of the connection, lifecycle fields included.
    :param connection: the connection object itself, where the store has one (a hook can reuse it).
    """

    token: str | None = field(repr=False)
    extra: Mapping[str, Any] = field(repr=False)
    connection: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class AccountListing:
    """Every account a store lists.

    :param records: the accounts whose extras read.
    :param unreadable: per connection whose extras do not read, why (with the fix).
    """

    records: list[AccountRecord]
    unreadable: dict[str, str] = field(default_factory=dict)


class TokenStore:
    """Lists accounts and writes their refreshed tokens over a transport; reads tokens through the task SDK.

    :param transport: where the connections are listed and written.
    """

    def __init__(self, transport: ConnectionTransport) -> None:
        self.transport = transport
        self.writer = AccountWriter(transport)

    def list_accounts(self) -> AccountListing:
        """Every ``instagram`` account connection the transport can write, with its record (no secret). App
        connections (those other connections name in ``app_conn_id``) hold an app secret, not a token: left out."""
        listing = AccountListing([])
        rows = self.transport.instagram_rows()
        apps = app_connection_ids(rows)
        for row in rows:
            if row.conn_id in apps:
                continue
            try:
                listing.records.append(row.record())
            except InstagramConfigError as exc:
                listing.unreadable[row.conn_id] = str(exc)
        return listing

    def describe(self, conn_id: str) -> AccountRecord:
        """One connection's record; ``TokenNotWritableError`` when the transport cannot write it."""
        row = self.transport.rows([conn_id]).get(conn_id)
        if row is None:
            raise TokenNotWritableError(
                f"Connection {conn_id!r} is not in Airflow's metadata database (it comes from an environment "
                "variable or a secrets backend), so its token cannot be written back. Fix: create it in the "
                "metadata database (UI Admin > Connections, or `airflow connections add`), or set its extra "
                "auto_refresh to false and refresh the token where it is stored"
            )
        return row.record()

    def read(self, conn_id: str) -> StoredToken:
        """The account's token and extras, read through the task SDK (the secret values, unmasked)."""
        from airflow.sdk import BaseHook

        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # the SDK raises AirflowNotFoundException and friends, with no token in them
            raise TokenStoreError(f"Cannot read connection {conn_id!r}: {exc}") from exc
        mark_masked(conn.password)  # the SDK masked it while reading; parse_extras does not mask again
        return StoredToken(token=conn.password or None, extra=parse_extras(conn.extra, conn_id), connection=conn)

    def save_many(self, writes: Sequence[LifecycleWrite]) -> list[TokenStoreError | None]:
        """Make every write over the row as it is now; per write ``None`` when it landed, else why not."""
        return self.writer.save_refreshes(writes)


class AirflowApiTokenStore(TokenStore):
    """The default token store: Airflow's REST API, the one write path tasks have.

    :param api_conn_id: connection with the API server URL (host), and the login and password of a user
        allowed to read and edit connections.
    :param client: a ready client (tests, benchmarks); built from ``api_conn_id`` on first use otherwise.
    """

    def __init__(self, api_conn_id: str = DEFAULT_API_CONN_ID, *, client: AirflowApiClient | None = None) -> None:
        self.api_conn_id = api_conn_id
        factory = None if client is not None else (lambda: AirflowApiClient.from_connection(api_conn_id))
        super().__init__(RestTransport(client, client_factory=factory))
