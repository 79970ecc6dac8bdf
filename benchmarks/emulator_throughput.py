"""Emulator throughput: small requests per second, beside a bare Starlette app on the same uvicorn setup.

Run: ``python benchmarks/emulator_throughput.py [--requests 3000] [--runs 5]`` (the full run, ``make bench``), or
``--quick`` for CI: 1,000 requests per run instead of 3,000, still 5 runs (the target is a rate, so it means the
same at either size; the ratio to the baseline is printed alike). Both servers run in their own process;
keep-alive ``http.client`` connections (``--clients`` threads) measure each in turn, run after run, so that the
ratio is taken under the same load. ``requests`` is not the client here: its own per-call cost caps one client
near 700 calls/s on this machine, which would measure the client rather than the server. Exits 1 below
``--target`` (1,000 requests/s, in either mode).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

BASELINE_SERVER = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def me(request):
    return Response(b'{"id":"17841400000000001"}', media_type="application/json; charset=UTF-8")
app = Starlette(routes=[Route("/me", me)])
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(1024)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
"""


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--accounts", "1",
               "--media", "10", "--rate-limit-budget", "0"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    seed = json.loads(process.stdout.readline())
    return process, f"{seed['graph_url']}/me?access_token={seed['accounts'][0]['access_token']}"


def start_baseline() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, f"http://127.0.0.1:{int(process.stdout.readline())}/me"


def measure(url: str, total: int, clients: int) -> float:
    """Requests per second for ``total`` GETs of ``url`` spread over ``clients`` keep-alive sessions."""
    per_client = total // clients
    failures: list[int] = []

    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path

    def work() -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            for _ in range(per_client):
                connection.request("GET", target)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return per_client * clients / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI size: 1,000 requests per run (default 3,000)")
    parser.add_argument("--requests", type=int, help="GETs per run and server (default 3,000; 1,000 with --quick)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--target", type=float, default=1000.0)
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 1000 if args.quick else 3000
    print(f"{'quick' if args.quick else 'full'} run: {args.requests:,} requests x {args.runs} runs per server")
    servers: list[subprocess.Popen[str]] = []
    try:
        starters: list[Callable[[], tuple[subprocess.Popen[str], str]]] = [start_emulator, start_baseline]
        urls = []
        for start in starters:
            process, url = start()
            servers.append(process)
            urls.append(url)
        for url in urls:
            measure(url, 200, 1)  # warm-up
        emulator, baseline = [], []
        for _ in range(args.runs):
            emulator.append(measure(urls[0], args.requests, args.clients))
            baseline.append(measure(urls[1], args.requests, args.clients))
    finally:
        for process in servers:
            process.terminate()
            process.wait(timeout=30)
    ours, base = statistics.median(emulator), statistics.median(baseline)
    print(f"emulator GET /me: median {ours:,.0f} req/s over {args.runs} runs of {args.requests} "
          f"({args.clients} keep-alive clients); runs: {', '.join(f'{r:,.0f}' for r in emulator)}")  # fmt: skip
    print(f"bare Starlette baseline: median {base:,.0f} req/s; runs: {', '.join(f'{r:,.0f}' for r in baseline)}")
    print(f"target: emulator {ours:,.0f} req/s >= {args.target:,.0f} req/s "
          f"{'PASS' if ours >= args.target else 'FAIL'} | ratio emulator/baseline {ours / base:.2f}")  # fmt: skip
    return 0 if ours >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
