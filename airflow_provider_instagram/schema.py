"""The exported tables' schemas, and flattening API items into rows (carousel children as rows of their own).

The schemas only grow: a new field is appended as a nullable column; no column is ever renamed, retyped or
dropped (``tests/unit/test_schema.py`` holds the published columns to that).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")  # Parquet has no seconds unit; microseconds read the same everywhere

MEDIA_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("user_id", pa.string()),
        pa.field("username", pa.string()),
        pa.field("media_type", pa.string()),
        pa.field("media_product_type", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("permalink", pa.string()),
        pa.field("media_url", pa.string()),
        pa.field("thumbnail_url", pa.string()),
        pa.field("timestamp", TIMESTAMP),
        pa.field("like_count", pa.int64()),
        pa.field("comments_count", pa.int64()),
        pa.field("shortcode", pa.string()),
        pa.field("is_comment_enabled", pa.bool_()),
        pa.field("parent_id", pa.string()),
        pa.field("position", pa.int32()),
        pa.field("exported_at", TIMESTAMP),
        pa.field("api_version", pa.string()),
        pa.field("file_path", pa.string()),
        pa.field("file_sha256", pa.string()),
        pa.field("file_bytes", pa.int64()),
    ]
)
"""One row per media item and per carousel child. ``file_*`` are set when the media files are copied:
``file_path`` is relative to the export's destination."""

PROFILE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("user_id", pa.string()),
        pa.field("username", pa.string()),
        pa.field("name", pa.string()),
        pa.field("account_type", pa.string()),
        pa.field("biography", pa.string()),
        pa.field("website", pa.string()),
        pa.field("profile_picture_url", pa.string()),
        pa.field("followers_count", pa.int64()),
        pa.field("follows_count", pa.int64()),
        pa.field("media_count", pa.int64()),
        pa.field("exported_at", TIMESTAMP),
        pa.field("api_version", pa.string()),
    ]
)
"""One row per account per export: the profile as Instagram answered it at export time."""

_COLUMNS = [f.name for f in MEDIA_SCHEMA]


def parse_timestamp(value: str | None) -> datetime | None:
    """Instagram's ``2017-08-31T18:10:00+0000`` as an aware UTC datetime."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def media_rows(
    items: Iterable[dict[str, Any]], user_id: str | None = None, **constants: Any
) -> Iterator[dict[str, Any]]:
    """One row per media item, then one per carousel child (``parent_id``, ``position``), in API order.

    ``constants`` (such as ``exported_at`` and ``api_version``) are set on every row.
    """
    for item in items:
        owner = (item.get("owner") or {}).get("id", user_id)
        yield _row(item, owner, None, None, constants)
        children = (item.get("children") or {}).get("data") or []
        for position, child in enumerate(children):
            inherited = {"timestamp": item.get("timestamp"), "username": item.get("username"), **child}
            yield _row(inherited, owner, item["id"], position, constants)


def _row(
    item: dict[str, Any], owner: str | None, parent_id: str | None, position: int | None, constants: dict[str, Any]
) -> dict[str, Any]:
    row = {name: item.get(name) for name in _COLUMNS}
    row.update(constants)
    row["user_id"] = owner
    row["timestamp"] = parse_timestamp(item.get("timestamp"))
    row["parent_id"], row["position"] = parent_id, position
    return row


def profile_row(profile: dict[str, Any], **constants: Any) -> dict[str, Any]:
    """The profile as one row of :data:`PROFILE_SCHEMA` (fields Instagram left out are null)."""
    row = {f.name: profile.get(f.name) for f in PROFILE_SCHEMA}
    row.update(constants)
    return row


def media_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=MEDIA_SCHEMA)
