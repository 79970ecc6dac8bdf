"""Rows into Hive-style day partitions (``.../dt=YYYY-MM-DD/part-00000.parquet``), streamed in row groups."""

from __future__ import annotations

from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.export.formats import PartWriter, open_writer
from airflow_provider_instagram.export.staging import StagedFiles


def partition_dir(table: str, user_id: str, day: date) -> str:
    """``media/user_id=17841400000/dt=2026-11-28``: the directory warehouses read as two partition columns.

    :raises InvalidIdError: ``user_id`` is not a plain Instagram id (it would walk out of ``table``).
    """
    return f"{table}/user_id={checked_id(user_id)}/dt={day.isoformat()}"


def part_name(index: int, file_format: str) -> str:
    return f"part-{index:05d}.{file_format}"


@dataclass
class _OpenPart:
    stack: ExitStack
    writer: PartWriter
    rows: int = 0
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0


class PartitionedWriter:
    """Writes one table's rows into day partitions of one account, under a :class:`StagedFiles`.

    Rows arrive newest first (Instagram's order), so a day is finished once an older day shows up: its part is
    closed then, which keeps one file open at a time. A day seen again later gets a further part. Rows are kept
    as Arrow batches until a row group is full, so memory stays flat however large the account.

    :param staged: where the parts are written until published.
    :param table: ``media`` or ``profiles``: the first directory level.
    :param user_id: the account, the second level.
    :param schema: the table's Arrow schema.
    :param file_format: ``parquet``, ``jsonl`` or ``csv``.
    :param row_group_rows: rows per row group (and per write to the file).
    :param max_rows_per_file: rows after which a day's part is closed and the next one started.
    """

    def __init__(
        self, staged: StagedFiles, table: str, user_id: str, schema: pa.Schema, file_format: str,
        row_group_rows: int = 10_000, max_rows_per_file: int = 1_000_000,
    ) -> None:  # fmt: skip
        self.staged, self.table, self.user_id = staged, table, user_id
        self.schema, self.file_format = schema, file_format
        self.row_group_rows, self.max_rows_per_file = row_group_rows, max_rows_per_file
        self._open: dict[date, _OpenPart] = {}
        self._parts: dict[date, int] = {}
        self.rows = 0

    @property
    def days(self) -> set[date]:
        """Every day that has at least one part (open or closed)."""
        return set(self._parts)

    def add(self, table: pa.Table, default_day: date) -> None:
        """Append a table of this writer's schema; each row goes to the UTC day of its ``timestamp``
        (``default_day`` where there is none, so that no row is ever dropped)."""
        days = pc.fill_null(pc.cast(table["timestamp"], pa.date32()), pa.scalar(default_day, pa.date32()))
        distinct = sorted(pc.unique(days).to_pylist(), reverse=True)
        for day in distinct:
            for older_open in [d for d in self._open if d > day]:
                self._close(older_open)  # rows come newest first: a newer day is complete
            rows = table if len(distinct) == 1 else table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            self._append(day, rows)

    def add_rows(self, rows: list[dict[str, Any]], day: date) -> None:
        """Append plain rows, all to ``day`` (the profile snapshot)."""
        self._append(day, pa.Table.from_pylist(rows, schema=self.schema))

    def add_empty(self, day: date) -> None:
        """Give ``day`` a well-formed part with no rows (unless it has one), so downstream loads find a file."""
        if day not in self._parts:
            self._part(day)
            self._close(day)

    def close(self) -> None:
        for day in list(self._open):
            self._close(day)

    def abort(self) -> None:
        """Close every open part (the staged files are dropped by the caller)."""
        for part in self._open.values():
            with suppress(Exception):  # finishing a doomed file must not hide the error that doomed it
                part.writer.close()
            part.stack.close()
        self._open.clear()

    def _part(self, day: date) -> _OpenPart:
        part = self._open.get(day)
        if part is None:
            index = self._parts.get(day, -1) + 1
            self._parts[day] = index
            stack = ExitStack()
            sink = stack.enter_context(
                self.staged.open(f"{partition_dir(self.table, self.user_id, day)}/{part_name(index, self.file_format)}")
            )
            part = self._open[day] = _OpenPart(stack, open_writer(self.file_format, sink, self.schema))
        return part

    def _append(self, day: date, table: pa.Table) -> None:
        part = self._part(day)
        part.pending.append(table)
        part.pending_rows += table.num_rows
        self.rows += table.num_rows
        if part.pending_rows >= self.row_group_rows:
            self._flush(part)
        if part.rows >= self.max_rows_per_file:
            self._close(day)

    def _flush(self, part: _OpenPart) -> None:
        if part.pending:
            part.writer.write(pa.concat_tables(part.pending))
            part.rows += part.pending_rows
            part.pending, part.pending_rows = [], 0

    def _close(self, day: date) -> None:
        part = self._open.pop(day)
        self._flush(part)
        part.writer.close()
        part.stack.close()
