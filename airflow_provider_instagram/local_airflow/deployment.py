"""The processes and settings of a local Airflow: its home, its ``airflow.cfg``, starting and stopping."""

from __future__ import annotations

import atexit
import base64
import configparser
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import psutil

from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.local_airflow.logs import log_tail
from airflow_provider_instagram.local_airflow.ports import free_ports
from airflow_provider_instagram.local_airflow.runs import AirflowRuns

if TYPE_CHECKING:
    from airflow_provider_instagram.local_airflow.celery import CeleryWorker

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
POLL_SECONDS = 0.5
PIDS_FILE = "pids.json"


class LocalAirflowError(RuntimeError):
    """The deployment did not start, or a call or a wait did not give the expected answer.

    :param message: what went wrong (with the logs' tails where they tell why).
    :param log_file: the log whose tail explains it, when one does.
    """

    def __init__(self, message: str, log_file: Path | None = None) -> None:
        super().__init__(message)
        self.log_file = log_file


def airflow_executable() -> str:
    """The ``airflow`` script beside the running interpreter (the virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("airflow")
    found = str(beside) if beside.exists() else shutil.which("airflow")
    if found is None:
        raise LocalAirflowError("no `airflow` executable beside this Python or on PATH: pip install apache-airflow")
    return found


class LocalAirflow(AirflowRuns):
    """API server, scheduler (LocalExecutor) and DAG processor on loopback, over a home of their own.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    :param home: the ``AIRFLOW_HOME``; by default a new temporary folder, removed by :meth:`stop` (unless the
        ``with`` block raised: it is kept for its logs then).
    :param dags_folder: the folder parsed for DAG files (default ``<home>/dags``).
    :param users: simple auth manager users as ``{name: (role, password)}``; the first one is used for REST calls.
    :param database_url: the metadata database's SQLAlchemy URL (default: SQLite in the home).
    :param env: extra environment of every Airflow process (``AIRFLOW_CONN_*``...; it wins over the settings).
    :param settings: ``airflow.cfg`` settings over the defaults, as ``{section: {key: value}}``.
    :param triggerer: also start a triggerer (deferrable tasks only).
    :param startup_timeout: seconds for the migration and the components becoming healthy.
    :param stop_timeout: seconds a component is given to exit on SIGTERM before it is killed.
    """

    def __init__(
        self, home: str | os.PathLike[str] | None = None, *, dags_folder: str | os.PathLike[str] | None = None,
        users: Mapping[str, tuple[str, str]] | None = None, database_url: str | None = None,
        env: Mapping[str, str] | None = None, settings: Mapping[str, Mapping[str, str]] | None = None,
        triggerer: bool = False, startup_timeout: float = 240.0, stop_timeout: float = 5.0,
    ) -> None:  # fmt: skip
        self._owns_home = home is None
        self.home = Path(tempfile.mkdtemp(prefix="airflow-home-") if home is None else home).resolve()
        self.dags_folder = Path(dags_folder).resolve() if dags_folder else self.home / "dags"
        self.users = dict(users or {"admin": ("admin", secrets.token_urlsafe(16))})
        self.username, (_, self.password) = next(iter(self.users.items()))
        self.database_url = database_url or f"sqlite:///{self.home / 'airflow.db'}"
        self.triggerer, self.startup_timeout, self.stop_timeout = triggerer, startup_timeout, stop_timeout
        self.airflow_bin = airflow_executable()
        self.api_port, self._worker_log_port, self._trigger_log_port = free_ports(3)
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.config_file = self.home / "airflow.cfg"
        self.process_log_dir = self.home / "process-logs"
        self._settings = settings or {}
        self.env = self._environment(env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[CeleryWorker] = []  # each adds itself; stopped before the deployment
        self.migrate_seconds: float | None = None
        self.startup_seconds: float | None = None
        self.api = AirflowApiClient(self.base_url, self.username, self.password, api_conn_id="(the local admin)")
        self.api.session.trust_env = False  # loopback calls never go through a proxy from the environment

    # ------------------------------------------------------------------ settings
    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        """This process's environment minus ``AIRFLOW*`` (a developer's own settings must not leak in), the home,
        and the caller's ``extra``."""
        base = {k: v for k, v in os.environ.items() if not k.lstrip("_").startswith("AIRFLOW")}
        base["PATH"] = os.pathsep.join([str(Path(self.airflow_bin).parent), base.get("PATH", "")])
        return {**base, "AIRFLOW_HOME": str(self.home), "AIRFLOW_CONFIG": str(self.config_file), **dict(extra)}

    def default_settings(self) -> dict[str, dict[str, str]]:
        """Every setting this deployment needs, written to its ``airflow.cfg`` (secrets included: the home is the
        deployment, and ``airflow`` commands run on it later must decrypt its connections)."""
        users = ",".join(f"{name}:{role}" for name, (role, _) in self.users.items())
        return {
            "core": {
                "dags_folder": str(self.dags_folder), "load_examples": "False", "executor": "LocalExecutor",
                "dags_are_paused_at_creation": "False",
                "parallelism": "8",  # LocalExecutor forks this many workers up front: 32 is far more than 2 cores need
                "auth_manager": SIMPLE_AUTH_MANAGER, "simple_auth_manager_users": users,
                "simple_auth_manager_passwords_file": str(self.home / "simple_auth_manager_passwords.json"),
                # Off port 8080 the tasks must be told where the Execution API is, or every task fails to start.
                "execution_api_server_url": f"{self.base_url}/execution/",
                "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            },
            "database": {"sql_alchemy_conn": self.database_url},
            "api": {"host": "127.0.0.1", "port": str(self.api_port), "base_url": self.base_url,
                    "secret_key": secrets.token_urlsafe(32)},
            "api_auth": {"jwt_secret": secrets.token_urlsafe(64)},
            "logging": {
                "worker_log_server_port": str(self._worker_log_port),
                "trigger_log_server_port": str(self._trigger_log_port),
                "base_log_folder": str(self.home / "logs"), "colored_console_log": "False",
            },
            "dag_processor": {"refresh_interval": "2", "min_file_process_interval": "60"},
            "scheduler": {"scheduler_idle_sleep_time": "0.5"},
            # Two cores shared by every component: a busy moment must not fail a task's first API call.
            "workers": {"execution_api_timeout": "60"},
        }  # fmt: skip

    def settings(self) -> dict[str, dict[str, str]]:
        """The deployment's settings: :meth:`default_settings` with the caller's over them (what ``airflow.cfg``
        holds; a Celery worker starts from them too)."""
        merged = self.default_settings()
        for section, values in self._settings.items():
            merged[section] = {**merged.get(section, {}), **dict(values)}
        return merged

    def _write_settings(self) -> None:
        write_config(self.config_file, self.settings())
        passwords = {user: password for user, (_, password) in self.users.items()}
        (self.home / "simple_auth_manager_passwords.json").write_text(json.dumps(passwords) + "\n")

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalAirflow:
        try:
            return self.start()
        except BaseException:
            self.stop(keep_home=True)
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop(keep_home=kind is not None)

    def start(self) -> LocalAirflow:
        """Write the settings, migrate the metadata database, start the components, wait until they are healthy."""
        began = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        self.process_log_dir.mkdir(parents=True, exist_ok=True)
        self._write_settings()
        atexit.register(self._atexit_stop)
        self._migrate(began + self.startup_timeout)
        self.migrate_seconds = time.monotonic() - began
        # The scheduler's first tasks report to the Execution API at once, and give up after a few refused
        # connections: the API server must answer before the scheduler starts (on a busy machine it takes longer).
        for name in ("api-server", "dag-processor"):
            self._spawn(name)
        self._wait_answering(began + self.startup_timeout)
        for name in ("scheduler", *(("triggerer",) if self.triggerer else ())):
            self._spawn(name)
        (self.home / PIDS_FILE).write_text(json.dumps({n: p.pid for n, p in self.processes.items()}) + "\n")
        self._wait_healthy(began + self.startup_timeout)
        self.startup_seconds = time.monotonic() - began
        return self

    def _migrate(self, deadline: float) -> None:
        log_file = self.process_log_dir / "db-migrate.log"
        try:
            with log_file.open("wb") as out:
                done = subprocess.run(
                    [self.airflow_bin, "db", "migrate"], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, timeout=max(1.0, deadline - time.monotonic()), check=False,
                )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise LocalAirflowError("`airflow db migrate` timed out", log_file) from exc
        if done.returncode != 0:
            raise LocalAirflowError(f"`airflow db migrate` exited with {done.returncode}:\n{log_tail(log_file)}",
                                    log_file)  # fmt: skip

    def _spawn(self, name: str) -> None:
        """``airflow <name>`` in a session of its own, its output to ``process-logs/<name>.log``."""
        with self.log_of(name).open("wb") as out:
            self.processes[name] = subprocess.Popen(
                [self.airflow_bin, name], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def _wait_answering(self, deadline: float) -> None:
        """Wait until the API server answers HTTP (any answer: the other components are not up yet)."""
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                self.api.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
                return
            except OSError:  # requests' errors are OSErrors: refused while the server starts
                time.sleep(POLL_SECONDS)
        raise LocalAirflowError(f"the API server did not answer within {self.startup_timeout:.0f} s\n"
                                f"{self.describe_logs()}", self.log_of("api-server"))  # fmt: skip

    def _raise_if_exited(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise LocalAirflowError(f"`airflow {name}` exited with {process.returncode} during startup\n"
                                        f"{self.describe_logs()}", self.log_of(name))  # fmt: skip

    def _wait_healthy(self, deadline: float) -> None:
        required = ["scheduler", "dag_processor", *(["triggerer"] if self.triggerer else [])]
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                body = self.api.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                waiting = [c for c in required if (body.get(c) or {}).get("status") != "healthy"]
                if not waiting:
                    self.api.token()  # logged in before the first call
                    return
                last = f"{', '.join(waiting)} not healthy yet"
            except (OSError, ValueError) as exc:  # requests' errors are OSErrors; a half-started server may not JSON
                last = type(exc).__name__
            time.sleep(POLL_SECONDS)
        raise LocalAirflowError(f"Airflow was not healthy within {self.startup_timeout:.0f} s ({last})\n"
                                f"{self.describe_logs()}", self.log_of("scheduler"))  # fmt: skip

    def stop(self, *, keep_home: bool = False) -> list[psutil.Process]:
        """Stop every process of this deployment (SIGTERM, then SIGKILL after ``stop_timeout``); the processes still
        alive after that (none, normally). A temporary home is removed unless ``keep_home``. Idempotent."""
        atexit.unregister(self._atexit_stop)
        self.api.session.close()  # no keep-alive connection for the API server to wait on
        for worker in self.workers:
            worker.stop(keep_home=keep_home)
        left = stop_processes(self.home, [p.pid for p in self.processes.values()], self.stop_timeout)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        (self.home / PIDS_FILE).unlink(missing_ok=True)
        if self._owns_home and not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)
        return left

    def detach(self) -> None:
        """Leave the deployment running when this process exits (stop it later with :meth:`stop_home`)."""
        atexit.unregister(self._atexit_stop)
        self.api.session.close()

    def _atexit_stop(self) -> None:
        """Safety net for an interpreter that exits without calling :meth:`stop`."""
        self.stop(keep_home=True)

    @classmethod
    def stop_home(cls, home: str | os.PathLike[str], timeout: float = 5.0) -> list[psutil.Process]:
        """Stop a deployment another process started and left running (``airflow-instagram demo --keep-running``)."""
        pids_file = Path(home).resolve() / PIDS_FILE
        pids = list(json.loads(pids_file.read_text()).values()) if pids_file.exists() else []
        left = stop_processes(Path(home).resolve(), pids, timeout)
        pids_file.unlink(missing_ok=True)
        return left

    def leftover_processes(self) -> list[psutil.Process]:
        """Live processes of this deployment other than this one (see :func:`processes_of`)."""
        return processes_of(self.home, [p.pid for p in self.processes.values()])

    # ------------------------------------------------------------------ logs and commands
    def log_roots(self) -> list[Path]:
        """Where task logs are written: the home's ``logs``, and each Celery worker's own."""
        return [self.home / "logs", *(worker.home / "logs" for worker in self.workers)]

    def log_of(self, component: str) -> Path:
        """The output file of ``component`` (``api-server``, ``scheduler``, ``dag-processor``, ``db-migrate``)."""
        return self.process_log_dir / f"{component}.log"

    def describe_logs(self, lines: int = 40) -> str:
        """The tail of every component's output, for error messages."""
        return "\n".join(f"----- {path.stem} ({path}), last {lines} lines -----\n{log_tail(path, lines)}"
                         for path in sorted(self.process_log_dir.glob("*.log")))  # fmt: skip

    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow <args>`` on this home (the components' environment), output captured."""
        done = subprocess.run(
            [self.airflow_bin, *args], env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise LocalAirflowError(f"`airflow {' '.join(args)}` exited with {done.returncode}\n{done.stdout[-2000:]}"
                                    f"\n{done.stderr[-2000:]}")  # fmt: skip
        return done

    def _error(self, message: str, log_file: Path | None = None) -> Exception:
        return LocalAirflowError(message, log_file)


def write_config(path: Path, settings: Mapping[str, Mapping[str, str]]) -> None:
    """An ``airflow.cfg`` readable by its owner only (it holds the Fernet key and the database URL)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(settings)
    with path.open("w") as out:
        out.write("# A local Airflow written by airflow_provider_instagram.local_airflow\n")
        config.write(out)
    path.chmod(0o600)


def processes_of(home: Path, leaders: list[int]) -> list[psutil.Process]:
    """Live processes of the deployment at ``home``, other than this one: members of the components' sessions
    (``leaders``; task supervisors change their process group, not their session), and processes whose environment
    names this home (a task's subprocess in a session of its own). The environment alone is not enough:
    ``setproctitle``, which the API server and the LocalExecutor workers call, overwrites ``/proc/<pid>/environ``."""
    found: list[psutil.Process] = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if os.getsid(proc.pid) in leaders or proc.environ().get("AIRFLOW_HOME") == str(home):
                found.append(proc)
    return found


def stop_processes(home: Path, leaders: list[int], timeout: float) -> list[psutil.Process]:
    """SIGTERM to every process of the deployment, SIGKILL to those alive after ``timeout``; what is left."""
    targets = processes_of(home, leaders)
    for pid in leaders:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    for proc in targets:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(targets, timeout=timeout)
    for proc in [*alive, *processes_of(home, leaders)]:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return processes_of(home, leaders)
