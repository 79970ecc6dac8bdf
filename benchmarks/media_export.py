"""Media export benchmarks: peak memory against account size, CPU against a bare loop, backfill slicing.

Run: ``python benchmarks/media_export.py [--runs 3]`` from the repository root (the full run, ``make bench``), or
``--quick`` for CI. Each part starts its own emulator process (10,000-media cap lifted, no rate limit) and exports
one account to Parquet in a temporary directory, medians of several runs, ratios measured in the same run:

- memory: peak RSS of a process exporting 200,000 media against one exporting 10,000 (target <= 1.2x), 3 fresh
  processes per size;
- CPU: this process's CPU per 100,000 media, our export against a bare ``requests`` + ``json`` + ``pyarrow``
  loop writing the same pages to one Parquet file (target <= 1.5x), 100,000 media spread over 90 days;
- backfill: 20,000 media with 100 ms of injected latency per media page, sliced against one sequential walk
  (target <= 0.3x wall time), with the calls of each.

``--quick`` checks the same targets with the same ratios and exit code, on smaller sizes:

- memory keeps the full sizes, 200,000 against 10,000 media, with 2 processes per size instead of 3: the target
  guards against memory growing with the account, and the growth only shows at that size (on this 2-core
  machine the ratio was 1.06 at 50,000 against 10,000 media, 1.09 at 100,000, 1.12 at 200,000; one 200,000-media
  process in six peaked 30 MiB higher, hence 2 processes, not 1);
- CPU: 20,000 media spread over 18 days instead of 100,000 over 90, so that each day partition holds about as
  many media as in the full run (1,000 against 1,090) and the export's per-partition costs weigh the same against
  the bare loop's single file (measured side by side in one process: ratio 1.47 at both sizes); 3 runs;
- backfill: 5,000 media over the same 91-day window (8 slices still, each walking about 7 pages of the 51), the
  same 100 ms per page; 3 runs.

Exits 1 when a target is missed, or when an export makes more than the minimum of calls (pages + one profile
call; for the sliced walk, at most one partial page more per extra slice).
"""

from __future__ import annotations

