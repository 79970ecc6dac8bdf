"""The distributed deployment of the Celery tests and of the scaling benchmark: Airflow on the CeleryExecutor with
two workers, each a machine of its own as far as files go, Redis as the broker, the metadata DB and the warehouses
on PostgreSQL, the exports on S3 (moto's server), Instagram played by the emulator.

The scheduler runs two executors, ``CeleryExecutor,LocalExecutor``: the bundled DAGs run on Celery (the default),
and a copy of the refresh and the export whose tasks name ``executor="LocalExecutor"`` is the reference run of the
same data on the same deployment.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from airflow_provider_instagram.airflow_api import DEFAULT_API_CONN_ID
from airflow_provider_instagram.dag_files import DELETION_DAG_ID, EXPORT_DAG_ID, REFRESH_DAG_ID
from airflow_provider_instagram.demo.onboarding import onboard
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE, WAREHOUSE_VARIABLE
from airflow_provider_instagram.local_airflow import CeleryWorker, LocalAirflow, PostgresServer, RedisServer
from tests.support.connections import put_connection, put_variable
from tests.support.s3_server import BUCKET, S3Server
from tests.support.s3_server import CONN_ID as S3_CONN_ID

REPO = Path(__file__).resolve().parents[2]
REFRESH_USER = "instagram-refresh"
LOCAL = "_local"  # suffix of the LocalExecutor copies of the DAGs
WORKERS = ("north", "south")
WAREHOUSES = ("wh_celery", "wh_local", "wh_kill")
LINEAGE_FILE = "openlineage.jsonl"
DAY = 86400.0

# The bundled factories, as the bundled files call them, with no schedule (the tests trigger every run) and, for the
# export, retries two seconds apart instead of five minutes (the worker-kill test waits for the retry).
DAG_FILES = {
    f"{REFRESH_DAG_ID}.py": "from airflow_provider_instagram.tokens.dag import create_token_refresh_dag\n\n"
    "dag = create_token_refresh_dag(schedule=None)\n",
    f"{EXPORT_DAG_ID}.py": "from datetime import timedelta\n\n"
    "from airflow_provider_instagram.export.dag import create_media_export_dag\n\n"
    "dag = create_media_export_dag(schedule=None, default_args={'retries': 2, 'retry_delay': timedelta(seconds=2)})\n",
    f"{REFRESH_DAG_ID}{LOCAL}.py": "from airflow_provider_instagram.tokens.dag import create_token_refresh_dag\n\n"
    f"dag = create_token_refresh_dag('{REFRESH_DAG_ID}{LOCAL}', schedule=None,\n"
    "                                default_args={'executor': 'LocalExecutor'})\n",
    f"{EXPORT_DAG_ID}{LOCAL}.py": "from airflow_provider_instagram.export.dag import create_media_export_dag\n\n"
    f"dag = create_media_export_dag('{EXPORT_DAG_ID}{LOCAL}', schedule=None,\n"
    "                               default_args={'executor': 'LocalExecutor'})\n",
}


@dataclass
class Cluster:
    """The running deployment and what the tests need to reach around it."""

    airflow: LocalAirflow
    workers: list[CeleryWorker]
    emulator: EmulatorClient
    s3: S3Server
    postgres: PostgresServer
    root: Path
    seed: dict[str, Any] = field(default_factory=dict)

    def add_workers(self, names: Sequence[str], concurrency: int) -> None:
        """Start workers side by side, each with its home under :attr:`root` and its OpenLineage file there."""
        started = []
        for name in names:
            home = self.root / f"worker-{name}"
            settings = lineage_settings(home / LINEAGE_FILE)
            started.append(CeleryWorker(self.airflow, name, home=home, concurrency=concurrency, settings=settings))
        for worker in started:
            worker.spawn()
        for worker in started:
            worker.wait_ready()
        self.workers += started

    def destination(self, name: str) -> str:
        return f"s3://{S3_CONN_ID}@{BUCKET}/{name}"

    def worker_of(self, log_file: Path) -> str:
        """The name of the worker whose home holds ``log_file`` (``scheduler`` for the deployment's own)."""
        for worker in self.workers:
            if log_file.is_relative_to(worker.home):
                return worker.name
        return "scheduler"


def celery_settings(broker_url: str) -> dict[str, dict[str, str]]:
    """What turns the deployment into a Celery one (docs/deployment.md names the same settings)."""
    return {
        "core": {"executor": "CeleryExecutor,LocalExecutor", "parallelism": "8"},
        "celery": {"broker_url": broker_url, "worker_prefetch_multiplier": "1"},
        # A worker lost mid-task: its tasks stop heartbeating and are failed (then retried) after this long.
        "scheduler": {"task_instance_heartbeat_timeout": "20",
                      "task_instance_heartbeat_timeout_detection_interval": "2"},
        "dag_processor": {"min_file_process_interval": "300"},
    }  # fmt: skip


def lineage_settings(path: Path) -> dict[str, dict[str, str]]:
    """OpenLineage's file transport, one file per worker (each on its own disk)."""
    transport = {"type": "file", "log_file_path": str(path), "append": True}
    return {"openlineage": {"transport": json.dumps(transport), "namespace": "instagram-celery-test"}}


@contextmanager
def celery_cluster(
    emulator_url: str, s3: S3Server, postgres: PostgresServer, root: Path, *, workers: Sequence[str] = WORKERS,
    concurrency: int = 2, accounts: int = 4, media: int = 60,
) -> Iterator[Cluster]:  # fmt: skip
    """Start the deployment under ``root`` (its DAG folder, each worker's home), configured as a platform team
    would, with the emulator reset to ``accounts`` accounts of ``media`` media; stop it all on exit."""
    dags = root / "dags"
    dags.mkdir(parents=True)
    for name, text in DAG_FILES.items():
        (dags / name).write_text(text)
    (dags / f"{DELETION_DAG_ID}.py").write_text((REPO / "dags" / f"{DELETION_DAG_ID}.py").read_text())
    postgres.create_database("celery_metadata")
    for name in WAREHOUSES:
        postgres.create_database(name)
    refresh_password = secrets.token_urlsafe(16)
    users = {"admin": ("admin", secrets.token_urlsafe(16)), REFRESH_USER: ("op", refresh_password)}
    env = {f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": s3.connection_json()}  # as a secrets backend would hold it
    with RedisServer() as redis, LocalAirflow(
        dags_folder=dags, users=users, env=env, database_url=postgres.sqlalchemy_url("celery_metadata"),
        settings=celery_settings(redis.url),
    ) as airflow:  # fmt: skip
        cluster = Cluster(airflow, [], EmulatorClient(emulator_url), s3, postgres, root)
        cluster.add_workers(workers, concurrency)
        cluster.seed = configure(airflow, cluster.emulator, postgres, refresh_password, accounts, media)
        yield cluster


def configure(
    airflow: LocalAirflow, client: EmulatorClient, postgres: PostgresServer, refresh_password: str, accounts: int,
    media: int,
) -> dict[str, Any]:  # fmt: skip
    """What a platform team creates once: the REST identity of the refresh, the Instagram app (for Meta's
    callbacks), the warehouses, and the Variables of the export and the deletion."""
    callback = f"{airflow.base_url}/instagram/oauth/callback"
    seed = client.reset(
        accounts=accounts,
        media=media,
        span_days=10,
        redirect_uris=[callback],
        auto_consent=True,
        refresh_rotates_token=True,
    )
    put_connection(airflow, DEFAULT_API_CONN_ID, "http", host=airflow.base_url, login=REFRESH_USER,
                   password=refresh_password)  # fmt: skip
    put_connection(airflow, "instagram_app", "instagram_app", host=seed["graph_url"], login=seed["client_id"],
                   password=seed["client_secret"], extra={"oauth_url": seed["oauth_url"],
                   "authorize_url": seed["authorize_url"], "api_version": seed["api_version"]})  # fmt: skip
    for name in WAREHOUSES:
        put_connection(airflow, name, "postgres", host="127.0.0.1", port=postgres.port, login=postgres.user,
                       schema=name)  # fmt: skip
    put_variable(airflow, DESTINATION_VARIABLE, f"s3://{S3_CONN_ID}@{BUCKET}/celery")
    put_variable(airflow, WAREHOUSE_VARIABLE, "wh_celery")
    return seed


def onboard_accounts(cluster: Cluster, days_ago: float) -> dict[str, str]:
    """Every emulator account onboarded the way users do (consent, then ``airflow-instagram connect``'s function),
    with Instagram's clock set back ``days_ago`` (tokens at least a day old are refreshed); connection id -> user id."""
    client = cluster.emulator
    client.advance_clock(-days_ago * DAY)
    connected = {}
    try:
        with requests.Session() as http:
            http.trust_env = False
            for account in cluster.seed["accounts"]:
                conn_id = f"instagram_{account['username']}"
                onboarded, _ = onboard(cluster.airflow.api, conn_id, account["username"], cluster.seed, http,
                                       lambda: client.now())  # fmt: skip
                connected[conn_id] = onboarded.user_id
    finally:
        client.advance_clock(days_ago * DAY)
    return connected
