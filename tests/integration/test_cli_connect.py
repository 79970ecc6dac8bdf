"""``airflow-instagram connect``: the authorization window, the chain and the save, against the emulator and a
real Airflow API server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from airflow_provider_instagram.account.record import fingerprint
from airflow_provider_instagram.airflow_api import AirflowApiClient
from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import AuthorizationDeniedError, InstagramError, OnboardingStateError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.local_airflow import LocalAirflow, free_port
from airflow_provider_instagram.onboarding.terminal import ConnectRequest, connect
from tests.conftest import API_PASSWORD, API_USER, REPO
from tests.support.connections import put_connection, stored_connections

APP_CONN, CONN = "cli_ig_app", "cli_connected"


@pytest.fixture
def app(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The Instagram app as an environment connection, a loopback redirect URI registered at the emulator."""
    redirect_uri = f"http://127.0.0.1:{free_port()}/instagram/callback"
    emulator_client.reset(redirect_uris=[redirect_uri, "https://airflow.example.com/instagram/oauth/callback"])
    seed = emulator_client.seed()
    app_conn = {
        "conn_type": "instagram_app", "host": seed["graph_url"], "login": seed["client_id"],
        "password": seed["client_secret"],
        "extra": {"redirect_uri": redirect_uri, "oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"],
                  "api_version": seed["api_version"]},
    }  # fmt: skip
    api = {"conn_type": "http", "host": airflow_server.base_url, "login": API_USER, "password": API_PASSWORD}
    env = {f"AIRFLOW_CONN_{APP_CONN.upper()}": json.dumps(app_conn), "AIRFLOW_CONN_CLI_API": json.dumps(api)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    airflow_server.request("DELETE", f"/api/v2/connections/{CONN}")
    yield {**seed, "redirect_uri": redirect_uri, "env": env}
    airflow_server.request("DELETE", f"/api/v2/connections/{CONN}")


def _browser(url: str, account_id: str, decision: str = "allow") -> requests.Response:
    """What the user's browser does: open the window, pick the account, click Allow (or Deny), follow the
    redirect. The emulator's consent form posts the query back with the decision."""
    form = {**dict(parse_qsl(urlsplit(url).query)), "decision": decision, "account": account_id}
    return requests.post(url.split("?")[0], data=form, timeout=30)


def _saved(server: LocalAirflow) -> dict[str, Any]:
    return stored_connections(server)[CONN]


def test_connect_command_catches_the_redirect_and_saves_a_working_token(
    app: dict[str, Any], airflow_server: LocalAirflow
) -> None:
    account = app["accounts"][1]
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "connect", "--conn-id", CONN,
               "--app-conn-id", APP_CONN, "--api-conn-id", "cli_api", "--no-browser", "--timeout", "60"]  # fmt: skip
    env = {**os.environ, **app["env"], "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        url = next(line.strip() for line in process.stdout if line.strip().startswith("http"))
        landed = _browser(url, account["user_id"])
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert landed.status_code == 200 and "close this window" in landed.text
    assert f"Created connection '{CONN}': @{account['username']} (user id {account['user_id']})" in out
    saved = _saved(airflow_server)
    token = saved["password"]
    assert token and token not in out + err
    assert saved["extra"]["app_conn_id"] == APP_CONN and saved["extra"]["status"] == "ok"
    assert saved["extra"]["user_id"] == account["user_id"] and saved["extra"]["username"] == account["username"]
    assert saved["extra"]["fingerprint"] == fingerprint(token) and saved["extra"]["expires_at"]
    profile = InstagramHook(instagram_conn_id=APP_CONN).get_profile(["id", "username"], token=token)
    assert profile["username"] == account["username"]


def _in_thread(request: ConnectRequest, lines: list[str]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["account"] = connect(request, AirflowApiClient.from_connection("cli_api"), say=lines.append)
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _url_when_printed(lines: list[str], thread: threading.Thread) -> str:
    """The authorization URL, once the command has printed it (it prints before it waits)."""
    while True:
        alive = thread.is_alive()
        found = [line.split()[-1] for line in list(lines) if "/oauth/authorize?" in line]
        if found or not alive:
            assert found, f"no authorization URL was printed: {lines}"
            return found[0]
        thread.join(0.05)


def test_deny_saves_nothing_and_says_so(app: dict[str, Any], airflow_server: LocalAirflow) -> None:
    lines: list[str] = []
    thread, outcome = _in_thread(ConnectRequest(CONN, APP_CONN, open_browser=False, timeout=60), lines)
    _browser(_url_when_printed(lines, thread), app["accounts"][0]["user_id"], decision="deny")
    thread.join(60)
    assert isinstance(outcome.get("error"), AuthorizationDeniedError)
    assert "did not authorize" in str(outcome["error"])
    assert CONN not in stored_connections(airflow_server)


def test_pasted_redirect_url_reconnects_and_keeps_other_extras(
    app: dict[str, Any], airflow_server: LocalAirflow
) -> None:
    """A redirect URI that is not on loopback: the user pastes the URL. An account marked reauth_required is
    reconnected: the status is ok again and extras the user set are kept."""
    put_connection(airflow_server, CONN, password="dead-token", extra={
        "app_conn_id": APP_CONN, "team": "growth", "status": "reauth_required", "status_reason": "password changed",
    })  # fmt: skip
    remote = "https://airflow.example.com/instagram/oauth/callback"
    request = ConnectRequest(CONN, APP_CONN, app={"redirect_uri": remote}, open_browser=False)
    account = app["accounts"][0]

    def paste(prompt: str) -> str:
        assert remote in prompt
        url = next(line.split()[-1] for line in printed if "/oauth/authorize?" in line)
        form = {**dict(parse_qsl(urlsplit(url).query)), "decision": "allow", "account": account["user_id"]}
        landed = requests.post(url.split("?")[0], data=form, allow_redirects=False, timeout=30)
        return str(landed.headers["location"])

    printed: list[str] = []
    connect(request, AirflowApiClient.from_connection("cli_api"), say=printed.append, ask=paste)
    saved = _saved(airflow_server)
    assert printed[-1].startswith(f"Updated connection '{CONN}': @{account['username']}")
    assert saved["extra"]["team"] == "growth" and saved["extra"]["status"] == "ok"
    assert "status_reason" not in saved["extra"] and saved["extra"]["redirect_uri"] == remote
    assert saved["password"] != "dead-token" and saved["extra"]["fingerprint"] == fingerprint(saved["password"])


def test_a_redirect_with_another_state_is_refused(app: dict[str, Any], emulator_client: EmulatorClient) -> None:
    def forged(prompt: str) -> str:
        code = emulator_client.issue_code(redirect_uri="https://airflow.example.com/instagram/oauth/callback")
        return f"https://airflow.example.com/instagram/oauth/callback?code={code}&state=someone-elses#_"

    request = ConnectRequest(
        CONN, APP_CONN, app={"redirect_uri": "https://airflow.example.com/instagram/oauth/callback"},
        open_browser=False,
    )  # fmt: skip
    with pytest.raises(OnboardingStateError):
        connect(request, AirflowApiClient.from_connection("cli_api"), say=lambda _: None, ask=forged)


def test_a_code_given_up_front_skips_the_window(
    app: dict[str, Any], airflow_server: LocalAirflow, emulator_client: EmulatorClient
) -> None:
    code = emulator_client.issue_code(user=app["accounts"][0]["username"], redirect_uri=app["redirect_uri"])
    request = ConnectRequest(CONN, APP_CONN, redirect=f"{code}#_", open_browser=False)
    account = connect(request, AirflowApiClient.from_connection("cli_api"), say=lambda _: None)
    assert _saved(airflow_server)["extra"]["user_id"] == account.user_id == app["accounts"][0]["user_id"]
    with pytest.raises(InstagramError, match=r"already used|not found"):  # Instagram's codes are single-use
        connect(request, AirflowApiClient.from_connection("cli_api"), say=lambda _: None)


def test_without_an_app_secret_the_error_names_the_fix(app: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_instagram.cli import main

    args = ["connect", "--conn-id", CONN, "--app-conn-id", "", "--client-id", app["client_id"],
            "--redirect-uri", app["redirect_uri"], "--api-conn-id", "cli_api", "--no-browser"]  # fmt: skip
    assert main(args) == 1
    assert "INSTAGRAM_CLIENT_SECRET" in capsys.readouterr().err


def test_the_app_connection_may_live_in_the_metadata_database(
    app: dict[str, Any], airflow_server: LocalAirflow, emulator_client: EmulatorClient
) -> None:
    """On an Airflow host the command reads the app connection where Airflow keeps it, as `airflow connections
    get` does (the task SDK outside a task would only see environment variables and secrets backends)."""
    put_connection(airflow_server, "cli_db_app", host=app["graph_url"], login=app["client_id"],
                   password=app["client_secret"], extra={"redirect_uri": app["redirect_uri"],
                   "oauth_url": app["oauth_url"], "api_version": app["api_version"]})  # fmt: skip
    account = app["accounts"][0]
    code = emulator_client.issue_code(user=account["username"], redirect_uri=app["redirect_uri"])
    command = [sys.executable, "-m", "airflow_provider_instagram.cli", "connect", "--conn-id", CONN,
               "--app-conn-id", "cli_db_app", "--api-conn-id", "cli_api", "--redirect-url", code]  # fmt: skip
    env = {**airflow_server.env, "AIRFLOW_CONN_CLI_API": app["env"]["AIRFLOW_CONN_CLI_API"], "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    finally:
        airflow_server.request("DELETE", "/api/v2/connections/cli_db_app")
    assert done.returncode == 0, done.stderr
    saved = _saved(airflow_server)
    assert saved["extra"]["app_conn_id"] == "cli_db_app" and saved["extra"]["username"] == account["username"]
    assert app["client_secret"] not in done.stdout + done.stderr


def test_a_connection_of_another_type_is_never_overwritten(app: dict[str, Any], airflow_server: LocalAirflow) -> None:
    put_connection(airflow_server, CONN, conn_type="postgres", host="db", password="the database password")
    code_request = ConnectRequest(CONN, APP_CONN, redirect="AQB-unused", open_browser=False)
    try:
        with pytest.raises(InstagramError, match="of type 'postgres'"):  # refused before the window opens
            connect(code_request, AirflowApiClient.from_connection("cli_api"), say=lambda _: None)
    finally:
        kept = _saved(airflow_server)
    assert kept["password"] == "the database password" and kept["conn_type"] == "postgres"


def test_the_listener_ignores_redirects_that_are_not_this_commands(
    app: dict[str, Any], airflow_server: LocalAirflow
) -> None:
    """Any page on this machine can send the browser to the loopback redirect URI: a redirect with another state,
    or an error with none, must not end (or answer) the authorization."""
    lines: list[str] = []
    thread, outcome = _in_thread(ConnectRequest(CONN, APP_CONN, open_browser=False, timeout=60), lines)
    url = _url_when_printed(lines, thread)
    forged = requests.get(app["redirect_uri"], params={"code": "AQB-evil", "state": "not-ours"}, timeout=10)
    aborted = requests.get(app["redirect_uri"], params={"error": "access_denied", "error_reason": "user_denied"},
                           timeout=10)  # fmt: skip
    assert forged.status_code == 400 and aborted.status_code == 200
    assert thread.is_alive() and any("without the state this command sent" in line for line in lines)
    _browser(url, app["accounts"][0]["user_id"])
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert _saved(airflow_server)["extra"]["user_id"] == app["accounts"][0]["user_id"]


def test_the_app_connection_is_never_overwritten_by_an_account(
    app: dict[str, Any], airflow_server: LocalAirflow, capsys: pytest.CaptureFixture[str]
) -> None:
    """connect --conn-id <the app connection> would put the user's token over the app secret."""
    from airflow_provider_instagram.cli import main

    put_connection(airflow_server, "cli_db_app", host=app["graph_url"], login=app["client_id"],
                   password=app["client_secret"], extra={"redirect_uri": app["redirect_uri"]})  # fmt: skip
    put_connection(airflow_server, "cli_other_account", password="t", extra={"app_conn_id": "cli_db_app"})
    try:
        same = ["connect", "--conn-id", APP_CONN, "--app-conn-id", APP_CONN, "--api-conn-id", "cli_api",
                "--no-browser"]  # fmt: skip
        assert main(same) == 1
        assert "is the app connection" in capsys.readouterr().err
        named = ["connect", "--conn-id", "cli_db_app", "--app-conn-id", APP_CONN, "--api-conn-id", "cli_api",
                 "--no-browser"]  # fmt: skip
        assert main(named) == 1
        assert "is the app connection of cli_other_account" in capsys.readouterr().err
        kept = stored_connections(airflow_server)["cli_db_app"]
    finally:
        for conn_id in ("cli_db_app", "cli_other_account"):
            airflow_server.request("DELETE", f"/api/v2/connections/{conn_id}")
    assert kept["password"] == app["client_secret"] and kept["extra"] == {"redirect_uri": app["redirect_uri"]}


def test_a_reconnect_through_an_app_connection_drops_the_settings_given_directly_before(
    app: dict[str, Any], airflow_server: LocalAirflow, emulator_client: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An account first connected with the app's settings given directly keeps them in its own connection; once it
    is reconnected through an app connection, none of them may win over that app's (its secret would)."""
    account = app["accounts"][0]
    monkeypatch.setenv("INSTAGRAM_CLIENT_SECRET", app["client_secret"])
    direct = {"client_id": app["client_id"], "host": app["graph_url"], "redirect_uri": app["redirect_uri"],
              "oauth_url": app["oauth_url"], "client_secret": app["client_secret"]}  # fmt: skip
    first = emulator_client.issue_code(user=account["username"], redirect_uri=app["redirect_uri"])
    connect(ConnectRequest(CONN, None, app=direct, redirect=first, open_browser=False),
            AirflowApiClient.from_connection("cli_api"), say=lambda _: None)  # fmt: skip
    before = _saved(airflow_server)
    assert before["extra"]["client_secret"] == app["client_secret"] and before["login"] == app["client_id"]

    again = emulator_client.issue_code(user=account["username"], redirect_uri=app["redirect_uri"])
    connect(ConnectRequest(CONN, APP_CONN, redirect=again, open_browser=False),
            AirflowApiClient.from_connection("cli_api"), say=lambda _: None)  # fmt: skip
    after = _saved(airflow_server)
    assert after["extra"]["app_conn_id"] == APP_CONN
    assert not {"client_secret", "redirect_uri", "oauth_url"} & set(after["extra"])
    assert not after["login"] and not after["host"]
    profile = InstagramHook(instagram_conn_id=APP_CONN).get_profile(["username"], token=after["password"])
    assert profile["username"] == account["username"]
