"""``InstagramMediaToStorageOperator``: one account's media and profile, exported to object storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias, BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate
from airflow_provider_instagram.deletion.purge import delete_files
from airflow_provider_instagram.exceptions import AccountRevokedError
from airflow_provider_instagram.export.formats import check_format
from airflow_provider_instagram.export.media_export import MediaExport
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.arguments import (
    TEMPLATE,
    checked_unless_templated,
    public_uri,
    run_window,
    storage_path,
    usable_account,
)
from airflow_provider_instagram.operators.lineage import EXPORT_TABLES, ExportLineage, nothing
from airflow_provider_instagram.options import LOOKBACK_DAYS, MAX_CONCURRENCY, SLICE_DAYS

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context


class InstagramMediaToStorageOperator(BaseOperator):
    """Export one Instagram account's media metadata (and optionally the media files) to object storage.

    Files land as Hive-style partitions, ``<destination>/media/user_id=<id>/dt=<YYYY-MM-DD>/part-00000.parquet``,
    plus one profile snapshot per run under ``<destination>/profiles/``. Each run owns the whole UTC days its
    window touches: it reads them completely and replaces their partitions, so a rerun replaces its own output
    and nothing else, and readers never see a partial file. A day without media gets an empty, well-formed part.

    :param instagram_conn_id: the account's ``instagram`` connection. (templated)
    :param destination: root of the export: ``file:///data/instagram``, ``s3://aws_conn@bucket/instagram``, any
        fsspec URL ``ObjectStoragePath`` accepts, or an ``ObjectStoragePath``. (templated)
    :param file_format: ``parquet`` (default), ``jsonl`` or ``csv``. (templated)
    :param since: start of the window (default: the run's data interval start). (templated)
    :param until: end of the window, exclusive (default: the run's data interval end). (templated)
    :param lookback_days: also re-read this many days before ``since`` (like and comment counts keep changing);
        0 to 3660 (to read everything, use ``full_snapshot``). (templated)
    :param full_snapshot: read every media the API serves, not a window.
    :param fields: media fields to request (default: every field the schema knows). (templated)
    :param copy_files: also copy the image/video bytes to ``<destination>/files/`` with their SHA-256.
    :param max_concurrency: time slices read side by side for long windows (backfills); 1 to 32. (templated)
    :param slice_days: windows longer than this are split into slices of at least this many days; 1 to 3660.
        (templated)
    :raises ValueError: an option is out of its bounds (``airflow_provider_instagram.options``) or unknown: at
        construction, or in ``execute`` for a templated value.

    Outlets: with a literal ``destination``, the ``media`` and ``profiles`` assets under it are the task's outlets
    by default. With a templated one, give ``outlets=[AssetAlias(...)]``: each run then records events for the
    assets of the destination it actually wrote (the bundled DAG does this).
    """

    template_fields: Sequence[str] = (
        "instagram_conn_id", "destination", "file_format", "since", "until", "fields", "lookback_days",
        "max_concurrency", "slice_days",
    )  # fmt: skip
    ui_color = "#f7d8e8"

    def __init__(
        self, *, instagram_conn_id: str = InstagramHook.default_conn_name,
        destination: str | ObjectStoragePath, file_format: str = "parquet", since: Any = None, until: Any = None,
        lookback_days: int | str = 0, full_snapshot: bool = False, fields: Sequence[str] | None = None,
        copy_files: bool = False, max_concurrency: int | str = 8, slice_days: int | str = 7, **kwargs: Any,
    ) -> None:  # fmt: skip
        if "outlets" not in kwargs and not TEMPLATE.search(str(destination)):
            kwargs["outlets"] = [Asset(public_uri(destination, "media")), Asset(public_uri(destination, "profiles"))]
        super().__init__(**kwargs)
        if not TEMPLATE.search(str(file_format)):
            check_format(file_format)
        self.instagram_conn_id, self.destination, self.file_format = instagram_conn_id, destination, file_format
        self.since, self.until, self.full_snapshot = since, until, full_snapshot
        self.lookback_days = checked_unless_templated(LOOKBACK_DAYS, lookback_days)
        self.fields, self.copy_files = fields, copy_files
        self.max_concurrency = checked_unless_templated(MAX_CONCURRENCY, max_concurrency)
        self.slice_days = checked_unless_templated(SLICE_DAYS, slice_days)
        self._lineage: ExportLineage | None = None  # what execute wrote, for OpenLineage

    def window(self, context: Context) -> ExportWindow:
        """The days to export: ``since``/``until`` if set, else the run's data interval (else the last day)."""
        return run_window(context, self.since, self.until, LOOKBACK_DAYS.check(self.lookback_days), self.full_snapshot)

    def execute(self, context: Context) -> dict[str, Any]:
        # Rendered templates are checked here, before any connection is read or any call made.
        window = self.window(context)
        max_concurrency, slice_days = MAX_CONCURRENCY.check(self.max_concurrency), SLICE_DAYS.check(self.slice_days)
        connection = usable_account(self.instagram_conn_id)
        destination = storage_path(self.destination)
        gate = self.publish_gate()
        export = MediaExport(
            lambda: InstagramHook(instagram_conn_id=self.instagram_conn_id, connection=connection),
            destination, window, conn_id=self.instagram_conn_id, file_format=self.file_format, fields=self.fields,
            copy_files=self.copy_files, max_concurrency=max_concurrency, slice_days=slice_days,
            before_publish=gate.check,
        )  # fmt: skip
        try:
            summary = export.run().to_dict()
        except AccountRevokedError as exc:
            raise AirflowSkipException(str(exc)) from None
        if gate.deletion_requested():  # arrived while the files were published: take them back
            delete_files(destination, [summary["user_id"]])
            raise AirflowSkipException(gate.deletion_note())
        summary["destination"] = public_uri(destination)
        self._announce(context, destination, summary)
        self._lineage = ExportLineage(
            summary["destination"], summary["user_id"], self._graph_url(connection),
            EXPORT_TABLES + (("files",) if summary["files_copied"] else ()),
        )  # fmt: skip
        self.log.info("Exported %s", summary)
        return summary

    def publish_gate(self) -> PublishGate:
        """What is asked, right before and after publishing, whether the account's data may still be published."""
        return PublishGate(self.instagram_conn_id)

    def _announce(self, context: Context, destination: ObjectStoragePath, summary: dict[str, Any]) -> None:
        """Asset events on every ``AssetAlias`` outlet: the destination is only known at run time (templated).

        One asset per table and account (its ``user_id=`` partition), so that no two mapped exports create the same
        asset: Airflow creates an alias's new asset on the task's success without guarding against a concurrent
        creation, and the loser of that race was marked failed after its export had succeeded."""
        extra = {k: summary[k] for k in ("conn_id", "user_id", "window", "rows", "file_format")}
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                for table in ("media", "profiles"):
                    uri = public_uri(destination, table, f"user_id={summary['user_id']}")
                    context["outlet_events"][outlet].add(Asset(uri), extra=extra)

    def _graph_url(self, connection: Any) -> str:
        """The Graph API base URL the account was read from (the connection's host, else Instagram's)."""
        return InstagramHook(instagram_conn_id=self.instagram_conn_id, connection=connection).params.graph_url

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage (only asked for when apache-airflow-providers-openlineage is installed): the account read as
        inputs, the ``user_id=`` partitions written as outputs (named in ``operators/lineage.py``); none when the
        export wrote nothing (skipped or failed)."""
        return self._lineage.operator_lineage() if self._lineage else nothing()
