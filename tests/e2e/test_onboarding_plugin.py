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
from airflow_provider_instagram.local_airflow import LocalAirflow, PostgresServer
from tests.e2e.conftest import APP_CONN, CONN, OTHER
from tests.support.connections import (
    connection_list_test_body,
    delete_variable,
    put_connection,
    put_variable,
    stored_connections,
)

DELETION_DAG, EXPORT_DAG, REFRESH_DAG = "instagram_data_deletion", "instagram_media_export", "instagram_token_refresh"


@pytest.fixture
def browser(airflow_server: LocalAirflow) -> requests.Session:
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


def _start(session: requests.Session, server: LocalAirflow, conn_id: str = CONN) -> str:
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
                                                    airflow_server: LocalAirflow) -> None:  # fmt: skip
    page = browser.get(f"{airflow_server.base_url}/instagram/", timeout=30)
    assert page.status_code == 200
    assert f"<code id='redirect-uri'>{instagram_app['callback']}</code>" in page.text
    assert f"{airflow_server.base_url}/instagram/meta/data-deletion" in page.text


def test_without_an_airflow_session_the_user_is_sent_to_log_in(
    instagram_app: dict[str, Any], airflow_server: LocalAirflow
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
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
) -> None:
    """A page elsewhere that posts to /instagram/connect in a logged-in user's browser (cross-site) is refused."""
    for token in ("", "forged.token.value"):
        answer = browser.post(f"{airflow_server.base_url}/instagram/connect", allow_redirects=False, timeout=30,
                              data={"conn_id": CONN, "app_conn_id": APP_CONN, "form_token": token})  # fmt: skip
        assert answer.status_code == 403 and "open the start page again" in answer.text


