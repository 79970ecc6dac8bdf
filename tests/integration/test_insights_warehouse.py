"""InstagramInsightsToSqlOperator against real databases: SQLite and DuckDB files, and a PostgreSQL server.

The files are written as the insights export writes them (``PartitionedWriter`` under ``StagedFiles``, published),
for fixed days: nothing here reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.deletion.purge import delete_files, delete_rows, user_tables
from airflow_provider_instagram.export.partitions import PartitionedWriter, partition_dir
from airflow_provider_instagram.export.staging import StagedFiles
from airflow_provider_instagram.insights.answers import NO_DATA, REASONS
from airflow_provider_instagram.insights.schema import (
    ACCOUNT_INSIGHTS,
    ACCOUNT_INSIGHTS_SCHEMA,
    AUDIENCE,
    AUDIENCE_SCHEMA,
    INSIGHTS_FOLDERS,
    MEDIA_INSIGHTS,
    MEDIA_INSIGHTS_SCHEMA,
    STATE,
    STATE_SCHEMA,
)
from airflow_provider_instagram.operators.insights_warehouse import InstagramInsightsToSqlOperator
from tests.support.warehouse import CONN_ID, Warehouse

USER, OTHER = "17841400000000001", "17841400000000002"
NOV_26, NOV_27, NOV_28 = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)
READ_AT = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
MEDIA_T, ACCOUNT_T, AUDIENCE_T = (
    "instagram_media_insights",
    "instagram_account_insights",
    "instagram_audience_demographics",
)
VIEW = "instagram_media_insights_latest"
MEDIA_COLS = ("user_id", "media_id", "media_product_type", "metric", "breakdown", "breakdown_value", "value", "reason",
              "snapshot_day")  # fmt: skip
ACCOUNT_COLS = ("user_id", "metric", "period", "breakdown", "breakdown_value", "day", "value", "reason")
AUDIENCE_COLS = ("user_id", "metric", "timeframe", "breakdown", "breakdown_value", "snapshot_day", "value")


def media(media_id: str, metric: str, value: float | None, day: date, user: str = USER, **row: Any) -> dict[str, Any]:
    """One media insights row as the export writes it (``breakdown=...``, ``reason=...`` override the defaults)."""
    return {
        "user_id": user, "media_id": media_id, "media_product_type": "FEED", "metric": metric, "breakdown": "",
        "breakdown_value": "", "value": value, "reason": None if value is not None else NO_DATA,
        "media_timestamp": datetime(2026, 11, 20, 9, tzinfo=UTC), "snapshot_day": day, "read_at": READ_AT,
        "api_version": "v25.0", **row,
    }  # fmt: skip


def account(metric: str, value: float, day: date, user: str = USER, **row: Any) -> dict[str, Any]:
    return {"user_id": user, "metric": metric, "period": "day", "breakdown": "", "breakdown_value": "", "day": day,
            "value": value, "reason": None, "read_at": READ_AT, "api_version": "v25.0", **row}  # fmt: skip


def audience(value: str, count: float, day: date, user: str = USER) -> dict[str, Any]:
    return {"user_id": user, "metric": "follower_demographics", "timeframe": "this_month", "breakdown": "country",
            "breakdown_value": value, "value": count, "reason": None, "snapshot_day": day, "read_at": READ_AT,
            "api_version": "v25.0"}  # fmt: skip


class Exported:
    """The export's destination: writes one partition per call, as the insights export does, replacing it whole."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = f"file://{root}"

    def write(self, folder: str, schema: pa.Schema, day: date, rows: list[dict[str, Any]], user: str = USER) -> None:
        staged = StagedFiles(ObjectStoragePath(self.uri), user, f"{folder}_{day.isoformat()}")
        writer = PartitionedWriter(staged, folder, user, schema, "parquet")
        if rows:
            writer.add_rows(rows, day)
        else:
            writer.add_empty(day)
        writer.close()
        staged.publish([partition_dir(folder, user, day)])

    def media(self, day: date, rows: list[dict[str, Any]], user: str = USER) -> None:
        self.write(MEDIA_INSIGHTS, MEDIA_INSIGHTS_SCHEMA, day, rows, user)

    def account(self, day: date, rows: list[dict[str, Any]], user: str = USER) -> None:
        self.write(ACCOUNT_INSIGHTS, ACCOUNT_INSIGHTS_SCHEMA, day, rows, user)

    def audience(self, day: date, rows: list[dict[str, Any]], user: str = USER) -> None:
        self.write(AUDIENCE, AUDIENCE_SCHEMA, day, rows, user)

    def load(self, snapshot_day: date, user: str = USER, **options: Any) -> dict[str, Any]:
        operator = InstagramInsightsToSqlOperator(
            task_id="load_insights", source=self.uri, sql_conn_id=CONN_ID, user_id=user,
            snapshot_day=snapshot_day.isoformat(), **options,
        )  # fmt: skip
        result: dict[str, Any] = operator.execute({})  # type: ignore[arg-type]
        return result


