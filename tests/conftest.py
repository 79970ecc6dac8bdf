from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator
from airflow_provider_instagram.export.media_export import ExportSummary, MediaExport
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer
from tests.support.faulty_proxy import FaultyProxy
from tests.support.instagram import FAST, Export, Sleeps, last_days
from tests.support.s3_server import CONN_ID as S3_CONN_ID
from tests.support.s3_server import S3Server
from tests.support.warehouse import KINDS, Warehouse, make_warehouse

pytest_plugins = ["airflow_provider_instagram.emulator.pytest_plugin"]


@pytest.hookimpl(tryfirst=True)  # xdist's worker turns the marks into groups in this same hook: mark first
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of the session's Airflow is marked ``airflow`` (as are those that start one of their own), so
    that ``pytest -m "not airflow"`` is the fast loop: no Airflow process, a few seconds. With ``-n 3 --dist
    loadgroup`` (make test) they go to two groups, each on one worker with a session Airflow of its own: the tests
    that mostly wait for DAG runs, and the ones that mostly call the REST API and the plugin. Their waits overlap;
    the third worker runs everything else (tests that start an Airflow of their own, the clock check, unit
    tests)."""
    for item in items:
        if "airflow_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.airflow)
            runs_dags = item.path.name in DAG_RUN_MODULES
            item.add_marker(pytest.mark.xdist_group("airflow_dag_runs" if runs_dags else "airflow_rest"))


REPO = Path(__file__).resolve().parent.parent
API_USER, API_PASSWORD = "admin", "admin-password"
TOKEN_REFRESH_DAG, MEDIA_EXPORT_DAG = "instagram_token_refresh", "instagram_media_export"
# Test modules whose tests mostly wait for DAG runs (see pytest_collection_modifyitems).
DAG_RUN_MODULES = frozenset({
    "test_token_refresh_dag.py", "test_media_export_dag.py", "test_docs_examples.py", "test_instagram_page.py",
})  # fmt: skip
DAG_WAREHOUSE = "dag_warehouse"


@pytest.fixture(scope="session")
def airflow_api_proxy() -> Iterator[FaultyProxy]:
    """A fault-injecting proxy in front of the session's Airflow API server (its target is set once it runs)."""
    with FaultyProxy(target="http://127.0.0.1:9") as proxy:
        yield proxy


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on loopback for the session, with the export bucket."""
    with S3Server() as server:
        yield server


@pytest.fixture
def s3_connection(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server, reachable from this process as connection ``s3_export``."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN_ID.upper()}", s3_server.connection_json())
    return s3_server


@pytest.fixture(scope="session")
def airflow_server(
    airflow_api_proxy: FaultyProxy,
    s3_server: S3Server,
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalAirflow]:
    """One real Airflow (API server, scheduler with LocalExecutor, DAG processor) for the session, its metadata
    database on the session's PostgreSQL server (SQLite's one writer at a time failed REST writes under load), on a
    DAG folder holding the repository's ``dags/`` (tests may add DAG files of their own to ``dags_folder``). Tasks
    reach the REST API through ``airflow_api_proxy`` (connection airflow_api_default, with short retry waits: the
    tests inject failures); connection ``dag_warehouse`` is a PostgreSQL database of their own."""
    dags = tmp_path_factory.mktemp("dags")
    for dag_file in (REPO / "dags").glob("*.py"):
        (dags / dag_file.name).symlink_to(dag_file)
    api_conn = {"conn_type": "http", "host": airflow_api_proxy.url, "login": API_USER, "password": API_PASSWORD,
                "extra": {"retry_wait": 0.05}}  # fmt: skip
    env = {
        "AIRFLOW_CONN_AIRFLOW_API_DEFAULT": json.dumps(api_conn),
        f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": s3_server.connection_json(),
        f"AIRFLOW_CONN_{DAG_WAREHOUSE.upper()}": postgres_server.create_database(DAG_WAREHOUSE),
    }
    postgres_server.create_database("airflow_metadata")
    # The DAG files of a session do not change: no constant re-parsing.
    # Test buttons on, as the docs tell users to turn them on.
    settings = {"dag_processor": {"min_file_process_interval": "300"}, "core": {"test_connection": "Enabled"}}
    with LocalAirflow(dags_folder=dags, env=env, settings=settings, users={API_USER: ("admin", API_PASSWORD)},
                      database_url=postgres_server.sqlalchemy_url("airflow_metadata")) as server:  # fmt: skip
        airflow_api_proxy.target = server.base_url
        # The scheduled DAGs start a run of their own as soon as they are parsed: with no account yet it has
        # nothing to do; once ended, it cannot export a test's accounts beside (or queue ahead of) the test's run.
        assert server.settle_first_scheduled_runs(TOKEN_REFRESH_DAG) == ["success"]
        assert server.settle_first_scheduled_runs(MEDIA_EXPORT_DAG) == ["success"]
        yield server


@pytest.fixture
def api_proxy(airflow_server: LocalAirflow, airflow_api_proxy: FaultyProxy) -> Iterator[FaultyProxy]:
    """The proxy with no fault rules, and none left behind."""
    airflow_api_proxy.clear()
    yield airflow_api_proxy
    airflow_api_proxy.clear()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(
    instagram_emulator: InstagramEmulator, emulator_client: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    sleeps: Sleeps,
) -> Callable[..., InstagramHook]:  # fmt: skip
    """Define ``instagram_default`` from the emulator's seed (env var, as Airflow reads it) and build a hook."""

    def make(account: int = 0, token: str | None = None, policy: RetryPolicy = FAST, **extra: Any) -> InstagramHook:
        seed = emulator_client.seed()
        conn_extra = {
            "client_secret": seed["client_secret"], "redirect_uri": seed["redirect_uri"], "api": seed["api"],
            "oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"], **extra,
        }  # fmt: skip
        password = token if token is not None else seed["accounts"][account]["access_token"]
        conn = {"conn_type": "instagram", "host": seed["graph_url"], "login": seed["client_id"],
                "password": password, "extra": conn_extra}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_DEFAULT", json.dumps(conn))
        clock = lambda: datetime.fromtimestamp(instagram_emulator.backend.now(), UTC)  # noqa: E731
        return InstagramHook(retry_policy=policy, sleep=sleeps, clock=clock)

    return make


@pytest.fixture
def export(
    connect: Callable[..., InstagramHook], emulator_client: EmulatorClient, sleeps: Sleeps, tmp_path: Path
) -> Export:
    """Run one export of ``instagram_default`` (the emulator's first account) to ``tmp_path/out`` by default, with
    the emulator's clock as the export's clock."""

    def run(
        window: ExportWindow | None = None,
        destination: ObjectStoragePath | None = None,
        account: int = 0,
        **options: Any,
    ) -> ExportSummary:
        connect(account)
        target = destination or ObjectStoragePath(f"file://{tmp_path / 'out'}")
        options.setdefault("progress_seconds", 0.0)
        options.setdefault("clock", emulator_client.now)
        factory = lambda: InstagramHook(retry_policy=FAST, sleep=sleeps)  # noqa: E731
        window = window or last_days(30, emulator_client.now())
        return MediaExport(factory, target, window, conn_id="instagram_default", **options).run()

    return run


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback for the whole session (Debian's packages)."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=KINDS)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """Connection ``warehouse``: an empty SQLite file, DuckDB file or PostgreSQL database, in turn."""
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    return make_warehouse(request.param, tmp_path, monkeypatch, pg)
