"""The insights tables' schemas: long format (one row per metric and breakdown value), so that a metric Meta adds
gets rows without a schema change and one Meta retires keeps its history and stops getting rows.

Layout under the export's destination (Hive partitions, like the media):

- ``media_insights/user_id=<id>/dt=<snapshot day>/part-00000.<format>``: what was read on that day;
- ``account_insights/user_id=<id>/dt=<day>/part-00000.<format>``: the account's metrics for that day;
- ``audience_demographics/user_id=<id>/dt=<snapshot day>/part-00000.<format>``: the audience as read that day;
- ``insights_state/user_id=<id>/media.parquet``: when each media's insights were last read (the refresh policy's
  memory; not for warehouses).

A value that Instagram does not give is a row with ``value`` null and ``reason`` saying why
(``insights.answers.REASONS``), never a 0.
"""

from __future__ import annotations

import pyarrow as pa

from airflow_provider_instagram.schema import TIMESTAMP

MEDIA_INSIGHTS = "media_insights"
ACCOUNT_INSIGHTS = "account_insights"
AUDIENCE = "audience_demographics"
STATE = "insights_state"
INSIGHTS_FOLDERS = (MEDIA_INSIGHTS, ACCOUNT_INSIGHTS, AUDIENCE, STATE)


MEDIA_INSIGHTS_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("media_id", pa.string(), nullable=False),
        pa.field("media_product_type", pa.string()),
        pa.field("media_timestamp", TIMESTAMP),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("breakdown", pa.string(), nullable=False),
        pa.field("breakdown_value", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("reason", pa.string()),
        pa.field("snapshot_day", pa.date32(), nullable=False),
        pa.field("read_at", TIMESTAMP),
        pa.field("api_version", pa.string()),
    ]
)
"""One row per media, metric, breakdown value and snapshot day. ``breakdown`` names the dimension(s), comma-joined
(``''`` for the metric's total), ``breakdown_value`` their values. Media insights are lifetime values: a snapshot
on day d is the total as of day d, so a post's growth is the series of its snapshots."""

ACCOUNT_INSIGHTS_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("breakdown", pa.string(), nullable=False),
        pa.field("breakdown_value", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("reason", pa.string()),
        pa.field("read_at", TIMESTAMP),
        pa.field("api_version", pa.string()),
    ]
)
"""One row per account, metric, breakdown value and (UTC) day the value is for."""

AUDIENCE_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("timeframe", pa.string(), nullable=False),
        pa.field("breakdown", pa.string(), nullable=False),
        pa.field("breakdown_value", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("reason", pa.string()),
        pa.field("snapshot_day", pa.date32(), nullable=False),
        pa.field("read_at", TIMESTAMP),
        pa.field("api_version", pa.string()),
    ]
)
"""Audience demographics (``follower_demographics``, ``engaged_audience_demographics``) as read on a day: one row
per metric, timeframe, breakdown (``age``, ``city``, ``country``, ``gender``) and value (Instagram's top 45)."""

STATE_SCHEMA = pa.schema(
    [
        pa.field("media_id", pa.string(), nullable=False),
        pa.field("media_product_type", pa.string()),
        pa.field("media_timestamp", TIMESTAMP),
        pa.field("last_read", pa.date32()),
    ]
)
"""The refresh policy's memory: every known media of the account and the snapshot day its insights were last
read (null: never)."""
