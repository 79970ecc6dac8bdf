"""Remove every file and warehouse row of some Instagram users, and nothing of anyone else."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.account.ids import is_plain_id
from airflow_provider_instagram.exceptions import InvalidIdError
from airflow_provider_instagram.export.staging import STAGING_DIR, public_uri
from airflow_provider_instagram.insights.schema import INSIGHTS_FOLDERS
from airflow_provider_instagram.warehouse.dialects import dialect_of
from airflow_provider_instagram.warehouse.insights_tables import insights_table_specs
from airflow_provider_instagram.warehouse.tables import (
    TableSpec,
    existing_columns,
    media_table_spec,
    profile_table_spec,
)

log = logging.getLogger(__name__)

# The export's top-level folders that hold one sub-folder per account (``<folder>/user_id=<id>/``).
USER_FOLDERS = ("media", "profiles", "files", STAGING_DIR, *INSIGHTS_FOLDERS)


def user_tables(prefix: str = "instagram_") -> tuple[TableSpec, ...]:
    """Every warehouse table that holds rows of an account: what deleting its data empties of them.

    :param prefix: the tables' prefix, as given to the loads.
    """
    return media_table_spec(prefix), profile_table_spec(prefix), *insights_table_specs(prefix)


def checked_user_ids(user_ids: Iterable[Any]) -> list[str]:
    """The ids, each checked to be a plain id (``account.ids``' rule): one becomes part of a path that is deleted
    recursively. All are checked before anything is deleted.

    :raises InvalidIdError: naming every id that is not plain.
    """
    checked = sorted({str(u) for u in user_ids})
    bad = [u for u in checked if not is_plain_id(u)]
    if bad:
        raise InvalidIdError(
            f"not Instagram user ids: {bad}; nothing was deleted. Give plain ids (digits, letters, '_') in the "
            "user_ids param of the deletion DAG"
        )
    return checked


def delete_files(root: ObjectStoragePath, user_ids: Iterable[str]) -> list[str]:
    """Delete ``<root>/<folder>/user_id=<id>/`` for every folder and id; the URIs of what was there."""
    deleted = []
    for user_id in checked_user_ids(user_ids):
        for folder in USER_FOLDERS:
            target = root / folder / f"user_id={user_id}"
            if target.exists():
                target.rmdir(recursive=True)
                deleted.append(public_uri(target))
                log.info("Deleted %s", public_uri(target))
    return deleted


def delete_rows(connection: Any, user_ids: Iterable[str], placeholder: str = "%s",
                tables: Iterable[TableSpec] | None = None) -> dict[str, int]:  # fmt: skip
    """Delete the users' rows from the warehouse tables that exist (default: :func:`user_tables`), in one
    transaction; rows deleted per table."""
    dialect = dialect_of(connection, placeholder)
    ids = checked_user_ids(user_ids)
    counts: dict[str, int] = {}
    cursor = connection if dialect.name == "duckdb" else connection.cursor()
    try:
        for spec in tables or user_tables():
            if not existing_columns(cursor, dialect, spec.name):
                continue
            counts[spec.name] = 0
            for user_id in ids:
                cursor.execute(spec.delete_user_sql(dialect), (user_id,))
                counts[spec.name] += max(int(cursor.rowcount or 0), 0)
        connection.commit()
    except Exception:
        connection.rollback()
        raise
    return counts
