"""The insights tables: long format, like the export's files (``insights/schema.py``), keyed by the account first.

One row per metric and breakdown value, so that a metric Instagram adds gets rows (and a column of the
``<prefix>media_insights_latest`` view, see :mod:`~airflow_provider_instagram.warehouse.insights_view`) without a
schema change, and one it retires keeps its rows. Each key leads with ``user_id``, so deleting an account's rows is
one statement per table through the key's index.
"""

from __future__ import annotations

import pyarrow as pa

from airflow_provider_instagram.insights.schema import (
    ACCOUNT_INSIGHTS,
    ACCOUNT_INSIGHTS_SCHEMA,
    AUDIENCE,
    AUDIENCE_SCHEMA,
    MEDIA_INSIGHTS,
    MEDIA_INSIGHTS_SCHEMA,
)
from airflow_provider_instagram.warehouse.tables import TableSpec


def _long_table(
    prefix: str, folder: str, schema: pa.Schema, metric_key: tuple[str, ...], day: str,
    indexes: tuple[tuple[str, ...], ...] = (),
) -> TableSpec:  # fmt: skip
    """A long-format table: keyed by the account, ``metric_key``, the breakdown and its value, then the day."""
    key = ("user_id", *metric_key, "breakdown", "breakdown_value", day)
    return TableSpec(f"{prefix}{folder}", folder, schema, key, "user_id", day, indexes)


def media_insights_table_spec(prefix: str = "instagram_") -> TableSpec:
    """Media metrics as read on a snapshot day: one row per media, metric, breakdown value and snapshot day."""
    by_media = (("user_id", "media_id"),)
    return _long_table(prefix, MEDIA_INSIGHTS, MEDIA_INSIGHTS_SCHEMA, ("media_id", "metric"), "snapshot_day", by_media)


def account_insights_table_spec(prefix: str = "instagram_") -> TableSpec:
    """The account's metrics per day: one row per metric, period, breakdown value and day."""
    return _long_table(prefix, ACCOUNT_INSIGHTS, ACCOUNT_INSIGHTS_SCHEMA, ("metric", "period"), "day")


def audience_table_spec(prefix: str = "instagram_") -> TableSpec:
    """The audience as read on a snapshot day: one row per metric, timeframe, breakdown value and snapshot day."""
    return _long_table(prefix, AUDIENCE, AUDIENCE_SCHEMA, ("metric", "timeframe"), "snapshot_day")


def insights_table_specs(prefix: str = "instagram_") -> tuple[TableSpec, TableSpec, TableSpec]:
    """The three insights tables: media insights, account insights, audience demographics."""
    return media_insights_table_spec(prefix), account_insights_table_spec(prefix), audience_table_spec(prefix)
