"""Opaque paging cursors, bound to the query's time window."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from airflow_provider_instagram.emulator.errors import invalid_parameter


def _window_key(since: int | None, until: int | None) -> str:
    return hashlib.sha1(f"{since}|{until}".encode()).hexdigest()[:8]


def encode_cursor(media_id: str, since: int | None, until: int | None) -> str:
    raw = json.dumps({"id": media_id, "w": _window_key(since, until)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, since: int | None, until: int | None) -> str | None:
    """The media id a cursor points at; a cursor from another window or a garbled one is code 100."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        media_id = str(data["id"])
        window = data["w"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise invalid_parameter("Invalid cursor") from exc
    if window != _window_key(since, until):
        raise invalid_parameter("The cursor does not belong to this query (since/until changed)")
    return media_id
