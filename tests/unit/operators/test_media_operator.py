"""InstagramMediaToStorageOperator.execute against the emulator, outside a scheduler (the DAG tests cover that)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowSkipException

from airflow_provider_instagram.account.gate import PublishGate, read_record
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.media import InstagramMediaToStorageOperator
from tests.support.instagram import expected_rows, pinned, read_table


def context(start: datetime, end: datetime) -> Any:
    return {"data_interval_start": start, "data_interval_end": end, "outlet_events": {}}


def test_execute_exports_the_data_interval_and_returns_a_summary(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=80)
    connect()
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)  # a daily run's interval
    operator = InstagramMediaToStorageOperator(task_id="export", destination=f"file://{tmp_path}",
                                               fields="caption,like_count")  # fmt: skip
    assert operator.outlets == [Asset(f"file://{tmp_path}/media"), Asset(f"file://{tmp_path}/profiles")]
    summary = operator.execute(context(end - timedelta(days=5), end))
    window = operator.window(context(end - timedelta(days=5), end))
    assert window.days()[0] == (end - timedelta(days=1)).date() and len(window.days()) == 5
    rows = read_table(tmp_path, "parquet").to_pylist()
    albums_not_expanded = [r["id"] for r in expected_rows(window) if r["parent_id"] is None]
    assert sorted(r["id"] for r in rows) == sorted(albums_not_expanded)
    assert all(r["media_type"] is None and r["timestamp"] is not None for r in rows), "only the chosen fields"
    assert summary["destination"] == f"file://{tmp_path}" and summary["rows"] == len(rows)
    json.dumps(summary)  # an XCom


def test_a_connection_marked_reauth_required_is_skipped_with_the_fix(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=5)
    connect(status="reauth_required", status_reason="the password was changed")
    operator = InstagramMediaToStorageOperator(task_id="export", destination=f"file://{tmp_path}")
    with pytest.raises(AirflowSkipException, match=r"the password was changed.*new long-lived token"):
        operator.execute(context(now - timedelta(days=1), now))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"file_format": "xlsx"}, "parquet, jsonl, csv"),
        ({"lookback_days": -1}, "lookback_days must be a whole number from 0 to 3660, not -1"),
        ({"lookback_days": 10**9}, r"lookback_days .*not 1000000000: .*use full_snapshot=True"),
        ({"lookback_days": "two"}, "lookback_days must be a whole number"),
        ({"lookback_days": True}, "lookback_days must be a whole number"),
        ({"slice_days": 0}, "slice_days must be a whole number from 1 to 3660, not 0"),
        ({"max_concurrency": 0}, "max_concurrency must be a whole number from 1 to 32, not 0"),
        ({"max_concurrency": 33}, "max_concurrency must be a whole number from 1 to 32, not 33"),
    ],
    ids=["format", "negative-lookback", "huge-lookback", "word-lookback", "bool-lookback", "zero-slice-days",
         "no-concurrency", "too-much-concurrency"],
)  # fmt: skip
def test_bad_options_fail_at_parse_time(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InstagramMediaToStorageOperator(task_id="export", destination="file:///tmp/x", **options)


def test_templated_options_are_checked_once_rendered(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=5)
    connect()
    operator = InstagramMediaToStorageOperator(
        task_id="export", destination=f"file://{tmp_path}", lookback_days="{{ params.lookback_days }}",
        slice_days="{{ params.slice_days }}", max_concurrency="{{ params.max_concurrency }}",
    )  # fmt: skip
    operator.render_template_fields({"params": {"lookback_days": 10**9, "slice_days": 7, "max_concurrency": 2}})
    emulator_client.reset_calls()
    with pytest.raises(ValueError, match=r"lookback_days .*not '1000000000': .*use full_snapshot=True"):
        operator.execute(context(now - timedelta(days=1), now))
    assert not any(tmp_path.iterdir()) and emulator_client.calls() == {}, "refused before any call or file"


@pytest.mark.parametrize(
    ("destination", "message"), [("s4://bucket/x", "not a storage URL"), ("relative/dir", "relative path")]
)
def test_bad_destinations_name_the_fix(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, destination: str, message: str
) -> None:
    now = pinned(emulator_client, accounts=1, media=5)
    connect()
    operator = InstagramMediaToStorageOperator(task_id="export", destination=destination)
    with pytest.raises(ValueError, match=message):
        operator.execute(context(now - timedelta(days=1), now))


class MetaMeanwhile:
    """Reads the account's connection as the operator's gate does, and lets Meta's callback mark it before the
    ``on``-th read: revoked, and for a data-deletion request with ``deletion_requested_at``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, on: int, deletion: bool) -> None:
        self.monkeypatch, self.on, self.deletion, self.reads = monkeypatch, on, deletion, 0

    def __call__(self, conn_id: str) -> AccountRecord:
        self.reads += 1
        if self.reads == self.on:
            key = f"AIRFLOW_CONN_{conn_id.upper()}"
            conn = json.loads(os.environ[key])
            marks = {"status": "revoked", "status_reason": "the user asked Meta to delete their data"}
            if self.deletion:
                marks["deletion_requested_at"] = "2026-11-28T10:31:00+00:00"
            self.monkeypatch.setenv(key, json.dumps({**conn, "password": "", "extra": {**conn["extra"], **marks}}))
        return read_record(conn_id)


class GatedExport(InstagramMediaToStorageOperator):
    meanwhile: MetaMeanwhile

    def publish_gate(self) -> PublishGate:
        return PublishGate(self.instagram_conn_id, read=self.meanwhile)


@pytest.mark.parametrize("copy_files", [False, True], ids=["metadata", "with-files"])
@pytest.mark.parametrize("deletion", [False, True], ids=["deauthorized", "deletion-requested"])
def test_an_account_revoked_while_it_is_exported_gets_nothing_published(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, deletion: bool, copy_files: bool,
) -> None:  # fmt: skip
    now = pinned(emulator_client, accounts=1, media=40)
    connect()
    operator = GatedExport(task_id="export", destination=f"file://{tmp_path}", copy_files=copy_files)
    operator.meanwhile = MetaMeanwhile(monkeypatch, on=1, deletion=deletion)  # before the publish
    with pytest.raises(AirflowSkipException, match=r"was marked revoked .* nothing was published"):
        operator.execute(context(now - timedelta(days=5), now))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_deletion_requested_while_the_files_were_published_takes_them_back(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Meta's callback lands between the check and the end of the publish: the deletion DAG may already have run,
    so the export removes what it just published itself."""
    now = pinned(emulator_client, accounts=1, media=40)
    connect()
    other = tmp_path / "media" / "user_id=42" / "dt=2026-11-01"
    other.mkdir(parents=True)
    (other / "part-00000.parquet").write_bytes(b"another account's data")
    operator = GatedExport(task_id="export", destination=f"file://{tmp_path}", copy_files=True)
    operator.meanwhile = MetaMeanwhile(monkeypatch, on=2, deletion=True)  # after the publish
    with pytest.raises(AirflowSkipException, match=r"Meta asked to delete the data .* removed again"):
        operator.execute(context(now - timedelta(days=5), now))
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["media/user_id=42/dt=2026-11-01/part-00000.parquet"]
