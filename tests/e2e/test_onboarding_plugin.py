"""The plugin on a real API server: connecting an account from the browser, and Meta's callbacks (deauthorize,
data deletion through the bundled DAG under the real scheduler)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg2
import pytest
import requests

from airflow_provider_instagram.account.record import fingerprint
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.warehouse.dialects import POSTGRESQL
from airflow_provider_instagram.warehouse.tables import media_table, profile_table
from tests.airflow_server import AirflowServer
from tests.connections import put_connection, stored_connections
from tests.e2e.conftest import APP_CONN, CONN
from tests.postgres_server import PostgresServer

DELETION_DAG = "instagram_data_deletion"


@pytest.fixture
def browser(airflow_server: AirflowServer) -> requests.Session:
    """A browser session logged in to Airflow (the UI keeps the JWT in the ``_token`` cookie)."""
    session = requests.Session()
    session.cookies.set("_token", airflow_server.token(), domain=urlsplit(airflow_server.base_url).hostname)
    return session


def _consent(session: requests.Session, authorize_url: str, account_id: str, decision: str = "allow") -> str:
    """Click Allow (or Deny) on the emulator's consent page; where Instagram redirects the browser."""
    form = {**dict(parse_qsl(urlsplit(authorize_url).query)), "decision": decision, "account": account_id}
    answer = session.post(authorize_url.split("?")[0], data=form, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"]).removesuffix("#_")


def _start(session: requests.Session, server: AirflowServer, conn_id: str = CONN) -> str:
    """Open the start page (a link may fill it in), click Connect: where the plugin sends the browser."""
    link = session.get(f"{server.base_url}/instagram/connect", params={"conn_id": conn_id, "app_conn_id": APP_CONN},
                       timeout=30)  # fmt: skip
    assert link.status_code == 200 and f"value='{conn_id}'" in link.text  # a link only fills in the page
    form = {"conn_id": conn_id, "app_conn_id": APP_CONN, "form_token": _form_token(link.text)}
    answer = session.post(f"{server.base_url}/instagram/connect", data=form, allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _form_token(page: str) -> str:
    found = re.search(r"name='form_token' value='([^']+)'", page)
    assert found, page
    return found.group(1)


def test_the_start_page_shows_the_urls_to_register(instagram_app: dict[str, Any], browser: requests.Session,
                                                    airflow_server: AirflowServer) -> None:  # fmt: skip
    page = browser.get(f"{airflow_server.base_url}/instagram/", timeout=30)
    assert page.status_code == 200
    assert f"<code id='redirect-uri'>{instagram_app['callback']}</code>" in page.text
    assert f"{airflow_server.base_url}/instagram/meta/data-deletion" in page.text


def test_without_an_airflow_session_the_user_is_sent_to_log_in(
    instagram_app: dict[str, Any], airflow_server: AirflowServer
) -> None:
    for answer in (
        requests.get(f"{airflow_server.base_url}/instagram/", params={"conn_id": CONN}, allow_redirects=False,
                     timeout=30),
        requests.post(f"{airflow_server.base_url}/instagram/connect", data={"conn_id": CONN}, allow_redirects=False,
                      timeout=30),
    ):  # fmt: skip
        assert answer.status_code == 302 and "/auth/" in answer.headers["location"]
        assert "next=" in answer.headers["location"]


def test_a_form_this_airflow_did_not_serve_starts_nothing(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: AirflowServer
) -> None:
    """A page elsewhere that posts to /instagram/connect in a logged-in user's browser (cross-site) is refused."""
    for token in ("", "forged.token.value"):
        answer = browser.post(f"{airflow_server.base_url}/instagram/connect", allow_redirects=False, timeout=30,
                              data={"conn_id": CONN, "app_conn_id": APP_CONN, "form_token": token})  # fmt: skip
        assert answer.status_code == 403 and "open the start page again" in answer.text


def test_connect_from_the_browser_saves_a_working_token_once(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: AirflowServer
) -> None:
    account = instagram_app["accounts"][0]
    authorize = _start(browser, airflow_server)
    assert authorize.startswith(instagram_app["authorize_url"]) and "state=" in authorize
    landing = _consent(browser, authorize, account["user_id"])
    assert landing.startswith(instagram_app["callback"])
    page = browser.get(landing, timeout=60)
    assert page.status_code == 200, page.text
    assert f"@{account['username']}" in page.text and CONN in page.text and "expires" in page.text
    saved = stored_connections(airflow_server)[CONN]
    assert saved["conn_type"] == "instagram" and saved["extra"]["app_conn_id"] == APP_CONN
    assert saved["extra"]["fingerprint"] == fingerprint(saved["password"]) and saved["extra"]["status"] == "ok"
    hook = InstagramHook(instagram_conn_id=APP_CONN, connection=instagram_app["app_connection"])
    profile = hook.get_profile(["username"], token=saved["password"])
    assert profile["username"] == account["username"]
    assert saved["password"] not in page.text

    replay = browser.get(landing, timeout=60)  # the same redirect again: the state is single-use
    assert replay.status_code == 400 and "already used" in replay.text
    assert stored_connections(airflow_server)[CONN]["password"] == saved["password"]


def test_deny_and_forged_states_save_nothing(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: AirflowServer
) -> None:
    denied = browser.get(
        _consent(browser, _start(browser, airflow_server), instagram_app["accounts"][0]["user_id"], "deny")
    )
    assert denied.status_code == 400 and "(Instagram: access_denied)" in denied.text

    landing = _consent(browser, _start(browser, airflow_server), instagram_app["accounts"][0]["user_id"])
    query = dict(parse_qsl(urlsplit(landing).query))
    forged = {**query, "state": query["state"][:-3] + ("AAA" if not query["state"].endswith("AAA") else "BBB")}
    answer = browser.get(instagram_app["callback"], params=forged, timeout=30)
    assert answer.status_code == 400 and "not valid" in answer.text
    logged_out = requests.get(landing, timeout=30)  # the right state, but no Airflow session
    assert logged_out.status_code == 401
    assert CONN not in stored_connections(airflow_server)


def test_deauthorize_revokes_the_account_and_a_forged_request_does_nothing(
    instagram_app: dict[str, Any], airflow_server: AirflowServer, emulator_client: EmulatorClient
) -> None:
    account = instagram_app["accounts"][1]
    put_connection(airflow_server, CONN, password=account["access_token"],
                   extra={"app_conn_id": APP_CONN, "user_id": account["user_id"], "app_user_id": account["id"],
                          "status": "ok"})  # fmt: skip
    url = f"{airflow_server.base_url}/instagram/meta/deauthorize"
    forged = emulator_client.send_signed_request(url, account["id"], app_secret="not the app's secret")
    assert forged["status"] == 400 and forged["body"] == ""
    assert stored_connections(airflow_server)[CONN]["password"] == account["access_token"]

    answer = emulator_client.send_signed_request(url, account["id"])  # Meta names the app-scoped id
    assert answer["status"] == 200 and json.loads(answer["body"])["accounts"] == 1
    saved = stored_connections(airflow_server)[CONN]
    assert not saved["password"] and saved["extra"]["status"] == "revoked"
    assert "removed the app" in saved["extra"]["status_reason"]


@pytest.fixture
def exported(
    tmp_path: Path, airflow_server: AirflowServer, postgres_server: PostgresServer
) -> Iterator[dict[str, Any]]:
    """Two users' exported files and warehouse rows, and the Variables the deletion DAG reads."""
    root = tmp_path / "export"
    for user in ("111", "222"):
        for folder in ("media", "profiles", "files", "_staging"):
            part = root / folder / f"user_id={user}" / "dt=2026-11-01"
            part.mkdir(parents=True)
            (part / "part-00000.parquet").write_bytes(b"x")
    database = f"deletion_{tmp_path.name.lower().replace('-', '_')}"[:60]
    postgres_server.create_database(database)
    dsn = f"host=127.0.0.1 port={postgres_server.port} user={postgres_server.user} dbname={database}"
    with psycopg2.connect(dsn) as db, db.cursor() as cursor:
        for spec in (media_table(), profile_table()):
            for statement in spec.create_sql(POSTGRESQL):
                cursor.execute(statement)
        for user in ("111", "222"):
            cursor.execute("INSERT INTO instagram_media (user_id, id) VALUES (%s, %s), (%s, %s)",
                           (user, f"{user}-1", user, f"{user}-2"))  # fmt: skip
            cursor.execute("INSERT INTO instagram_profiles (id, exported_at) VALUES (%s, now())", (user,))
    put_connection(airflow_server, "deletion_wh", conn_type="postgres", host="127.0.0.1", port=postgres_server.port,
                   login=postgres_server.user, schema=database)  # fmt: skip
    variables = {"instagram_export_destination": f"file://{root}", "instagram_warehouse_conn_id": "deletion_wh"}
    for key, value in variables.items():
        airflow_server.request("DELETE", f"/api/v2/variables/{key}")
        assert airflow_server.request("POST", "/api/v2/variables", json={"key": key, "value": value}).status_code == 201
    yield {"root": root, "dsn": dsn}
    for key in variables:
        airflow_server.request("DELETE", f"/api/v2/variables/{key}")
    airflow_server.request("DELETE", "/api/v2/connections/deletion_wh")


def test_data_deletion_removes_one_users_files_and_rows_and_nothing_else(
    instagram_app: dict[str, Any],
    exported: dict[str, Any],
    airflow_server: AirflowServer,
    emulator_client: EmulatorClient,
) -> None:
    account = instagram_app["accounts"][0]
    put_connection(airflow_server, CONN, password=account["access_token"], extra={
        "app_conn_id": APP_CONN, "user_id": "111", "app_user_id": account["id"], "status": "ok",
    })  # fmt: skip
    airflow_server.wait_for_dag(DELETION_DAG)
    answer = emulator_client.send_signed_request(f"{airflow_server.base_url}/instagram/meta/data-deletion",
                                                 account["id"])  # fmt: skip
    assert answer["status"] == 200, answer
    body = json.loads(answer["body"])
    code = body["confirmation_code"]
    assert code.isalnum() and body["url"] == f"{airflow_server.base_url}/instagram/meta/deletion/{code}"

    assert airflow_server.wait_for_run(DELETION_DAG, f"meta_deletion__{code}", timeout=300) == "success"
    status = requests.get(body["url"], timeout=30)
    assert status.status_code == 200 and "<b id='status'>done</b>" in status.text
    assert account["username"] not in status.text and "user_id" not in status.text

    root: Path = exported["root"]
    remaining = sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))
    assert remaining == [f"{f}/user_id=222/dt=2026-11-01/part-00000.parquet"
                         for f in ("_staging", "files", "media", "profiles")]  # fmt: skip
    with psycopg2.connect(exported["dsn"]) as db, db.cursor() as cursor:
        cursor.execute("SELECT user_id, count(*) FROM instagram_media GROUP BY user_id")
        assert dict(cursor.fetchall()) == {"222": 2}
        cursor.execute("SELECT id FROM instagram_profiles")
        assert cursor.fetchall() == [("222",)]
    saved = stored_connections(airflow_server)[CONN]
    assert not saved["password"] and saved["extra"]["status"] == "revoked"
    assert requests.get(f"{airflow_server.base_url}/instagram/meta/deletion/nosuchcode", timeout=30).status_code == 404


