"""The examples of the docs (README.md and docs/*.md), run as written against the session's Airflow, the emulator,
moto's S3 and PostgreSQL.

The account they use, ``instagram_acme``, is onboarded by the docs' own ``airflow-instagram connect`` commands
(a real authorization window, the real token chain), not written by hand.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import psycopg2
import pytest
import requests

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer, free_port
from tests.support.connections import put_connection, stored_connections
from tests.support.docs_examples import commands, dag_file, examples
from tests.support.instagram import pinned
from tests.support.s3_server import CREDENTIALS, S3Server

ACCOUNT, APP, DAG_ID = "instagram_acme", "instagram_app", "readme_examples"


@pytest.fixture
def deployment(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, s3_server: S3Server,
    postgres_server: PostgresServer,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """What the docs assume a deployment has: the app connection, an S3 connection with the bucket, and a
    warehouse connection; nothing about the account."""
    redirect_uri = f"http://127.0.0.1:{free_port()}/instagram/callback"
    pinned(emulator_client, redirect_uris=[redirect_uri], accounts=2, media=40)
    seed = emulator_client.seed()
    put_connection(airflow_server, APP, host=seed["graph_url"], login=seed["client_id"],
                   password=seed["client_secret"], extra={"redirect_uri": redirect_uri, "oauth_url": seed["oauth_url"],
                   "authorize_url": seed["authorize_url"], "api_version": seed["api_version"]})  # fmt: skip
    put_connection(airflow_server, "aws_default", conn_type="aws", login=CREDENTIALS["aws_access_key_id"],
                   password=CREDENTIALS["aws_secret_access_key"],
                   extra={"endpoint_url": s3_server.url, "region_name": CREDENTIALS["region_name"]})  # fmt: skip
    boto3.client("s3", endpoint_url=s3_server.url, **CREDENTIALS).create_bucket(Bucket="my-bucket")
    postgres_server.create_database("readme_warehouse")
    dsn = {
        "host": "127.0.0.1",
        "port": postgres_server.port,
        "user": postgres_server.user,
        "dbname": "readme_warehouse",
    }
    put_connection(airflow_server, "warehouse", conn_type="postgres", host=dsn["host"], port=dsn["port"],
                   login=dsn["user"], schema=dsn["dbname"])  # fmt: skip
    airflow_server.request("DELETE", f"/api/v2/connections/{ACCOUNT}")
    yield {**seed, "redirect_uri": redirect_uri, "dsn": dsn}
    (airflow_server.dags_folder / f"{DAG_ID}.py").unlink(missing_ok=True)
    for conn_id in (ACCOUNT, APP, "aws_default", "warehouse"):
        airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")


def _run_connect(words: list[str], server: LocalAirflow, account: dict[str, Any]) -> str:
    """Run one documented command on the Airflow host, and do in the "browser" what the user does: open the URL it
    prints, pick the account, click Allow. Its output."""
    env = {**server.env, "BROWSER": "true"}  # a headless machine: nothing to open
    with subprocess.Popen(words, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        url = next(line.strip() for line in process.stdout if line.strip().startswith("http"))
        form = {**dict(parse_qsl(urlsplit(url).query)), "decision": "allow", "account": account["user_id"]}
        assert requests.post(url.split("?")[0], data=form, timeout=30).status_code == 200
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def test_the_docs_onboard_an_account_then_export_and_load_it(
    deployment: dict[str, Any], airflow_server: LocalAirflow, emulator_client: EmulatorClient,
    s3_server: S3Server,
) -> None:  # fmt: skip
    account = deployment["accounts"][1]
    (connect,) = examples("connect")
    outputs = [_run_connect(words, airflow_server, account) for words in commands(connect)]
    assert len(outputs) == 2
    assert f"Created connection '{ACCOUNT}': @{account['username']}" in outputs[0]
    assert f"Updated connection '{ACCOUNT}': @{account['username']}" in outputs[1]
    saved = stored_connections(airflow_server)[ACCOUNT]
    assert (saved["extra"]["user_id"], saved["extra"]["app_conn_id"]) == (account["user_id"], APP)

    (airflow_server.dags_folder / f"{DAG_ID}.py").write_text(dag_file(DAG_ID, examples("dag"), examples("task")))
    airflow_server.wait_for_dag(DAG_ID)
    run_id = airflow_server.trigger(DAG_ID, logical_date=emulator_client.now())
    assert airflow_server.wait_for_run(DAG_ID, run_id, timeout=300) == "success"

    exported = airflow_server.xcom(DAG_ID, run_id, "export_media")
    loaded = airflow_server.xcom(DAG_ID, run_id, "load")
    assert exported["user_id"] == loaded["user_id"] == account["user_id"]
    # a manual run owns the day before its logical date (two UTC days), and the export example's 2 look-back days
    assert exported["window"].startswith("2026-11-25 to 2026-11-28") and exported["rows"] > 0
    s3 = boto3.client("s3", endpoint_url=s3_server.url, **CREDENTIALS)
    listed = s3.list_objects_v2(Bucket="my-bucket", Prefix="instagram/media/")["Contents"]
    assert {item["Key"].split("/")[2] for item in listed} == {f"user_id={account['user_id']}"}
    with psycopg2.connect(**deployment["dsn"]) as db, db.cursor() as cursor:
        cursor.execute("SELECT user_id, count(*) FROM instagram_media GROUP BY user_id")
        assert dict(cursor.fetchall()) == {account["user_id"]: exported["rows"]}
    states = {ti["task_id"]: ti["state"] for ti in airflow_server.task_instances(DAG_ID, run_id)}
    assert states == {"export_media": "success", "load": "success", "export_insights": "success",
                      "load_insights": "success", "example_task_0": "success"}  # fmt: skip
    insights = airflow_server.xcom(DAG_ID, run_id, "export_insights")
    assert insights["media_read"] == insights["media_known"] == 40 and not insights["metrics_dropped"]
    (query,) = examples("sql")  # the dashboard's query of docs/insights.md, on what the run loaded
    with psycopg2.connect(**deployment["dsn"]) as db, db.cursor() as cursor:
        cursor.execute(query.code)
        weekly = cursor.fetchall()
    assert len(weekly) == 40, "one row per post and week: every post was read once, this week"
    assert all((reach is None) == (saves is None) for _, _, reach, saves in weekly)
    assert len([row for row in weekly if row[2] is not None]) >= 35  # the newest posts have no data yet (24 h)