@pytest.fixture
def exported(tmp_path: Path) -> Exported:
    return Exported(tmp_path / "out")


def _plain(value: Any) -> Any:
    """A warehouse value as comparable text where types differ by database (days: SQLite stores ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def table(warehouse: Warehouse, name: str, columns: tuple[str, ...], user: str = USER) -> set[tuple[Any, ...]]:
    rows = warehouse.rows(f"SELECT {', '.join(columns)} FROM {name} WHERE user_id = ?", user)
    return {tuple(_plain(v) for v in row) for row in rows}


def expected(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    return {tuple(_plain(row[c]) for c in columns) for row in rows}


def view(warehouse: Warehouse, *metrics: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The view's rows by (user, media): product type, latest snapshot day, then ``metrics``."""
    columns = ", ".join(("user_id", "media_id", "media_product_type", "snapshot_day", *metrics))
    rows = warehouse.rows(f"SELECT {columns} FROM {VIEW}")
    return {(row[0], row[1]): tuple(_plain(v) for v in row[2:]) for row in rows}


def test_a_load_holds_exactly_the_files_rows_with_nulls_and_reasons_and_a_rerun_duplicates_nothing(
    warehouse: Warehouse, exported: Exported
) -> None:
    media_rows = [
        media("m1", "reach", 120.0, NOV_28),
        media("m1", "saved", None, NOV_28),  # Instagram gave none: NULL with its reason, never 0
        media("m1", "profile_activity", 4.0, NOV_28, breakdown="action_type", breakdown_value="email"),
        media("m2", "reach", 7.0, NOV_28, media_product_type="STORY"),
        media("m2", "navigation", None, NOV_28, media_product_type="STORY", reason="not_enough_viewers"),
    ]
    account_rows = [
        account("reach", 300.0, NOV_27),
        account("reach", 310.0, NOV_28),
        account("reach", 90.0, NOV_28, breakdown="media_product_type", breakdown_value="REELS"),
    ]
    audience_rows = [audience("DE", 40.0, NOV_28), audience("FR", 12.0, NOV_28)]
    exported.media(NOV_28, media_rows)
    exported.account(NOV_27, account_rows[:1])
    exported.account(NOV_28, account_rows[1:])
    exported.audience(NOV_28, audience_rows)

    first = exported.load(NOV_28, account_first_day="2026-11-27", account_last_day="2026-11-28")
    again = exported.load(NOV_28, account_first_day="2026-11-27", account_last_day="2026-11-28")

    assert table(warehouse, MEDIA_T, MEDIA_COLS) == expected(media_rows, MEDIA_COLS)
    assert table(warehouse, ACCOUNT_T, ACCOUNT_COLS) == expected(account_rows, ACCOUNT_COLS)
    assert table(warehouse, AUDIENCE_T, AUDIENCE_COLS) == expected(audience_rows, AUDIENCE_COLS)
    nulls = warehouse.rows(f"SELECT media_id, metric, reason FROM {MEDIA_T} WHERE value IS NULL ORDER BY media_id")
    assert nulls == [("m1", "saved", NO_DATA), ("m2", "navigation", "not_enough_viewers")]
    assert set(dict(REASONS)) >= {r[2] for r in nulls}
    assert warehouse.rows(f"SELECT COUNT(*) FROM {MEDIA_T} WHERE breakdown IS NULL")[0][0] == 0  # '' stays ''
    counts = {t["table"]: (t["rows"], t["deleted"], t["user_rows"]) for t in again["tables"]}
    assert counts == {MEDIA_T: (5, 0, 5), AUDIENCE_T: (2, 0, 2), ACCOUNT_T: (3, 0, 3)}
    assert [t["columns_added"] for t in first["tables"]] == [list(MEDIA_INSIGHTS_SCHEMA.names),
                                                             list(AUDIENCE_SCHEMA.names),
                                                             list(ACCOUNT_INSIGHTS_SCHEMA.names)]  # fmt: skip
    assert (again["snapshot_day"], again["account_days"]) == ("2026-11-28", ["2026-11-27", "2026-11-28"])
    assert again["view"] == {"name": VIEW, "metrics": ["navigation", "reach", "saved"]}
    day_type = warehouse.rows(f"SELECT MAX(snapshot_day) FROM {MEDIA_T}")[0][0]
    assert day_type == ("2026-11-28" if warehouse.kind == "sqlite" else NOV_28)  # a DATE (SQLite: ISO text)


