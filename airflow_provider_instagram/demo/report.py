"""What the demo prints at the end, read from the outputs themselves: the warehouse file and the export folder."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_instagram.account.record import parse_time
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome
from airflow_provider_instagram.tokens.report import HealthReport

ROWS_PER_ACCOUNT = """
SELECT m.user_id, m.username, count(*) AS media_rows, sum(m.parent_id IS NOT NULL) AS carousel_children,
       (SELECT count(*) FROM instagram_profiles p WHERE p.id = m.user_id) AS profile_rows
FROM instagram_media m GROUP BY m.user_id, m.username ORDER BY m.username
"""
# Album children carry no counts of their own, hence the parent_id filter; newlines would break the table.
SAMPLE_QUERY = """
SELECT username, id, media_type, like_count, replace(substr(caption, 1, 40), char(10), ' ') AS caption
FROM instagram_media WHERE parent_id IS NULL AND like_count IS NOT NULL
ORDER BY like_count DESC, id LIMIT 3
"""

# Media insights are lifetime totals read on a snapshot day; the wide view has the latest value of each metric.
INSIGHTS_QUERY = """
SELECT m.username, l.media_id, l.media_product_type AS product, l.reach, l.saved, l.views, l.shares
FROM instagram_media_insights_latest l JOIN instagram_media m ON m.user_id = l.user_id AND m.id = l.media_id
WHERE l.reach IS NOT NULL ORDER BY l.reach DESC, l.media_id LIMIT 3
"""
INSIGHTS_PER_TABLE = """
SELECT 'instagram_media_insights' AS insights_table, count(*) AS rows, count(value) AS with_value
FROM instagram_media_insights
UNION ALL SELECT 'instagram_account_insights', count(*), count(value) FROM instagram_account_insights
UNION ALL SELECT 'instagram_audience_demographics', count(*), count(value) FROM instagram_audience_demographics
"""


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "    ") -> str:
    """A plain text table (``-`` for nulls), columns separated by two spaces."""
    cells = [["-" if value is None else str(value) for value in row] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(indent + line.rstrip() for line in lines)


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of one query.

    :param columns: the column names.
    :param rows: the rows.
    """

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def text(self) -> str:
        return table(self.columns, self.rows)


def query(database: Path, sql: str) -> QueryResult:
    """Run ``sql`` on the SQLite file, read-only (the demo never writes to the warehouse itself)."""
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as conn:
        cursor = conn.execute(sql)
        columns = tuple(d[0] for d in cursor.description)
        return QueryResult(columns, [tuple(row) for row in cursor.fetchall()])


def files_written(root: Path) -> list[tuple[str, int, int]]:
    """``(folder, files, bytes)`` for each table folder of the export (``_staging`` is empty after a success)."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = [p for p in folder.rglob("*") if p.is_file()]
        found.append((folder.name, len(files), sum(p.stat().st_size for p in files)))
    return found


def health_table(report: dict[str, Any]) -> str:
    """The refresh DAG's health report (its XCom) as the table the DAG logs."""
    results = [
        AccountResult(
            conn_id=row["connection"], outcome=Outcome(row["outcome"]), detail=row.get("detail") or "",
            status=row["status"], username=row.get("username"), user_id=row.get("user_id"),
            expires_at=row.get("expires_at"), refreshed_at=row.get("refreshed_at"),
        )
        for row in report["accounts"]
    ]  # fmt: skip
    now = parse_time(report["generated_at"])
    assert now is not None, "the health report always carries generated_at"
    rendered = HealthReport(results, now, float(report["warn_days"])).table()
    return "\n".join(("    " + line).rstrip() for line in rendered.splitlines())
