"""InstagramInsightsToSqlOperator's checks of its arguments and of the export's parts, before any database is
touched (the loads themselves run against real databases in tests/integration/test_insights_warehouse.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.exceptions import ExportNotFoundError
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.operators.arguments import as_date
from airflow_provider_instagram.operators.insights_warehouse import InstagramInsightsToSqlOperator

USER = "17841400000000123"


def operator(tmp_path: Path, **options: Any) -> InstagramInsightsToSqlOperator:
    options.setdefault("snapshot_day", "2026-11-28")
    return InstagramInsightsToSqlOperator(
        task_id="load_insights", source=f"file://{tmp_path}", sql_conn_id="no_such_warehouse", user_id=USER, **options
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"snapshot_day": None}, r"snapshot_day is required.*\{\{ ds \}\}"),
        ({"snapshot_day": "28/11/2026"}, r"snapshot_day '28/11/2026' is not an ISO 8601 date \(e\.g\. 2026-11-28"),
        ({"account_first_day": "2026-11-28", "account_last_day": "2026-11-27"},
         "account_first_day 2026-11-28 is after account_last_day 2026-11-27: swap them"),
        ({"batch_rows": 0}, "batch_rows must be a whole number from 1 to 1000000, not 0"),
        ({"table_prefix": "ig-"}, "table_prefix 'ig-' may hold only letters, digits and underscores"),
    ],
    ids=["no-snapshot-day", "not-iso", "reversed-account-days", "no-rows", "bad-prefix"],
)  # fmt: skip
def test_bad_arguments_fail_at_parse_time(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator(tmp_path, **options)


def test_one_account_day_alone_is_that_day_and_none_is_no_account_insights(tmp_path: Path) -> None:
    nov_27, nov_28 = date(2026, 11, 27), date(2026, 11, 28)
    assert operator(tmp_path, account_last_day="2026-11-27").days() == (
        ExportWindow(nov_28, nov_28),
        ExportWindow(nov_27, nov_27),
    )
    assert operator(tmp_path, snapshot_day=nov_28).days() == (ExportWindow(nov_28, nov_28), None)


def test_a_zoned_datetime_is_its_utc_day() -> None:
    late_in_new_york = datetime(2026, 11, 27, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert as_date(late_in_new_york, "snapshot_day") == date(2026, 11, 28)
    assert as_date(datetime(2026, 11, 28, 1, tzinfo=UTC), "snapshot_day") == date(2026, 11, 28)
    assert as_date("", "account_first_day") is None


def test_templated_days_are_checked_once_rendered(tmp_path: Path) -> None:
    load = operator(tmp_path, snapshot_day="{{ params.day }}")
    load.render_template_fields({"params": {"day": "yesterday"}})
    with pytest.raises(ValueError, match="snapshot_day 'yesterday' is not an ISO 8601 date"):
        load.execute({})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "missing"),
    [({}, "media_insights"), ({"account_first_day": "2026-11-27"}, "account_insights")],
    ids=["media-insights", "account-insights"],
)
def test_a_missing_part_fails_naming_the_day_and_the_fix_before_the_warehouse_is_asked(
    tmp_path: Path, options: dict[str, Any], missing: str
) -> None:
    """The SQL connection does not exist: asking for it would fail with another error."""
    day = "2026-11-28"
    if options:  # the snapshot day's media insights are there; the account day's part is not
        folder = tmp_path / "media_insights" / f"user_id={USER}" / "dt=2026-11-28"
        folder.mkdir(parents=True)
        (folder / "part-00000.parquet").write_bytes(b"never read")
        day = "2026-11-27"
    with pytest.raises(ExportNotFoundError, match=rf"The {missing} export of user {USER} for {day} is missing.*rerun"):
        operator(tmp_path, **options).execute({})  # type: ignore[arg-type]
