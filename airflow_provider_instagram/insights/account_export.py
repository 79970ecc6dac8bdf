"""The account's part of an insights run: which days to read, and their partitions and the audience's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from airflow_provider_instagram.exceptions import (
    InstagramAuthError,
    InstagramPermissionError,
    InstagramRateLimitError,
    InstagramRequestError,
    InstagramTransientError,
)
from airflow_provider_instagram.export.partitions import PartitionedWriter, partition_dir
from airflow_provider_instagram.export.staging import StagedFiles
from airflow_provider_instagram.insights.answers import InsightValue
from airflow_provider_instagram.insights.reader import AccountInsightsReader
from airflow_provider_instagram.insights.schema import (
    ACCOUNT_INSIGHTS,
    ACCOUNT_INSIGHTS_SCHEMA,
    AUDIENCE,
    AUDIENCE_SCHEMA,
)
from airflow_provider_instagram.options import ACCOUNT_BACKFILL_DAYS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountDays:
    """Which days of account insights a run reads: every day not yet complete within ``backfill_days``, and always
    the last ``lag_days`` (Instagram's values lag up to 48 hours). A day is complete once read ``lag_days`` days
    after it, with values: a day Instagram had nothing for yet is read again.

    :param backfill_days: how far back to fill missing days (1 to 730; Instagram keeps 2 years).
    :raises ValueError: a bound is out of range.
    :param lag_days: days re-read every run (0 to 30).
    """

    backfill_days: int = 30
    lag_days: int = 3

    def __post_init__(self) -> None:
        ACCOUNT_BACKFILL_DAYS.check(self.backfill_days)
        if not 0 <= self.lag_days <= 30:
            raise ValueError(f"account lag_days must be 0 to 30, not {self.lag_days!r}")

    def range(self, today: date, complete: set[date]) -> tuple[date, date] | None:
        """The contiguous days to read (first, last), or ``None`` when none are due."""
        last = today - timedelta(days=1)
        window = [last - timedelta(days=i) for i in range(self.backfill_days)]
        due = [d for d in window if d not in complete] + [last - timedelta(days=i) for i in range(self.lag_days)]
        return (min(due), last) if due else None

    def complete(self, day: date, today: date, values: list[InsightValue]) -> bool:
        return (today - day).days >= self.lag_days and any(v.value is not None for v in values)


@dataclass
class AccountWritten:
    """What the account's part of a run wrote."""

    first: date | None = None
    last: date | None = None
    dirs: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    complete: set[date] = field(default_factory=set)


def write_account_days(
    reader: AccountInsightsReader, staged: StagedFiles, days: AccountDays, complete: set[date], user_id: str,
    today: date, file_format: str, constants: dict[str, Any], stop: Callable[[], bool],
) -> AccountWritten:  # fmt: skip
    """Read the due days (oldest first, until one fails or ``stop()``) and stage one partition per day read."""
    written = AccountWritten(complete=set(complete))
    due = days.range(today, complete)
    read = reader.daily(*due, stop=stop) if due else None
    if due is None or read is None or read.last is None:
        return written
    by_day: dict[date, list[InsightValue]] = {}
    for value in read.values:
        by_day.setdefault(value.day or read.last, []).append(value)
    writer = PartitionedWriter(staged, ACCOUNT_INSIGHTS, user_id, ACCOUNT_INSIGHTS_SCHEMA, file_format)
    day = due[0]
    while day <= read.last:
        values = by_day.get(day, [])
        writer.add_rows([account_row(v, user_id, constants) for v in values], day) if values else writer.add_empty(day)
        written.dirs.append(partition_dir(ACCOUNT_INSIGHTS, user_id, day))
        (written.complete.add if days.complete(day, today, values) else written.complete.discard)(day)
        day += timedelta(days=1)
    writer.close()
    written.first, written.last, written.rows[ACCOUNT_INSIGHTS] = due[0], read.last, writer.rows
    return written


def write_audience(reader: AccountInsightsReader, staged: StagedFiles, timeframe: str, user_id: str, today: date,
                   file_format: str, constants: dict[str, Any]) -> int | None:  # fmt: skip
    """Stage the audience's partition; ``None`` (and nothing staged: earlier rows stay) when reading it failed."""
    try:
        values = reader.audience(timeframe)
    except (InstagramAuthError, InstagramPermissionError):
        raise
    except (InstagramRateLimitError, InstagramTransientError, InstagramRequestError) as exc:
        log.warning("Audience demographics left to the next run: %s", exc)
        return None
    writer = PartitionedWriter(staged, AUDIENCE, user_id, AUDIENCE_SCHEMA, file_format)
    rows = [audience_row(v, user_id, timeframe, today, constants) for v in values]
    writer.add_rows(rows, today) if rows else writer.add_empty(today)
    writer.close()
    return writer.rows


def account_row(value: InsightValue, user_id: str, constants: dict[str, Any]) -> dict[str, Any]:
    """One ``account_insights`` row."""
    return {"user_id": user_id, "metric": value.metric, "period": "day", "breakdown": value.breakdown,
            "breakdown_value": value.breakdown_value, "day": value.day, "value": value.value,
            "reason": value.reason, **constants}  # fmt: skip


def audience_row(value: InsightValue, user_id: str, timeframe: str, day: date,
                 constants: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """One ``audience_demographics`` row."""
    return {"user_id": user_id, "metric": value.metric, "timeframe": timeframe, "breakdown": value.breakdown,
            "breakdown_value": value.breakdown_value, "value": value.value, "reason": value.reason,
            "snapshot_day": day, **constants}  # fmt: skip