import argparse
import dataclasses
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
MEMORY_TARGET = 1.2  # peak RSS, large export against small
CPU_TARGET = 1.5  # CPU of our export against the bare loop's
BACKFILL_TARGET = 0.3  # wall time of the sliced walk against the sequential one
LATENCY_MS = 100  # injected per media page in the backfill part


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (the module docstring says why the quick ones still mean something)."""

    memory_small: int
    memory_large: int
    memory_runs: int
    cpu_media: int
    cpu_span_days: int | None  # None: the emulator's 90 days
    backfill_media: int
    runs: int  # backfill, and CPU unless cpu_runs
    cpu_runs: int | None = None  # small exports vary more from run to run: more runs for a steady median

    def describe(self) -> str:
        cpu_runs = self.cpu_runs or self.runs
        return (f"memory {self.memory_large:,} vs {self.memory_small:,} media x {self.memory_runs} processes | CPU "
                f"{self.cpu_media:,} media over {self.cpu_span_days or 90} days x {cpu_runs} | backfill "
                f"{self.backfill_media:,} media x {self.runs}")  # fmt: skip


FULL = Sizes(memory_small=10_000, memory_large=200_000, memory_runs=3, cpu_media=100_000, cpu_span_days=None,
             backfill_media=20_000, runs=3)  # fmt: skip
QUICK = Sizes(memory_small=10_000, memory_large=200_000, memory_runs=2, cpu_media=20_000, cpu_span_days=18,
              backfill_media=5_000, runs=3, cpu_runs=5)  # fmt: skip


def start_emulator(
    media: int, faults: list[dict[str, Any]] | None = None, span_days: int | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """One account of ``media`` media over the emulator's 90 days, or over ``span_days`` (then reseeded through
    the control API, the rest of the configuration kept)."""
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--accounts", "1",
               "--media", str(0 if span_days else media), "--no-media-cap", "--rate-limit-budget", "0", "--seed", "5",
               "--faults", json.dumps(faults or [])]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    seed: dict[str, Any] = json.loads(process.stdout.readline())
    if span_days:
        answer = requests.post(f"{seed['base_url']}/_emulator/reset", json={"media": media, "span_days": span_days},
                               timeout=300)  # fmt: skip
        answer.raise_for_status()
        seed = answer.json()
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


def memory(sizes: Sizes) -> bool:
    small = [child_peak_rss(sizes.memory_small) for _ in range(sizes.memory_runs)]
    large = [child_peak_rss(sizes.memory_large) for _ in range(sizes.memory_runs)]
    ratio = statistics.median(large) / statistics.median(small)
    ok = ratio <= MEMORY_TARGET
    print(f"memory: peak RSS exporting {sizes.memory_large:,} media {statistics.median(large):.0f} MiB | "
          f"{sizes.memory_small:,} media {statistics.median(small):.0f} MiB | median of {sizes.memory_runs} processes "
          f"each | ratio {ratio:.2f} (target <= {MEMORY_TARGET}) {'PASS' if ok else 'FAIL'} | runs "
          f"{', '.join(f'{v:.0f}' for v in large)} / {', '.join(f'{v:.0f}' for v in small)}")  # fmt: skip
    return ok


# ---------------------------------------------------------------------------------------------------- CPU
def cpu(sizes: Sizes) -> bool:
    runs, media = sizes.cpu_runs or sizes.runs, sizes.cpu_media
    process, seed = start_emulator(media, span_days=sizes.cpu_span_days)
    ours, bare, calls, partitions = [], [], 0, 0
    try:
        with tempfile.TemporaryDirectory() as directory:  # warm-up, not counted: imports and first-call caches
            export(everything(), directory)
            baseline(seed, directory)
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as directory:
                started = time.process_time()
                summary = export(everything(), directory)
                ours.append(time.process_time() - started)
                calls, partitions = summary.api_calls, summary.partitions
            with tempfile.TemporaryDirectory() as directory:
                started = time.process_time()
                count = baseline(seed, directory)
                bare.append(time.process_time() - started)
            assert count == media
    finally:
        stop(process)
    ratio = statistics.median(ours) / statistics.median(bare)
    minimum = InstagramHook.calls_for(media)
    ok = ratio <= CPU_TARGET and calls == minimum
    scale = 100_000 / media
    print(f"CPU per 100k media to Parquet ({media:,} media, {partitions} day partitions), median of {runs}: "
          f"ours {statistics.median(ours) * scale:.2f}s | bare requests+json+pyarrow "
          f"{statistics.median(bare) * scale:.2f}s | ratio {ratio:.2f} (target <= {CPU_TARGET}) | API calls "
          f"{calls:,} (target: the minimum, {minimum:,}) | {'PASS' if ok else 'FAIL'} | runs "
          f"{', '.join(f'{v:.2f}' for v in ours)} / {', '.join(f'{v:.2f}' for v in bare)}")  # fmt: skip
    return ok


# ---------------------------------------------------------------------------------------------------- backfill
def backfill(sizes: Sizes) -> bool:
    runs, media = sizes.runs, sizes.backfill_media
    faults = [{"endpoint": "media_edge", "probability": 1.0, "fault": {"kind": "latency", "ms": LATENCY_MS}}]
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
    ok = (ratio <= BACKFILL_TARGET and one.rows == many.rows and one.api_calls == minimum
          and many.api_calls <= one.api_calls + many.slices - 1)  # fmt: skip
    print(f"backfill of {media:,} media, {LATENCY_MS} ms per media page, median of {runs}: sliced "
          f"{statistics.median(walls[8]):.1f}s ({many.slices} slices, {many.api_calls} calls) | sequential walk "
          f"{statistics.median(walls[1]):.1f}s ({one.api_calls} calls, minimum {minimum}) | ratio {ratio:.2f} "
          f"(target <= {BACKFILL_TARGET}) | rows {many.rows:,} = {one.rows:,} | "
          f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    return ok


def main() -> int:
    if sys.argv[1:2] == ["_export_child"]:
        export_child(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI sizes (see above); the same targets")
    parser.add_argument("--runs", type=int, help="runs of every part (default 3; quick: 3, memory 2)")
    parser.add_argument("--memory-runs", type=int, help="fresh processes per size for peak RSS (default: --runs)")
    parser.add_argument("--part", choices=["memory", "cpu", "backfill", "all"], default="all")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.runs is not None:
        sizes = dataclasses.replace(sizes, runs=args.runs, memory_runs=args.runs, cpu_runs=args.runs)
    if args.memory_runs is not None:
        sizes = dataclasses.replace(sizes, memory_runs=args.memory_runs)
    print(f"{'quick' if args.quick else 'full'} run: {sizes.describe()}")
    parts = {"memory": memory, "cpu": cpu, "backfill": backfill}
    chosen = list(parts) if args.part == "all" else [args.part]
    results = [parts[name](sizes) for name in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
