"""A new user in Airflow's own UI, in a real browser (Debian's headless Chromium): the bundled DAGs triggered from
their forms with the defaults, the Instagram page opened from Airflow's navigation with accounts in every state
as the token refresh recorded them, an account connected and one reconnected from there, one tested. The
screenshots are the docs' images (``make screenshots`` writes them to docs/img)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE
from airflow_provider_instagram.local_airflow import LocalAirflow
from airflow_provider_instagram.onboarding.terminal import ConnectRequest, connect
from tests.conftest import API_PASSWORD, API_USER, MEDIA_EXPORT_DAG, TOKEN_REFRESH_DAG
from tests.support.browser import WAIT, headless_chromium, log_in, screenshot
from tests.support.connections import delete_connections, delete_variable, put_connection, put_variable

DELETION_DAG = "instagram_data_deletion"
APP = "instagram_app"  # the default app connection: what the docs tell a user to create
DAY = 86_400
DAYS_AGO = 56  # connected this long ago: the token has 4 days left, inside the 7-day warning


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "screenshots")


@pytest.fixture
def chromium() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def app(
    airflow_server: LocalAirflow, emulator_client: EmulatorClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Five Instagram accounts at the emulator, the app as connection ``instagram_app`` in Airflow (and in this
    process's environment, for ``airflow-instagram connect``), an export destination as the docs set it."""
    callback = f"{airflow_server.base_url}/instagram/oauth/callback"
    seed = emulator_client.reset(accounts=5, media=12, redirect_uris=[callback])
    fields = {"host": seed["graph_url"], "login": seed["client_id"], "password": seed["client_secret"],
              "extra": {"oauth_url": seed["oauth_url"], "authorize_url": seed["authorize_url"],
                        "api_version": seed["api_version"], "redirect_uri": callback}}  # fmt: skip
    delete_connections(airflow_server)
    put_connection(airflow_server, APP, "instagram_app", **fields)
    monkeypatch.setenv(f"AIRFLOW_CONN_{APP.upper()}", json.dumps({"conn_type": "instagram_app", **fields}))
    destination = f"file://{airflow_server.home}/page_export"
    put_variable(airflow_server, DESTINATION_VARIABLE, destination)
    yield {**seed, "callback": callback}
    delete_connections(airflow_server)
    delete_connections(airflow_server, "instagram_app")
    delete_variable(airflow_server, DESTINATION_VARIABLE)
    emulator_client.clear_faults()


def _connected_days_ago(server: LocalAirflow, emulator_client: EmulatorClient, conn_id: str, user: str) -> None:
    """``airflow-instagram connect --app-conn-id instagram_app`` run DAYS_AGO days ago (on Instagram's clock)."""
    emulator_client.advance_clock(-DAYS_AGO * DAY)
    try:
        code = emulator_client.issue_code(user=user)
        request = ConnectRequest(conn_id, APP, redirect=code, open_browser=False)
        connect(request, server.api, say=lambda _: None, clock=emulator_client.now)
    finally:
        emulator_client.advance_clock(DAYS_AGO * DAY)


def _trigger_from_the_form(browser: webdriver.Chrome, server: LocalAirflow, dag_id: str, shots: Path) -> str:
    """Open the DAG's page, click Trigger, submit the form as it opens (the defaults); the run it started."""
    before = _run_ids(server, dag_id)
    browser.get(f"{server.base_url}/dags/{dag_id}")
    wait = WebDriverWait(browser, WAIT)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
    submit = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]")))
    wait.until(lambda _: submit.is_enabled())  # every param is optional: nothing to fill in
    screenshot(browser, shots, f"trigger-{dag_id}")
    submit.click()
    return str(wait.until(lambda _: next(iter(_run_ids(server, dag_id) - before), None)))


def _run_ids(server: LocalAirflow, dag_id: str) -> set[str]:
    return {str(run["dag_run_id"]) for run in server.dag_runs(dag_id)}


