"""Warehouse load benchmark on a real PostgreSQL server: rows per second of the ``COPY`` + merge path against the
generic ``executemany`` path, and peak memory against the number of rows loaded.

Run: ``python benchmarks/warehouse_load.py [--media 200000] [--runs 3]`` from the repository root (the full run,
``make bench``), or ``--quick`` for CI (below); PostgreSQL's server binaries must be installed (``apt-get install -y
postgresql``; ``make test`` does this). It starts a throwaway PostgreSQL cluster on loopback
(``airflow_provider_instagram.local_airflow.PostgresServer``), writes one account's export in the real layout
(``media/user_id=<id>/dt=<day>/part-00000.parquet``, ``--per-day`` media a day, carousel children included, and
one profile part) to a temporary directory, and loads it the operator's way (``ExportedParts`` +
``part_batches`` + ``WarehouseLoader`` with ``dialect_of`` the psycopg2 connection), medians of ``--runs`` runs:

- first load into empty tables (dropped before each run: the load creates them, so the staged rows go in with a
  plain ``INSERT``) and a rerun of the same window (the merge, every row an update), in rows per second
  (target: first load >= 20,000 rows/s);
- the baseline in the same run: the same loader with ``bulk="executemany"`` (psycopg2's ``executemany``) on a
  smaller export (``--baseline-media``, so the benchmark stays short), with our path on that same export for a
  like-for-like ratio;
- memory: peak RSS of a fresh process loading ``--media`` rows against one loading ``--baseline-media`` rows
  (``--memory-media`` and ``--memory-baseline-media`` choose other sizes; ``--memory-runs`` each, default 1; target
  ratio <= 1.3: memory is bounded by the batches).

``--quick`` checks the same targets with the same ratios and exit code, on smaller sizes where they still mean
the same: the first load and the rerun on 50,000 rows (day parts of 1,000 rows, as in the full run; the target is
a rate, measured on this 2-core machine at about 69,000 rows/s on 50,000 rows against 71,000 on 200,000), the
``executemany`` baseline and ours like for like on 5,000 rows, 3 runs each. Memory keeps the full sizes, 200,000
against 20,000 rows, one fresh process each as in the full run: the target guards against memory growing with the
rows loaded, and that growth only shows at that size (ratio 1.04 for 50,000 against 5,000 rows, 1.17 for 200,000
against 20,000). Sizes given on the command line win over either mode's.

The window is every exported day (full snapshot, ``days=None``) or, with ``--window days``, the same days
given explicitly. Exits 1 when a target is missed or a load's row counts are wrong.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.export.formats import open_writer
from airflow_provider_instagram.export.partitions import part_name, partition_dir
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.schema import MEDIA_SCHEMA, PROFILE_SCHEMA, TIMESTAMP, profile_row
from airflow_provider_instagram.warehouse.dialects import POSTGRESQL, Dialect, dialect_of
from airflow_provider_instagram.warehouse.load import TableBatches, TableLoad, WarehouseLoader
from airflow_provider_instagram.warehouse.source import ExportedParts, part_batches
from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec

USER_ID = "17841400000000123"
USERNAME = "benchmark.account"
LAST_DAY = date(2026, 1, 31)  # fixed: the fixture is the same on every run and machine
EXPORTED_AT = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
FIRST_LOAD_TARGET = 20_000  # rows/s
MEMORY_TARGET = 1.3
FULL = {"media": 200_000, "baseline_media": 20_000, "memory_media": None, "memory_baseline_media": None}
QUICK = {"media": 50_000, "baseline_media": 5_000, "memory_media": 200_000, "memory_baseline_media": 20_000}
"""Each mode's sizes; the memory part's ``None``: the same exports as the speed part's (no extra fixture)."""
WORDS = ("sunset", "coffee", "weekend", "new", "drop", "studio", "behind", "the", "scenes", "with", "our", "team",
         "launch", "today", "Zürich", "café", "#travel", "#design", "#latergram", "@friend", "🌅", "✨", "—", "and",
         'the "best"', "one,", "so", "far!", "link", "in", "bio")  # fmt: skip
SHORTCODE_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", np.uint8)


