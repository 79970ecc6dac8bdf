"""One account's export to a local destination, read back and compared with what the emulator holds."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import InstagramTransientError, InvalidIdError
from airflow_provider_instagram.export.media_files import MediaFileCopier
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.schema import flatten_media
from tests.support.instagram import (
    Export,
    expected_rows,
    files_under,
    last_days,
    pinned,
    read_table,
    rows_by_id,
    stable,
)

COMPARED = ("user_id", "username", "media_type", "media_product_type", "caption", "permalink", "timestamp",
            "like_count", "comments_count", "shortcode", "is_comment_enabled", "parent_id", "position")  # fmt: skip
SIGNED = ("media_url", "thumbnail_url")  # signed anew on every read: compare where they are set, not their text


@pytest.mark.parametrize("file_format", ["parquet", "jsonl", "csv"])
def test_every_format_reads_back_as_the_emulator_holds_it(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path, file_format: str
) -> None:
    window = last_days(40, pinned(emulator_client, accounts=1, media=200))
    summary = export(window, file_format=file_format)
    want = {row["id"]: row for row in expected_rows(window)}
    got = rows_by_id(read_table(tmp_path / "out", file_format))
    assert summary.rows == len(got) == len(want) > 100
    assert got.keys() == want.keys()
    for media_id, row in want.items():
        assert {c: got[media_id][c] for c in COMPARED} == {c: row[c] for c in COMPARED}, media_id
        assert [bool(got[media_id][c]) for c in SIGNED] == [bool(row[c]) for c in SIGNED], media_id
        assert got[media_id]["api_version"] == "v25.0" and got[media_id]["exported_at"] is not None
    assert any(r["parent_id"] for r in want.values()), "carousel children are rows of their own"
    for part in (tmp_path / "out" / "media").rglob(f"part-*.{file_format}"):
        user_dir, day_dir = part.parent.parent.name, part.parent.name
        assert user_dir == f"user_id={summary.user_id}" and day_dir.startswith("dt=")
    assert summary.api_calls == math.ceil(len([r for r in want.values() if not r["parent_id"]]) / 100) + 1


def test_partitions_are_the_media_days_and_duckdb_reads_them(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    window = last_days(20, pinned(emulator_client, accounts=1, media=120))
    export(window)
    rows = duckdb.sql(
        f"select dt, timestamp from read_parquet('{tmp_path}/out/media/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert rows and all(str(dt) == ts.astimezone(UTC).date().isoformat() for dt, ts in rows)
    days = {p.name for p in (tmp_path / "out" / "media").glob("*/dt=*")}
    assert days == {f"dt={d.isoformat()}" for d in window.days()}, "every day of the window has a partition"


def test_profile_snapshot_per_run(export: Export, emulator_client: EmulatorClient, tmp_path: Path) -> None:
    window = last_days(2, pinned(emulator_client, accounts=1, media=10))
    summary = export(window)
    profiles = read_table(tmp_path / "out", "parquet", "profiles").to_pylist()
    account = emulator_client.seed()["accounts"][0]
    assert len(profiles) == 1
    assert profiles[0]["username"] == account["username"] == summary.username
    assert profiles[0]["media_count"] == 10 and profiles[0]["followers_count"] is not None
    day = window.last_day.isoformat()
    assert (tmp_path / "out" / "profiles" / f"user_id={summary.user_id}" / f"dt={day}" / "part-00000.parquet").exists()


def test_empty_window_writes_an_empty_well_formed_file_per_day(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    old = pinned(emulator_client, accounts=1, media=5, span_days=1) - timedelta(days=400)
    window = ExportWindow.covering(old, old + timedelta(days=2))
    for file_format in ("parquet", "jsonl", "csv"):
        summary = export(window, destination=ObjectStoragePath(f"file://{tmp_path}/{file_format}"),
                         file_format=file_format)  # fmt: skip
        parts = sorted((tmp_path / file_format / "media").rglob("part-*"))
        assert summary.rows == 0 and len(parts) == len(window.days()) == summary.partitions - 1 == 3
        table = read_table(tmp_path / file_format, file_format)
        assert table.num_rows == 0
    header = (next((tmp_path / "csv" / "media").rglob("part-*.csv"))).read_text().strip()
    assert header.startswith('"id","user_id"')


def test_rerun_replaces_its_own_output_and_nothing_else(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=150)
    older = ExportWindow.covering(now - timedelta(days=20), now - timedelta(days=10))
    newer = ExportWindow.covering(now - timedelta(days=9), now)
    export(older)
    older_files = files_under(tmp_path / "out" / "media")
    first = export(newer)
    snapshot = {k: v for k, v in files_under(tmp_path / "out" / "media").items() if k not in older_files}
    again = export(newer)
    after = files_under(tmp_path / "out" / "media")
    assert {k: after[k] for k in older_files} == older_files, "the other window's files are untouched"
    assert set(after) == set(older_files) | set(snapshot), "the rerun wrote the same files, no extra"
    assert again.rows == first.rows
    assert rows_by_id(read_table(tmp_path / "out", "parquet")).keys() == {
        r["id"] for r in expected_rows(ExportWindow.covering(now - timedelta(days=20), now))
    }


def test_rerun_in_another_format_removes_the_old_parts(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    window = last_days(5, pinned(emulator_client, accounts=1, media=60))
    export(window, file_format="csv")
    export(window, file_format="parquet")
    names = {p.suffix for p in (tmp_path / "out" / "media").rglob("part-*")}
    assert names == {".parquet"}


def test_lookback_rereads_earlier_days_with_fresh_counts(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=100, span_days=10)  # about ten media a day
    today = ExportWindow.covering(now - timedelta(hours=1), now, lookback_days=3)
    assert len(today.days()) == 4, "the last hour is within one day: the emulator's clock is pinned mid-morning"
    export(today)
    earliest = today.days()[-1]
    liked = next(r["id"] for r in expected_rows(today) if not r["parent_id"] and r["timestamp"].date() == earliest)
    emulator_client.edit_media(liked, like_count=123_456)
    summary = export(today)
    assert summary.partitions == 4 + 1
    rows = rows_by_id(read_table(tmp_path / "out", "parquet"))
    assert rows.keys() == {r["id"] for r in expected_rows(today)}
    assert rows[liked]["like_count"] == 123_456, "the lookback's earliest day was read again"


def test_full_snapshot_reads_every_media(export: Export, emulator_client: EmulatorClient, tmp_path: Path) -> None:
    now = pinned(emulator_client, accounts=1, media=130)
    summary = export(ExportWindow.covering(None, now + timedelta(days=1), full=True))
    parents = [r for r in read_table(tmp_path / "out", "parquet").to_pylist() if not r["parent_id"]]
    assert len(parents) == 130
    assert summary.api_calls == math.ceil(130 / 100) + 1


def test_failure_midway_publishes_nothing_and_the_retry_writes_identical_rows(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    window = last_days(90, pinned(emulator_client, accounts=1, media=400))
    export(window)
    before = files_under(tmp_path / "out")
    emulator_client.advance_clock(3600)  # counts change over time
    emulator_client.add_faults({"endpoint": "media_edge",
                                "sequence": [{"kind": "latency", "ms": 0}] + [{"kind": "reset"}] * 10})  # fmt: skip
    with pytest.raises(InstagramTransientError):
        export(window)
    assert files_under(tmp_path / "out") == before, "no file changed, none appeared, no staging debris"
    emulator_client.clear_faults()
    export(window)
    first = stable(read_table(tmp_path / "out", "parquet"))
    export(window)
    assert first.equals(stable(read_table(tmp_path / "out", "parquet")))
    assert not (tmp_path / "out" / "_staging").exists()


def test_long_windows_are_read_in_concurrent_slices_with_the_same_rows(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    window = last_days(61, pinned(emulator_client, accounts=1, media=3000, span_days=60))
    sequential = export(window, destination=ObjectStoragePath(f"file://{tmp_path}/one"), max_concurrency=1)
    sliced = export(window, destination=ObjectStoragePath(f"file://{tmp_path}/many"), max_concurrency=4)
    assert sequential.slices == 1 and sliced.slices == 4
    assert files_under(tmp_path / "one" / "media").keys() == files_under(tmp_path / "many" / "media").keys()
    assert stable(read_table(tmp_path / "one", "parquet")).equals(stable(read_table(tmp_path / "many", "parquet")))
    assert sequential.api_calls <= sliced.api_calls <= sequential.api_calls + sliced.slices - 1


def test_media_files_are_copied_once_with_their_hash(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    window = last_days(90, pinned(emulator_client, accounts=1, media=40))
    first = export(window, copy_files=True)
    rows = read_table(tmp_path / "out", "parquet").to_pylist()
    with_url = [r for r in rows if r["media_url"]]
    assert with_url and first.files_copied == len(with_url) and first.files_present == 0
    for row in with_url:
        data = (tmp_path / "out" / row["file_path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["file_sha256"] and len(data) == row["file_bytes"]
    assert all(r["file_path"] is None for r in rows if not r["media_url"]), "album parents have no file"
    emulator_client.reset_calls()
    second = export(window, copy_files=True)
    assert second.files_copied == 0 and second.files_present == len(with_url)
    assert emulator_client.calls().get("cdn", 0) == 0, "nothing downloaded again"
    again = rows_by_id(read_table(tmp_path / "out", "parquet"))
    assert all(again[r["id"]]["file_sha256"] == r["file_sha256"] for r in with_url)


def test_a_refused_download_reads_the_url_again_once(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=12)
    emulator_client.add_faults({"endpoint": "cdn", "sequence": [{"kind": "http_error", "status": 403}]})
    summary = export(last_days(90, now), copy_files=True)
    rows = read_table(tmp_path / "out", "parquet").to_pylist()
    assert summary.files_copied == len([r for r in rows if r["media_url"]]) and summary.files_unavailable == 0
    assert summary.api_calls == 1 + 1 + 1, "one page, the profile, and one re-read of the refused media's URL"


def test_urls_expired_since_listing_are_refreshed_and_copied(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    pinned(emulator_client, accounts=1, media=15, cdn_url_ttl=600)
    hook = connect()
    rows = flatten_media(hook.iter_media(), "me")
    emulator_client.advance_clock(601)  # every signed URL of the listing has expired now
    destination = ObjectStoragePath(f"file://{tmp_path}/out")
    calls = hook.api_calls
    with MediaFileCopier(hook, destination, destination / "_staging" / "files", "me") as copier:
        copier.copy(rows)
    with_file = [r for r in rows if r.get("file_sha256")]
    assert copier.counts.copied == len(with_file) == len([r for r in rows if r.get("media_url")]) > 0
    assert hook.api_calls - calls == len(with_file), "one URL re-read per expired file, nothing more"


def test_a_file_the_cdn_keeps_refusing_is_reported_not_fatal(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=3)
    emulator_client.add_faults({"endpoint": "cdn", "probability": 1.0, "fault": {"kind": "http_error", "status": 403}})
    summary = export(last_days(90, now), copy_files=True)
    rows = read_table(tmp_path / "out", "parquet").to_pylist()
    assert summary.files_copied == 0 and summary.files_unavailable == len([r for r in rows if r.get("media_url")]) > 0
    assert all(r["file_path"] is None for r in rows)
    assert not (tmp_path / "out" / "files").exists() or not any((tmp_path / "out" / "files").rglob("*.*"))


def test_no_token_in_files_or_summary(export: Export, emulator_client: EmulatorClient, tmp_path: Path) -> None:
    now = pinned(emulator_client, accounts=1, media=30)
    token = emulator_client.seed()["accounts"][0]["access_token"]
    summary = export(last_days(90, now), file_format="jsonl", copy_files=True)
    assert token not in str(summary.to_dict())
    for data in files_under(tmp_path / "out").values():
        assert token.encode() not in data


def test_a_user_id_that_would_walk_out_of_the_destination_is_refused(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=20, account_ids=["1/../../../outside"])
    destination = ObjectStoragePath(f"file://{tmp_path}/exports/out")
    with pytest.raises(InvalidIdError, match=r"user id.*/me.*'instagram_default'.*'1/\.\./\.\./\.\./outside'"):
        export(last_days(30, now), destination=destination, copy_files=True)
    assert list(tmp_path.rglob("*")) == [], "nothing was written, neither outside the destination nor in it"


def test_a_media_id_that_would_walk_out_of_the_files_folder_is_refused(
    export: Export, connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, tmp_path: Path
) -> None:
    now = pinned(emulator_client, accounts=1, media=8)
    with_file = [m["id"] for m in connect().iter_media(["id", "media_url"]) if m.get("media_url")]
    emulator_client.edit_media(with_file[-1], id="1/../../../../escaped")  # the page's other files come first
    destination = ObjectStoragePath(f"file://{tmp_path}/exports/out")
    with pytest.raises(InvalidIdError, match=r"media id '1/\.\./\.\./\.\./\.\./escaped'"):
        export(last_days(90, now), destination=destination, copy_files=True)
    assert list(tmp_path.rglob("*")) == [], "no file was copied, neither outside the destination nor in it"


@pytest.mark.parametrize(
    ("options", "message"),
    [({"slice_days": 0}, "slice_days must be a whole number from 1"),
     ({"max_concurrency": 0}, "max_concurrency must be a whole number from 1 to 32")],
    ids=["zero-slice-days", "no-concurrency"],
)  # fmt: skip
def test_bad_options_are_refused_before_any_call(
    export: Export, emulator_client: EmulatorClient, tmp_path: Path, options: dict[str, int], message: str
) -> None:
    window = last_days(61, pinned(emulator_client, accounts=1, media=3000, span_days=60))  # long enough to slice
    emulator_client.reset_calls()
    with pytest.raises(ValueError, match=message):
        export(window, **options)
    assert emulator_client.calls() == {} and not (tmp_path / "out").exists()


def test_exported_at_is_the_injected_clock(export: Export, emulator_client: EmulatorClient, tmp_path: Path) -> None:
    now = pinned(emulator_client, accounts=1, media=10)
    stamp = datetime(2026, 11, 28, 10, 45, 7, tzinfo=UTC)
    export(last_days(90, now), clock=lambda: stamp.replace(microsecond=999))
    media, profiles = (read_table(tmp_path / "out", "parquet", table) for table in ("media", "profiles"))
    assert set(media["exported_at"].to_pylist()) == {stamp} and media.num_rows >= 10
    assert profiles["exported_at"].to_pylist() == [stamp]
