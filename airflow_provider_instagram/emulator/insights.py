"""Media insights: which metric a media answers, with which value, or which error, in Meta's words.

The provider's metric catalog (``insights/catalog.json``) decides what exists for which product type and API
version, so the emulator and the provider cannot drift apart. Values are deterministic in (media id, metric) and
grow with the emulator's clock towards a ceiling, as real counts settle once a post is old. Account insights, which
share the helpers and errors here, are in ``account_insights``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from airflow_provider_instagram.emulator.config import DAY, EmulatorConfig
from airflow_provider_instagram.emulator.errors import GraphError, invalid_parameter
from airflow_provider_instagram.emulator.model import Media, Token
from airflow_provider_instagram.insights.catalog import MetricCatalog, MetricSpec, version_key

CATALOG = MetricCatalog.bundled()
HOUR = 3_600
KEPT_SECONDS = 2 * 365 * DAY  # Meta keeps insights for two years
INSIGHTS_SCOPE = "instagram_business_manage_insights"
NOT_SHARED_TO_FACEBOOK = frozenset({"facebook_views", "crossposted_views"})  # every emulated media is IG-only
MEDIA_BREAKDOWNS: Mapping[str, tuple[str, ...]] = {
    "action_type": ("BIO_LINK_CLICKED", "CALL", "DIRECTION", "EMAIL", "OTHER", "TEXT"),
    "story_navigation_action_type": ("TAP_FORWARD", "TAP_BACK", "TAP_EXIT", "SWIPE_FORWARD"),
}
# A metric's saturated value as a share (low, high) of the media's reach; the rest draw from (0.1, 1.0).
_SHARE_OF_REACH: Mapping[str, tuple[float, float]] = {
    "views": (1.2, 3.0), "impressions": (1.1, 2.0), "navigation": (0.8, 2.5), "saved": (0.0, 0.05),
    "shares": (0.0, 0.03), "reposts": (0.0, 0.01), "follows": (0.0, 0.01), "profile_visits": (0.0, 0.05),
    "profile_activity": (0.0, 0.03), "replies": (0.0, 0.03), "link_clicks": (0.0, 0.05),
}  # fmt: skip
_INTERACTIONS = {"STORY": ("shares", "replies"), "OTHER": ("likes", "comments", "saved", "shares")}
# Averages and rates do not accumulate: they are the same from the first hour on.
_STEADY = frozenset({"ig_reels_avg_watch_time", "reels_skip_rate"})


@dataclass(frozen=True)
class InsightsQuery:
    """The parameters of one insights request (media or account).

    :param metrics: the ``metric`` list, in the order asked.
    :param version: the request's API version (its ``/vNN.N`` prefix, else the emulator's default).
    :param breakdown: the one ``breakdown`` dimension, if any.
    :param period: ``period`` (account insights).
    :param metric_type: ``metric_type`` (account insights).
    :param timeframe: ``timeframe`` (demographics).
    :param since: ``since`` as Unix time.
    :param until: ``until`` as Unix time.
    """

    metrics: tuple[str, ...]
    version: str
    breakdown: str | None = None
    period: str | None = None
    metric_type: str | None = None
    timeframe: str | None = None
    since: int | None = None
    until: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], version: str, since: int | None, until: int | None) -> InsightsQuery:
        """Read a request's query string; a missing ``metric`` is the API's code 100."""
        metrics = tuple(m.strip() for m in params.get("metric", "").split(",") if m.strip())
        if not metrics:
            raise invalid_parameter("The parameter metric is required")
        return cls(
            metrics, version, params.get("breakdown") or None, params.get("period") or None,
            params.get("metric_type") or None, params.get("timeframe") or None, since, until,
        )  # fmt: skip


# ---------------------------------------------------------------------- errors
def unknown_metric(index: int, allowed: Sequence[str]) -> GraphError:
    return invalid_parameter(f"metric[{index}] must be one of the following values: {', '.join(allowed)}")


def retired_metric(name: str, major: int, subject: str) -> GraphError:
    """Meta's two wordings: the impressions one (media or "user") and the general one."""
    if name == "impressions":
        return invalid_parameter(
            f"Starting from version {major} and above, the impressions metric is no longer supported for the "
            f"queried {subject}. Please refer to the documentation for a list of supported metrics."
        )
    return invalid_parameter(f"Starting from version {major}+, the following metric is no longer supported: {name}")


