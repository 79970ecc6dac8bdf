"""Media export benchmarks: peak memory against account size, CPU against a bare loop, backfill slicing.

Run: ``python benchmarks/media_export.py [--runs 3]`` from the repository root. Each part starts its own emulator
process (10,000-media cap lifted, no rate limit) and exports one account to Parquet in a temporary directory,
medians of ``--runs`` runs, ratios measured in the same run:

- memory: peak RSS of a process exporting 200,000 media against one exporting 10,000 (target <= 1.2x);
- CPU: this process's CPU per 100,000 media, our export against a bare ``requests`` + ``json`` + ``pyarrow``
  loop writing the same pages to one Parquet file (target <= 1.5x);
- backfill: 20,000 media with 100 ms of injected latency per media page, sliced against one sequential walk
  (target <= 0.3x wall time), with the calls of each.

Exits 1 when a target is missed, or when an export makes more than the minimum of calls (pages + one profile
call; for the sliced walk, at most one partial page more per extra slice).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests

from airflow_provider_instagram.export.media_export import ExportSummary, MediaExport
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import MEDIA_FIELDS, InstagramHook

BARE_SCHEMA = pa.schema([(name, pa.int64() if name.endswith("_count") else pa.string())
                         for name in ("id", "caption", "media_type", "media_url", "permalink", "timestamp",
                                      "username", "like_count", "comments_count")])  # fmt: skip


def start_emulator(
    media: int, faults: list[dict[str, Any]] | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--accounts", "1",
               "--media", str(media), "--no-media-cap", "--rate-limit-budget", "0", "--seed", "5",
               "--faults", json.dumps(faults or [])]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    seed: dict[str, Any] = json.loads(process.stdout.readline())
    os.environ["AIRFLOW_CONN_INSTAGRAM_DEFAULT"] = json.dumps({
        "conn_type": "instagram", "host": seed["graph_url"], "login": seed["client_id"],
        "password": seed["accounts"][0]["access_token"],
    })  # fmt: skip
    return process, seed


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=60)


def export(window: ExportWindow, directory: str, max_concurrency: int = 1) -> ExportSummary:
    from airflow.sdk import ObjectStoragePath

    return MediaExport(InstagramHook, ObjectStoragePath(f"file://{directory}"), window, conn_id="instagram_default",
                       max_concurrency=max_concurrency, progress_seconds=3600).run()  # fmt: skip


def everything() -> ExportWindow:
    return ExportWindow.covering(None, datetime.now(UTC) + timedelta(days=1), full=True)


def baseline(seed: dict[str, Any], directory: str) -> int:
    """The floor: one session, ``json.loads`` per page, each page as an Arrow table into one Parquet file."""
    session = requests.Session()
    url: str | None = f"{seed['graph_url']}/v25.0/me/media"
    params: dict[str, Any] | None = {"access_token": seed["accounts"][0]["access_token"],
                                     "fields": MEDIA_FIELDS["instagram_login"], "limit": 100}  # fmt: skip
    count = 0
    with pq.ParquetWriter(os.path.join(directory, "bare.parquet"), BARE_SCHEMA, compression="snappy") as writer:
        while url:
            page = json.loads(session.get(url, params=params, timeout=60).content)
            writer.write_table(pa.Table.from_pylist(page["data"], schema=BARE_SCHEMA))
            count += len(page["data"])
            url, params = page.get("paging", {}).get("next"), None
    return count


# ---------------------------------------------------------------------------------------------------- memory
def child_peak_rss(media: int) -> float:
    """Run one full export of ``media`` media in a fresh process; its peak RSS in MiB."""
    out = subprocess.run([sys.executable, __file__, "_export_child", str(media)], check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    return float(json.loads(out.strip().splitlines()[-1])["peak_rss_mib"])


def export_child(media: int) -> None:
    process, _ = start_emulator(media)
    try:
        with tempfile.TemporaryDirectory() as directory:
            summary = export(everything(), directory)
    finally:
        stop(process)
    assert summary.api_calls == InstagramHook.calls_for(media), summary
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": peak, "rows": summary.rows}))


def memory(runs: int) -> bool:
    small = [child_peak_rss(10_000) for _ in range(runs)]
    large = [child_peak_rss(200_000) for _ in range(runs)]
    ratio = statistics.median(large) / statistics.median(small)
    print(f"memory: peak RSS exporting 200,000 media {statistics.median(large):.0f} MiB | 10,000 media "
          f"{statistics.median(small):.0f} MiB | ratio {ratio:.2f} (target <= 1.2) | runs "
          f"{', '.join(f'{v:.0f}' for v in large)} / {', '.join(f'{v:.0f}' for v in small)}")  # fmt: skip
    return ratio <= 1.2


# ---------------------------------------------------------------------------------------------------- CPU
def cpu(runs: int, media: int = 100_000) -> bool:
    process, seed = start_emulator(media)
    ours, bare, calls = [], [], 0
    try:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as directory:
                started = time.process_time()
                summary = export(everything(), directory)
                ours.append(time.process_time() - started)
                calls = summary.api_calls
            with tempfile.TemporaryDirectory() as directory:
                started = time.process_time()
                count = baseline(seed, directory)
                bare.append(time.process_time() - started)
            assert count == media
    finally:
        stop(process)
    ratio = statistics.median(ours) / statistics.median(bare)
    scale = 100_000 / media
    print(f"CPU per 100k media to Parquet, median of {runs}: ours {statistics.median(ours) * scale:.2f}s | bare "
          f"requests+json+pyarrow {statistics.median(bare) * scale:.2f}s | ratio {ratio:.2f} (target <= 1.5) | "
          f"API calls {calls:,} (minimum {InstagramHook.calls_for(media):,})")  # fmt: skip
    return ratio <= 1.5 and calls == InstagramHook.calls_for(media)


# ---------------------------------------------------------------------------------------------------- backfill
def backfill(runs: int, media: int = 20_000, latency_ms: int = 100) -> bool:
    faults = [{"endpoint": "media_edge", "probability": 1.0, "fault": {"kind": "latency", "ms": latency_ms}}]
    process, _ = start_emulator(media, faults)
    window = ExportWindow.covering(datetime.now(UTC) - timedelta(days=91), datetime.now(UTC) + timedelta(hours=1))
    walls: dict[int, list[float]] = {1: [], 8: []}
    summaries: dict[int, ExportSummary] = {}
    try:
        for _ in range(runs):
            for concurrency in (1, 8):
                with tempfile.TemporaryDirectory() as directory:
                    started = time.monotonic()
                    summaries[concurrency] = export(window, directory, concurrency)
                    walls[concurrency].append(time.monotonic() - started)
    finally:
        stop(process)
    one, many = summaries[1], summaries[8]
    ratio = statistics.median(walls[8]) / statistics.median(walls[1])
    minimum = math.ceil(media / 100) + 1
    print(f"backfill of {media:,} media, {latency_ms} ms per media page, median of {runs}: sliced "
          f"{statistics.median(walls[8]):.1f}s ({many.slices} slices, {many.api_calls} calls) | sequential walk "
          f"{statistics.median(walls[1]):.1f}s ({one.api_calls} calls, minimum {minimum}) | ratio {ratio:.2f} "
          f"(target <= 0.3) | rows {many.rows:,} = {one.rows:,}")  # fmt: skip
    return (ratio <= 0.3 and one.rows == many.rows and one.api_calls == minimum
            and many.api_calls <= one.api_calls + many.slices - 1)  # fmt: skip


def main() -> int:
    if sys.argv[1:2] == ["_export_child"]:
        export_child(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--part", choices=["memory", "cpu", "backfill", "all"], default="all")
    args = parser.parse_args()
    parts = {"memory": memory, "cpu": cpu, "backfill": backfill}
    chosen = list(parts) if args.part == "all" else [args.part]
    results = [parts[name](args.runs) for name in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
