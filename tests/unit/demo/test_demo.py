"""The demo's parts that need no Airflow: its folder, onboarding against the emulator, the report, failures.

The whole command runs end to end in ``tests/e2e/test_demo.py``.
"""

from __future__ import annotations

import re
import runpy
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from airflow_provider_instagram.account.record import fingerprint
from airflow_provider_instagram.demo.deployment import DAG_FILES, DemoPaths
from airflow_provider_instagram.demo.onboarding import app_settings, authorization_code
from airflow_provider_instagram.demo.report import files_written, query, table
from airflow_provider_instagram.demo.runner import Demo, StepFailed
from airflow_provider_instagram.emulator import InstagramEmulator
from airflow_provider_instagram.onboarding.chain import connect_account
from airflow_provider_instagram.onboarding.terminal import ConnectRequest


def test_reset_replaces_only_the_demos_own_outputs(tmp_path: Path) -> None:
    paths = DemoPaths(tmp_path)
    (tmp_path / "airflow" / "logs").mkdir(parents=True)
    (tmp_path / "airflow" / "logs" / "old.log").write_text("old")
    (tmp_path / "export").mkdir()
    paths.warehouse.write_text("old")
    (tmp_path / "notes.txt").write_text("mine")

    paths.reset()

    assert not (tmp_path / "airflow" / "logs").exists() and not paths.export.exists() and not paths.warehouse.exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (paths.airflow_home / "dags").iterdir()) == sorted(DAG_FILES)


@pytest.mark.parametrize("name", sorted(DAG_FILES))
def test_dag_files_build_unscheduled_dags(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(DAG_FILES[name])
    dag = runpy.run_path(str(path))["dag"]
    assert dag.dag_id == name.removesuffix(".py")
    assert dag.schedule is None  # the demo triggers its runs; a schedule would start one on its own


def test_onboarding_consents_and_runs_the_one_token_chain() -> None:
    """The demo's consent step, then the chain every onboarding path runs (the save is the shared writer's)."""
    with InstagramEmulator(accounts=1, media=1, auto_consent=True) as emulator:
        seed = emulator.seed
        username = seed["accounts"][0]["username"]
        request = ConnectRequest(conn_id="ig_demo", app_conn_id=None, app=app_settings(seed), open_browser=False)
        issued = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
        code = authorization_code(request.hook(), username, requests.Session())
        account = connect_account(request.hook(), "ig_demo", code, clock=lambda: issued)
        me = requests.get(f"{seed['graph_url']}/me", params={"access_token": account.token, "fields": "id"},
                          timeout=30)  # fmt: skip
    assert me.json()["id"] == account.user_id == seed["accounts"][0]["user_id"]
    assert account.username == username and account.connected_at == issued
    assert account.expires_at is not None and (account.expires_at - issued).days == 60
    assert account.record.fingerprint == fingerprint(account.token) != account.short_lived_fingerprint
    assert account.token not in repr(account)


def test_report_reads_the_file_itself(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (name TEXT, n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", None)])
    result = query(db, "SELECT name, n FROM t ORDER BY name")
    assert result.columns == ("name", "n") and result.rows == [("a", 1), ("b", None)]
    assert result.text().splitlines() == ["    name  n", "    ----  -", "    a     1", "    b     -"]
    (tmp_path / "export" / "media" / "dt=1").mkdir(parents=True)
    (tmp_path / "export" / "media" / "dt=1" / "part.parquet").write_bytes(b"12345")
    (tmp_path / "export" / "_staging").mkdir()
    assert files_written(tmp_path / "export") == [("media", 1, 5)]
    assert table(("x",), [("y",)], indent="") == "x\n-\ny"


def test_a_failing_step_is_named_with_its_log_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "scheduler.log"
    log_file.write_text("\n".join(f"line {n}" for n in range(100)))

    def broken_airflow(demo: Demo) -> None:
        demo.step("setting up Airflow")
        raise StepFailed("the scheduler died", log_file)

    monkeypatch.setattr(Demo, "_start_airflow", broken_airflow)
    assert Demo(accounts=1, media=1, output=tmp_path / "out").run() == 1
    out, err = capsys.readouterr()
    assert "[1] starting the Instagram API emulator" in out and "done in" not in out
    assert "[2] FAILED: StepFailed: the scheduler died" in err
    assert "line 99" in err and "line 59" not in err  # the log's tail, not the whole log
    assert re.search(r"outputs and logs so far: .*out", err)
