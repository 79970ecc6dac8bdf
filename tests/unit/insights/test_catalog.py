"""The metric catalog: data per product type, version and day; users narrow and extend it."""

from __future__ import annotations

from datetime import date

import pytest

from airflow_provider_instagram.insights.catalog import MetricCatalog

CATALOG = MetricCatalog.bundled()
NOW = date(2026, 12, 2)


def names(product: str, version: str | None, on: date = NOW, created: date | None = NOW) -> set[str]:
    return {m.name for m in CATALOG.media_metrics(product, version, on, created)}


def test_each_product_type_gets_only_its_metrics() -> None:
    assert {"ig_reels_avg_watch_time", "reels_skip_rate"} <= names("REELS", "v25.0")
    assert "saved" not in names("STORY", "v25.0") and "navigation" in names("STORY", "v25.0")
    assert "navigation" not in names("FEED", "v25.0")
    assert not names("AD", "v25.0") and not names(None, "v25.0")


def test_retirements_follow_the_version_and_the_day_meta_applied_them_everywhere() -> None:
    assert "views" not in names("FEED", "v21.0", date(2025, 1, 1)) and "views" in names("FEED", "v22.0")
    old_media = date(2024, 1, 1)
    assert "impressions" in names("FEED", "v21.0", date(2025, 3, 1), old_media)
    assert "impressions" in names("FEED", "v21.0", date(2025, 5, 1), old_media)
    assert "impressions" not in names("FEED", "v21.0", date(2025, 5, 1), date(2024, 8, 1))  # created too late
    assert "impressions" not in names("FEED", "v22.0", date(2025, 3, 1), old_media)
    assert "video_views" not in names("REELS", "v20.0", date(2025, 2, 1))


def test_opt_in_metrics_only_when_named_and_users_narrow_and_extend() -> None:
    assert "facebook_views" not in names("FEED", "v25.0")
    narrowed = CATALOG.customised(include=["reach", "facebook_views"])
    assert {m.name for m in narrowed.media_metrics("FEED", "v25.0", NOW)} == {"reach", "facebook_views"}
    added = CATALOG.customised(exclude=["reach"], add=[{"name": "watch_minutes", "product_types": ["REELS"]}])
    reels = {m.name for m in added.media_metrics("REELS", "v25.0", NOW)}
    assert "watch_minutes" in reels and "reach" not in reels


def test_unknown_names_and_malformed_entries_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"unknown insights metric.*catalog\.json"):
        CATALOG.customised(exclude=["reech"])
    with pytest.raises(ValueError, match="product_types"):
        CATALOG.customised(add=[{"name": "x", "product_types": ["TV"]}])
    with pytest.raises(ValueError, match=r"v<major>\.<minor>"):
        CATALOG.customised(add=[{"name": "x", "product_types": ["FEED"], "added_in": "22"}])


def test_every_entry_names_its_source() -> None:
    assert all(m.source for m in [*CATALOG.media.values(), *CATALOG.account.values()])