def _open_the_instagram_page(browser: webdriver.Chrome, server: LocalAirflow) -> None:
    """Airflow's home page, then Browse > Instagram accounts in the navigation: the page, in a tab of its own."""
    browser.get(f"{server.base_url}/")
    wait = WebDriverWait(browser, WAIT)
    airflow_tab, tabs = browser.current_window_handle, set(browser.window_handles)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=nav-sidebar] [aria-label=Browse]"))).click()
    wait.until(ec.element_to_be_clickable((By.XPATH, "//a[normalize-space()='Instagram accounts']"))).click()
    opened = wait.until(lambda b: next(iter(set(b.window_handles) - tabs), None))
    browser.close()  # one tab at a time, as the test goes on
    browser.switch_to.window(opened)
    assert airflow_tab not in browser.window_handles
    wait.until(ec.presence_of_element_located((By.ID, "summary")))
    assert browser.current_url == f"{server.base_url}/instagram/"


def _rows(browser: webdriver.Chrome) -> dict[str, WebElement]:
    return {row.get_attribute("data-conn-id") or "": row
            for row in browser.find_elements(By.CSS_SELECTOR, "#accounts tr[data-conn-id]")}  # fmt: skip


def _levels(browser: webdriver.Chrome) -> list[tuple[str, str]]:
    return [(conn_id, row.get_attribute("data-level") or "") for conn_id, row in _rows(browser).items()]


def _allow(browser: webdriver.Chrome, username: str) -> str:
    """On Instagram's authorization window: pick the account, click Allow; the title of the page that follows."""
    wait = WebDriverWait(browser, WAIT)
    Select(wait.until(ec.presence_of_element_located((By.ID, "account")))).select_by_visible_text(username)
    browser.find_element(By.ID, "allow").click()
    return str(wait.until(ec.presence_of_element_located((By.ID, "title"))).text)


