"""``airflow-instagram demo``: the provider's whole job, step by step, on a real local Airflow and the emulator.

1. the Instagram API emulator with a few seeded accounts; 2. a throwaway Airflow home on SQLite with its
components; 3. onboarding through the real token chain into Airflow connections; 4. the media export DAG with
the warehouse load into a SQLite file; 5. the token refresh DAG with real write-back; 6. the summary, read from
the warehouse file itself. Tokens are only ever printed as fingerprints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from airflow_provider_instagram.demo.deployment import (
    EXPORT_DAG,
    INSIGHTS_DAG,
    REFRESH_DAG,
    WAREHOUSE_CONN_ID,
    DemoPaths,
    configure,
    new_airflow,
    stored_tokens,
)
from airflow_provider_instagram.demo.onboarding import OnboardedAccount, emulator_time, onboard
from airflow_provider_instagram.demo.report import (
    INSIGHTS_PER_TABLE,
    INSIGHTS_QUERY,
    ROWS_PER_ACCOUNT,
    SAMPLE_QUERY,
    files_written,
    health_table,
    query,
)
from airflow_provider_instagram.demo.report import table as text_table
from airflow_provider_instagram.local_airflow import LocalAirflow, log_tail

DAY = 86_400
EARLIER_DAYS = 3  # the first account plays a user who connected this many days ago
SPAN_DAYS = 30  # the emulator's media span this many days; the export's first run reads them all
LOG_TAIL_LINES = 40


class StepFailed(RuntimeError):
    """A step did not do what it should; ``log_file`` is the log that tells why.

    :param message: what went wrong.
    :param log_file: the log to show the tail of.
    """

    def __init__(self, message: str, log_file: Path | None = None) -> None:
        super().__init__(message)
        self.log_file = log_file


def say(text: str = "") -> None:
    print(f"    {text}" if text else "", flush=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def show(table: str) -> None:
    """Print a table, then an empty line that ends it (for the eye, and for tests that parse the output)."""
    print(f"{table}\n", flush=True)


class Demo:
    """One run of the demo; :meth:`run` returns the exit status.

    :param accounts: seeded accounts, all onboarded.
    :param media: media per account.
    :param output: the folder everything is written to (the previous run's outputs there are replaced).
    :param keep_running: after a successful run, leave Airflow running for a look at its UI.
    """

    def __init__(self, accounts: int, media: int, output: Path, keep_running: bool = False) -> None:
        if accounts < 1 or media < 1:
            raise ValueError("the demo needs at least one account with at least one media")
        self.accounts, self.media, self.keep_running = accounts, media, keep_running
        self.paths = DemoPaths(output.resolve())
        self.step_number = 0
        self.started = time.monotonic()
        self.airflow: LocalAirflow | None = None
        self.onboarded: list[OnboardedAccount] = []
        self.leftovers: list[int] = []

    def step(self, text: str) -> None:
        self.step_number += 1
        print(f"[{self.step_number}] {text}", flush=True)

    def run(self) -> int:
        """Run every step; 0 on success. On a failure: the step, why, and the tail of the log that tells more."""
        with self._airflow_stopped():
            try:
                self._with_emulator()
            except Exception as exc:  # every failure ends the same way, and the processes are stopped after it
                self._report_failure(exc)
                return 1
        if self.leftovers:
            return 1
        print(f"done in {time.monotonic() - self.started:.0f} s; outputs under {self.paths.root}", flush=True)
        return 0

    def _with_emulator(self) -> None:
        from airflow_provider_instagram.emulator import EmulatorConfig, InstagramEmulator

        self.step(f"starting the Instagram API emulator: {plural(self.accounts, 'account')}, {self.media} media each")
        if importlib.util.find_spec("airflow.providers.sqlite") is None:  # the warehouse is a sqlite connection
            raise StepFailed("the demo's warehouse needs Airflow's SQLite provider: "
                             "pip install 'airflow-provider-instagram[sqlite]' (make demo installs it)")  # fmt: skip
        # auto_consent plays the user clicking Allow; refresh_rotates_token makes a refresh visible as a new
        # token string (Instagram may return the same string, in which case only the expiry moves)
        config = EmulatorConfig(
            seed=42, accounts=self.accounts, media=self.media, span_days=SPAN_DAYS, auto_consent=True,
            refresh_rotates_token=True,
        )  # fmt: skip
        with InstagramEmulator(config) as emulator:
            self._run_steps(emulator)

    def _run_steps(self, emulator: Any) -> None:
        from airflow_provider_instagram.emulator import EmulatorClient

        say(f"listening on {emulator.url}; accounts: {', '.join(a['username'] for a in emulator.accounts)}")
        self.airflow = self._start_airflow()
        self._onboard(emulator.seed, EmulatorClient(emulator.url))
        self._export()
        self._insights()
        self._refresh()
        self._summary()

    @contextlib.contextmanager
    def _airflow_stopped(self) -> Iterator[None]:
        """Whatever happens, stop every Airflow process and say whether any is left (unless the run succeeded and
        Airflow is to keep running)."""
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            if self.airflow is not None and succeeded and self.keep_running:
                self._leave_running(self.airflow)
            elif self.airflow is not None:
                self.leftovers = [p.pid for p in self.airflow.stop()]
                names = ", ".join(str(pid) for pid in self.leftovers)
                print(f"stopped Airflow and the emulator; processes left: {names or 'none'}", flush=True)

    def _leave_running(self, airflow: LocalAirflow) -> None:
        airflow.detach()
        print(f"Airflow keeps running at {airflow.base_url}: log in as {airflow.username} / {airflow.password} and "
              "look at the DAG runs, the task logs and the connections (tokens masked). The emulator stopped with "
              "the demo: new runs cannot reach Instagram.", flush=True)  # fmt: skip
        print(f"Stop it with: airflow-instagram demo --stop --output {self.paths.root}", flush=True)

    def _report_failure(self, exc: Exception) -> None:
        print(f"[{self.step_number}] FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        log_file = getattr(exc, "log_file", None)
        if isinstance(log_file, Path):
            print(f"----- last {LOG_TAIL_LINES} lines of {log_file} -----", file=sys.stderr)
            print(log_tail(log_file, LOG_TAIL_LINES), file=sys.stderr, flush=True)
        print(f"outputs and logs so far: {self.paths.root}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ step 2
    def _start_airflow(self) -> LocalAirflow:
        self.step(f"setting up a throwaway Airflow home on SQLite: {self.paths.airflow_home}")
        self.paths.reset()
        say("DAG files: thin files over the provider's factories in dags/ (no schedule: the demo triggers them)")
        airflow, refresh_password = new_airflow(self.paths)
        self.airflow = airflow  # from here on, a failure stops its processes
        airflow.start()
        say(f"airflow db migrate: {airflow.migrate_seconds or 0:.0f} s; settings in {airflow.config_file}")
        say(f"api-server, scheduler (LocalExecutor), dag-processor at {airflow.base_url}: healthy after "
            f"{airflow.startup_seconds or 0:.0f} s (logs: {airflow.process_log_dir})")  # fmt: skip
        for line in configure(airflow, self.paths, refresh_password):
            say(line)
        return airflow

    # ------------------------------------------------------------------ step 3
    def _onboard(self, seed: dict[str, Any], control: Any) -> None:
        self.step(
            f"onboarding {plural(self.accounts, 'account')} through the real token chain into Airflow connections"
        )
        with requests.Session() as http:
            http.trust_env = False
            for index, account in enumerate(seed["accounts"]):
                self._onboard_one(account["username"], seed, control, http, earlier=index == 0)
        say("each connection: token in the password; extras expires_at, refreshed_at, connected_at, status=ok, "
            "fingerprint, user_id, professional_account_id, username, and the app's client_secret, redirect_uri, "
            "oauth_url")  # fmt: skip

    def _onboard_one(self, username: str, seed: dict[str, Any], control: Any, http: requests.Session,
                     *, earlier: bool) -> None:  # fmt: skip
        """The chain for one account, then its connection through the REST API; only fingerprints are kept."""
        assert self.airflow is not None
        if earlier:  # a user who connected days ago: run the chain with Instagram's clock set back
            control.advance_clock(-EARLIER_DAYS * DAY)
        try:
            clock = lambda: emulator_time(control.advance_clock(0))  # noqa: E731
            onboarded, lines = onboard(self.airflow.api, f"instagram_{username}", username, seed, http, clock)
        finally:
            if earlier:
                control.advance_clock(EARLIER_DAYS * DAY)
        self.onboarded.append(onboarded)
        for line in lines:
            say(line)
        when = f"{EARLIER_DAYS} days ago (Instagram's clock set back for it)" if earlier else "now"
        say(f"  -> connection {onboarded.conn_id} through Airflow's REST API, connected {when}")

    # ------------------------------------------------------------------ runs
    def _run_dag(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Trigger ``dag_id``, wait for it, and raise with the first failed task's log unless it succeeded."""
        assert self.airflow is not None
        self.airflow.wait_for_dag(dag_id)
        began = time.monotonic()
        run_id = self.airflow.trigger(dag_id, conf)
        state = self.airflow.wait_for_run(dag_id, run_id, fail_on_retry=True)
        tasks = self.airflow.task_instances(dag_id, run_id)
        counts: dict[str, int] = {}
        for ti in tasks:
            counts[ti["task_id"]] = counts.get(ti["task_id"], 0) + 1
        done = ", ".join(f"{task_id} x{n}" if n > 1 else task_id for task_id, n in counts.items())
        if state != "success":
            order = ("up_for_retry", "failed", "upstream_failed")
            failed = sorted((ti for ti in tasks if ti["state"] in order), key=lambda ti: order.index(ti["state"]))
            first = failed[0] if failed else None
            log_file = self.airflow.task_log(dag_id, run_id, first["task_id"], first["map_index"]) if first else None
            what = f"task {first['task_id']} [{first['map_index']}] is {first['state']}" if first else "no task failed"
            raise StepFailed(f"run {run_id} of {dag_id} failed: {what}", log_file)
        say(f"run {run_id}: success in {time.monotonic() - began:.0f} s ({done})")
        return run_id

    def _mapped_xcoms(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        assert self.airflow is not None
        indexes = sorted(
            ti["map_index"] for ti in self.airflow.task_instances(dag_id, run_id) if ti["task_id"] == task_id
        )
        return [self.airflow.xcom(dag_id, run_id, task_id, map_index=index) or {} for index in indexes]

    # ------------------------------------------------------------------ step 4
    def _export(self) -> None:
        self.step(f"exporting media and profiles and loading the warehouse: DAG {EXPORT_DAG}")
        say(f"destination {self.paths.export.as_uri()} (Parquet), warehouse connection {WAREHOUSE_CONN_ID}")
        say(f"lookback_days={SPAN_DAYS}: this first run reads all {SPAN_DAYS} days of media of every account")
        run_id = self._run_dag(EXPORT_DAG, {"lookback_days": SPAN_DAYS})
        summaries = self._mapped_xcoms(EXPORT_DAG, run_id, "export_media")
        rows = [(s.get("username"), s.get("rows"), s.get("data_files"), s.get("bytes"), s.get("api_calls"))
                for s in summaries]  # fmt: skip
        say("exported per account (the export task's XCom):")
        show(text_table(("username", "rows", "data_files", "bytes", "api_calls"), rows))
        say(f"files written under {self.paths.export}:")
        show(text_table(("folder", "files", "bytes"), files_written(self.paths.export)))
        loads = self._mapped_xcoms(EXPORT_DAG, run_id, "load_warehouse")
        rows = [(load.get("user_id"), table["table"], table["rows"], table["deleted"], table["user_rows"])
                for load in loads for table in load.get("tables", [])]  # fmt: skip
        if not rows:
            raise StepFailed(f"{EXPORT_DAG} loaded nothing into the warehouse (is load_warehouse skipped?)")
        say(f"loaded into {self.paths.warehouse.name} (the load_warehouse task's XCom):")
        show(text_table(("user_id", "table", "rows", "deleted", "user_rows"), rows))

    def _insights(self) -> None:
        self.step(f"reading media, account and audience insights into the warehouse: DAG {INSIGHTS_DAG}")
        run_id = self._run_dag(INSIGHTS_DAG, {})
        summaries = self._mapped_xcoms(INSIGHTS_DAG, run_id, "export_insights")
        rows = [(s.get("conn_id"), s.get("media_read"), s.get("media_deferred"), s.get("api_calls"),
                 ", ".join(f"{d['scope']}/{d['metric']}" for d in s.get("metrics_dropped", [])) or "-")
                for s in summaries]  # fmt: skip
        say("read per account (the export_insights task's XCom):")
        show(text_table(("connection", "media_read", "deferred", "api_calls", "metrics_dropped"), rows))
        counts = query(self.paths.warehouse, INSIGHTS_PER_TABLE)
        if not all(row[1] for row in counts.rows):
            raise StepFailed(f"{INSIGHTS_DAG} left an insights table empty: {counts.rows}")
        show(counts.text())

    # ------------------------------------------------------------------ step 5
    def _refresh(self) -> None:
        assert self.airflow is not None
        self.step(f"refreshing tokens with write-back through the REST API: DAG {REFRESH_DAG}")
        earlier = self.onboarded[0]
        say("Instagram refreshes a token only once it is 24 h old, and the DAG leaves tokens refreshed in the")
        say("last 24 h alone: the accounts onboarded a moment ago stay 'fresh'. The first account connected")
        say(f"{EARLIER_DAYS} days ago, so its token is refreshed for real and written back to its connection.")
        run_id = self._run_dag(REFRESH_DAG, {})
        say("token health (the health_report task's XCom):")
        show(health_table(self.airflow.xcom(REFRESH_DAG, run_id, "health_report")))
        stored = stored_tokens(self.airflow)
        say("stored tokens (fingerprints of the connection passwords, read back from the metadata database):")
        rows = []
        for account in self.onboarded:
            now_fp, extra = stored[account.conn_id]
            changed = "changed" if now_fp != account.fingerprint else "unchanged"
            expiry = f"{account.expires_at.isoformat()[:16]} -> {str(extra.get('expires_at'))[:16]}"
            rows.append((account.conn_id, account.fingerprint, now_fp, changed, expiry.replace("T", " ")))
        show(text_table(("connection", "onboarded", "stored now", "token", "expires_at"), rows))
        if rows[0][3] != "changed":
            raise StepFailed(f"the refresh did not write a new token for {earlier.conn_id}")

    # ------------------------------------------------------------------ step 6
    def _summary(self) -> None:
        self.step(f"the warehouse, read from the file itself: {self.paths.warehouse}")
        if not self.paths.warehouse.exists():
            raise StepFailed(f"no warehouse file at {self.paths.warehouse}: the export did not load it")
        say("rows per account (instagram_media, instagram_profiles):")
        show(query(self.paths.warehouse, ROWS_PER_ACCOUNT).text())
        say("sample query: the 3 most liked posts")
        for line in SAMPLE_QUERY.strip().splitlines():
            say(f"  {line}")
        show(query(self.paths.warehouse, SAMPLE_QUERY).text())
        say("sample query: the 3 posts that reached most people, from the latest insights (a view)")
        for line in INSIGHTS_QUERY.strip().splitlines():
            say(f"  {line}")
        show(query(self.paths.warehouse, INSIGHTS_QUERY).text())
        say("outputs:")
        say(f"  warehouse      {self.paths.warehouse}")
        say(f"  export files   {self.paths.export}")
        say(f"  airflow home   {self.paths.airflow_home} (airflow.db, dags/, logs/ with every task log)")
        say(f"  process logs   {self.paths.airflow_home / 'process-logs'}")


def run_demo(
    accounts: int = 3, media: int = 40, output: str | Path = "instagram-demo", keep_running: bool = False
) -> int:
    """Run the demo; 0 on success, 1 on failure (the failing step and a log tail are printed)."""

    def terminated(signum: int, frame: Any) -> None:
        # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C does, so that every Airflow process is stopped too:
        # the components run in sessions of their own and would outlive this process.
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        return Demo(accounts, media, Path(output), keep_running).run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_demo(output: str | Path = "instagram-demo") -> int:
    """Stop the Airflow a ``--keep-running`` demo left running under ``output``; 0 when nothing is left."""
    home = DemoPaths(Path(output).resolve()).airflow_home
    left = LocalAirflow.stop_home(home)
    print(f"stopped the demo's Airflow under {home}; processes left: {len(left)}", flush=True)
    return 1 if left else 0
