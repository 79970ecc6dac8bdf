"""The metadata-database transport of the account writer: for code that runs inside the API server (the plugin).

Tasks may not touch the metadata database in Airflow 3 and never use this; the API server's own routes do, where
a REST round trip to itself would only add a second login. Rows are locked (``SELECT ... FOR UPDATE``) from the
read to the write, so that a read-modify-write here is atomic against every other writer of the same row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.writer import Change, ConnectionTransport, RowWrite, StoredRow
from airflow_provider_instagram.exceptions import TokenStoreError


def _stored(row: Any) -> StoredRow:
    return StoredRow(conn_id=row.conn_id, conn_type=row.conn_type, extra=row.extra, has_password=bool(row.password))


class MetadataDbTransport(ConnectionTransport):
    """Reads and writes connections in Airflow's metadata database through its ORM (API server only)."""

    def rows(self, conn_ids: Sequence[str]) -> dict[str, StoredRow]:
        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            found = session.scalars(select(Connection).where(Connection.conn_id.in_(list(conn_ids)))).all()
            return {row.conn_id: _stored(row) for row in found}

    def instagram_rows(self) -> list[StoredRow]:
        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            found = session.scalars(select(Connection).where(Connection.conn_type == keys.CONN_TYPE)).all()
            return [_stored(row) for row in found]

    def edit(self, conn_id: str, change: Change) -> bool | None:
        errors, written = self._edit_rows([conn_id], lambda _, row: change(row), create=True)
        if (error := errors[conn_id]) is not None:
            raise error
        return written.get(conn_id)

    def edit_many(
        self, conn_ids: Sequence[str], change: Callable[[str, StoredRow | None], RowWrite | None]
    ) -> dict[str, TokenStoreError | None]:
        return self._edit_rows(conn_ids, change, create=False)[0]

    def _edit_rows(
        self, conn_ids: Sequence[str], change: Callable[[str, StoredRow | None], RowWrite | None], *, create: bool
    ) -> tuple[dict[str, TokenStoreError | None], dict[str, bool]]:
        """One transaction: lock the rows, apply each change, write; the errors, and per row written whether it
        was created. A change that raises rolls back every row."""
        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        errors: dict[str, TokenStoreError | None] = dict.fromkeys(conn_ids)
        written: dict[str, bool] = {}
        with create_session() as session:
            query = select(Connection).where(Connection.conn_id.in_(list(conn_ids))).with_for_update()
            rows = {row.conn_id: row for row in session.scalars(query)}
            for conn_id in conn_ids:
                row = rows.get(conn_id)
                write = change(conn_id, _stored(row) if row is not None else None)
                if write is None:
                    continue
                if row is None and not create:
                    errors[conn_id] = TokenStoreError(f"Connection {conn_id!r} does not exist: nothing to update")
                    continue
                written[conn_id] = row is None
                _apply(session, row or _new(session, conn_id), write)
        return errors, written


def _new(session: Any, conn_id: str) -> Any:
    from airflow.models import Connection

    row = Connection(conn_id=conn_id, conn_type=keys.CONN_TYPE)
    session.add(row)
    return row


def _apply(session: Any, row: Any, write: RowWrite) -> None:
    from airflow.models import Connection
    from sqlalchemy import update

    for name, value in write.fields.items():
        if name != "password":
            setattr(row, name, value)
        elif value:
            row.set_password(value)
    row.set_extra(json.dumps(dict(write.extras)))
    if "password" in write.fields and not write.fields["password"]:  # Connection.set_password(None) keeps the old
        session.flush()
        table = Connection.__table__
        clear = update(table).where(table.c.conn_id == row.conn_id).values(password=None, is_encrypted=False)
        session.execute(clear)
