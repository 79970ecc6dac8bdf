"""The exported tables' schemas, and flattening API items into rows (carousel children as rows of their own).

The schemas only grow: a new field is appended as a nullable column; no column is ever renamed, retyped or
dropped (``tests/unit/test_schema.py`` holds the published columns to that).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

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
        pa.field("professional_account_id", pa.string()),
    ]
)
"""One row per account per export: the profile as Instagram answered it at export time. ``id`` and ``user_id``
are both the account's id (``/me`` ``id``, the id its data is filed under); ``professional_account_id`` is the
other id the Instagram Login API answers (as ``user_id``). Files written before the ids were unified hold that
other id in ``user_id``: :func:`profiles_in_todays_terms` reads them in today's terms."""

INSTAGRAM_TIME = "%Y-%m-%dT%H:%M:%S%z"  # 2017-08-31T18:10:00+0000


def flatten_media(items: Iterable[dict[str, Any]], user_id: str | None = None) -> list[dict[str, Any]]:
    """One row per media item, then one per carousel child (``parent_id``, ``position``), in API order.

    Rows are the API's dicts themselves, changed in place: ``user_id`` (the owner, else ``user_id``),
    ``parent_id`` and ``position`` are set, and children inherit their album's ``timestamp`` and ``username``.
    Timestamps stay strings until :func:`media_table` parses them as one column.
    """
    rows: list[dict[str, Any]] = []
    for item in items:  # the API's dicts are updated in place: no copy per row on the hot path
        owner = (item.get("owner") or {}).get("id", user_id)
        item["user_id"], item["parent_id"], item["position"] = owner, None, None
        rows.append(item)
        for position, child in enumerate((item.get("children") or {}).get("data") or []):
            child.setdefault("timestamp", item.get("timestamp"))
            child.setdefault("username", item.get("username"))
            child["user_id"], child["parent_id"], child["position"] = owner, item["id"], position
            rows.append(child)
    return rows


def media_table(rows: list[dict[str, Any]], **constants: Any) -> pa.Table:
    """Rows of :func:`flatten_media` as a :data:`MEDIA_SCHEMA` table; ``constants`` fill whole columns
    (such as ``exported_at`` and ``api_version``). Arrow converts the dicts in one pass (the export's hot path)
    and parses the timestamps as one column."""
    fields = [f for f in MEDIA_SCHEMA if f.name not in constants]
    struct = pa.struct([pa.field(f.name, pa.string()) if f.name == "timestamp" else f for f in fields])
    converted = pa.array(rows, type=struct)
    columns = {f.name: converted.field(f.name) for f in fields}
    if "timestamp" in columns:
        parsed = pc.strptime(columns["timestamp"], format=INSTAGRAM_TIME, unit="s")
        columns["timestamp"] = parsed.cast(MEDIA_SCHEMA.field("timestamp").type)
    for name, value in constants.items():
        columns[name] = pa.repeat(pa.scalar(value, MEDIA_SCHEMA.field(name).type), len(rows))
    return pa.Table.from_arrays([columns[f.name] for f in MEDIA_SCHEMA], schema=MEDIA_SCHEMA)


def profile_row(profile: dict[str, Any], **constants: Any) -> dict[str, Any]:
    """The profile as one row of :data:`PROFILE_SCHEMA` (fields Instagram left out are null)."""
    row = {f.name: profile.get(f.name) for f in PROFILE_SCHEMA}
    row["user_id"], row["professional_account_id"] = profile.get("id"), profile.get("user_id")
    row.update(constants)
    return row


def profiles_in_todays_terms(table: pa.Table) -> pa.Table:
    """Profile rows with ``user_id`` the account's id: rows written before the ids were unified (no
    ``professional_account_id``, another id in ``user_id``) get that id moved to ``professional_account_id``."""
    old = pc.and_(pc.is_null(table["professional_account_id"]), pc.not_equal(table["user_id"], table["id"]))
    old = pc.fill_null(old, False)
    if not pc.any(old).as_py():
        return table
    professional = pc.if_else(old, table["user_id"], table["professional_account_id"])
    table = table.set_column(table.schema.get_field_index("professional_account_id"), "professional_account_id",
                             professional)  # fmt: skip
    return table.set_column(table.schema.get_field_index("user_id"), "user_id", table["id"])
