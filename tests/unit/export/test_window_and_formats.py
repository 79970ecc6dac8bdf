"""Export windows (whole UTC days, slices) and the file formats, without the API."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from airflow_provider_instagram.export.formats import check_format, open_writer
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.schema import MEDIA_SCHEMA

NOV_28 = datetime(2026, 11, 28, tzinfo=UTC)


def test_a_daily_interval_owns_exactly_its_day() -> None:
    window = ExportWindow.covering(NOV_28, NOV_28 + timedelta(days=1))
    assert window.days() == [date(2026, 11, 28)]
    assert (window.since, window.until) == (NOV_28, NOV_28 + timedelta(days=1))


def test_an_hourly_interval_owns_its_whole_day_and_lookback_adds_days() -> None:
    window = ExportWindow.covering(NOV_28 + timedelta(hours=5), NOV_28 + timedelta(hours=6), lookback_days=2)
    assert window.days() == [date(2026, 11, 28), date(2026, 11, 27), date(2026, 11, 26)]
    assert window.until == NOV_28 + timedelta(days=1)


def test_full_snapshot_and_bad_windows() -> None:
    full = ExportWindow.covering(NOV_28, NOV_28 + timedelta(days=1), full=True)
    assert full.full and full.since is None and full.days() == [] and list(full.slices(4)) == [full]
    with pytest.raises(ValueError, match="empty or reversed"):
        ExportWindow.covering(NOV_28, NOV_28)
    with pytest.raises(ValueError, match="lookback_days"):
        ExportWindow.covering(NOV_28, NOV_28 + timedelta(days=1), lookback_days=-1)


@pytest.mark.parametrize("lookback_days", [3661, 10**9], ids=["past-the-bound", "past-dates"])
def test_a_lookback_too_long_is_refused_with_the_fix(lookback_days: int) -> None:
    with pytest.raises(ValueError, match=r"lookback_days must be a whole number from 0 to 3660.*full_snapshot=True"):
        ExportWindow.covering(NOV_28, NOV_28 + timedelta(days=1), lookback_days=lookback_days)
    assert len(ExportWindow.covering(NOV_28, NOV_28 + timedelta(days=1), lookback_days=3660).days()) == 3661


@pytest.mark.parametrize(("days", "count"), [(10, 3), (61, 4), (3, 8), (1, 2)])
def test_slices_cover_every_day_once_newest_first(days: int, count: int) -> None:
    window = ExportWindow.covering(NOV_28 - timedelta(days=days - 1), NOV_28 + timedelta(days=1))
    slices = list(window.slices(count))
    covered = [d for s in slices for d in s.days()]
    assert covered == window.days() and len(slices) == min(days, count)
    assert max(len(s.days()) for s in slices) - min(len(s.days()) for s in slices) <= 1


def test_unknown_format_names_the_choices() -> None:
    assert check_format(" Parquet ") == "parquet"
    with pytest.raises(ValueError, match="parquet, jsonl, csv"):
        check_format("xlsx")


@pytest.mark.parametrize("file_format", ["parquet", "jsonl", "csv"])
def test_empty_parts_are_well_formed(file_format: str) -> None:
    sink = io.BytesIO()
    open_writer(file_format, sink, MEDIA_SCHEMA).close()
    data = sink.getvalue()
    if file_format == "parquet":
        assert pq.read_table(io.BytesIO(data)).schema.equals(MEDIA_SCHEMA, check_metadata=False)
    elif file_format == "csv":
        assert pa_csv.read_csv(io.BytesIO(data)).column_names == MEDIA_SCHEMA.names
    else:
        assert data == b""


def test_jsonl_writes_utc_timestamps_and_nulls() -> None:
    sink = io.BytesIO()
    writer = open_writer("jsonl", sink, MEDIA_SCHEMA)
    writer.write(pa.Table.from_pylist([{"id": "1", "timestamp": NOV_28, "caption": "é\n"}], schema=MEDIA_SCHEMA))
    writer.close()
    line = sink.getvalue().decode()
    assert line.count("\n") == 1 and '"timestamp": "2026-11-28T00:00:00Z"' in line
    assert '"caption": "é\\n"' in line and '"like_count": null' in line