def test_a_rerun_deletes_the_days_rows_the_files_no_longer_hold_and_no_other_days(
    warehouse: Warehouse, exported: Exported
) -> None:
    for day, reach in ((NOV_26, 10.0), (NOV_27, 20.0), (NOV_28, 30.0)):
        exported.media(day, [media("m1", "reach", reach, day), media("m1", "saved", 1.0, day),
                             media("m2", "reach", reach + 1, day)])  # fmt: skip
        exported.account(day, [account("reach", reach, day), account("likes", 2.0, day)])
        exported.audience(day, [audience("DE", reach, day), audience("FR", 1.0, day)])
        exported.load(day, account_first_day=day.isoformat())
    before = {t: table(warehouse, t, c) for t, c in ((MEDIA_T, MEDIA_COLS), (ACCOUNT_T, ACCOUNT_COLS))}
    # The export of Nov 27 runs again: m2 is gone, "saved" was not read, "likes" and France are no more.
    exported.media(NOV_27, [media("m1", "reach", 25.0, NOV_27)])
    exported.account(NOV_27, [account("reach", 21.0, NOV_27)])
    exported.audience(NOV_27, [audience("DE", 22.0, NOV_27)])

    summary = exported.load(NOV_27, account_last_day="2026-11-27")

    deleted = {t["table"]: t["deleted"] for t in summary["tables"]}
    assert deleted == {MEDIA_T: 2, AUDIENCE_T: 1, ACCOUNT_T: 1}
    media_now, account_now = table(warehouse, MEDIA_T, MEDIA_COLS), table(warehouse, ACCOUNT_T, ACCOUNT_COLS)
    assert on(media_now, 8, NOV_27) == expected([media("m1", "reach", 25.0, NOV_27)], MEDIA_COLS)
    for day in (NOV_26, NOV_28):  # the days before and after: as they were
        assert on(media_now, 8, day) == on(before[MEDIA_T], 8, day) and len(on(media_now, 8, day)) == 3
        assert on(account_now, 5, day) == on(before[ACCOUNT_T], 5, day) and len(on(account_now, 5, day)) == 2
    audience_now = table(warehouse, AUDIENCE_T, AUDIENCE_COLS)
    assert {(r[4], r[5]) for r in audience_now} == {("DE", "2026-11-26"), ("FR", "2026-11-26"), ("DE", "2026-11-27"),
                                                    ("DE", "2026-11-28"), ("FR", "2026-11-28")}  # fmt: skip


def on(rows: set[tuple[Any, ...]], column: int, day: date) -> set[tuple[Any, ...]]:
    """The rows whose ``column`` is ``day``."""
    return {row for row in rows if row[column] == day.isoformat()}


def test_without_a_demographics_part_the_days_demographics_stay(warehouse: Warehouse, exported: Exported) -> None:
    exported.media(NOV_28, [media("m1", "reach", 1.0, NOV_28)])
    exported.audience(NOV_28, [audience("DE", 3.0, NOV_28)])
    exported.load(NOV_28)
    for part in (exported.root / partition_dir(AUDIENCE, USER, NOV_28)).iterdir():
        part.unlink()  # none read on the rerun (fewer than 100 followers): not an empty audience

    summary = exported.load(NOV_28)

    assert table(warehouse, AUDIENCE_T, AUDIENCE_COLS) == expected([audience("DE", 3.0, NOV_28)], AUDIENCE_COLS)
    assert [t["table"] for t in summary["tables"]] == [MEDIA_T, AUDIENCE_T] and summary["account_days"] is None


