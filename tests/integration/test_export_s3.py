"""Exports to S3: moto's S3 server over HTTP, through ObjectStoragePath and the amazon provider's filesystem."""

from __future__ import annotations

import io
import uuid

import pyarrow.parquet as pq
import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import InstagramTransientError
from tests.support.instagram import Export, expected_rows, last_days, pinned
from tests.support.s3_server import BUCKET, CONN_ID, S3Server


def _prefix() -> tuple[str, ObjectStoragePath]:
    prefix = f"runs/{uuid.uuid4().hex}"
    return prefix, ObjectStoragePath(f"s3://{CONN_ID}@{BUCKET}/{prefix}")


def test_parquet_export_to_s3_reads_back_and_reruns_in_place(
    export: Export, emulator_client: EmulatorClient, s3_connection: S3Server
) -> None:
    window = last_days(30, pinned(emulator_client, accounts=1, media=60))
    prefix, destination = _prefix()
    summary = export(window, destination=destination, copy_files=True)
    objects = s3_connection.keys(prefix)
    parts = {k: v for k, v in objects.items() if "/media/" in k}
    rows = [r for data in parts.values() for r in pq.read_table(io.BytesIO(data)).to_pylist()]
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in expected_rows(window))
    assert summary.data_files == len(parts) + 1 and not [k for k in objects if "/_staging/" in k]
    assert summary.files_copied == len([k for k in objects if "/files/" in k]) > 0
    export(window, destination=destination, copy_files=True)
    assert s3_connection.keys(prefix).keys() == objects.keys(), "a rerun replaces the same objects"


def test_failed_s3_export_leaves_nothing_visible(
    export: Export, emulator_client: EmulatorClient, s3_connection: S3Server
) -> None:
    now = pinned(emulator_client, accounts=1, media=300)
    prefix, destination = _prefix()
    emulator_client.add_faults({"endpoint": "media_edge",
                                "sequence": [{"kind": "latency", "ms": 0}] + [{"kind": "reset"}] * 10})  # fmt: skip
    with pytest.raises(InstagramTransientError):
        export(last_days(90, now), destination=destination, file_format="csv")
    assert s3_connection.keys(prefix) == {}
