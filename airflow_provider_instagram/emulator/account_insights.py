"""Account insights: daily totals, time series and audience demographics of one account, or Instagram's error.

Each (account, metric, UTC day) has a deterministic daily value; a range answers the sum over its days, so a client
that asks day by day and one that asks for a month see the same numbers. Days within the lag, and days older than
two years, have no data; a range with no day of data answers an empty data set (not zeros).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from airflow_provider_instagram.emulator.config import DAY, EmulatorConfig
from airflow_provider_instagram.emulator.errors import invalid_parameter
from airflow_provider_instagram.emulator.insights import (
    CATALOG,
    HOUR,
    KEPT_SECONDS,
    InsightsQuery,
    breakdown_block,
    format_end_time,
    metric_description,
    metric_title,
    not_yet_added,
    retired_major,
    retired_metric,
    split,
    unit,
    unknown_error,
    unknown_metric,
    utc_day,
)
from airflow_provider_instagram.emulator.model import Account
from airflow_provider_instagram.insights.catalog import MetricSpec, version_key

ACCOUNT_BREAKDOWNS: Mapping[str, tuple[str, ...]] = {
    "follower_type": ("FOLLOWER", "NON_FOLLOWER"),
    "follow_type": ("FOLLOWER", "NON_FOLLOWER"),  # follows_and_unfollows: follows and unfollows
    "media_product_type": ("POST", "REEL", "STORY", "AD"),
    "contact_button_type": ("BOOK_NOW", "CALL", "DIRECTION", "EMAIL", "INSTANT_EXPERIENCE", "TEXT", "UNDEFINED"),
}
_CITIES = (
    "London, England", "Paris, Île-de-France", "Berlin, Berlin", "Madrid, Comunidad de Madrid", "Rome, Lazio",
    "Milan, Lombardy", "Lisbon, Lisbon", "Porto, Porto", "Vienna, Vienna", "Zurich, Zurich", "Munich, Bavaria",
    "Hamburg, Hamburg", "Amsterdam, North Holland", "Brussels, Brussels", "Copenhagen, Capital Region",
    "Stockholm, Stockholm County", "Oslo, Oslo", "Helsinki, Uusimaa", "Dublin, Dublin", "Warsaw, Masovia",
    "Prague, Prague", "Budapest, Budapest", "Athens, Attica", "Istanbul, Istanbul", "New York, New York",
    "Los Angeles, California", "Chicago, Illinois", "Houston, Texas", "Toronto, Ontario", "Montreal, Quebec",
    "Mexico City, Distrito Federal", "São Paulo, São Paulo (state)", "Rio de Janeiro, Rio de Janeiro (state)",
    "Buenos Aires, Buenos Aires", "Santiago, Santiago Metropolitan Region", "Bogotá, Distrito Especial",
    "Lima, Lima Region", "Cairo, Cairo Governorate", "Lagos, Lagos State", "Nairobi, Nairobi",
    "Johannesburg, Gauteng", "Dubai, Dubai", "Mumbai, Maharashtra", "Delhi, Delhi", "Bangalore, Karnataka",
    "Jakarta, Jakarta", "Manila, Metro Manila", "Bangkok, Bangkok", "Tokyo, Tokyo", "Osaka, Osaka",
    "Seoul, Seoul", "Sydney, New South Wales", "Melbourne, Victoria", "Auckland, Auckland Region",
    "Singapore, Singapore", "Kuala Lumpur, Kuala Lumpur", "Ho Chi Minh City, Ho Chi Minh City",
    "Karachi, Sindh", "Tehran, Tehran Province", "Riyadh, Riyadh Region",
)  # fmt: skip
_COUNTRIES = (
    "US", "BR", "IN", "ID", "MX", "TR", "GB", "DE", "FR", "IT", "ES", "AR", "CO",
    "PH", "JP", "KR", "TH", "RU", "CA", "AU", "NL", "PL", "SE", "PT", "CH",
)  # fmt: skip
DEMOGRAPHIC_VALUES: Mapping[str, tuple[str, ...]] = {
    "age": ("13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "gender": ("F", "M", "U"),
    "country": _COUNTRIES,
    "city": _CITIES,
}
DEMOGRAPHICS_TOP = 45
DEMOGRAPHICS_MIN_AUDIENCE = 100
TIMEFRAMES = ("this_week", "this_month")
OLD_TIMEFRAMES = ("last_14_days", "last_30_days", "last_90_days", "prev_month")
# Daily values as a share of the account's followers (plus a floor, so small accounts see something).
_DAILY_SHARE: Mapping[str, float] = {
    "reach": 0.1, "views": 0.25, "accounts_engaged": 0.02, "likes": 0.03, "comments": 0.003, "saves": 0.002,
    "shares": 0.002, "replies": 0.001, "reposts": 0.001, "follows_and_unfollows": 0.002,
    "profile_links_taps": 0.001, "follower_count": 0.001,
}  # fmt: skip
_INTERACTIONS = ("likes", "comments", "saves", "shares", "replies")


# ---------------------------------------------------------------------- checks
def account_metrics_served(version: str, today: date, config: EmulatorConfig) -> list[str]:
    return [s.name for s in CATALOG.account.values() if _known(s, version, config)
            and retired_major(s, version, today, config) is None]  # fmt: skip


def _known(spec: MetricSpec, version: str, config: EmulatorConfig) -> bool:
    hidden = spec.name == "follower_count" and not config.serve_follower_count
    return not hidden and not not_yet_added(spec, version)


def check_account_metric(index: int, name: str, query: InsightsQuery, config: EmulatorConfig, today: date) -> None:
    """Refuse ``name`` (the ``index``-th metric) as Instagram would, or return quietly."""
    spec = CATALOG.account.get(name)
    if spec is None or not _known(spec, query.version, config):
        raise unknown_metric(index, account_metrics_served(query.version, today, config))
    major = retired_major(spec, query.version, today, config)
    if major is not None:
        raise retired_metric(name, major, "user")
    demographics = spec.kind == "demographics"
    period = "lifetime" if demographics else "day"
    if query.period != period:
        raise invalid_parameter(f"The {name} metric needs period={period}, not period={query.period}")
    _check_metric_type(spec, query.metric_type)
    if (query.breakdown is not None or demographics) and query.breakdown not in spec.breakdowns:
        raise unknown_error(config)
    if query.breakdown is not None and query.metric_type == "time_series":
        raise unknown_error(config)
    if demographics:
        _check_timeframe(query)


def _check_metric_type(spec: MetricSpec, metric_type: str | None) -> None:
    # reach is a total_value metric that also answers time series; follower_count only answers time series
    allowed = {"time_series": ("time_series", None), "demographics": ("total_value",)}.get(spec.kind, ("total_value",))
    if spec.name == "reach":
        allowed = ("total_value", "time_series")
    if metric_type in allowed:
        return
    if metric_type is None:
        raise invalid_parameter(
            f"The following metrics ({spec.name}) should be specified with parameter metric_type=total_value"
        )
    raise invalid_parameter(f"metric_type={metric_type} is not supported for the {spec.name} metric")


def _check_timeframe(query: InsightsQuery) -> None:
    timeframe = query.timeframe
    if timeframe is None:
        raise invalid_parameter("The parameter timeframe is required for demographics metrics")
    old_version = (version_key(query.version) or (99, 0)) < (20, 0)
    if timeframe in OLD_TIMEFRAMES and not old_version:
        raise invalid_parameter(
            f"Starting from version 20+, timeframe {timeframe} is no longer supported: use one of "
            f"{', '.join(TIMEFRAMES)}"
        )
    if timeframe not in TIMEFRAMES + OLD_TIMEFRAMES:
        raise invalid_parameter(f"timeframe must be one of the following values: {', '.join(TIMEFRAMES)}")


def window(query: InsightsQuery, config: EmulatorConfig, now: float) -> tuple[int, int]:
    """The requested ``[since, until)`` (the last 24 h by default), within the range limit."""
    until = query.until if query.until is not None else int(now)
    since = query.since if query.since is not None else until - DAY
    if since >= until:
        raise invalid_parameter("The parameter since must be earlier than until")
    limit = config.account_insights_max_range_days
    if limit is not None and until - since > limit * DAY:
        raise invalid_parameter(f"There cannot be more than {limit} days ({limit * DAY} s) between since and until")
    back = CATALOG.account["follower_count"].max_days_back or 30
    if "follower_count" in query.metrics and since < now - back * DAY:
        raise invalid_parameter(f"follower_count is only available for the last {back} days: move since later")
    return since, until


def days_with_data(since: int, until: int, config: EmulatorConfig, now: float) -> list[int]:
    """The UTC days (as day numbers since the epoch) the range touches that have data at ``now``."""
    newest_end = now - config.insights_lag_hours * HOUR
    days = range(since // DAY, (until - 1) // DAY + 1)
    return [d for d in days if (d + 1) * DAY <= newest_end and d * DAY >= now - KEPT_SECONDS]


# ---------------------------------------------------------------------- values
def daily_value(account: Account, name: str, day: int) -> int:
    """The account's value of ``name`` on UTC day ``day``: deterministic, whatever range asks for it."""
    if name == "total_interactions":
        return sum(daily_value(account, part, day) for part in _INTERACTIONS)
    share = _DAILY_SHARE.get(name, 0.05)
    return round((3 + account.followers_count * share) * (0.5 + unit(account.id, name, day)))


