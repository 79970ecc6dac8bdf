"""``InstagramExportToSqlOperator``: one account's exported window, loaded into SQL tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.operators.arguments import (
    checked_unless_templated,
    public_uri,
    run_window,
    storage_path,
)
from airflow_provider_instagram.operators.sql_load import BaseInstagramToSqlOperator
from airflow_provider_instagram.options import BATCH_ROWS, LOOKBACK_DAYS
from airflow_provider_instagram.schema import profiles_in_todays_terms
from airflow_provider_instagram.warehouse.load import TableBatches
from airflow_provider_instagram.warehouse.source import ExportedParts, part_batches
from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec

if TYPE_CHECKING:
    from airflow.sdk import Context


class InstagramExportToSqlOperator(BaseInstagramToSqlOperator):
    """Load one account's exported media and profiles (``InstagramMediaToStorageOperator``'s files) into SQL tables.

    Tables ``<prefix>media`` (key ``user_id, id``) and ``<prefix>profiles`` (key ``id, exported_at``) are
    created on first load with typed columns, and gain the export's new columns as nullable ones. Rows are
    upserted by key, so reruns and look-back windows never duplicate a row; media rows of the window's days that
    the files no longer hold (deleted on Instagram) are removed. The whole load is one transaction: a failure
    leaves the tables as they were. Rows go in batches through a temporary staging table (``COPY`` on
    PostgreSQL, Arrow scans on DuckDB, ``executemany`` elsewhere), so memory stays bounded.

    :param source: the export's root, as given to the export (``file:///...``, ``s3://conn@bucket/prefix``).
        (templated)
    :param sql_conn_id: a connection whose hook is a common.sql ``DbApiHook`` (postgres, sqlite, duckdb...).
        (templated)
    :param user_id: the account's id (``/me`` ``id``, the export's ``user_id=`` partition). (templated)
    :param instagram_conn_id: the account's connection: where ``user_id`` comes from when it is not given (its
        ``user_id`` extra, else one ``/me`` call), and what is asked right before the commit whether the account
        was revoked meanwhile (then nothing is loaded). (templated)
    :param since: start of the window (default: the run's data interval start). (templated)
    :param until: end of the window, exclusive (default: the run's data interval end). (templated)
    :param lookback_days: also load this many days before ``since``; use the export's value (0 to 3660).
        (templated)
    :param full_snapshot: load every exported day of the account (and prune against all of them).
    :param table_prefix: prefix of the two tables' names.
    :param batch_rows: rows staged per batch (memory is bounded by one batch and one open file); 1 to 1,000,000.
        (templated)
    :param hook_params: passed to the SQL connection's ``get_hook`` (e.g. a schema or database).
    :raises ValueError: an option is out of its bounds (``airflow_provider_instagram.options``), or ``user_id`` is
        not a plain id: at construction, or in ``execute`` for a templated value.
    """

    template_fields: Sequence[str] = (
        "source", "sql_conn_id", "user_id", "instagram_conn_id", "since", "until", "lookback_days", "batch_rows",
    )  # fmt: skip

    def __init__(
        self, *, source: str | ObjectStoragePath, sql_conn_id: str, user_id: str | None = None,
        instagram_conn_id: str | None = None, since: Any = None, until: Any = None, lookback_days: int | str = 0,
        full_snapshot: bool = False, table_prefix: str = "instagram_", batch_rows: int | str = 10_000,
        hook_params: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(
            source=source, sql_conn_id=sql_conn_id, user_id=user_id, instagram_conn_id=instagram_conn_id,
            table_prefix=table_prefix, batch_rows=batch_rows, hook_params=hook_params, **kwargs,
        )  # fmt: skip
        self.since, self.until, self.full_snapshot = since, until, full_snapshot
        self.lookback_days = checked_unless_templated(LOOKBACK_DAYS, lookback_days)

    def execute(self, context: Context) -> dict[str, Any]:
        batch_rows = BATCH_ROWS.check(self.batch_rows)  # rendered templates are checked here, before any I/O
        window = run_window(context, self.since, self.until, LOOKBACK_DAYS.check(self.lookback_days),
                            self.full_snapshot)  # fmt: skip
        user_id = self._user_id()
        source = storage_path(self.source, "source")
        exported = ExportedParts(source, user_id)
        media, profiles = media_table_spec(self.table_prefix), profile_table_spec(self.table_prefix)
        media_parts = exported.parts("media", window, required=True)  # before touching the warehouse
        profile_parts = exported.parts("profiles", window, required=False)
        days = None if window.first_day is None else tuple(window.days())
        self.log.info("Loading user %s, %s: %d media and %d profile part(s) from %s into %s",
                      user_id, window.describe(), len(media_parts), len(profile_parts), public_uri(source),
                      self.sql_conn_id)  # fmt: skip
        loads = self.load_tables(
            user_id,
            source,
            ("media", "profiles") if profile_parts else ("media",),
            [
                TableBatches(media, part_batches(media_parts, media.schema, batch_rows), days),
                TableBatches(
                    profiles, map(profiles_in_todays_terms, part_batches(profile_parts, profiles.schema, batch_rows))
                ),
            ],
        )
        summary = {
            "user_id": user_id, "window": window.describe(), "sql_conn_id": self.sql_conn_id,
            "tables": [load.to_dict() for load in loads],
        }  # fmt: skip
        self.log.info("Loaded %s", summary)
        return summary
