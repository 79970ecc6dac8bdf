"""The demo command end to end: its printed summary matches the warehouse file, it leaks no token, it replaces an
earlier run's outputs in the same folder, and it leaves no process behind once stopped."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from airflow_provider_instagram.demo.report import INSIGHTS_QUERY, SAMPLE_QUERY

# The emulator's tokens (long- and short-lived) start with IGAA; its authorization codes with AQ.
TOKEN = re.compile(r"IGAA[A-Za-z0-9_-]{20,}|AQ[A-Za-z0-9_-]{60,}")
ACCOUNTS, MEDIA = 2, 12

pytestmark = pytest.mark.airflow


def run_demo(output: Path, *more: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "airflow_provider_instagram.cli", "demo", "--accounts", str(ACCOUNTS),
         "--media", str(MEDIA), "--output", str(output), *more],
        capture_output=True, text=True, timeout=290, check=False, cwd=output.parent,
    )  # fmt: skip
    assert done.returncode == 0, f"demo failed:\n{done.stdout}\n{done.stderr}"
    return done, time.monotonic() - began


def printed_table(out: str, after: str) -> list[dict[str, str]]:
    """The text table printed after the line containing ``after``: cells cut at the columns of its dash line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) + 1
    while not lines[start + 1].strip().startswith("---"):
        start += 1  # skip lines between the marker and the table (the SQL text)
    header, dashes = lines[start], lines[start + 1]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", dashes)]
    spans[-1] = (spans[-1][0], 10_000)  # the last column may hold wider text (a caption with emoji)
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():  # the demo ends every table with an empty line
            break
        rows.append({header[a:b].strip(): line[a:b].strip() for a, b in spans})
    return rows