def _entry(account: Account, name: str, period: str) -> dict[str, Any]:
    return {
        "name": name, "period": period, "title": metric_title(name),
        "description": metric_description(name, "account"), "id": f"{account.id}/insights/{name}/{period}",
    }  # fmt: skip


def total_value_entry(account: Account, name: str, days: list[int], breakdown: str | None) -> dict[str, Any]:
    total = sum(daily_value(account, name, d) for d in days)
    value: dict[str, Any] = {"value": total}
    if breakdown is not None:
        salt = f"{account.id}|{name}|{days[0]}|{days[-1]}"
        value["breakdowns"] = [breakdown_block(breakdown, ACCOUNT_BREAKDOWNS[breakdown], total, salt)]
    return {**_entry(account, name, "day"), "total_value": value}


def time_series_entry(account: Account, name: str, days: list[int]) -> dict[str, Any]:
    values = [{"value": daily_value(account, name, d), "end_time": format_end_time((d + 1) * DAY + 7 * HOUR)}
              for d in days]  # fmt: skip
    return {**_entry(account, name, "day"), "values": values}


def demographics_entry(account: Account, name: str, query: InsightsQuery) -> dict[str, Any] | None:
    """The top rows of one breakdown; ``None`` below the audience Instagram needs to show any."""
    audience = account.followers_count if name == "follower_demographics" else account.followers_count // 4
    if audience < DEMOGRAPHICS_MIN_AUDIENCE:
        return None
    dimension = str(query.breakdown)
    keys = DEMOGRAPHIC_VALUES[dimension]
    salt = f"{account.id}|{name}|{dimension}|{query.timeframe}"
    rows = sorted(zip(split(audience, keys, salt, skew=3.0), keys, strict=True), reverse=True)
    results = [{"dimension_values": [k], "value": v} for v, k in rows[:DEMOGRAPHICS_TOP] if v > 0]
    breakdowns = [{"dimension_keys": [dimension], "results": results}]
    return {**_entry(account, name, "lifetime"), "total_value": {"breakdowns": breakdowns}}


def account_insights(config: EmulatorConfig, account: Account, query: InsightsQuery, now: float) -> dict[str, Any]:
    """The answer of ``GET /<ig-user-id>/insights`` at ``now``.

    :param config: the emulator's switches (``retired_metrics``, lag, range limit, ``serve_follower_count``).
    :param account: the account asked about.
    :param query: the request's metrics, period, metric type, breakdown, timeframe, range and API version.
    :param now: the emulator's clock.
    :return: ``{"data": [...]}``, empty when no day of the range has data (or the audience is too small).
    :raises GraphError: at the first bad metric or parameter.
    """
    today = utc_day(now)
    for index, name in enumerate(query.metrics):
        check_account_metric(index, name, query, config, today)
    if query.period == "lifetime":
        entries = [demographics_entry(account, name, query) for name in query.metrics]
        return {"data": [e for e in entries if e is not None]}
    days = days_with_data(*window(query, config, now), config, now)
    if not days:
        return {"data": []}
    if query.metric_type != "total_value":  # the checks let only time series through without total_value
        return {"data": [time_series_entry(account, name, days) for name in query.metrics]}
    return {"data": [total_value_entry(account, name, days, query.breakdown) for name in query.metrics]}