def test_connect_from_the_browser_saves_a_working_token_once(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
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
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
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


def _connect_in_browser(
    browser: requests.Session, server: LocalAirflow, conn_id: str, account: dict[str, Any]
) -> dict[str, Any]:
    """The user's whole path on the plugin's pages: start, Allow on Instagram, the result page; the saved row."""
    page = browser.get(_consent(browser, _start(browser, server, conn_id), account["user_id"]), timeout=60)
    assert page.status_code == 200 and f"@{account['username']}" in page.text, page.text
    return stored_connections(server)[conn_id]


def test_deauthorize_revokes_the_account_and_a_forged_request_does_nothing(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    account = instagram_app["accounts"][1]
    connected = _connect_in_browser(browser, airflow_server, CONN, account)
    assert connected["extra"]["user_id"] == account["id"]  # the id Meta's callbacks name
    url = f"{airflow_server.base_url}/instagram/meta/deauthorize"
    forged = emulator_client.send_signed_request(url, account["id"], app_secret="not the app's secret")
    assert forged["status"] == 400 and forged["body"] == ""
    assert stored_connections(airflow_server)[CONN]["password"] == connected["password"]

    answer = emulator_client.send_signed_request(url, account["id"])
    assert answer["status"] == 200 and json.loads(answer["body"])["accounts"] == 1
    saved = stored_connections(airflow_server)[CONN]
    assert not saved["password"] and saved["extra"]["status"] == "revoked"
    assert "removed the app" in saved["extra"]["status_reason"] and "fingerprint" not in saved["extra"]
    assert "deletion_requested_at" not in saved["extra"]


def _refresh_outcome(server: LocalAirflow, conn_id: str) -> dict[str, Any]:
    run_id = server.trigger(REFRESH_DAG, conf={})
    server.wait_for_run(REFRESH_DAG, run_id, timeout=300)
    report = server.xcom(REFRESH_DAG, run_id, "health_report")
    return {a["connection"]: a for a in report["accounts"]}[conn_id]


def test_a_revoked_account_comes_back_when_a_new_token_is_put_in_its_password(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow,
    emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    """The README's recovery, under the real scheduler: Meta revoked the account (its token cleared); a human
    pastes a new long-lived token into the password field; the next refresh takes it up."""
    account = instagram_app["accounts"][0]
    _connect_in_browser(browser, airflow_server, CONN, account)
    answer = emulator_client.send_signed_request(f"{airflow_server.base_url}/instagram/meta/deauthorize", account["id"])
    assert answer["status"] == 200
    assert _refresh_outcome(airflow_server, CONN)["outcome"] == "reauth_required"

    code = emulator_client.issue_code(user=account["username"], redirect_uri=instagram_app["callback"])
    app = {"client_secret": instagram_app["client_secret"], "redirect_uri": instagram_app["callback"]}
    from airflow.sdk import Connection

    chain = InstagramHook(instagram_conn_id="chain", connection=Connection(
        conn_id="chain", conn_type="instagram", host=instagram_app["graph_url"], login=instagram_app["client_id"],
        extra=json.dumps({**app, "oauth_url": instagram_app["oauth_url"]})))  # fmt: skip
    token = chain.get_long_lived_token(code).access_token
    body = {"connection_id": CONN, "conn_type": "instagram", "password": token}  # the UI's edit form, as REST
    patched = airflow_server.request("PATCH", f"/api/v2/connections/{CONN}", params={"update_mask": "password"},
                                     json=body)  # fmt: skip
    assert patched.status_code == 200, patched.text
    emulator_client.advance_clock(2 * 86_400)  # Instagram refreshes tokens at least 24 h old

    outcome = _refresh_outcome(airflow_server, CONN)
    assert outcome["outcome"] == "refreshed" and outcome["status"] == "ok"
    saved = stored_connections(airflow_server)[CONN]
    assert saved["extra"]["status"] == "ok" and saved["extra"]["fingerprint"] == fingerprint(saved["password"])


@pytest.fixture
def warehouse_and_destination(
    tmp_path: Path, airflow_server: LocalAirflow, postgres_server: PostgresServer
) -> Iterator[dict[str, Any]]:
    """An empty export destination and PostgreSQL warehouse, set as the Variables both bundled DAGs read."""
    root = tmp_path / "export"
    database = f"deletion_{tmp_path.name.lower().replace('-', '_')}"[:60]
    postgres_server.create_database(database)
    dsn = f"host=127.0.0.1 port={postgres_server.port} user={postgres_server.user} dbname={database}"
    put_connection(airflow_server, "deletion_wh", conn_type="postgres", host="127.0.0.1", port=postgres_server.port,
                   login=postgres_server.user, schema=database)  # fmt: skip
    variables = {"instagram_export_destination": f"file://{root}", "instagram_warehouse_conn_id": "deletion_wh"}
    for key, value in variables.items():
        put_variable(airflow_server, key, value)
    yield {"root": root, "dsn": dsn}
    for key in variables:
        delete_variable(airflow_server, key)
    airflow_server.request("DELETE", "/api/v2/connections/deletion_wh")


def _rows_by_user(dsn: str) -> dict[str, dict[str, int]]:
    with psycopg2.connect(dsn) as db, db.cursor() as cursor:
        cursor.execute("SELECT user_id, count(*) FROM instagram_media GROUP BY user_id")
        media = dict(cursor.fetchall())
        cursor.execute("SELECT id, count(*) FROM instagram_profiles GROUP BY id")
        return {"media": media, "profiles": dict(cursor.fetchall())}


def test_data_deletion_removes_one_users_files_and_rows_and_nothing_else(
    instagram_app: dict[str, Any], browser: requests.Session, warehouse_and_destination: dict[str, Any],
    airflow_server: LocalAirflow, emulator_client: EmulatorClient,
) -> None:  # fmt: skip
    """Both users onboarded on the plugin's pages and exported with the warehouse load by the bundled DAG; Meta
    then asks to delete the first user's data."""
    alice, bob = instagram_app["accounts"][:2]
    _connect_in_browser(browser, airflow_server, CONN, alice)
    _connect_in_browser(browser, airflow_server, OTHER, bob)
    airflow_server.wait_for_dag(EXPORT_DAG)
    export_run = airflow_server.trigger(EXPORT_DAG, conf={"conn_ids": [CONN, OTHER], "lookback_days": 30})
    assert airflow_server.wait_for_run(EXPORT_DAG, export_run, timeout=300) == "success"
    root: Path = warehouse_and_destination["root"]
    users = {alice["id"], bob["id"]}
    assert {p.name for p in (root / "media").iterdir()} == {f"user_id={u}" for u in users}
    assert set(_rows_by_user(warehouse_and_destination["dsn"])["media"]) == users

    airflow_server.wait_for_dag(DELETION_DAG)
    answer = emulator_client.send_signed_request(f"{airflow_server.base_url}/instagram/meta/data-deletion",
                                                 alice["id"])  # fmt: skip
    assert answer["status"] == 200, answer
    body = json.loads(answer["body"])
    code = body["confirmation_code"]
    assert code.isalnum() and body["url"] == f"{airflow_server.base_url}/instagram/meta/deletion/{code}"
    saved = stored_connections(airflow_server)[CONN]  # revoked before the DAG even starts
    assert not saved["password"] and saved["extra"]["status"] == "revoked"
    assert saved["extra"]["deletion_requested_at"]

    assert airflow_server.wait_for_run(DELETION_DAG, f"meta_deletion__{code}", timeout=300) == "success"
    status = requests.get(body["url"], timeout=30)
    assert status.status_code == 200 and "<b id='status'>done</b>" in status.text
    assert alice["username"] not in status.text and "user_id" not in status.text
    left = {str(p.relative_to(root)).split("/")[1] for p in root.rglob("*.parquet")}
    assert left == {f"user_id={bob['id']}"}
    rows = _rows_by_user(warehouse_and_destination["dsn"])
    assert set(rows["media"]) == {bob["id"]} and set(rows["profiles"]) == {bob["id"]}
    assert stored_connections(airflow_server)[OTHER]["extra"]["status"] == "ok"
    assert requests.get(f"{airflow_server.base_url}/instagram/meta/deletion/nosuchcode", timeout=30).status_code == 404

    # The next daily export leaves the revoked account out: nothing of it is published again.
    again = airflow_server.trigger(EXPORT_DAG, conf={"lookback_days": 30})
    assert airflow_server.wait_for_run(EXPORT_DAG, again, timeout=300) == "success"
    assert {str(p.relative_to(root)).split("/")[1] for p in root.rglob("*.parquet")} == {f"user_id={bob['id']}"}


def test_a_forged_deletion_request_starts_nothing(
    instagram_app: dict[str, Any], airflow_server: LocalAirflow, emulator_client: EmulatorClient
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
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
) -> None:
    put_connection(airflow_server, CONN, conn_type="postgres", host="db", password="the database password")
    put_connection(airflow_server, "web_pg", conn_type="postgres", host="db", password="another password")
    token = _form_token(browser.get(f"{airflow_server.base_url}/instagram/", timeout=30).text)
    try:
        cases = (
            (CONN, APP_CONN, 409, "is of type &#x27;postgres&#x27;"),
            ("web_other", "web_pg", 400, "not an Instagram app"),
            (APP_CONN, APP_CONN, 409, "is the app connection"),  # the user's token would overwrite the app secret
        )
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


def test_the_instagram_page_lists_the_accounts_and_tests_one(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
) -> None:
    account = instagram_app["accounts"][0]
    _connect_in_browser(browser, airflow_server, CONN, account)
    page = browser.get(f"{airflow_server.base_url}/instagram/", timeout=30)
    row = re.search(rf"<tr class='([^']*)' data-conn-id='{CONN}' data-level='(\w+)'>(.*?)</tr>", page.text)
    assert row and row.group(2) == "ok" and f"@{account['username']}" in row.group(3), page.text
    assert f"data-conn-id='{APP_CONN}'" not in page.text  # the app is not an account

    form = {"conn_id": CONN, "form_token": _form_token(page.text)}
    tested = browser.post(f"{airflow_server.base_url}/instagram/test", data=form, timeout=60)
    notice = re.search(r"<div class='box (\w+)' id='notice'>([^<]*)</div>", tested.text)
    assert notice and notice.group(1) == "good", tested.text
    assert notice.group(2).startswith(f"{CONN}: Connected to Instagram as @{account['username']} (")
    forged = browser.post(f"{airflow_server.base_url}/instagram/test", data={**form, "form_token": "x"}, timeout=30)
    assert forged.status_code == 403

    # The Test button of Airflow's connection list, with the body its UI sends (port 0 for a null port).
    answer = airflow_server.call(
        "POST", "/api/v2/connections/test", json=connection_list_test_body(airflow_server, CONN)
    )
    assert answer["status"] is True, answer
    assert answer["message"].startswith(f"Connected to Instagram as @{account['username']} (")


def test_the_page_answers_without_its_slash_and_is_an_entry_of_airflows_navigation(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
) -> None:
    bare = browser.get(f"{airflow_server.base_url}/instagram?conn_id=x", allow_redirects=False, timeout=30)
    assert bare.status_code == 307 and bare.headers["location"] == "/instagram/?conn_id=x"
    page = browser.get(f"{airflow_server.base_url}/instagram/", timeout=30)
    assert f"<code id='redirect-uri'>{instagram_app['callback']}</code>" in page.text
    assert "Airflow's <code>[api] base_url</code>" in page.text
    plugins = airflow_server.request("GET", "/api/v2/plugins").json()["plugins"]
    views = [v for p in plugins if p["name"] == "instagram" for v in p["external_views"]]
    assert [(v["name"], v["href"], v["destination"], v["category"], v.get("url_route")) for v in views] == [
        ("Instagram accounts", "/instagram/", "nav", "browse", None)
    ]


def test_a_missing_app_connection_says_once_how_to_create_it_and_leads_back(
    instagram_app: dict[str, Any], browser: requests.Session, airflow_server: LocalAirflow
) -> None:
    page = browser.get(f"{airflow_server.base_url}/instagram/", timeout=30)
    form = {"conn_id": CONN, "app_conn_id": "no_such_app", "form_token": _form_token(page.text)}
    answer = browser.post(f"{airflow_server.base_url}/instagram/connect", data=form, allow_redirects=False, timeout=30)
    assert answer.status_code == 400
    message = re.search(r"<p class='error' id='message'>([^<]*)</p>", answer.text)
    assert message and message.group(1).startswith("There is no app connection &#x27;no_such_app&#x27;. Create it:")
    assert answer.text.count("Create it") == 1 and "Exception" not in answer.text
    assert f"<a id='start-again' href='{airflow_server.base_url}/instagram/'>Start again</a>" in answer.text
    assert CONN not in stored_connections(airflow_server)
