"""The media table's schema, and flattening API items (carousel children as rows of their own)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

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
        pa.field("timestamp", pa.timestamp("s", tz="UTC")),
        pa.field("like_count", pa.int64()),
        pa.field("comments_count", pa.int64()),
        pa.field("shortcode", pa.string()),
        pa.field("is_comment_enabled", pa.bool_()),
        pa.field("parent_id", pa.string()),
        pa.field("position", pa.int32()),
    ]
)
_COLUMNS = [f.name for f in MEDIA_SCHEMA]


def parse_timestamp(value: str | None) -> datetime | None:
    """Instagram's ``2017-08-31T18:10:00+0000`` as an aware UTC datetime."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def media_rows(items: Iterable[dict[str, Any]], user_id: str | None = None) -> Iterator[dict[str, Any]]:
    """One row per media item, then one per carousel child (``parent_id``, ``position``), in API order."""
    for item in items:
        owner = (item.get("owner") or {}).get("id", user_id)
        yield _row(item, owner, None, None)
        children = (item.get("children") or {}).get("data") or []
        for position, child in enumerate(children):
            inherited = {"timestamp": item.get("timestamp"), "username": item.get("username"), **child}
            yield _row(inherited, owner, item["id"], position)


def _row(item: dict[str, Any], owner: str | None, parent_id: str | None, position: int | None) -> dict[str, Any]:
    row = {name: item.get(name) for name in _COLUMNS}
    row["user_id"] = owner
    row["timestamp"] = parse_timestamp(item.get("timestamp"))
    row["parent_id"], row["position"] = parent_id, position
    return row


def media_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=MEDIA_SCHEMA)
