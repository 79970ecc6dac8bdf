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
    ("exported_at", TS), ("api_version", S), ("professional_account_id", S),
]  # fmt: skip


def test_published_columns_stay_and_new_ones_are_appended_nullable() -> None:
    for schema, published in ((MEDIA_SCHEMA, PUBLISHED_MEDIA), (PROFILE_SCHEMA, PUBLISHED_PROFILES)):
        assert [(f.name, f.type) for f in schema][: len(published)] == published
        assert all(f.nullable for f in schema if f.name != "id") and not schema.field("id").nullable


def test_profile_rows_carry_the_one_id_and_the_professional_one() -> None:
    from airflow_provider_instagram.schema import profile_row

    row = profile_row({"id": "900", "user_id": "17841", "username": "u"})
    assert (row["id"], row["user_id"], row["professional_account_id"]) == ("900", "900", "17841")


def test_profile_files_written_before_the_ids_were_unified_read_in_todays_terms() -> None:
    from airflow_provider_instagram.schema import profiles_in_todays_terms

    old = {"id": ["900", "901"], "user_id": ["17841", "901"], "professional_account_id": [None, None]}
    new = {"id": ["902"], "user_id": ["902"], "professional_account_id": ["17842"]}
    read = pa.concat_tables([_profiles(old), _profiles(new)])
    got = profiles_in_todays_terms(read).select(["id", "user_id", "professional_account_id"]).to_pylist()
    assert got == [
        {"id": "900", "user_id": "900", "professional_account_id": "17841"},
        {"id": "901", "user_id": "901", "professional_account_id": None},
        {"id": "902", "user_id": "902", "professional_account_id": "17842"},
    ]


def _profiles(columns: dict[str, list[str | None]]) -> pa.Table:
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return pa.Table.from_pylist(rows, schema=PROFILE_SCHEMA)