def test_a_new_user_runs_everything_from_airflows_ui(
    chromium: webdriver.Chrome, app: dict[str, Any], airflow_server: LocalAirflow,
    emulator_client: EmulatorClient, shots: Path,
) -> None:  # fmt: skip
    ana, ben, cleo, dan = (a["username"] for a in app["accounts"][:4])
    for conn_id, user in (("instagram_ana", ana), ("instagram_ben", ben), ("instagram_dan", dan)):
        _connected_days_ago(airflow_server, emulator_client, conn_id, user)
    log_in(chromium, airflow_server, API_USER, API_PASSWORD)

    # Connect an account from the Instagram page.
    _open_the_instagram_page(chromium, airflow_server)
    assert chromium.find_element(By.ID, "app-status").get_attribute("class") == "box good"
    chromium.find_element(By.ID, "conn_id").send_keys("instagram_cleo")
    chromium.find_element(By.ID, "start").click()
    assert _allow(chromium, cleo) == "Account connected"
    screenshot(chromium, shots, "connected")
    assert "refreshes it every day" in chromium.find_element(By.ID, "expiry").text  # refresh deployed, API conn set
    chromium.find_element(By.ID, "back").click()
    WebDriverWait(chromium, WAIT).until(ec.presence_of_element_located((By.ID, "summary")))

    # What happens to accounts over time: Ben changed his password, Dan's refreshes are declined, Cleo removed the
    # app (Meta's deauthorize callback).
    emulator_client.invalidate(next(a["id"] for a in app["accounts"] if a["username"] == ben), "password_changed")
    declined = {"kind": "graph_error", "code": 100, "message": "Unsupported request"}
    emulator_client.add_faults({"endpoint": "refresh_access_token", "user": dan, "probability": 1.0, "fault": declined})
    cleo_id = next(a["id"] for a in app["accounts"] if a["username"] == cleo)
    deauthorized = emulator_client.send_signed_request(f"{airflow_server.base_url}/instagram/meta/deauthorize", cleo_id)
    assert deauthorized["status"] == 200

    run_id = _trigger_from_the_form(chromium, airflow_server, TOKEN_REFRESH_DAG, shots)
    assert airflow_server.wait_for_run(TOKEN_REFRESH_DAG, run_id, timeout=300) == "failed"  # Ben needs a human
    report = airflow_server.xcom(TOKEN_REFRESH_DAG, run_id, "health_report")
    assert {a["connection"]: a["outcome"] for a in report["accounts"]} == {
        "instagram_ana": "refreshed", "instagram_ben": "reauth_required", "instagram_dan": "refused",
        "instagram_cleo": "reauth_required",
    }  # fmt: skip

    _open_the_instagram_page(chromium, airflow_server)
    assert _levels(chromium) == [("instagram_ben", "reauth_required"), ("instagram_dan", "expiring"),
                                 ("instagram_cleo", "revoked"), ("instagram_ana", "ok")]  # fmt: skip
    rows = _rows(chromium)
    assert "stands-out" in (rows["instagram_ben"].get_attribute("class") or "")
    assert "stands-out" in (rows["instagram_dan"].get_attribute("class") or "")
    assert rows["instagram_dan"].find_element(By.CSS_SELECTOR, ".days-left").text == "4"
    assert "refused" in rows["instagram_dan"].find_element(By.CSS_SELECTOR, ".refresh").text
    assert "removed the app" in rows["instagram_cleo"].find_element(By.CSS_SELECTOR, ".why").text
    screenshot(chromium, shots, "instagram-page")

    # Test one account.
    rows["instagram_ana"].find_element(By.CSS_SELECTOR, "button.test").click()
    notice = WebDriverWait(chromium, WAIT).until(ec.presence_of_element_located((By.ID, "notice")))
    assert notice.text.startswith(f"instagram_ana: Connected to Instagram as @{ana}")
    assert "good" in (notice.get_attribute("class") or "")

    # Reconnect the one that needs a human.
    _rows(chromium)["instagram_ben"].find_element(By.CSS_SELECTOR, "button.reconnect").click()
    assert _allow(chromium, ben) == "Account connected"
    chromium.find_element(By.ID, "back").click()
    WebDriverWait(chromium, WAIT).until(ec.presence_of_element_located((By.ID, "summary")))
    assert dict(_levels(chromium))["instagram_ben"] == "ok"

    # The Test button of Airflow's own connection list works for an account connected here.
    chromium.get(f"{airflow_server.base_url}/connections")
    wait = WebDriverWait(chromium, WAIT)
    row = wait.until(ec.presence_of_element_located((By.XPATH, "//tr[.//*[normalize-space()='instagram_ben']]")))
    row.find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Test Connection Successful"))
    screenshot(chromium, shots, "connection-list-test")
    row.find_element(By.CSS_SELECTOR, "button[aria-label='Edit Connection']").click()  # the account's edit form
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Account record (written by the provider)"))
    assert "Long-lived access token" in chromium.find_element(By.TAG_NAME, "body").text
    screenshot(chromium, shots, "connection-edit-form")

    # The export and the deletion from their forms, with the defaults, side by side.
    export_run = _trigger_from_the_form(chromium, airflow_server, MEDIA_EXPORT_DAG, shots)
    deletion_run = _trigger_from_the_form(chromium, airflow_server, DELETION_DAG, shots)
    export_state = airflow_server.wait_for_run(MEDIA_EXPORT_DAG, export_run, timeout=300)
    assert export_state == "success", airflow_server.failed_task_logs(MEDIA_EXPORT_DAG, export_run)
    assert sorted(p.name for p in (airflow_server.home / "page_export" / "media").iterdir()) == sorted(
        f"user_id={a['id']}" for a in app["accounts"] if a["username"] in (ana, ben, dan)
    )  # the Variable's destination; Cleo's revoked account left out
    _open_the_instagram_page(chromium, airflow_server)
    exported = _rows(chromium)["instagram_ana"].find_element(By.CSS_SELECTOR, ".export").text
    assert "rows" in exported and "none yet" not in exported
    screenshot(chromium, shots, "instagram-page-after-export")

    # No user ids (the form's default, and what a replayed request from Meta sends) deletes nothing, and says so.
    assert airflow_server.wait_for_run(DELETION_DAG, deletion_run, timeout=300) == "success"
    assert airflow_server.xcom(DELETION_DAG, deletion_run, "delete_files") == []
    assert airflow_server.xcom(DELETION_DAG, deletion_run, "delete_rows") == {}
    log = airflow_server.wait_for_task_log(DELETION_DAG, deletion_run, "delete_files", "names no user: nothing deleted")
    assert "To delete a user's data, trigger this DAG with" in log and "user_ids" in log
