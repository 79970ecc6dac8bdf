"""What a local Airflow is asked through its REST API: DAGs, runs, task instances, XComs, and their log files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from airflow_provider_instagram.airflow_api import AirflowApiClient

TERMINAL_RUN_STATES = frozenset({"success", "failed"})
POLL_SECONDS = 0.5


class AirflowRuns:
    """REST calls and waits of a :class:`~airflow_provider_instagram.local_airflow.LocalAirflow` (its ``api`` is
    the package's one REST client, logged in as the deployment's first user)."""

    api: AirflowApiClient
    home: Path

    def log_of(self, component: str) -> Path:
        raise NotImplementedError

    def log_roots(self) -> list[Path]:
        """The folders task logs are written to (one per machine, as it were: the home, each worker's home)."""
        return [self.home / "logs"]

    def describe_logs(self, lines: int = 40) -> str:
        raise NotImplementedError

    def _error(self, message: str, log_file: Path | None = None) -> Exception:
        raise NotImplementedError

    # ------------------------------------------------------------------ REST
    def token(self) -> str:
        """The first user's JWT (what the UI keeps in its ``_token`` cookie)."""
        return self.api.token()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated call (keyword arguments go to ``requests``); the response whatever its status."""
        return self.api.request(method, path, **kwargs)

    def call(self, method: str, path: str, expected: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """:meth:`request`, raising unless the status is one of ``expected``; the decoded JSON body."""
        answer = self.request(method, path, **kwargs)
        if answer.status_code not in expected:
            raise self._error(f"{method} {path} answered HTTP {answer.status_code}: {answer.text[:2000]}")
        return answer.json() if answer.content else None

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG import errors Airflow knows of."""
        errors: list[dict[str, Any]] = self.call("GET", "/api/v2/importErrors", params={"limit": 100})["import_errors"]
        return errors

    # ------------------------------------------------------------------ DAGs and runs
    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the DAG processor has parsed ``dag_id``; its JSON. Raises at once on an import error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}")
            if answer.status_code == 200:
                dag: dict[str, Any] = answer.json()
                return dag
            if errors := self.import_errors():
                raise self._error(f"DAG {dag_id!r} not parsed; import errors: {json.dumps(errors)[:3000]}",
                                  self.log_of("dag-processor"))  # fmt: skip
            time.sleep(POLL_SECONDS)
        raise self._error(f"DAG {dag_id!r} was not parsed within {timeout:.0f} s", self.log_of("dag-processor"))

    def settle_first_scheduled_runs(self, dag_id: str, timeout: float = 300.0) -> list[str]:
        """A scheduled DAG, unpaused at creation, gets a first run as soon as it is parsed: wait until every run of
        ``dag_id`` has ended, so that none interferes with the runs a caller triggers; their states."""
        self.wait_for_dag(dag_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.dag_runs(dag_id)
            if runs and all(run["state"] in TERMINAL_RUN_STATES for run in runs):
                return [str(run["state"]) for run in runs]
            time.sleep(POLL_SECONDS)
        raise self._error(f"the first scheduled run of {dag_id} did not end within {timeout:.0f} s")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs as the REST API lists them (``dag_run_id``, ``state``...)."""
        return list(self.call("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns")["dag_runs"])

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, *,
                logical_date: datetime | None = None) -> str:  # fmt: skip
        """Trigger a manual run; its run id (Airflow 3.3 requires ``logical_date`` in the body; null is fine)."""
        body = {"logical_date": logical_date.isoformat() if logical_date else None, "conf": dict(conf or {})}
        return str(self.call("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", json=body)["dag_run_id"])

    def run_path(self, dag_id: str, run_id: str) -> str:
        """The REST path of a DAG run."""
        return f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240.0, *, fail_on_retry: bool = False) -> str:
        """Poll the run until it ends: ``success`` or ``failed``. With ``fail_on_retry``, a task waiting for a retry
        counts as failed at once (the bundled DAGs retry minutes later; the demo says what went wrong now)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = str(self.call("GET", self.run_path(dag_id, run_id))["state"])
            if state in TERMINAL_RUN_STATES:
                return state
            if fail_on_retry and any(ti["state"] == "up_for_retry" for ti in self.task_instances(dag_id, run_id)):
                return "failed"
            time.sleep(POLL_SECONDS)
        states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in self.task_instances(dag_id, run_id)}
        raise self._error(f"run {run_id!r} of {dag_id!r} still {state!r} after {timeout:.0f} s; tasks: {states}\n"
                          f"{self.describe_logs(30)}", self.log_of("scheduler"))  # fmt: skip

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run, mapped ones included (one per map index), all pages."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"{self.run_path(dag_id, run_id)}/taskInstances",
                             params={"limit": 100, "offset": len(found)})  # fmt: skip
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """The value of an XCom entry of a task instance."""
        path = f"{self.run_path(dag_id, run_id)}/taskInstances/{quote(task_id, safe='')}/xcomEntries/{quote(key)}"
        return self.call("GET", path, params={"map_index": map_index})["value"]

    # ------------------------------------------------------------------ task logs
    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Path | None:
        """The newest attempt's log file of a task instance, if there is one (in whichever log root holds it)."""
        attempts = self.task_attempt_logs(dag_id, run_id, task_id, map_index)
        return attempts[max(attempts)] if attempts else None

    def task_attempt_logs(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[int, Path]:
        """Each attempt's log file of a task instance, by try number, from every log root."""
        relative = Path(f"dag_id={dag_id}", f"run_id={run_id}", f"task_id={task_id}")
        if map_index >= 0:
            relative /= f"map_index={map_index}"
        found = {}
        for root in self.log_roots():
            for path in (root / relative).glob("attempt=*.log"):
                found[int(path.stem.split("=", 1)[1])] = path
        return found

    def wait_for_task_log(self, dag_id: str, run_id: str, task_id: str, text: str, map_index: int = -1,
                          timeout: float = 30.0) -> str:  # fmt: skip
        """The newest log of a task instance once it contains ``text``: a run can end before the last lines of its
        tasks' logs are written. Raises, with the log's tail, when ``text`` is not there within ``timeout``."""
        from airflow_provider_instagram.local_airflow.logs import log_tail

        deadline = time.monotonic() + timeout
        while True:
            path = self.task_log(dag_id, run_id, task_id, map_index)
            content = path.read_text(errors="replace") if path else ""
            if text in content:
                return content
            if time.monotonic() >= deadline:
                tail = log_tail(path, 40) if path else "<no log file>"
                raise self._error(f"the log of {task_id}[{map_index}] in {run_id!r} has no {text!r} after "
                                  f"{timeout:.0f} s; it ends:\n{tail}", path)  # fmt: skip
            time.sleep(POLL_SECONDS)

    def failed_task_logs(self, dag_id: str, run_id: str, lines: int = 60) -> str:
        """The readable tail of the log of every task instance of the run that did not succeed (for messages)."""
        from airflow_provider_instagram.local_airflow.logs import log_tail

        parts = []
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] in ("success", "skipped"):
                continue
            path = self.task_log(dag_id, run_id, ti["task_id"], ti["map_index"])
            text = log_tail(path, lines) if path else "<no log file>"
            parts.append(f"----- {ti['task_id']}[{ti['map_index']}] {ti['state']} ({path}) -----\n{text}")
        return "\n".join(parts)

    def log_files(self) -> list[Path]:
        """Every task log file under the log roots."""
        return sorted(path for root in self.log_roots() for path in root.rglob("*")
                      if path.is_file() and "dag_id=" in str(path))  # fmt: skip

    def iter_logs_text(self) -> Iterator[tuple[Path, str]]:
        """``(path, text)`` of every task log file, for assertions such as "no secret in any log"."""
        for path in self.log_files():
            yield path, path.read_text(errors="replace")
