"""A throwaway Airflow 3 deployment for the demo: SQLite home, API server, scheduler and DAG processor.

Tasks run as in production (scheduler -> LocalExecutor -> task supervisor -> Execution API), so the Airflow 3
rule "tasks cannot write to the metadata database" holds and the token write-back really goes through the
REST API. Every process gets a clean environment: ``AIRFLOW*`` variables of the caller are not inherited, so a
developer's own Airflow settings cannot leak in.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from airflow_provider_instagram.airflow_api import AirflowApiClient

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
COMPONENTS = ("api-server", "scheduler", "dag-processor")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
POLL_SECONDS = 0.5


class AirflowLocalError(RuntimeError):
    """The deployment did not start, or a run did not end as expected; the message names the log to read.

    :param message: what went wrong.
    :param log_file: the log whose tail explains it, when one does.
    """

    def __init__(self, message: str, log_file: Path | None = None) -> None:
        super().__init__(message)
        self.log_file = log_file


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on loopback (all held open until every one is chosen)."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def airflow_executable() -> str:
    """The ``airflow`` script beside the running interpreter (the virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("airflow")
    found = str(beside) if beside.exists() else shutil.which("airflow")
    if found is None:
        raise AirflowLocalError("no `airflow` executable beside this Python or on PATH: pip install apache-airflow")
    return found


def readable_line(line: str) -> str:
    """One log line for a human: task logs are JSON lines, shown as time, level, event and the exceptions."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "event" not in record:
        return line
    text = f"{str(record.get('timestamp', ''))[11:19]} {record.get('level', '')} {record['event']}".strip()
    for error in record.get("error_detail") or []:
        frames = error.get("frames") or [{}]
        where = f" (at {frames[-1].get('filename')}:{frames[-1].get('lineno')})" if frames[-1] else ""
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}{where}"
    return text


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a component's or a task's log, readable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(readable_line(line) for line in text.splitlines()[-lines:])


class LocalAirflow:
    """API server, scheduler (LocalExecutor) and DAG processor on loopback, over a SQLite ``AIRFLOW_HOME``.

    :param home: the ``AIRFLOW_HOME``; it must exist and hold the ``dags`` folder.
    :param users: simple auth manager users as ``{name: (role, password)}``; the first one is the demo's admin.
    :param env: extra environment for every Airflow process (wins over the defaults).
    """

    def __init__(self, home: Path, users: Mapping[str, tuple[str, str]], env: Mapping[str, str] | None = None) -> None:
        self.home = home.resolve()
        self.users = dict(users)
        self.airflow_bin = airflow_executable()
        api_port, worker_log_port, trigger_log_port = free_ports(3)
        self.base_url = f"http://127.0.0.1:{api_port}"
        self.process_logs = self.home / "process-logs"
        self.env = {**self._base_env(api_port, worker_log_port, trigger_log_port), **dict(env or {})}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        admin, (_, password) = next(iter(self.users.items()))
        self.api = AirflowApiClient(self.base_url, admin, password, api_conn_id="(the demo's admin login)")
        self.api.session.trust_env = False  # loopback calls never go through a proxy from the environment

    def _base_env(self, api_port: int, worker_log_port: int, trigger_log_port: int) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("AIRFLOW")}
        inherited["PATH"] = os.pathsep.join([str(Path(self.airflow_bin).parent), inherited.get("PATH", "")])
        return {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW_CONFIG": str(self.home / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # LocalExecutor forks `parallelism` workers up front (32 by default): far more than 2 cores need.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in self.users.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "simple_auth_manager_passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            # Off port 8080 the tasks must be told where the Execution API is, or every task fails to start.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            # Two cores shared by every component: a busy moment must not fail a task's first API call.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        }

    # ------------------------------------------------------------------ lifecycle
    def migrate(self, timeout: float = 180.0) -> None:
        """``airflow db migrate`` into the SQLite file (the passwords file is written first, so that the simple
        auth manager uses the demo's passwords instead of generating some)."""
        self.process_logs.mkdir(parents=True, exist_ok=True)
        passwords = {user: password for user, (_, password) in self.users.items()}
        (self.home / "simple_auth_manager_passwords.json").write_text(json.dumps(passwords) + "\n")
        log_file = self.process_logs / "db-migrate.log"
        with log_file.open("wb") as out:
            done = subprocess.run(
                [self.airflow_bin, "db", "migrate"], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise AirflowLocalError(f"`airflow db migrate` exited with {done.returncode}", log_file)

    def start(self, timeout: float = 180.0) -> None:
        """Start the three components, each in a session of its own, and wait until Airflow reports them healthy."""
        for name in COMPONENTS:
            with (self.process_logs / f"{name}.log").open("wb") as out:
                self.processes[name] = subprocess.Popen(
                    [self.airflow_bin, name], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        self._wait_healthy(time.monotonic() + timeout)

    def _wait_healthy(self, deadline: float) -> None:
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AirflowLocalError(f"`airflow {name}` exited with {process.returncode}", self.log_of(name))
            try:
                body = self.api.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                waiting = [c for c in ("scheduler", "dag_processor") if (body.get(c) or {}).get("status") != "healthy"]
                if not waiting:
                    return
                last = f"{', '.join(waiting)} not healthy yet"
            except (OSError, ValueError) as exc:  # requests' errors are OSErrors; a half-started server may not JSON
                last = f"{type(exc).__name__}"
            time.sleep(POLL_SECONDS)
        raise AirflowLocalError(f"Airflow was not healthy in time ({last})", self.log_of("scheduler"))

    def log_of(self, component: str) -> Path:
        """The output file of ``component`` (``api-server``, ``scheduler``, ``dag-processor``, ``db-migrate``)."""
        return self.process_logs / f"{component}.log"

    def stop(self, timeout: float = 15.0) -> list[psutil.Process]:
        """Stop every process of this deployment (SIGTERM, then SIGKILL); the processes still alive after that.

        Besides the components' process groups this signals their descendants (task supervisors put each task in
        a process group of its own) and every process :meth:`leftover_processes` finds.
        """
        targets = {p.pid: p for p in self.leftover_processes()}
        for process in self.processes.values():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(process.pid)
                targets.update({p.pid: p for p in [root, *root.children(recursive=True)]})
            if process.poll() is None:  # not reaped: its pid (= its process group id) cannot have been reused
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        targets.pop(os.getpid(), None)
        for proc in targets.values():
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(list(targets.values()), timeout=timeout)
        for proc in [*alive, *self.leftover_processes()]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.api.session.close()
        return self.leftover_processes()

    def leftover_processes(self) -> list[psutil.Process]:
        """Live processes of this deployment other than this one: members of a component's session (task
        supervisors change their process group, not their session), or processes whose environment names this
        home (``setproctitle`` overwrites the environment of some, hence the sessions too)."""
        sessions = {p.pid for p in self.processes.values()}
        left = []
        for proc in psutil.process_iter():
            if proc.pid == os.getpid():
                continue
            with contextlib.suppress(psutil.Error, OSError):
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if os.getsid(proc.pid) in sessions or proc.environ().get("AIRFLOW_HOME") == str(self.home):
                    left.append(proc)
        return left

    # ------------------------------------------------------------------ CLI and REST
    def cli(self, *args: str, timeout: float = 120.0) -> str:
        """Run ``airflow <args>`` against this home; its standard output (raises on a non-zero exit)."""
        done = subprocess.run(
            [self.airflow_bin, *args], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise AirflowLocalError(
                f"`airflow {' '.join(args[:2])}` exited with {done.returncode}: {done.stderr[-2000:]}"
            )
        return done.stdout

    def call(self, method: str, path: str, expected: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """An authenticated REST call; its JSON body (raises unless the status is ``expected``)."""
        answer = self.api.request(method, path, **kwargs)
        if answer.status_code not in expected:
            raise AirflowLocalError(f"{method} {path} answered HTTP {answer.status_code}: {answer.text[:500]}")
        return answer.json() if answer.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Wait until the DAG processor has parsed ``dag_id``; raises at once on an import error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}").status_code == 200:
                return
            errors = self.call("GET", "/api/v2/importErrors")["import_errors"]
            if errors:
                raise AirflowLocalError(f"DAG import errors: {json.dumps(errors)[:2000]}", self.log_of("dag-processor"))
            time.sleep(POLL_SECONDS)
        raise AirflowLocalError(f"DAG {dag_id!r} was not parsed in {timeout:.0f} s", self.log_of("dag-processor"))

    def trigger(self, dag_id: str, conf: Mapping[str, Any]) -> str:
        """Trigger a manual run; its run id (Airflow 3.3 requires ``logical_date`` in the body, null is fine)."""
        body = {"logical_date": None, "conf": dict(conf)}
        run = self.call("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", json=body)
        return str(run["dag_run_id"])

    def run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240.0) -> str:
        """Poll the run until it ends: ``success`` or ``failed``. A task waiting for a retry counts as failed at
        once: the bundled DAGs retry minutes later, and the demo should say what went wrong now."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = str(self.call("GET", self.run_path(dag_id, run_id))["state"])
            if state in TERMINAL_RUN_STATES:
                return state
            if any(ti["state"] == "up_for_retry" for ti in self.task_instances(dag_id, run_id)):
                return "failed"
            time.sleep(POLL_SECONDS)
        raise AirflowLocalError(f"run {run_id} of {dag_id} did not end in {timeout:.0f} s", self.log_of("scheduler"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (mapped ones included)."""
        body = self.call("GET", f"{self.run_path(dag_id, run_id)}/taskInstances", params={"limit": 1000})
        found: list[dict[str, Any]] = body["task_instances"]
        return found

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """The return value of a task instance."""
        path = f"{self.run_path(dag_id, run_id)}/taskInstances/{quote(task_id, safe='')}/xcomEntries/return_value"
        return self.call("GET", path, params={"map_index": map_index})["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Path | None:
        """The newest attempt's log file of a task instance, if there is one."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder /= f"map_index={map_index}"
        attempts = sorted(folder.glob("attempt=*.log"))
        return attempts[-1] if attempts else None
