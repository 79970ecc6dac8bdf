"""Reading insights for one account: media side by side within a call budget, the account's days and audience."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial

from airflow_provider_instagram.exceptions import (
    InstagramAuthError,
    InstagramMetricError,
    InstagramNoInsightsError,
    InstagramObjectNotFoundError,
    InstagramPermissionError,
    InstagramRateLimitError,
    InstagramRequestError,
    InstagramTransientError,
)
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.insights.answers import InsightValue
from airflow_provider_instagram.insights.catalog import MetricCatalog, MetricSpec
from airflow_provider_instagram.insights.healing import MetricHealer
from airflow_provider_instagram.insights.policy import MediaRef

log = logging.getLogger(__name__)
TIMEFRAMES = ("this_week", "this_month")


@dataclass
class CallBudget:
    """When a run stops asking: after ``max_calls`` calls, or once Instagram's usage headers report
    ``usage_ceiling_percent`` (the rest of the rate-limit budget is left to other runs and tools).

    :param max_calls: media insights calls at most (``None``: no count limit).
    :param usage_ceiling_percent: usage (the highest of the headers' percentages) at which to stop, 1 to 100.
    """

    max_calls: int | None = None
    usage_ceiling_percent: int = 75

    def __post_init__(self) -> None:
        if not 1 <= self.usage_ceiling_percent <= 100 or (self.max_calls is not None and self.max_calls < 1):
            raise ValueError("usage_ceiling_percent must be 1 to 100 and max_calls at least 1 (or None)")

    def exhausted(self, hooks: Sequence[InstagramHook], in_flight: int = 0) -> bool:
        """Whether to stop asking media insights; ``in_flight`` requests count as calls made."""
        calls = sum(h.api_calls for h in hooks) + in_flight
        return (self.max_calls is not None and calls >= self.max_calls) or self.usage_reached(hooks)

    def usage_reached(self, hooks: Sequence[InstagramHook]) -> bool:
        """Whether the usage the hooks last saw reached the ceiling."""
        return (self.usage(hooks) or 0) >= self.usage_ceiling_percent

    @staticmethod
    def usage(hooks: Sequence[InstagramHook]) -> int | None:
        """The highest usage percent the hooks saw (``None`` before any call or any header)."""
        seen = [h.transport.usage_percent for h in hooks if h.api_calls and h.transport.usage_percent is not None]
        return max(seen, default=None)


@dataclass
class MediaRead:
    """What reading one media gave: its values, that it is gone from Instagram, or that the read failed (the media
    is left to the next run)."""

    ref: MediaRef
    values: list[InsightValue] = field(default_factory=list)
    gone: bool = False
    failed: bool = False


class MediaInsightsReader:
    """Reads media insights side by side, one hook per thread, most urgent media first, until the budget is spent.

    :param hook_factory: makes a hook for the account (one per thread).
    :param catalog: the metrics to ask per product type.
    :param healer: the run's memory of refused metrics.
    :param on_day: the snapshot day (which retirements apply).
    :param api_version: the hooks' API version (which metrics it serves).
    :param concurrency: calls in flight at once (1 to 32).
    :param budget: when to stop.
    :param breakdowns: also read each metric's breakdowns (one more call per media and breakdown).
    """

    def __init__(
        self, hook_factory: Callable[[], InstagramHook], catalog: MetricCatalog, healer: MetricHealer, *,
        on_day: date, api_version: str | None, concurrency: int = 8, budget: CallBudget | None = None,
        breakdowns: bool = False,
    ) -> None:  # fmt: skip
        if not 1 <= concurrency <= 32:
            raise ValueError(f"concurrency must be 1 to 32, not {concurrency}")
        self.hook_factory, self.catalog, self.healer = hook_factory, catalog, healer
        self.on_day, self.api_version, self.concurrency = on_day, api_version, concurrency
        self.budget, self.breakdowns = budget or CallBudget(), breakdowns
        self.hooks: list[InstagramHook] = []
        self.deferred = self.failed = 0
        self.stopped_by: str | None = None  # why the run stopped asking before the budget did (a rate limit)
        self.reasons: Counter[str] = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()

    def read(self, due: Sequence[MediaRef]) -> Iterator[MediaRead]:
        """Each due media's read, as they finish; what the budget (or a rate limit) leaves is counted in
        ``deferred``, the reads that failed in ``failed``: both are left to the next run."""
        pending: set[Future[MediaRead]] = set()
        queue = iter(due)
        remaining = len(due)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="instagram-insights") as pool:
            while True:
                while len(pending) < self.concurrency * 2 and not self._stop(len(pending)):
                    ref = next(queue, None)
                    if ref is None:
                        break
                    remaining -= 1
                    pending.add(pool.submit(self._read_one, ref))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
            self.deferred = remaining

    def _stop(self, in_flight: int) -> bool:
        return self.stopped_by is not None or self.budget.exhausted(self.hooks, in_flight)

    def _hook(self) -> InstagramHook:
        hook: InstagramHook | None = getattr(self._local, "hook", None)
        if hook is None:
            hook = self._local.hook = self.hook_factory()
            with self._lock:
                self.hooks.append(hook)
        return hook

    def _read_one(self, ref: MediaRef) -> MediaRead:
        """One media's values; an error that is about this read alone (a transient one after the hook's retries, an
        unexplained refusal, a rate limit) leaves the media to the next run instead of failing the account's."""
        try:
            found = self._values(ref)
        except InstagramObjectNotFoundError:
            return MediaRead(ref, gone=True)
        except (InstagramAuthError, InstagramPermissionError):
            raise  # the account's token: no media can be read
        except (InstagramRateLimitError, InstagramTransientError, InstagramRequestError) as exc:
            with self._lock:
                self.failed += 1
                first = self.failed == 1
                if isinstance(exc, InstagramRateLimitError):
                    self.stopped_by = str(exc)
            if first or isinstance(exc, InstagramRateLimitError):
                log.warning("Insights of media %s left to the next run: %s", ref.id, exc)
            return MediaRead(ref, failed=True)
        with self._lock:
            self.reasons.update(v.reason for v in found if v.reason)
        return MediaRead(ref, found)

    def _values(self, ref: MediaRef) -> list[InsightValue]:
        hook, scope = self._hook(), ref.product_type or "UNKNOWN"
        specs = self.catalog.media_metrics(ref.product_type, self.api_version, self.on_day, ref.created.date())
        try:
            asked, found = self.healer.call(scope, [s.name for s in specs],
                                            lambda names: hook.get_media_insights(ref.id, names))  # fmt: skip
        except InstagramNoInsightsError as exc:
            return [InsightValue(s.name, None, reason=exc.reason) for s in specs]
        if self.breakdowns:
            found += self._breakdowns(hook, ref, scope, [s for s in specs if s.breakdowns and s.name in asked])
        return found

    def _breakdowns(
        self, hook: InstagramHook, ref: MediaRef, scope: str, specs: list[MetricSpec]
    ) -> list[InsightValue]:
        found: list[InsightValue] = []
        for spec in specs:
            for dimension in spec.breakdowns:
                name = f"{spec.name}:{dimension}"
                if not self.healer.usable(scope, [name]):
                    continue
                try:
                    values = hook.get_media_insights(ref.id, [spec.name], breakdown=dimension)
                except (InstagramMetricError, InstagramTransientError) as exc:
                    # Meta answers a breakdown a metric lacks with "An unknown error has occurred.", whose code
                    # (100, or the transient 1) no page confirms: either way, that breakdown goes for the run.
                    self.healer.drop(scope, [name], exc)
                    continue
                found += [v for v in values if v.breakdown]
        return found


