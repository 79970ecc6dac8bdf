"""Surviving Meta's next retirement: a metric Instagram refuses is dropped for the rest of the run, warned about
once, and counted; the request goes on without it. A run never fails because Meta retired a metric."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from airflow_provider_instagram.exceptions import InstagramMetricError

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        self._lock = threading.Lock()

    @property
    def dropped(self) -> list[DroppedMetric]:
        with self._lock:
            return sorted(self._dropped.values(), key=lambda d: (d.scope, d.metric))

    def usable(self, scope: str, metrics: Sequence[str]) -> list[str]:
        """``metrics`` without those dropped for ``scope``."""
        with self._lock:
            return [m for m in metrics if (scope, m) not in self._dropped]

    def drop(self, scope: str, metrics: Sequence[str], exc: InstagramMetricError) -> None:
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

    def call(self, scope: str, metrics: Sequence[str], fetch: Callable[[list[str]], T]) -> tuple[list[str], T | None]:
        """``fetch(usable metrics)``, dropping what Instagram refuses and asking again without it.

        When a refusal names no metric, each metric is asked alone once to find the culprit(s). Returns the metrics
        finally asked and what ``fetch`` returned (``None`` when no metric was left).
        """
        asked = self.usable(scope, metrics)
        while asked:
            try:
                return asked, fetch(asked)
            except InstagramMetricError as exc:
                named = [m for m in asked if m in exc.metrics]
                if not named:
                    named = self._culprits(asked, fetch) or list(asked)
                self.drop(scope, named, exc)
                asked = [m for m in asked if m not in named]
        return [], None

    @staticmethod
    def _culprits(asked: list[str], fetch: Callable[[list[str]], object]) -> list[str]:
        if len(asked) == 1:
            return list(asked)
        culprits = []
        for metric in asked:
            try:
                fetch([metric])
            except InstagramMetricError:
                culprits.append(metric)
        return culprits
