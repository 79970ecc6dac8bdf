"""A real browser (Debian's headless Chromium through its WebDriver) connects an account: Airflow's login page,
the plugin's start page, the emulator's consent page, and the plugin's result page. Allow and Deny."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.conftest import API_PASSWORD, API_USER
from tests.e2e.conftest import APP_CONN, CONN
from tests.support.browser import WAIT, headless_chromium, log_in
from tests.support.connections import stored_connections


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as browser:
        yield browser


def _title(browser: webdriver.Chrome) -> str:
    return str(WebDriverWait(browser, WAIT).until(ec.presence_of_element_located((By.ID, "title"))).text)


def _log_in_and_open_the_start_page(browser: webdriver.Chrome, server: LocalAirflow) -> None:
    log_in(browser, server, API_USER, API_PASSWORD, "/instagram/")  # not logged in: Airflow's login page first
    WebDriverWait(browser, WAIT).until(ec.presence_of_element_located((By.ID, "conn_id")))


def _start_and_decide(browser: webdriver.Chrome, username: str, decision: str) -> str:
    browser.find_element(By.ID, "conn_id").send_keys(CONN)
    app_field = browser.find_element(By.ID, "app_conn_id")
    app_field.clear()
    app_field.send_keys(APP_CONN)
    browser.find_element(By.ID, "start").click()
    account = WebDriverWait(browser, WAIT).until(ec.presence_of_element_located((By.ID, "account")))
    Select(account).select_by_visible_text(username)  # "log in" as that Instagram user
    browser.find_element(By.ID, decision).click()
    return _title(browser)


def test_a_user_connects_an_account_in_a_real_browser(
    chromium: webdriver.Chrome, instagram_app: dict[str, Any], airflow_server: LocalAirflow
) -> None:
    account = instagram_app["accounts"][1]
    _log_in_and_open_the_start_page(chromium, airflow_server)
    assert instagram_app["callback"] in chromium.find_element(By.ID, "redirect-uri").text
    assert _start_and_decide(chromium, account["username"], "allow") == "Account connected"
    assert f"@{account['username']}" in chromium.find_element(By.ID, "account").text
    assert "expires" in chromium.find_element(By.ID, "expiry").text
    assert chromium.current_url.startswith(instagram_app["callback"])
    saved = stored_connections(airflow_server)[CONN]
    assert saved["extra"]["username"] == account["username"] and saved["password"] not in chromium.page_source
    hook = InstagramHook(instagram_conn_id=APP_CONN, connection=instagram_app["app_connection"])
    assert hook.get_profile(["username"], token=saved["password"])["username"] == account["username"]


def test_deny_in_a_real_browser_saves_nothing(
    chromium: webdriver.Chrome, instagram_app: dict[str, Any], airflow_server: LocalAirflow
) -> None:
    _log_in_and_open_the_start_page(chromium, airflow_server)
    assert _start_and_decide(chromium, instagram_app["accounts"][0]["username"], "deny") == "Not connected"
    assert "denied" in chromium.find_element(By.ID, "message").text
    assert CONN not in stored_connections(airflow_server)