def unknown_error(config: EmulatorConfig) -> GraphError:
    """What Meta answers for a breakdown the metric does not support (its code: ``breakdown_error_code``)."""
    return GraphError(config.breakdown_error_code, "An unknown error has occurred.")


def scope_error(config: EmulatorConfig) -> GraphError:
    if config.insights_scope_error_code == 200:
        return GraphError(200, f"(#200) Requires {INSIGHTS_SCOPE} permission")
    return GraphError(10, "(#10) Application does not have permission for this action")


def require_insights_scope(token: Token, config: EmulatorConfig) -> None:
    if INSIGHTS_SCOPE not in token.scopes:
        raise scope_error(config)


# ---------------------------------------------------------------------- catalog reading
def utc_day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def not_yet_added(spec: MetricSpec, version: str) -> bool:
    """A metric newer than the requested version is, for that version, not a metric at all."""
    asked, added = version_key(version), version_key(spec.added_in)
    return asked is not None and added is not None and asked < added


def retired_major(spec: MetricSpec, version: str, today: date, config: EmulatorConfig) -> int | None:
    """The version to name in a "no longer supported" error, or ``None`` while the metric is served."""
    asked = version_key(version)
    if spec.name in config.retired_metrics:
        return asked[0] if asked else 0
    if spec.served(version, today):
        return None
    removed = version_key(spec.removed_in)
    return removed[0] if removed else (asked[0] if asked else 0)


def media_metrics_served(product_type: str, version: str, today: date, config: EmulatorConfig) -> list[str]:
    """The metric names a media of ``product_type`` accepts on that version and day, in catalog order."""
    return [
        s.name for s in CATALOG.media.values()
        if product_type in s.product_types and not not_yet_added(s, version)
        and retired_major(s, version, today, config) is None
    ]  # fmt: skip


# ---------------------------------------------------------------------- values
def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split(total: int, keys: Sequence[str], salt: str, skew: float = 1.0) -> list[int]:
    """Share ``total`` among ``keys`` deterministically; the parts always sum to ``total``.

    :param total: what to share.
    :param keys: the dimension values, one part each.
    :param salt: makes the shares differ per media, metric and dimension.
    :param skew: above 1, a few keys take most (demographics).
    """
    weights = [0.02 + unit(salt, key) ** skew for key in keys]
    raw = [total * w / sum(weights) for w in weights]
    parts = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(keys)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def growth(item: Media, now: float) -> float:
    """How far a media's counts have come: 0 when posted, 1 once settled (stories settle within a day)."""
    age_hours = max(0.0, now - item.timestamp) / HOUR
    tau = 6.0 if item.media_product_type == "STORY" else 36.0
    return 1 - math.exp(-age_hours / tau)


def settled_reach(item: Media) -> float:
    if item.viewers is not None:
        return float(item.viewers)
    return 200 + unit(item.id, "reach") * 20_000


def settled_value(item: Media, name: str) -> float:
    """A metric's value once the media is old: likes and comments are the node's counts."""
    if name == "likes" and item.like_count is not None:
        return float(item.like_count)
    if name == "comments":
        return float(item.comments_count)
    if name == "reach":
        return settled_reach(item)
    if name == "ig_reels_avg_watch_time":
        return 2_000 + unit(item.id, name) * 28_000  # milliseconds
    if name == "reels_skip_rate":
        return unit(item.id, name) * 100  # percent
    low, high = _SHARE_OF_REACH.get(name, (0.1, 1.0))
    return settled_reach(item) * (low + (high - low) * unit(item.id, name))


def media_value(item: Media, name: str, now: float) -> int:
    """The value ``name`` of ``item`` reads at ``now``."""
    if name == "total_interactions":
        parts = _INTERACTIONS["STORY" if item.media_product_type == "STORY" else "OTHER"]
        return sum(media_value(item, part, now) for part in parts)
    if name == "ig_reels_video_view_total_time":
        return media_value(item, "views", now) * media_value(item, "ig_reels_avg_watch_time", now)
    if name in _STEADY:
        return round(settled_value(item, name))
    return round(settled_value(item, name) * growth(item, now))