def test_a_new_metric_gets_rows_and_a_view_column_without_a_schema_change(
    warehouse: Warehouse, exported: Exported
) -> None:
    exported.media(NOV_27, [media("m1", "reach", 5.0, NOV_27)])
    exported.load(NOV_27)
    columns = warehouse.columns(MEDIA_T)
    assert "reposts" not in warehouse.columns(VIEW)
    exported.media(NOV_28, [media("m1", "reach", 6.0, NOV_28), media("m1", "reposts", 2.0, NOV_28)])

    summary = exported.load(NOV_28)

    assert summary["tables"][0]["columns_added"] == [] and warehouse.columns(MEDIA_T) == columns
    assert summary["view"]["metrics"] == ["reach", "reposts"] and "reposts" in warehouse.columns(VIEW)
    assert view(warehouse, "reach", "reposts") == {(USER, "m1"): ("FEED", "2026-11-28", 6.0, 2.0)}


def test_the_view_gives_each_media_its_latest_non_null_total_per_metric(
    warehouse: Warehouse, exported: Exported
) -> None:
    exported.media(NOV_26, [media("m1", "reach", 10.0, NOV_26), media("m1", "saved", 3.0, NOV_26),
                            media("m1", "ig_reels_avg_watch_time", 900.0, NOV_26),
                            media("m2", "reach", 4.0, NOV_26, media_product_type=None)])  # fmt: skip
    exported.media(NOV_27, [
        media("m1", "reach", 15.0, NOV_27, media_product_type="REELS"),
        media("m1", "saved", None, NOV_27, media_product_type="REELS"),  # no value this time: the last one holds
        media("m1", "reach", 99.0, NOV_27, media_product_type="REELS", breakdown="follow_type",
              breakdown_value="FOLLOWER"),  # not a total
        media("m1", "Bad-Name", 1.0, NOV_27, media_product_type="REELS"),  # a name from data: not a column
        media("m3", "reach", 1.0, NOV_27, user=USER),
    ])  # fmt: skip
    exported.media(NOV_27, [media("m1", "reach", 8.0, NOV_27, user=OTHER)], user=OTHER)
    exported.load(NOV_26)
    exported.load(NOV_27)  # ig_reels_avg_watch_time is retired: no row on Nov 27, its column keeps its value
    summary = exported.load(NOV_27, user=OTHER)

    assert summary["view"]["metrics"] == ["ig_reels_avg_watch_time", "reach", "saved"]
    assert view(warehouse, "reach", "saved", "ig_reels_avg_watch_time") == {
        (USER, "m1"): ("REELS", "2026-11-27", 15.0, 3.0, 900.0),
        (USER, "m2"): (None, "2026-11-26", 4.0, None, None),
        (USER, "m3"): ("FEED", "2026-11-27", 1.0, None, None),
        (OTHER, "m1"): ("FEED", "2026-11-27", 8.0, None, None),
    }
    assert warehouse.rows(f"SELECT value FROM {MEDIA_T} WHERE metric = 'Bad-Name'") == [(1.0,)]


def test_deleting_a_user_removes_their_insights_rows_and_folders_and_nobody_elses(
    warehouse: Warehouse, exported: Exported
) -> None:
    for user in (USER, OTHER):
        exported.media(NOV_28, [media("m1", "reach", 1.0, NOV_28, user=user)], user=user)
        exported.account(NOV_28, [account("reach", 2.0, NOV_28, user=user)], user=user)
        exported.audience(NOV_28, [audience("DE", 3.0, NOV_28, user=user)], user=user)
        state = exported.root / STATE / f"user_id={user}" / "media.parquet"  # the export's memory: never loaded
        state.parent.mkdir(parents=True)
        pq.write_table(STATE_SCHEMA.empty_table(), state)
        exported.load(NOV_28, user=user, account_first_day="2026-11-28")
    kept = {t: table(warehouse, t, ("user_id", "metric"), OTHER) for t in (MEDIA_T, ACCOUNT_T, AUDIENCE_T)}

    with warehouse.connect() as conn:
        counts = delete_rows(conn, [USER], warehouse.mark, user_tables())
    folders = delete_files(ObjectStoragePath(exported.uri), [USER])

    assert {t: counts[t] for t in kept} == {MEDIA_T: 1, ACCOUNT_T: 1, AUDIENCE_T: 1}
    assert all(warehouse.count(t, USER) == 0 for t in kept)
    assert {t: table(warehouse, t, ("user_id", "metric"), OTHER) for t in kept} == kept and all(kept.values())
    assert sorted(f.split("/")[-2] for f in folders) == sorted(INSIGHTS_FOLDERS)
    assert sorted(p.parent.name for p in exported.root.glob(f"*/user_id={OTHER}")) == sorted(INSIGHTS_FOLDERS)
    assert not list(exported.root.glob(f"*/user_id={USER}"))
    assert set(view(warehouse)) == {(OTHER, "m1")}


