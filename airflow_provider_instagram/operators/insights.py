"""``InstagramInsightsToStorageOperator``: one account's media and account insights, exported to object storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate
from airflow_provider_instagram.clock import utcnow
from airflow_provider_instagram.deletion.purge import delete_files
from airflow_provider_instagram.exceptions import AccountRevokedError, SnapshotDayPastError
from airflow_provider_instagram.export.formats import check_format
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.insights.catalog import MetricCatalog
from airflow_provider_instagram.insights.export import AccountDays, InsightsExport
from airflow_provider_instagram.insights.policy import RefreshPolicy
from airflow_provider_instagram.insights.reader import CallBudget
from airflow_provider_instagram.insights.schema import ACCOUNT_INSIGHTS, AUDIENCE, MEDIA_INSIGHTS
from airflow_provider_instagram.operators.arguments import TEMPLATE, public_uri, storage_path, usable_account
from airflow_provider_instagram.operators.lineage import INSIGHTS_READS, ExportLineage, nothing
from airflow_provider_instagram.options import ACCOUNT_BACKFILL_DAYS

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context


class InstagramInsightsToStorageOperator(BaseOperator):
    """Export one Instagram account's insights to object storage, spending calls where values still change.

    Writes, next to the media export (Hive partitions, the same formats and atomic publish):
    ``media_insights/user_id=<id>/dt=<snapshot day>/`` (one row per media, metric and breakdown value),
    ``account_insights/user_id=<id>/dt=<day>/`` and ``audience_demographics/user_id=<id>/dt=<snapshot day>/``.
    Media younger than ``hot_days`` are read every run, older ones at least every ``max_age_days`` (longest-unread
    first, spread over the runs); the call budget defers the rest to the next run. A metric Instagram refuses
    (code 100: retired, unsupported or incompatible) is dropped for the rest of the run with one warning: the run
    goes on. A value Instagram does not give is a row with no value and a ``reason``, never a 0.

    :param instagram_conn_id: the account's ``instagram`` connection (its token needs
        ``instagram_business_manage_insights``). (templated)
    :param destination: the export's root (as for ``InstagramMediaToStorageOperator``). (templated)
    :param file_format: ``parquet`` (default), ``jsonl`` or ``csv``. (templated)
    :param snapshot_day: the day the values are filed under (ISO date; default: the day the run's data interval
        ends, else today in UTC). A rerun of that day replaces its partitions. (templated)
    :param hot_days: media younger than this are read every run.
    :param max_age_days: older media are read at least this often.
    :param max_calls: media insights calls per run at most (``None``: no count limit).
    :param usage_ceiling_percent: stop reading media once Instagram's usage headers report this much (1 to 100).
    :param concurrency: media calls in flight at once (1 to 32).
    :param breakdowns: also read media metrics' breakdowns (one more call per media and breakdown).
    :param stories: also read the live stories' insights (one more call per run; a story's insights last 24
        hours, so only a run at least daily keeps them).
    :param account_backfill_days: fill missing account-insights days this far back (1 to 730); ``0`` reads no
        account insights.
    :param account_lag_days: account days re-read every run (Instagram's values lag up to 48 hours); a day is
        complete once read this many days after it, with values.
    :param timeframe: audience demographics' timeframe (``this_week`` or ``this_month``); ``None`` reads none.
    :param include_metrics: ask for exactly these metrics (media and account), opt-in ones included.
    :param exclude_metrics: never ask for these (a metric Meta retired after this release, say).
    :param add_metrics: catalog entries to add or replace (``{"name", "product_types"...}``, ``scope`` ``media``
        or ``account``): a metric Meta adds, without waiting for a release.
    :return: (XCom) the run's counts (``InsightsSummary``): media read, deferred, failed and carried over, rows per
        table, reasons, the metrics dropped, API calls, the snapshot and account days; no secret.
    :raises ValueError: an option is out of its bounds, or names a metric the catalog does not know (at
        construction).
    :raises InstagramPermissionError: the token lacks ``instagram_business_manage_insights``.
    :raises InstagramConfigError: the connection is a Basic Display one (no insights).

    .. seealso::
        https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights and
        https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights
    """

    template_fields: Sequence[str] = ("instagram_conn_id", "destination", "file_format", "snapshot_day")
    ui_color = "#f7e8d8"

    def __init__(
        self, *, instagram_conn_id: str = InstagramHook.default_conn_name, destination: str,
        file_format: str = "parquet", snapshot_day: str | date | None = None, hot_days: int = 7, max_age_days: int = 30,
        max_calls: int | None = None, usage_ceiling_percent: int = 75, concurrency: int = 8, breakdowns: bool = False,
        stories: bool = True, account_backfill_days: int | str = 30, account_lag_days: int = 3,
        timeframe: str | None = "this_month",
        include_metrics: Sequence[str] | None = None, exclude_metrics: Sequence[str] = (),
        add_metrics: Sequence[Mapping[str, Any]] = (), **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        if not TEMPLATE.search(str(file_format)):
            check_format(file_format)
        self.instagram_conn_id, self.destination, self.file_format = instagram_conn_id, destination, file_format
        self.snapshot_day = snapshot_day
        # Checked now, at the DAG's parse: a bad option fails the DAG, not every run.
        self.policy = RefreshPolicy(hot_days, max_age_days)
        self.budget = CallBudget(max_calls, usage_ceiling_percent)
        backfill = ACCOUNT_BACKFILL_DAYS.check(account_backfill_days)
        self.account_days = AccountDays(backfill, account_lag_days) if backfill else None
        self.catalog = MetricCatalog.bundled().customised(include=include_metrics, exclude=exclude_metrics,
                                                          add=add_metrics)  # fmt: skip
        self.concurrency, self.breakdowns, self.stories, self.timeframe = concurrency, breakdowns, stories, timeframe
        self._lineage: ExportLineage | None = None  # what execute wrote, for OpenLineage

    def day(self, context: Context) -> date:
        """The snapshot day: the argument, else the day the run's data interval ends, else today (UTC)."""
        if self.snapshot_day:
            return self.snapshot_day if isinstance(self.snapshot_day, date) else date.fromisoformat(self.snapshot_day)
        end = context.get("data_interval_end") or utcnow()
        return end.date()

    def execute(self, context: Context) -> dict[str, Any]:
        day = self.day(context)
        connection = usable_account(self.instagram_conn_id)
        destination = storage_path(self.destination)
        gate = PublishGate(self.instagram_conn_id)
        export = InsightsExport(
            lambda: InstagramHook(instagram_conn_id=self.instagram_conn_id, connection=connection), destination, day,
            conn_id=self.instagram_conn_id, catalog=self.catalog, policy=self.policy, account_days=self.account_days,
            timeframe=self.timeframe, budget=self.budget, concurrency=self.concurrency, breakdowns=self.breakdowns,
            stories=self.stories, file_format=self.file_format, before_publish=gate.check,
        )  # fmt: skip
        try:
            summary = export.run()
        except (AccountRevokedError, SnapshotDayPastError) as exc:
            raise AirflowSkipException(str(exc)) from None
        if gate.deletion_requested():  # arrived while the files were published: take them back
            delete_files(destination, [summary.user_id])
            raise AirflowSkipException(gate.deletion_note())
        summary.destination = public_uri(destination)
        written = [MEDIA_INSIGHTS] + [t for t in (ACCOUNT_INSIGHTS, AUDIENCE) if summary.rows.get(t) is not None]
        graph_url = InstagramHook(instagram_conn_id=self.instagram_conn_id, connection=connection).params.graph_url
        self._lineage = ExportLineage(summary.destination, summary.user_id, graph_url, tuple(written), INSIGHTS_READS)
        for dropped in summary.metrics_dropped:
            self.log.warning("Dropped this run: %s metric %s (%s)", dropped["scope"], dropped["metric"],
                             dropped["message"])  # fmt: skip
        self.log.info("Insights exported: %s", summary.to_dict())
        return summary.to_dict()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage (only asked for when apache-airflow-providers-openlineage is installed): the account's edges
        and insights read as inputs, the insights partitions written as outputs; none when nothing was written."""
        return self._lineage.operator_lineage() if self._lineage else nothing()
