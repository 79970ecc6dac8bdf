"""The insights tables: long format, like the export's files (``insights/schema.py``), keyed by the account first.

One row per metric and breakdown value, so that a metric Instagram adds gets rows (and a column of the
``<prefix>media_insights_latest`` view, see :mod:`~airflow_provider_instagram.warehouse.insights_view`) without a
schema change, and one it retires keeps its rows. Each key leads with ``user_id``, so deleting an account's rows is
one statement per table through the key's index.
"""

from __future__ import annotations

from airflow_provider_instagram.insights.schema import (
    ACCOUNT_INSIGHTS,
    ACCOUNT_INSIGHTS_SCHEMA,
    AUDIENCE,
    AUDIENCE_SCHEMA,
    MEDIA_INSIGHTS,
    MEDIA_INSIGHTS_SCHEMA,
)
from airflow_provider_instagram.warehouse.tables import TableSpec

BREAKDOWN = ("breakdown", "breakdown_value")


def media_insights_table_spec(prefix: str = "instagram_") -> TableSpec:
    """Media metrics as read on a snapshot day: one row per media, metric, breakdown value and snapshot day."""
    return TableSpec(
        f"{prefix}{MEDIA_INSIGHTS}",
        MEDIA_INSIGHTS,
        MEDIA_INSIGHTS_SCHEMA,
        ("user_id", "media_id", "metric", *BREAKDOWN, "snapshot_day"),
        "user_id",
        "snapshot_day",
        (("user_id", "media_id"),),
    )


def account_insights_table_spec(prefix: str = "instagram_") -> TableSpec:
    """The account's metrics per day: one row per metric, period, breakdown value and day."""
    return TableSpec(
        f"{prefix}{ACCOUNT_INSIGHTS}",
        ACCOUNT_INSIGHTS,
        ACCOUNT_INSIGHTS_SCHEMA,
        ("user_id", "metric", "period", *BREAKDOWN, "day"),
        "user_id",
        "day",
    )


def audience_table_spec(prefix: str = "instagram_") -> TableSpec:
    """The audience as read on a snapshot day: one row per metric, timeframe, breakdown value and snapshot day."""
    return TableSpec(
        f"{prefix}{AUDIENCE}",
        AUDIENCE,
        AUDIENCE_SCHEMA,
        ("user_id", "metric", "timeframe", *BREAKDOWN, "snapshot_day"),
        "user_id",
        "snapshot_day",
    )


def insights_table_specs(prefix: str = "instagram_") -> tuple[TableSpec, TableSpec, TableSpec]:
    """The three insights tables: media insights, account insights, audience demographics."""
    return media_insights_table_spec(prefix), account_insights_table_spec(prefix), audience_table_spec(prefix)
