"""A real, throwaway Airflow 3 deployment for integration tests.

``AirflowServer`` builds a fresh ``AIRFLOW_HOME`` on SQLite, runs ``airflow db migrate`` and starts an API server,
a scheduler (LocalExecutor) and a DAG processor as separate subprocesses on free loopback ports, then talks to
them through the public REST API with a JWT of the simple auth manager's admin user::

    with AirflowServer(dags_folder=tmp_path, env={"AIRFLOW_CONN_X": "..."}) as airflow:
        airflow.wait_for_dag("my_dag")
        run_id = airflow.trigger("my_dag")
        assert airflow.wait_for_run("my_dag", run_id) == "success"

Tasks run the way they run in production (scheduler -> executor -> task supervisor -> Execution API), so the
Airflow 3 rule "tasks cannot touch the metadata database" applies, unlike under ``airflow dags test``.

Every process gets the same environment (``.env``): the caller's ``env`` on top of the settings below, so
``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*`` variables given by a test reach the tasks, and a test can run ``airflow``
CLI commands against the same home with ``.cli(...)``. ``AIRFLOW*`` variables of the calling process are *not*
inherited, so a developer's own Airflow settings cannot leak in.
"""

from __future__ import annotations

import atexit
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
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import psutil
import requests

__all__ = ["AirflowServer", "AirflowServerError"]

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
POLL_INTERVAL = 0.5
LOG_TAIL_LINES = 60


class AirflowServerError(RuntimeError):
    """The deployment did not start, or a REST call / wait did not give the expected answer."""


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (all sockets held open until every port is chosen)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file, or a note if it cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"<cannot read {path}: {error}>"
    return "\n".join(text.splitlines()[-lines:])


