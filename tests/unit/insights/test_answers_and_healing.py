"""Insights answers into typed values; refusals into typed errors; refused metrics dropped once and the call retried."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from airflow_provider_instagram.exceptions import (
    InstagramMetricError,
    InstagramNoInsightsError,
    InstagramPermissionError,
    InstagramRequestError,
)
from airflow_provider_instagram.insights.answers import InsightValue, insights_error, parse_insights
from airflow_provider_instagram.insights.healing import MetricHealer


def test_lifetime_breakdown_and_time_series_values_and_missing_metrics_are_no_data_not_zero() -> None:
    body = {"data": [
        {"name": "reach", "period": "lifetime", "values": [{"value": 12}]},
        {"name": "profile_activity", "period": "lifetime", "total_value": {"value": 5, "breakdowns": [
            {"dimension_keys": ["action_type"], "results": [{"dimension_values": ["EMAIL"], "value": 5}]}]}},
        {"name": "follower_count", "period": "day", "values": [{"value": 3, "end_time": "2026-11-29T07:00:00+0000"}]},
    ]}  # fmt: skip
    values = parse_insights(body, ["reach", "profile_activity", "follower_count", "saved"])
    assert InsightValue("reach", 12.0) in values
    assert InsightValue("profile_activity", 5.0, "action_type", "EMAIL") in values
    assert InsightValue("follower_count", 3.0, day=date(2026, 11, 28)) in values
    assert InsightValue("saved", None, reason="no_data") in values


def error(code: int, message: str, subcode: int | None = None) -> InstagramRequestError:
    return InstagramRequestError(message, code=code, subcode=subcode, status=400)


@pytest.mark.parametrize(
    ("refusal", "asked", "metrics"),
    [
        (error(100, "Starting from version 21+, the following metric is no longer supported: video_views"),
         ["reach", "video_views"], ("video_views",)),
        (error(100, "(#100) metric[1] must be one of the following values: reach, saved"), ["reach", "plays"],
         ("plays",)),
        (error(100, "Incompatible metric (total_interactions) with the media"), ["total_interactions"],
         ("total_interactions",)),
        (error(100, "(#100) An unknown error has occurred."), ["reach", "saved"], ()),
    ],
)  # fmt: skip
def test_code_100_names_the_metrics_it_is_about(refusal: InstagramRequestError, asked: list[str],
                                                metrics: tuple[str, ...]) -> None:  # fmt: skip
    typed = insights_error(refusal, asked, None, "ig")
    assert isinstance(typed, InstagramMetricError) and typed.metrics == metrics


def test_no_insights_reasons_and_the_missing_permission() -> None:
    before = insights_error(
        error(100, "Media posted before business account conversion", 2108006), ["reach"], None, "x"
    )
    assert isinstance(before, InstagramNoInsightsError) and before.reason == "before_business_conversion"
    few = insights_error(error(10, "(#10) Not enough viewers for the media to show insights"), ["reach"], None, "x")
    assert isinstance(few, InstagramNoInsightsError) and few.reason == "not_enough_viewers"
    for code, text in ((10, "(#10) Application does not have permission for this action"),
                       (200, "(#200) Requires instagram_business_manage_insights permission")):  # fmt: skip
        refused = insights_error(error(code, text), ["reach"], None, "ig_shop")
        assert isinstance(refused, InstagramPermissionError)
        assert "ig_shop" in str(refused) and "instagram_business_manage_insights" in str(refused)


def test_a_code_100_about_the_request_itself_is_not_a_metric_refusal() -> None:
    refusal = error(100, "(#100) There cannot be more than 30 days (2592000 s) between since and until")
    typed = insights_error(refusal, ["reach", "views"], None, "ig")
    assert type(typed) is InstagramRequestError


def values(names: list[str]) -> list[InsightValue]:
    return [InsightValue(n, 1.0) for n in names]


def test_a_refused_metric_is_dropped_once_with_one_warning_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    healer, asked_log = MetricHealer("ig"), []

    def fetch(names: list[str]) -> list[InsightValue]:
        asked_log.append(list(names))
        if "plays" in names:
            raise InstagramMetricError("plays is no longer supported", metrics=("plays",), code=100)
        return values(names)

    with caplog.at_level(logging.WARNING):
        assert healer.call("REELS", ["reach", "plays"], fetch) == (["reach"], values(["reach"]))
        assert healer.call("REELS", ["reach", "plays"], fetch) == (["reach"], values(["reach"]))
    assert asked_log == [["reach", "plays"], ["reach"], ["reach"]]
    assert [d.metric for d in healer.dropped] == ["plays"]
    assert len([r for r in caplog.records if "plays" in r.getMessage()]) == 1
    assert healer.usable("FEED", ["plays"]) == ["plays"]  # dropped for REELS only


def test_a_refusal_naming_no_metric_finds_the_culprit_and_keeps_the_others_answers() -> None:
    healer, calls = MetricHealer("ig"), []

    def fetch(names: list[str]) -> list[InsightValue]:
        calls.append(names)
        if "saved" in names:
            raise InstagramMetricError("(#100) An unknown error has occurred.", code=100)
        return values(names)

    assert healer.call("FEED", ["reach", "saved", "likes"], fetch) == (["reach", "likes"], values(["reach", "likes"]))
    assert [d.metric for d in healer.dropped] == ["saved"] and len(calls) == 4


def test_a_refusal_no_metric_explains_drops_nothing_and_is_raised() -> None:
    healer, answers = MetricHealer("ig"), iter([False, True, True])

    def fetch(names: list[str]) -> list[InsightValue]:
        if not next(answers):
            raise InstagramMetricError("(#100) An unknown error has occurred.", code=100)
        return values(names)

    with pytest.raises(InstagramMetricError):
        healer.call("FEED", ["reach", "likes"], fetch)
    assert healer.dropped == [] and healer.usable("FEED", ["reach", "likes"]) == ["reach", "likes"]


def test_incompatible_with_one_media_after_serving_others_is_that_medias_reason_not_a_drop() -> None:
    healer = MetricHealer("ig")
    assert healer.call("FEED", ["reach", "total_interactions"], values)[0] == ["reach", "total_interactions"]

    def refuse(names: list[str]) -> list[InsightValue]:
        if "total_interactions" in names:
            raise InstagramMetricError("Incompatible metric (total_interactions) with the media",
                                       metrics=("total_interactions",), code=100)  # fmt: skip
        return values(names)

    asked, found = healer.call("FEED", ["reach", "total_interactions"], refuse)
    assert asked == ["reach"] and InsightValue("total_interactions", None, reason="not_for_this_media") in found
    assert healer.dropped == []
