"""InstagramHook media reads: API calls against the minimum and against per-child fetching, and client CPU
per media against a bare ``requests`` + ``json`` loop over the same emulator pages.

Run: ``python benchmarks/hook_media_read.py [--media 100000] [--runs 3]`` (the full run, ``make bench``), or
``--quick`` for CI: 20,000 media, still 3 runs. Both targets mean the same at either size: the calls are checked
against the exact minimum for the number of media read, and CPU is compared per media (printed per 100k); a
20,000-media walk still takes about 0.25 s of client CPU, well above ``process_time()``'s resolution (measured on
this 2-core machine: ratio 1.03 at 20,000 media, 1.01 at 100,000). The emulator runs in its own process
(10,000-media cap lifted, no rate limit); CPU is this process's ``time.process_time()``, so the
server's work is not counted. Ours and the baseline alternate run by run; the medians and their ratio print
side by side. Exits 1 when a target is missed (calls above the minimum, or CPU ratio above 1.25).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import requests

from airflow_provider_instagram.hooks.instagram import InstagramHook

CPU_TARGET = 1.25  # our client CPU against the bare loop's


def start_emulator(media: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "emulator", "--accounts", "1",
               "--media", str(media), "--no-media-cap", "--rate-limit-budget", "0", "--seed", "3"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def control(seed: dict[str, Any], method: str, path: str) -> Any:
    return requests.request(method, f"{seed['base_url']}/_emulator/{path}", timeout=60).json()


def baseline_walk(seed: dict[str, Any], fields: str) -> int:
    """The floor: one keep-alive session, ``json.loads`` of each page, follow ``paging.next``."""
    session = requests.Session()
    url: str | None = f"{seed['graph_url']}/v25.0/me/media"
    params: dict[str, Any] | None = {"access_token": seed["accounts"][0]["access_token"], "fields": fields,
                                     "limit": 100}  # fmt: skip
    count = 0
    while url:
        page = json.loads(session.get(url, params=params, timeout=60).content)
        count += len(page["data"])
        url, params = page.get("paging", {}).get("next"), None
    return count


def hook_walk() -> int:
    return sum(1 for _ in InstagramHook().iter_media())


def timed(fn: Any, *args: Any) -> tuple[float, int]:
    started = time.process_time()
    count = fn(*args)
    return time.process_time() - started, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI size: 20,000 media (default 100,000)")
    parser.add_argument("--media", type=int, help="media of the account (default 100,000; 20,000 with --quick)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.media is None:
        args.media = 20_000 if args.quick else 100_000
    print(f"{'quick' if args.quick else 'full'} run: {args.media:,} media, {args.runs} runs")
    process, seed = start_emulator(args.media)
    try:
        os.environ["AIRFLOW_CONN_INSTAGRAM_DEFAULT"] = json.dumps({
            "conn_type": "instagram", "host": seed["graph_url"], "login": seed["client_id"],
            "password": seed["accounts"][0]["access_token"], "extra": {"client_secret": seed["client_secret"]},
        })  # fmt: skip
        from airflow_provider_instagram.hooks.instagram import MEDIA_FIELDS

        fields = MEDIA_FIELDS["instagram_login"]
        control(seed, "DELETE", "calls")
        hook = InstagramHook()
        hook.get_profile()
        items = list(hook.iter_media())
        calls = sum(control(seed, "GET", "calls")["calls"].values())
        children = sum(len(m.get("children", {}).get("data", [])) for m in items)
        minimum = InstagramHook.calls_for(len(items))
        ours_cpu, base_cpu = [], []
        for _ in range(args.runs):
            cpu, count = timed(hook_walk)
            ours_cpu.append(cpu)
            base, base_count = timed(baseline_walk, seed, fields)
            base_cpu.append(base)
            assert count == base_count == len(items), (count, base_count, len(items))
    finally:
        process.terminate()
        process.wait(timeout=60)
    per_child = minimum + children
    ours, base = statistics.median(ours_cpu), statistics.median(base_cpu)
    scale = 100_000 / len(items)
    calls_ok, cpu_ok = calls == minimum, ours / base <= CPU_TARGET
    print(f"API calls for {len(items):,} media ({children:,} carousel children), profile + pages: ours {calls:,} | "
          f"minimum ceil(N/100)+1 = {minimum:,} | ratio ours/minimum {calls / minimum:.2f} (target 1.00, the "
          f"minimum) {'PASS' if calls_ok else 'FAIL'} | per-child fetching (peers) {per_child:,}, ours/per-child "
          f"{calls / per_child:.3f}")  # fmt: skip
    print(f"client CPU per 100k media, median of {args.runs} runs: ours {ours * scale:.2f}s | bare requests+json "
          f"{base * scale:.2f}s | ratio {ours / base:.2f} (target <= {CPU_TARGET}) "
          f"{'PASS' if cpu_ok else 'FAIL'}")  # fmt: skip
    print(
        f"  runs ours: {', '.join(f'{c:.2f}' for c in ours_cpu)}; baseline: {', '.join(f'{c:.2f}' for c in base_cpu)}"
    )
    return 0 if calls_ok and cpu_ok else 1


if __name__ == "__main__":
    sys.exit(main())