def warehouse(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def demo_processes(output: Path) -> list[psutil.Process]:
    """Live processes whose environment or command line names the demo's folder."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if str(output) in proc.environ().get("AIRFLOW_HOME", "") or str(output) in " ".join(proc.cmdline()):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def check_summary(out: str, db: Path) -> None:
    per_account = printed_table(out, "rows per account")
    stored = warehouse(
        db,
        """
        SELECT user_id, username, count(*), sum(parent_id IS NOT NULL),
               (SELECT count(*) FROM instagram_profiles p WHERE p.id = m.user_id)
        FROM instagram_media m GROUP BY user_id, username ORDER BY username""",
    )
    printed = [(r["user_id"], r["username"], int(r["media_rows"]), int(r["carousel_children"]),
                int(r["profile_rows"])) for r in per_account]  # fmt: skip
    assert printed == stored and len(stored) == ACCOUNTS
    assert all(media >= MEDIA and profiles == 1 for _, _, media, _, profiles in stored)
    exported = {r["username"]: int(r["rows"]) for r in printed_table(out, "the export task's XCom")}
    assert exported == {username: media for _, username, media, _, _ in stored}
    sample = printed_table(out, "sample query")
    expected = warehouse(db, SAMPLE_QUERY)
    assert [(r["username"], r["id"], int(r["like_count"]), r["caption"]) for r in sample] == [
        (username, media_id, likes, caption.strip()) for username, media_id, _, likes, caption in expected
    ]
    top = warehouse(db, "SELECT max(like_count) FROM instagram_media WHERE parent_id IS NULL")[0][0]
    assert int(sample[0]["like_count"]) == top
    read = printed_table(out, "the export_insights task's XCom")
    assert len(read) == ACCOUNTS and all(int(r["media_read"]) >= MEDIA and r["metrics_dropped"] == "-" for r in read)
    reached = printed_table(out, "reached most people")
    assert [r["media_id"] for r in reached] == [row[1] for row in warehouse(db, INSIGHTS_QUERY)] and len(reached) == 3
    assert warehouse(db, "SELECT count(DISTINCT user_id) FROM instagram_account_insights") == [(ACCOUNTS,)]


def check_tokens(out: str) -> None:
    health = {r["connection"]: r for r in printed_table(out, "token health")}
    assert sorted(r["outcome"] for r in health.values()) == ["fresh"] * (ACCOUNTS - 1) + ["refreshed"]
    assert all(r["status"] == "ok" and float(r["days_left"]) > 59 for r in health.values())
    stored = printed_table(out, "stored tokens")
    assert [r["token"] for r in stored] == ["changed"] + ["unchanged"] * (ACCOUNTS - 1)
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["stored now"]) for r in stored)


@pytest.mark.timeout(600)
def test_demo_over_an_earlier_run_then_left_running_for_a_look_around(tmp_path: Path) -> None:
    """One run, into a folder holding an earlier run's outputs (which it replaces) and a file of the user's own
    (which it keeps); then what a user does with ``--keep-running``."""
    output = tmp_path / "demo"
    earlier = earlier_run(output)
    done, seconds = run_demo(output, "--keep-running")
    out = done.stdout
    print(f"demo run: {seconds:.0f} s")
    assert [int(n) for n in re.findall(r"^\[(\d+)\]", out, re.M)] == [1, 2, 3, 4, 5, 6, 7]
    check_summary(out, output / "warehouse.sqlite")
    check_tokens(out)
    assert not TOKEN.search(out + done.stderr)
    for path in (output / "airflow" / "logs").rglob("*.log"):  # nor in any task or component log
        assert not TOKEN.search(path.read_text(errors="replace")), path
    assert not [path for path in earlier["replaced"] if path.exists()], "the earlier run's outputs were left"
    assert warehouse(output / "warehouse.sqlite", "SELECT count(*) FROM instagram_media WHERE user_id = '999'") == [
        (0,)
    ]
    assert earlier["kept"].read_text() == "my notes\n"
    look_around(out, output)


def earlier_run(output: Path) -> dict[str, Any]:
    """What an earlier demo left in ``output`` (an export partition, a warehouse row, a DAG file), beside a file of
    the user's own."""
    partition = output / "export" / "media" / "user_id=999" / "dt=2020-01-01" / "part-00000.parquet"
    stale_dag = output / "airflow" / "dags" / "stale_dag.py"
    for path in (partition, stale_dag):
        path.parent.mkdir(parents=True)
        path.write_text("left by an earlier run\n")
    with sqlite3.connect(output / "warehouse.sqlite") as conn:
        conn.execute("CREATE TABLE instagram_media (user_id TEXT, id TEXT)")
        conn.execute("INSERT INTO instagram_media VALUES ('999', '1')")
    kept = output / "notes.txt"
    kept.write_text("my notes\n")
    return {"replaced": [partition, stale_dag], "kept": kept}


def look_around(out: str, output: Path) -> None:
    """What a user does after ``--keep-running``: logs in to the printed URL, looks at connections and runs, reads
    the home with plain ``airflow`` commands, then stops it."""
    found = re.search(r"Airflow keeps running at (\S+): log in as (\S+) / (\S+) ", out)
    assert found, out
    url, user, password = found.groups()
    login = requests.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    listed = requests.get(f"{url}/api/v2/connections", headers=headers, timeout=30).json()["connections"]
    accounts = [c for c in listed if c["conn_type"] == "instagram"]
    assert len(accounts) == ACCOUNTS and {c["password"] for c in accounts} == {"***"}  # tokens masked
    runs = requests.get(f"{url}/api/v2/dags/instagram_media_export/dagRuns", headers=headers, timeout=30).json()
    assert [r["state"] for r in runs["dag_runs"]] == ["success"]
    plain = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(output / "airflow")}  # the settings live in the home
    airflow = str(Path(sys.executable).with_name("airflow"))
    got = subprocess.run([airflow, "connections", "list", "-o", "json"], env=plain, capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert got.returncode == 0 and "instagram_" in got.stdout, got.stderr
    assert f"airflow-instagram demo --stop --output {output}" in out
    stopped = subprocess.run([sys.executable, "-m", "airflow_provider_instagram.cli", "demo", "--stop", "--output",
                              str(output)], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert stopped.returncode == 0 and "processes left: 0" in stopped.stdout, stopped.stdout + stopped.stderr
    assert not demo_processes(output)
