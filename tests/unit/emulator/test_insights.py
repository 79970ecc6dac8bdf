"""Media and account insights, stories, and their errors, over HTTP with a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from airflow_provider_instagram.emulator import EmulatorConfig
from tests.unit.emulator.conftest import Api

DAY = 86_400
CLOCK = int(datetime(2026, 11, 18, 12, tzinfo=UTC).timestamp())  # the newest seeded media is at this hour
MIDNIGHT = CLOCK - 12 * 3_600  # 2026-11-18T00:00Z
MEDIA_FIELDS = "id,media_type,media_product_type,timestamp,like_count,comments_count,children{id}"
REDIRECT = "http://localhost:8765/instagram/callback"


def error(answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    return dict(answer.json()["error"])


def insights(api: Api, node: str, prefix: str = "", **params: Any) -> requests.Response:
    return api.get(f"{prefix}/{node}/insights", api.token, **params)


def account(api: Api, prefix: str = "", **params: Any) -> requests.Response:
    base = {"period": "day", "metric_type": "total_value"}
    return insights(api, "me", prefix, **{**base, **params})


def data(answer: requests.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def all_media(api: Api) -> list[dict[str, Any]]:
    return data(api.get("/me/media", api.token, fields=MEDIA_FIELDS, limit=100))


def timestamp(item: dict[str, Any]) -> int:
    return int(datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp())


def old(api: Api, product: str, media_type: str | None = None) -> dict[str, Any]:
    """A media of ``product`` (and ``media_type``) old enough for its counts to have settled."""
    return next(
        m for m in all_media(api)
        if m["media_product_type"] == product and media_type in (None, m["media_type"])
        and CLOCK - timestamp(m) > 30 * DAY and m.get("like_count") is not None
    )  # fmt: skip


def served_list(message: str) -> list[str]:
    return message.split("must be one of the following values: ", 1)[1].split(", ")


@pytest.fixture
def pinned(api: Api) -> Api:
    api.reset(clock=CLOCK, stories=6)
    return api


# ---------------------------------------------------------------------- media insights
def test_media_insights_answer_in_the_requested_order_and_match_the_node(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    entries = data(insights(pinned, item["id"], metric="likes,reach,comments,views"))
    assert [e["name"] for e in entries] == ["likes", "reach", "comments", "views"]
    for entry in entries:
        assert entry["period"] == "lifetime"
        assert entry["id"] == f"{item['id']}/insights/{entry['name']}/lifetime"
        assert isinstance(entry["values"][0]["value"], int)
        assert entry["title"] and entry["description"]
        assert "total_value" not in entry
    values = {e["name"]: e["values"][0]["value"] for e in entries}
    assert values["likes"] == item["like_count"]
    assert values["comments"] == item["comments_count"]
    assert values["views"] >= values["reach"] > 0


@pytest.mark.parametrize(
    ("product", "media_type", "metrics"),
    [
        ("FEED", "IMAGE", "follows,profile_visits,profile_activity,saved,shares,total_interactions,reposts"),
        ("FEED", "CAROUSEL_ALBUM", "reach,views,likes,total_interactions"),
        ("REELS", None, "ig_reels_avg_watch_time,ig_reels_video_view_total_time,reels_skip_rate,views,saved"),
    ],
    ids=["feed-image", "album", "reels"],
)
def test_each_product_type_serves_its_metrics(pinned: Api, product: str, media_type: str | None, metrics: str) -> None:
    item = old(pinned, product, media_type)
    values = {e["name"]: e["values"][0]["value"] for e in data(insights(pinned, item["id"], metric=metrics))}
    assert list(values) == metrics.split(",")
    assert all(isinstance(v, int) and v >= 0 for v in values.values())
    if product == "REELS":
        assert 0 <= values["reels_skip_rate"] <= 100
        assert values["ig_reels_video_view_total_time"] == values["views"] * values["ig_reels_avg_watch_time"]


@pytest.mark.parametrize(
    ("product", "metric"),
    [("FEED", "ig_reels_avg_watch_time"), ("FEED", "navigation"), ("REELS", "follows"), ("REELS", "replies")],
)
def test_a_metric_of_another_product_type_is_refused(pinned: Api, product: str, metric: str) -> None:
    item = old(pinned, product)
    body = error(insights(pinned, item["id"], metric=f"reach,{metric}"))
    assert body["code"] == 100
    assert body["message"] == (
        f"(#100) The Media Insights API does not support the {metric} metric for this media product type"
    )


def test_an_unknown_metric_lists_the_metrics_of_the_product_type(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    body = error(insights(pinned, item["id"], metric="reach,bogus,plays"))
    assert body["code"] == 100
    assert body["message"].startswith("(#100) metric[1] must be one of the following values: ")
    served = served_list(body["message"])
    assert served[:3] == ["views", "reach", "likes"]
    assert {"follows", "profile_activity", "facebook_views"} <= set(served)
    assert not {"navigation", "impressions", "plays", "ig_reels_avg_watch_time"} & set(served)


def test_the_first_bad_metric_decides_the_error(pinned: Api) -> None:
    reel = old(pinned, "REELS")
    retired = error(insights(pinned, reel["id"], metric="reach,plays,bogus"))
    assert retired["message"] == "(#100) Starting from version 22+, the following metric is no longer supported: plays"
    assert "metric[0]" in error(insights(pinned, reel["id"], metric="bogus,plays"))["message"]


def test_retired_metrics_use_metas_texts(pinned: Api) -> None:
    item = old(pinned, "FEED", "VIDEO")
    video_views = error(insights(pinned, item["id"], "/v25.0", metric="video_views"))
    assert video_views["code"] == 100
    assert video_views["message"] == (
        "(#100) Starting from version 21+, the following metric is no longer supported: video_views"
    )
    impressions = error(insights(pinned, item["id"], metric="impressions"))["message"]
    assert "Starting from version 22 and above, the impressions metric is no longer supported" in impressions


@pytest.mark.parametrize(("product", "metric"), [("FEED", "facebook_views"), ("REELS", "crossposted_views")])
def test_facebook_metrics_are_incompatible_with_media_not_shared_to_facebook(
    pinned: Api, product: str, metric: str
) -> None:
    body = error(insights(pinned, old(pinned, product)["id"], metric=metric))
    assert (body["code"], body["message"]) == (100, f"(#100) Incompatible metric ({metric}) with the media")


def test_views_arrived_in_v22(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    assert data(insights(pinned, item["id"], "/v25.0", metric="views"))[0]["name"] == "views"
    body = error(insights(pinned, item["id"], "/v21.0", metric="reach,views"))
    assert body["message"].startswith("(#100) metric[1] must be one of the following values: ")
    assert "views" not in served_list(body["message"]) and "reach" in served_list(body["message"])


def test_before_the_retirement_day_old_versions_still_serve_retired_metrics(api: Api) -> None:
    api.reset(clock=int(datetime(2024, 12, 1, 12, tzinfo=UTC).timestamp()), span_days=300)
    media = all_media(api)
    video = next(m for m in media if m["media_type"] == "VIDEO" and m["media_product_type"] == "FEED")
    assert data(insights(api, video["id"], "/v20.0", metric="video_views"))[0]["values"][0]["value"] > 0
    retired = error(insights(api, video["id"], "/v21.0", metric="video_views"))["message"]
    assert retired == "(#100) Starting from version 21+, the following metric is no longer supported: video_views"
    feed = [m for m in media if m["media_product_type"] == "FEED" and m["timestamp"] < "2024-07-02"]
    newer = [m for m in media if m["media_product_type"] == "FEED" and m["timestamp"] >= "2024-07-02"]
    assert data(insights(api, feed[0]["id"], "/v21.0", metric="impressions"))
    incompatible = error(insights(api, newer[0]["id"], "/v21.0", metric="impressions"))["message"]
    assert incompatible == "(#100) Incompatible metric (impressions) with the media"


def test_a_breakdown_splits_the_total(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    (entry,) = data(insights(pinned, item["id"], metric="profile_activity", breakdown="action_type"))
    total = entry["total_value"]
    assert total["value"] == entry["values"][0]["value"]
    (block,) = total["breakdowns"]
    assert block["dimension_keys"] == ["action_type"]
    keys = [r["dimension_values"][0] for r in block["results"]]
    assert keys == ["BIO_LINK_CLICKED", "CALL", "DIRECTION", "EMAIL", "OTHER", "TEXT"]
    assert sum(r["value"] for r in block["results"]) == total["value"]


def test_a_breakdown_the_metric_does_not_support_is_an_unknown_error(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    body = error(insights(pinned, item["id"], metric="profile_activity,reach", breakdown="action_type"))
    assert (body["code"], body["message"]) == (100, "An unknown error has occurred.")


def test_carousel_children_have_no_insights(pinned: Api) -> None:
    album = old(pinned, "FEED", "CAROUSEL_ALBUM")
    child = album["children"]["data"][0]["id"]
    body = error(insights(pinned, child, metric="reach"))
    assert body["code"] == 100 and "carousel album children" in body["message"]
    assert data(insights(pinned, album["id"], metric="reach"))


def test_values_grow_with_the_clock_after_the_lag_then_settle(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    posted = timestamp(item)
    pinned.control.set_clock(posted + 3_600)
    assert data(insights(pinned, item["id"], metric="reach,likes")) == [], "within the 24 h lag: no data, not zeros"
    pinned.control.set_clock(posted + 25 * 3_600)
    early = {e["name"]: e["values"][0]["value"] for e in data(insights(pinned, item["id"], metric="reach,likes"))}
    pinned.control.advance_clock(3 * DAY)
    later = {e["name"]: e["values"][0]["value"] for e in data(insights(pinned, item["id"], metric="reach,likes"))}
    assert 0 < early["reach"] < later["reach"]
    assert early["likes"] < later["likes"] <= item["like_count"]
    pinned.control.set_clock(posted + 60 * DAY)
    settled = data(insights(pinned, item["id"], metric="likes"))[0]["values"][0]["value"]
    pinned.control.advance_clock(10 * DAY)
    assert data(insights(pinned, item["id"], metric="likes"))[0]["values"][0]["value"] == settled == item["like_count"]


def test_the_lag_is_a_switch(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    pinned.control.set_clock(timestamp(item) + 3_600)
    pinned.control.configure(insights_lag_hours=0.5)
    assert data(insights(pinned, item["id"], metric="reach"))[0]["values"][0]["value"] > 0


def test_media_posted_before_the_business_conversion_answer_2108006(pinned: Api) -> None:
    media = all_media(pinned)
    pinned.control.configure(business_conversion_time=CLOCK - 30 * DAY)
    before = next(m for m in media if timestamp(m) < CLOCK - 30 * DAY)
    after = next(m for m in media if CLOCK - 30 * DAY < timestamp(m) < CLOCK - 2 * DAY)
    body = error(insights(pinned, before["id"], metric="reach"))
    assert (body["code"], body["error_subcode"]) == (100, 2108006)
    assert body["message"] == "Media posted before business account conversion"
    assert data(insights(pinned, after["id"], metric="reach"))


# ---------------------------------------------------------------------- stories
def test_stories_edge_serves_the_last_24_hours_and_not_the_media_edge(pinned: Api) -> None:
    fields = "id,media_type,media_product_type,timestamp,permalink"
    stories = data(pinned.get("/me/stories", pinned.token, fields=fields))
    assert len(stories) == 6
    assert {s["media_product_type"] for s in stories} == {"STORY"}
    assert {s["media_type"] for s in stories} <= {"IMAGE", "VIDEO"}
    assert all(0 <= CLOCK - timestamp(s) < DAY for s in stories)
    assert [s["timestamp"] for s in stories] == sorted((s["timestamp"] for s in stories), reverse=True)
    assert not {s["id"] for s in stories} & {m["id"] for m in all_media(pinned)}
    assert pinned.me(fields="media_count").json()["media_count"] == 30
    node = pinned.get(f"/{stories[0]['id']}", pinned.token, fields="id,media_product_type").json()
    assert node == {"id": stories[0]["id"], "media_product_type": "STORY"}
    pinned.control.advance_clock(DAY)
    assert data(pinned.get("/me/stories", pinned.token)) == []


def test_stories_with_fewer_than_5_viewers_answer_code_10(pinned: Api) -> None:
    stories = data(pinned.get("/me/stories", pinned.token))
    answers = [insights(pinned, s["id"], metric="reach,replies,navigation,profile_activity") for s in stories]
    small = [a.json()["error"] for a in answers if a.status_code == 400]
    assert len(small) == 2, "every third seeded story is too small"
    too_few = (10, "(#10) Not enough viewers for the media to show insights")
    assert {(e["code"], e["message"]) for e in small} == {too_few}
    served = [[e["name"] for e in data(a)] for a in answers if a.status_code == 200]
    assert served == [["reach", "replies", "navigation", "profile_activity"]] * 4


def test_story_navigation_breaks_down_by_action(pinned: Api) -> None:
    stories = data(pinned.get("/me/stories", pinned.token))
    query = {"metric": "navigation", "breakdown": "story_navigation_action_type"}
    answers = [insights(pinned, s["id"], **query) for s in stories]
    (entry,) = next(data(a) for a in answers if a.status_code == 200)
    (block,) = entry["total_value"]["breakdowns"]
    keys = [r["dimension_values"][0] for r in block["results"]]
    assert keys == ["TAP_FORWARD", "TAP_BACK", "TAP_EXIT", "SWIPE_FORWARD"]
    assert sum(r["value"] for r in block["results"]) == entry["values"][0]["value"] > 0


def test_saved_is_not_a_story_metric(pinned: Api) -> None:
    story = data(pinned.get("/me/stories", pinned.token))[0]
    assert "does not support the saved metric" in error(insights(pinned, story["id"], metric="saved"))["message"]


# ---------------------------------------------------------------------- permissions, retirements, flavour
def token_with(api: Api, scope: str) -> str:
    code = api.control.issue_code(scope=scope)
    form = {"client_id": api.seed["client_id"], "client_secret": api.seed["client_secret"],
            "grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": code}  # fmt: skip
    answer = api.http.post(f"{api.url}/oauth/access_token", data=form, timeout=30).json()
    assert answer["data"][0]["permissions"] == scope
    return str(answer["data"][0]["access_token"])


@pytest.mark.parametrize(
    ("code", "message"),
    [(10, "(#10) Application does not have permission for this action"),
     (200, "(#200) Requires instagram_business_manage_insights permission")],
    ids=["code-10", "code-200"],
)  # fmt: skip
def test_a_token_without_the_insights_scope_is_refused(pinned: Api, code: int, message: str) -> None:
    item = old(pinned, "FEED")
    pinned.control.configure(insights_scope_error_code=code)
    basic = token_with(pinned, "instagram_business_basic")
    assert pinned.get("/me", basic).status_code == 200
    account_query = {"metric": "reach", "period": "day", "metric_type": "total_value"}
    for path, params in ((f"/{item['id']}/insights", {"metric": "reach"}), ("/me/insights", account_query)):
        body = error(pinned.get(path, basic, **params))
        assert (body["code"], body["message"]) == (code, message)
    both = token_with(pinned, "instagram_business_basic,instagram_business_manage_insights")
    assert pinned.get(f"/{item['id']}/insights", both, metric="reach").status_code == 200


def test_the_scope_error_code_is_validated(api: Api) -> None:
    answer = api.http.patch(f"{api.url}/_emulator/config", json={"insights_scope_error_code": 403}, timeout=30)
    assert answer.status_code == 400 and "insights_scope_error_code" in answer.json()["error"]
    with pytest.raises(ValueError, match="insights_scope_error_code"):
        EmulatorConfig(insights_scope_error_code=403)  # type: ignore[arg-type]


def test_a_metric_retired_mid_run_fails_at_once_and_reset_round_trips(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    assert data(insights(pinned, item["id"], metric="reach,saved"))
    assert pinned.control.configure(retired_metrics=["saved"])["retired_metrics"] == ["saved"]
    body = error(insights(pinned, item["id"], "/v25.0", metric="reach,saved"))
    assert body["message"] == "(#100) Starting from version 25+, the following metric is no longer supported: saved"
    assert "saved" not in served_list(error(insights(pinned, item["id"], metric="bogus"))["message"])
    assert pinned.control.state()["config"]["retired_metrics"] == ["saved"]
    pinned.control.configure(retired_metrics=["reach"])
    assert "no longer supported: reach" in error(account(pinned, metric="reach"))["message"]
    pinned.reset(clock=CLOCK, retired_metrics=["likes"])
    assert pinned.control.state()["config"]["retired_metrics"] == ["likes"]
    assert data(insights(pinned, item["id"], metric="reach,saved"))
    assert "no longer supported: likes" in error(insights(pinned, item["id"], metric="likes"))["message"]


def test_a_retirement_can_wait_for_a_named_call_of_the_run(pinned: Api) -> None:
    item = old(pinned, "FEED", "IMAGE")
    pinned.control.reset_calls()
    pinned.control.configure(retired_metrics=["saved"], retire_after_insights_calls=2)
    assert [bool(data(insights(pinned, item["id"], metric="saved"))) for _ in range(2)] == [True, True]
    assert "no longer supported: saved" in error(insights(pinned, item["id"], metric="saved"))["message"]


def test_basic_display_has_no_insights_edge(api: Api) -> None:
    api.reset(api="basic_display", clock=CLOCK)
    item = data(api.get("/me/media", api.token))[0]
    body = error(insights(api, item["id"], metric="reach"))
    assert (body["code"], body["message"]) == (100, "(#100) Tried accessing nonexisting field (insights)")
    assert error(account(api, metric="reach"))["code"] == 100


# ---------------------------------------------------------------------- account insights
def total(answer: requests.Response) -> int:
    (entry,) = data(answer)
    return int(entry["total_value"]["value"])


def test_a_range_answers_the_sum_of_its_days(pinned: Api) -> None:
    since, until = MIDNIGHT - 10 * DAY, MIDNIGHT - 2 * DAY
    (entry,) = data(account(pinned, metric="reach", since=since, until=until))
    assert entry["period"] == "day" and entry["id"] == f"{pinned.user_id}/insights/reach/day"
    days = [total(account(pinned, metric="reach", since=d, until=d + DAY)) for d in range(since, until, DAY)]
    assert entry["total_value"]["value"] == sum(days) > 0
    assert len(set(days)) > 1, "each day has its own value"
    by_dates = account(pinned, metric="reach", since="2026-11-08", until="2026-11-16")
    assert total(by_dates) == sum(days)


def test_days_within_the_lag_have_no_data(pinned: Api) -> None:
    assert data(account(pinned, metric="reach")) == [], "the default range, the last 24 h, is all within the lag"
    assert data(account(pinned, metric="reach", since=MIDNIGHT - DAY, until=CLOCK)) == []
    partial = total(account(pinned, metric="reach", since=MIDNIGHT - 3 * DAY, until=CLOCK))
    whole_days = total(account(pinned, metric="reach", since=MIDNIGHT - 3 * DAY, until=MIDNIGHT - DAY))
    assert partial == whole_days, "yesterday ends within the 24 h lag; the two days before it count"
    pinned.control.configure(insights_lag_hours=0)
    assert total(account(pinned, metric="reach")) > 0


def test_days_older_than_two_years_have_no_data(pinned: Api) -> None:
    pinned.control.configure(account_insights_max_range_days=None)
    since = CLOCK - 800 * DAY
    assert data(account(pinned, metric="likes", since=since, until=since + 10 * DAY)) == []


@pytest.mark.parametrize(
    ("metric", "dimension", "keys"),
    [
        ("views", "follower_type", ["FOLLOWER", "NON_FOLLOWER"]),
        ("reach", "media_product_type", ["POST", "REEL", "STORY", "AD"]),
        ("follows_and_unfollows", "follow_type", ["FOLLOWER", "NON_FOLLOWER"]),
        ("profile_links_taps", "contact_button_type",
         ["BOOK_NOW", "CALL", "DIRECTION", "EMAIL", "INSTANT_EXPERIENCE", "TEXT", "UNDEFINED"]),
    ],
)  # fmt: skip
def test_account_breakdowns_sum_to_the_total(pinned: Api, metric: str, dimension: str, keys: list[str]) -> None:
    answer = account(pinned, metric=metric, breakdown=dimension, since=MIDNIGHT - 7 * DAY, until=MIDNIGHT - 2 * DAY)
    (entry,) = data(answer)
    (block,) = entry["total_value"]["breakdowns"]
    assert block["dimension_keys"] == [dimension]
    assert [r["dimension_values"] for r in block["results"]] == [[k] for k in keys]
    assert sum(r["value"] for r in block["results"]) == entry["total_value"]["value"]


def test_account_breakdown_errors_and_metric_type(pinned: Api) -> None:
    window = {"since": MIDNIGHT - 5 * DAY, "until": MIDNIGHT - 2 * DAY}
    unknown = error(account(pinned, metric="accounts_engaged", breakdown="follower_type", **window))
    assert unknown["message"] == "An unknown error has occurred."
    missing = error(insights(pinned, "me", metric="likes", period="day", **window))
    assert missing["message"] == (
        "(#100) The following metrics (likes) should be specified with parameter metric_type=total_value"
    )


def test_time_series_has_one_value_per_day_ending_at_7_utc(pinned: Api) -> None:
    window = {"since": MIDNIGHT - 5 * DAY, "until": MIDNIGHT - 2 * DAY}
    (reach,) = data(account(pinned, metric="reach", metric_type="time_series", **window))
    assert [v["end_time"] for v in reach["values"]] == [
        "2026-11-14T07:00:00+0000", "2026-11-15T07:00:00+0000", "2026-11-16T07:00:00+0000",
    ]  # fmt: skip
    assert sum(v["value"] for v in reach["values"]) == total(account(pinned, metric="reach", **window))
    (followers,) = data(insights(pinned, "me", metric="follower_count", period="day", **window))
    assert len(followers["values"]) == 3
    assert error(account(pinned, metric="likes", metric_type="time_series", **window))["code"] == 100


def test_the_range_limit_is_a_switch(pinned: Api) -> None:
    since, until = MIDNIGHT - 40 * DAY, MIDNIGHT - 2 * DAY
    body = error(account(pinned, metric="reach", since=since, until=until))
    assert body["message"] == "(#100) There cannot be more than 30 days (2592000 s) between since and until"
    assert data(account(pinned, metric="reach", since=MIDNIGHT - 32 * DAY, until=MIDNIGHT - 2 * DAY))
    pinned.control.configure(account_insights_max_range_days=None)
    assert total(account(pinned, metric="reach", since=since, until=until)) > 0


def test_follower_count_is_a_switch_and_only_the_last_30_days(pinned: Api) -> None:
    params = {"metric": "follower_count", "period": "day", "since": MIDNIGHT - 10 * DAY, "until": MIDNIGHT - 2 * DAY}
    assert len(data(insights(pinned, "me", **params))[0]["values"]) == 8
    too_old = error(insights(pinned, "me", **{**params, "since": CLOCK - 31 * DAY, "until": CLOCK - 29 * DAY}))
    assert too_old["code"] == 100 and "last 30 days" in too_old["message"]
    pinned.control.configure(serve_follower_count=False)
    body = error(insights(pinned, "me", **params))
    assert body["message"].startswith("(#100) metric[0] must be one of the following values: ")
    assert "follower_count" not in served_list(body["message"]) and "reach" in served_list(body["message"])


def test_retired_account_metrics(pinned: Api) -> None:
    profile_views = error(account(pinned, metric="reach,profile_views"))
    assert profile_views["message"] == (
        "(#100) Starting from version 21+, the following metric is no longer supported: profile_views"
    )
    impressions = error(account(pinned, metric="impressions"))["message"]
    assert "Starting from version 22 and above, the impressions metric is no longer supported for the queried user" in (
        impressions
    )
    assert "views" not in served_list(error(account(pinned, "/v21.0", metric="views"))["message"])


# ---------------------------------------------------------------------- demographics
def demographics(api: Api, **params: Any) -> requests.Response:
    base = {"metric": "follower_demographics", "period": "lifetime", "metric_type": "total_value",
            "timeframe": "this_month", "breakdown": "city"}  # fmt: skip
    return insights(api, "me", **{**base, **params})


def test_demographics_answer_the_top_45(pinned: Api) -> None:
    (entry,) = data(demographics(pinned))
    assert entry["period"] == "lifetime"
    (block,) = entry["total_value"]["breakdowns"]
    values = [r["value"] for r in block["results"]]
    assert len(values) == 45, "more cities than that exist: the rest are cut"
    assert values == sorted(values, reverse=True)
    (gender,) = data(demographics(pinned, metric="engaged_audience_demographics", breakdown="gender"))
    assert {r["dimension_values"][0] for r in gender["total_value"]["breakdowns"][0]["results"]} <= {"F", "M", "U"}
    assert data(demographics(pinned, timeframe="this_week")) != data(demographics(pinned))


def test_demographics_errors(pinned: Api) -> None:
    old_timeframe = error(demographics(pinned, timeframe="last_30_days"))
    assert old_timeframe["code"] == 100 and "no longer supported" in old_timeframe["message"]
    assert data(insights(pinned, "me", "/v19.0", metric="follower_demographics", period="lifetime",
                         metric_type="total_value", timeframe="last_30_days", breakdown="age"))  # fmt: skip
    assert "timeframe" in error(demographics(pinned, timeframe=""))["message"]
    assert error(demographics(pinned, breakdown=""))["message"] == "An unknown error has occurred."
    assert "period=lifetime" in error(demographics(pinned, period="day"))["message"]


def test_a_small_account_has_no_demographics(pinned: Api) -> None:
    assert data(demographics(pinned))
    assert pinned.control.edit_account(pinned.user_id, followers_count=99)["followers_count"] == 99
    assert data(demographics(pinned)) == []
    assert pinned.me(fields="followers_count").json()["followers_count"] == 99
    bad = pinned.http.post(f"{pinned.url}/_emulator/accounts/{pinned.user_id}", json={"username": "x"}, timeout=30)
    assert bad.status_code == 400


# ---------------------------------------------------------------------- calls
def test_insights_and_stories_calls_are_counted_and_rate_limited(pinned: Api) -> None:
    item = old(pinned, "FEED")
    pinned.control.reset_calls()
    insights(pinned, item["id"], metric="reach")
    insights(pinned, item["id"], metric="reach")
    account(pinned, metric="reach")
    insights(pinned, pinned.user_id, metric="reach", period="day", metric_type="total_value")
    pinned.get("/me/stories", pinned.token)
    calls = pinned.control.calls()
    assert (calls["media_insights"], calls["account_insights"], calls["stories"]) == (2, 2, 1)
    assert pinned.control.state()["calls"]["media_insights"] == 2
    pinned.control.configure(rate_limit_budget=1)
    assert error(insights(pinned, item["id"], metric="reach"))["code"] == 80002
