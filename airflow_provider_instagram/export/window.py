"""Which UTC days an export owns, and how a long window splits into slices fetched side by side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from airflow_provider_instagram.options import LOOKBACK_DAYS

ONE_DAY = timedelta(days=1)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class ExportWindow:
    """The whole UTC days an export reads and rewrites.

    A run owns every day its window touches: it reads those days completely and replaces their partitions, so
    that a rerun replaces its own output and nothing else, and an hourly schedule never publishes a partial day.

    :param first_day: the oldest day owned; ``None`` in full-snapshot mode (every day that has media).
    :param last_day: the newest day owned (inclusive).
    """

    first_day: date | None
    last_day: date

    @classmethod
    def covering(
        cls, since: datetime | None, until: datetime, lookback_days: int = 0, full: bool = False
    ) -> ExportWindow:
        """The days touched by ``[since - lookback_days, until)``; ``full`` (or no ``since``) reads everything.

        :raises ValueError: ``lookback_days`` is out of its bounds (``options.LOOKBACK_DAYS``), or the window is
            empty or reversed.
        """
        lookback_days = LOOKBACK_DAYS.check(lookback_days)
        until = _utc(until)
        last_day = (until - timedelta(microseconds=1)).date()
        if full or since is None:
            return cls(None, last_day)
        since = _utc(since)
        if since >= until:
            raise ValueError(f"the export window is empty or reversed: since {since} is not before until {until}")
        return cls(since.date() - timedelta(days=lookback_days), last_day)

    @property
    def full(self) -> bool:
        return self.first_day is None

    @property
    def since(self) -> datetime | None:
        return None if self.first_day is None else _day_start(self.first_day)

    @property
    def until(self) -> datetime:
        return _day_start(self.last_day + ONE_DAY)

    @property
    def key(self) -> str:
        """``2026-11-27_2026-11-28`` (``all_...`` for a full snapshot): names the window in staging paths."""
        return f"{self.first_day or 'all'}_{self.last_day}"

    def days(self) -> list[date]:
        """Every owned day, newest first (the API's order); empty in full-snapshot mode (not known ahead)."""
        if self.first_day is None:
            return []
        count = (self.last_day - self.first_day).days + 1
        return [self.last_day - timedelta(days=n) for n in range(count)]

    def slices(self, count: int) -> Iterator[ExportWindow]:
        """Up to ``count`` contiguous windows of whole days, newest first; one when the days are not known."""
        days = self.days()
        if count <= 1 or len(days) <= 1:
            yield self
            return
        size, extra = divmod(len(days), min(count, len(days)))
        start = 0
        while start < len(days):
            end = start + size + (1 if extra > 0 else 0)
            extra -= 1
            chunk = days[start:end]
            yield ExportWindow(chunk[-1], chunk[0])
            start = end

    def describe(self) -> str:
        if self.first_day is None:
            return f"every media up to {self.last_day.isoformat()} (full snapshot)"
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()} (UTC days, inclusive)"
