"""Surviving Meta's next retirement: a metric Instagram refuses is dropped for the rest of the run, warned about
once, and counted; the request goes on without it. A run never fails because Meta retired a metric."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airflow_provider_instagram.exceptions import InstagramError, InstagramMetricError
from airflow_provider_instagram.insights.answers import NOT_FOR_MEDIA, InsightValue

log = logging.getLogger(__name__)
Fetch = Callable[[list[str]], list[InsightValue]]


@dataclass(frozen=True)
class DroppedMetric:
    """A metric dropped in this run.

    :param scope: the media product type (``REELS``) or ``account``.
    :param metric: the metric's name (with ``:<breakdown>`` when only its breakdown was refused).
    :param message: what Instagram answered.
    """

    scope: str
    metric: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "metric": self.metric, "message": self.message}


class MetricHealer:
    """The run's memory of refused metrics, shared by every thread of one account's read.

    :param conn_id: the account's connection (named in the warning).
    """

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self._dropped: dict[tuple[str, str], DroppedMetric] = {}
        self._served: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def dropped(self) -> list[DroppedMetric]:
        with self._lock:
            return sorted(self._dropped.values(), key=lambda d: (d.scope, d.metric))

    def usable(self, scope: str, metrics: Sequence[str]) -> list[str]:
        """``metrics`` without those dropped for ``scope``."""
        with self._lock:
            return [m for m in metrics if (scope, m) not in self._dropped]

    def drop(self, scope: str, metrics: Sequence[str], exc: InstagramError) -> None:
        """Drop ``metrics`` for ``scope``; the first drop of each logs one warning naming it and the fix."""
        for metric in metrics:
            with self._lock:
                if (scope, metric) in self._dropped:
                    continue
                self._dropped[(scope, metric)] = DroppedMetric(scope, metric, exc.message)
            log.warning(
                "Instagram refused insights metric %r for %s of connection %r: %s (code %s). It is dropped for the "
                "rest of this run; its earlier values stay in place and every other metric is still read. If Meta "
                "retired it, add it to the operator's exclude_metrics (or update the provider's catalog) to save the "
                "call that finds out again next run.", metric, scope, self.conn_id, exc.message, exc.code,
            )  # fmt: skip

    def call(self, scope: str, metrics: Sequence[str], fetch: Fetch) -> tuple[list[str], list[InsightValue]]:
        """``fetch(usable metrics)``, dropping what Instagram refuses and asking again without it.

        A metric refused as incompatible with one media, after Instagram served it for others of the scope, is that
        media's ``not_for_this_media`` value instead. When a refusal names no metric, each metric is asked alone
        once to find the culprits (their answers are kept). Returns the metrics asked and the values.

        :raises InstagramMetricError: the refusal names no metric and no metric alone is refused: it is about
            this request, not a metric (the caller leaves the media to the next run).
        """
        asked, found = self.usable(scope, metrics), list[InsightValue]()
        while asked:
            try:
                values = fetch(asked)
            except InstagramMetricError as exc:
                named = [m for m in asked if m in exc.metrics]
                if not named:
                    culprits, values = self._probe(asked, fetch)
                    if not culprits:
                        raise
                    self.drop(scope, culprits, exc)
                    return self._served_now(scope, [m for m in asked if m not in culprits]), found + values
                if "incompatible" in exc.message.lower() and self._was_served(scope, named):
                    found += [InsightValue(m, None, reason=NOT_FOR_MEDIA) for m in named]
                else:
                    self.drop(scope, named, exc)
                asked = [m for m in asked if m not in named]
                continue
            return self._served_now(scope, asked), found + values
        return [], found

    def _was_served(self, scope: str, metrics: Sequence[str]) -> bool:
        with self._lock:
            return all((scope, m) in self._served for m in metrics)

    def _served_now(self, scope: str, metrics: list[str]) -> list[str]:
        with self._lock:
            self._served.update((scope, m) for m in metrics)
        return metrics

    @staticmethod
    def _probe(asked: list[str], fetch: Fetch) -> tuple[list[str], list[InsightValue]]:
        """Each metric alone: the refused ones, and the others' values."""
        culprits, values = [], []
        for metric in asked:
            try:
                values += fetch([metric])
            except InstagramMetricError:
                culprits.append(metric)
        return culprits, values
