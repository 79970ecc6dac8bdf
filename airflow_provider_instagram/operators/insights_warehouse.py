"""``InstagramInsightsToSqlOperator``: one account's exported insights of one run, loaded into SQL tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.operators.arguments import TEMPLATE, as_date, public_uri, storage_path
from airflow_provider_instagram.operators.sql_load import BaseInstagramToSqlOperator
from airflow_provider_instagram.options import BATCH_ROWS
from airflow_provider_instagram.warehouse.insights_tables import insights_table_specs
from airflow_provider_instagram.warehouse.insights_view import LatestValues
from airflow_provider_instagram.warehouse.load import TableBatches
from airflow_provider_instagram.warehouse.source import ExportedParts, part_batches

if TYPE_CHECKING:
    from airflow.sdk import Context


class InstagramInsightsToSqlOperator(BaseInstagramToSqlOperator):
    """Load one account's exported insights of one run (the insights export's files) into SQL tables.

    Tables ``<prefix>media_insights`` (key ``user_id, media_id, metric, breakdown, breakdown_value,
    snapshot_day``), ``<prefix>account_insights`` (key ``user_id, metric, period, breakdown, breakdown_value,
    day``) and ``<prefix>audience_demographics`` (key ``user_id, metric, timeframe, breakdown, breakdown_value,
    snapshot_day``) are created on first load and gain the export's new columns, like the media load's. Rows are
    upserted by key; the account's rows of the snapshot day (media insights, demographics) and of the account days
    that the files no longer hold are deleted, and no other day is touched: a metric that stops getting rows keeps
    its history. The view ``<prefix>media_insights_latest`` (one row per media, one column per metric: its latest
    non-null total) is created again from the metrics the table holds. All of it is one transaction: a failure
    leaves the tables and the view as they were.

    .. seealso::
        https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights and
        https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights

    :param source: the export's root, as given to the export (``file:///...``, ``s3://conn@bucket/prefix``).
        (templated)
    :param sql_conn_id: a connection whose hook is a common.sql ``DbApiHook`` (postgres, sqlite, duckdb...).
        (templated)
    :param snapshot_day: the ISO day (``2026-11-28``, ``{{ ds }}``) whose media insights and audience
        demographics to load: its ``media_insights`` part is required, its ``audience_demographics`` part is
        loaded when there is one. (templated)
    :param user_id: the account's id (``/me`` ``id``, the export's ``user_id=`` partition). (templated)
    :param instagram_conn_id: the account's connection: where ``user_id`` comes from when it is not given (its
        ``user_id`` extra, else one ``/me`` call), and what is asked right before the commit whether the account
        was revoked meanwhile (then nothing is loaded). (templated)
    :param account_first_day: the first ISO day of account insights to load (the other one alone: that one day;
        neither: no account insights). (templated)
    :param account_last_day: the last ISO day of account insights to load, inclusive; every day from the first
        must have its ``account_insights`` part. (templated)
    :param table_prefix: prefix of the tables' and the view's names.
    :param batch_rows: rows staged per batch (memory is bounded by one batch and one open file); 1 to 1,000,000.
        (templated)
    :param hook_params: passed to the SQL connection's ``get_hook`` (e.g. a schema or database).
    :return: (XCom) counts only: ``user_id``, ``snapshot_day``, ``account_days`` (``[first, last]`` or ``None``),
        ``sql_conn_id``, ``tables`` (per table ``table``, ``rows``, ``deleted``, ``user_rows``, ``columns_added``,
        ``seconds``) and ``view`` (``name``, ``metrics``: its metric columns).
    :raises ValueError: a day is not an ISO date, ``snapshot_day`` is missing, the account days are reversed, or an
        option is out of its bounds: at construction, or in ``execute`` for a templated value.
    :raises ExportNotFoundError: the snapshot day's ``media_insights`` part, or an account day's
        ``account_insights`` part, is missing (before the warehouse is touched).
    """

    template_fields: Sequence[str] = (
        "source", "sql_conn_id", "user_id", "instagram_conn_id", "snapshot_day", "account_first_day",
        "account_last_day", "batch_rows",
    )  # fmt: skip

    def __init__(
        self, *, source: str | ObjectStoragePath, sql_conn_id: str, snapshot_day: str | date,
        user_id: str | None = None, instagram_conn_id: str | None = None, account_first_day: str | date | None = None,
        account_last_day: str | date | None = None, table_prefix: str = "instagram_", batch_rows: int | str = 10_000,
        hook_params: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(
            source=source, sql_conn_id=sql_conn_id, user_id=user_id, instagram_conn_id=instagram_conn_id,
            table_prefix=table_prefix, batch_rows=batch_rows, hook_params=hook_params, **kwargs,
        )  # fmt: skip
        self.snapshot_day, self.account_first_day, self.account_last_day = given = (
            snapshot_day, account_first_day, account_last_day,
        )  # fmt: skip
        if not any(isinstance(day, str) and TEMPLATE.search(day) for day in given):
            self.days()  # literal days are checked when the DAG is parsed

    def days(self) -> tuple[ExportWindow, ExportWindow | None]:
        """The snapshot day, and the account days (``None``: no account insights), as windows of whole days.

        :raises ValueError: a day is not an ISO date, ``snapshot_day`` is missing, or the account days are reversed.
        """
        snapshot = as_date(self.snapshot_day, "snapshot_day")
        if snapshot is None:
            raise ValueError("snapshot_day is required: the day whose media insights to load, e.g. '{{ ds }}'")
        first = as_date(self.account_first_day, "account_first_day")
        last = as_date(self.account_last_day, "account_last_day")
        if first is None and last is None:
            return ExportWindow(snapshot, snapshot), None
        first, last = first or last, last or first
        assert first is not None and last is not None
        if first > last:
            raise ValueError(
                f"account_first_day {first.isoformat()} is after account_last_day {last.isoformat()}: swap them"
            )
        return ExportWindow(snapshot, snapshot), ExportWindow(first, last)

    def execute(self, context: Context) -> dict[str, Any]:
        batch_rows = BATCH_ROWS.check(self.batch_rows)  # rendered templates are checked here, before any I/O
        snapshot, account = self.days()
        user_id = self._user_id()
        source = storage_path(self.source, "source")
        tables = self._tables(ExportedParts(source, user_id), snapshot, account, batch_rows)
        read = [table.spec.source for table, parts in tables if parts]
        self.log.info("Loading user %s's insights of %s (account days: %s): %d part(s) of %s from %s into %s",
                      user_id, snapshot.last_day.isoformat(), account.describe() if account else "none",
                      sum(parts for _, parts in tables), read, public_uri(source), self.sql_conn_id)  # fmt: skip
        view, metrics = LatestValues(tables[0][0].spec), []
        loads = self.load_tables(
            user_id, source, read, [table for table, _ in tables],
            after_tables=lambda cursor: metrics.extend(view.rebuild(cursor)),
        )  # fmt: skip
        summary = {
            "user_id": user_id, "snapshot_day": snapshot.last_day.isoformat(),
            "account_days": [str(account.first_day), str(account.last_day)] if account else None,
            "sql_conn_id": self.sql_conn_id, "tables": [load.to_dict() for load in loads],
            "view": {"name": view.name, "metrics": metrics},
        }  # fmt: skip
        self.log.info("Loaded %s", summary)
        return summary

    def _tables(
        self, exported: ExportedParts, snapshot: ExportWindow, account: ExportWindow | None, batch_rows: int
    ) -> list[tuple[TableBatches, int]]:
        """Each table's rows (media insights first) and its number of parts, all found before the warehouse is
        touched: the snapshot day's media insights part is required, its demographics part optional, and every
        account day's part required when account days are given."""
        media, account_table, audience = insights_table_specs(self.table_prefix)
        plan = [
            (media, snapshot, True),
            (audience, snapshot, False),
            *([(account_table, account, True)] if account else []),
        ]
        tables = []
        for spec, window, required in plan:
            parts = exported.parts(spec.source, window, required=required)
            days = tuple(window.days()) if parts else ()  # no part (no demographics read) is not an empty day
            tables.append((TableBatches(spec, part_batches(parts, spec.schema, batch_rows), days), len(parts)))
        return tables
