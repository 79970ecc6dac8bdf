"""The demo command runs end to end and never prints a token."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_walks_the_token_chain_and_reads_media() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_instagram.cli", "demo", "--accounts", "2", "--media", "15"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout
    assert out.count("-> long-lived sha256:") == 2
    assert out.count("refreshed, valid 60 more days") == 2
    rows = [int(n) for n in re.findall(r": (\d+) rows", out)]
    assert len(rows) == 2 and all(r >= 15 for r in rows)
    assert "API calls for 2 accounts: 2" in out
    assert not re.search(r"IGAA[A-Za-z0-9]{20,}", out + result.stderr)