def test_a_forged_deletion_request_starts_nothing(
    instagram_app: dict[str, Any], airflow_server: AirflowServer, emulator_client: EmulatorClient
) -> None:
    put_connection(airflow_server, CONN, password="t", extra={"app_conn_id": APP_CONN, "user_id": "111"})
    url = f"{airflow_server.base_url}/instagram/meta/data-deletion"
    before = airflow_server.request("GET", f"/api/v2/dags/{DELETION_DAG}/dagRuns").json().get("total_entries", 0)
    for forged in ({"signed_request": "abc.def"}, {}):
        assert requests.post(url, data=forged, timeout=30).status_code == 400
    assert (
        emulator_client.send_signed_request(url, instagram_app["accounts"][0]["user_id"], app_secret="wrong")["status"]
        == 400
    )
    after = airflow_server.request("GET", f"/api/v2/dags/{DELETION_DAG}/dagRuns").json().get("total_entries", 0)
    assert after == before
    assert stored_connections(airflow_server)[CONN]["password"] == "t"


def test_other_types_of_connection_are_neither_overwritten_nor_used_as_the_app(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: AirflowServer
) -> None:
    put_connection(airflow_server, CONN, conn_type="postgres", host="db", password="the database password")
    put_connection(airflow_server, "web_pg", conn_type="postgres", host="db", password="another password")
    token = _form_token(browser.get(f"{airflow_server.base_url}/instagram/", timeout=30).text)
    try:
        cases = ((CONN, APP_CONN, 409, "is of type postgres"), ("web_other", "web_pg", 400, "not an Instagram app"))
        for conn_id, app_conn_id, status, words in cases:
            form = {"conn_id": conn_id, "app_conn_id": app_conn_id, "form_token": token}
            answer = browser.post(
                f"{airflow_server.base_url}/instagram/connect", data=form, allow_redirects=False, timeout=30
            )
            assert answer.status_code == status and words in answer.text
            assert "another password" not in answer.text
        assert stored_connections(airflow_server)[CONN]["password"] == "the database password"
    finally:
        airflow_server.request("DELETE", "/api/v2/connections/web_pg")
