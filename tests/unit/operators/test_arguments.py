"""Arguments the operators share: the run's window of days, from the data interval or the injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from airflow_provider_instagram.operators.arguments import run_window

NEW_YEAR = datetime(2027, 1, 1, 0, 20, tzinfo=UTC)


def test_a_run_without_an_interval_owns_the_days_of_the_last_24_hours_of_the_clock() -> None:
    context: Any = {}
    window = run_window(context, None, None, 1, False, clock=lambda: NEW_YEAR)
    assert window.days() == [date(2027, 1, 1), date(2026, 12, 31), date(2026, 12, 30)]


def test_the_data_interval_wins_over_the_clock() -> None:
    context: Any = {"data_interval_start": datetime(2026, 11, 27, tzinfo=UTC),
                    "data_interval_end": datetime(2026, 11, 28, tzinfo=UTC)}  # fmt: skip
    window = run_window(context, None, None, 0, False, clock=lambda: NEW_YEAR)
    assert window.days() == [date(2026, 11, 27)]
