"""One account's insights run against the emulator: files, the refresh policy over days, the budget, gone media,
stories, reasons instead of 0, and the errors that name the connection and the fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import InstagramConfigError, InstagramPermissionError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.insights.catalog import MetricCatalog
from airflow_provider_instagram.insights.export import AccountDays, InsightsExport, InsightsSummary, read_media_state
from airflow_provider_instagram.insights.reader import CallBudget
from tests.support.instagram import CLOCK, pinned

DAY = timedelta(days=1)


def export(connect: Callable[..., InstagramHook], root: Path, today: date, **options: Any) -> InsightsSummary:
    policy = connect(**options.pop("connection", {})).retry_policy  # the account's connection, as Airflow reads it
    hook = lambda: InstagramHook(retry_policy=policy)  # noqa: E731
    return InsightsExport(hook, ObjectStoragePath(f"file://{root}"), today, conn_id="instagram_default",
                          clock=lambda: CLOCK, **options).run()  # fmt: skip


def state(root: Path, user_id: str) -> dict[str, Any]:
    return read_media_state(ObjectStoragePath(f"file://{root}"), user_id)


def media_rows(root: Path, day: date) -> list[dict[str, Any]]:
    parts = sorted(root.glob(f"media_insights/user_id=*/dt={day.isoformat()}/part-*.parquet"))
    return [row for part in parts for row in pq.read_table(part).to_pylist()]


def test_the_first_run_reads_every_media_and_story_and_later_runs_only_what_still_changes(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=60, span_days=90, stories=3)
    today = CLOCK.date()
    emulator_client.reset_calls()
    first = export(connect, tmp_path, today, account_days=AccountDays(3, 2))
    assert first.media_read == first.media_known == 63 and first.media_deferred == 0
    assert emulator_client.calls()["media_insights"] == 63, "one call per media"
    rows = media_rows(tmp_path, today)
    assert {r["media_id"] for r in rows} == set(
        read_media_state(ObjectStoragePath(f"file://{tmp_path}"), first.user_id)
    )
    assert {r["media_product_type"] for r in rows} == {"FEED", "REELS", "STORY"}
    assert all(r["value"] is not None or r["reason"] for r in rows) and not [r for r in rows if r["value"] == 0 and
                                                                           r["reason"]]  # fmt: skip
    assert first.no_value_reasons.get("not_enough_viewers", 0) > 0, "a story under 5 viewers: a reason, not 0"
    assert first.account_first_day == (today - 3 * DAY).isoformat() and first.rows["account_insights"] > 0
    assert first.rows["audience_demographics"] > 0

    emulator_client.advance_clock(86_400)
    emulator_client.reset_calls()
    second = export(connect, tmp_path, today + DAY, account_days=AccountDays(3, 2))
    assert emulator_client.calls()["media_insights"] == second.media_read
    assert second.media_read == second.due_why["hot"] + second.due_why["rolling"] < 15
    assert second.due_why["rolling"] == 2  # 53 old media over 30 days
    assert second.account_first_day == (today - DAY).isoformat(), "only the lag days again"
    stories = [r for r in media_rows(tmp_path, today + DAY) if r["media_product_type"] == "STORY"]
    assert not stories, "yesterday's stories are gone: not asked again"
    assert media_rows(tmp_path, today), "the first day's snapshot stays"


def test_a_budget_defers_the_rest_to_the_next_run_which_reads_it_first(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=40, span_days=90)
    today = CLOCK.date()
    first = export(connect, tmp_path, today, budget=CallBudget(max_calls=12), concurrency=1, timeframe=None)
    assert first.media_read == 12 and first.media_deferred == 28
    emulator_client.advance_clock(86_400)
    second = export(connect, tmp_path, today + DAY, timeframe=None)
    assert second.due_why["new"] == 28 and second.media_read >= 28
    assert all(ref.last_read is not None for ref in state(tmp_path, first.user_id).values())


def test_media_deleted_on_instagram_leave_the_state_and_old_media_say_why_they_have_no_values(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    anchor = pinned(emulator_client, accounts=1, media=20, span_days=20)
    converted = (anchor - timedelta(days=10)).timestamp()
    emulator_client.configure(business_conversion_time=converted)
    media = emulator_client.seed()["accounts"][0]
    first = export(connect, tmp_path, CLOCK.date(), timeframe=None)
    rows = media_rows(tmp_path, CLOCK.date())
    before = {r["media_id"] for r in rows if r["reason"] == "before_business_conversion"}
    assert before and all(r["value"] is None for r in rows if r["media_id"] in before)
    gone = sorted(state(tmp_path, media["user_id"]))[0]
    emulator_client.edit_media(gone, deleted=True)
    second = export(connect, tmp_path, CLOCK.date(), timeframe=None)  # a rerun of the day reads all it read
    assert second.media_gone == 1 and gone not in read_media_state(
        ObjectStoragePath(f"file://{tmp_path}"), first.user_id
    )
    assert gone not in {r["media_id"] for r in media_rows(tmp_path, CLOCK.date())}


def test_a_token_without_the_insights_permission_names_the_connection_and_publishes_nothing(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=5)
    code = emulator_client.issue_code(scope="instagram_business_basic")
    token = connect().exchange_code(code).access_token
    with pytest.raises(InstagramPermissionError, match=r"instagram_default.*instagram_business_manage_insights"):
        export(connect, tmp_path, CLOCK.date(), connection={"token": token}, timeframe=None)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_basic_display_has_no_insights_and_says_so(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    emulator_client.reset(api="basic_display", clock=CLOCK.timestamp())
    with pytest.raises(InstagramConfigError, match="Instagram Login"):
        export(connect, tmp_path, CLOCK.date(), timeframe=None, connection={"api": "basic_display"})
    assert emulator_client.calls().get("media_insights", 0) == 0


def test_a_failing_read_leaves_that_media_to_the_next_run_and_publishes_the_others(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=10, span_days=60)
    emulator_client.add_faults({"endpoint": "media_insights", "sequence": [{"kind": "http_error", "status": 503}] * 4})
    first = export(connect, tmp_path, CLOCK.date(), concurrency=1, timeframe=None)
    assert (first.media_read, first.media_failed) == (9, 1)
    emulator_client.advance_clock(86_400)
    second = export(connect, tmp_path, CLOCK.date() + DAY, timeframe=None)
    assert second.due_why["new"] == 1 and second.media_failed == 0


def test_a_rerun_of_the_day_under_a_smaller_budget_keeps_every_row_of_the_day(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=20, span_days=60)
    export(connect, tmp_path, CLOCK.date(), timeframe=None)
    before = sorted((r["media_id"], r["metric"]) for r in media_rows(tmp_path, CLOCK.date()))
    rerun = export(connect, tmp_path, CLOCK.date(), timeframe=None, budget=CallBudget(max_calls=3), concurrency=1)
    assert rerun.media_read == 3 and rerun.media_carried == 17
    assert sorted((r["media_id"], r["metric"]) for r in media_rows(tmp_path, CLOCK.date())) == before


def test_account_days_without_data_yet_are_read_again_until_they_have_it(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=5, span_days=30)
    emulator_client.configure(insights_lag_hours=48)  # Meta's documented worst case
    today = CLOCK.date()
    first = export(connect, tmp_path, today, timeframe=None, account_days=AccountDays(5, 1))
    assert first.account_first_day == (today - 5 * DAY).isoformat()
    emulator_client.advance_clock(86_400)
    second = export(connect, tmp_path, today + DAY, timeframe=None, account_days=AccountDays(5, 1))
    assert second.account_first_day == (today - 2 * DAY).isoformat(), "the days that had no data yet"
    parts = tmp_path.glob(f"account_insights/user_id=*/dt={(today - 2 * DAY).isoformat()}/part-*.parquet")
    assert any(r["value"] is not None for part in parts for r in pq.read_table(part).to_pylist())


@pytest.mark.parametrize("code", [1, 100])
def test_a_breakdown_the_metric_lacks_is_dropped_for_the_run_whatever_code_refuses_it(
    code: int, connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=6, span_days=60)
    emulator_client.configure(breakdown_error_code=code)
    catalog = MetricCatalog.bundled().customised(
        add=[{"name": "reach", "product_types": ["FEED", "REELS"], "breakdowns": ["action_type"]}]
    )
    summary = export(connect, tmp_path, CLOCK.date(), timeframe=None, breakdowns=True, catalog=catalog)
    assert summary.media_read == 6 and summary.media_failed == 0
    assert {d["metric"] for d in summary.metrics_dropped} == {"reach:action_type"}
    rows = media_rows(tmp_path, CLOCK.date())
    assert {r["breakdown"] for r in rows if r["metric"] == "profile_activity"} >= {"", "action_type"}
    assert all(r["value"] is not None for r in rows if r["metric"] == "reach")


def test_a_refused_stories_edge_leaves_the_posts_read(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
) -> None:  # fmt: skip
    pinned(emulator_client, accounts=1, media=8, stories=2)
    emulator_client.configure(serve_stories_edge=False)
    summary = export(connect, tmp_path, CLOCK.date(), timeframe=None)
    assert summary.media_read == 8 and "stories" in summary.extra["stories_refused"]
