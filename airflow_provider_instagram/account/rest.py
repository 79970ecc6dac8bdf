"""The REST transport of the account writer: Airflow's public REST API (tasks, the command line, the demo)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.writer import Change, ConnectionTransport, RowWrite, StoredRow
from airflow_provider_instagram.airflow_api import BULK_SIZE, AirflowApiClient
from airflow_provider_instagram.exceptions import TokenStoreError

log = logging.getLogger(__name__)


def stored_row(answer: Mapping[str, Any]) -> StoredRow:
    """A connection as the REST API answers it (its password shows as ``***`` when set)."""
    return StoredRow(
        conn_id=str(answer["connection_id"]), conn_type=answer.get("conn_type"), extra=answer.get("extra"),
        has_password=bool(answer.get("password")),
    )  # fmt: skip


class RestTransport(ConnectionTransport):
    """Reads and writes connections through Airflow's REST API.

    Each write sends the row's whole new extra over the one just read; the API answers secret extras as ``***``,
    and sent back unchanged the server keeps their stored values. The REST API cannot clear a password.

    :param client: the REST client (built lazily by ``client_factory`` where not given).
    :param client_factory: builds the client on first use.
    """

    def __init__(
        self, client: AirflowApiClient | None = None, *, client_factory: Callable[[], AirflowApiClient] | None = None
    ) -> None:
        if client is None and client_factory is None:
            raise ValueError("give a client or a client_factory")
        self._client = client
        self._factory = client_factory

    @property
    def client(self) -> AirflowApiClient:
        """The REST client, built on first use."""
        if self._client is None:
            assert self._factory is not None
            self._client = self._factory()
        return self._client

    def rows(self, conn_ids: Sequence[str]) -> dict[str, StoredRow]:
        return {conn_id: stored_row(found) for conn_id, found in self.client.find_connections(conn_ids).items()}

    def instagram_rows(self) -> list[StoredRow]:
        return [stored_row(c) for c in self.client.iter_connections() if c.get("conn_type") == keys.CONN_TYPE]

    def edit(self, conn_id: str, change: Change) -> bool | None:
        found = self.client.find_connection(conn_id)
        row = stored_row(found) if found is not None else None
        write = change(row)
        if write is None:
            return None
        if row is None:
            body = {"connection_id": conn_id, "conn_type": keys.CONN_TYPE, **_fields(conn_id, write)}
            self.client.create_connection(body)
            return True
        self._patch(conn_id, str(row.conn_type), write)
        return False

    def _patch(self, conn_id: str, conn_type: str, write: RowWrite) -> None:
        answer = self.client.patch_connection(conn_id, conn_type, _fields(conn_id, write))
        # A 200 is not proof: a malformed update_mask updates nothing and still answers 200. Check the echo.
        written = {k: v for k, v in keys.parse_extras(answer.get("extra"), conn_id).items() if k in keys.ACCOUNT_KEYS}
        expected = {k: v for k, v in write.extras.items() if k in keys.ACCOUNT_KEYS}
        if written != expected:
            raise TokenStoreError(
                f"The Airflow API accepted the update of connection {conn_id!r} but the account fields read back "
                f"({sorted(written)}) are not the ones sent: it did not apply it, or another writer changed the row "
                "at the same moment. Nothing is assumed saved; the next run looks again"
            )

    def edit_many(
        self, conn_ids: Sequence[str], change: Callable[[str, StoredRow | None], RowWrite | None]
    ) -> dict[str, TokenStoreError | None]:
        """One bulk read of the rows, then bulk PATCHes of up to ``BULK_SIZE`` (one transaction each, far cheaper
        for the API server than one PATCH per account). A row a bulk call did not confirm is edited again on its
        own: read again, changed again (``change`` may now leave it alone), written."""
        errors: dict[str, TokenStoreError | None] = dict.fromkeys(conn_ids)
        for start in range(0, len(conn_ids), BULK_SIZE):
            chunk = conn_ids[start : start + BULK_SIZE]
            try:
                current = self.rows(chunk)
            except TokenStoreError as exc:
                errors.update(dict.fromkeys(chunk, exc))
                continue
            entities = {}
            for conn_id in chunk:
                row = current.get(conn_id)
                try:
                    write = change(conn_id, row)
                    if write is not None and row is None:
                        raise TokenStoreError(f"Connection {conn_id!r} does not exist: nothing to update")
                    if write is not None and row is not None:
                        entities[conn_id] = {"connection_id": conn_id, "conn_type": row.conn_type,
                                             **_fields(conn_id, write)}  # fmt: skip
                except TokenStoreError as exc:
                    errors[conn_id] = exc
            for conn_id in set(entities) - self._bulk_update(list(entities.values())):
                try:
                    self.edit(conn_id, lambda row, c=conn_id: change(c, row))  # type: ignore[misc]
                except TokenStoreError as exc:
                    errors[conn_id] = exc
        return errors

    def _bulk_update(self, entities: list[dict[str, Any]]) -> set[str]:
        """The ids one bulk PATCH confirms; none when it fails (each row is then edited on its own)."""
        if not entities:
            return set()
        try:
            return self.client.bulk_update_connections(entities)
        except TokenStoreError as exc:
            log.warning("A bulk write of %d connections failed (%s); writing them one by one", len(entities), exc)
            return set()


def _fields(conn_id: str, write: RowWrite) -> dict[str, Any]:
    fields = {k: v for k, v in write.fields.items() if k != "password"}
    if "password" in write.fields:
        if not write.fields["password"]:
            raise TokenStoreError(
                f"Clearing the token of connection {conn_id!r} needs the metadata database (the API server's own "
                "writes): Airflow's REST API cannot clear a password"
            )
        fields["password"] = write.fields["password"]
    return {**fields, "extra": json.dumps(dict(write.extras))}
