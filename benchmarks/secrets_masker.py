"""What Airflow's secrets masker costs one process that reads N connections: why the refresh uses small batches.

Run: ``python benchmarks/secrets_masker.py [--runs 3]``. Per batch size it masks, in a fresh ``SecretsMasker``,
what reading one account registers (the token, the connection's whole extra) plus the token Instagram issues,
and prints the median time per process and per account. The cost per account grows with the batch: each new
secret recompiles one regular expression of all secrets so far. A task and its supervisor each pay it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import time

from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker


def mask_accounts(count: int) -> float:
    masker = SecretsMasker()
    started = time.perf_counter()
    for index in range(count):
        masker.add_mask("IGAA" + secrets.token_urlsafe(120))
        masker.add_mask(json.dumps({
            "app_conn_id": "instagram_default", "user_id": str(17841400000000000 + index), "username": f"user{index}",
            "refreshed_at": "2026-11-27T16:00:00+00:00", "expires_at": "2027-01-25T16:00:00+00:00", "status": "ok",
        }))  # fmt: skip
        masker.add_mask("IGAA" + secrets.token_urlsafe(120))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = statistics.median(mask_accounts(1) for _ in range(args.runs))
    for count in (10, 20, 25, 50, 100):
        seconds = statistics.median(mask_accounts(count) for _ in range(args.runs))
        per_account = seconds / count
        print(f"{count:>4} accounts in one process: {seconds:6.2f} s, {per_account * 1000:6.1f} ms per account "
              f"({per_account / base:,.0f}x one account alone)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