# ---------------------------------------------------------------------------------------------------- fixture
def caption(rng: random.Random) -> str:
    """About 100 characters, with non-ASCII, quotes, commas and now and then a line break (CSV must cope)."""
    text = ""
    while len(text) < 95:
        text += rng.choice(WORDS) + ("\n" if rng.random() < 0.03 else " ")
    return text.strip()


def media_rows(media: int, per_day: int, seed: int) -> pa.Table:
    """``media`` rows of :data:`MEDIA_SCHEMA`, ``per_day`` a day back from :data:`LAST_DAY`, newest first (the
    export's order); one item in eight an album whose children (up to 3, ``parent_id`` and ``position``, the
    album's timestamp) follow it in the same day. Built column-wise, so 200,000 rows take a second or two."""
    rng, py_rng = np.random.default_rng(seed), random.Random(seed)
    day = np.arange(media) // per_day
    parent, position = np.full(media, -1, np.int64), np.full(media, -1, np.int32)
    albums = (rng.random(media) < 0.125).tolist()
    i = 0
    while i < media:
        children = min(3, min((i // per_day + 1) * per_day, media) - i - 1) if albums[i] else 0
        if children:
            parent[i + 1 : i + 1 + children] = i
            position[i + 1 : i + 1 + children] = np.arange(children)
        i += children + 1
    child = parent >= 0
    album = np.zeros(media, bool)
    album[parent[child]] = True
    seconds = rng.integers(0, 86_400, media)
    seconds = seconds[np.lexsort((-seconds, day))]  # newest first within each day
    seconds[child] = seconds[parent[child]]
    last = int(datetime.combine(LAST_DAY, datetime.min.time(), UTC).timestamp())
    timestamps = pa.array((last - day * 86_400 + seconds) * 1_000_000, TIMESTAMP)
    ids = pc.cast(pa.array(17_900_000_000_000_000 + np.cumsum(rng.integers(1, 1_000, media))), pa.string())
    kinds = np.where(album, 2, np.where(rng.random(media) < 1 / 3, 1, 0))  # 17 digits, like the emulator's
    media_type = pa.DictionaryArray.from_arrays(pa.array(kinds, pa.int8()), ["IMAGE", "VIDEO", "CAROUSEL_ALBUM"])
    product = pa.DictionaryArray.from_arrays(pa.array(np.where(rng.random(media) < 1 / 3, 1, 0), pa.int8(),
                                                      mask=child), ["FEED", "REELS"])  # fmt: skip
    pool = pa.array([caption(py_rng) for _ in range(4_096)])
    captions = pool.take(pa.array(rng.integers(0, len(pool), media), mask=child))
    codes = SHORTCODE_ALPHABET[rng.integers(0, len(SHORTCODE_ALPHABET), (media, 11))].view("S11").ravel()
    shortcodes = pa.array(codes).cast(pa.string())
    cdn = "https://scontent.cdninstagram.com/v/t51.29350-15/"
    video = pa.array(kinds == 1)
    nulls = pa.nulls(media)
    columns: dict[str, Any] = {
        "id": ids, "user_id": pa.repeat(USER_ID, media), "username": pa.repeat(USERNAME, media),
        "media_type": media_type.cast(pa.string()), "media_product_type": product.cast(pa.string()),
        "caption": captions,
        "permalink": pc.if_else(pa.array(child), nulls,
                                pc.binary_join_element_wise("https://www.instagram.com/p/", shortcodes, "/", "")),
        "media_url": pc.binary_join_element_wise(cdn, ids, "_n.jpg?stp=dst-jpg_e35&_nc_ht=scontent.cdninstagram.com",
                                                 ""),
        "thumbnail_url": pc.if_else(video, pc.binary_join_element_wise(cdn, ids, "_t.jpg", ""), nulls),
        "timestamp": timestamps,
        "like_count": pa.array((rng.pareto(1.2, media) * 20).astype(np.int64), mask=child),
        "comments_count": pa.array(rng.integers(0, 400, media), mask=child), "shortcode": shortcodes,
        "is_comment_enabled": pa.array(rng.random(media) < 0.95, mask=child),
        "parent_id": ids.take(pa.array(parent, mask=~child)), "position": pa.array(position, mask=~child),
        "exported_at": pa.repeat(pa.scalar(EXPORTED_AT, TIMESTAMP), media), "api_version": pa.repeat("v25.0", media),
    }  # fmt: skip
    return pa.Table.from_arrays([columns.get(f.name, nulls).cast(f.type) for f in MEDIA_SCHEMA], schema=MEDIA_SCHEMA)


def write_export(root: Path, media: int, per_day: int, seed: int = 7) -> list[date]:
    """One account's export of ``media`` rows in day parts, and one profile part; its days, newest first."""
    rows = media_rows(media, per_day, seed)
    days = [LAST_DAY - timedelta(days=n) for n in range(-(-media // per_day))]
    for n, day in enumerate(days):
        write_part(root, "media", day, rows.slice(n * per_day, per_day))
    profile = {"id": USER_ID, "user_id": "17841490000000456", "username": USERNAME, "name": "Benchmark",
               "account_type": "BUSINESS", "biography": caption(random.Random(seed)), "website": "https://example.com",
               "profile_picture_url": "https://scontent.cdninstagram.com/p.jpg", "followers_count": 12_345,
               "follows_count": 321, "media_count": media}  # fmt: skip
    row = profile_row(profile, exported_at=EXPORTED_AT, api_version="v25.0")
    write_part(root, "profiles", LAST_DAY, pa.Table.from_pylist([row], schema=PROFILE_SCHEMA))
    return days


def write_part(root: Path, table_name: str, day: date, table: pa.Table) -> None:
    directory = root / partition_dir(table_name, USER_ID, day)
    directory.mkdir(parents=True)
    with open(directory / part_name(0, "parquet"), "wb") as sink:
        writer = open_writer("parquet", sink, table.schema)
        writer.write(table)
        writer.close()


# ---------------------------------------------------------------------------------------------------- loading
def connect(port: int) -> Any:
    import psycopg2  # type: ignore[import-untyped]

    return psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="warehouse")


def drop_tables(port: int) -> None:
    conn = connect(port)
    try:
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS instagram_media, instagram_profiles")
        conn.commit()
    finally:
        conn.close()


def load(port: int, root: Path, days: list[date] | None, batch_rows: int, bulk: str | None = None) -> list[TableLoad]:
    """One load, as ``InstagramExportToSqlOperator.execute`` does it (``days``: ``None`` for a full snapshot)."""
    if days is None:
        window = ExportWindow.covering(None, datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time()))
    else:
        window = ExportWindow(min(days), max(days))
    exported = ExportedParts(ObjectStoragePath(f"file://{root}"), USER_ID)
    media, profiles = media_table_spec(), profile_table_spec()
    media_parts = exported.parts("media", window, required=True)
    profile_parts = exported.parts("profiles", window, required=False)
    window_days = None if window.first_day is None else tuple(window.days())
    connection = connect(port)
    try:
        dialect: Dialect = dialect_of(connection)
        if bulk is not None:
            dialect = dataclasses.replace(dialect, bulk=bulk)
        assert dialect.name == POSTGRESQL.name and (bulk or dialect.bulk == "copy"), dialect
        return WarehouseLoader(connection, dialect).load(
            USER_ID,
            [
                TableBatches(media, part_batches(media_parts, media.schema, batch_rows), window_days),
                TableBatches(profiles, part_batches(profile_parts, profiles.schema, batch_rows)),
            ],
        )
    finally:
        connection.close()


def timed_load(port: int, root: Path, days: list[date] | None, batch_rows: int, rows: int, bulk: str | None = None,
               update: bool = False) -> float:  # fmt: skip
    """Rows per second of one load; checks what the load reports (all rows inserted, or all updated)."""
    started = time.monotonic()
    media, profiles = load(port, root, days, batch_rows, bulk)
    seconds = time.monotonic() - started
    expected = (rows, 0, rows, () if update else tuple(media_table_spec().columns))
    got = (media.rows, media.deleted, media.user_rows, media.columns_added)
    if got != expected or profiles.user_rows != 1:
        raise AssertionError(f"load reported {got} and {profiles.user_rows} profile(s), expected {expected} and 1")
    return rows / seconds


def check_content(port: int, rows: int) -> None:
    """The table holds the export's rows, captions (quotes, commas, line breaks, non-ASCII) intact."""
    conn = connect(port)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), COUNT(DISTINCT id), COUNT(parent_id), COUNT(caption), "
                           "SUM(length(caption)), MIN(timestamp), MAX(timestamp) FROM instagram_media")  # fmt: skip
            count, distinct, children, captions, chars, low, high = cursor.fetchone()
    finally:
        conn.close()
    assert count == distinct == rows and children > 0 and captions == rows - children, (count, children, captions)
    assert low.date() <= LAST_DAY and high.date() == LAST_DAY and chars > 90 * captions, (low, high, chars)


# ---------------------------------------------------------------------------------------------------- memory
def child_peak_rss(port: int, root: Path, media: int, batch_rows: int, days: bool) -> tuple[float, float]:
    """Load the export under ``root`` (``media`` rows) into empty tables in a fresh process: the peak RSS of
    the load itself and of the whole process (imports included), MiB."""
    drop_tables(port)
    command = [sys.executable, __file__, "_load_child", str(port), str(root), str(media), str(batch_rows),
               "days" if days else "full"]  # fmt: skip
    out = json.loads(
        subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    )
    return float(out["load_peak_mib"]), float(out["process_peak_mib"])


def vm_hwm_mib() -> float:
    """This process's peak RSS (``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def load_child(port: int, root: Path, media: int, batch_rows: int, window: str) -> None:
    days = sorted(date.fromisoformat(d.name[3:]) for d in (root / "media" / f"user_id={USER_ID}").iterdir())
    process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports done
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current RSS: the load's own peak follows
    timed_load(port, root, days if window == "days" else None, batch_rows, media)
    load_peak = vm_hwm_mib()
    print(json.dumps({"load_peak_mib": load_peak, "process_peak_mib": max(process_peak, load_peak), "rows": media}))


# ---------------------------------------------------------------------------------------------------- main
def median(values: list[float]) -> float:
    return statistics.median(values)


def listed(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def speed(args: argparse.Namespace, port: int, big: tuple[Path, list[date] | None],
          small: tuple[Path, list[date] | None]) -> bool:  # fmt: skip
    """Rows per second: first load and rerun of ``big``; the baseline and ours on ``small``; run by run."""
    first, rerun, base, ours_small = [], [], [], []
    for _ in range(args.runs):
        drop_tables(port)
        first.append(timed_load(port, *big, args.batch_rows, args.media))
        check_content(port, args.media)
        rerun.append(timed_load(port, *big, args.batch_rows, args.media, update=True))
        drop_tables(port)
        base.append(timed_load(port, *small, args.batch_rows, args.baseline_media, bulk="executemany"))
        check_content(port, args.baseline_media)
        drop_tables(port)
        ours_small.append(timed_load(port, *small, args.batch_rows, args.baseline_media))
    ok = median(first) >= FIRST_LOAD_TARGET
    print(f"first load of {args.media:,} rows into empty tables (COPY), median of {args.runs}: {median(first):,.0f} "
          f"rows/s (target >= {FIRST_LOAD_TARGET:,}) {'PASS' if ok else 'FAIL'} | ratio ours/baseline "
          f"{median(first) / median(base):.1f}x | runs {listed(first)}")  # fmt: skip
    print(f"rerun of the same window (COPY + merge, every row an update), median of {args.runs}: "
          f"{median(rerun):,.0f} rows/s | runs {listed(rerun)}")  # fmt: skip
    print(f"baseline (executemany) first load of {args.baseline_media:,} rows, median of {args.runs}: "
          f"{median(base):,.0f} rows/s | runs {listed(base)}")  # fmt: skip
    print(f"ratio ours/baseline: {median(first) / median(base):.1f}x (our {args.media:,}-row load); like for like "
          f"on the {args.baseline_media:,} rows: ours {median(ours_small):,.0f} rows/s, "
          f"{median(ours_small) / median(base):.1f}x")  # fmt: skip
    return ok


def memory(args: argparse.Namespace, port: int, big: Path, small: Path) -> bool:
    """Peak RSS of the load of ``big`` (``--memory-media`` rows) against ``small``, each in a fresh process."""
    if args.memory_runs < 1:
        print("memory: skipped (--memory-runs 0)")
        return True
    days = args.window == "days"
    large = [child_peak_rss(port, big, args.memory_media, args.batch_rows, days) for _ in range(args.memory_runs)]
    little = [child_peak_rss(port, small, args.memory_baseline_media, args.batch_rows, days)
              for _ in range(args.memory_runs)]  # fmt: skip
    load_large, load_little = median([v[0] for v in large]), median([v[0] for v in little])
    ratio = load_large / load_little
    ok = ratio <= MEMORY_TARGET
    print(f"memory: peak RSS during the load of {args.memory_media:,} rows {load_large:.0f} MiB | of "
          f"{args.memory_baseline_media:,} rows {load_little:.0f} MiB | ratio {ratio:.2f} (target <= {MEMORY_TARGET}) "
          f"{'PASS' if ok else 'FAIL'} | whole process, imports included: {median([v[1] for v in large]):.0f} / "
          f"{median([v[1] for v in little]):.0f} MiB | a fresh process each, {args.memory_runs} run(s) per size "
          "(--memory-runs)")  # fmt: skip
    return ok


def main() -> int:
    if sys.argv[1:2] == ["_load_child"]:
        port, root, media, batch_rows, window = sys.argv[2:7]
        load_child(int(port), Path(root), int(media), int(batch_rows), window)
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI sizes (see above); the same targets")
    parser.add_argument("--media", type=int, help="media rows of the account, carousel children too (200,000; "
                        "quick 50,000)")  # fmt: skip
    parser.add_argument("--per-day", type=int, default=1_000, help="media rows per day partition")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-media", type=int, help="rows of the baseline's (smaller) export (20,000; "
                        "quick 5,000)")  # fmt: skip
    parser.add_argument("--memory-media", type=int, help="rows of the memory part's large load (default: --media; "
                        "quick 200,000)")  # fmt: skip
    parser.add_argument("--memory-baseline-media", type=int, help="rows of the memory part's small load (default: "
                        "--baseline-media; quick 20,000)")  # fmt: skip
    parser.add_argument("--memory-runs", type=int, default=1, help="fresh processes per size for peak RSS (0: skip)")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="the operator's batch_rows")
    parser.add_argument("--window", choices=["full", "days"], default="full",
                        help="full snapshot (days=None) or every exported day given explicitly")  # fmt: skip
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.memory_media = args.memory_media or args.media
    args.memory_baseline_media = args.memory_baseline_media or args.baseline_media
    print(f"{'quick' if args.quick else 'full'} run: first load and rerun of {args.media:,} rows, baseline "
          f"{args.baseline_media:,} rows, {args.runs} runs | memory {args.memory_media:,} against "
          f"{args.memory_baseline_media:,} rows, {args.memory_runs} fresh process(es) each")  # fmt: skip
    started = time.monotonic()
    from airflow_provider_instagram.local_airflow import PostgresServer

    server = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="instagram-warehouse-bench-") as directory:
            big, small = Path(directory) / "big", Path(directory) / "small"
            fixture_started = time.monotonic()
            big_days = write_export(big, args.media, args.per_day)
            small_days = write_export(small, args.baseline_media, args.per_day, seed=11)
            memory_big, memory_small = big, small
            if args.memory_media != args.media:
                memory_big = Path(directory) / "memory-big"
                write_export(memory_big, args.memory_media, args.per_day)
            if args.memory_baseline_media != args.baseline_media:
                memory_small = Path(directory) / "memory-small"
                write_export(memory_small, args.memory_baseline_media, args.per_day, seed=11)
            explicit = args.window == "days"
            print(f"fixture: {args.media:,} media rows in {len(big_days)} day parts (+ {args.baseline_media:,} for "
                  f"the baseline), Parquet, written in {time.monotonic() - fixture_started:.1f}s | PostgreSQL "
                  f"{server.bin.parent.name} on 127.0.0.1 | window: {'explicit days' if explicit else 'full snapshot'}"
                  f" | batch_rows {args.batch_rows:,}"
                  + (f" | memory part: {args.memory_media:,} and {args.memory_baseline_media:,} rows"
                     if (memory_big, memory_small) != (big, small) else ""))  # fmt: skip
            ok = speed(args, server.port, (big, big_days if explicit else None),
                       (small, small_days if explicit else None))  # fmt: skip
            ok = memory(args, server.port, memory_big, memory_small) and ok
    finally:
        server.stop()
    print(f"{'PASS' if ok else 'FAIL'}: total wall time {time.monotonic() - started:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
