"""Token refresh at scale: the bundled DAG refreshing 1,000 accounts under a real scheduler, against the emulator.

Run: ``python benchmarks/token_refresh.py [--accounts 1000] [--runs 3]`` from the repository root. It starts the
emulator (own process) and a throwaway Airflow (API server, scheduler with LocalExecutor, DAG processor, on
SQLite, or with ``--metadata-db postgres`` on a PostgreSQL server on loopback), imports the accounts as
connections whose tokens are two days old, moves the emulator clock on, and
triggers ``instagram_token_refresh``. Per run it prints the DAG run's wall time, the Instagram calls and the
Airflow REST calls (from the API server's access log), and, side by side, a baseline measured in the same run:
the same per-account work (one refresh call, one PATCH) done by a plain sequential loop with no Airflow around
it. Exits 1 when a target is missed: wall time above 60 s, or more than one Instagram call and one write-back
per account.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from airflow_provider_instagram.account.record import format_time
from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer

REPO = Path(__file__).resolve().parent.parent

DAG_ID = "instagram_token_refresh"
DAY = 86_400
TARGET_SECONDS = 60.0
# Small bulk calls: each holds SQLite's write lock while Airflow masks every new password (see docs/deployment.md).
SEED_CHUNK = 25
ACCESS = re.compile(r"method=(\w+) path=(\S+)")


def start_emulator(accounts: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--accounts", str(accounts),
               "--media", "0", "--rate-limit-budget", "0", "--seed", "11"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def control(seed: dict[str, Any], method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return requests.request(method, f"{seed['base_url']}/_emulator/{path}", json=body, timeout=60).json()


def put_connections(server: LocalAirflow, seed: dict[str, Any], action: str) -> list[str]:
    """Every account as an ``instagram`` connection whose token was refreshed two days ago (REST bulk calls).

    ``action`` is ``create`` (first time) or ``update`` (make them two days old again before the next run).
    """
    now = datetime.now(UTC)
    entities = [
        {
            "connection_id": f"ig_bench_{i:04d}", "conn_type": "instagram", "host": seed["graph_url"],
            "login": seed["client_id"], "password": account["access_token"],
            "extra": json.dumps({
                "client_secret": seed["client_secret"], "user_id": account["user_id"],
                "professional_account_id": account["professional_account_id"],
                "username": account["username"], "refreshed_at": format_time(now - timedelta(days=2)),
                "expires_at": format_time(now + timedelta(days=58)),
            }),
        }
        for i, account in enumerate(seed["accounts"])
    ]  # fmt: skip
    for start in range(0, len(entities), SEED_CHUNK):
        body = {"actions": [{"action": action, "entities": entities[start : start + SEED_CHUNK]}]}
        answer = server.request("PATCH", "/api/v2/connections", json=body, timeout=1800)
        result = answer.json()[action]
        if answer.status_code != 200 or result["errors"]:
            raise RuntimeError(f"bulk {action} of connections failed: {answer.status_code} {result['errors']}")
    return [e["connection_id"] for e in entities]


def rest_calls(server: LocalAirflow, since_line: int) -> tuple[dict[str, int], int]:
    """Public REST calls after ``since_line`` of the API server's access log, by kind; and the new line count."""
    lines = server.log_of("api-server").read_text(errors="replace").splitlines()
    counts = {"patch": 0, "bulk": 0, "list": 0, "auth": 0}
    for line in lines[since_line:]:
        found = ACCESS.search(line)
        if not found:
            continue
        method, path = found.groups()
        if method == "PATCH" and path.startswith("/api/v2/connections/"):
            counts["patch"] += 1
        elif method == "PATCH" and path == "/api/v2/connections":
            counts["bulk"] += 1
        elif method == "GET" and path == "/api/v2/connections":
            counts["list"] += 1
        elif method == "POST" and path == "/auth/token":
            counts["auth"] += 1
    return counts, len(lines)


