"""File formats of the exported tables: Parquet (default), JSON Lines and CSV, each streamed in batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS = ("parquet", "jsonl", "csv")


class PartWriter(Protocol):
    """Writes one part file, batch after batch; ``close`` leaves a complete, well-formed file."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class _ParquetWriter:
    def __init__(self, sink: IO[bytes], schema: pa.Schema) -> None:
        # Snappy: the codec every warehouse's Parquet reader accepts.
        self._writer = pq.ParquetWriter(sink, schema, compression="snappy")

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))  # one row group per write

    def close(self) -> None:
        self._writer.close()


class _CsvWriter:
    def __init__(self, sink: IO[bytes], schema: pa.Schema) -> None:
        self._writer = pa_csv.CSVWriter(sink, schema)  # the header goes out at once: an empty part is well-formed

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # always UTC in our tables
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class _JsonLinesWriter:
    def __init__(self, sink: IO[bytes], schema: pa.Schema) -> None:
        self._sink = sink

    def write(self, table: pa.Table) -> None:
        lines = [json.dumps(row, default=_json_value, ensure_ascii=False) for row in table.to_pylist()]
        if lines:
            self._sink.write(("\n".join(lines) + "\n").encode())

    def close(self) -> None:
        """Nothing to finish: every line is complete when written."""


_WRITERS: dict[str, Callable[[IO[bytes], pa.Schema], PartWriter]] = {
    "parquet": _ParquetWriter, "jsonl": _JsonLinesWriter, "csv": _CsvWriter,
}  # fmt: skip


def check_format(file_format: str) -> str:
    """The format's name, lower case, or a ``ValueError`` naming the choices."""
    name = str(file_format).strip().lower()
    if name not in _WRITERS:
        raise ValueError(f"file_format {file_format!r} is not supported; choose one of {', '.join(FORMATS)}")
    return name


def open_writer(file_format: str, sink: IO[bytes], schema: pa.Schema) -> PartWriter:
    """A writer of ``file_format`` streaming into the open binary ``sink``."""
    return _WRITERS[check_format(file_format)](sink, schema)
