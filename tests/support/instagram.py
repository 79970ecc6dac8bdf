"""Helpers shared by the hook and export tests: a fast retry policy, recorded sleeps, reading exports back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.json as pa_json

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.export.media_export import ExportSummary
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy
from airflow_provider_instagram.schema import MEDIA_SCHEMA, flatten_media, media_table

FAST = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, total_timeout=30, rate_limit_max_wait=120)


Export = Callable[..., ExportSummary]


class Sleeps(list[float]):
    """Records waits instead of sleeping (the hook's injected sleep)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


CLOCK = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
"""Where tests pin the emulator's clock: mid-morning UTC, hours away from a day's end; never the wall clock."""


def pinned(client: EmulatorClient, **options: Any) -> datetime:
    """Reset the emulator with its clock pinned at :data:`CLOCK` (so its newest media are at 10:00 that day, and
    its tokens and signed URLs count from there); returns its "now", which runs on from there."""
    client.reset(clock=CLOCK.timestamp(), **options)
    return client.now()


def last_days(days: int, until: datetime) -> ExportWindow:
    """The ``days`` whole UTC days up to and including the day of ``until`` (take it from the emulator's clock)."""
    return ExportWindow.covering(until - timedelta(days=days - 1), until)


def expected_rows(window: ExportWindow) -> list[dict[str, Any]]:
    """What the emulator holds for the window, flattened as the export flattens it (read with a plain hook)."""
    hook = InstagramHook(retry_policy=FAST)
    user_id = str(hook.get_profile(["id"])["id"])
    rows = media_table(flatten_media(hook.iter_media(since=window.since, until=window.until), user_id)).to_pylist()
    return sorted(rows, key=lambda r: r["id"])


def read_table(root: Path, file_format: str, table: str = "media") -> pa.Table:
    """Every part of ``table`` under ``root`` as one Arrow table (with the hive partition columns)."""
    if file_format == "parquet":
        return ds.dataset(root / table, format="parquet", partitioning="hive").to_table()
    parts = sorted((root / table).rglob(f"part-*.{file_format}"))
    schema = MEDIA_SCHEMA if table == "media" else None
    tables = []
    for part in parts:
        if file_format == "csv":
            # our CSV quotes every string, so an unquoted empty field is a null
            options = pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True)
            tables.append(pa_csv.read_csv(part, convert_options=options))
        elif part.stat().st_size:
            tables.append(pa_json.read_json(part, parse_options=pa_json.ParseOptions(explicit_schema=schema)))
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def stable(table: pa.Table) -> pa.Table:
    """The table sorted by id, without what changes on every read (signed URLs, export time)."""
    return table.drop_columns(["exported_at", "media_url", "thumbnail_url"]).sort_by("id")


def rows_by_id(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in table.to_pylist()}


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