def dag_run(server: LocalAirflow, conf: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    run_id = server.trigger(DAG_ID, conf=conf)
    state = server.wait_for_run(DAG_ID, run_id, timeout=600)
    wall = time.monotonic() - started
    report = server.xcom(DAG_ID, run_id, "health_report")
    print("  tasks: " + "; ".join(_timing(ti) for ti in server.task_instances(DAG_ID, run_id)), flush=True)
    if state != "success":
        raise RuntimeError(f"the refresh run ended {state}: {report.get('attention')}")
    return wall, report


def _timing(ti: dict[str, Any]) -> str:
    """``task[map]: queued->start s + run s``, from the task instance's own timestamps."""

    def at(key: str) -> datetime | None:
        return datetime.fromisoformat(ti[key].replace("Z", "+00:00")) if ti.get(key) else None

    queued, start, end = at("queued_when"), at("start_date"), at("end_date")
    wait = f"{(start - queued).total_seconds():.1f}" if start and queued else "?"
    run = f"{(end - start).total_seconds():.1f}" if end and start else "?"
    index = f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else ""
    return f"{ti['task_id']}{index} wait {wait}s run {run}s"


def baseline(server: LocalAirflow, seed: dict[str, Any], conn_ids: list[str]) -> float:
    """The same per-account work with no Airflow around it: one refresh call and one PATCH each, in sequence."""
    client = AirflowApiClient(server.base_url, server.username, server.password)
    graph = requests.Session()
    started = time.monotonic()
    for conn_id, account in zip(conn_ids, seed["accounts"], strict=True):
        answer = graph.get(f"{seed['graph_url']}/refresh_access_token",
                           params={"grant_type": "ig_refresh_token", "access_token": account["access_token"]},
                           timeout=60)  # fmt: skip
        answer.raise_for_status()
        extra = json.dumps({"client_secret": seed["client_secret"], "status": "ok",
                            "refreshed_at": format_time(datetime.now(UTC))})  # fmt: skip
        client.patch_connection(conn_id, "instagram", {"password": answer.json()["access_token"], "extra": extra})
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-home", action="store_true", help="keep the Airflow home (logs) for reading")
    parser.add_argument("--batch-size", default="",
                        help="the DAG's batch_size param (default: its own); a comma list such as 10,20,50 runs "
                             "--runs runs of each on the same seeded Airflow and reports each median")  # fmt: skip
    parser.add_argument("--metadata-db", choices=["sqlite", "postgres"], default="sqlite",
                        help="Airflow's metadata database: SQLite in the home, or a PostgreSQL server on loopback "
                             "(Debian's packages) as production deployments use")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="CI's size: 200 accounts, 3 runs, on PostgreSQL (the same targets)")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.runs, args.metadata_db = 200, 3, "postgres"
    postgres = PostgresServer("airflow").start() if args.metadata_db == "postgres" else None
    emulator, seed = start_emulator(args.accounts)
    settings = {"api": {"workers": os.environ.get("BENCH_API_WORKERS", "1")},
                "dag_processor": {"min_file_process_interval": "600"}}  # fmt: skip
    server = LocalAirflow(dags_folder=REPO / "dags", settings=settings,
                          database_url=postgres.sqlalchemy_url() if postgres else None)  # fmt: skip
    api_conn = {"conn_type": "http", "host": server.base_url, "login": server.username, "password": server.password}
    server.env["AIRFLOW_CONN_AIRFLOW_API_DEFAULT"] = json.dumps(api_conn)
    sizes = [int(size) for size in args.batch_size.split(",") if size.strip()] or [0]
    walls: dict[int, list[float]] = {size: [] for size in sizes}
    bases: list[float] = []
    ok = True
    try:
        server.start()
        server.settle_first_scheduled_runs(DAG_ID)
        started = time.monotonic()
        conn_ids = put_connections(server, seed, "create")
        print(f"{len(conn_ids):,} connections created in {time.monotonic() - started:.1f}s", flush=True)
        _, log_line = rest_calls(server, 0)
        plan = [(size, run) for size in sizes for run in range(1, args.runs + 1)]
        for index, (size, run) in enumerate(plan):
            if index > 0:
                put_connections(server, seed, "update")  # two days old again
            control(seed, "POST", "clock", {"advance": 2 * DAY})
            control(seed, "DELETE", "calls")
            _, log_line = rest_calls(server, log_line)
            wall, report = dag_run(server, {"batch_size": size} if size else {})
            calls = control(seed, "GET", "calls")["calls"]
            rest, log_line = rest_calls(server, log_line)
            control(seed, "POST", "clock", {"advance": 2 * DAY})
            base = baseline(server, seed, conn_ids)
            _, log_line = rest_calls(server, log_line)
            walls[size].append(wall)
            bases.append(base)
            refreshed = report["counts"].get("refreshed", 0)
            per_account = calls.get("refresh_access_token", 0) / args.accounts
            ok &= refreshed == args.accounts and per_account == 1 and rest["patch"] == 0
            label = f"batch_size {size} " if size else ""
            print(f"{label}run {run}: DAG {wall:.1f}s | baseline loop {base:.1f}s | ratio {wall / base:.2f} | "
                  f"refreshed {refreshed:,}/{args.accounts:,} | Instagram calls {sum(calls.values()):,} "
                  f"({per_account:.2f}/account) | REST: {rest['bulk']} bulk PATCH, {rest['patch']} single PATCH, "
                  f"{rest['list']} list, {rest['auth']} login", flush=True)  # fmt: skip
    finally:
        server.stop(keep_home=args.keep_home)
        if args.keep_home:
            print(f"Airflow home kept at {server.home}")
        emulator.terminate()
        emulator.wait(timeout=60)
        if postgres is not None:
            postgres.stop()
    base = statistics.median(bases)
    medians = {size: statistics.median(found) for size, found in walls.items()}
    for size, wall in medians.items():
        label = f"batch_size {size}" if size else "the DAG's default batch_size"
        print(f"{args.accounts:,} accounts, metadata DB {args.metadata_db}, {label}, median of {args.runs} runs: "
              f"DAG run {wall:.1f}s (target <= {TARGET_SECONDS:.0f}s) | sequential baseline {base:.1f}s | "
              f"ratio {wall / base:.2f}")  # fmt: skip
    return 0 if ok and medians[sizes[0]] <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
