"""File formats of the exported tables: Parquet (default), JSON Lines and CSV, each streamed in batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

FORMATS = ("parquet", "jsonl", "csv")


class PartWriter(Protocol):
    """Writes one part file, batch after batch; ``close`` leaves a complete, well-formed file."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


# Columns with few distinct values, worth a dictionary; the others (ids, captions, URLs) would only make the writer
# build one and give it up. Statistics only where readers prune by them (ids, times, counts).
_DICTIONARY = ("user_id", "username", "media_type", "media_product_type", "parent_id", "api_version",
               "account_type", "is_comment_enabled")  # fmt: skip
_STATISTICS = ("id", "user_id", "timestamp", "exported_at", "like_count", "comments_count", "followers_count")


class _ParquetWriter:
    def __init__(self, sink: IO[bytes], schema: pa.Schema) -> None:
        # Snappy: the codec every warehouse's Parquet reader accepts.
        self._writer = pq.ParquetWriter(
            sink, schema, compression="snappy", use_dictionary=[n for n in _DICTIONARY if n in schema.names],
            write_statistics=[n for n in _STATISTICS if n in schema.names],
        )  # fmt: skip

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


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """``batch`` with exactly ``schema``'s columns: ones a part predates are null, ones it has extra are dropped."""
    columns = [
        batch.column(f.name).cast(f.type) if f.name in batch.schema.names else pa.nulls(batch.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def read_batches(file_format: str, source: IO[bytes], schema: pa.Schema, batch_rows: int) -> Iterator[pa.Table]:
    """The rows of one part file, ``batch_rows`` at a time, conformed to ``schema``.

    Parquet and CSV are streamed; a JSON Lines part (one day of one account) is parsed whole.
    """
    file_format = check_format(file_format)
    if file_format == "parquet":
        for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_rows):
            yield conform(batch, schema)
    elif file_format == "csv":
        # Our CSV quotes every string: an unquoted empty field is a null, a quoted one an empty string.
        options = pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True)
        reader = pa_csv.open_csv(source, read_options=pa_csv.ReadOptions(block_size=1 << 22), convert_options=options)
        for batch in reader:
            yield conform(batch, schema)
    else:
        data = source.read()
        if not data.strip():
            return
        table = pa_json.read_json(pa.BufferReader(data), parse_options=pa_json.ParseOptions(explicit_schema=schema))
        for batch in table.to_batches(max_chunksize=batch_rows):
            yield conform(batch, schema)
