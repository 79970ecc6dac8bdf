"""What the operators that load one account's exported files into SQL tables share: their common arguments, the
SQL hook, the account's id, the publish gate, the one transaction and the lineage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate
from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.deletion.purge import delete_rows, user_tables
from airflow_provider_instagram.exceptions import AccountRevokedError, InstagramConfigError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.arguments import TEMPLATE, checked_unless_templated, public_uri
from airflow_provider_instagram.operators.lineage import LoadLineage, nothing
from airflow_provider_instagram.options import BATCH_ROWS
from airflow_provider_instagram.warehouse.dialects import dialect_of
from airflow_provider_instagram.warehouse.load import TableBatches, TableLoad, WarehouseLoader

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.providers.openlineage.extractors import OperatorLineage


class BaseInstagramToSqlOperator(BaseOperator):
    """The base of the operators that load one account's exported files into SQL tables, in one transaction.

    :param source: the export's root, as given to the export (``file:///...``, ``s3://conn@bucket/prefix``).
    :param sql_conn_id: a connection whose hook is a common.sql ``DbApiHook`` (postgres, sqlite, duckdb...).
    :param user_id: the account's id (``/me`` ``id``, the export's ``user_id=`` partition).
    :param instagram_conn_id: the account's connection: where ``user_id`` comes from when it is not given (its
        ``user_id`` extra, else one ``/me`` call), and what is asked right before the commit whether the account
        was revoked meanwhile (then nothing is loaded).
    :param table_prefix: prefix of the tables' names.
    :param batch_rows: rows staged per batch (memory is bounded by one batch and one open file); 1 to 1,000,000.
    :param hook_params: passed to the SQL connection's ``get_hook`` (e.g. a schema or database).
    :raises ValueError: ``batch_rows`` is out of its bounds, ``table_prefix`` is not a plain word, or ``user_id``
        is not a plain id.
    """

    ui_color = "#d8e8f7"

    def __init__(
        self, *, source: str | ObjectStoragePath, sql_conn_id: str, user_id: str | None = None,
        instagram_conn_id: str | None = None, table_prefix: str = "instagram_", batch_rows: int | str = 10_000,
        hook_params: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        if user_id and not TEMPLATE.search(str(user_id)):
            checked_id(user_id, "user_id")
        if not table_prefix.replace("_", "").isalnum():
            raise ValueError(f"table_prefix {table_prefix!r} may hold only letters, digits and underscores")
        self.source, self.sql_conn_id, self.user_id = source, sql_conn_id, user_id
        self.instagram_conn_id, self.table_prefix = instagram_conn_id, table_prefix
        self.batch_rows = checked_unless_templated(BATCH_ROWS, batch_rows)
        self.hook_params = hook_params or {}
        self._lineage: tuple[DbApiHook, LoadLineage] | None = None  # what execute read and loaded, for OpenLineage

    def load_tables(
        self, user_id: str, source: ObjectStoragePath, read: Sequence[str], tables: list[TableBatches],
        after_tables: Callable[[Any], None] = lambda cursor: None,
    ) -> list[TableLoad]:  # fmt: skip
        """Load ``tables`` in one transaction, gated by the account's connection; a revoked account or a deletion
        request that arrived meanwhile skips the task, leaving none of the account's rows.

        :param user_id: the account's id.
        :param source: the export's root the files were read from.
        :param read: the export folders the files are in (for lineage).
        :param tables: the rows to load.
        :param after_tables: statements run with the cursor once the tables are loaded, in the same transaction.
        :return: what the load did to each table.
        :raises AirflowSkipException: the account was revoked, or its data's deletion requested, meanwhile.
        """
        hook = self.sql_hook()
        gate = self.publish_gate()
        connection = hook.get_conn()
        try:
            loads = WarehouseLoader(connection, dialect_of(connection, hook.placeholder)).load(
                user_id, tables, before_commit=gate.check if gate else lambda: None, after_tables=after_tables
            )
            if gate and gate.deletion_requested():  # arrived while the rows were committed: take them back
                delete_rows(connection, [user_id], hook.placeholder, user_tables(self.table_prefix))
                raise AirflowSkipException(gate.deletion_note())
        except AccountRevokedError as exc:
            raise AirflowSkipException(str(exc)) from None
        finally:
            connection.close()
        self._lineage = hook, LoadLineage(public_uri(source), user_id, tuple(read), tuple(load.table for load in loads))
        return loads

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage (only asked for when apache-airflow-providers-openlineage is installed): the export's
        ``user_id=`` partitions read as inputs, the tables loaded as outputs (named in ``operators/lineage.py``, with
        the SQL hook's own naming where it has one); none when nothing was loaded (skipped or failed)."""
        if self._lineage is None:
            return nothing()
        hook, lineage = self._lineage
        return lineage.operator_lineage(hook, BaseHook.get_connection(self.sql_conn_id))

    def publish_gate(self) -> PublishGate | None:
        """What is asked, right before and after the commit, whether the account's data may still be loaded
        (``None`` without ``instagram_conn_id``: a load by ``user_id`` alone has no connection to ask)."""
        return PublishGate(self.instagram_conn_id) if self.instagram_conn_id else None

    def sql_hook(self) -> DbApiHook:
        """The SQL connection's common.sql hook, or an error that names the connection and the fix."""
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        connection = BaseHook.get_connection(self.sql_conn_id)
        hook = connection.get_hook(hook_params=self.hook_params)
        if not isinstance(hook, DbApiHook):
            raise InstagramConfigError(
                f"Connection {self.sql_conn_id!r} (type {connection.conn_type!r}) has no SQL hook: use a postgres, "
                "sqlite, duckdb or other common.sql connection, and install its provider package"
            )
        return hook

    def _user_id(self) -> str:
        """The account's id, checked before it names a folder to read: the argument, else the connection's
        ``user_id`` extra, else (a connection the refresh has not confirmed yet) what ``/me`` answers."""
        if self.user_id:
            return checked_id(self.user_id, "user_id")
        if not self.instagram_conn_id:
            raise InstagramConfigError("Give user_id, or instagram_conn_id to read the user id from")
        hook = InstagramHook(instagram_conn_id=self.instagram_conn_id)
        return hook.account_user_id()
