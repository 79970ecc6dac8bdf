"""Celery workers of a :class:`~airflow_provider_instagram.local_airflow.LocalAirflow` whose executor is the
CeleryExecutor: each one a machine of its own, as far as files go.

A worker gets a home of its own (its ``airflow.cfg``, its copy of the DAG files, its task logs, its working
directory) and shares with the deployment only what machines of a cluster share: the metadata database's and the
broker's URLs, the Fernet key, the API server's address and the environment's connections. A task that read
another task's local files would find nothing there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from airflow_provider_instagram.local_airflow.deployment import (
    LocalAirflow,
    LocalAirflowError,
    processes_of,
    stop_processes,
    write_config,
)
from airflow_provider_instagram.local_airflow.logs import log_tail
from airflow_provider_instagram.local_airflow.ports import free_port

POLL_SECONDS = 0.2
READY = " ready."  # Celery's line once the worker consumes from the queue: "celery@<name> ready."


class CeleryWorker:
    """``airflow celery worker`` with a home of its own, attached to ``deployment`` (which stops it).

    :param deployment: the Airflow whose queue it serves; its ``[core] executor`` must include CeleryExecutor.
    :param home: the worker's ``AIRFLOW_HOME`` (default: a new temporary folder, removed by :meth:`stop`).
    :param name: the worker's name (Celery hostname ``<name>@<host>``, the home folder's prefix).
    :param concurrency: task slots (Celery's prefork processes).
    :param settings: ``airflow.cfg`` settings of this worker only, over the deployment's.
    :param startup_timeout: seconds until the worker consumes from the queue.
    """

    def __init__(
        self, deployment: LocalAirflow, name: str, *, home: Path | None = None, concurrency: int = 2,
        settings: Mapping[str, Mapping[str, str]] | None = None, startup_timeout: float = 120.0,
    ) -> None:  # fmt: skip
        self.deployment, self.name, self.concurrency = deployment, name, concurrency
        self._owns_home = home is None
        self.home = Path(tempfile.mkdtemp(prefix=f"airflow-worker-{name}-") if home is None else home).resolve()
        self.dags_folder = self.home / "dags"
        self.config_file = self.home / "airflow.cfg"
        self.output = self.home / "process-logs" / "celery-worker.log"
        self._settings = settings or {}
        self.log_server_port = free_port()  # two workers on one machine: a log server each
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        deployment.workers.append(self)

    def settings(self) -> dict[str, dict[str, str]]:
        """The deployment's settings, with this worker's DAG folder, log folder and log server port."""
        merged = self.deployment.settings()
        merged["core"] = {**merged["core"], "dags_folder": str(self.dags_folder)}
        merged["logging"] = {**merged["logging"], "base_log_folder": str(self.home / "logs"),
                             "worker_log_server_port": str(self.log_server_port)}  # fmt: skip
        for section, values in self._settings.items():
            merged[section] = {**merged.get(section, {}), **dict(values)}
        return merged

    @property
    def env(self) -> dict[str, str]:
        return {**self.deployment.env, "AIRFLOW_HOME": str(self.home), "AIRFLOW_CONFIG": str(self.config_file)}

    def start(self) -> CeleryWorker:
        """:meth:`spawn`, then :meth:`wait_ready`."""
        self.spawn()
        self.wait_ready()
        return self

    def spawn(self) -> None:
        """Copy the deployment's DAG files (as an image would hold them), write the settings, start the worker
        (several workers start side by side: spawn each, then wait for each)."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.deployment.dags_folder, self.dags_folder, dirs_exist_ok=True)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        write_config(self.config_file, self.settings())
        command = [self.deployment.airflow_bin, "celery", "worker", "--concurrency", str(self.concurrency),
                   "--celery-hostname", f"{self.name}@%h", "--without-mingle", "--without-gossip"]  # fmt: skip
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(command, env=self.env, cwd=self.home, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def wait_ready(self) -> None:
        """Wait until the worker consumes from the queue; raises with its output's tail if it exits or times out."""
        if self.process is None:
            raise LocalAirflowError(f"Celery worker {self.name} was not started")
        deadline = time.monotonic() + self.startup_timeout
        while READY not in self.output.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise LocalAirflowError(f"Celery worker {self.name} exited with {self.process.returncode}:\n"
                                        f"{log_tail(self.output)}", self.output)  # fmt: skip
            if time.monotonic() >= deadline:
                raise LocalAirflowError(f"Celery worker {self.name} not ready within {self.startup_timeout:.0f} s:\n"
                                        f"{log_tail(self.output)}", self.output)  # fmt: skip
            time.sleep(POLL_SECONDS)

    def kill(self) -> int:
        """SIGKILL the worker and every process it started (its pool, task supervisors, tasks): a machine lost
        mid-task. The number of processes killed."""
        if self.process is None:
            return 0
        victims = processes_of(self.home, [self.process.pid])
        for proc in victims:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        psutil.wait_procs(victims, timeout=10)
        self.process.wait(timeout=10)
        return len(victims)

    def stop(self, *, keep_home: bool = False) -> list[psutil.Process]:
        """Stop the worker (SIGTERM, then SIGKILL); the processes still alive after that. Idempotent."""
        left = []
        if self.process is not None:
            left = stop_processes(self.home, [self.process.pid], self.deployment.stop_timeout)
            self.process.wait(timeout=10)
        if self._owns_home and not keep_home:
            shutil.rmtree(self.home, ignore_errors=True)
        return left

    def task_log_files(self) -> list[Path]:
        """The task logs this worker wrote."""
        return sorted(path for path in (self.home / "logs").rglob("attempt=*.log") if path.is_file())
