"""Instagram's insights answers read into typed values, and its insights errors into typed exceptions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from airflow_provider_instagram.exceptions import (
    InstagramError,
    InstagramMetricError,
    InstagramNoInsightsError,
    InstagramObjectNotFoundError,
    InstagramPermissionError,
    InstagramRequestError,
)

INSIGHTS_PERMISSION = "instagram_business_manage_insights"
NO_DATA = "no_data"
NOT_ENOUGH_VIEWERS = "not_enough_viewers"
BEFORE_CONVERSION = "before_business_conversion"
NOT_FOR_MEDIA = "not_for_this_media"
REASONS = {
    NO_DATA: "Instagram answered an empty data set: no data yet (values lag up to 48 hours) or none for this media",
    NOT_ENOUGH_VIEWERS: "(#10) Not enough viewers for the media to show insights (stories under 5 viewers)",
    BEFORE_CONVERSION: "the media was posted before the account became a business account (subcode 2108006)",
    NOT_FOR_MEDIA: "Instagram refused the metric for this media only (incompatible), having served it for others",
}
"""Why an insights row has no value (its ``reason`` column)."""
_METRIC_INDEX = re.compile(r"metric\[(\d+)\]")
_PERMISSION_WORDS = ("permission", "not authorized", "requires")
_REFUSAL_WORDS = ("metric", "an unknown error has occurred")  # code 100 texts about the metrics asked


@dataclass(frozen=True, slots=True)
class InsightValue:
    """One value Instagram answered (or did not).

    :param metric: the metric's name.
    :param value: the number; ``None`` when Instagram gave none (``reason`` says why).
    :param breakdown: the breakdown's dimension(s), comma-joined; ``''`` for the metric's total.
    :param breakdown_value: the dimension value(s), comma-joined; ``''`` for the total.
    :param day: the UTC day an account time series value is for (``None`` for lifetime and range totals).
    :param reason: why there is no value (:data:`REASONS`).
    """

    metric: str
    value: float | None
    breakdown: str = ""
    breakdown_value: str = ""
    day: date | None = None
    reason: str | None = None


def parse_insights(body: Any, asked: Sequence[str]) -> list[InsightValue]:
    """The values of an insights answer: totals, breakdown results and time series; every metric asked for that
    the answer leaves out is a ``no_data`` value (Instagram answers an empty data set, never 0, when it has none)."""
    values: list[InsightValue] = []
    seen: set[str] = set()
    for entry in body.get("data") or ():
        name = str(entry.get("name"))
        seen.add(name)
        points = entry.get("values")
        if points and "total_value" not in entry and (entry.get("period") == "lifetime" or _one_undated(points)):
            values.append(InsightValue(name, _number(points[0].get("value"))))  # one lifetime value: the usual answer
        else:
            values.extend(_entry_values(name, entry))
    values.extend(InsightValue(m, None, reason=NO_DATA) for m in asked if m not in seen)
    return values


def _one_undated(points: list[dict[str, Any]]) -> bool:
    return len(points) == 1 and "end_time" not in points[0]


def _entry_values(name: str, entry: dict[str, Any]) -> Iterator[InsightValue]:
    total = entry.get("total_value")
    if isinstance(total, dict):
        breakdowns = total.get("breakdowns") or ()
        if "value" in total or not breakdowns:  # demographics answer breakdowns without a total
            yield _value(name, total.get("value"))
        for breakdown in breakdowns:
            keys = ",".join(breakdown.get("dimension_keys") or ())
            for result in breakdown.get("results") or ():
                dims = ",".join(str(v) for v in result.get("dimension_values") or ())
                yield _value(name, result.get("value"), keys, dims)
        return
    points: list[dict[str, Any]] = entry.get("values") or []
    if entry.get("period") == "lifetime" or (len(points) == 1 and "end_time" not in points[0]):
        yield _value(name, points[0].get("value") if points else None)
        return
    for point in points:
        yield _value(name, point.get("value"), day=_day_ending(point.get("end_time")))


def _value(name: str, raw: Any, breakdown: str = "", dimension: str = "", day: date | None = None) -> InsightValue:
    """One value; a missing or non-numeric one is ``no_data``, never a 0 and never a null without a reason."""
    number = _number(raw)
    return InsightValue(name, number, breakdown, dimension, day, None if number is not None else NO_DATA)


def _number(value: Any) -> float | None:
    if type(value) is int or type(value) is float:  # what JSON gives: the quick test first
        return float(value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _day_ending(end_time: Any) -> date | None:
    """A daily value's ``end_time`` (``2022-08-02T07:00:00+0000``: the end of the day, Pacific time) -> its day."""
    if not end_time:
        return None
    return (datetime.strptime(str(end_time), "%Y-%m-%dT%H:%M:%S%z") - timedelta(days=1)).date()


def insights_error(exc: InstagramRequestError, asked: Sequence[str], breakdown: str | None,
                   conn_id: str) -> InstagramError:  # fmt: skip
    """The typed error an insights call's refusal stands for (``exc`` itself when it is none of them)."""
    code, subcode, text = exc.code, exc.subcode, exc.message
    kwargs: dict[str, Any] = {"status": exc.status, "code": code, "subcode": subcode, "fbtrace_id": exc.fbtrace_id,
              "endpoint": exc.endpoint}  # fmt: skip
    lowered = text.lower()
    if code == 10 and "not enough viewers" in lowered:
        return InstagramNoInsightsError(text, reason=NOT_ENOUGH_VIEWERS, **kwargs)
    if code in (10, 200) and any(word in lowered for word in _PERMISSION_WORDS):
        return InstagramPermissionError(
            f"The token of connection {conn_id!r} may not read insights ({text}): connect the account again "
            f"(airflow-instagram connect, or the Instagram page) granting the {INSIGHTS_PERMISSION} permission",
            permission=INSIGHTS_PERMISSION, **kwargs,
        )  # fmt: skip
    if code != 100:
        return exc
    if subcode == 2108006:
        return InstagramNoInsightsError(text, reason=BEFORE_CONVERSION, **kwargs)
    if subcode == 33:
        return InstagramObjectNotFoundError(text, **kwargs)
    named = _named_metrics(text, asked, breakdown)
    if named or any(word in lowered for word in _REFUSAL_WORDS):
        return InstagramMetricError(text, metrics=named, **kwargs)
    return exc  # a code 100 about the request itself (its dates, say), not a metric: nothing to drop


def _named_metrics(text: str, asked: Sequence[str], breakdown: str | None) -> tuple[str, ...]:
    """The metrics a code-100 answer is about: by index (``metric[2] must be one of``), by name, or, for the
    unnamed "unknown error" a breakdown draws, the one metric of a breakdown request."""
    indexed = [int(i) for i in _METRIC_INDEX.findall(text)]
    if indexed:
        return tuple(asked[i] for i in indexed if i < len(asked))
    words = set(re.findall(r"[a-z][a-z0-9_]*", text.lower()))
    named = tuple(m for m in asked if m in words)
    if named:
        return named
    return tuple(asked) if breakdown and len(asked) == 1 else ()