# ---------------------------------------------------------------------- media insights
def check_media_metrics(query: InsightsQuery, item: Media, config: EmulatorConfig, today: date) -> None:
    """Refuse the request at its first bad metric, as Instagram does (one bad metric fails them all)."""
    product = item.media_product_type
    for index, name in enumerate(query.metrics):
        spec = CATALOG.media.get(name)
        if spec is None or not_yet_added(spec, query.version):
            raise unknown_metric(index, media_metrics_served(product, query.version, today, config))
        major = retired_major(spec, query.version, today, config)
        if major is not None:
            raise retired_metric(name, major, "media")
        if product not in spec.product_types:
            raise invalid_parameter(
                f"The Media Insights API does not support the {name} metric for this media product type"
            )
        if not spec.serves_media(product, utc_day(item.timestamp)) or name in NOT_SHARED_TO_FACEBOOK:
            raise invalid_parameter(f"Incompatible metric ({name}) with the media")
        if query.breakdown is not None and query.breakdown not in spec.breakdowns:
            raise unknown_error(config)


def check_media_data(item: Media, config: EmulatorConfig, now: float) -> bool:
    """Whether the media has data yet; raises for media whose insights are refused altogether."""
    if config.business_conversion_time is not None and item.timestamp < config.business_conversion_time:
        raise GraphError(100, "Media posted before business account conversion", subcode=2108006)
    age = now - item.timestamp
    story = item.media_product_type == "STORY"
    lag = (config.story_insights_lag_hours if story else config.insights_lag_hours) * HOUR
    if age < lag or age >= (DAY if story else KEPT_SECONDS):
        return False  # not there yet, or gone (a story's insights live 24 h): an empty data set, not zeros
    if story and media_value(item, "reach", now) < 5:
        raise GraphError(10, "(#10) Not enough viewers for the media to show insights")
    return True


def media_entry(item: Media, name: str, value: int, breakdown: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name, "period": "lifetime", "values": [{"value": value}], "title": metric_title(name),
        "description": metric_description(name, "media"), "id": f"{item.id}/insights/{name}/lifetime",
    }  # fmt: skip
    if breakdown is not None:
        keys = MEDIA_BREAKDOWNS.get(breakdown, ())
        entry["total_value"] = {"value": value, "breakdowns": [breakdown_block(breakdown, keys, value, item.id)]}
    return entry


def media_insights(config: EmulatorConfig, item: Media, query: InsightsQuery, now: float) -> dict[str, Any]:
    """The answer of ``GET /<media-id>/insights`` at ``now``.

    :param config: the emulator's switches (``retired_metrics``, lags, ``business_conversion_time``).
    :param item: the media asked about.
    :param query: the request's metrics, breakdown and API version.
    :param now: the emulator's clock.
    :return: ``{"data": [...]}``, empty while the media has no data yet.
    :raises GraphError: at the first bad metric, or for media without insights (children, 2108006, small stories).
    """
    if item.parent_id is not None:
        raise invalid_parameter("Insights are not available for carousel album children")
    check_media_metrics(query, item, config, utc_day(now))
    if not check_media_data(item, config, now):
        return {"data": []}
    entries = [media_entry(item, n, media_value(item, n, now), query.breakdown) for n in query.metrics]
    return {"data": entries}


# ---------------------------------------------------------------------- shared shapes
def breakdown_block(dimension: str, keys: Sequence[str], total: int, salt: str) -> dict[str, Any]:
    """One ``breakdowns`` entry whose results sum to ``total``."""
    parts = split(total, keys, f"{salt}|{dimension}")
    results = [{"dimension_values": [k], "value": v} for k, v in zip(keys, parts, strict=True)]
    return {"dimension_keys": [dimension], "results": results}


def metric_title(name: str) -> str:
    return name.replace("ig_reels_", "reels ").replace("_", " ").capitalize()


def metric_description(name: str, subject: str) -> str:
    return f"{metric_title(name)} of the {subject} (emulated)."


def format_end_time(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))
