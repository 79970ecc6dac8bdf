"""The refresh policy: hot media every run, older ones rolling, at most max_age_days old, reruns whole."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from airflow_provider_instagram.insights.policy import MediaRef, RefreshPolicy

TODAY = date(2026, 11, 30)


def ref(i: int, age_days: int, last_read_days_ago: int | None) -> MediaRef:
    created = datetime(2026, 11, 30, 12, tzinfo=UTC) - timedelta(days=age_days)
    last = None if last_read_days_ago is None else TODAY - timedelta(days=last_read_days_ago)
    return MediaRef(str(i), "FEED", created, last)


def test_hot_media_are_read_every_run_and_old_ones_on_a_rolling_quota() -> None:
    media = [ref(i, 1, 1) for i in range(5)] + [ref(100 + i, 100, 3 + i % 20) for i in range(300)]
    plan = RefreshPolicy(hot_days=7, max_age_days=30).plan(media, TODAY)
    assert plan.why["hot"] == 5
    assert plan.why["rolling"] == 10  # 300 old media over 30 days
    assert plan.fresh == 290
    rolling = plan.due[5:]
    oldest = max(m.last_read for m in rolling)  # type: ignore[type-var]
    assert all(m.last_read <= oldest for m in rolling)  # type: ignore[operator]
    assert min(m.last_read for m in media[5:] if m not in rolling) >= oldest  # type: ignore[type-var]


def test_overdue_and_never_read_come_before_the_rolling_ones_and_replace_them() -> None:
    media = [ref(1, 50, 30), ref(2, 50, None), *[ref(10 + i, 60, 5) for i in range(58)]]
    plan = RefreshPolicy(7, 30).plan(media, TODAY)
    assert [m.id for m in plan.due] == ["2", "1"]
    assert plan.why["overdue"] == 1 and plan.why["new"] == 1 and plan.why["rolling"] == 0


def test_media_read_earlier_the_same_day_are_read_again_so_a_rerun_rewrites_the_whole_day() -> None:
    expired_story = MediaRef("3", "STORY", datetime(2026, 11, 29, tzinfo=UTC), TODAY, live=False)
    plan = RefreshPolicy(7, 30).plan([ref(1, 90, 0), ref(2, 90, 2), expired_story], TODAY)
    assert [m.id for m in plan.due[:2]] == ["1", "3"] and plan.why["today"] == 2


def test_media_beyond_instagrams_two_years_are_never_read() -> None:
    plan = RefreshPolicy(7, 30).plan([ref(1, 800, None), ref(2, 3, None)], TODAY)
    assert [m.id for m in plan.due] == ["2"] and plan.beyond_retention == 1


def test_thirty_daily_runs_keep_every_media_at_most_max_age_days_old() -> None:
    policy = RefreshPolicy(7, 30)
    media = {str(i): ref(i, 10 + i % 300, None) for i in range(3000)}
    for run in range(60):
        day = TODAY + timedelta(days=run)
        for chosen in policy.plan(list(media.values()), day).due[:1500]:  # a budget cuts the bootstrap
            media[chosen.id] = MediaRef(chosen.id, chosen.product_type, chosen.created, day)
    last_day = TODAY + timedelta(days=59)
    assert max((last_day - m.last_read).days for m in media.values() if m.last_read) <= 30
    assert all(m.last_read for m in media.values())


@pytest.mark.parametrize(("hot", "max_age"), [(0, 30), (40, 30), (7, 1000)])
def test_bounds_are_checked(hot: int, max_age: int) -> None:
    with pytest.raises(ValueError, match="hot_days"):
        RefreshPolicy(hot, max_age)


def test_stories_are_read_only_while_the_stories_edge_lists_them() -> None:
    created = datetime(2026, 11, 29, 23, tzinfo=UTC)
    live = MediaRef("1", "STORY", created, live=True)
    gone = MediaRef("2", "STORY", created, TODAY - timedelta(days=1), live=False)
    plan = RefreshPolicy(7, 30).plan([live, gone], TODAY)
    assert [m.id for m in plan.due] == ["1"] and plan.beyond_retention == 1