class AirflowServer:
    """A throwaway Airflow 3 deployment (API server, scheduler with LocalExecutor, DAG processor) on loopback.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. See the module docstring.

    :param dags_folder: the folder Airflow parses for DAG files (new files are picked up within seconds).
    :param env: extra environment variables for every Airflow process (they win over the defaults set here).
    :param home: the ``AIRFLOW_HOME`` to use; by default a new temporary folder, deleted by :meth:`stop`
        unless the ``with`` block raised (it is kept for post-mortem reading then).
    :param username: the simple auth manager's admin user.
    :param password: that user's password, written to the passwords file before the API server starts.
    :param mode: ``"components"`` (api-server, scheduler and dag-processor as separate processes, the default
        and the faster one) or ``"standalone"`` (``airflow standalone``, which also starts a triggerer).
    :param triggerer: in ``"components"`` mode, also start a triggerer (needed for deferrable tasks only).
    :param startup_timeout: seconds allowed for ``db migrate`` plus the components becoming healthy.
    :param stop_timeout: seconds allowed for a graceful SIGTERM shutdown before SIGKILL.
    """

    def __init__(
        self,
        dags_folder: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        home: str | os.PathLike[str] | None = None,
        username: str = "admin",
        password: str = "admin-password",
        mode: Literal["components", "standalone"] = "components",
        triggerer: bool = False,
        startup_timeout: float = 240.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self._owns_home = home is None
        self.home = Path(tempfile.mkdtemp(prefix="airflow-home-")) if home is None else Path(home).resolve()
        self.username = username
        self.password = password
        self.mode = mode
        self.triggerer = triggerer
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout

        self.api_port, worker_log_port, trigger_log_port = _free_ports(3)
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.process_log_dir = self.home / "process-logs"
        self.passwords_file = self.home / "simple_auth_manager_passwords.json"
        self.config_file = self.home / "airflow.cfg"
        self.airflow_bin = self._find_airflow()
        self.env: dict[str, str] = self._build_env(env or {}, worker_log_port, trigger_log_port)

        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._sessions: set[int] = set()  # session ids of the components (= their pids: start_new_session)
        self.startup_seconds: float | None = None  # db migrate + components healthy + token, set by start()
        self.migrate_seconds: float | None = None
        self._session = requests.Session()
        self._session.trust_env = False  # never send loopback calls through a proxy from the environment
        self._token: str | None = None
        self._started = False

    # ------------------------------------------------------------------ environment

    @staticmethod
    def _find_airflow() -> str:
        """The ``airflow`` executable beside the running interpreter (the venv's), else the one on PATH."""
        beside = Path(sys.executable).with_name("airflow")
        if beside.exists():
            return str(beside)
        found = shutil.which("airflow")
        if found is None:
            raise AirflowServerError("no `airflow` executable beside sys.executable or on PATH")
        return found

    def _build_env(self, extra: Mapping[str, str], worker_log_port: int, trigger_log_port: int) -> dict[str, str]:
        """The full environment of every Airflow process: this process's minus ``AIRFLOW*``, ours, the caller's."""
        base = {key: value for key, value in os.environ.items() if not key.lstrip("_").startswith("AIRFLOW")}
        bin_dir = str(Path(self.airflow_bin).parent)
        base["PATH"] = os.pathsep.join([bin_dir, base.get("PATH", "")])
        ours = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW_CONFIG": str(self.config_file),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # LocalExecutor forks `parallelism` workers up front: 32 by default, more than 2 cores need.
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            # The secrets airflow.cfg would otherwise get generated, the same for every process.
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        }
        return {**base, **ours, **dict(extra)}

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> AirflowServer:
        """Start the deployment; if starting fails, stop every process (keeping the home for its logs)."""
        try:
            return self.start()
        except BaseException:
            self.stop(keep_home=True)
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop every process; keep a temporary home only if the block raised."""
        self.stop(keep_home=exc_type is not None)

    def start(self) -> AirflowServer:
        """Migrate the database, start the components and wait until the API and the scheduler are healthy."""
        if self._started:
            raise AirflowServerError("this AirflowServer was already started")
        self._started = True
        atexit.register(self._atexit_stop)
        began = time.monotonic()
        deadline = began + self.startup_timeout
        self.home.mkdir(parents=True, exist_ok=True)
        self.process_log_dir.mkdir(parents=True, exist_ok=True)
        # The simple auth manager only generates a password for users missing from this file.
        self.passwords_file.write_text(json.dumps({self.username: self.password}) + "\n")

        # Every setting comes from the environment. An airflow.cfg that exists keeps Airflow from writing a default
        # one, which processes starting at the same moment would otherwise race on.
        self.config_file.write_text("# settings: see the environment of the processes (AirflowServer.env)\n")

        migrate_log = self.process_log_dir / "db-migrate.log"
        try:
            with migrate_log.open("wb") as out:
                result = subprocess.run(
                    [self.airflow_bin, "db", "migrate"], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, timeout=max(1.0, deadline - time.monotonic()), check=False,
                )  # fmt: skip
        except subprocess.TimeoutExpired as error:
            raise AirflowServerError(f"`airflow db migrate` timed out:\n{_tail(migrate_log)}") from error
        self.migrate_seconds = time.monotonic() - began
        if result.returncode != 0:
            raise AirflowServerError(f"`airflow db migrate` failed ({result.returncode}):\n{_tail(migrate_log)}")

        if self.mode == "standalone":
            self._spawn("standalone", ["standalone"])
        else:
            self._spawn("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port)])
            self._spawn("scheduler", ["scheduler"])
            self._spawn("dag-processor", ["dag-processor"])
            if self.triggerer:
                self._spawn("triggerer", ["triggerer"])
        self._wait_ready(deadline)
        self.startup_seconds = time.monotonic() - began
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        """Start ``airflow <args>`` in a new session and process group, output to ``process-logs/<name>.log``."""
        with (self.process_log_dir / f"{name}.log").open("wb") as out:
            self.processes[name] = subprocess.Popen(
                [self.airflow_bin, *args], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._sessions.add(self.processes[name].pid)

    def _wait_ready(self, deadline: float) -> None:
        """Poll the health endpoint and the token endpoint until both answer, or raise with the logs' tails."""
        required = ["scheduler", "dag_processor"]
        if self.mode == "standalone" or self.triggerer:
            required.append("triggerer")
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._raise_if_a_process_died()
            try:
                health = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
                if health.status_code == 200:
                    body = health.json()
                    unhealthy = [c for c in required if (body.get(c) or {}).get("status") != "healthy"]
                    if unhealthy:
                        last = f"health: {unhealthy} not healthy yet: {body}"
                    else:
                        self._token = self._fetch_token()
                        return
                else:
                    last = f"health answered {health.status_code}: {health.text[:500]}"
            except (requests.ConnectionError, requests.Timeout, AirflowServerError) as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(POLL_INTERVAL)
        raise AirflowServerError(
            f"Airflow was not ready within {self.startup_timeout:.0f}s ({last})\n{self.describe_logs()}"
        )

    def _raise_if_a_process_died(self) -> None:
        """Raise at once (with the logs) if a component exited during startup."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowServerError(
                    f"`airflow {name}` exited with {process.returncode} during startup\n{self.describe_logs()}"
                )

    def stop(self, *, keep_home: bool = False) -> None:
        """Stop every process of this deployment (SIGTERM, then SIGKILL after ``stop_timeout``); idempotent.

        Besides the process groups of the components, this also signals their descendants (task supervisors put
        each task in a process group of its own) and every other process :meth:`leftover_processes` finds.
        A temporary home is deleted unless ``keep_home``.
        """
        atexit.unregister(self._atexit_stop)
        self._session.close()
        targets = self._processes_to_stop()
        for process in self.processes.values():
            if process.poll() is None:  # not reaped, so its pid (= its process group id) cannot have been reused
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        for proc in targets:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(targets, timeout=self.stop_timeout)
        # Whatever is still there, including processes started after the snapshot (they inherit AIRFLOW_HOME).
        for proc in [*alive, *self.leftover_processes()]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self._owns_home and not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def _atexit_stop(self) -> None:
        """Safety net for an interpreter that exits without calling :meth:`stop`."""
        self.stop(keep_home=True)

    def _processes_to_stop(self) -> list[psutil.Process]:
        """The components, all their descendants, and stray processes of this home (not this process)."""
        found: dict[int, psutil.Process] = {}
        for process in self.processes.values():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(process.pid)
                found[root.pid] = root
                found.update({child.pid: child for child in root.children(recursive=True)})
        found.update({proc.pid: proc for proc in self.leftover_processes()})
        found.pop(os.getpid(), None)
        return list(found.values())

    def leftover_processes(self) -> list[psutil.Process]:
        """Live processes of this deployment other than this one.

        That is every process in a session of a component (task supervisors change their process group, not their
        session), plus any process whose environment has ``AIRFLOW_HOME`` set to this home (a task's subprocess
        started with ``start_new_session``). The environment alone is not enough: ``setproctitle``, which the API
        server, the log server and the LocalExecutor workers call, overwrites ``/proc/<pid>/environ``.
        A session id cannot be taken by a new process while a member of the session lives.
        """
        home = str(self.home)
        left: list[psutil.Process] = []
        for proc in psutil.process_iter():
            if proc.pid == os.getpid():
                continue
            with contextlib.suppress(psutil.Error, OSError):
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if os.getsid(proc.pid) in self._sessions or proc.environ().get("AIRFLOW_HOME") == home:
                    left.append(proc)
        return left

    # ------------------------------------------------------------------ logs

    def process_log_files(self) -> dict[str, Path]:
        """The stdout/stderr file of each component (and of ``db migrate``), by name."""
        return {path.stem: path for path in sorted(self.process_log_dir.glob("*.log"))}

    def describe_logs(self, lines: int = LOG_TAIL_LINES) -> str:
        """The tail of every component's output file, for error messages."""
        return "\n".join(
            f"----- {name} ({path}), last {lines} lines -----\n{_tail(path, lines)}"
            for name, path in self.process_log_files().items()
        )

    def log_files(self) -> list[Path]:
        """Every task log file under ``<home>/logs`` (``dag_id=*/run_id=*/task_id=*/[map_index=*/]attempt=*``)."""
        return sorted(path for path in (self.home / "logs").rglob("*") if path.is_file() and "dag_id=" in str(path))

    def all_log_files(self) -> list[Path]:
        """Every file under ``<home>/logs`` (task, scheduler and DAG-processor logs) and every component output."""
        airflow_logs = [path for path in (self.home / "logs").rglob("*") if path.is_file()]
        return sorted([*airflow_logs, *self.process_log_files().values()])

    # ------------------------------------------------------------------ CLI

    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` against this home (same environment as the components), capturing output."""
        result = subprocess.run(
            [self.airflow_bin, *args], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AirflowServerError(
                f"`airflow {' '.join(args)}` exited with {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    # ------------------------------------------------------------------ REST

    def _fetch_token(self) -> str:
        """A new JWT for the admin user from ``POST /auth/token``."""
        response = self._session.post(
            f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
        )
        if response.status_code not in (200, 201):
            raise AirflowServerError(f"POST /auth/token answered {response.status_code}: {response.text[:500]}")
        token = response.json()["access_token"]
        if not isinstance(token, str):
            raise AirflowServerError(f"POST /auth/token gave no access_token: {response.text[:500]}")
        return token

    def token(self) -> str:
        """The admin user's JWT (fetched once, then reused; :meth:`request` refreshes it on a 401)."""
        if self._token is None:
            self._token = self._fetch_token()
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated call to ``base_url + path`` (keyword arguments go to :meth:`requests.Session.request`).

        Returns the response whatever its status; a 401 is retried once with a fresh token.
        """
        kwargs.setdefault("timeout", 30)
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers = dict(kwargs.pop("headers", None) or {})
        response: requests.Response | None = None
        for attempt in range(2):
            if attempt:
                self._token = None
            headers["Authorization"] = f"Bearer {self.token()}"
            response = self._session.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        assert response is not None
        return response

    def _json(self, method: str, path: str, expected: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """:meth:`request`, raising unless the status is one of ``expected``; the decoded JSON body."""
        response = self.request(method, path, **kwargs)
        if response.status_code not in expected:
            raise AirflowServerError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json()

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG import errors Airflow knows of (``GET /api/v2/importErrors``)."""
        body = self._json("GET", "/api/v2/importErrors", params={"limit": 100})
        errors: list[dict[str, Any]] = body["import_errors"]
        return errors

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0, *, fail_on_import_error: bool = True) -> dict[str, Any]:
        """Poll ``GET /api/v2/dags/{dag_id}`` until the DAG is parsed; its JSON.

        Raises with the import errors on timeout, or as soon as there is one if ``fail_on_import_error``.
        """
        deadline = time.monotonic() + timeout
        path = f"/api/v2/dags/{quote(dag_id, safe='')}"
        last = ""
        while time.monotonic() < deadline:
            response = self.request("GET", path)
            if response.status_code == 200:
                dag: dict[str, Any] = response.json()
                return dag
            last = f"{response.status_code}: {response.text[:300]}"
            if fail_on_import_error and (errors := self.import_errors()):
                raise AirflowServerError(f"DAG {dag_id!r} not parsed; import errors: {json.dumps(errors, indent=1)}")
            time.sleep(POLL_INTERVAL)
        raise AirflowServerError(
            f"DAG {dag_id!r} not parsed within {timeout:.0f}s (last answer {last}); "
            f"import errors: {json.dumps(self.import_errors(), indent=1)}\n{self.describe_logs(20)}"
        )

    def settle_first_scheduled_runs(self, dag_id: str, timeout: float = 300.0) -> list[str]:
        """A scheduled DAG, unpaused at creation, gets its first run as soon as it is parsed: wait until every
        run of ``dag_id`` has ended, so that it cannot interfere with the runs a test triggers; their states."""
        self.wait_for_dag(dag_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self._json("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns")["dag_runs"]
            if runs and all(run["state"] in TERMINAL_RUN_STATES for run in runs):
                return [str(run["state"]) for run in runs]
            time.sleep(POLL_INTERVAL)
        raise AirflowServerError(f"the first scheduled run of {dag_id} did not end within {timeout:.0f}s")

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, logical_date: datetime | None = None
    ) -> str:
        """Trigger a manual run (``POST /api/v2/dags/{dag_id}/dagRuns``); its run_id.

        Airflow 3.3 requires the ``logical_date`` key in the body (it may be null, the default here).
        """
        body = {"logical_date": logical_date.isoformat() if logical_date else None, "conf": dict(conf or {})}
        run = self._json("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", json=body)
        run_id: str = run["dag_run_id"]
        return run_id

    def _run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        """Poll the run until it is ``success`` or ``failed``; that state. Raises with task states and logs."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self._json("GET", self._run_path(dag_id, run_id))["state"]
            if state in TERMINAL_RUN_STATES:
                return str(state)
            time.sleep(POLL_INTERVAL)
        states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in self.task_instances(dag_id, run_id)}
        raise AirflowServerError(
            f"run {run_id!r} of {dag_id!r} still {state!r} after {timeout:.0f}s; tasks: {states}\n"
            f"{self.describe_logs(30)}"
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run, mapped ones included (one per map index), all pages."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._json(
                "GET", f"{self._run_path(dag_id, run_id)}/taskInstances", params={"limit": 100, "offset": len(found)}
            )
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """The value of an XCom entry (``GET .../taskInstances/{task_id}/xcomEntries/{key}``)."""
        path = f"{self._run_path(dag_id, run_id)}/taskInstances/{quote(task_id, safe='')}/xcomEntries/{quote(key)}"
        return self._json("GET", path, params={"map_index": map_index})["value"]

    def iter_logs_text(self) -> Iterator[tuple[Path, str]]:
        """``(path, text)`` of every task log file, for assertions such as "no secret in any log"."""
        for path in self.log_files():
            yield path, path.read_text(errors="replace")
