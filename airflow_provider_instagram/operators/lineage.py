"""The operators' OpenLineage datasets: the one owner of their names (https://openlineage.io/docs/spec/naming).

An operator records here, during ``execute``, what it learned (the account's id, the partitions and tables it
touched) and builds its ``OperatorLineage`` from that in ``get_openlineage_facets_on_complete``, which runs in the
same process right after. OpenLineage is optional: it is imported only when lineage is asked for, which only
happens when apache-airflow-providers-openlineage is installed. No name holds a connection id, a token or a query
string.

- An export partition ``<destination>/<table>/user_id=<id>`` is named as Airflow names the asset of the same URI
  (the common.io and amazon providers' converters), so that the assets and the datasets are the same thing:
  ``file`` + the absolute path, ``s3://<bucket>`` + the key (any other store: ``<scheme>://<authority>`` + the key).
- The account read: namespace the Graph API's ``<scheme>://<host>[:<port>]``, names ``<user id>/media`` (the
  media edge) and ``<user id>`` (the profile), as the API's paths name them.
- A warehouse table: the SQL hook's own OpenLineage naming where it has one: its namespace, and
  ``<database>.<current schema>.<table>`` (PostgreSQL: ``postgres://<host>:<port>``, ``<database>.public.<table>``);
  else SQLite ``sqlite://<file>``, ``main.<table>``, DuckDB ``duckdb://<file>``, ``<file stem>.main.<table>`` (as
  OpenLineage's dbt integration names DuckDB), and any other ``<conn type>://<host>[:<port>]``,
  ``[<schema>.]<table>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.export.staging import public_uri

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.providers.openlineage.extractors import OperatorLineage

EXPORT_TABLES = ("media", "profiles")
_LOCAL = ("", "file", "local")


def _dataset(namespace: str, name: str) -> Dataset:
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=namespace, name=name)


def _lineage(inputs: list[Dataset], outputs: list[Dataset]) -> OperatorLineage:
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=inputs, outputs=outputs)


def nothing() -> OperatorLineage:
    """No datasets: the task did not get as far as writing (skipped, failed)."""
    return _lineage([], [])


def _authority(url: str) -> str:
    """``host[:port]`` of a URL, without user, password, path or query."""
    split = urlsplit(url)
    return f"{split.hostname or ''}:{split.port}" if split.port else split.hostname or ""


def partition_dataset(destination: str, table: str, user_id: str) -> Dataset:
    """The partition ``<destination>/<table>/user_id=<id>`` (``destination``: any storage URL; a connection id in
    it is left out)."""
    split = urlsplit(public_uri(destination, table, f"user_id={checked_id(user_id)}"))
    if split.scheme in _LOCAL:
        return _dataset(f"file://{split.netloc}" if split.netloc else "file", split.path)
    return _dataset(f"{split.scheme}://{split.netloc}", split.path.lstrip("/"))


ACCOUNT_READS = ("media", "")
"""The account's paths the media export reads: its media edge and its profile (the node itself)."""
INSIGHTS_READS = ("media", "stories", "insights", "media/insights")
"""The insights export's: the media and stories edges, the account's insights and its media's insights."""


def account_datasets(graph_url: str, user_id: str, reads: Sequence[str] = ACCOUNT_READS) -> list[Dataset]:
    """The account read through the Graph API at ``graph_url``: one dataset per path under its id."""
    namespace = f"{urlsplit(graph_url).scheme}://{_authority(graph_url)}"
    owner = checked_id(user_id)
    return [_dataset(namespace, f"{owner}/{path}" if path else owner) for path in reads]


@dataclass(frozen=True)
class ExportLineage:
    """What an export wrote, as its lineage names it.

    :param destination: the export's root (a connection id in it is left out).
    :param user_id: the account's id.
    :param graph_url: the Graph API base URL the account was read from.
    :param tables: the tables written (``media``, ``profiles``, and ``files`` when media files were copied).
    :param reads: the account's paths read (:data:`ACCOUNT_READS`, :data:`INSIGHTS_READS`).
    """

    destination: str
    user_id: str
    graph_url: str
    tables: tuple[str, ...] = EXPORT_TABLES
    reads: tuple[str, ...] = ACCOUNT_READS

    def operator_lineage(self) -> OperatorLineage:
        outputs = [partition_dataset(self.destination, table, self.user_id) for table in self.tables]
        return _lineage(account_datasets(self.graph_url, self.user_id, self.reads), outputs)


@dataclass(frozen=True)
class LoadLineage:
    """What a warehouse load read and wrote, as its lineage names it.

    :param source: the export's root it read.
    :param user_id: the account's id (its partitions were read).
    :param read: the export tables it read parts of.
    :param tables: the warehouse tables it loaded.
    """

    source: str
    user_id: str
    read: tuple[str, ...]
    tables: tuple[str, ...]

    def operator_lineage(self, hook: DbApiHook, connection: Any) -> OperatorLineage:
        """:param connection: the hook's Airflow connection (not a DB-API one)."""
        inputs = [partition_dataset(self.source, table, self.user_id) for table in self.read]
        return _lineage(inputs, table_datasets(hook, connection, self.tables))


def table_datasets(hook: DbApiHook, connection: Any, tables: Sequence[str]) -> list[Dataset]:
    """The warehouse tables behind ``hook``: its own OpenLineage naming where it has one (it may run one query,
    e.g. PostgreSQL's current schema), else ours."""
    info = hook.get_openlineage_database_info(connection)
    if info is None:
        namespace, prefix = _namespace_without_hook_support(connection)
        return [_dataset(namespace, prefix + table) for table in tables]
    from airflow.providers.openlineage.sqlparser import SQLParser

    # Unqualified, the tables land in the connection's current schema, which the hook tells (PostgreSQL asks the
    # server); a part the hook leaves empty is left out of the name.
    parts: Iterable[str | None] = (info.database, hook.get_openlineage_default_schema())
    prefix = "".join(f"{part}." for part in parts if part)
    return [_dataset(SQLParser.create_namespace(info), prefix + table) for table in tables]


def _namespace_without_hook_support(connection: Any) -> tuple[str, str]:
    """Namespace and table-name prefix of a connection whose hook has no OpenLineage naming (only its type, host,
    port and schema are read: never its password or extras)."""
    kind, host = connection.conn_type, connection.host or ""
    if kind in ("sqlite", "duckdb"):  # a file (or in memory): the file's absolute path is the authority
        path = os.path.abspath(host) if host and host != ":memory:" else ""
        catalog = (PurePath(path).stem or "memory") if kind == "duckdb" else ""  # DuckDB's catalog; SQLite has none
        return f"{kind}://{path}" if path else kind, f"{catalog}.main." if catalog else "main."
    authority = f"{host}:{connection.port}" if host and connection.port else host
    return f"{kind}://{authority}" if authority else kind, f"{connection.schema}." if connection.schema else ""
