"""The insights export's memory per account, next to its partitions: when each media was last read (the refresh
policy's input) and which account days are complete. Published after the partitions it describes, so that a run
cut short in between reads again rather than believing it read what it never published."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.export.staging import StagedFiles
from airflow_provider_instagram.insights.policy import MediaRef
from airflow_provider_instagram.insights.schema import STATE, STATE_SCHEMA

MEDIA_FILE = "media.parquet"
DAYS_FILE = "account_days.parquet"
DAYS_SCHEMA = pa.schema([pa.field("day", pa.date32(), nullable=False)])
"""The account days whose insights are complete: read once their values had settled (``AccountDays``)."""


def state_dir(user_id: str) -> str:
    """``insights_state/user_id=<id>``."""
    return f"{STATE}/user_id={checked_id(user_id)}"


def _read(destination: ObjectStoragePath, user_id: str, name: str, schema: pa.Schema) -> pa.Table | None:
    path = destination / state_dir(user_id) / name
    if not path.exists():
        return None
    with path.open("rb") as source:
        return pq.read_table(source, schema=schema)


def read_media_state(destination: ObjectStoragePath, user_id: str) -> dict[str, MediaRef]:
    """The media earlier runs knew, with the day each was last read (empty before the first run)."""
    table = _read(destination, user_id, MEDIA_FILE, STATE_SCHEMA)
    rows = table.to_pylist() if table is not None else []
    return {r["media_id"]: MediaRef(r["media_id"], r["media_product_type"], r["media_timestamp"], r["last_read"])
            for r in rows}  # fmt: skip


def read_complete_days(destination: ObjectStoragePath, user_id: str) -> set[date]:
    """The account days earlier runs completed."""
    table = _read(destination, user_id, DAYS_FILE, DAYS_SCHEMA)
    return set(table.column("day").to_pylist()) if table is not None else set()


def write_state(staged: StagedFiles, user_id: str, media: Iterable[MediaRef], complete_days: Iterable[date]) -> None:
    """Stage both files (``staged`` is published after the partitions)."""
    rows = [{"media_id": r.id, "media_product_type": r.product_type, "media_timestamp": r.created,
             "last_read": r.last_read} for r in media]  # fmt: skip
    with staged.open(f"{state_dir(user_id)}/{MEDIA_FILE}") as sink:
        pq.write_table(pa.Table.from_pylist(rows, schema=STATE_SCHEMA), sink)
    days = [{"day": d} for d in sorted(complete_days)]
    with staged.open(f"{state_dir(user_id)}/{DAYS_FILE}") as sink:
        pq.write_table(pa.Table.from_pylist(days, schema=DAYS_SCHEMA), sink)