def test_a_failure_before_the_commit_leaves_the_tables_and_the_view_as_they_were(
    warehouse: Warehouse, exported: Exported
) -> None:
    exported.media(NOV_27, [media("m1", "reach", 5.0, NOV_27)])
    exported.account(NOV_27, [account("reach", 2.0, NOV_27)])
    exported.load(NOV_27, account_first_day="2026-11-27")
    before = {t: table(warehouse, t, c) for t, c in ((MEDIA_T, MEDIA_COLS), (ACCOUNT_T, ACCOUNT_COLS))}
    view_before, tables_before = warehouse.columns(VIEW), warehouse.tables()
    exported.media(NOV_27, [media("m1", "reach", 6.0, NOV_27), media("m1", "reposts", 1.0, NOV_27)])
    exported.account(NOV_28, [account("reach", 3.0, NOV_28)])
    account_part = exported.root / partition_dir(ACCOUNT_INSIGHTS, USER, NOV_28) / "part-00000.parquet"
    account_part.write_bytes(account_part.read_bytes()[:40])  # read after the media insights are merged

    with pytest.raises(pa.ArrowInvalid):
        exported.load(NOV_27, account_first_day="2026-11-27", account_last_day="2026-11-28")

    assert {t: table(warehouse, t, c) for t, c in ((MEDIA_T, MEDIA_COLS), (ACCOUNT_T, ACCOUNT_COLS))} == before
    assert warehouse.columns(VIEW) == view_before and "reposts" not in view_before
    assert warehouse.tables() == tables_before  # no staging table left behind


def test_days_are_compared_as_days_next_to_the_media_timestamp(warehouse: Warehouse, exported: Exported) -> None:
    """The prune's bounds of a DATE column are days, whatever the dialect stores: the media_timestamp column (a
    timestamp) of the same table is never what a snapshot day is compared with."""
    late = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)
    exported.media(NOV_28, [media("m1", "reach", 1.0, NOV_28, media_timestamp=late)])
    exported.media(NOV_28 + timedelta(days=1), [media("m1", "reach", 2.0, NOV_28 + timedelta(days=1))])
    exported.load(NOV_28)
    exported.load(NOV_28 + timedelta(days=1))
    exported.media(NOV_28, [])  # the rerun of Nov 28 read nothing: its rows go, Nov 29's stay

    summary = exported.load(NOV_28)

    assert summary["tables"][0]["deleted"] == 1
    assert warehouse.rows(f"SELECT value FROM {MEDIA_T}") == [(2.0,)]


class GatedLoad(InstagramInsightsToSqlOperator):
    """The load, with Meta's data-deletion callback landing at the ``marks_at``-th look at the account's record."""

    marks_at: int

    def publish_gate(self) -> PublishGate:
        reads = [0]

        def read(conn_id: str) -> AccountRecord:
            reads[0] += 1
            if reads[0] < self.marks_at:
                return AccountRecord(conn_id, user_id=USER)
            return AccountRecord(conn_id, user_id=USER, status="revoked", deletion_requested_at=READ_AT)

        return PublishGate("instagram_default", read=read)


@pytest.mark.parametrize("when", [1, 2], ids=["before-the-commit", "after-the-commit"])
def test_a_load_never_leaves_insights_of_an_account_whose_deletion_was_requested_meanwhile(
    warehouse: Warehouse, exported: Exported, when: int
) -> None:
    exported.media(NOV_28, [media("m1", "reach", 1.0, NOV_28)])
    exported.account(NOV_28, [account("reach", 2.0, NOV_28)])
    exported.media(NOV_28, [media("m1", "reach", 1.0, NOV_28, user=OTHER)], user=OTHER)
    exported.load(NOV_28, user=OTHER)
    operator = GatedLoad(task_id="load_insights", source=exported.uri, sql_conn_id=CONN_ID, user_id=USER,
                         snapshot_day="2026-11-28", account_first_day="2026-11-28")  # fmt: skip
    operator.marks_at = when

    with pytest.raises(AirflowSkipException, match="nothing was published" if when == 1 else "removed again"):
        operator.execute({})  # type: ignore[arg-type]

    assert warehouse.count(MEDIA_T, USER) == 0 and warehouse.count(MEDIA_T, OTHER) == 1
    assert ACCOUNT_T not in warehouse.tables() if when == 1 else warehouse.count(ACCOUNT_T, USER) == 0
