"""The exported schemas only grow: published columns keep their names, order and types."""

from __future__ import annotations

import pyarrow as pa

from airflow_provider_instagram.schema import MEDIA_SCHEMA, PROFILE_SCHEMA

TS = pa.timestamp("us", tz="UTC")
S, I64 = pa.string(), pa.int64()
PUBLISHED_MEDIA = [
    ("id", S), ("user_id", S), ("username", S), ("media_type", S), ("media_product_type", S), ("caption", S),
    ("permalink", S), ("media_url", S), ("thumbnail_url", S), ("timestamp", TS), ("like_count", I64),
    ("comments_count", I64), ("shortcode", S), ("is_comment_enabled", pa.bool_()), ("parent_id", S),
    ("position", pa.int32()), ("exported_at", TS), ("api_version", S), ("file_path", S), ("file_sha256", S),
    ("file_bytes", I64),
]  # fmt: skip
PUBLISHED_PROFILES = [
    ("id", S), ("user_id", S), ("username", S), ("name", S), ("account_type", S), ("biography", S), ("website", S),
    ("profile_picture_url", S), ("followers_count", I64), ("follows_count", I64), ("media_count", I64),
    ("exported_at", TS), ("api_version", S),
]  # fmt: skip


def test_published_columns_stay_and_new_ones_are_appended_nullable() -> None:
    for schema, published in ((MEDIA_SCHEMA, PUBLISHED_MEDIA), (PROFILE_SCHEMA, PUBLISHED_PROFILES)):
        assert [(f.name, f.type) for f in schema][: len(published)] == published
        assert all(f.nullable for f in schema if f.name != "id") and not schema.field("id").nullable