@dataclass
class AccountRead:
    """The account days read: their values, and the last day read (``None``: none)."""

    values: list[InsightValue] = field(default_factory=list)
    last: date | None = None


class AccountInsightsReader:
    """Reads the account's daily metrics (day by day, then per breakdown) and its audience.

    :param hook: the account's hook.
    :param catalog: the account metrics to ask.
    :param healer: the run's memory of refused metrics.
    :param on_day: the snapshot day.
    :param api_version: the hook's API version.
    """

    def __init__(self, hook: InstagramHook, catalog: MetricCatalog, healer: MetricHealer, *, on_day: date,
                 api_version: str | None) -> None:  # fmt: skip
        self.hook, self.catalog, self.healer, self.on_day = hook, catalog, healer, on_day
        self.api_version = api_version

    def daily(self, first: date, last: date, stop: Callable[[], bool] = lambda: False) -> AccountRead:
        """Every total-value metric for each day from ``first`` on (with its breakdowns), oldest first, and the time
        series metrics over the days read. A day whose read fails (after the hook's retries), or ``stop()`` (the
        call budget), ends the reading: the days from there are left to the next run."""
        read = AccountRead()
        specs = self.catalog.account_metrics("total_value", self.api_version, self.on_day)
        day = first
        while day <= last and not stop():
            try:
                values = self._day(day, specs)
            except (InstagramAuthError, InstagramPermissionError):
                raise
            except (InstagramRateLimitError, InstagramTransientError, InstagramRequestError) as exc:
                log.warning("Account insights from %s on left to the next run: %s", day, exc)
                break
            read.values += values
            read.last = day
            day += timedelta(days=1)
        if read.last is not None:
            for spec in self.catalog.account_metrics("time_series", self.api_version, self.on_day):
                start = max(first, self.on_day - timedelta(days=(spec.max_days_back or 30) - 1))
                if start <= read.last:
                    read.values += self._series(spec.name, start, read.last)
        return read

    def _series(self, metric: str, first: date, last: date) -> list[InsightValue]:
        def fetch(names: list[str]) -> list[InsightValue]:
            until = last + timedelta(days=1)
            return self.hook.get_account_insights(names, metric_type="time_series", since=first, until=until)

        try:
            _, values = self.healer.call("account", [metric], fetch)
        except (InstagramRateLimitError, InstagramTransientError, InstagramMetricError) as exc:
            log.warning("Account insights %s left to the next run: %s", metric, exc)
            return []
        return [v for v in values if v.day is not None and first <= v.day <= last]

    def _day(self, day: date, specs: Sequence[MetricSpec]) -> list[InsightValue]:
        since = datetime(day.year, day.month, day.day, tzinfo=UTC)
        until = since + timedelta(seconds=86_399)  # the day's last second: one day, whether until is inclusive or not

        def fetch(names: list[str], breakdown: str | None = None) -> list[InsightValue]:
            return self.hook.get_account_insights(names, since=since, until=until, breakdown=breakdown)

        _, totals = self.healer.call("account", [s.name for s in specs], fetch)
        found = [_on(v, day) for v in totals]
        by_dimension: dict[str, list[str]] = {}
        for spec in specs:
            for dimension in spec.breakdowns:
                by_dimension.setdefault(dimension, []).append(spec.name)
        for dimension, names in sorted(by_dimension.items()):
            _, values = self.healer.call(f"account:{dimension}", names, partial(fetch, breakdown=dimension))
            found += [_on(v, day) for v in values if v.breakdown]
        return found

    def audience(self, timeframe: str = "this_month") -> list[InsightValue]:
        """Each demographics metric by each of its breakdowns (top 45 per breakdown; none under 100 followers)."""
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"timeframe must be one of {TIMEFRAMES}, not {timeframe!r}")
        found: list[InsightValue] = []
        for spec in self.catalog.account_metrics("demographics", self.api_version, self.on_day):
            for dimension in spec.breakdowns:
                fetch = partial(self.hook.get_account_insights, period="lifetime", breakdown=dimension,
                                timeframe=timeframe)  # fmt: skip
                _, values = self.healer.call(f"account:{dimension}", [spec.name], fetch)
                found += [v if v.breakdown else _as_dimension(v, dimension) for v in values]
        return found


def _on(value: InsightValue, day: date) -> InsightValue:
    return value if value.day == day else InsightValue(value.metric, value.value, value.breakdown,
                                                       value.breakdown_value, day, value.reason)  # fmt: skip


def _as_dimension(value: InsightValue, dimension: str) -> InsightValue:
    """A demographics total (or its missing value) filed under the breakdown asked, value ``''``: one per breakdown."""
    return InsightValue(value.metric, value.value, dimension, "", value.day, value.reason)
