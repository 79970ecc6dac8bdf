"""How the bundled token refresh and media export scale with Celery workers: accounts per minute with 1, then 2
workers, on the distributed test's deployment (tests/support/celery_cluster.py: CeleryExecutor, Redis, PostgreSQL,
S3 on moto, every worker with a home of its own), against the emulator with a latency on every Instagram call.

Each run is timed by Airflow itself (the DAG run's start and end dates). Before each refresh the accounts are
onboarded again, connected days ago, so that every run refreshes every token. The export reads each account's
last day plus one day of lookback and loads the warehouse (one account at a time, as the bundled DAG does).

    .venv/bin/python benchmarks/celery_scaling.py --accounts 16 --media 30 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the deployment is the distributed test's own (tests/support)

from airflow_provider_instagram.dag_files import EXPORT_DAG_ID, REFRESH_DAG_ID  # noqa: E402
from airflow_provider_instagram.emulator import InstagramEmulator  # noqa: E402
from airflow_provider_instagram.local_airflow import PostgresServer  # noqa: E402
from tests.support.celery_cluster import Cluster, celery_cluster, onboard_accounts  # noqa: E402
from tests.support.s3_server import S3Server  # noqa: E402


@dataclass
class RunTiming:
    """One DAG run, timed by Airflow's own dates.

    :param seconds: the run, start to end.
    :param phases: per task id, seconds from its first start to its last end (a mapped task's instances together).
    :param places: task attempts per worker.
    :param calls: Instagram calls of the run.
    """

    seconds: float
    phases: dict[str, float]
    places: Counter[str]
    calls: int


def _phases(task_instances: list[dict[str, Any]]) -> dict[str, float]:
    spans: dict[str, tuple[datetime, datetime]] = {}
    for ti in task_instances:
        if not ti.get("start_date") or not ti.get("end_date"):
            continue
        start, end = datetime.fromisoformat(ti["start_date"]), datetime.fromisoformat(ti["end_date"])
        first, last = spans.get(ti["task_id"], (start, end))
        spans[ti["task_id"]] = (min(first, start), max(last, end))
    return {task_id: (end - start).total_seconds() for task_id, (start, end) in spans.items()}


def timed_run(cluster: Cluster, dag_id: str, conf: dict[str, Any]) -> RunTiming:
    """Trigger and wait for a run of ``dag_id``; how long it and its tasks took, where they ran, what it called."""
    airflow = cluster.airflow
    airflow.wait_for_dag(dag_id)
    cluster.emulator.reset_calls()
    run_id = airflow.trigger(dag_id, conf, logical_date=cluster.emulator.now())
    state = airflow.wait_for_run(dag_id, run_id, timeout=900)
    if state != "success":
        raise SystemExit(f"{dag_id} {run_id} ended {state}:\n{airflow.failed_task_logs(dag_id, run_id)}")
    run = airflow.call("GET", airflow.run_path(dag_id, run_id))
    seconds = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
    places: Counter[str] = Counter()
    task_instances = airflow.task_instances(dag_id, run_id)
    for ti in task_instances:
        for path in airflow.task_attempt_logs(dag_id, run_id, ti["task_id"], ti["map_index"]).values():
            places[cluster.worker_of(path)] += 1
    return RunTiming(seconds, _phases(task_instances), places, sum(cluster.emulator.calls().values()))


def measure(cluster: Cluster, runs: int, batch_size: int) -> dict[str, Any]:
    accounts = len(cluster.seed["accounts"])
    refresh, export = [], []
    for _ in range(runs):
        onboard_accounts(cluster, days_ago=3)
        refresh.append(timed_run(cluster, REFRESH_DAG_ID, {"batch_size": batch_size}))
        export.append(timed_run(cluster, EXPORT_DAG_ID, {"lookback_days": 1}))
    places = sum((t.places for t in [*refresh, *export]), Counter())

    def median(timings: list[RunTiming], phase: str | None = None) -> float:
        return statistics.median(t.phases.get(phase, 0.0) if phase else t.seconds for t in timings)

    return {
        "refresh_s": median(refresh), "export_s": median(export),
        "export_media_s": median(export, "export_media"), "load_warehouse_s": median(export, "load_warehouse"),
        "refresh_per_min": accounts * 60 / median(refresh), "export_per_min": accounts * 60 / median(export),
        "export_media_per_min": accounts * 60 / median(export, "export_media"),
        "load_per_min": accounts * 60 / median(export, "load_warehouse"), "tasks_on": dict(places),
        "calls_per_account": {"refresh": refresh[-1].calls / accounts, "export": export[-1].calls / accounts},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--media", type=int, default=30, help="media per account")
    parser.add_argument("--runs", type=int, default=3, help="runs per DAG and worker count (the median is shown)")
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per worker")
    parser.add_argument("--batch-size", type=int, default=4, help="the refresh's accounts per mapped task")
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every Instagram call")
    args = parser.parse_args()

    results = {}
    with (
        PostgresServer() as postgres, S3Server() as s3, InstagramEmulator() as emulator,
        tempfile.TemporaryDirectory(prefix="celery-scaling-") as root,
        celery_cluster(emulator.url, s3, postgres, Path(root), workers=("w1",), concurrency=args.concurrency,
                       accounts=args.accounts, media=args.media) as cluster,
    ):  # fmt: skip
        cluster.emulator.add_faults({"endpoint": "*", "probability": 1.0,
                                     "fault": {"kind": "latency", "ms": args.latency_ms}})  # fmt: skip
        results["1 worker"] = measure(cluster, args.runs, args.batch_size)
        cluster.add_workers(("w2",), args.concurrency)
        results["2 workers"] = measure(cluster, args.runs, args.batch_size)

    print(f"Celery scaling: {args.accounts} accounts x {args.media} media, {args.concurrency} slots per worker, "
          f"refresh batches of {args.batch_size}, +{args.latency_ms} ms per Instagram call; medians of {args.runs} "
          "runs (2 cores)")  # fmt: skip
    print("accounts per minute (seconds), by DAG run and, for the export, by its two mapped phases:")
    columns = (("refresh", "refresh"), ("export run", "export"), ("export_media", "export_media"),
               ("load_warehouse", "load"))  # fmt: skip
    print(f"{'workers':<10}" + "".join(f"{title:>18}" for title, _ in columns) + "  tasks on")
    for name, r in results.items():
        cells = []
        for _, key in columns:
            seconds = r[f"{key}_s"] if key != "load" else r["load_warehouse_s"]
            cells.append(f"{r[f'{key}_per_min']:>9.0f} ({seconds:5.1f} s)")
        print(f"{name:<10}" + "".join(f"{cell:>18}" for cell in cells) + f"  {r['tasks_on']}")
    one, two = results["1 worker"], results["2 workers"]
    print(f"Instagram calls per account and run: {one['calls_per_account']}")
    ratios = ", ".join(f"{title} {two[f'{key}_per_min'] / one[f'{key}_per_min']:.2f}x" for title, key in columns)
    print(f"ratio 2 workers / 1 worker (accounts per minute): {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
