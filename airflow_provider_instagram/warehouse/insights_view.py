"""``<prefix>media_insights_latest``: the media insights as one wide row per media, for BI tools.

One row per ``(user_id, media_id)`` with the media's ``media_product_type`` and the latest ``snapshot_day`` it was
read on, and one column per metric holding that metric's latest non-null total (``breakdown = ''``) over every
snapshot. The view is dropped and created again from the metrics the table holds at the end of every insights load,
in the load's transaction: a metric Instagram adds gets a column with no schema change, and one it retires keeps its
last value. Metric names come from data, so only ``[a-z0-9_]`` names (and none of the view's own columns) become
columns; any other is left out of the view (its rows stay in the table) and logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_instagram.warehouse.dialects import quote
from airflow_provider_instagram.warehouse.tables import TableSpec

log = logging.getLogger(__name__)

METRIC_COLUMN = re.compile(r"^[a-z0-9_]{1,63}$")  # 63: PostgreSQL's longest identifier
MEDIA_COLUMNS = ("user_id", "media_id", "media_product_type", "snapshot_day")


@dataclass(frozen=True)
class LatestValues:
    """The latest-value view over a media insights table.

    :param table: the media insights table
        (:func:`~airflow_provider_instagram.warehouse.insights_tables.media_insights_table_spec`).
    """

    table: TableSpec

    @property
    def name(self) -> str:
        return f"{self.table.name}_latest"

    def rebuild(self, cursor: Any) -> list[str]:
        """Drop and create the view from the metrics the table holds now (in the caller's transaction); its metric
        columns."""
        cursor.execute(f'SELECT DISTINCT "metric" FROM {quote(self.table.name)} WHERE "breakdown" = \'\'')
        metrics = metric_columns(str(row[0]) for row in cursor.fetchall())
        for statement in self.create_sql(metrics):
            cursor.execute(statement)
        return metrics

    def create_sql(self, metrics: list[str]) -> list[str]:
        """``DROP VIEW IF EXISTS`` and ``CREATE VIEW`` with one column per metric (names already checked by
        :func:`metric_columns`)."""
        table = quote(self.table.name)
        columns = "".join(f',\n  MAX(CASE WHEN v."metric" = \'{m}\' THEN v."value" END) AS {quote(m)}' for m in metrics)
        media = ", ".join(f"l.{quote(c)}" for c in MEDIA_COLUMNS)
        # The latest snapshot row of each media (one that has a product type first), and per metric the latest
        # non-null total: a metric missing from later snapshots keeps the value it had.
        return [
            f"DROP VIEW IF EXISTS {quote(self.name)}",
            f'CREATE VIEW {quote(self.name)} AS\n'
            f'WITH latest AS (\n'
            f'  SELECT "user_id", "media_id", "media_product_type", "snapshot_day", ROW_NUMBER() OVER (\n'
            f'    PARTITION BY "user_id", "media_id"\n'
            f'    ORDER BY "snapshot_day" DESC, CASE WHEN "media_product_type" IS NULL THEN 1 ELSE 0 END) AS "rn"\n'
            f'  FROM {table}\n'
            f'), totals AS (\n'
            f'  SELECT "user_id", "media_id", "metric", "value", ROW_NUMBER() OVER (\n'
            f'    PARTITION BY "user_id", "media_id", "metric" ORDER BY "snapshot_day" DESC) AS "rn"\n'
            f'  FROM {table} WHERE "breakdown" = \'\' AND "value" IS NOT NULL\n'
            f')\n'
            f'SELECT {media}{columns}\n'
            f'FROM latest l LEFT JOIN totals v\n'
            f'  ON v."user_id" = l."user_id" AND v."media_id" = l."media_id" AND v."rn" = 1\n'
            f'WHERE l."rn" = 1\n'
            f'GROUP BY {media}',
        ]  # fmt: skip


def metric_columns(names: Any) -> list[str]:
    """The metric names that may name a view column, sorted; the others are logged and left out."""
    names = set(names)
    usable = sorted(n for n in names if METRIC_COLUMN.match(n) and n not in MEDIA_COLUMNS)
    if skipped := sorted(names - set(usable)):
        log.warning("Metrics without a column in the latest-value view (names outside [a-z0-9_], or a column of "
                    "the view's own): %s; their rows are in the table", skipped)  # fmt: skip
    return usable
