"""Reading an export's files back (the layout of ``airflow_provider_instagram.export``) for a load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.exceptions import ExportNotFoundError
from airflow_provider_instagram.export.formats import FORMATS, read_batches
from airflow_provider_instagram.export.partitions import partition_dir
from airflow_provider_instagram.export.staging import public_uri
from airflow_provider_instagram.export.window import ExportWindow


class ExportedParts:
    """The part files of one account's export under ``root`` (an ``ObjectStoragePath``).

    :param root: the export's destination.
    :param user_id: the account's Instagram user id.
    :raises InvalidIdError: ``user_id`` is not a plain Instagram id (it would read another folder than its own).
    """

    def __init__(self, root: Any, user_id: str) -> None:
        self.root, self.user_id = root, checked_id(user_id)

    def parts(self, table: str, window: ExportWindow, *, required: bool) -> list[Any]:
        """The parts of ``table`` for the window's days (every day in full-snapshot mode), newest day first.

        ``required``: every owned day must have its part (an export writes one even for an empty day); a
        missing one means the export of this window did not finish, and loading would delete good rows.
        """
        if window.first_day is None:
            base = self.root / table / f"user_id={self.user_id}"
            dirs = sorted((d for d in base.iterdir() if d.name.startswith("dt=")), key=lambda d: d.name, reverse=True)
            if required and not dirs:
                raise ExportNotFoundError(
                    f"No {table} export for user {self.user_id} under {public_uri(self.root)}; run the export first"
                )
            return [p for d in dirs for p in self._parts_in(d)]
        found = []
        for day in window.days():
            parts = self._parts_in(self.root / partition_dir(table, self.user_id, day))
            if required and not parts:
                raise ExportNotFoundError(
                    f"The {table} export of user {self.user_id} for {day.isoformat()} is missing under "
                    f"{public_uri(self.root)}; run (or clear and rerun) the export for {window.describe()} first"
                )
            found += parts
        return found

    @staticmethod
    def _parts_in(directory: Any) -> list[Any]:
        if not directory.exists():
            return []
        return sorted(
            (p for p in directory.iterdir() if p.name.startswith("part-") and p.suffix.lstrip(".") in FORMATS),
            key=lambda p: p.name,
        )


def part_batches(parts: list[Any], schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    """The rows of every part, ``batch_rows`` at a time; one file open at a time."""
    for part in parts:
        with part.open("rb") as source:
            yield from read_batches(part.suffix.lstrip("."), source, schema, batch_rows)
